"""The simulator's scores: the course arm drifts towards the original trial's effect sizes, the
waiting list stays level, and the same seed gives the same patients (pure, no database)."""

from __future__ import annotations

import pytest

from content.schema import Content
from paincoach.simulate import MEASURES, Options, item_answers, make_patients, total_for
from research.statistics import hedges_g


@pytest.mark.parametrize("measure", ["phq9", "gad7", "peg"])
def test_between_group_effects_come_near_the_original_trials(measure: str) -> None:
    patients = make_patients(Options(patients=1200, seed=5))
    course = [total_for(p, measure, 56, "course", 1.0) for p in patients[:600]]
    control = [total_for(p, measure, 56, "waitlist", 1.0) for p in patients[600:]]
    effect = hedges_g(course, control)
    assert effect is not None
    assert effect.g == pytest.approx(MEASURES[measure].effect, abs=0.15)
    assert hedges_g([total_for(p, measure, 0, "course", 1.0) for p in patients[:600]],
                    [total_for(p, measure, 0, "waitlist", 1.0) for p in patients[600:]]).g == pytest.approx(0, abs=0.15)  # type: ignore[union-attr]  # fmt: skip


def test_no_effect_when_told_none() -> None:
    patients = make_patients(Options(patients=1200, seed=6))
    course = [total_for(p, "phq9", 56, "course", 0.0) for p in patients[:600]]
    control = [total_for(p, "phq9", 56, "waitlist", 0.0) for p in patients[600:]]
    assert hedges_g(course, control).g == pytest.approx(0, abs=0.15)  # type: ignore[union-attr]


def test_the_same_seed_gives_the_same_patients(content: Content) -> None:
    phq9 = content.for_locale(None).questionnaires["phq9"]
    one, two = make_patients(Options(patients=20, seed=9)), make_patients(Options(patients=20, seed=9))
    assert [(p.join_day, p.dropout_day, p.level) for p in one] == [(p.join_day, p.dropout_day, p.level) for p in two]
    assert [item_answers(p, phq9, "post", 56, "course", 1.0) for p in one] == [
        item_answers(p, phq9, "post", 56, "course", 1.0) for p in two
    ]
    assert all(answers["phq9_9"] == 0 for answers in (item_answers(p, phq9, "baseline", 0, None, 1.0) for p in one))
