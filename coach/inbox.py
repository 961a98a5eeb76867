"""The inbox rule: every stored update is handled exactly once, and marked handled in the same
transaction as its effects, whichever route takes it, taps that change nothing included."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from clock import Clock
from storage import inbox
from storage.database import Database
from storage.inbox import Received
from storage.patients import StateConflict

log = logging.getLogger(__name__)

ATTEMPTS = 5  # tries when another worker changed the same patient at the same moment
T = TypeVar("T")


def retrying(work: Callable[[], T]) -> T:
    """Run one transaction's work, again if another worker changed the same patient meanwhile."""
    for attempt in range(ATTEMPTS):
        try:
            return work()
        except (StateConflict, IntegrityError):
            log.info("state changed under us; handling again (attempt %d)", attempt + 1)
    raise RuntimeError("could not save the patient's state after several attempts")


class Inbox:
    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def receive(self, updates: Sequence[Received]) -> list[Received]:
        """Store updates before they are acknowledged to Telegram; return the ones not seen before."""
        with self.database.transaction() as session:
            return inbox.store(session, updates, self.clock.now())

    def store(self, session: Session, updates: Sequence[Received]) -> list[Received]:
        """`receive`, in a transaction of the caller's (several deliveries stored at once)."""
        return inbox.store(session, updates, self.clock.now())

    def unhandled(self) -> list[Received]:
        with self.database.transaction() as session:
            return inbox.unhandled(session)

    def waiting(self, update_ids: list[int]) -> list[Received]:
        """Of these (earlier updates of a chat, from `NotYourTurn`), the ones still to handle."""
        with self.database.transaction() as session:
            return inbox.waiting(session, update_ids)

    def once(self, update_id: int | None, work: Callable[[Session], T], duplicate: T) -> T:
        """Run `work` in one transaction that also marks the update handled; `duplicate`, and no
        effects, if it was handled before. Retried whole when another worker got in first.
        Raises `NotYourTurn` (storage/inbox.py) while an earlier update of its chat waits."""

        def attempt() -> T:
            with self.database.transaction() as session:
                if update_id is not None and not inbox.take(session, update_id, self.clock.now):
                    return duplicate
                return work(session)

        return retrying(attempt)

    def ignore(self, update_id: int) -> None:
        """An update with nothing for the coach to do: handled, with nothing else."""
        self.once(update_id, lambda _session: None, None)

    def failed(self, update_id: int) -> None:
        """Handling it went wrong (its transaction was rolled back): marked failed, its payload
        kept for someone to look into, and never tried again."""
        with self.database.transaction() as session:
            inbox.mark_handled(session, update_id, self.clock.now(), failed=True)
