"""Slice-versus-rest tests, the Benjamini-Hochberg adjustment, the flag rule and the [statistics] settings."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact, hypergeom, norm

from analysis import ConfigError, load_config, load_dataset, summarize
from analysis.config import DatasetConfig
from analysis.significance import (
    FISHER_EXACT,
    Z_TEST,
    adjust_p_values,
    compare_to_rest,
    is_flagged,
)


def fisher_by_hypergeometric(errors: int, n: int, total_errors: int, total: int) -> float:
    """Two-sided Fisher p-value: the probability of every table no more likely than the observed one."""
    distribution = hypergeom(total, total_errors, n)
    low, high = max(0, n - (total - total_errors)), min(n, total_errors)
    support = np.arange(low, high + 1)
    probabilities = distribution.pmf(support)
    observed = distribution.pmf(errors)
    return float(min(1.0, probabilities[probabilities <= observed * (1 + 1e-7)].sum()))


def pooled_z_test(errors: int, n: int, total_errors: int, total: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test, written out."""
    rest, rest_errors = total - n, total_errors - errors
    pooled = total_errors / total
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest))
    z = (errors / n - rest_errors / rest) / spread
    return float(2 * norm.sf(abs(z)))


# (errors in slice, slice size, errors in all data, all data size, expected test)
TABLES = [
    (30, 100, 100, 1000, Z_TEST),
    (12, 80, 150, 2000, Z_TEST),
    (50, 500, 400, 5000, Z_TEST),
    (2, 10, 100, 1000, FISHER_EXACT),
    (3, 3, 10, 200, FISHER_EXACT),
    (0, 5, 20, 100, FISHER_EXACT),
    (1, 30, 2, 60, FISHER_EXACT),
    (0, 1, 0, 50, FISHER_EXACT),
    (40, 40, 50, 50, FISHER_EXACT),
]


@pytest.mark.parametrize("errors, n, total_errors, total, test", TABLES)
def test_compare_to_rest_matches_reference(errors, n, total_errors, total, test):
    p_value, name = compare_to_rest(errors, n, total_errors, total)

    assert name == test
    expected = pooled_z_test if test == Z_TEST else fisher_by_hypergeometric
    assert p_value == pytest.approx(expected(errors, n, total_errors, total), rel=1e-6, abs=1e-12)


def test_compare_to_rest_threshold_switches_test():
    # Expected errors in the slice: 10 * 100 / 1000 = 1, under 5 but over 0.5.
    assert compare_to_rest(2, 10, 100, 1000)[1] == FISHER_EXACT
    assert compare_to_rest(2, 10, 100, 1000, exact_below=0.5)[1] == Z_TEST


def test_compare_to_rest_no_errors_anywhere():
    p_value, name = compare_to_rest(0, 100, 0, 1000)

    assert name == FISHER_EXACT
    assert p_value == 1.0


@pytest.mark.parametrize(
    "errors, n, total_errors, total, fragment",
    [(0, 0, 10, 100, "n = 0"), (10, 100, 10, 100, "every example")],
)
def test_compare_to_rest_undefined(errors, n, total_errors, total, fragment):
    p_value, reason = compare_to_rest(errors, n, total_errors, total)

    assert math.isnan(p_value)
    assert fragment in reason


@pytest.mark.parametrize("errors, n, total_errors, total", [(5, 4, 10, 100), (5, 10, 4, 100), (5, 200, 10, 100), (0, 10, 95, 100)])
def test_compare_to_rest_inconsistent_counts(errors, n, total_errors, total):
    with pytest.raises(ValueError, match="inconsistent counts"):
        compare_to_rest(errors, n, total_errors, total)


def test_adjust_p_values_matches_scipy():
    p_values = [0.001, 0.04, 0.03, 0.2, 0.5, 0.01, 0.049]

    adjusted = adjust_p_values(p_values)

    assert adjusted == pytest.approx(list(false_discovery_control(p_values, method="bh")))


