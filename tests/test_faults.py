"""The fault test: the fake Bot API answers about 10% each of the coach's sends with 429 (with
retry_after), with a 5xx, or not at all (dropped, as a timeout ends). Nothing is lost, each chat
gets its messages in order, and a risk alert still goes ahead of a broadcast already under way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from clock import SystemClock
from coach.broadcasts import BroadcastDesk
from content.schema import Content
from paincoach.wiring import open_database
from sandbox.botapi import FakeTelegram
from storage.database import Database
from storage.models import OutboxMessage
from storage.outbox import WAITING, Priority
from tests.e2e import STAFF_CHAT, running_coach, settings_for, settle
from tests.test_broadcast import FIRST_PATIENT, enrol

RECIPIENTS = 40
WRITERS = 6  # patients who also type while the broadcast goes out


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def waiting(database: Database) -> int:
    with database.transaction() as session:
        return len(session.exec(select(OutboxMessage.id).where(col(OutboxMessage.status).in_(WAITING))).all())


async def test_with_429s_5xxs_and_timeouts_nothing_is_lost_order_is_kept_and_alerts_go_first(
    telegram: FakeTelegram, tmp_path: Path, content: Content
) -> None:
    settings = settings_for(telegram, tmp_path, send_rate=10.0)
    database = open_database(settings)
    enrol(database, RECIPIENTS, SystemClock().now())
    chats = [FIRST_PATIENT + n for n in range(1, RECIPIENTS + 1)]
    users = [telegram.user(chat, "Pat") for chat in chats]
    staff = telegram.group(STAFF_CHAT, "Guides")
    desk = BroadcastDesk(database, content, SystemClock(), staff_chat_id=STAFF_CHAT)
    draft = desk.draft(created_by=1, audience="everyone", text="This week's news")
    assert desk.confirm(draft.id)
    telegram.random_faults(too_many=0.1, server_errors=0.1, timeouts=0.1, seed=17, hold=0.5)

    async with running_coach(settings) as coach:
        await telegram.wait_for(lambda: coach.service.active, timeout=120)
        assert await coach.service.sweep_broadcasts() == 1  # the broadcast is under way ...
        users[-1].send_text("I keep having thoughts of suicide")  # ... when a patient writes this
        for user in users[:WRITERS]:
            for number in (1, 2, 3):
                user.send_text(f"note {number}")
        await staff.wait_for_text("URGENT", timeout=120)
        await settle(telegram, timeout=300)
        await telegram.wait_for(lambda: not waiting(database), timeout=300)  # retries after a backoff, too
        await settle(telegram, timeout=300)

    faults = [
        c for c in telegram.calls if c.error_code in (429, 500, 502, 503) or c.description == "no answer (dropped)"
    ]
    assert len(faults) >= 5, "the fake did fail a share of the sends"
    with database.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert {r.status for r in rows} <= {"sent", "cancelled"}, "nothing failed, nothing is left waiting"

    # Order: in each chat, the messages of one priority arrive in the order the coach queued them.
    delivered = {(m.chat_id, m.message_id): m.seq for chat in [*chats, STAFF_CHAT] for m in telegram.messages(chat)}
    by_chat: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row in rows:
        if row.status == "sent" and row.kind == "message":
            seq = delivered.get((row.chat_id, row.telegram_message_id or 0))
            assert seq is not None, f"outbox {row.id} recorded as sent is in the chat"
            by_chat[(row.chat_id, row.priority)].append(seq)
    for (chat, priority), seqs in by_chat.items():
        assert seqs == sorted(seqs), f"chat {chat}: priority {priority} messages arrived in order"

    news = [m for chat in chats for m in telegram.messages(chat) if m.text == "This week's news"]
    assert sorted(m.chat_id for m in news) == chats, "everyone got the news, once"
    alert = next(m for m in staff.messages if "URGENT" in m.text)
    assert alert.seq < max(m.seq for m in news), "the alert went ahead of the rest of the broadcast"
    urgent = [r for r in rows if r.priority == Priority.URGENT]
    assert urgent and all(r.status == "sent" for r in urgent)
    for user in users[:WRITERS]:
        assert any("send these" in m.text.lower() or "send this" in m.text.lower() for m in user.messages)
    database.dispose()
