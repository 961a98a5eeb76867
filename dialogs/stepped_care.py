"""Stepped care (pure): which rules a patient's results over time meet, for the guide to review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from content.schema import SteppedCareRule


def met(rule: SteppedCareRule, totals: Sequence[float]) -> bool:
    """Whether one questionnaire's totals, oldest first (the first is the baseline), meet a rule."""
    if not totals:
        return False
    latest = totals[-1]
    if rule.at_least is not None:
        return latest >= rule.at_least
    if rule.rise_from_baseline is not None:
        return len(totals) > 1 and latest - totals[0] >= rule.rise_from_baseline
    assert rule.rises is not None
    recent = totals[-(rule.rises + 1) :]
    return len(recent) == rule.rises + 1 and all(b > a for a, b in pairwise(recent))


def rules_met(
    rules: Sequence[SteppedCareRule], history: Mapping[str, Sequence[float]], questionnaire: str
) -> list[SteppedCareRule]:
    """The rules about `questionnaire` that its history (questionnaire -> totals) now meets."""
    return [r for r in rules if r.questionnaire == questionnaire and met(r, history.get(questionnaire, ()))]
