"""The report's statistics against hand computation, and their properties (Hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from research.statistics import hedges_g, percent_change, satisfied, summary, within_effect


def test_mean_and_sample_sd_by_hand() -> None:
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, / 7
    result = summary([2, 4, 4, 4, 5, 5, 7, 9])
    assert result.n == 8
    assert result.mean == 5
    assert result.sd == pytest.approx(math.sqrt(32 / 7))
    assert summary([3]).sd is None
    assert summary([]).mean is None


def test_hedges_g_and_its_ci_by_hand() -> None:
    # course 1..5: mean 3, SD sqrt(2.5); control 3..7: mean 5, SD sqrt(2.5); pooled SD sqrt(2.5)
    # d = 2 / 1.58113883 = 1.26491106; J = 1 - 3/(4*10 - 9) = 28/31 = 0.90322581; g = 1.14250032
    # v = 10/25 + g^2/20 = 0.4 + 0.06526535 = 0.46526535; half-width 1.95996398 * 0.68210362 = 1.33689853
    effect = hedges_g([1, 2, 3, 4, 5], [3, 4, 5, 6, 7])
    assert effect is not None
    assert effect.g == pytest.approx(1.14250032, abs=1e-7)
    assert effect.low == pytest.approx(1.14250032 - 1.33689853, abs=1e-7)
    assert effect.high == pytest.approx(1.14250032 + 1.33689853, abs=1e-7)
    assert (effect.n_course, effect.n_control) == (5, 5)


def test_hedges_g_with_unequal_groups_by_hand() -> None:
    # course 10, 12, 14 (mean 12, var 4); control 15, 17, 19, 21 (mean 18, var 20/3)
    # pooled var = (2*4 + 3*20/3) / 5 = 28/5 = 5.6; sp = 2.36643191; d = 6 / sp = 2.53546276
    # J = 1 - 3/(28 - 9) = 16/19; g = 2.13512654; v = 7/12 + g^2/14 = 0.58333333 + 0.32562104
    effect = hedges_g([10, 12, 14], [15, 17, 19, 21])
    assert effect is not None
    assert effect.g == pytest.approx(2.13512654, abs=1e-7)
    half = 1.959963984540054 * math.sqrt(7 / 12 + 2.13512654**2 / 14)
    assert effect.high - effect.g == pytest.approx(half, abs=1e-7)


def test_no_effect_size_without_two_in_each_arm_or_any_spread() -> None:
    assert hedges_g([1], [2, 3]) is None
    assert hedges_g([2, 2], [2, 2]) is None


def test_within_group_effect_and_percent_change_by_hand() -> None:
    # baseline 10, 12, 14 (mean 12, SD 2); post 8, 9, 10 (mean 9): fall 3, d = 1.5, change -25%
    assert within_effect([10, 12, 14], [8, 9, 10]) == pytest.approx(1.5)
    assert percent_change([10, 12, 14], [8, 9, 10]) == pytest.approx(-25.0)
    with pytest.raises(ValueError, match="paired"):
        within_effect([1, 2], [1])


def test_satisfied_means_satisfied_or_very_satisfied() -> None:
    assert [satisfied(v) for v in (1, 2, 3, 4, 5)] == [False, False, False, True, True]
    assert not satisfied(None)


scores = st.lists(st.integers(min_value=0, max_value=27), min_size=2, max_size=40)


@given(scores, scores)
def test_swapping_the_arms_flips_the_sign(course: list[int], control: list[int]) -> None:
    one, other = hedges_g(course, control), hedges_g(control, course)
    assert (one is None) == (other is None)
    if one is not None and other is not None:
        assert one.g == pytest.approx(-other.g)
        assert one.low == pytest.approx(-other.high)


@given(scores, scores, st.integers(min_value=-50, max_value=50), st.integers(min_value=1, max_value=9))
def test_g_does_not_depend_on_the_units(course: list[int], control: list[int], shift: int, scale: int) -> None:
    plain = hedges_g(course, control)
    moved = hedges_g([v * scale + shift for v in course], [v * scale + shift for v in control])
    assert (plain is None) == (moved is None)
    if plain is not None and moved is not None:
        assert moved.g == pytest.approx(plain.g, rel=1e-9, abs=1e-9)


@given(scores, scores)
def test_the_ci_holds_g_and_is_smaller_than_d(course: list[int], control: list[int]) -> None:
    effect = hedges_g(course, control)
    if effect is not None:
        assert effect.low < effect.g < effect.high
        d = (summary(control).mean - summary(course).mean) / math.sqrt(  # type: ignore[operator]
            ((len(course) - 1) * summary(course).sd ** 2 + (len(control) - 1) * summary(control).sd ** 2)  # type: ignore[operator]
            / (len(course) + len(control) - 2)
        )
        assert abs(effect.g) <= abs(d) + 1e-12


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=50))
def test_the_mean_lies_between_the_extremes(values: list[float]) -> None:
    result = summary(values)
    assert result.mean is not None
    assert min(values) - 1e-6 <= result.mean <= max(values) + 1e-6
    assert result.sd is None or result.sd >= 0
