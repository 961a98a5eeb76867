"""Staff roles: who is an admin, a coordinator or a guide. An admin passes every check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from dialogs.desk.roles import ADMIN, COORDINATOR, GUIDE, ROLES, holds
from storage.models import StaffMember

__all__ = ["ADMIN", "COORDINATOR", "GUIDE", "ROLES", "ensure_admins", "has_role", "members", "remove", "role_of"]


def has_role(session: Session, telegram_user_id: int, *roles: str) -> bool:
    """Whether this person holds one of `roles`; an admin holds them all."""
    return holds(role_of(session, telegram_user_id), *roles)


def role_of(session: Session, telegram_user_id: int) -> str | None:
    member = session.get(StaffMember, telegram_user_id)
    return member.role if member else None


def ensure_admins(session: Session, telegram_user_ids: Iterable[int], now: datetime) -> list[int]:
    """Make the people in ADMIN_IDS admins (again); returns those who were not admins before."""
    made: list[int] = []
    for user_id in telegram_user_ids:
        member = session.get(StaffMember, user_id)
        if member is None:
            session.add(StaffMember(telegram_user_id=user_id, role=ADMIN, added_at=now))
            made.append(user_id)
        elif member.role != ADMIN:
            member.role = ADMIN
            session.add(member)
            made.append(user_id)
    return made


def set_role(session: Session, telegram_user_id: int, role: str, by: int, now: datetime) -> str | None:
    """Give someone a role; returns the role they had before (None if they were not staff)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    member = session.get(StaffMember, telegram_user_id)
    before = member.role if member else None
    if member is None:
        member = StaffMember(telegram_user_id=telegram_user_id, role=role, added_at=now, added_by=by)
    member.role = role
    session.add(member)
    return before


def remove(session: Session, telegram_user_id: int) -> str | None:
    """Take someone off the staff list; returns the role they had (None if they were not staff)."""
    member = session.get(StaffMember, telegram_user_id)
    if member is None:
        return None
    session.delete(member)
    session.flush()
    return member.role


def members(session: Session) -> list[StaffMember]:
    return list(session.exec(select(StaffMember).order_by(col(StaffMember.role), col(StaffMember.telegram_user_id))))
