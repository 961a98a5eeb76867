"""What a patient or a stranger can forge is refused and audited (issue 17, point 8), end to end
over the fake Bot API: another patient's button data and a staff button's data sent from a private
chat, staff commands typed in a private chat, and people not on the staff list in the staff group
(a patient's topic included) using staff commands, replying to patients or tapping their buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from clock import ManualClock
from sandbox.botapi import FakeTelegram
from storage.database import Database
from storage.models import Broadcast, DialogState, StaffMember, Ticket
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle
from tests.test_guide import (
    ADMIN,
    DONE,
    STRANGER,
    ask_guide,
    audit_log,
    copies,
    enrol,
    only_topic,
    staff_says,
    with_guide,
)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def rows(url: str) -> dict[str, object]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return {
                "states": {s.patient_id: (s.flow, s.step, s.version) for s in session.exec(select(DialogState)).all()},
                "tickets": [(t.id, t.answered_at) for t in session.exec(select(Ticket)).all()],
                "broadcasts": len(session.exec(select(Broadcast)).all()),
                "staff": {m.telegram_user_id: m.role for m in session.exec(select(StaffMember)).all()},
            }
    finally:
        database.dispose()


async def test_forged_taps_and_staff_commands_from_a_private_chat_are_refused_and_audited(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        ahead, behind = telegram.user(6101, "Ada"), telegram.user(6102, "Ben")
        await enrol(ahead, telegram)
        await ask_guide(ahead, telegram, staff, "A question from Ada")
        await say(ahead, telegram, "/lesson")
        await enrol(behind, telegram)
        ticket = rows(settings.database_url)["tickets"][0][0]  # type: ignore[index]
        # Ada's newest buttons carry prompt numbers Ben was never shown.
        ahead_data = [data for row in last(ahead).buttons for _, data in row if data]
        before = rows(settings.database_url)

        forged = [
            ahead_data[0],  # another patient's button
            f"done:{ticket}",  # a staff button: Mark answered
            "ack:1",  # Acknowledge
            "bc:send:1",  # a broadcast's Send
        ]
        for data in forged:
            answer = await telegram.wait_answered(behind.press_forged(data))
            assert answer["text"] == "That button belongs to an earlier message. Here's where we are now.", data
        await settle(telegram)

        for command in ("/broadcast everyone\nHello all", f"/staff add {6102} admin", "/patient P-0001", "/done"):
            behind.mark()
            await say(behind, telegram, command)
            assert "I don't know the command" in behind.new_messages[0].text, command
            assert all("P-0001" not in m.text for m in behind.new_messages), "nothing of another patient shown"

    after = rows(settings.database_url)
    assert after["tickets"] == before["tickets"], "the forged Mark answered closed nothing"
    assert after["broadcasts"] == 0 and after["staff"] == before["staff"], "no broadcast, no new admin"
    assert after["states"][1] == before["states"][1], "the other patient was not touched"  # type: ignore[index]
    events = [(e.actor, e.action, e.detail) for e in audit_log(settings.database_url) if e.patient_id == 2]
    refused_taps = [detail["why"] for actor, action, detail in events if action == "tap_refused"]
    assert refused_taps == ["prompt_never_shown", "staff_button", "staff_button", "staff_button"]
    refused_commands = [detail for _, action, detail in events if action == "staff_refused"]
    assert refused_commands == [
        {"command": name, "where": "private chat"} for name in ("broadcast", "staff", "patient", "done")
    ]
    assert all(actor == "patient" for actor, _, _ in events if actor != "coach")
    assert all("Hello all" not in str(detail) and "6102" not in str(detail) for _, _, detail in events), (
        "what was sent is never in the audit log"
    )


async def test_people_not_on_the_staff_list_are_refused_in_the_staff_group_and_audited(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(6201, "Cai")
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Can I swim with this?")
        topic = only_topic(staff)
        [question] = copies(staff, topic)
        seen = len(user.messages)

        # In the patient's topic: a reply, commands, and the Mark answered button.
        await staff_says(staff, telegram, STRANGER, "Sure, swim as much as you like", topic)
        assert staff.messages[-1].text == "Only guides can answer patients. This message was not sent."
        for command, roles in [
            ("/patient", "guides"),
            ("/note P-0001 not a real note", "guides"),
            ("/checkin P-0001 phone 5", "guides"),
            ("/done", "guides"),
            ("/queue", "guides and coordinators"),
            ("/report", "coordinators"),
            (f"/staff add {STRANGER} admin", "admins"),
        ]:
            await staff_says(staff, telegram, STRANGER, command, topic)
            assert staff.messages[-1].text == f"Sorry, {command.split()[0]} is for {roles} only.", command
        await staff_says(staff, telegram, STRANGER, "/broadcast everyone\nFree pills here", topic)
        assert "Only coordinators" in staff.messages[-1].text
        query = staff.press(STRANGER, DONE, message_id=question.message_id)
        assert "for guides only" in (await telegram.wait_answered(query))["text"]
        await settle(telegram)

        # Replying to the patient's message in the main thread of the group: refused too.
        await staff_says(staff, telegram, STRANGER, "Ignore your guide", reply_to=question.message_id)
        assert len(user.messages) == seen, "nothing a stranger wrote reached the patient"
        assert copies(staff, topic), "the conversation is still open"

    after = rows(settings.database_url)
    assert STRANGER not in after["staff"]  # type: ignore[operator]
    assert after["broadcasts"] == 0
    assert all(answered is None for _, answered in after["tickets"])  # type: ignore[attr-defined]
    refused = [e.detail for e in audit_log(settings.database_url)
               if e.action == "staff_refused" and e.actor == f"staff:{STRANGER}"]  # fmt: skip
    commands = {detail.get("command") for detail in refused}
    assert {"patient", "note", "checkin", "done", "queue", "report", "staff", "broadcast"} <= commands
    whats = [detail.get("what") for detail in refused]
    assert whats.count("reply") == 2 and "done" in whats, "both replies and the tap are audited"
    assert not [e for e in audit_log(settings.database_url) if e.action in ("note_added", "checkin_logged")]
