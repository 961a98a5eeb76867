"""The inbox, end to end: every stored update is handled exactly once, marked handled in the
transaction of its effects whichever route takes it, and kept without its text once handled; an
update that cannot be read is marked failed and skipped, without stopping the coach or reaching
the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from sandbox.botapi import FakeTelegram
from storage.database import Database
from storage.models import AuditEvent, InboundUpdate
from tests.e2e import STAFF_CHAT, running_coach, say, settings_for, settle
from tests.test_e2e import onboard

COORDINATOR = 4400


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def inbox_rows(url: str) -> list[InboundUpdate]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return list(session.exec(select(InboundUpdate).order_by(col(InboundUpdate.update_id))).all())
    finally:
        database.dispose()


def audit_actions(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())
    finally:
        database.dispose()


async def test_a_malformed_update_between_two_good_ones_is_skipped_and_kept_out_of_the_log(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(telegram, tmp_path)
    user = telegram.user(6101, "Noor")
    caplog.set_level(logging.DEBUG)
    async with running_coach(settings):
        user.send_command("/start")
        await user.wait_for_buttons()
        await settle(telegram)
        # As an older self-hosted Bot API server might send it: a poll lacking newer fields, and a
        # message whose chat has no id.
        chat = {"id": 6101, "type": "private"}
        question = {"id": "p", "question": "PRIVATE-QUESTION", "options": [{"text": "PRIVATE-OPTION"}]}
        poll = {"message_id": 90, "date": 0, "chat": chat, "from": user.as_user, "poll": question}
        telegram.queue_update({"message": poll})
        broken = telegram.queue_update(
            {"message": {"message_id": 91, "date": 0, "chat": {"type": "private"}, "text": "PRIVATE-TEXT"}}
        )
        user.mark()
        user.send_command("/help")
        help_text = await user.wait_for_text("How this works")
        await settle(telegram)
        assert help_text, "the update after the malformed one was handled: the coach went on"
    rows = {row.update_id: row for row in inbox_rows(settings.database_url)}
    assert rows[broken].failed and rows[broken].handled_at is not None, "marked failed, not tried again"
    assert all(row.handled_at is not None for row in rows.values())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "could not be read" in logged
    for secret in ("PRIVATE-QUESTION", "PRIVATE-OPTION", "PRIVATE-TEXT", "Noor"):
        assert secret not in logged


async def test_an_acknowledged_alert_and_a_confirmed_broadcast_are_not_handled_again_after_a_restart(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=str(COORDINATOR))
    staff = telegram.group(STAFF_CHAT, "Guides")
    user = telegram.user(6102, "Ola")
    async with running_coach(settings):
        await onboard(user, telegram)
        await say(user, telegram, "I want to die")
        alert = await staff.wait_for_text("URGENT")
        query = staff.press(COORDINATOR, "✅ Acknowledge", message_id=alert.message_id)
        await telegram.wait_answered(query)
        await staff.wait_for_text("Acknowledged by")
        staff.send_text(COORDINATOR, "/broadcast everyone\nA note for {{ code }}")
        preview = await staff.wait_for_text("A note for P-0001")
        query = staff.press(COORDINATOR, "✅ Send to 1", message_id=preview.message_id)
        await telegram.wait_answered(query)
        await staff.wait_for_text("confirmed by")
        await settle(telegram)
    before = audit_actions(settings.database_url)
    staff_messages = len(staff.messages)

    async with running_coach(settings):  # a restart: what was stored and not handled is handled now
        await settle(telegram)
    assert audit_actions(settings.database_url) == before, "nothing was done again"
    assert len(staff.messages) == staff_messages, "no second 'acknowledged' or 'confirmed'"
    rows = inbox_rows(settings.database_url)
    assert rows and all(row.handled_at is not None for row in rows), "every update handled, the taps included"
    assert all(row.payload is None for row in rows if not row.failed), "no handled row keeps its text"
