"""The engine: (patient state, event, now, content) -> (new state, actions). Pure: no I/O, no clock.

One event is worked by the stages of dialogs/stages/, in the order dialogs/router.py sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from content.schema import Content
from dialogs.actions import Action
from dialogs.events import Event
from dialogs.router import ROUTER
from dialogs.state import PatientState


@dataclass(frozen=True)
class Outcome:
    state: PatientState
    actions: tuple[Action, ...]


def handle(state: PatientState, event: Event, now: datetime, content: Content) -> Outcome:
    """Decide what one event does to a patient's conversation."""
    turn = ROUTER.run(state, event, now, content)
    return Outcome(turn.state, tuple(turn.actions))
