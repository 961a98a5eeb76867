"""The scheduler over weeks of a patient's programme, with a ManualClock: releases, nudges, check-ins
and practice reminders on the right local day and hour across daylight-saving changes; missed ones
caught up once after downtime; two schedulers against one database sending each exactly once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from clock import ManualClock
from content.schema import Content
from dialogs.events import Command
from storage.database import Database
from storage.models import DueEvent
from storage.patients import Person
from tests.scheduling import Received, Timeline, Walker, scheduled_messages, service_for
from tests.support import make_database, make_services

LONDON = "Europe/London"
PAT = Person(user_id=801, chat_id=801, language_code="en")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = make_database(tmp_path)
    yield database
    database.dispose()


def kind_of(message: Received) -> str:
    text = message.text
    if "check-in is ready" in text:
        return "questionnaires"
    if "check-in is still waiting" in text:
        return "questionnaires reminder"
    if "is ready for you" in text:
        return "release"
    if "is waiting for you" in text or "still here for you" in text:
        return "nudge"
    if "weekly check-in" in text:
        return "checkin"
    if "practise what you've learned" in text:
        return "practice"
    if "second week of the course" in text:
        return "behind"
    return "other"


def lesson_in(message: Received) -> int:
    found = re.search(r"[Ll]esson (\d)", message.text)
    assert found, message.text
    return int(found.group(1))


def local(message: Received) -> tuple[str, str]:
    moment = message.local(LONDON)
    return f"{moment:%a %d %b}", f"{moment:%H:%M}"


async def test_a_patient_enrolled_on_a_monday_gets_everything_on_the_right_local_day_and_hour_across_the_spring_change(
    database: Database, content: Content
) -> None:
    # Monday 16 March 2026, 10:00 in London; the clocks go forward on Sunday 29 March.
    clock = ManualClock(datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    coach = make_services(database, content, clock)
    service = service_for(coach)
    assert await service.renew()
    walker = Walker(coach, database, PAT)
    timeline = Timeline(service, database, clock, PAT.chat_id)
    walker.onboard()
    walker.finish_lesson(1)

    # Lessons 2, 4 and 5 are taken the morning they open; lesson 3 is left for a week.
    await timeline.run_until(datetime(2026, 3, 23, 9, 5, tzinfo=UTC))
    walker.finish_lesson(2)
    await timeline.run_until(datetime(2026, 4, 14, 11, 0, tzinfo=UTC))
    walker.finish_lesson(3)
    await timeline.run_until(datetime(2026, 4, 20, 8, 5, tzinfo=UTC))
    walker.finish_lesson(4)
    await timeline.run_until(datetime(2026, 5, 4, 8, 5, tzinfo=UTC))
    walker.finish_lesson(5)
    await timeline.run_until(datetime(2026, 6, 1, tzinfo=UTC))
    await service.close()

    got = timeline.received
    releases = [(lesson_in(m), *local(m)) for m in got if kind_of(m) == "release"]
    assert releases == [
        (2, "Mon 23 Mar", "09:00"),
        (3, "Mon 06 Apr", "09:00"),
        (4, "Mon 20 Apr", "09:00"),
        (5, "Mon 04 May", "09:00"),
    ]
    utc_hours = [m.at.hour for m in got if kind_of(m) == "release"]
    assert utc_hours == [9, 8, 8, 8], "09:00 local is 09:00 UTC before the change and 08:00 UTC after it"

    nudges = [(lesson_in(m), *local(m)) for m in got if kind_of(m) == "nudge"]
    assert nudges == [(3, "Thu 09 Apr", "09:00"), (3, "Mon 13 Apr", "09:00")], "3 and 7 days after release"

    checkins = [local(m) for m in got if kind_of(m) == "checkin"]
    assert checkins == [
        (f"Mon {day}", "10:00")
        for day in ("23 Mar", "30 Mar", "06 Apr", "13 Apr", "20 Apr", "27 Apr", "04 May", "11 May")
    ]

    practice = [m.local(LONDON) for m in got if kind_of(m) == "practice"]
    assert {f"{p:%H:%M}" for p in practice} == {"18:30"}
    days = [p.date() for p in practice]
    assert days == sorted(set(days)), "one practice reminder a day, never two"
    assert days[0].isoformat() == "2026-03-16" and days[-1].isoformat() == "2026-05-10"
    assert len(days) == 56
    assert {m.at.hour for m in got if kind_of(m) == "practice" and m.at.month == 3 and m.at.day < 29} == {18}
    assert {m.at.hour for m in got if kind_of(m) == "practice" and m.at.month == 4} == {17}

    assert [m for m in got if kind_of(m) in ("behind", "other")] == [], "lesson 1 was done on day 0"

    # Questionnaire occasions are due rows too: the baseline at consent, each week's as its Monday
    # begins (08:00, when the quiet hours end), and, as none is done, one reminder three days later.
    told = [(kind_of(m), *local(m)) for m in got if kind_of(m).startswith("questionnaires")]
    expected = [("questionnaires", "Mon 16 Mar", "10:00")]
    for monday, thursday in [("16 Mar", "19 Mar"), ("23 Mar", "26 Mar"), ("30 Mar", "02 Apr"), ("06 Apr", "09 Apr"),
                             ("13 Apr", "16 Apr"), ("20 Apr", "23 Apr"), ("27 Apr", "30 Apr"), ("04 May", "07 May"),
                             ("11 May", "14 May")]:  # fmt: skip
        if monday != "16 Mar":
            expected.append(("questionnaires", f"Mon {monday}", "08:00"))
        expected.append(("questionnaires reminder", f"Thu {thursday}", "08:00"))
    assert told == expected


async def test_a_patient_who_never_starts_is_nudged_and_gets_the_week_two_note_across_the_autumn_change(
    database: Database, content: Content
) -> None:
    # Monday 19 October 2026, 10:00 in London (BST); the clocks go back on Sunday 25 October.
    clock = ManualClock(datetime(2026, 10, 19, 9, 0, tzinfo=UTC))
    coach = make_services(database, content, clock)
    service = service_for(coach)
    assert await service.renew()
    walker = Walker(coach, database, PAT)
    timeline = Timeline(service, database, clock, PAT.chat_id)
    walker.onboard()
    await timeline.run_until(datetime(2026, 11, 10, tzinfo=UTC))
    await service.close()

    got = timeline.received
    timetable = [m for m in got if kind_of(m) != "checkin" and not kind_of(m).startswith("questionnaires")]
    assert [(kind_of(m), *local(m), m.at.hour) for m in timetable] == [
        ("nudge", "Thu 22 Oct", "09:00", 8),
        ("nudge", "Mon 26 Oct", "09:00", 9),
        ("behind", "Thu 29 Oct", "09:00", 9),
    ], "no release of lesson 2 (lesson 1 is not done), no practice reminders yet"
    assert [local(m) for m in got if kind_of(m) == "checkin"] == [
        ("Mon 26 Oct", "10:00"),
        ("Mon 02 Nov", "10:00"),
        ("Mon 09 Nov", "10:00"),
    ]
    assert [(kind_of(m), *local(m)) for m in got if kind_of(m).startswith("questionnaires")] == [
        ("questionnaires", "Mon 19 Oct", "10:00"),
        ("questionnaires reminder", "Thu 22 Oct", "08:00"),
        ("questionnaires", "Mon 26 Oct", "08:00"),
        ("questionnaires reminder", "Thu 29 Oct", "08:00"),
        ("questionnaires", "Mon 02 Nov", "08:00"),
        ("questionnaires reminder", "Thu 05 Nov", "08:00"),
        ("questionnaires", "Mon 09 Nov", "08:00"),
    ], "questionnaire occasions follow the clocks going back too"
    week_two = next(m for m in got if kind_of(m) == "behind")
    assert "lesson 1" in week_two.text.lower()


async def test_missed_reminders_after_downtime_are_sent_once_late_and_only_if_they_still_apply(
    database: Database, content: Content
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # a Monday
    coach = make_services(database, content, clock)
    service = service_for(coach)
    assert await service.renew()
    walker = Walker(coach, database, PAT)
    timeline = Timeline(service, database, clock, PAT.chat_id)
    walker.onboard()
    walker.finish_lesson(1)
    await timeline.run_until(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))  # Saturday: all sent so far
    before = len(timeline.received)

    # The scheduler is down from Saturday noon to the next Thursday noon: no sweeps at all. Missed:
    # practice reminders (Sat, Sun, Mon, Tue, Wed), lesson 2's release (Mon) and first nudge
    # (Thu 09:00), and the week-1 check-in (Mon).
    clock.set(datetime(2026, 3, 12, 12, 0, tzinfo=UTC))
    await timeline.sweep()
    caught_up = [kind_of(m) for m in timeline.received[before:]]
    # The week-1 questionnaires are announced late, once; their reminder, due too, is not sent on top.
    assert sorted(caught_up) == ["checkin", "nudge", "practice", "questionnaires"], "one of each, not a pile"
    assert all(m.at == clock.now() for m in timeline.received[before:]), "late, but not lost"

    await timeline.sweep()
    clock.advance(timedelta(minutes=30))
    await timeline.sweep()
    assert len(timeline.received) == before + 4, "and each only once"

    # The next practice reminder comes at its usual time.
    await timeline.run_until(datetime(2026, 3, 12, 19, 0, tzinfo=UTC))
    assert [(kind_of(m), local(m)) for m in timeline.received[before + 4 :]] == [("practice", ("Thu 12 Mar", "18:30"))]
    await service.close()


async def test_after_downtime_nothing_is_sent_that_no_longer_applies(database: Database, content: Content) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    coach = make_services(database, content, clock)
    service = service_for(coach)
    assert await service.renew()
    walker = Walker(coach, database, PAT)
    timeline = Timeline(service, database, clock, PAT.chat_id)
    walker.onboard()
    walker.finish_lesson(1)
    await timeline.run_until(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    before = len(timeline.received)

    # The scheduler is down; meanwhile the patient (whose bot worker is up) takes lesson 2 from
    # the menu on Monday and turns practice reminders off.
    clock.set(datetime(2026, 3, 9, 11, 0, tzinfo=UTC))
    walker.finish_lesson(2)
    walker.do(Command("reminders"))
    walker.press("Turn them off")
    clock.set(datetime(2026, 3, 13, 12, 0, tzinfo=UTC))
    await timeline.sweep()
    assert [kind_of(m) for m in timeline.received[before:]] == ["questionnaires", "checkin"], (
        "no release or nudge for a lesson already done, no practice reminder once turned off"
    )
    with database.transaction() as session:
        waiting = session.exec(select(DueEvent).where(DueEvent.status == "pending")).all()
        assert {row.kind for row in waiting} <= {
            "lesson_released",
            "nudge",
            "guide_checkin",
            "questionnaire",
            "questionnaire_overdue",
        }
    await service.close()


async def test_two_schedulers_against_one_database_send_each_reminder_exactly_once(
    tmp_path: Path, content: Content
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    first_db = make_database(tmp_path)
    second_db = Database(first_db.url)
    first = service_for(make_services(first_db, content, clock), holder="host-a:1:a")
    second = service_for(make_services(second_db, content, clock), holder="host-b:2:b")
    people = [Person(900 + n, 900 + n, "en") for n in range(12)]
    for person in people:
        walker = Walker(first.services, first_db, person)
        walker.onboard()
        walker.finish_lesson(1)

    assert await first.renew()
    assert not await second.renew(), "the second waits while the first holds the lease"
    for hour in range(1, 24 * 9):
        clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + timedelta(hours=hour))
        await asyncio.gather(first.sweep_due(), second.sweep_due(), first.renew(), second.renew())
        if hour == 24 * 4:
            # The first scheduler dies (no clean stop, no more renewals): the second takes over
            # once the lease has expired.
            await first._follow()
            first.renew = _dead  # type: ignore[method-assign]
            first.sweep_due = _dead  # type: ignore[method-assign]
        if hour == 24 * 4 + 1:
            assert second.active, "the second took over within the lease time"

    with first_db.transaction() as session:
        done = session.exec(select(DueEvent).where(DueEvent.status == "done")).all()
    for person in people:
        sent = [m for _, m in scheduled_messages(first_db, person.chat_id)]
        texts = [(kind_of(m), f"{m.local(LONDON):%d %H:%M}") for m in sent]
        assert len(texts) == len(set(texts)), f"nothing twice for {person.chat_id}: {texts}"
        expected = ["practice"] * 9 + ["checkin", "release"] + ["questionnaires", "questionnaires reminder"] * 2
        assert sorted(k for k, _ in texts) == sorted(expected[:-1]), texts  # week-1's reminder is after day 9
    assert len(done) == len(people) * (9 + 2 + 3)
    await second.close()
    second_db.dispose()
    first_db.dispose()


async def _dead() -> bool:
    return False


async def test_a_due_row_fired_by_two_processes_at_the_same_moment_runs_once(tmp_path: Path, content: Content) -> None:
    """Even if two schedulers both believed they held the lease, each due row runs once: it is
    marked done in the transaction that writes its messages, and only if it was still waiting."""
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    first_db = make_database(tmp_path)
    second_db = Database(first_db.url)
    coaches = [make_services(first_db, content, clock), make_services(second_db, content, clock)]
    for n in range(5):
        Walker(coaches[0], first_db, Person(700 + n, 700 + n, "en")).onboard()
    clock.set(datetime(2026, 3, 9, 10, 30, tzinfo=UTC))  # a week later: four rows each are due
    rows = coaches[0].coach.due_now()
    # Lesson 1's two nudges, lesson 2's release, the week-1 check-in, and the questionnaire
    # occasions: the baseline, its reminder, and week 1.
    assert len(rows) == 5 * 7
    results = await asyncio.gather(*(asyncio.to_thread(coach.coach.fire_due, row) for row in rows for coach in coaches))
    assert sum(results) == len(rows)
    for n in range(5):
        sent = sorted(kind_of(m) for _, m in scheduled_messages(first_db, 700 + n))
        assert sent == ["checkin", "nudge", "questionnaires", "questionnaires"], (
            "once each; the first nudge was superseded, lesson 2 is not open, and the baseline's"
            " reminder is not sent on top of its late announcement"
        )
    second_db.dispose()
    first_db.dispose()


async def test_patients_enrolled_before_the_scheduler_are_planned_by_its_sweep(
    database: Database, content: Content
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    coach = make_services(database, content, clock)
    Walker(coach, database, PAT).onboard()
    with database.transaction() as session:
        for row in session.exec(select(DueEvent)).all():
            session.delete(row)  # as if enrolled before migration 0006
    service = service_for(coach)
    assert await service.renew()
    await service.sweep_due()
    with database.transaction() as session:
        kinds = {row.kind for row in session.exec(select(DueEvent)).all()}
    assert kinds >= {"lesson_released", "nudge", "guide_checkin", "behind_schedule"}
    await service.close()


async def test_more_sweeps_run_under_the_same_lease_only_while_it_is_held(database: Database, content: Content) -> None:
    from scheduler.jobs import build_scheduler
    from scheduler.service import Periodic

    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    runs: list[str] = []
    service = service_for(make_services(database, content, clock))
    service.periodic = (Periodic("questionnaire-sweep", 300, lambda: runs.append("q") or 1),)
    assert await service.run_periodic("questionnaire-sweep") == 0, "not before the lease is held"
    assert await service.renew()
    assert await service.run_periodic("questionnaire-sweep") == 1
    assert runs == ["q"]
    jobs = {job.id: job for job in build_scheduler(service).get_jobs()}
    assert set(jobs) == {"scheduler-lease", "due-sweep", "safety-sweep", "broadcast-sweep", "questionnaire-sweep"}
    for job in jobs.values():
        assert job.coalesce and job.max_instances == 1
        assert job.misfire_grace_time == job.trigger.interval.total_seconds()
    await service.close()
