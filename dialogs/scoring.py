"""Scoring a questionnaire (pure): totals, subscales, reverse items, missing-item rules, band, risk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from content.schema import Band, Questionnaire, RiskRule

LEVELS = {"review": 1, "urgent": 2}  # higher is more urgent


@dataclass(frozen=True)
class Score:
    """A questionnaire's result. `total` is None when too many items are missing to score it."""

    questionnaire: str
    total: float | None
    subscales: dict[str, float | None] = field(default_factory=dict)
    band: Band | None = None
    missing: tuple[str, ...] = ()
    problem: str = ""  # why it could not be scored

    @property
    def valid(self) -> bool:
        return self.total is not None


def item_score(questionnaire: Questionnaire, item_id: str, value: int) -> int:
    """An answer's score: its value, or turned round for a reverse-scored item."""
    item = questionnaire.item(item_id)
    values = questionnaire.values(item)
    if value not in values:
        raise ValueError(f"{value} is not an answer to {questionnaire.id}/{item_id}")
    return min(values) + max(values) - value if item.reverse else value


def _group(
    questionnaire: Questionnaire,
    item_ids: Sequence[str],
    answers: Mapping[str, int | None],
    *,
    method: str,
    max_missing: int,
    prorate: bool,
) -> float | None:
    """Sum or mean of some items; None when more than `max_missing` are missing."""
    scores = [item_score(questionnaire, i, v) for i in item_ids if (v := answers.get(i)) is not None]
    missing = len(item_ids) - len(scores)
    if missing > max_missing or not scores:
        return None
    if method == "mean":
        return sum(scores) / len(scores)
    if prorate and missing:
        return sum(scores) * len(item_ids) / len(scores)
    return float(sum(scores))


def score(questionnaire: Questionnaire, answers: Mapping[str, int | None]) -> Score:
    """Score the answers given (item id -> value; a missing or None answer is a missing item)."""
    rules = questionnaire.scoring
    missing = tuple(item.id for item in questionnaire.items if answers.get(item.id) is None)
    if rules.method != "subscales":
        ids = [item.id for item in questionnaire.items]
        total = _group(
            questionnaire, ids, answers, method=rules.method, max_missing=rules.max_missing, prorate=rules.prorate
        )
        if total is None:
            return Score(questionnaire.id, None, missing=missing, problem=f"{len(missing)} item(s) missing")
        return Score(questionnaire.id, total, band=band_for(questionnaire, total), missing=missing)
    subscales: dict[str, float | None] = {}
    problems: list[str] = []
    for subscale in rules.subscales:
        raw = _group(
            questionnaire,
            subscale.items,
            answers,
            method=subscale.method,
            max_missing=subscale.max_missing,
            prorate=subscale.prorate,
        )
        subscales[subscale.id] = None if raw is None else raw / subscale.divide_by
        if raw is None:
            problems.append(f"{subscale.title}: too many items missing")
    if problems:
        return Score(questionnaire.id, None, subscales, missing=missing, problem="; ".join(problems))
    total = sum(value for value in subscales.values() if value is not None)
    return Score(questionnaire.id, total, subscales, band_for(questionnaire, total), missing)


def band_for(questionnaire: Questionnaire, total: float) -> Band | None:
    """The band a total falls in: the last band whose `min` it reaches."""
    band = None
    for candidate in questionnaire.bands:
        if total >= candidate.min:
            band = candidate
    return band


def risk(questionnaire: Questionnaire, answers: Mapping[str, int | None]) -> RiskRule | None:
    """The most urgent risk rule the answers meet (item 9 of the PHQ-9 above 0, ...), if any."""
    met = [
        rule for rule in questionnaire.risk if (value := answers.get(rule.item)) is not None and value >= rule.at_least
    ]
    return max(met, key=lambda rule: (LEVELS[rule.level], rule.at_least), default=None)


def shown(questionnaire: Questionnaire, total: float | None) -> str:
    """A total as the guides and the patient see it: "12", "4.3"."""
    if total is None:
        return "-"
    decimals = questionnaire.scoring.decimals
    return f"{total:.{decimals}f}" if decimals else str(int(total + 0.5))
