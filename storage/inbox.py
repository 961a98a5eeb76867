"""The inbox: updates are stored before Telegram is told they arrived, and handled once each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import InboundUpdate


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
    known = set(session.exec(select(InboundUpdate.update_id).where(col(InboundUpdate.update_id).in_(ids))).all())
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
    rows = session.exec(
        select(InboundUpdate).where(col(InboundUpdate.handled_at).is_(None)).order_by(col(InboundUpdate.update_id))
    ).all()
    return [Received(r.update_id, r.chat_id, r.payload or {}) for r in rows]


def is_handled(session: Session, update_id: int) -> bool:
    handled = session.exec(select(InboundUpdate.handled_at).where(InboundUpdate.update_id == update_id)).first()
    return handled is not None


def mark_handled(session: Session, update_id: int, now: datetime, *, failed: bool = False) -> None:
    """Record the update as handled. Its text is dropped unless handling failed (kept to look into)."""
    values: dict[str, Any] = {"handled_at": now, "failed": failed}
    if not failed:
        values["payload"] = None
    session.execute(
        update(InboundUpdate)
        .where(col(InboundUpdate.update_id) == update_id, col(InboundUpdate.handled_at).is_(None))
        .values(**values)
    )


def last_update_id(session: Session) -> int | None:
    return session.exec(select(InboundUpdate.update_id).order_by(col(InboundUpdate.update_id).desc()).limit(1)).first()
