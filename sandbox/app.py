"""`paincoach sandbox`: the whole coach on one machine, with no Telegram token.

On 127.0.0.1 it starts the Bot API stand-in (sandbox/botapi, the one the end-to-end tests use),
the real coach against it (paincoach.app.TelegramCoach, built from the same settings and wiring as
in production, so on whichever framework TELEGRAM_FRAMEWORK names), on a clock that can be moved
on (sandbox/time_travel.py), and the page (sandbox/web.py, sandbox/page/) where one plays the
patients and the staff group."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlmodel import col, func, select

from paincoach.app import TelegramCoach
from paincoach.settings import Settings
from sandbox.botapi import ApiCall, FakeGroup, FakeTelegram, FakeUser
from sandbox.time_travel import TimeTravelError, TravellingClock
from storage import outbox
from storage.models import Answer, DueEvent, InboundUpdate, OutboxMessage, Patient, StaffMember

log = logging.getLogger(__name__)

STAFF_CHAT = -1001000000001  # the staff group's id when the settings name none
FIRST_PATIENT_ID = 10001  # new patients' Telegram ids start here (and above any already in the database)
MAX_STEPS = 500  # due moments visited in one move of the clock, at most


@dataclass(frozen=True)
class StaffPerson:
    user_id: int
    name: str
    role: str  # admin | guide | coordinator


STAFF = (
    StaffPerson(900001, "Alex (admin)", "admin"),
    StaffPerson(900002, "Anna (guide)", "guide"),
    StaffPerson(900003, "Chris (coordinator)", "coordinator"),
)


@dataclass(frozen=True)
class Moved:
    """What one move of the clock did."""

    now: datetime
    due_moments: int  # how many due moments were visited on the way
    fired: int  # how many due events the coach acted on


def sandbox_settings(settings: Settings, telegram: FakeTelegram, database_url: str) -> Settings:
    """The settings the coach runs on in the sandbox: the user's own (framework, content, time
    zone, office hours, screening ...), pointed at the stand-in Telegram and the sandbox's database,
    in open enrolment."""
    admins = tuple(dict.fromkeys((*settings.admin_ids, *(p.user_id for p in STAFF if p.role == "admin"))))
    return settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(telegram.token),
            "telegram_api_base_url": telegram.base_url,
            "database_url": database_url,
            "staff_chat_id": settings.staff_chat_id or STAFF_CHAT,
            "admin_ids": admins,
            "webhook_url": None,
            "webhook_secret": None,
            "health_listen": None,
            "scheduler": "inside",
            "enrolment": "open",  # patients are made on the page: there is no invitation link to open
        }
    )


@dataclass
class Sandbox:
    """The stand-in Telegram, the coach running against it, and the clock they share."""

    telegram: SandboxTelegram
    coach: TelegramCoach
    clock: TravellingClock
    staff_group: FakeGroup
    names: dict[int, str] = field(default_factory=dict)  # patient's Telegram id -> name shown on the page
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # the history before is the database's
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _moving: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def settings(self) -> Settings:
        return self.coach.settings

    # -- patients --------------------------------------------------------------------------

    def patients(self) -> list[FakeUser]:
        return [self.telegram.user(user_id) for user_id in self.names]

    def new_patient(self, name: str) -> FakeUser:
        user_id = max([FIRST_PATIENT_ID - 1, *self.names]) + 1
        self.names[user_id] = name
        return self.telegram.user(user_id, name)

    def patient(self, user_id: int) -> FakeUser:
        if user_id not in self.names:
            raise KeyError(user_id)
        return self.telegram.user(user_id)

    def codes(self) -> dict[int, str]:
        """Each patient's pseudonymous code, once the coach has given one."""

        def read() -> dict[int, str]:
            with self.coach.database.transaction() as session:
                rows = session.exec(select(Patient.telegram_user_id, Patient.code)).all()
                return {int(user_id): code for user_id, code in rows if code}

        return read()

    # -- the clock -------------------------------------------------------------------------

    def next_due(self) -> DueEvent | None:
        """The first due event still waiting (it may already be due)."""
        with self.coach.database.transaction() as session:
            return session.exec(
                select(DueEvent)
                .where(col(DueEvent.status) == "pending")
                .order_by(col(DueEvent.due_at), col(DueEvent.id))
                .limit(1)
            ).first()

    async def advance(self, delta: timedelta) -> Moved:
        return await self.travel_to(self.clock.now() + delta)

    async def to_next_due(self) -> Moved:
        due = await self.coach.database.run(self.next_due)
        if due is None:
            raise TimeTravelError("nothing is due: no patient has anything planned")
        return await self.travel_to(max(due.due_at, self.clock.now()))

    async def travel_to(self, target: datetime) -> Moved:
        """Move the clock to `target`, stopping at every due moment on the way and running the
        scheduler's sweeps there, so that each release, reminder and check-in arrives at its own
        time, in order, as it would have had the weeks really passed."""
        async with self._moving:
            if target < self.clock.now():
                raise TimeTravelError("the sandbox's clock only moves forward: that moment has passed")
            moments = fired = 0
            while moments < MAX_STEPS:
                due = await self.coach.database.run(self.next_due)
                if due is None or due.due_at > target:
                    break
                if due.due_at > self.clock.now():
                    self.clock.travel_to(due.due_at)
                done = await self.sweep()
                moments += 1
                fired += done
                if not done and due.due_at <= self.clock.now():
                    again = await self.coach.database.run(self.next_due)
                    if again is not None and again.id == due.id and again.due_at == due.due_at:
                        break  # it stays due (it failed, and is logged): do not spin on it
            if target > self.clock.now():
                self.clock.travel_to(target)
            fired += await self.sweep()
            return Moved(self.clock.now(), moments, fired)

    async def sweep(self) -> int:
        """Run every sweep the scheduler runs now (not waiting for its timers), then wait for
        the coach to send what they caused."""
        service = self.coach.service
        await service.renew()
        fired = await service.sweep_due()
        await service.sweep_alerts()
        await service.sweep_broadcasts()
        for periodic in service.periodic:
            await service.run_periodic(periodic.job_id)
        self.coach.sender.wake()
        await self.settle()
        return fired

    async def settle(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the coach has nothing left to do now and the stand-in has gone quiet."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            with suppress(AssertionError):
                await self.telegram.settle(quiet=0.05, timeout=max(deadline - asyncio.get_running_loop().time(), 0.1))
            if not self.coach.pipeline.busy and not await self.coach.database.run(self._unsent):
                return
            await asyncio.sleep(0.02)

    def _unsent(self) -> int:
        with self.coach.database.transaction() as session:
            return outbox.unsent_now(session, self.clock.now())

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = self.clock.now()
        self._task = asyncio.create_task(self.coach.run(self._stop), name="coach")
        await self.telegram.wait_for(lambda: bool(self.telegram.calls_of("getUpdates")), timeout=30)
        await self._seat_the_staff()
        await self.settle()

    async def _seat_the_staff(self) -> None:
        """The admin (from ADMIN_IDS) makes the sandbox's guide and coordinator staff, in the staff
        chat, as a real admin would; once per database."""

        def seated() -> set[int]:
            with self.coach.database.transaction() as session:
                return {int(i) for i in session.exec(select(StaffMember.telegram_user_id)).all()}

        have = await self.coach.database.run(seated)
        admin = next(p for p in STAFF if p.role == "admin")
        for person in STAFF:
            if person.role != "admin" and person.user_id not in have:
                self.staff_group.send_command(admin.user_id, "staff", f"add {person.user_id} {person.role}")
                await self.settle()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=30)
        await self.telegram.stop()


