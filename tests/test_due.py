"""The pure timetable of what is due (dialogs/due.py) and reading typed time zones, over many inputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from content.schema import Content
from dialogs import due
from dialogs.state import PatientState, Status
from dialogs.timezones import describe, parse_timezone
from tests.conftest import CONTENT_DIR, load_content

CONTENT: Content = load_content(CONTENT_DIR, "en")
ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Pacific/Honolulu", "UTC"]
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


def active(consented: datetime, zone: str, **fields: object) -> PatientState:
    return replace(PatientState(code="P-0001", locale="en"), status=Status.ACTIVE, timezone=zone,
                   consented_at=consented, **fields)  # type: ignore[arg-type]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(consented=moments, zone=st.sampled_from(ZONES))
def test_every_planned_moment_falls_on_its_local_day_and_hour(consented: datetime, zone: str) -> None:
    finished = {"1": consented.isoformat(), "2": consented.isoformat()}
    state = active(consented, zone, lessons_done=(1, 2), lessons_finished_at=finished)
    planned = due.plan(state, CONTENT, consented)
    assert planned == sorted(planned)
    start = consented.astimezone(ZoneInfo(zone)).date()
    schedule = CONTENT.program.schedule
    for row in planned:
        local = row.due_at.astimezone(ZoneInfo(zone))
        if row.kind == due.RELEASE:
            days = CONTENT.program.opens_on_day(int(row.key))
            assert (local.date() - start).days == days
            assert f"{local:%H:%M}" == schedule.release_at
        elif row.kind == due.WEEKLY_MESSAGE:
            assert (local.date() - start).days == 7 * int(row.key.removeprefix("week-"))
            assert f"{local:%H:%M}" == schedule.weekly_message_at
        elif row.kind == due.PRACTICE:
            assert f"{local:%H:%M}" == schedule.practice_at
            assert row.due_at > consented
        assert not due.is_quiet(row.due_at, zone, schedule), "nothing is planned in the quiet hours"
    assert {r.kind for r in planned} >= {due.RELEASE, due.WEEKLY_MESSAGE, due.PRACTICE}
    assert not any(r.kind == due.RELEASE and r.key in ("1", "2") for r in planned), "started lessons are not released"


@settings(max_examples=100, deadline=None)
@given(consented=moments, zone=st.sampled_from(ZONES), later=st.integers(min_value=0, max_value=60 * 24 * 30))
def test_of_a_lessons_release_and_nudges_at_most_one_applies_at_any_moment(
    consented: datetime, zone: str, later: int
) -> None:
    """After any downtime, the patient gets one message about a waiting lesson, not a pile."""
    state = active(consented, zone, lessons_done=(1,), lessons_finished_at={"1": consented.isoformat()})
    now = consented + timedelta(minutes=later)
    applying = [
        (kind, key)
        for kind, key in (("lesson_released", "2"), ("nudge", "2:3"), ("nudge", "2:7"))
        if due.applies(state, CONTENT, kind, key, now)
    ]
    assert len(applying) <= 1
    opens = due.opens_at(state, CONTENT, 2)
    assert opens is not None
    assert bool(applying) == (now >= opens)


def test_nudges_count_from_when_the_lesson_opened_for_this_patient() -> None:
    consented = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # lesson 2 opens on 9 March by the timetable
    late = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # ... but lesson 1 was finished on the 12th
    state = active(consented, "Europe/London", lessons_done=(1,), lessons_finished_at={"1": late.isoformat()})
    nudges = {r.key: r.due_at for r in due.plan(state, CONTENT, late) if r.kind == due.NUDGE}
    assert nudges == {"2:3": datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "2:7": datetime(2026, 3, 19, 9, 0, tzinfo=UTC)}


def test_quiet_hours_run_past_midnight() -> None:
    schedule = CONTENT.program.schedule
    london = "Europe/London"
    at = lambda h, m=0: datetime(2026, 1, 10, h, m, tzinfo=UTC)  # noqa: E731  (winter: London is UTC)
    assert due.is_quiet(at(21), london, schedule) and due.is_quiet(at(7, 59), london, schedule)
    assert not due.is_quiet(at(8), london, schedule) and not due.is_quiet(at(20, 59), london, schedule)
    assert due.quiet_ends(at(22), london, schedule) == datetime(2026, 1, 11, 8, 0, tzinfo=UTC)
    assert due.quiet_ends(at(3), london, schedule) == at(8)
    assert due.quiet_ends(at(12), london, schedule) == at(12)


def test_pausing_drops_non_essential_moments_within_the_week_and_off_drops_them_all() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    state = active(now, "Europe/London", lessons_done=(1,), lessons_finished_at={"1": now.isoformat()})
    kinds = lambda s: {r.kind for r in due.plan(s, CONTENT, now)}  # noqa: E731
    assert due.PRACTICE in kinds(state)
    paused = replace(state, reminders_paused_until=now + due.PAUSE)
    practice = [r for r in due.plan(paused, CONTENT, now) if r.kind == due.PRACTICE]
    assert practice and practice[0].due_at >= now + due.PAUSE
    off = replace(state, reminders_off=True)
    # Questionnaire occasions are measurement, not reminders to practise: they stay when reminders are off.
    assert kinds(off) == {due.RELEASE, due.WEEKLY_MESSAGE, due.OCCASION, due.OCCASION_REMINDER}
    assert not due.needs_new_plan(state, replace(state, prompt=9)), "a tap that changes nothing plans nothing"
    assert due.needs_new_plan(state, off)


def test_questionnaire_occasions_are_planned_as_they_open_and_dropped_once_done() -> None:
    monday = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # consented in the quiet hours
    state = active(monday, "Europe/London")
    rows = [(r.kind, r.key, r.due_at) for r in due.plan(state, CONTENT, monday) if r.kind.startswith("questionnaire")]
    london = ZoneInfo("Europe/London")
    baseline = next(at for kind, key, at in rows if (kind, key) == (due.OCCASION, "baseline"))
    assert f"{baseline.astimezone(london):%a %H:%M}" == "Tue 08:00", "never in the quiet hours"
    week = next(at for kind, key, at in rows if (kind, key) == (due.OCCASION, "week-1"))
    assert f"{week.astimezone(london):%a %d %b %H:%M}" == "Mon 09 Mar 08:00", "as its day begins, after the night"
    reminder = next(at for kind, key, at in rows if (kind, key) == (due.OCCASION_REMINDER, "week-1"))
    assert (reminder - week).days == 3
    keys = {key for kind, key, _ in rows if kind == due.OCCASION}
    assert keys == {"baseline", *(f"week-{n}" for n in range(1, 8)), "post", "follow-up"}
    done = replace(state, surveys_done=("baseline/phq9", "baseline/gad7", "baseline/peg"))
    assert "baseline" not in {r.key for r in due.plan(done, CONTENT, monday) if r.kind.startswith("questionnaire")}
    assert due.needs_new_plan(state, done), "finishing an occasion re-plans (its reminder goes)"


@given(hours=st.integers(min_value=-12, max_value=14))
def test_a_typed_utc_offset_becomes_a_zone_with_that_offset(hours: int) -> None:
    for typed in (f"UTC{hours:+d}", f"GMT {hours:+d}", f"utc{hours:+d}:00"):
        zone = parse_timezone(typed)
        assert zone is not None, typed
        offset = datetime(2026, 6, 1, tzinfo=UTC).astimezone(ZoneInfo(zone)).utcoffset()
        assert offset == timedelta(hours=hours)
        assert describe(zone) == ("UTC" if hours == 0 else f"UTC{hours:+d}")


@given(st.text(max_size=80))
def test_anything_typed_is_a_known_zone_or_nothing(typed: str) -> None:
    zone = parse_timezone(typed)
    if zone is not None:
        ZoneInfo(zone)
