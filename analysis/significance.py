"""Whether a slice's error rate differs from the rest of the data, beyond noise.

A slice that looks bad may just be small. Each slice (or tag) is compared with
the rest of the data, that is all examples outside it, in a 2x2 table::

                 errors        correct
    slice        errors        n - errors
    rest         E - errors    (N - n) - (E - errors)

where ``N`` is the number of examples analysed and ``E`` their errors. The
two-sided p-value comes from Fisher's exact test when any expected cell count
is under 5, else from the two-proportion z-test. The p-values of every slice
and tag tested in one analysis are adjusted together with Benjamini-Hochberg,
which bounds the expected share of false discoveries among the flagged slices.

A slice is **flagged** as worse when all three hold:

- its adjusted p-value is below ``fdr_q`` (false discovery rate, default 0.05);
- its gap to overall is at least ``min_gap`` (default 0.02, that is 2 points);
- its support is at least ``min_support`` (default 30).

The settings live under ``[statistics]`` in the dataset file:

- ``confidence_level`` (0.95): level of the Wilson and bootstrap intervals;
- ``fdr_q`` (0.05): false discovery rate of the Benjamini-Hochberg adjustment;
- ``min_gap`` (0.02): smallest gap to overall, as a fraction, for a flag;
- ``min_support`` (30): smallest support for a flag;
- ``alpha`` (0.05) and ``power`` (0.8): the two-sided test behind the
  sample-size sentences;
- ``bootstrap_samples`` (1000) and ``seed`` (0): the resampling behind the
  F1 and balanced-accuracy intervals, seeded so that reruns agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analysis.i18n import _

# Names of the tests, as they appear in the JSON output.
FISHER_EXACT = "fisher_exact"
Z_TEST = "z_test"

# Fisher's exact test replaces the z-test when an expected cell count is under this.
EXACT_BELOW = 5.0


class FlagSettings(Protocol):
    """The settings :func:`is_flagged` reads; a :class:`analysis.config.DatasetConfig` has them."""

    fdr_q: float
    min_gap: float
    min_support: int


def compare_to_rest(
    errors: int, n: int, total_errors: int, total: int, exact_below: float = EXACT_BELOW
) -> tuple[float, str]:
    """Test whether a slice's error rate differs from the rest of the data.

    ``errors`` of ``n`` examples in the slice, ``total_errors`` of ``total``
    examples in all the data (the slice included). Returns the two-sided
    p-value and the name of the test (:data:`FISHER_EXACT` or :data:`Z_TEST`).
    When the comparison is undefined, because the slice is empty or holds
    every example, returns NaN and the reason instead of a test name.
    """
    if not 0 <= errors <= n <= total or not 0 <= total_errors - errors <= total - n:
        raise ValueError(f"inconsistent counts: errors={errors}, n={n}, total_errors={total_errors}, total={total}")
    if n == 0:
        return math.nan, _("Undefined (n = 0): the slice has no example to compare.")
    rest = total - n
    if rest == 0:
        return math.nan, _("Undefined: the slice contains every example, so there is no rest to compare with.")

    rest_errors = total_errors - errors
    table = np.array([[errors, n - errors], [rest_errors, rest - rest_errors]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if (expected < exact_below).any():
        _odds_ratio, p_value = fisher_exact(table, alternative="two-sided")
        return float(p_value), FISHER_EXACT
    _statistic, p_value = proportions_ztest([errors, rest_errors], [n, rest], alternative="two-sided")
    return float(p_value), Z_TEST


def adjust_p_values(p_values: Sequence[float]) -> list[float]:
    """Adjust p-values with Benjamini-Hochberg. NaN entries stay NaN and are left out of the family."""
    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(values.shape, math.nan)
    defined = ~np.isnan(values)
    if defined.any():
        _reject, corrected, _sidak, _bonferroni = multipletests(values[defined], method="fdr_bh")
        adjusted[defined] = corrected
    return [float(value) for value in adjusted]


def is_flagged(adjusted_p: float, gap: float, support: int, settings: FlagSettings) -> bool:
    """Return True when a slice is worse than overall beyond noise (see the module docstring).

    An undefined (NaN) adjusted p-value or gap is never flagged.
    """
    if math.isnan(adjusted_p) or math.isnan(gap):
        return False
    # A small tolerance, so that a gap of exactly 2 points computed in floating point still counts.
    return adjusted_p < settings.fdr_q and gap >= settings.min_gap - 1e-12 and support >= settings.min_support


@dataclass
class Significance:
    """The comparison of one group (slice or tag) with the rest of the data.

    ``reason`` gives why ``p_value`` is undefined (NaN), and is None otherwise.
    An untested group is never flagged.
    """

    p_value: float
    test: str | None
    p_adjusted: float
    flagged: bool
    reason: str | None = None

    def as_dict(self) -> dict[str, float | str | bool | None]:
        return {"p_value": self.p_value, "test": self.test, "p_adjusted": self.p_adjusted, "flagged": self.flagged}


def compare_groups(groups: Sequence[tuple[int, int]], total_errors: int, total: int, settings: FlagSettings) -> list[Significance]:
    """Compare each group with the rest of the data, adjusting the p-values over all of them as one family.

    ``groups`` contains (errors, support) per group, where an "error" is the event
    the metric counts as bad (an error, a false positive, a missed example of a
    class). ``total_errors`` and ``total`` count the same event and support over
    all the data. The gap behind the flag is the group's rate of the event minus
    the overall rate, so a positive gap means worse.
    """
    tests = [compare_to_rest(errors, n, total_errors, total) for errors, n in groups]
    adjusted = adjust_p_values([p_value for p_value, _name in tests])
    overall_rate = total_errors / total if total else math.nan
    results = []
    for (errors, n), (p_value, name), p_adjusted in zip(groups, tests, adjusted):
        if math.isnan(p_value):
            results.append(Significance(p_value, None, p_adjusted, False, reason=name))
            continue
        gap = errors / n - overall_rate
        results.append(Significance(p_value, name, p_adjusted, is_flagged(p_adjusted, gap, n, settings)))
    return results
