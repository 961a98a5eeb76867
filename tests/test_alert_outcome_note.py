"""An alert's outcome with the guide's note, end to end over the fake Bot API: acknowledge, pick
the outcome, then `/outcome <alert id> <note>`; and the kind refusals around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clock import ManualClock
from sandbox.botapi import FakeTelegram
from tests.e2e import STAFF_CHAT, running_coach, say, settings_for
from tests.test_alerts import stored
from tests.test_guide import staff_says

GUIDE, STRANGER = 777, 4242


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_a_guide_adds_a_note_to_a_closed_alerts_outcome(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(GUIDE,))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(9005)
        await say(user, telegram, "/start")
        await say(user, telegram, "I want to die")
        alert = await staff.wait_for_text("URGENT")

        # Not yet closed: the note waits for the outcome.
        await staff_says(staff, telegram, GUIDE, "/outcome 1 rang her")
        assert staff.messages[-1].text.startswith("Alert 1 has no outcome yet. Tap its outcome button first")

        await telegram.wait_answered(staff.press(GUIDE, "✅ Acknowledge", message_id=alert.message_id))
        await staff.wait_for_text("Acknowledged by")
        query = staff.press(GUIDE, "☎️ Contacted, safe", message_id=alert.message_id)
        answer = await telegram.wait_answered(query)
        assert "/outcome 1 " in answer["text"], "the closed message says how to add the note"
        closed = await staff.wait_for_text("🔒 Closed by")
        assert "Add a note on what happened: /outcome 1 your note" in closed.text

        await staff_says(staff, telegram, GUIDE, "/outcome 1 Rang her at home; her sister is staying tonight.")
        assert staff.messages[-1].text == "📝 Note added to alert 1's outcome."

        # Refused kindly, changing nothing: an unknown alert, no text, someone not on the staff list.
        await staff_says(staff, telegram, GUIDE, "/outcome 99 wrong one")
        assert staff.messages[-1].text == "There is no alert 99. The number is in the alert's closed message."
        await staff_says(staff, telegram, GUIDE, "/outcome 1")
        assert staff.messages[-1].text.startswith("How to use it: /outcome 12 what happened")
        await staff_says(staff, telegram, STRANGER, "/outcome 1 not mine to write")
        assert staff.messages[-1].text == "Sorry, /outcome is for guides and coordinators only."

    alerts, actions = stored(settings.database_url)
    assert alerts[0].outcome == "contacted_safe"
    note = alerts[0].outcome_note or ""
    assert note.endswith("\nRang her at home; her sister is staying tonight.")
    assert note.startswith("Outcome recorded by"), "who recorded it is kept, the note follows"
    assert "not mine" not in note
    assert actions.count("alert_outcome_noted") == 1
