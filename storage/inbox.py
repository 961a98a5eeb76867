"""The inbox: updates are stored before Telegram is told they arrived, and handled once each, in
order in each chat, whichever worker (process) stored them: a chat's update is taken only once
every earlier update of that chat is handled, and, on PostgreSQL, under a lock on the chat held
until the transaction ends, so two workers never handle one chat at the same time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session, col

from storage.models import InboundUpdate

# Built once: these run for every update, and building a statement costs more than running it.
_table = InboundUpdate.__table__  # type: ignore[attr-defined]
_HANDLED_AT = select(_table.c.handled_at).where(_table.c.update_id == bindparam("update_id"))
_MARK_HANDLED = (
    update(_table)
    .where(_table.c.update_id == bindparam("id"), _table.c.handled_at.is_(None))
    .values(handled_at=bindparam("handled_at"), failed=bindparam("failed"))
)
_MARK_HANDLED_DROPPING_TEXT = _MARK_HANDLED.values(payload=None)
_KNOWN = select(_table.c.update_id).where(_table.c.update_id == bindparam("update_id"))
_CHAT = select(_table.c.chat_id).where(_table.c.update_id == bindparam("update_id"))
_EARLIER = (
    select(_table.c.update_id)
    .where(
        _table.c.chat_id == bindparam("chat_id"),
        _table.c.update_id < bindparam("update_id"),
        _table.c.handled_at.is_(None),
    )
    .order_by(_table.c.update_id)
)
_STORE = insert(_table).values(
    update_id=bindparam("update_id"),
    chat_id=bindparam("chat_id"),
    payload=bindparam("payload"),
    received_at=bindparam("received_at"),
    failed=False,
)
_CHAT_LOCK = select(func.pg_advisory_xact_lock(bindparam("chat_id")))


class NotYourTurn(Exception):
    """An earlier update of the same chat is still waiting to be handled: it goes first."""

    def __init__(self, chat_id: int, earlier: list[int]) -> None:
        super().__init__(f"{len(earlier)} earlier update(s) of the chat wait")
        self.chat_id = chat_id
        self.earlier = earlier


@dataclass(frozen=True)
class Received:
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]


def store(session: Session, updates: Sequence[Received], now: datetime) -> list[Received]:
    """Store updates not seen before; return those that are new."""
    if not updates:
        return []
    ids = [u.update_id for u in updates]
    known = set(session.execute(select(_table.c.update_id).where(_table.c.update_id.in_(ids))).scalars())
    fresh: list[Received] = []
    for item in updates:
        if item.update_id in known:
            continue
        known.add(item.update_id)
        fresh.append(item)
    if fresh:  # one statement for them all, not the ORM's unit of work
        rows = [
            {"update_id": u.update_id, "chat_id": u.chat_id, "payload": u.payload, "received_at": now} for u in fresh
        ]
        session.execute(_STORE, rows)
    return fresh


def unhandled(session: Session) -> list[Received]:
    rows = session.scalars(
        select(InboundUpdate).where(col(InboundUpdate.handled_at).is_(None)).order_by(col(InboundUpdate.update_id))
    ).all()
    return [Received(r.update_id, r.chat_id, r.payload or {}) for r in rows]


def take(session: Session, update_id: int, now: Callable[[], datetime]) -> bool:
    """Mark a stored update handled, in the transaction of its effects; False if it was handled
    already (its effects must not happen again). An update the inbox never stored (the terminal
    chat, a scheduler event) is taken too. Its text is dropped: once handled, it is not needed.
    The time is read once its chat's lock is held, so a chat's updates are handled at times in
    their order, whichever worker waited for the lock the longest."""
    chat_id = session.execute(_CHAT, {"update_id": update_id}).scalar()
    if chat_id is not None:
        _one_worker_per_chat(session, chat_id)
        earlier = list(session.execute(_EARLIER, {"chat_id": chat_id, "update_id": update_id}).scalars())
        if earlier:
            raise NotYourTurn(chat_id, earlier)
    changed = session.execute(_MARK_HANDLED_DROPPING_TEXT, {"id": update_id, "handled_at": now(), "failed": False})
    if int(changed.rowcount) == 1:  # type: ignore[attr-defined]
        return True
    return session.execute(_KNOWN, {"update_id": update_id}).scalar() is None


def _one_worker_per_chat(session: Session, chat_id: int) -> None:
    """Wait until no other worker is handling this chat; held until this transaction ends.
    SQLite has one writer at a time anyway (and one process: it is not for several workers).
    This is the first lock a handling transaction takes, so it cannot be part of a deadlock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_CHAT_LOCK, {"chat_id": chat_id})


def waiting(session: Session, update_ids: Sequence[int]) -> list[Received]:
    """These updates, those of them not handled yet, in order."""
    rows = session.scalars(
        select(InboundUpdate)
        .where(col(InboundUpdate.update_id).in_(list(update_ids)), col(InboundUpdate.handled_at).is_(None))
        .order_by(col(InboundUpdate.update_id))
    ).all()
    return [Received(r.update_id, r.chat_id, r.payload or {}) for r in rows]


def is_handled(session: Session, update_id: int) -> bool:
    return session.execute(_HANDLED_AT, {"update_id": update_id}).scalar() is not None


def mark_handled(session: Session, update_id: int, now: datetime, *, failed: bool = False) -> None:
    """Record the update as handled. Its text is dropped unless handling failed (kept to look into)."""
    statement = _MARK_HANDLED if failed else _MARK_HANDLED_DROPPING_TEXT
    session.execute(statement, {"id": update_id, "handled_at": now, "failed": failed})


def last_update_id(session: Session) -> int | None:
    return session.execute(select(_table.c.update_id).order_by(_table.c.update_id.desc()).limit(1)).scalar()
