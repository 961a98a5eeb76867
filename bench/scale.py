"""The scheduler at scale, in a process of its own: 100,000 patients taking part, each with the due
rows the real timetable plans for them; the due sweep timed when nothing is due (its steady cost),
the process's memory, and how late reminders fire when a thousand of them come due within a minute
while the real APScheduler jobs run.

python -m bench.scale --patients 100000 --reminders 1000   (prints one JSON object)
Settings come from the environment (DATABASE_URL, DATA_KEY), as for the coach.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import col, select

from bench.harness import percentile, rss_mb
from bot.transport import Delivered, Delivery
from clock import SystemClock
from content import load_content
from dialogs.due import PRACTICE, plan
from dialogs.state import PatientState, Status
from paincoach.settings import Settings
from paincoach.wiring import make_scheduler, make_sender, make_services, open_database
from scheduler.jobs import build_scheduler
from storage.models import DialogState, DueEvent, Patient
from storage.payloads import Payload

BATCH = 5_000


class Accepts:
    """A Bot API that takes every message at once: the figures are the scheduler's own."""

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        return Delivered(1)

    def __getattr__(self, name: str) -> object:
        async def nothing(*args: object, **kwargs: object) -> object:
            return None

        return nothing


def local_midday_zone(now: datetime) -> str:
    """A zone where it is about midday now, so no reminder waits out quiet hours."""
    offset = (12 - now.hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def populate(settings: Settings, patients: int, now: datetime) -> None:
    content = load_content(settings.content_dir, settings.default_locale)
    database = open_database(settings)
    zone = local_midday_zone(now)
    consented = now - timedelta(days=10)
    template = plan(
        PatientState(code="P-0", locale="en", timezone=zone, status=Status.ACTIVE, consented_at=consented),
        content,
        now,
    )
    future = [row for row in template if row.due_at > now + timedelta(minutes=5)]
    for first in range(1, patients + 1, BATCH):
        ids = range(first, min(patients, first + BATCH - 1) + 1)
        with database.transaction() as session:
            session.execute(
                insert(Patient),
                [
                    {"id": n, "code": f"P-{n:06d}", "telegram_user_id": 50_000_000 + n, "chat_id": 50_000_000 + n,
                     "locale": "en", "timezone": zone, "status": "active", "consented_at": consented,
                     "created_at": consented}
                    for n in ids
                ],
            )  # fmt: skip
            session.execute(
                insert(DialogState),
                [
                    {"patient_id": n, "flow": "menu", "step": "main", "version": 1, "updated_at": now,
                     "data": {"lessons_done": [1], "lesson_place": {"flow": "lesson-2", "step": "intro"}}}
                    for n in ids
                ],
            )  # fmt: skip
            # 26 rows a patient: by the DB-API directly, since 2.6 million rows through the ORM's
            # type processing would take the bench many minutes (UTC, naive, as UTCDateTime stores them)
            stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            future_rows = [
                (row.kind, row.key, row.due_at.astimezone(UTC).replace(tzinfo=None).isoformat(" ")) for row in future
            ]
            raw = session.connection().connection.driver_connection
            assert raw is not None
            raw.executemany(
                "INSERT INTO due_event (patient_id, kind, key, due_at, status, created_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                [(n, kind, key, due, stamp) for n in ids for kind, key, due in future_rows],
            )
    database.dispose()


def add_reminders(settings: Settings, reminders: int, window_s: float, start: datetime) -> None:
    """A practice reminder for each of the first `reminders` patients, due within the window."""
    database = open_database(settings)
    rng = random.Random(7)
    with database.transaction() as session:
        session.execute(
            insert(DueEvent),
            [
                {"patient_id": n, "kind": PRACTICE, "key": f"bench-{n}", "status": "pending", "created_at": start,
                 "due_at": start + timedelta(seconds=rng.uniform(0, window_s))}
                for n in range(1, reminders + 1)
            ],
        )  # fmt: skip
    database.dispose()


async def measure(settings: Settings, reminders: int, window_s: float, started: datetime) -> dict[str, object]:
    clock = SystemClock()
    content = load_content(settings.content_dir, settings.default_locale)
    services = make_services(settings, open_database(settings), content, clock)
    sender = make_sender(settings, services, Accepts())
    service = make_scheduler(services, sender)
    await service.renew()
    gc.collect()
    gc.freeze()
    # the steady cost: a sweep with nothing due yet (the reminders start coming due a little later)
    sweeps = []
    for _ in range(5):
        began = time.perf_counter()
        await service.sweep_due()
        sweeps.append(1000 * (time.perf_counter() - began))
    scheduler = build_scheduler(service)
    scheduler.start()
    deadline = started + timedelta(seconds=window_s)
    while clock.now() < deadline + timedelta(seconds=45):
        await asyncio.sleep(1)
        if clock.now() > deadline and not await services.database.run(pending_reminders, services):
            break
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)
    memory = rss_mb(os.getpid())

    def lateness() -> list[float]:
        with services.database.transaction() as session:
            rows = session.exec(
                select(DueEvent.due_at, DueEvent.done_at).where(col(DueEvent.key).startswith("bench-"))
            ).all()
        return [((done or clock.now()) - due).total_seconds() for due, done in rows]

    late = await services.database.run(lateness)
    await service.close(drain_seconds=1)
    return {
        "sweep_ms": round(statistics.median(sweeps), 1),
        "rss_mb": round(memory, 1),
        "reminder_lateness_s": {"p50": round(percentile(late, 0.5), 2), "max": round(max(late, default=0.0), 2)},
        "reminders": len(late),
    }


def pending_reminders(services: object) -> int:
    database = services.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        return len(
            session.exec(
                select(DueEvent.id).where(col(DueEvent.key).startswith("bench-"), DueEvent.status == "pending")
            ).all()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=1_000)
    parser.add_argument("--window", type=float, default=40.0, help="seconds over which the reminders come due")
    parser.add_argument("--populate-only", action="store_true", help="enrol the patients, measure nothing")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    began = datetime.now(UTC)
    populate(settings, args.patients, began)
    if args.populate_only:
        return
    start = datetime.now(UTC) + timedelta(seconds=15)  # after the service has started and swept idle
    add_reminders(settings, args.reminders, args.window, start)
    result = asyncio.run(measure(settings, args.reminders, args.window, start))
    result["populated_s"] = round((start - began).total_seconds() - 15, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
