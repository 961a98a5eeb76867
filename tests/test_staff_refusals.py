"""What the staff chat refuses, and that each refusal is written to the audit log: a broadcast
by someone who is not a coordinator, an admin demoting themselves, an ADMIN_IDS admin being
changed, and a staff id that is nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.botapi import FakeTelegram
from storage.database import Database
from storage.staff import role_of
from tests.e2e import STAFF_CHAT, running_coach, settings_for
from tests.test_guide import audit_log, staff_says

ADMIN, OTHER_ADMIN, GUIDE = 810, 811, 812


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def role(url: str, user: int) -> str | None:
    database = Database(url)
    try:
        with database.transaction() as session:
            return role_of(session, user)
    finally:
        database.dispose()


async def test_refusals_in_the_staff_chat_are_kind_and_audited(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=str(ADMIN))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        await staff_says(staff, telegram, ADMIN, f"/staff add {GUIDE} guide")
        await staff_says(staff, telegram, ADMIN, f"/staff add {OTHER_ADMIN} admin")

        await staff_says(staff, telegram, GUIDE, "/broadcast everyone\nHello all")
        assert "Only coordinators" in staff.messages[-1].text

        await staff_says(staff, telegram, ADMIN, f"/staff add {ADMIN} guide")
        assert "can't change your own role" in staff.messages[-1].text
        await staff_says(staff, telegram, OTHER_ADMIN, f"/staff remove {ADMIN}")
        assert "admin from ADMIN_IDS" in staff.messages[-1].text
        await staff_says(staff, telegram, ADMIN, "/staff add 0 admin")
        assert "How to use it" in staff.messages[-1].text
    assert role(settings.database_url, ADMIN) == "admin", "still an admin: nobody was locked out"
    refused = [e.detail for e in audit_log(settings.database_url) if e.action == "staff_refused"]
    assert {"command": "broadcast"} in refused
    assert {"command": "staff", "why": "staff_not_yourself", "user": ADMIN} in refused
    assert {"command": "staff", "why": "staff_fixed_admin", "user": ADMIN} in refused
