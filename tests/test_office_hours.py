"""Office hours: parsing the setting, and when a message sent now will usually be answered."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clock.office_hours import add_working_time, is_open, parse_office_hours
from paincoach.settings import Settings, SettingsError, load_settings

WEEKDAYS = parse_office_hours("Mon-Fri 09:00-17:00", "Europe/London")
MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_the_setting_is_read_like_people_write_it() -> None:
    assert WEEKDAYS.days == frozenset(range(5)) and WEEKDAYS.start == time(9) and WEEKDAYS.end == time(17)
    assert parse_office_hours("Mon,Wed,Fri 10:00-14:30").days == frozenset({0, 2, 4})
    assert parse_office_hours("Sat-Mon 08:00-12:00").days == frozenset({5, 6, 0}), "a range may wrap the week"
    for bad in ("weekdays", "Mon-Fri 17:00-09:00", "Mon-Funday 09:00-17:00", "Mon-Fri 9-5", "Mon-Fri 25:00-26:00"):
        with pytest.raises(ValueError, match=r"expected|office hours need"):
            parse_office_hours(bad)


def test_a_bad_setting_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICE_HOURS", "whenever")
    with pytest.raises(SettingsError, match="OFFICE_HOURS: expected days and hours such as Mon-Fri 09:00-17:00"):
        load_settings(None)
    monkeypatch.setenv("OFFICE_HOURS", "Mon-Thu 08:30-16:00")
    monkeypatch.setenv("GUIDE_TIMEZONE", "Australia/Sydney")
    hours = Settings(_env_file=None).guide_hours
    assert hours.zone == "Australia/Sydney" and hours.days == frozenset(range(4))


def test_one_working_day_skips_nights_and_weekends() -> None:
    day = timedelta(hours=8)
    assert add_working_time(WEEKDAYS, MONDAY_10, day) == datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    friday_16 = datetime(2026, 1, 9, 16, 0, tzinfo=UTC)
    assert add_working_time(WEEKDAYS, friday_16, day) == datetime(2026, 1, 12, 16, 0, tzinfo=UTC)
    saturday = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
    assert add_working_time(WEEKDAYS, saturday, day) == datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert add_working_time(WEEKDAYS, saturday, timedelta(0)) == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def test_summer_time_is_followed() -> None:
    # London is UTC+1 in July: 09:00 local is 08:00 UTC.
    sunday = datetime(2026, 7, 5, 12, 0, tzinfo=UTC)
    assert add_working_time(WEEKDAYS, sunday, timedelta(hours=1)) == datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=60 * 40),
)
def test_the_answer_time_is_in_office_hours_and_never_early(start: datetime, minutes: int) -> None:
    answer = add_working_time(WEEKDAYS, start, timedelta(minutes=minutes))
    assert answer >= start + timedelta(minutes=minutes)
    local = answer.astimezone(ZoneInfo("Europe/London"))
    assert local.weekday() < 5 and time(9) <= local.time() <= time(17)
    assert is_open(WEEKDAYS, answer) or local.time() == time(17)
