"""The figures a trial report needs, as pure functions over plain numbers: mean and SD, the
within-group effect size, the between-group Hedges' g with its 95% confidence interval, and what
counts as "satisfied".

Methods (stated in the report too):

- SD is the sample standard deviation (n - 1 in the denominator).
- Between groups: Cohen's d on the pooled SD, s_p = sqrt(((n1-1) s1² + (n2-1) s2²) / (n1 + n2 - 2)),
  corrected for small samples (Hedges & Olkin 1985): g = J d, J = 1 - 3 / (4 (n1 + n2) - 9).
  Its variance is the large-sample formula v = (n1 + n2) / (n1 n2) + g² / (2 (n1 + n2)), and the
  95% CI is g ± 1.959964 √v. The sign is control minus course, so a positive g means the course
  arm scored lower (better, for measures where lower is better).
- Within a group: the mean change from baseline divided by the baseline SD (d = (m_pre - m_post) /
  s_pre), on the patients with both; positive means scores fell.
- % change: (m_post - m_pre) / m_pre × 100, on the patients with both time points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dialogs.satisfaction import SATISFIED_FROM

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution

METHOD = (
    "Between-group effect sizes are Hedges' g (Cohen's d on the pooled SD, times the Hedges & Olkin "
    "small-sample correction J = 1 - 3/(4(n1+n2)-9)), with a 95% CI from the large-sample variance "
    "(n1+n2)/(n1 n2) + g²/(2(n1+n2)); positive favours the course (control mean minus course mean), "
    "on the available cases at each time point. Within-group effect sizes are the mean fall from "
    "baseline over the baseline SD, on patients with both time points. SDs are sample SDs (n-1)."
)

# The satisfaction item's answers that count as satisfied (content/en/questionnaires/satisfaction.yaml:
# 4 satisfied, 5 very satisfied), as CLINICAL.md defines it.
SATISFACTION_ITEM = "satisfaction_overall"


def satisfied(answer: int | float | None) -> bool:
    """Whether an answer to the overall satisfaction item counts as satisfied: "satisfied" or
    "very satisfied" (4 or 5 of 1-5), the one rule in dialogs/satisfaction.py that /report uses too.
    No answer is not satisfied."""
    return answer is not None and answer >= SATISFIED_FROM


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    sd: float | None  # None below two values


def summary(values: Sequence[float]) -> Summary:
    """n, mean and sample SD (None where they cannot be computed)."""
    n = len(values)
    if n == 0:
        return Summary(0, None, None)
    mean = math.fsum(values) / n
    if n < 2:
        return Summary(n, mean, None)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return Summary(n, mean, math.sqrt(variance))


@dataclass(frozen=True)
class EffectSize:
    g: float
    low: float
    high: float
    n_course: int
    n_control: int


def hedges_correction(n1: int, n2: int) -> float:
    """J = 1 - 3 / (4 (n1 + n2) - 9), the Hedges & Olkin small-sample correction."""
    return 1 - 3 / (4 * (n1 + n2) - 9)


def pooled_sd(a: Summary, b: Summary) -> float | None:
    if a.sd is None or b.sd is None or a.n + b.n < 3:
        return None
    return math.sqrt(((a.n - 1) * a.sd**2 + (b.n - 1) * b.sd**2) / (a.n + b.n - 2))


def hedges_g(course: Sequence[float], control: Sequence[float]) -> EffectSize | None:
    """Hedges' g of control minus course, with its 95% CI; None with fewer than two in an arm or
    no spread at all."""
    a, b = summary(course), summary(control)
    spread = pooled_sd(a, b)
    if spread is None or spread == 0 or a.mean is None or b.mean is None:
        return None
    d = (b.mean - a.mean) / spread
    g = hedges_correction(a.n, b.n) * d
    variance = (a.n + b.n) / (a.n * b.n) + g**2 / (2 * (a.n + b.n))
    half = Z_95 * math.sqrt(variance)
    return EffectSize(g, g - half, g + half, a.n, b.n)


def within_effect(baseline: Sequence[float], later: Sequence[float]) -> float | None:
    """The mean fall from baseline over the baseline SD, for paired values (same patients, same order)."""
    if len(baseline) != len(later):
        raise ValueError("within-group effect sizes need paired values")
    before = summary(baseline)
    if before.sd is None or before.sd == 0 or before.mean is None:
        return None
    fall = math.fsum(b - a for b, a in zip(baseline, later, strict=True)) / len(baseline)
    return fall / before.sd


def percent_change(baseline: Sequence[float], later: Sequence[float]) -> float | None:
    """The change in the mean from baseline, in % of the baseline mean (paired values)."""
    if len(baseline) != len(later):
        raise ValueError("% change needs paired values")
    if not baseline:
        return None
    before = math.fsum(baseline) / len(baseline)
    if before == 0:
        return None
    after = math.fsum(later) / len(later)
    return (after - before) / before * 100


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
