"""The scheduler service: takes the scheduler lease, and while it holds it runs the sweeps and the
outbox sender. Another one (a second `paincoach scheduler`, or `paincoach run` with the scheduler
inside) waits, renewing nothing, and takes over once the lease expires because the first died."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from clock import Clock
from coach.services import Services
from storage import lease, outbox

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=20)  # a holder not heard from for this long is taken over
DUE_BATCH = 200


class Sending(Protocol):
    """The outbox sender (bot/sender.py), which only the lease holder runs."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None: ...

    async def drain(self, seconds: float = 30.0) -> None: ...


@dataclass(frozen=True)
class Periodic:
    """More work the lease holder runs every `seconds` (on the database thread), such as
    announcing due questionnaires or raising overdue tickets; `work` returns how many it did."""

    job_id: str
    seconds: int
    work: Callable[[], int]


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_gone(holder: str) -> bool:
    """Is the process named `holder` known to be dead? Only a process on this machine can be
    checked: no process has its id any more. (Containers sharing a host name must not share a
    process id space with different ones; give each its own host name.)"""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SchedulerService:
    def __init__(
        self,
        services: Services,
        sender: Sending,
        *,
        holder: str | None = None,
        ttl: timedelta = LEASE_TTL,
        periodic: Sequence[Periodic] = (),
    ) -> None:
        self.services = services
        self.coach = services.coach
        self.database = services.database
        self.sender = sender
        self.clock: Clock = services.clock
        self.broadcasts = services.broadcasts
        self.holder = holder or holder_name()
        self.ttl = ttl
        self.periodic = tuple(periodic)
        self.active = False
        self._unplanned_left = True  # patients enrolled before the scheduler may still need planning
        self._sender_task: asyncio.Task[None] | None = None

    # -- the lease ------------------------------------------------------------------------

    async def renew(self) -> bool:
        """Take or renew the lease; start or stop acting accordingly. True while we hold it."""
        try:
            held = await self.database.run(self._take)
        except Exception:  # the database is unreachable, or another process inserted first
            log.exception("could not renew the scheduler lease")
            held = False
        if held and not self.active:
            await self._lead()
        elif not held and self.active:
            log.warning("the scheduler lease was lost; stopping the sweeps and the sender")
            await self._follow()
        return held

    def _take(self) -> bool:
        with self.database.transaction() as session:
            return lease.take(session, self.holder, self.clock.now(), self.ttl, gone=holder_is_gone)

    async def _lead(self) -> None:
        again, doubtful = await self.database.run(self._recover)
        log.info("this process now runs the scheduler (%s)", self.holder)
        if again or doubtful:
            log.warning(
                "%d message(s) in flight when the last sender stopped are sent again, %d in doubt", again, doubtful
            )
        self.active = True
        self._unplanned_left = True
        self._sender_task = asyncio.create_task(self.sender.run(), name="sender")
        try:
            planned = await self.database.run(self.coach.plan_unplanned)
        except Exception:
            log.exception(
                "planning patients enrolled before the scheduler failed; they are planned at their next event"
            )
            planned = 0
        if planned:
            log.info("planned what is due for %d patient(s) enrolled before the scheduler", planned)

    def _recover(self) -> tuple[int, int]:
        with self.database.transaction() as session:
            return outbox.recover_in_flight(session, self.clock.now())

    async def _follow(self) -> None:
        self.active = False
        self.sender.stop()
        if self._sender_task is not None:
            with suppress(asyncio.CancelledError):
                await self._sender_task
            self._sender_task = None

    async def close(self, drain_seconds: float = 10.0) -> None:
        """A clean stop: send what is due, stop the sender, give up the lease."""
        if not self.active:
            return
        with suppress(Exception):
            await asyncio.wait_for(self.sender.drain(), timeout=drain_seconds)
        await self._follow()
        with suppress(Exception):
            await self.database.run(self._release)

    def _release(self) -> None:
        with self.database.transaction() as session:
            lease.release(session, self.holder)

    # -- the sweeps (only the lease holder acts) ------------------------------------------

    async def sweep_due(self) -> int:
        """Turn every due row into its engine event, once each; returns how many were sent on."""
        if not self.active:
            return 0
        if self._unplanned_left:  # until a sweep finds nobody left: the search looks at every patient
            planned = await self.database.run(self.coach.plan_unplanned, DUE_BATCH)
            self._unplanned_left = planned == DUE_BATCH
            if planned:
                log.info("planned what is due for %d patient(s) enrolled before the scheduler", planned)
        fired = 0
        while True:
            rows = await self.database.run(self.coach.due_now, DUE_BATCH)
            batch = 0
            for row in rows:
                try:
                    if await self.database.run(self.coach.fire_due, row):
                        batch += 1
                except Exception:
                    log.exception("due event %d (%s) failed; it stays due", row.id, row.kind)
            fired += batch
            if batch:
                self.sender.wake()
            if len(rows) < DUE_BATCH or not batch:
                return fired

    async def sweep_alerts(self) -> int:
        if not self.active:
            return 0
        raised = await self.database.run(self.services.alerts.raise_unacknowledged)
        if raised:
            log.warning("raised %d unacknowledged risk alert(s) again", raised)
            self.sender.wake()
        return raised

    async def run_periodic(self, job_id: str) -> int:
        if not self.active:
            return 0
        job = next(p for p in self.periodic if p.job_id == job_id)
        done = await self.database.run(job.work)
        if done:
            log.info("%s: %d", job_id, done)
            self.sender.wake()
        return done

    async def sweep_broadcasts(self) -> int:
        if not self.active:
            return 0
        started = await self.database.run(self.broadcasts.start_due)
        reported = await self.database.run(self.broadcasts.report_progress)
        if started or reported:
            self.sender.wake()
        return started
