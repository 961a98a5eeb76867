"""Questionnaire scoring: hand-computed cases, and properties over every shipped questionnaire and
the licensed-instrument fixtures (FIQR, PASS-20: placeholder text, real scoring rules)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from content.schema import Content, Questionnaire
from dialogs.scoring import band_for, risk, score, shown
from tests.conftest import CONTENT_DIR, load_content

FIXTURES = Path(__file__).parent / "fixtures" / "questionnaires"


def fixture(name: str) -> Questionnaire:
    return Questionnaire.model_validate(yaml.safe_load((FIXTURES / f"{name}.yaml").read_text()))


SHIPPED = load_content(CONTENT_DIR, "en").for_locale("en").questionnaires
FIQR, PASS20, REVERSE = fixture("fiqr"), fixture("pass20"), fixture("reverse")
EVERY = [*SHIPPED.values(), FIQR, PASS20, REVERSE]


def answers(questionnaire: Questionnaire, values: list[int]) -> dict[str, int | None]:
    return {item.id: value for item, value in zip(questionnaire.items, values, strict=True)}


@pytest.fixture
def phq9(content: Content) -> Questionnaire:
    return content.for_locale("en").questionnaires["phq9"]


def test_phq9_is_the_sum_of_its_items_and_banded(phq9: Questionnaire) -> None:
    result = score(phq9, answers(phq9, [1, 2, 0, 3, 1, 0, 2, 1, 0]))
    assert result.total == 10
    assert result.band is not None
    assert result.band.label == "moderate"
    assert shown(phq9, result.total) == "10"
    assert score(phq9, answers(phq9, [3] * 9)).band.id == "severe"  # type: ignore[union-attr]
    assert score(phq9, answers(phq9, [0, 1, 1, 0, 1, 0, 0, 1, 0])).band.id == "minimal"  # type: ignore[union-attr]


def test_phq9_band_edges(phq9: Questionnaire) -> None:
    expected = {0: "minimal", 4: "minimal", 5: "mild", 9: "mild", 10: "moderate", 14: "moderate"}
    expected |= {15: "moderately_severe", 19: "moderately_severe", 20: "severe", 27: "severe"}
    for total, band in expected.items():
        assert band_for(phq9, total).id == band, total  # type: ignore[union-attr]


def test_phq9_with_an_item_missing_cannot_be_scored(phq9: Questionnaire) -> None:
    given_answers = answers(phq9, [1] * 9)
    given_answers["phq9_4"] = None
    result = score(phq9, given_answers)
    assert not result.valid
    assert result.missing == ("phq9_4",)


def test_gad7(content: Content) -> None:
    gad7 = content.for_locale("en").questionnaires["gad7"]
    assert score(gad7, answers(gad7, [3] * 7)).total == 21
    low = score(gad7, answers(gad7, [0, 1, 0, 1, 0, 1, 1]))
    assert (low.total, low.band.id) == (4, "minimal")  # type: ignore[union-attr]
    assert score(gad7, answers(gad7, [2, 2, 2, 2, 2, 1, 1])).band.id == "moderate"  # type: ignore[union-attr]


def test_peg_is_the_mean_of_three(content: Content) -> None:
    peg = content.for_locale("en").questionnaires["peg"]
    result = score(peg, answers(peg, [7, 5, 6]))
    assert result.total == pytest.approx(6.0)
    assert shown(peg, result.total) == "6.0"
    lower = score(peg, answers(peg, [3, 4, 4]))
    assert lower.total == pytest.approx(11 / 3)
    assert shown(peg, lower.total) == "3.7"
    assert lower.band.id == "low"  # type: ignore[union-attr]


def test_phq9_item_9_is_a_risk_item(phq9: Questionnaire) -> None:
    assert risk(phq9, {"phq9_9": 0}) is None
    assert risk(phq9, {"phq9_9": 1}).level == "urgent"  # type: ignore[union-attr]  # urgent by default (issue 10; program.yaml may make it review)
    assert risk(phq9, {"phq9_9": 2}).level == "urgent"  # type: ignore[union-attr]
    assert risk(phq9, {"phq9_9": 3}).level == "urgent"  # type: ignore[union-attr]
    assert risk(phq9, {"phq9_1": 3}) is None


def test_fiqr_function_sum_over_3_plus_overall_plus_symptoms_over_2() -> None:
    values = [6] * 9 + [5, 7] + [8] * 10
    result = score(FIQR, answers(FIQR, values))
    assert result.subscales == {"function": 18, "overall": 12, "symptoms": 40}
    assert result.total == 70
    assert result.band.label == "severe"  # type: ignore[union-attr]
    assert FIQR.score_range() == (0, 100)


def test_fiqr_bands() -> None:
    for total, band in {0: "remission", 23: "remission", 24: "mild", 40: "mild", 41: "moderate"}.items():
        assert band_for(FIQR, total).id == band  # type: ignore[union-attr]
    for total, band in {63: "moderate", 64: "severe", 82: "severe", 83: "very_severe", 100: "very_severe"}.items():
        assert band_for(FIQR, total).id == band  # type: ignore[union-attr]


def test_fiqr_one_function_item_missing_is_prorated_two_make_it_invalid() -> None:
    values: list[int | None] = [6] * 9 + [5, 7] + [8] * 10
    one_missing = answers(FIQR, values)  # type: ignore[arg-type]
    one_missing["fiqr_3"] = None
    assert score(FIQR, one_missing).total == 70  # the eight answered average 6, so 54 / 3
    two_missing = {**one_missing, "fiqr_7": None}
    assert not score(FIQR, two_missing).valid
    for other in ("fiqr_10", "fiqr_15"):  # any other item missing
        result = score(FIQR, {**answers(FIQR, values), other: None})  # type: ignore[arg-type]
        assert not result.valid, other
        assert result.problem


def test_pass20_four_subscales_of_five() -> None:
    values = [0, 1, 2, 3, 4] + [5] * 5 + [0] * 5 + [1, 2, 3, 4, 5]
    result = score(PASS20, answers(PASS20, values))
    assert result.subscales == {"cognitive": 10, "escape": 25, "fear": 0, "physiological": 15}
    assert result.total == 50
    assert PASS20.score_range() == (0, 100)
    assert result.band is None, "no bands given, none made up"


def test_reverse_items_and_a_prorated_missing_item() -> None:
    assert score(REVERSE, answers(REVERSE, [4, 1, 3, 2])).total == 4 + 4 + 3 + 3
    assert score(REVERSE, answers(REVERSE, [1, 4, 1, 4])).total == 4, "reverse items at their top score lowest"
    one_missing = score(REVERSE, {"r_1": 4, "r_2": 1, "r_3": 3})
    assert one_missing.total == pytest.approx(11 * 4 / 3)
    assert one_missing.band.id == "high"  # type: ignore[union-attr]
    assert not score(REVERSE, {"r_1": 4, "r_2": 1}).valid


def test_an_answer_that_is_not_an_option_is_refused(phq9: Questionnaire) -> None:
    with pytest.raises(ValueError, match="not an answer"):
        score(phq9, answers(phq9, [4, 0, 0, 0, 0, 0, 0, 0, 0]))


def test_bands_with_a_gap_at_the_bottom_or_out_of_order_are_refused() -> None:
    data = yaml.safe_load((FIXTURES / "reverse.yaml").read_text())

    def band(name: str, low: float) -> dict[str, object]:
        return {"id": name, "min": low, "label": name, "message": "m"}

    for bands in ([band("a", 5)], [band("a", 4), band("b", 4)], [band("a", 4), band("b", 17)]):
        with pytest.raises(ValidationError, match="bands"):
            Questionnaire.model_validate({**data, "bands": bands})


# -- properties ---------------------------------------------------------------------------------


@st.composite
def answered(draw: st.DrawFn) -> tuple[Questionnaire, dict[str, int | None]]:
    questionnaire = draw(st.sampled_from(EVERY))
    given_answers: dict[str, int | None] = {}
    for item in questionnaire.items:
        value = draw(st.sampled_from(questionnaire.values(item)))
        given_answers[item.id] = None if draw(st.integers(0, 9)) == 0 else value
    return questionnaire, given_answers


@given(st.sampled_from(EVERY), st.data())
def test_a_complete_questionnaire_scores_within_its_range_and_has_a_band(
    questionnaire: Questionnaire, data: st.DataObject
) -> None:
    given_answers = {item.id: data.draw(st.sampled_from(questionnaire.values(item))) for item in questionnaire.items}
    result = score(questionnaire, given_answers)
    low, high = questionnaire.score_range()
    assert result.total is not None
    assert low - 1e-9 <= result.total <= high + 1e-9
    assert (result.band is None) == (not questionnaire.bands)


@given(st.sampled_from([q for q in EVERY if q.bands]), st.data())
def test_bands_cover_the_whole_range_without_gaps_or_overlaps(
    questionnaire: Questionnaire, data: st.DataObject
) -> None:
    low, high = questionnaire.score_range()
    total = data.draw(st.floats(low, high, allow_nan=False))
    mins = [band.min for band in questionnaire.bands]
    tops = [*mins[1:], float("inf")]
    holding = [band for band, top in zip(questionnaire.bands, tops, strict=True) if band.min <= total < top]
    assert len(holding) == 1
    assert band_for(questionnaire, total) == holding[0]


@given(answered())
def test_missing_items_follow_the_questionnaires_rules(case: tuple[Questionnaire, dict[str, int | None]]) -> None:
    questionnaire, given_answers = case
    result = score(questionnaire, given_answers)
    rules = questionnaire.scoring
    missing = {i for i, v in given_answers.items() if v is None}
    if rules.method == "subscales":
        expected = all(
            len(missing & set(s.items)) <= s.max_missing and len(missing & set(s.items)) < len(s.items)
            for s in rules.subscales
        )
    else:
        expected = len(missing) <= rules.max_missing and len(missing) < len(questionnaire.items)
    assert result.valid == expected
    assert set(result.missing) == missing
    if result.total is not None:
        low, high = questionnaire.score_range()
        assert low - 1e-9 <= result.total <= high + 1e-9


@given(st.sampled_from(EVERY))
def test_lowest_and_highest_answers_give_the_ends_of_the_range(questionnaire: Questionnaire) -> None:
    def extreme(top: bool) -> dict[str, int | None]:
        chosen: dict[str, int | None] = {}
        for item in questionnaire.items:
            values = questionnaire.values(item)
            chosen[item.id] = max(values) if top != item.reverse else min(values)
        return chosen

    assert (score(questionnaire, extreme(False)).total, score(questionnaire, extreme(True)).total) == pytest.approx(
        questionnaire.score_range()
    )
