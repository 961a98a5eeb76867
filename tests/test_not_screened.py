"""Issue 10, point 6: what the coach cannot read for risk (a voice note, a sticker, a photo with
no caption ...) reaches the guide marked "Not screened", over the fake Bot API, in a staff chat
with topics and in one without."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.inbound import PatientMessage, read_update
from clock import ManualClock
from dialogs.events import NotText
from sandbox.botapi import FakeTelegram
from tests.e2e import STAFF_CHAT, last, running_coach, settings_for, settle, tap
from tests.test_guide import ADMIN, SEND, arrived, copies, enrol, only_topic, with_guide


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def test_the_kind_of_an_unreadable_message_is_read_from_the_update() -> None:
    def event(**fields: object) -> object:
        message = {"message_id": 3, "date": 0, "chat": {"id": 9, "type": "private"}, "from": {"id": 9}, **fields}
        inbound = read_update({"update_id": 1, "message": message}, None)
        assert isinstance(inbound, PatientMessage)
        return inbound.event

    voice = event(voice={"file_id": "v", "duration": 2})
    assert voice == NotText(3, "", "voice") and voice.unscreened == "voice"
    sticker = event(sticker={"file_id": "s"})
    assert isinstance(sticker, NotText) and sticker.unscreened == "sticker"
    captioned = event(photo=[{"file_id": "p"}], caption="my diary")
    assert isinstance(captioned, NotText) and captioned.unscreened == "", "the caption was read for risk"
    poll = event(poll={"id": "1"})
    assert isinstance(poll, NotText) and poll.unscreened == "other"


async def test_a_voice_note_and_a_sticker_reach_the_topic_marked_not_screened(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5101)
        await enrol(user, telegram)
        user.mark()
        staff.mark()
        user.send_media("voice")
        await settle(telegram)
        assert "send this to your guide" in last(user).text
        user.send_media("sticker")
        await settle(telegram)
        await tap(user, telegram, SEND)
        await user.wait_for_text("Your guide has your 2 messages")
        await telegram.wait_for(lambda: len(copies(staff)) == 2)
        await settle(telegram)
        topic = staff.topic_messages(only_topic(staff))
        [note] = [m for m in topic if "Not screened" in m.text]
        assert "Not screened: voice note, sticker." in note.text
        voice, sticker = copies(staff, only_topic(staff))
        assert voice.media and "voice" in voice.media and sticker.media and "sticker" in sticker.media
        assert note.message_id < voice.message_id, "the guide reads the warning before the copies"

        staff.mark()
        user.send_photo("my flare diary")
        await settle(telegram)
        await tap(user, telegram, SEND)
        await arrived(user, staff, telegram)
        assert not [m for m in staff.new_messages if "Not screened" in m.text], "a caption is read for risk"


async def test_a_photo_without_a_caption_is_named_in_the_relay_header(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides")  # no topics: the header above the copy says it
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5102)
        await enrol(user, telegram)
        user.mark()
        staff.mark()
        user.send_command("/guide")
        await settle(telegram)
        user.send_photo()
        await arrived(user, staff, telegram)
        header, photo = staff.messages[-2:]
        assert header.text.startswith("💬 P-0001 wrote to their guide")
        assert "Not screened: photo without a caption." in header.text
        assert photo.photo is not None
