"""The inbox: updates are stored before Telegram is told they arrived, and handled once each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
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
        session.add(
            InboundUpdate(update_id=item.update_id, chat_id=item.chat_id, payload=item.payload, received_at=now)
        )
        fresh.append(item)
    return fresh


def unhandled(session: Session) -> list[Received]:
    rows = session.scalars(
        select(InboundUpdate).where(col(InboundUpdate.handled_at).is_(None)).order_by(col(InboundUpdate.update_id))
    ).all()
    return [Received(r.update_id, r.chat_id, r.payload or {}) for r in rows]


def take(session: Session, update_id: int, now: datetime) -> bool:
    """Mark a stored update handled, in the transaction of its effects; False if it was handled
    already (its effects must not happen again). An update the inbox never stored (the terminal
    chat, a scheduler event) is taken too. Its text is dropped: once handled, it is not needed."""
    changed = session.execute(_MARK_HANDLED_DROPPING_TEXT, {"id": update_id, "handled_at": now, "failed": False})
    if int(changed.rowcount) == 1:  # type: ignore[attr-defined]
        return True
    return session.execute(_KNOWN, {"update_id": update_id}).scalar() is None


def is_handled(session: Session, update_id: int) -> bool:
    return session.execute(_HANDLED_AT, {"update_id": update_id}).scalar() is not None


def mark_handled(session: Session, update_id: int, now: datetime, *, failed: bool = False) -> None:
    """Record the update as handled. Its text is dropped unless handling failed (kept to look into)."""
    statement = _MARK_HANDLED if failed else _MARK_HANDLED_DROPPING_TEXT
    session.execute(statement, {"id": update_id, "handled_at": now, "failed": failed})


def last_update_id(session: Session) -> int | None:
    return session.execute(select(_table.c.update_id).order_by(_table.c.update_id.desc()).limit(1)).scalar()
