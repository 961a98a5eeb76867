"""Tickets: a patient waiting for their guide, from their first message until a guide marks it
answered. What each event makes of a ticket (pure); storage/tickets.py keeps the rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class TicketState:
    opened_at: datetime
    waiting_since: datetime | None = None  # the oldest message not yet answered
    last_raised_at: datetime | None = None
    raised_count: int = 0
    answered_at: datetime | None = None
    answered_by: int | None = None

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


def patient_wrote(ticket: TicketState | None, now: datetime) -> TicketState:
    """A message for the guide: the open ticket, opened now if there was none; waiting from the
    oldest message nobody answered yet (raising starts again from there)."""
    current = ticket if ticket is not None and ticket.is_open else TicketState(opened_at=now)
    if current.waiting_since is None:
        current = replace(current, waiting_since=now, last_raised_at=None)
    return current


def guide_replied(ticket: TicketState) -> TicketState:
    """A guide answered: the patient is no longer waiting; the ticket stays open until marked done."""
    return replace(ticket, waiting_since=None)


def answered(ticket: TicketState, staff_id: int, now: datetime) -> TicketState | None:
    """Marked answered; None if it was already closed (a second tap changes nothing)."""
    if not ticket.is_open:
        return None
    return replace(ticket, answered_at=now, answered_by=staff_id, waiting_since=None)


def is_overdue(ticket: TicketState, now: datetime, answer_by: Callable[[datetime], datetime]) -> bool:
    """Still waiting past the answer time, counted from the oldest unanswered message or from the
    last time it was raised again."""
    if not ticket.is_open or ticket.waiting_since is None:
        return False
    return answer_by(ticket.last_raised_at or ticket.waiting_since) <= now


def raised_again(ticket: TicketState, now: datetime) -> TicketState:
    return replace(ticket, raised_count=ticket.raised_count + 1, last_raised_at=now)


def queue_order(tickets: Sequence[tuple[int, TicketState]]) -> list[tuple[int, TicketState]]:
    """Open tickets (id, state), the longest waiting first; answered-but-open ones by when they opened."""
    open_ones = [(ticket_id, t) for ticket_id, t in tickets if t.is_open]
    return sorted(open_ones, key=lambda pair: (pair[1].waiting_since or pair[1].opened_at, pair[0]))
