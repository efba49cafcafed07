"""Slice discovery against a brute-force enumeration in pandas, on generated and sample data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from oracle import read_expected, wilson_bounds
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analysis import ConfigError, InputError, discovery, load_config, load_dataset
from analysis.discovery import DiscoverySettings, discover_slices
from analysis.filters import parse_filter

PLANTED = {"region": "south", "device": "tablet"}


def planted_frames(rows: int = 4000, seed: int = 7, binary: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return predictions and metadata with one planted bad slice: region south on a tablet.

    Region south alone and tablet alone are only mildly worse than the rest,
    so the conjunction must be found as a conjunction. A tag ``tag_noisy``
    adds a smaller, independent effect.
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], size=rows, p=[0.4, 0.2, 0.2, 0.2])
    device = rng.choice(["phone", "laptop", "tablet"], size=rows, p=[0.5, 0.3, 0.2])
    shift = rng.choice(["day", "night"], size=rows)
    noisy = rng.random(rows) < 0.15
    blurry = rng.random(rows) < 0.3
    error_probability = np.full(rows, 0.08)
    error_probability[noisy] = 0.14
    error_probability[(region == PLANTED["region"]) & (device == PLANTED["device"])] = 0.6
    is_error = rng.random(rows) < error_probability
    classes = ["no", "yes"] if binary else ["cat", "dog", "bird"]
    labels = rng.choice(classes, size=rows)
    others = {c: [o for o in classes if o != c] for c in classes}
    predictions = np.array([rng.choice(others[label]) if wrong else label for label, wrong in zip(labels, is_error)])
    ids = np.arange(1, rows + 1)
    return (
        pd.DataFrame({"id": ids, "label": labels, "prediction": predictions}),
        pd.DataFrame({"id": ids, "region": region, "device": device, "shift": shift, "tag_noisy": noisy, "tag_blurry": blurry}),
    )


def brute_force(expected, min_support: int, alpha: float, max_predicates: int = 3, tag_absent: bool = False, positive=None, metric="error_rate"):
    """Score every conjunction of up to ``max_predicates`` predicates with pandas masks; best first.

    Returns rows (score, length, predicates as (kind, name, value), support, errors).
    """
    frame = expected.frame
    support_mask = np.ones(len(frame), dtype=bool)
    numerator = frame["is_error"].to_numpy(dtype=bool)
    if metric == "fpr":
        support_mask = (frame["label"] != positive).to_numpy()
        numerator = (frame["prediction"] == positive).to_numpy()
    predicates = []
    for column in expected.slice_values.columns:
        values = expected.slice_values[column]
        for value in sorted(values.unique()):
            predicates.append((column, ("attribute", column, value), (values == value).to_numpy()))
    for tag in expected.tag_flags.columns:
        flags = expected.tag_flags[tag].to_numpy(dtype=bool)
        predicates.append((tag, ("tag", tag, True), flags))
        if tag_absent:
            predicates.append((tag, ("tag", tag, False), ~flags))
    total = int(support_mask.sum())
    total_errors = int((numerator & support_mask).sum())
    rows = []
    for size in range(1, max_predicates + 1):
        for combination in itertools.combinations(predicates, size):
            if len({column for column, _p, _m in combination}) < size:
                continue
            mask = support_mask.copy()
            for _column, _predicate, predicate_mask in combination:
                mask &= predicate_mask
            n = int(mask.sum())
            if n < min_support:
                continue
            errors = int((numerator & mask).sum())
            score = alpha * (errors / n / (total_errors / total) - 1) - (1 - alpha) * (total / n - 1)
            if score > 0:
                rows.append((score, size, tuple(p for _c, p, _m in combination), n, errors))
    rows.sort(key=lambda row: (-row[0], row[1]))
    return rows, total, total_errors


def as_tuples(candidate) -> tuple:
    return tuple((p.kind, p.name, p.value if p.kind == "attribute" else p.present) for p in candidate.predicates)


def assert_same_ranking(result, oracle):
    """Compare the engine's ranked slices with the oracle's, position by position.

    Slices with equal scores (a redundant predicate gives the same examples)
    may trade places, so the predicates are compared as sets within each run of ties.
    """
    ranked = result.ranked
    pool = 64
    assert len(ranked) == min(len(oracle), pool)
    assert len(ranked) > 0
    for candidate, row in zip(ranked, oracle):
        assert candidate.score == pytest.approx(row[0], rel=1e-9)
    ties: dict[float, set] = {}
    for candidate in ranked:
        ties.setdefault(round(candidate.score, 9), set()).add((frozenset(as_tuples(candidate)), candidate.support, candidate.errors))
    for row in oracle[: len(ranked)]:
        key = round(row[0], 9)
        if key in ties and len(ties[key]) == 1:
            assert (frozenset(row[2]), row[3], row[4]) in ties[key]


@pytest.fixture(scope="module")
def planted_config(tmp_path_factory):
    from oracle import write_dataset_files

    predictions, metadata = planted_frames()
    return write_dataset_files(tmp_path_factory.mktemp("planted"), predictions, metadata)


@pytest.fixture(params=["bitmaps", "group_by"])
def counting(request, monkeypatch):
    """Force one of the two ways of counting candidates; the engine picks between them by size."""
    monkeypatch.setattr(discovery, "BITMAP_MS_PER_CANDIDATE_PER_MILLION", 0.0 if request.param == "bitmaps" else 1e9)
    # Small batches, so that the bitmap path joins several batches even on small data.
    monkeypatch.setattr(discovery, "BITMAP_BATCH_BYTES", 3000)
    return request.param


@pytest.mark.parametrize("max_predicates", [1, 2, 3])
def test_discovery_matches_brute_force(planted_config, max_predicates, counting):
    settings = DiscoverySettings(max_predicates=max_predicates, min_support=25, top=10, alpha=0.95)
    result = discover_slices(load_dataset(planted_config), settings)
    oracle, total, total_errors = brute_force(read_expected(planted_config), 25, 0.95, max_predicates)

    assert result.support == total
    assert result.errors == total_errors
    assert_same_ranking(result, oracle)


def test_planted_slice_ranked_first(planted_config):
    result = discover_slices(load_dataset(planted_config), DiscoverySettings(min_support=25))

    best = result.slices[0]
    assert {(p["attribute"], p["value"]) for p in best["predicates"]} == set(PLANTED.items())
    assert best["flagged"] is True
    assert best["rank"] == 1


def test_tag_absent_matches_brute_force(planted_config, counting):
    settings = DiscoverySettings(max_predicates=3, min_support=25, top=10, alpha=0.9, tag_absent=True)
    result = discover_slices(load_dataset(planted_config), settings)
    oracle, _total, _errors = brute_force(read_expected(planted_config), 25, 0.9, 3, tag_absent=True)

    assert_same_ranking(result, oracle)


@pytest.mark.parametrize("seed, alpha, min_support", [(1, 0.93, 15), (2, 0.97, 8), (3, 0.9, 40)])
def test_random_data_matches_brute_force(write_dataset, counting, seed, alpha, min_support):
    predictions, metadata = planted_frames(rows=1500, seed=seed)
    config = write_dataset(predictions, metadata)
    settings = DiscoverySettings(max_predicates=3, min_support=min_support, top=10, alpha=alpha, tag_absent=True)
    result = discover_slices(load_dataset(config), settings)
    oracle, _total, _errors = brute_force(read_expected(config), min_support, alpha, 3, tag_absent=True)

    assert_same_ranking(result, oracle)


def test_low_alpha_prunes_and_still_matches(planted_config):
    # A lower alpha favours large slices, so small candidates fall to the score bound.
    settings = DiscoverySettings(max_predicates=3, min_support=10, top=5, alpha=0.9)
    result = discover_slices(load_dataset(planted_config), settings)
    oracle, _total, _errors = brute_force(read_expected(planted_config), 10, 0.9, 3)

    assert_same_ranking(result, oracle)
    assert sum(level.pruned_by_score for level in result.levels) > 0


def test_reported_numbers_match_pandas(planted_config):
    expected = read_expected(planted_config)
    result = discover_slices(load_dataset(planted_config), DiscoverySettings(min_support=25))
    best = result.slices[0]
    mask = np.ones(expected.total, dtype=bool)
    for predicate in best["predicates"]:
        mask &= (expected.slice_values[predicate["attribute"]] == predicate["value"]).to_numpy()
    n = int(mask.sum())
    errors = int(expected.frame["is_error"][mask].sum())
    low, high = wilson_bounds(errors, n, 0.95)

    assert best["support"] == n
    assert best["errors"] == errors
    assert best["metric_value"] == pytest.approx(errors / n)
    assert best["gap_to_overall"] == pytest.approx(errors / n - expected.errors / expected.total)
    assert best["ci_low"] == pytest.approx(low)
    assert best["ci_high"] == pytest.approx(high)


def reference_p_value(errors: int, n: int, total_errors: int, total: int) -> float:
    rest, rest_errors = total - n, total_errors - errors
    table = np.array([[errors, n - errors], [rest_errors, rest - rest_errors]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if (expected < 5).any():
        return float(fisher_exact(table)[1])
    return float(proportions_ztest([errors, rest_errors], [n, rest])[1])


def test_adjusted_p_values_over_whole_family(planted_config):
    # With one predicate the family is every attribute value and tag present, so it can be rebuilt here.
    expected = read_expected(planted_config)
    result = discover_slices(load_dataset(planted_config), DiscoverySettings(max_predicates=1, min_support=25, top=3, alpha=0.8))
    masks = {}
    for column in expected.slice_values.columns:
        for value in expected.slice_values[column].unique():
            masks[("attribute", column, value)] = (expected.slice_values[column] == value).to_numpy()
    for tag in expected.tag_flags.columns:
        masks[("tag", tag, True)] = expected.tag_flags[tag].to_numpy(dtype=bool)
    is_error = expected.frame["is_error"].to_numpy(dtype=bool)
    keys = list(masks)
    p_values = [reference_p_value(int(is_error[masks[k]].sum()), int(masks[k].sum()), int(is_error.sum()), len(is_error)) for k in keys]
    adjusted = dict(zip(keys, multipletests(p_values, method="fdr_bh")[1]))
    raw = dict(zip(keys, p_values))

    assert result.candidates_evaluated == len(keys)
    for reported in result.slices:
        predicate = reported["predicates"][0]
        key = ("attribute", predicate["attribute"], predicate["value"]) if "attribute" in predicate else ("tag", predicate["tag"], True)
        assert reported["p_value"] == pytest.approx(raw[key], rel=1e-9)
        assert reported["adjusted_p_value"] == pytest.approx(adjusted[key], rel=1e-9)


def test_overlap_values_match_pandas(planted_config):
    expected = read_expected(planted_config)
    result = discover_slices(load_dataset(planted_config), DiscoverySettings(min_support=25, alpha=0.99))

    def mask_of(predicates):
        mask = np.ones(expected.total, dtype=bool)
        for predicate in predicates:
            if "attribute" in predicate:
                mask &= (expected.slice_values[predicate["attribute"]] == predicate["value"]).to_numpy()
            else:
                flags = expected.tag_flags[predicate["tag"]].to_numpy(dtype=bool)
                mask &= flags if predicate["value"] else ~flags
        return mask

    checked = 0
    for reported in result.slices:
        leader = mask_of(reported["predicates"])
        for member in reported["overlapping"]:
            other = mask_of(member["predicates"])
            shared = int((leader & other).sum())
            assert member["jaccard"] == pytest.approx(shared / int((leader | other).sum()))
            assert member["containment"] == pytest.approx(shared / min(int(leader.sum()), int(other.sum())))
            checked += 1
    assert checked > 0


def test_same_result_csv_and_parquet(write_dataset):
    predictions, metadata = planted_frames(rows=3000, seed=11)
    settings = DiscoverySettings(min_support=20, alpha=0.97)
    from_csv = discover_slices(load_dataset(write_dataset(predictions, metadata, file_format="csv")), settings)
    from_parquet = discover_slices(load_dataset(write_dataset(predictions, metadata, file_format="parquet")), settings)

    assert from_csv.as_dict() == from_parquet.as_dict()
    assert len(from_csv.slices) > 0


def test_filter_equals_dropping_rows(write_dataset):
    predictions, metadata = planted_frames(rows=3000, seed=5)
    settings = DiscoverySettings(min_support=20, alpha=0.97)
    dataset = load_dataset(write_dataset(predictions, metadata))
    filtered = discover_slices(dataset, settings, parse_filter(dataset, [], ["attr:shift=night"]))
    kept = metadata["shift"] != "night"
    reduced = load_dataset(write_dataset(predictions[kept.to_numpy()], metadata[kept]))
    direct = discover_slices(reduced, settings)

    assert [c.describe() for c in filtered.ranked] == [c.describe() for c in direct.ranked]
    assert [c.score for c in filtered.ranked] == pytest.approx([c.score for c in direct.ranked])
    assert filtered.as_dict()["filter"] == {"keep": [], "exclude": ["attr:shift=night"], "description": "without examples with shift = night"}


def test_false_positive_rate_matches_brute_force(write_dataset, counting):
    predictions, metadata = planted_frames(rows=4000, seed=3, binary=True)
    config = write_dataset(predictions, metadata, positive_class="yes")
    settings = DiscoverySettings(metric="fpr", min_support=20, alpha=0.95)
    result = discover_slices(load_dataset(config), settings)
    oracle, total, total_errors = brute_force(read_expected(config), 20, 0.95, metric="fpr", positive="yes")

    assert result.support == total == int((predictions["label"] == "no").sum())
    assert result.errors == total_errors == int(((predictions["label"] == "no") & (predictions["prediction"] == "yes")).sum())
    assert_same_ranking(result, oracle)


def test_speech_commands_planted_slice_found():
    # SliceLine's default alpha of 0.95 penalises a slice of 1.8% of the data
    # more than its threefold error rate earns, so a higher alpha is used here.
    dataset = load_dataset(load_config("sample_data/speech_commands"))
    result = discover_slices(dataset, DiscoverySettings(alpha=0.99, top=5))
    found = [
        s["rank"]
        for s in result.slices
        if {(p.get("attribute"), p.get("value")) for p in s["predicates"]} == {("accent", "irish"), ("device", "smart_speaker")}
    ]

    assert found and found[0] <= 3
    assert result.slices[found[0] - 1]["flagged"] is True


def test_no_attributes_message(write_dataset):
    predictions, _metadata = planted_frames(rows=100)
    dataset = load_dataset(write_dataset(predictions))

    with pytest.raises(InputError, match="needs attributes or tags, but this dataset has neither"):
        discover_slices(dataset)


def test_min_support_above_data_size_message(write_dataset):
    predictions, metadata = planted_frames(rows=40)
    dataset = load_dataset(write_dataset(predictions, metadata))

    with pytest.raises(ConfigError, match=r"minimum support \(41\) is larger than the 40 examples"):
        discover_slices(dataset, DiscoverySettings(min_support=41))


def test_tiny_data_finds_nothing_with_notice(write_dataset):
    predictions = pd.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "b", "b"], "prediction": ["a", "b", "b", "b"]})
    metadata = pd.DataFrame({"id": [1, 2, 3, 4], "region": ["x", "x", "y", "y"]})
    dataset = load_dataset(write_dataset(predictions, metadata))
    result = discover_slices(dataset, DiscoverySettings(min_support=3))

    assert result.slices == []
    assert result.notices == ["No slice of at least 3 examples scores above 0."]


def test_tiny_data_with_small_support(write_dataset):
    predictions = pd.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "b", "b"], "prediction": ["a", "b", "b", "b"]})
    metadata = pd.DataFrame({"id": [1, 2, 3, 4], "region": ["x", "x", "y", "y"]})
    dataset = load_dataset(write_dataset(predictions, metadata))
    result = discover_slices(dataset, DiscoverySettings(min_support=1, alpha=0.9))

    assert [s["description"] for s in result.slices] == ["region = x"]
    assert result.slices[0]["metric_value"] == 0.5
    assert result.slices[0]["score"] == pytest.approx(0.9 * (0.5 / 0.25 - 1) - 0.1 * (4 / 2 - 1))


def test_no_errors_notice(write_dataset):
    predictions = pd.DataFrame({"id": [1, 2, 3], "label": ["a", "b", "b"], "prediction": ["a", "b", "b"]})
    metadata = pd.DataFrame({"id": [1, 2, 3], "region": ["x", "x", "y"]})
    result = discover_slices(load_dataset(write_dataset(predictions, metadata)), DiscoverySettings(min_support=1))

    assert result.slices == []
    assert result.notices == ["No example counts towards the metric, so no slice can be worse than overall."]


@pytest.mark.parametrize(
    "settings, message",
    [
        (DiscoverySettings(max_predicates=4), "maximum number of predicates must be 1, 2 or 3, got 4"),
        (DiscoverySettings(min_support=0), "minimum support must be at least 1, got 0"),
        (DiscoverySettings(top=0), "between 1 and 50, got 0"),
        (DiscoverySettings(alpha=0), "alpha must be above 0 and at most 1, got 0"),
        (DiscoverySettings(metric="auc"), "Unknown metric 'auc'"),
        (DiscoverySettings(metric="fpr"), "'fpr' needs a binary task with a positive class"),
        (DiscoverySettings(overlap_measure="cosine"), "Unknown overlap measure 'cosine'"),
    ],
)
def test_invalid_settings_messages(planted_config, settings, message):
    with pytest.raises(ConfigError, match=message):
        discover_slices(load_dataset(planted_config), settings)


def test_default_min_support_from_dataset_file(planted_config):
    result = discover_slices(load_dataset(planted_config.replace(min_support=200)))

    assert result.min_support == 200
    assert all(s["support"] >= 200 for s in result.slices)
    assert not math.isnan(result.as_dict()["overall"]["metric_value"])


def test_compas_false_positive_rate(dataset_config):
    # Excluding the rows ProPublica filtered out, African-American defendants
    # who did not reoffend were flagged high-risk about twice as often as
    # Caucasian ones; discovery should put such slices among the worst.
    config = dataset_config("compas").replace(positive_class="1", exclude_attributes=["age", "c_charge_desc"])
    dataset = load_dataset(config)
    result = discover_slices(dataset, DiscoverySettings(metric="fpr"), parse_filter(dataset, [], ["tag:tag_propublica_filtered_out"]))
    leaders = [row for row in result.slices[:5] if {"attribute": "race", "value": "African-American"} in row["predicates"]]

    predictions = pd.read_csv(config.predictions)
    metadata = pd.read_csv(config.metadata)
    joined = predictions.merge(metadata, on="example_id")
    negatives = joined[(joined["true_label"] == 0) & ~joined["tag_propublica_filtered_out"]]
    assert result.support == len(negatives)
    assert result.errors == int((negatives["pred_label"] == 1).sum())
    assert leaders
    for row in leaders:
        mask = np.ones(len(negatives), dtype=bool)
        for predicate in row["predicates"]:
            mask &= (negatives[predicate["attribute"]].astype(str) == predicate["value"]).to_numpy()
        assert row["support"] == int(mask.sum())
        assert row["metric_value"] == pytest.approx((negatives["pred_label"][mask] == 1).mean())


def test_false_positive_rate_rejects_three_classes(write_dataset):
    predictions = pd.DataFrame({"id": range(6), "label": list("abcabc"), "prediction": list("abcbca")})
    metadata = pd.DataFrame({"id": range(6), "group": list("xxyyzz")})
    dataset = load_dataset(write_dataset(predictions, metadata, positive_class="a"))

    with pytest.raises(InputError) as raised:
        discover_slices(dataset, DiscoverySettings(metric="fpr", min_support=1))

    assert "defined here for binary tasks, but this dataset has 3 classes" in raised.value.message
