"""Sample-size guidance: which gaps a slice's support can tell apart from noise.

The numbers come from statsmodels' power analysis of two independent
proportions (``NormalIndPower`` with Cohen's effect size h from
``proportion_effectsize``): a two-sided test at level ``alpha`` (default
0.05) that detects the gap with probability ``power`` (default 0.8). The
slice is compared with the rest of the data, and the rate the gap is added
to is the overall rate. Gaps are measured in the worse direction, that is a
higher rate of errors (or of the event the metric counts as bad).
"""

from __future__ import annotations

import math

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analysis.i18n import _, ngettext

def detectable_gap(support: int, rest: int, base_rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return the smallest gap above ``base_rate`` that a slice of ``support`` examples can detect against ``rest``.

    Returns NaN when no gap can be detected: the slice or the rest is empty,
    or even a rate of 1 would not reach the requested power.
    """
    if support <= 0 or rest <= 0 or not 0 <= base_rate < 1:
        return math.nan
    effect = NormalIndPower().solve_power(
        effect_size=None, nobs1=support, ratio=rest / support, alpha=alpha, power=power, alternative="two-sided"
    )
    # Invert Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2)) for p1, with p2 the base rate.
    angle = effect / 2 + math.asin(math.sqrt(base_rate))
    if angle >= math.pi / 2:
        return math.nan
    return math.sin(angle) ** 2 - base_rate


def required_support(gap: float, ratio: float, base_rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return the smallest slice size that detects a rate of ``base_rate + gap`` against the rest.

    The rest grows with the slice, keeping ``ratio`` = rest size / slice size,
    as when more data is collected in the current proportions. Returns NaN
    when ``ratio`` is not positive (an empty slice or no rest) or when
    ``base_rate + gap`` is not a rate.
    """
    if gap <= 0 or not ratio > 0 or math.isinf(ratio) or not 0 <= base_rate < base_rate + gap <= 1:
        return math.nan
    effect = abs(proportion_effectsize(base_rate + gap, base_rate))
    size = NormalIndPower().solve_power(effect_size=effect, nobs1=None, ratio=ratio, alpha=alpha, power=power, alternative="two-sided")
    return float(math.ceil(size))


def format_points(gap: float) -> str:
    """Write a gap as percentage points: whole points from 10 up, one decimal below."""
    points = 100 * gap
    return f"{points:.0f}" if points >= 10 else f"{points:.1f}"


def detectable_gap_sentence(support: int, gap: float) -> str:
    """Say which gap a slice of ``support`` examples can tell apart from noise (``gap`` from :func:`detectable_gap`)."""
    if math.isnan(gap):
        return ngettext(
            "With {count} example, no gap can be told apart from noise.",
            "With {count} examples, no gap can be told apart from noise.",
            support,
        )
    return ngettext(
        "With {count} example, only a gap of {points} points or more can be told apart from noise.",
        "With {count} examples, only a gap of {points} points or more can be told apart from noise.",
        support,
        points=format_points(gap),
    )


def required_support_sentence(gap: float, support: float) -> str:
    """Say how many examples a slice needs for a gap of ``gap`` (``support`` from :func:`required_support`)."""
    if math.isnan(support):
        return _("No slice size can be given for a gap of {points} points: the slice is empty or the gap goes beyond a rate of 100%.", points=format_points(gap))
    return ngettext(
        "A gap of {points} points needs a slice of at least {count} example to be told apart from noise.",
        "A gap of {points} points needs a slice of at least {count} examples to be told apart from noise.",
        int(support),
        points=format_points(gap),
    )
