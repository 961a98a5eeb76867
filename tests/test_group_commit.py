"""Group commit (storage/database.py): writes that come together share one transaction, each caller
gets its own result once it is committed, and one bad write fails only its own caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from clock import ManualClock
from storage.database import Database, GroupCommit
from storage.inbox import Received, store
from storage.models import InboundUpdate
from tests.support import migrated


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = migrated(database_url)
    yield database
    database.dispose()


def commits_of(database: Database) -> list[int]:
    counted = [0]

    @event.listens_for(database.engine, "commit")
    def _count(_connection: object) -> None:
        counted[0] += 1

    return counted


def stored(database: Database) -> list[int]:
    with database.transaction() as session:
        return list(session.exec(select(InboundUpdate.update_id).order_by(col(InboundUpdate.update_id))).all())


async def test_writes_that_come_together_share_a_transaction_and_each_gets_its_own_result(
    database: Database,
) -> None:
    now = ManualClock().now()

    def write(session: Session, updates: list[Received]) -> list[int]:
        return [u.update_id for u in store(session, updates, now)]

    group = GroupCommit(database, write)
    commits = commits_of(database)
    batches = [[Received(n * 10 + k, 700 + n, {"update_id": n * 10 + k}) for k in range(2)] for n in range(1, 9)]
    results = await asyncio.gather(*(group.submit(batch) for batch in batches))
    assert results == [[u.update_id for u in batch] for batch in batches], "each caller gets its own"
    assert stored(database) == sorted(u.update_id for batch in batches for u in batch), "all committed"
    assert commits[0] <= 2, f"{commits[0]} commits for 8 writes: the first alone, the rest together"
    again = await group.submit(batches[0])
    assert again == [], "a duplicate is found, as it would be alone"


async def test_one_bad_write_fails_only_its_caller(database: Database) -> None:
    now = ManualClock().now()

    def write(session: Session, update_id: int) -> int:
        if update_id == 13:
            raise ValueError("a bad write")
        store(session, [Received(update_id, 800, {"update_id": update_id})], now)
        return update_id

    group = GroupCommit(database, write)
    outcomes = await asyncio.gather(*(group.submit(n) for n in range(10, 17)), return_exceptions=True)
    assert [type(o).__name__ if isinstance(o, Exception) else o for o in outcomes] == [
        10, 11, 12, "ValueError", 14, 15, 16,
    ]  # fmt: skip
    assert stored(database) == [10, 11, 12, 14, 15, 16], "the others are written, the bad one is not"