def test_adjust_p_values_nan_left_out():
    p_values = [0.01, math.nan, 0.02, 0.3, math.nan]

    adjusted = adjust_p_values(p_values)

    expected = false_discovery_control([0.01, 0.02, 0.3], method="bh")
    assert math.isnan(adjusted[1])
    assert math.isnan(adjusted[4])
    assert [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx(list(expected))


def test_adjust_p_values_empty_and_all_nan():
    assert adjust_p_values([]) == []
    assert all(math.isnan(value) for value in adjust_p_values([math.nan, math.nan]))


DEFAULTS = DatasetConfig(predictions=None)


@pytest.mark.parametrize(
    "adjusted_p, gap, support, flagged",
    [
        (0.01, 0.05, 100, True),
        (0.01, 0.02, 30, True),
        (0.05, 0.05, 100, False),
        (0.01, 0.019, 100, False),
        (0.01, -0.05, 100, False),
        (0.01, 0.05, 29, False),
        (math.nan, 0.05, 100, False),
        (0.01, math.nan, 100, False),
    ],
)
def test_is_flagged_defaults(adjusted_p, gap, support, flagged):
    assert is_flagged(adjusted_p, gap, support, DEFAULTS) is flagged


def test_is_flagged_gap_rounding():
    gap = 0.12 - 0.10  # 0.019999999999999997 in binary floating point
    assert is_flagged(0.01, gap, 100, DEFAULTS)


def test_is_flagged_reads_settings():
    strict = DEFAULTS.replace(fdr_q=0.01, min_gap=0.1, min_support=200)

    assert not is_flagged(0.02, 0.2, 300, strict)
    assert not is_flagged(0.001, 0.05, 300, strict)
    assert not is_flagged(0.001, 0.2, 100, strict)
    assert is_flagged(0.001, 0.2, 300, strict)


MINIMAL = 'schema = 1\n[files]\npredictions = "predictions.csv"\n'


def write_dataset_file(folder, text):
    path = folder / "dataset.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_statistics_defaults(tmp_path):
    config = load_config(write_dataset_file(tmp_path, MINIMAL))

    assert (config.fdr_q, config.min_gap, config.min_support) == (0.05, 0.02, 30)
    assert (config.alpha, config.power) == (0.05, 0.8)
    assert (config.bootstrap_samples, config.seed) == (1000, 0)


def test_statistics_keys_read(tmp_path):
    text = MINIMAL + "[statistics]\nfdr_q = 0.1\nmin_gap = 0.05\nmin_support = 50\nalpha = 0.01\npower = 0.9\nbootstrap_samples = 500\nseed = 7\n"

    config = load_config(write_dataset_file(tmp_path, text))

    assert (config.fdr_q, config.min_gap, config.min_support) == (0.1, 0.05, 50)
    assert (config.alpha, config.power) == (0.01, 0.9)
    assert (config.bootstrap_samples, config.seed) == (500, 7)


INVALID_STATISTICS = {
    "fdr_q_zero": ("fdr_q = 0", ["statistics.fdr_q = 0.0", "between 0 and 1"]),
    "fdr_q_percent": ("fdr_q = 5", ["statistics.fdr_q = 5.0", "between 0 and 1"]),
    "alpha_one": ("alpha = 1", ["statistics.alpha = 1.0", "between 0 and 1"]),
    "power_text": ('power = "high"', ["'statistics.power'", "a number", "'high'"]),
    "power_above_one": ("power = 80", ["statistics.power = 80.0", "between 0 and 1"]),
    "min_gap_negative": ("min_gap = -0.02", ["statistics.min_gap = -0.02", "fraction"]),
    "min_gap_points": ("min_gap = 2", ["statistics.min_gap = 2.0", "below 1"]),
    "min_support_negative": ("min_support = -1", ["statistics.min_support = -1", "at least 0"]),
    "min_support_float": ("min_support = 30.5", ["'statistics.min_support'", "an integer", "30.5"]),
    "bootstrap_too_few": ("bootstrap_samples = 10", ["statistics.bootstrap_samples = 10", "at least 100"]),
    "seed_negative": ("seed = -3", ["statistics.seed = -3", "at least 0"]),
    "unknown_key": ("fdr = 0.05", ["'fdr'", "[statistics]", "fdr_q"]),
}


@pytest.mark.parametrize("name", sorted(INVALID_STATISTICS))
def test_invalid_statistics_raises(tmp_path, name):
    line, fragments = INVALID_STATISTICS[name]
    path = write_dataset_file(tmp_path, MINIMAL + "[statistics]\n" + line + "\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_summary_notes_untestable_slice(write_dataset):
    predictions = pd.DataFrame({"id": range(40), "label": ["a", "b"] * 20, "prediction": ["a"] * 40})
    metadata = pd.DataFrame({"id": range(40), "site": ["north"] * 40, "tag_noisy": [True] * 8 + [False] * 32})

    summary = summarize(load_dataset(write_dataset(predictions, metadata)))

    row = summary["slices"][0]
    assert (row["value"], row["count"]) == ("north", 40)
    assert row["p_value"] is None
    assert row["p_adjusted"] is None
    assert row["test"] is None
    assert row["flagged"] is False
    assert "contains every example" in summary["notes"]["slices[0].p_value"]
    assert "contains every example" in summary["notes"]["slices[0].p_adjusted"]
    noisy = summary["tags"][0]
    assert noisy["test"] == "fisher_exact"
    assert noisy["p_value"] == pytest.approx(fisher_exact([[4, 4], [16, 16]]).pvalue)
    assert noisy["p_adjusted"] == pytest.approx(false_discovery_control([noisy["p_value"], summary["tags"][1]["p_value"]], method="bh")[0])
