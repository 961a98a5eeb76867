"""Who counts as satisfied with the course, as the Pain Course studies count it (pure).

A patient is satisfied when they answered "satisfied" or "very satisfied" on the overall item of
the satisfaction questionnaire (content/<locale>/questionnaires/satisfaction.yaml); the mean of
the three items is its score, but the count uses the overall item alone. This is the one place
the rule is written: the guides' /report and the trial outcomes both use it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

QUESTIONNAIRE = "satisfaction"
OVERALL_ITEM = "satisfaction_overall"
SATISFIED_FROM = 4  # 4 satisfied, 5 very satisfied (1 very dissatisfied ... 3 neither)


def satisfied(answers: Mapping[str, object]) -> bool | None:
    """Whether these satisfaction answers count as satisfied; None when the overall item is unanswered."""
    value = answers.get(OVERALL_ITEM)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value >= SATISFIED_FROM


@dataclass(frozen=True)
class Rate:
    satisfied: int
    answered: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.satisfied / self.answered) if self.answered else None


def rate(answer_sets: Iterable[Mapping[str, object]]) -> Rate:
    """How many of those who answered the overall item are satisfied (one answer set a patient)."""
    counted = [s for s in (satisfied(answers) for answers in answer_sets) if s is not None]
    return Rate(sum(counted), len(counted))
