"""Test helpers for the scheduler: a patient walked through the real coach on a real database, and
time moved from one due moment to the next with the sweeps run at each, as the scheduler would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.sender import Sender
from bot.transport import Delivered, Delivery
from clock import ManualClock
from coach.services import Services
from content import buttons as callbacks
from dialogs.events import Command, Event, Press, Start, Text
from scheduler.service import SchedulerService
from storage.database import Database
from storage.models import DialogState, DueEvent, OutboxMessage, Patient
from storage.outbox import Priority
from storage.patients import Person
from storage.payloads import Payload


class Delivers:
    """A delivery channel that accepts everything and remembers it."""

    def __init__(self) -> None:
        self.delivered: list[tuple[int, str]] = []

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        self.delivered.append((chat_id, getattr(payload, "text", "")))
        return Delivered(len(self.delivered))


def service_for(services: Services, holder: str = "test-scheduler") -> SchedulerService:
    sender = Sender(services.database, Delivers(), services.clock, rate=1000, poll_interval=0.05)
    return SchedulerService(services, sender, holder=holder)


@dataclass
class Walker:
    """One patient, tapping and typing through the coach as a person would."""

    services: Services
    database: Database
    person: Person
    updates: int = field(default=1000)

    def do(self, event: Event) -> None:
        self.updates += 1
        self.services.coach.handle(self.person, event, self.updates)

    def state(self) -> DialogState:
        with self.database.transaction() as session:
            patient = session.exec(select(Patient).where(Patient.telegram_user_id == self.person.user_id)).one()
            row = session.get(DialogState, patient.id)
            assert row is not None
            return row

    def buttons(self) -> list[tuple[str, str]]:
        """The buttons of the latest prompt (scheduled messages' own buttons left aside)."""
        with self.database.transaction() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == self.person.chat_id, OutboxMessage.kind == "message")
                .order_by(col(OutboxMessage.id).desc())
            ).all()
        for row in rows:
            buttons = [(label, data) for label, data in row.payload.get("buttons", [])]
            if buttons and callbacks.decode(buttons[0][1]) is not None:
                return buttons
        return []

    def press(self, label: str | None = None) -> None:
        buttons = self.buttons()
        assert buttons, "no prompt with buttons"
        chosen = next((d for text, d in buttons if label and label.lower() in text.lower()), None)
        if label is not None and chosen is None:
            raise AssertionError(f"no button {label!r} in {[t for t, _ in buttons]}")
        self.do(Press(chosen or buttons[0][1], 1))

    def onboard(self, zone_label: str = "UK time") -> None:
        self.do(Start())
        for label in ("Sounds good", "Got it", "United Kingdom", "I understand", zone_label, "OK", "Go on", "I agree"):
            self.press(label)

    def finish_lesson(self, number: int, limit: int = 200) -> None:
        self.do(Command("lesson"))
        last_place: tuple[object, ...] | None = None
        for _ in range(limit):
            row = self.state()
            if number in row.data.get("lessons_done", []):
                return
            place = (row.flow, row.step, row.data.get("prompt"))
            if row.data.get("awaiting") == "text":
                self.do(Text("I noticed my shoulders tense when I rush"))
            else:
                buttons = self.buttons()
                stuck = place == last_place  # a tick on a pick step: now tap its last button (Done)
                self.do(Press(buttons[-1][1] if stuck else buttons[0][1], 1))
            last_place = place
        raise AssertionError(f"lesson {number} not finished in {limit} steps")


@dataclass(frozen=True)
class Received:
    at: datetime  # UTC
    text: str

    def local(self, zone: str) -> datetime:
        return self.at.astimezone(ZoneInfo(zone))


def next_due(database: Database) -> datetime | None:
    with database.transaction() as session:
        return session.exec(
            select(DueEvent.due_at).where(DueEvent.status == "pending").order_by(col(DueEvent.due_at)).limit(1)
        ).first()


def scheduled_messages(database: Database, chat_id: int, after_id: int = 0) -> list[tuple[int, Received]]:
    with database.transaction() as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.kind == "message",
                OutboxMessage.priority == int(Priority.SCHEDULED),
                col(OutboxMessage.id) > after_id,
            )
            .order_by(col(OutboxMessage.id))
        ).all()
        return [(row.id or 0, Received(row.created_at, row.payload["text"])) for row in rows]


@dataclass
class Timeline:
    """Moves the clock from one due moment to the next, sweeping at each, and keeps what was sent."""

    service: SchedulerService
    database: Database
    clock: ManualClock
    chat_id: int
    received: list[Received] = field(default_factory=list)
    seen: int = 0

    async def sweep(self) -> None:
        await self.service.sweep_due()
        for row_id, message in scheduled_messages(self.database, self.chat_id, self.seen):
            self.received.append(message)
            self.seen = row_id

    async def run_until(self, until: datetime) -> None:
        while (due := next_due(self.database)) is not None and due <= until:
            self.clock.set(max(self.clock.now(), due))
            await self.sweep()
        self.clock.set(max(self.clock.now(), until))
        await self.sweep()
