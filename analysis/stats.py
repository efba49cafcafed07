"""Statistical helpers, delegating to statsmodels."""

from __future__ import annotations

import math

from statsmodels.stats.proportion import proportion_confint


def wilson_interval(successes: int, total: int, confidence_level: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval of ``successes / total``; NaN bounds when ``total`` is 0."""
    if total == 0:
        return math.nan, math.nan
    low, high = proportion_confint(successes, total, alpha=1 - confidence_level, method="wilson")
    return float(low), float(high)


def ratio(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator``, or NaN when the denominator is 0 (undefined, not zero)."""
    return numerator / denominator if denominator else math.nan
