"""A burst of messages typed on the menu: one live "send these to your guide?" at a time, never
a pile of Send buttons; nothing dropped silently (over the limit, the patient is told); and the
patient is told how many reached their guide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.botapi import FakeTelegram
from tests.e2e import STAFF_CHAT, running_coach, settings_for, settle, tap
from tests.test_e2e import onboard

SEND = "📨 Send to my guide"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_a_burst_of_messages_leaves_one_live_question_and_none_is_lost_silently(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings):
        user = telegram.user(6201)
        await onboard(user, telegram)
        await settle(telegram)
        user.mark()
        for number in range(1, 13):
            user.send_text(f"note {number}")
        await settle(telegram)
        offers = [m for m in user.new_messages if any(SEND in label for row in m.buttons for label, _ in row)]
        assert len(offers) == 1, "one live question, however many messages came"
        assert "these messages" in offers[0].text
        told = [m for m in user.new_messages if "as many as I can pass on at once" in m.text]
        assert len(told) == 2, "the 11th and 12th are not dropped silently"
        await tap(user, telegram, SEND)
        assert "has your 10 messages" in user.messages[-2].text or "has your 10 messages" in user.messages[-1].text
        copies = [m for m in staff.messages if m.text.startswith("note ")]
        assert sorted(m.text for m in copies) == sorted(f"note {n}" for n in range(1, 11))