def latest_moment(coach: TelegramCoach) -> datetime | None:
    """The latest moment the database knows of (a simulated trial may have run ahead of today)."""
    with coach.database.transaction() as session:
        moments = [
            session.exec(select(func.max(OutboxMessage.created_at))).first(),
            session.exec(select(func.max(Answer.created_at))).first(),
            session.exec(select(func.max(DueEvent.done_at))).first(),
        ]
    return max((m for m in moments if m is not None), default=None)


class SandboxTelegram(FakeTelegram):
    """The stand-in Telegram on the sandbox's clock: messages are dated by it, and each call the
    coach makes is noted with the sandbox's time, for the page's log."""

    def __init__(self, clock: TravellingClock) -> None:
        super().__init__()
        self.dates = clock.timestamp
        self.call_times: dict[int, datetime] = {}  # id(ApiCall) -> when, in the sandbox's time
        self._travelling = clock

    def continue_after(self, update_id: int | None) -> None:
        """Number new updates after those a database already holds (an earlier sandbox's)."""
        if update_id is not None:
            self._next_update_id = max(self._next_update_id, update_id + 1)

    def _record(self, *args: Any, **kwargs: Any) -> ApiCall:  # whatever the stand-in records of a call
        call = super()._record(*args, **kwargs)
        self.call_times[id(call)] = self._travelling.now()
        return call


@asynccontextmanager
async def running_sandbox(settings: Settings, database_url: str) -> AsyncIterator[Sandbox]:
    """The stand-in Telegram and the coach, running in this event loop; stopped afterwards."""
    clock = TravellingClock()
    telegram = SandboxTelegram(clock)
    await telegram.start()
    try:
        coach = TelegramCoach.build(sandbox_settings(settings, telegram, database_url), clock)
        telegram.continue_after(last_update_id(coach))  # the inbox would take a reused id for a duplicate
        latest = latest_moment(coach)
        if latest is not None and latest > clock.now():
            clock.travel_to(latest + timedelta(minutes=1))
        staff_chat = coach.settings.staff_chat_id
        assert staff_chat is not None
        staff_group = telegram.group(staff_chat, "Guides", is_forum=True)
        for person in STAFF:
            telegram.user(person.user_id, person.name)  # known by name in the staff group
        sandbox = Sandbox(telegram, coach, clock, staff_group)
        for user_id, code in known_patients(coach):
            sandbox.names[user_id] = code or f"Patient {user_id}"
            telegram.user(user_id, sandbox.names[user_id])
    except BaseException:
        await telegram.stop()
        raise
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def last_update_id(coach: TelegramCoach) -> int | None:
    with coach.database.transaction() as session:
        return session.exec(select(func.max(InboundUpdate.update_id))).first()


def known_patients(coach: TelegramCoach) -> list[tuple[int, str | None]]:
    with coach.database.transaction() as session:
        rows = session.exec(select(Patient.telegram_user_id, Patient.code).order_by(col(Patient.id))).all()
        return [(int(user_id), code) for user_id, code in rows]
