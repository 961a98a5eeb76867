"""/privacy end to end, over the fake Bot API on each framework: "Send me my data" arrives as one
JSON file (sendDocument) holding the patient's code and words; "Delete my data", once confirmed,
ends with a goodbye message and deletes their topic in the staff chat (deleteForumTopic), and
afterwards nothing of theirs is left in the database, not even the rows that said goodbye."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clock import ManualClock
from sandbox.botapi import FakeTelegram
from storage.database import Database
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap, walk_until
from tests.test_e2e import label_with
from tests.test_guide import ask_guide, enrol, only_topic, with_guide
from tests.test_research_erasure import every_value

WORDS = "My knees ache most when Zebedee's dog barks at dawn"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_a_patient_gets_their_data_as_one_json_file_then_deletes_it(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(700,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5301, "Ola")
        await enrol(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        await walk_until(user, telegram, "finished lesson 1", answer=WORDS)  # their words, in the answers
        await settle(telegram)
        await ask_guide(user, telegram, staff, "Is it normal to ache more after a walk?")  # a topic of theirs
        thread = only_topic(staff)

        user.mark()
        await say(user, telegram, "/privacy")
        await tap(user, telegram, "📦 Send me my data")
        await settle(telegram)
        files = [m for m in user.new_messages if m.document is not None]
        assert len(files) == 1, "one file, not several messages of JSON"
        assert not any("<pre>" in m.text or '"patient"' in m.text for m in user.new_messages)
        assert files[0].document is not None and files[0].document["file_name"] == "my-data-P-0001.json"
        assert files[0].document_data is not None
        data = json.loads(files[0].document_data.decode("utf-8"))
        assert data["patient"]["code"] == "P-0001"
        assert WORDS in json.dumps(data, ensure_ascii=False), "their own words are in it"
        assert "5301" not in json.dumps(data), "no Telegram ids"
        assert len(telegram.calls_of("sendDocument")) == 1

        await say(user, telegram, "/privacy")
        await tap(user, telegram, "🗑 Delete my data")
        user.mark()
        await tap(user, telegram, "Yes, delete it all")
        await settle(telegram)
        assert "Your data has been deleted" in last(user).text, "a goodbye they can read again later"
        assert [c.params["message_thread_id"] for c in telegram.calls_of("deleteForumTopic")] == [thread]
        assert thread not in staff.topics and not staff.topic_messages(thread), "their topic and its copies are gone"

    database = Database(settings.database_url)
    try:
        for table, column, value in every_value(database):
            for needle in ("P-0001", "Zebedee", "5301"):
                assert needle not in value, f"{table}.{column} still has {needle}"
    finally:
        database.dispose()
