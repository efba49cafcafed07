"""Sample-size guidance against statsmodels' power analysis and the normal approximation written out."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analysis.power import (
    detectable_gap,
    detectable_gap_sentence,
    required_support,
    required_support_sentence,
)


def normal_power(rate: float, base_rate: float, support: float, rest: float, alpha: float) -> float:
    """Power of the two-sided test on Cohen's h, both tails, written out from the normal distribution."""
    h = 2 * math.asin(math.sqrt(rate)) - 2 * math.asin(math.sqrt(base_rate))
    spread = math.sqrt(1 / support + 1 / rest)
    critical = norm.ppf(1 - alpha / 2)
    return float(norm.sf(critical - h / spread) + norm.cdf(-critical - h / spread))


CASES = [(32, 968, 0.2), (100, 900, 0.1), (500, 10_000, 0.05), (2_000, 2_000, 0.3), (30, 7_000, 0.35)]


@pytest.mark.parametrize("support, rest, base_rate", CASES)
def test_detectable_gap_reaches_power(support, rest, base_rate):
    gap = detectable_gap(support, rest, base_rate)

    assert normal_power(base_rate + gap, base_rate, support, rest, 0.05) == pytest.approx(0.8, abs=1e-4)


@pytest.mark.parametrize("support, rest, base_rate", CASES)
def test_detectable_gap_matches_statsmodels(support, rest, base_rate):
    gap = detectable_gap(support, rest, base_rate, alpha=0.01, power=0.9)

    effect = proportion_effectsize(base_rate + gap, base_rate)
    reached = NormalIndPower().power(effect, nobs1=support, alpha=0.01, ratio=rest / support)
    assert reached == pytest.approx(0.9, abs=1e-4)


def test_detectable_gap_shrinks_with_support():
    gaps = [detectable_gap(support, 5_000, 0.1) for support in (30, 100, 300, 1_000)]

    assert gaps == sorted(gaps, reverse=True)


@pytest.mark.parametrize("support, rest, base_rate", [(0, 100, 0.1), (10, 0, 0.1), (2, 50, 0.9), (10, 100, 1.0)])
def test_detectable_gap_undefined(support, rest, base_rate):
    assert math.isnan(detectable_gap(support, rest, base_rate))


@pytest.mark.parametrize("gap, ratio, base_rate", [(0.05, 10.0, 0.1), (0.1, 1.0, 0.3), (0.02, 50.0, 0.02), (0.25, 3.5, 0.2)])
def test_required_support_is_smallest(gap, ratio, base_rate):
    support = required_support(gap, ratio, base_rate)

    assert normal_power(base_rate + gap, base_rate, support, ratio * support, 0.05) >= 0.8 - 1e-6
    assert normal_power(base_rate + gap, base_rate, support - 1, ratio * (support - 1), 0.05) < 0.8


def test_required_support_matches_statsmodels():
    effect = proportion_effectsize(0.3, 0.2)
    expected = NormalIndPower().solve_power(effect_size=effect, nobs1=None, ratio=4.0, alpha=0.01, power=0.9)

    assert required_support(0.1, 4.0, 0.2, alpha=0.01, power=0.9) == math.ceil(expected)


@pytest.mark.parametrize("gap, ratio, base_rate", [(0.0, 10.0, 0.1), (0.2, 10.0, 0.9), (0.1, 0.0, 0.1), (0.1, math.nan, 0.1), (0.1, math.inf, 0.1)])
def test_required_support_undefined(gap, ratio, base_rate):
    assert math.isnan(required_support(gap, ratio, base_rate))


def test_detectable_gap_sentence_wording():
    assert detectable_gap_sentence(32, 0.2512) == "With 32 examples, only a gap of 25 points or more can be told apart from noise."
    assert detectable_gap_sentence(5_000, 0.0234) == "With 5000 examples, only a gap of 2.3 points or more can be told apart from noise."
    assert detectable_gap_sentence(1, math.nan) == "With 1 example, no gap can be told apart from noise."


def test_required_support_sentence_wording():
    assert required_support_sentence(0.05, 1_234) == "A gap of 5.0 points needs a slice of at least 1234 examples to be told apart from noise."
    assert "No slice size can be given for a gap of 2.0 points" in required_support_sentence(0.02, math.nan)
