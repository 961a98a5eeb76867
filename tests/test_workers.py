"""Several webhook workers on one PostgreSQL database: two workers given updates of the same
patient at the same moment handle each once, in the order the patient sent them (the inbox's
per-chat turn and lock, storage/inbox.py). Each worker is a `TelegramCoach` of its own, with its
own connections, as a process of its own would be; SCHEDULER=off, as on every worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import col, select

from clock import SystemClock
from paincoach.app import TelegramCoach
from sandbox.botapi import FakeTelegram
from storage.models import DialogState, InboundUpdate
from tests import postgres
from tests.e2e import settings_for
from tests.test_broadcast import FIRST_PATIENT, enrol

NOTES = 8  # fewer than the 10 a message to the guide may gather (dialogs/stages/guide.py)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def postgres_url(postgres_server: str | Exception) -> str:
    if isinstance(postgres_server, Exception):
        pytest.skip(f"several workers need PostgreSQL: {postgres_server}")
    return postgres.fresh_database(postgres_server)


def typed(update_id: int, chat_id: int, message_id: int, words: str) -> dict[str, Any]:
    """An update as Telegram sends it: the patient typed `words`."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_700_000_000 + update_id,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Pat"},
            "text": words,
        },
    }


async def test_two_workers_given_one_patients_updates_at_once_keep_their_order_and_handle_each_once(
    telegram: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    settings = settings_for(telegram, tmp_path, database_url=postgres_url, scheduler="off")
    workers = [TelegramCoach.build(settings), TelegramCoach.build(settings)]
    enrol(workers[0].database, 1, SystemClock().now())
    chat = FIRST_PATIENT + 1
    telegram.user(chat, "Pat")
    updates = [typed(900 + n, chat, 50 + n, f"note {n}") for n in range(NOTES)]

    # Someone (a third worker) is handling this patient: both workers must wait their turn.
    holder = create_engine(postgres_url)
    try:
        with holder.connect() as busy:
            busy.execute(text("SELECT pg_advisory_lock(:chat)"), {"chat": chat})
            await asyncio.gather(*(workers[n % 2].pipeline.accept([u]) for n, u in enumerate(updates)))
            busy.execute(text("SELECT pg_advisory_unlock(:chat)"), {"chat": chat})
            busy.commit()
        await asyncio.wait_for(asyncio.gather(*(w.pipeline.idle() for w in workers)), timeout=120)
    finally:
        holder.dispose()

    with workers[0].database.transaction() as session:
        state = session.exec(select(DialogState)).one()
        rows = session.exec(select(InboundUpdate).order_by(col(InboundUpdate.update_id))).all()
        assert [(r.update_id, r.handled_at is not None, r.failed) for r in rows] == [
            (u["update_id"], True, False) for u in updates
        ], "every update handled, none failed"
        assert state.data["guide_draft"] == [50 + n for n in range(NOTES)], "handled in the order they were sent"
        assert state.data["prompt"] == NOTES, "each handled once: one 'send these to your guide?' each"
        handled = [r.handled_at for r in rows]
        assert handled == sorted(handled), "one after the other"
    for worker in workers:
        await worker.api.close()
        worker.database.dispose()
