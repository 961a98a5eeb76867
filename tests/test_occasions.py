"""When questionnaires are due (pure, in the patient's local days) and the stepped-care rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from content.schema import Content, SteppedCareRule
from dialogs.occasions import done_key, due, occasions
from dialogs.stepped_care import met, rules_met

CONSENT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 in London


def due_keys(content: Content, days: float, done: tuple[str, ...] = (), zone: str = "Europe/London") -> list[str]:
    now = CONSENT + timedelta(days=days)
    return [d.occasion.key for d in due(content.program, CONSENT, zone, now, done)]


def test_the_shipped_timetable(content: Content) -> None:
    found = [(o.key, o.day, o.give) for o in occasions(content.program)]
    assert found[0] == ("baseline", 0, ("phq9", "gad7", "peg"))
    assert [k for k, _, _ in found if k.startswith("week-")] == [f"week-{n}" for n in range(1, 8)]
    assert [d for k, d, _ in found if k.startswith("week-")] == [7, 14, 21, 28, 35, 42, 49]
    assert ("post", 56, ("phq9", "gad7", "peg", "satisfaction", "pgic")) in found
    assert ("follow-up", 84, ("phq9", "gad7", "peg")) in found


def test_baseline_is_due_at_once_and_stays_until_done(content: Content) -> None:
    assert due_keys(content, 0) == ["baseline"]
    assert due_keys(content, 3) == ["baseline"]
    done = tuple(done_key("baseline", q) for q in ("phq9", "gad7", "peg"))
    assert due_keys(content, 3, done) == []
    partly = due(content.program, CONSENT, "UTC", CONSENT, done[:1])
    assert partly[0].remaining == ("gad7", "peg"), "only what is left"


def test_the_weekly_check_opens_on_its_local_day_and_closes_a_week_later(content: Content) -> None:
    baseline = tuple(done_key("baseline", q) for q in ("phq9", "gad7", "peg"))
    assert due_keys(content, 6.5, baseline) == []
    assert due_keys(content, 7, baseline) == ["week-1"]
    assert due_keys(content, 13.5, baseline) == ["week-1"]
    assert due_keys(content, 14, baseline) == ["week-2"], "a missed week does not pile up"
    assert due_keys(content, 56, baseline) == ["post"]
    assert due_keys(content, 84, baseline) == ["follow-up"]
    assert due_keys(content, 120, baseline) == []


def test_days_are_the_patients_own(content: Content) -> None:
    # Consent at 10:00 UTC is 21:00 in Sydney on 2 March; 14:00 UTC on 8 March is 01:00 on 9 March there.
    baseline = tuple(done_key("baseline", q) for q in ("phq9", "gad7", "peg"))
    six_days_later = 6 + 4 / 24
    assert due_keys(content, six_days_later, baseline, zone="Australia/Sydney") == ["week-1"]
    assert due_keys(content, six_days_later, baseline, zone="America/Los_Angeles") == []


def test_nothing_is_due_before_consent(content: Content) -> None:
    assert due(content.program, None, "UTC", CONSENT, ()) == []


@given(st.floats(0, 150), st.sets(st.sampled_from(["phq9", "gad7", "peg", "satisfaction", "pgic"])))
def test_nothing_done_is_ever_due_again(content: Content, days: float, finished: set[str]) -> None:
    now = CONSENT + timedelta(days=days)
    done = tuple(done_key(o.key, q) for o in occasions(content.program) for q in finished)
    for occasion in due(content.program, CONSENT, "UTC", now, done):
        assert occasion.remaining
        assert not set(occasion.remaining) & finished


def rule(**test: float) -> SteppedCareRule:
    return SteppedCareRule(id="r", questionnaire="phq9", reason="why", **test)  # type: ignore[arg-type]


def test_stepped_care_rules() -> None:
    assert met(rule(at_least=20), [8, 20])
    assert not met(rule(at_least=20), [20, 19])
    assert met(rule(rise_from_baseline=5), [7, 9, 12])
    assert not met(rule(rise_from_baseline=5), [12]), "the baseline alone is no rise"
    assert not met(rule(rise_from_baseline=5), [7, 11])
    assert met(rule(rises=3), [5, 4, 5, 6, 7])
    assert not met(rule(rises=3), [5, 6, 7]), "three rises need four results"
    assert not met(rule(rises=3), [4, 5, 5, 6, 7]), "a week the same breaks the run"
    assert rules_met([rule(at_least=1)], {"gad7": [21]}, "phq9") == []


@given(st.lists(st.floats(0, 27), max_size=12), st.integers(1, 5))
def test_rises_in_a_row_means_each_of_the_last_results_is_higher(totals: list[float], rises: int) -> None:
    recent = totals[-(rises + 1) :]
    expected = len(totals) > rises and all(recent[i] < recent[i + 1] for i in range(rises))
    assert met(rule(rises=rises), totals) == expected


@given(st.lists(st.floats(0, 27), min_size=1, max_size=12), st.floats(0.5, 10))
def test_a_rise_from_baseline_compares_the_latest_with_the_first(totals: list[float], rise: float) -> None:
    assert met(rule(rise_from_baseline=rise), totals) == (len(totals) > 1 and totals[-1] - totals[0] >= rise)
