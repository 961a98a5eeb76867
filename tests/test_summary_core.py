"""The weekly summary's pure core: course weeks, which summary is due, and satisfaction (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from content.schema import Content
from dialogs.desk import card, summary
from dialogs.satisfaction import Rate, rate, satisfied

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=200 * 24 * 60).map(lambda m: START + timedelta(minutes=m))


@given(moments)
def test_a_moment_falls_in_the_week_whose_span_holds_it(now: datetime) -> None:
    week = summary.course_week(START, now)
    begin, end = summary.week_span(START, week)
    assert week >= 1 and begin <= now < end


@given(moments, st.sets(st.integers(min_value=1, max_value=40)))
def test_only_the_latest_finished_week_is_due_once(now: datetime, posted: set[int]) -> None:
    due = summary.summary_due(START, now, posted)
    finished = summary.course_week(START, now) - 1
    if due is not None:
        assert due == finished and due not in posted
        assert summary.week_span(START, due)[1] <= now, "a week is summed up only once it is over"
        assert summary.summary_due(START, now, posted | {due}) is None
    else:
        assert finished < 1 or finished in posted


def test_nothing_is_due_before_consent_or_in_the_first_week() -> None:
    assert summary.course_week(START, START - timedelta(days=1)) == 0
    assert summary.summary_due(START, START + timedelta(days=6, hours=23), set()) is None
    assert summary.summary_due(START, START + timedelta(days=7), set()) == 1


def test_the_summary_is_short_and_says_what_a_guide_needs(content: Content) -> None:
    texts = content.for_locale(None).ui
    score = card.ScoreLine("phq9", "PHQ-9", "11", "moderate", "-4", "week-3", START)
    patient = card.Patient("P-0007", "active", START, (1, 2), card.LessonPlace(3, "Calm body"), None, scores=[score])
    entries = [card.EntryLine("Thought record", str(n), START + timedelta(days=15, hours=n), f"thought {n}", "done")
               for n in range(1, 10)]  # fmt: skip
    week = summary.Week(patient, 3, entries, 4, 1, START + timedelta(days=20), True, 15)
    text = summary.weekly_summary(texts, week, START + timedelta(days=21), "UTC")
    assert "week 3" in text and "contact due" in text
    assert "PHQ-9: 11 (moderate), -4 since baseline" in text
    assert "Thought record ×9" in text and "thought 9" in text and "thought 3" not in text, "the newest six"
    assert "…and 3 more: /patient P-0007" in text
    assert "4 done, 1 not this time" in text and "1 day ago" in text and "15 min" in text
    assert len(text.split()) < 300


@given(st.lists(st.dictionaries(st.sampled_from(["satisfaction_overall", "satisfaction_worth"]),
                                st.integers(min_value=1, max_value=5))))  # fmt: skip
def test_satisfied_means_satisfied_or_very_satisfied_on_the_overall_item(answers: list[dict[str, int]]) -> None:
    counted = rate(answers)
    with_overall = [a for a in answers if "satisfaction_overall" in a]
    assert counted == Rate(sum(1 for a in with_overall if a["satisfaction_overall"] >= 4), len(with_overall))


def test_the_satisfaction_rule() -> None:
    assert satisfied({"satisfaction_overall": 4}) and satisfied({"satisfaction_overall": 5})
    assert satisfied({"satisfaction_overall": 3, "satisfaction_worth": 5}) is False, "the overall item alone"
    assert satisfied({"satisfaction_worth": 5}) is None
    assert Rate(6, 7).percent == 86 and Rate(0, 0).percent is None
