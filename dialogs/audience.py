"""Who a broadcast goes to, and what it may say about each of them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from content.schema import Content
from dialogs.state import PatientState

KINDS = ("everyone", "arm", "lesson", "inactive")


@dataclass(frozen=True)
class Audience:
    """everyone | arm:<arm> | lesson:<n> (lesson reached) | inactive:<days> (nothing from them for that long)."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "everyone" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Recipient:
    patient_id: int
    chat_id: int
    code: str
    timezone: str
    arm: str | None
    lesson_reached: int
    last_seen_at: datetime | None


def parse_audience(text: str) -> Audience | None:
    kind, _, value = text.strip().lower().partition(":")
    if kind == "everyone" and not value:
        return Audience("everyone")
    if kind == "arm" and value and len(value) <= 32:
        return Audience("arm", value)
    if kind in ("lesson", "inactive") and value.isdigit() and 0 <= int(value) <= 10_000:
        return Audience(kind, str(int(value)))
    return None


def selects(audience: Audience, recipient: Recipient, now: datetime) -> bool:
    if audience.kind == "everyone":
        return True
    if audience.kind == "arm":
        return (recipient.arm or "").lower() == audience.value
    if audience.kind == "lesson":
        return recipient.lesson_reached == int(audience.value)
    if audience.kind == "inactive":
        seen = recipient.last_seen_at
        return seen is None or now - seen >= timedelta(days=int(audience.value))
    return False


def lesson_reached(state: PatientState, content: Content) -> int:
    """The highest lesson a patient has started or finished (0: none yet)."""
    numbers = {f.id: f.number or 0 for texts in content.locales.values() for f in texts.lessons()}
    place = state.lesson_place
    return max([numbers.get(place.flow, 0) if place else 0, *state.lessons_done, 0])


def personal(recipient: Recipient) -> dict[str, Any]:
    """The variables a broadcast text may use."""
    return {"code": recipient.code, "lesson_reached": recipient.lesson_reached, "arm": recipient.arm or ""}


VARIABLES = frozenset({"code", "lesson_reached", "arm"})
