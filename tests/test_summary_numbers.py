"""Every number of the summary, on the sample and real datasets, against an independent computation.

The expected values come from the oracle in conftest.py: the raw files read
with pandas, metrics from scikit-learn with ``zero_division=np.nan``, Wilson
intervals from SciPy. A metric that scikit-learn leaves undefined (NaN) must
be None in the summary, with a note saying why.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from analysis import load_dataset, summarize
from summary_keys import CLASS_AVERAGES, CLASS_KEYS, SIGNIFICANCE_LABELS, SLICE_NUMBERS, TAG_NUMBERS

if TYPE_CHECKING:
    from conftest import ExpectedData

CLASSIFICATION_DATASETS = ("speech_commands", "screening", "digits", "compas", "cifar10")
ALL_DATASETS = (*CLASSIFICATION_DATASETS, "diabetes_regression")

AVERAGED_METRICS = ("precision", "recall", "f1")


class Case(NamedTuple):
    summary: dict[str, Any]
    expected: ExpectedData


def assert_number(actual, expected, where: str) -> None:
    """Check one summary number: None where the expected value is undefined (NaN), else equal within 1e-12."""
    if isinstance(expected, float) and math.isnan(expected):
        assert actual is None, f"{where}: expected None (undefined), got {actual!r}"
    else:
        assert actual == pytest.approx(expected, abs=1e-12), where


@pytest.fixture(scope="session")
def analysed(dataset_config, expected_from_files):
    """Return a function giving the summary and the oracle of a named dataset, computed once per session."""
    cache: dict[str, Case] = {}

    def analyse(name: str) -> Case:
        if name not in cache:
            config = dataset_config(name)
            cache[name] = Case(summarize(load_dataset(config)), expected_from_files(config))
        return cache[name]

    return analyse


@pytest.fixture(params=ALL_DATASETS)
def case(request, analysed) -> Case:
    return analysed(request.param)


@pytest.fixture(params=CLASSIFICATION_DATASETS)
def classified(request, analysed) -> Case:
    return analysed(request.param)


# ---------------------------------------------------------------- overall


def test_example_count_matches_pandas(case):
    assert case.summary["overall"]["examples"] == case.expected.total


def test_error_count_matches_pandas(case):
    assert case.summary["overall"]["errors"] == case.expected.errors


def test_error_rate_matches_pandas(case):
    assert_number(case.summary["overall"]["error_rate"], case.expected.overall()["error_rate"], "overall.error_rate")


def test_accuracy_matches_sklearn(classified):
    assert_number(classified.summary["overall"]["accuracy"], classified.expected.overall()["accuracy"], "overall.accuracy")


def test_balanced_accuracy_matches_sklearn(classified):
    expected = classified.expected.overall()["balanced_accuracy"]
    assert_number(classified.summary["overall"]["balanced_accuracy"], expected, "overall.balanced_accuracy")


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_averaged_metrics_match_sklearn(classified, average):
    expected = classified.expected.overall()
    for metric in AVERAGED_METRICS:
        key = f"{average}_{metric}"
        assert_number(classified.summary["overall"][key], expected[key], f"overall.{key}")


# ---------------------------------------------------------------- classes


def test_class_order_numeric_or_alphabetical(classified):
    assert classified.summary["confusion_matrix"]["classes"] == classified.expected.class_order()


def test_class_rows_follow_class_order(classified):
    assert [row["label"] for row in classified.summary["classes"]] == classified.expected.class_order()


def test_per_class_metrics_match_sklearn(classified):
    for index, expected in enumerate(classified.expected.class_rows()):
        actual = classified.summary["classes"][index]
        for key in ("support", "predicted", "precision", "recall", "f1"):
            assert_number(actual[key], expected[key], f"classes[{index}] ({expected['label']}).{key}")


def test_confusion_matrix_matches_sklearn(classified):
    assert classified.summary["confusion_matrix"]["counts"] == classified.expected.confusion()


def test_confused_pairs_match_value_counts(classified):
    assert classified.summary["confused_pairs"] == classified.expected.confused_pairs(10)


def test_confused_pairs_at_most_ten(classified):
    assert len(classified.summary["confused_pairs"]) <= 10


# ---------------------------------------------------------------- imbalance


def test_class_shares_match_label_counts(classified):
    actual = classified.summary["imbalance"]["class_shares"]
    expected = classified.expected.imbalance()["class_shares"]
    assert set(actual) == set(expected)
    for name, share in expected.items():
        assert_number(actual[name], share, f"imbalance.class_shares[{name}]")


def test_majority_class_matches_label_counts(classified):
    assert classified.summary["imbalance"]["majority_class"] == classified.expected.imbalance()["majority_class"]


def test_majority_share_matches_label_counts(classified):
    expected = classified.expected.imbalance()["majority_share"]
    assert_number(classified.summary["imbalance"]["majority_share"], expected, "imbalance.majority_share")


def test_majority_accuracy_matches_dummy_classifier(classified):
    expected = classified.expected.imbalance()["majority_class_accuracy"]
    assert_number(classified.summary["imbalance"]["majority_class_accuracy"], expected, "imbalance.majority_class_accuracy")


def test_imbalance_ratio_matches_label_counts(classified):
    expected = classified.expected.imbalance()["imbalance_ratio"]
    assert_number(classified.summary["imbalance"]["imbalance_ratio"], expected, "imbalance.imbalance_ratio")


def test_imbalance_warnings_follow_rules(classified):
    actual = sorted((w["code"], w["label"]) for w in classified.summary["imbalance"]["warnings"])
    assert actual == classified.expected.imbalance()["warnings"]


def test_imbalance_warnings_have_messages(classified):
    for warning in classified.summary["imbalance"]["warnings"]:
        assert warning["label"] in warning["message"], warning


# ---------------------------------------------------------------- slices


def test_slice_values_follow_binning_rules(case):
    actual = [(row["column"], row["value"]) for row in case.summary["slices"]]
    expected = [(row["column"], row["value"]) for row in case.expected.slice_rows()]
    assert actual == expected


def test_slice_numbers_match_group_by(case):
    expected_rows = case.expected.slice_rows()
    assert len(case.summary["slices"]) == len(expected_rows)
    for actual, expected in zip(case.summary["slices"], expected_rows):
        where = f"slice {expected['column']}={expected['value']}"
        for key in SLICE_NUMBERS:
            assert_number(actual[key], expected[key], f"{where}: {key}")


def test_slice_wilson_bounds_match_scipy(case):
    for actual, expected in zip(case.summary["slices"], case.expected.slice_rows()):
        where = f"slice {expected['column']}={expected['value']}"
        assert_number(actual["ci_low"], expected["ci_low"], f"{where}: ci_low")
        assert_number(actual["ci_high"], expected["ci_high"], f"{where}: ci_high")


def test_slice_test_and_flag_match_oracle(case):
    for actual, expected in zip(case.summary["slices"], case.expected.slice_rows()):
        for key in SIGNIFICANCE_LABELS:
            assert actual[key] == expected[key], f"slice {expected['column']}={expected['value']}: {key}"


def test_slice_counts_sum_to_total(case):
    totals = pd.DataFrame(case.summary["slices"]).groupby("column")["count"].sum()
    for column, total in totals.items():
        assert total == case.expected.total, column


def test_slice_label_distribution_matches_value_counts(case):
    for actual, expected in zip(case.summary["slices"], case.expected.slice_rows()):
        where = f"slice {expected['column']}={expected['value']}"
        assert actual["label_distribution"] == expected["label_distribution"], where


# ---------------------------------------------------------------- tags


def test_tag_names_in_order(case):
    assert [row["tag"] for row in case.summary["tags"]] == [*case.expected.tags, "(untagged)"]


def test_tag_numbers_match_pandas(case):
    for actual, expected in zip(case.summary["tags"], case.expected.tag_rows()):
        for key in TAG_NUMBERS:
            assert_number(actual[key], expected[key], f"tag {expected['tag']}: {key}")


def test_tag_test_and_flag_match_oracle(case):
    for actual, expected in zip(case.summary["tags"], case.expected.tag_rows()):
        for key in SIGNIFICANCE_LABELS:
            assert actual[key] == expected[key], f"tag {expected['tag']}: {key}"


def test_untagged_group_has_no_tag(case):
    untagged = case.summary["tags"][-1]
    no_tag = int((~case.expected.tag_flags.any(axis=1)).sum())
    assert untagged["count"] == no_tag


def test_default_what_if_matches_brute_force(case):
    block = case.summary["what_if"]
    expected = case.expected.what_if(block["targets"])
    for key, value in expected.items():
        assert_number(block[key], value, f"what_if.{key}")


# ---------------------------------------------------------------- undefined values and JSON


def _null_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _null_paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _null_paths(item, f"{path}[{index}]")]
    return [path] if value is None else []


def test_every_null_has_note(case):
    notes = case.summary["notes"]
    for path in _null_paths({k: v for k, v in case.summary.items() if k != "notes"}):
        assert path in notes, path


def test_summary_is_strict_json(case):
    json.dumps(case.summary, allow_nan=False)


# ---------------------------------------------------------------- targets of the sample data


SPEECH_TAG_ACCURACY = {"(untagged)": 0.94, "car_noise": 0.89, "people_noise": 0.87, "low_bandwidth": 0.70}
SPEECH_HLP = {"(untagged)": 0.95, "car_noise": 0.93, "people_noise": 0.89, "low_bandwidth": 0.70}


@pytest.mark.parametrize("tag", list(SPEECH_TAG_ACCURACY))
def test_speech_tag_accuracy_near_target(analysed, tag):
    rows = {row["tag"]: row for row in analysed("speech_commands").summary["tags"]}
    assert rows[tag]["accuracy"] == pytest.approx(SPEECH_TAG_ACCURACY[tag], abs=0.01)


@pytest.mark.parametrize("tag", list(SPEECH_HLP))
def test_speech_tag_hlp_from_file(analysed, tag):
    rows = {row["tag"]: row for row in analysed("speech_commands").summary["tags"]}
    assert rows[tag]["hlp"] == pytest.approx(SPEECH_HLP[tag], abs=1e-12)


def test_screening_accuracy_near_majority(analysed):
    summary = analysed("screening").summary
    assert summary["overall"]["accuracy"] == pytest.approx(0.98, abs=0.01)


def test_screening_majority_accuracy_is_98_percent(analysed):
    summary = analysed("screening").summary
    assert summary["imbalance"]["majority_class_accuracy"] == pytest.approx(0.98, abs=1e-12)


def test_screening_covid_recall_low(analysed):
    rows = {row["label"]: row for row in analysed("screening").summary["classes"]}
    assert rows["covid"]["recall"] < 0.1


def test_screening_warns_accuracy_near_majority(analysed):
    codes = {(w["code"], w["label"]) for w in analysed("screening").summary["imbalance"]["warnings"]}
    assert ("accuracy_near_majority", "negative") in codes


def test_screening_warns_rare_covid(analysed):
    codes = {(w["code"], w["label"]) for w in analysed("screening").summary["imbalance"]["warnings"]}
    assert ("rare_class", "covid") in codes


def test_cifar10_accuracy(analysed):
    assert analysed("cifar10").summary["overall"]["accuracy"] == pytest.approx(0.9294, abs=1e-12)


# ---------------------------------------------------------------- modes without classes


@pytest.mark.parametrize("key", CLASS_KEYS)
def test_score_mode_class_key_none(analysed, key):
    summary = analysed("diabetes_regression").summary
    assert summary[key] is None


@pytest.mark.parametrize("key", CLASS_KEYS)
def test_score_mode_class_key_noted(analysed, key):
    summary = analysed("diabetes_regression").summary
    assert "per_example_score" in summary["notes"][key]


@pytest.mark.parametrize("key", CLASS_AVERAGES)
def test_score_mode_class_average_noted(analysed, key):
    summary = analysed("diabetes_regression").summary
    assert summary["overall"][key] is None
    assert f"overall.{key}" in summary["notes"]


@pytest.fixture
def correct_flag_case(write_dataset, expected_from_files) -> Case:
    """A correct-flag dataset with text flags, a missing flag, two overlapping tags and HLP values."""
    predictions = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(12)],
            "correct": ["yes", "no", "true", "false", "1", "0", "Y", "n", "", "yes", "no", "yes"],
        }
    )
    metadata = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(12)],
            "device": ["phone", "phone", "web", None, "web", "phone", "web", "web", "phone", None, "phone", "web"],
            "tag_noisy": [True, True, False, False, True, False, True, False, False, True, True, False],
            "tag_short": [False, True, True, False, False, False, True, True, False, False, False, False],
        }
    )
    config = write_dataset(predictions, metadata, hlp={"tag_noisy": 0.9, "(untagged)": 0.95}, correct_column="correct")
    return Case(summarize(load_dataset(config)), expected_from_files(config))


def test_correct_flag_drops_missing_flag(correct_flag_case):
    assert correct_flag_case.summary["overall"]["examples"] == 11


def test_correct_flag_error_rate_matches_pandas(correct_flag_case):
    expected = correct_flag_case.expected.overall()["error_rate"]
    assert_number(correct_flag_case.summary["overall"]["error_rate"], expected, "overall.error_rate")


def test_correct_flag_slices_match_pandas(correct_flag_case):
    expected_rows = correct_flag_case.expected.slice_rows()
    assert [r["value"] for r in correct_flag_case.summary["slices"]] == [r["value"] for r in expected_rows]
    for actual, expected in zip(correct_flag_case.summary["slices"], expected_rows):
        for key in SLICE_NUMBERS:
            assert_number(actual[key], expected[key], f"slice {expected['value']}: {key}")


def test_correct_flag_tags_match_pandas(correct_flag_case):
    for actual, expected in zip(correct_flag_case.summary["tags"], correct_flag_case.expected.tag_rows()):
        for key in TAG_NUMBERS:
            assert_number(actual[key], expected[key], f"tag {expected['tag']}: {key}")


@pytest.mark.parametrize("key", CLASS_KEYS)
def test_correct_flag_class_key_noted(correct_flag_case, key):
    assert correct_flag_case.summary[key] is None
    assert "correct_flag" in correct_flag_case.summary["notes"][key]


# ---------------------------------------------------------------- limits of the rules


def _majority_case(correct_b: int) -> pd.DataFrame:
    """Return 300 examples: 149 labelled "a" (the majority), 100 "b" and 51 "c".

    Every "a" and the first ``correct_b`` "b" are predicted right, every other example as "a".
    """
    labels = ["a"] * 149 + ["b"] * 100 + ["c"] * 51
    predictions = ["a"] * 149 + ["b"] * correct_b + ["a"] * (100 - correct_b) + ["a"] * 51
    return pd.DataFrame({"id": range(300), "label": labels, "prediction": predictions})


def test_majority_warning_at_exact_margin(write_dataset):
    # Accuracy 152/300 is exactly 1 point above the majority-class accuracy 149/300.
    summary = summarize(load_dataset(write_dataset(_majority_case(3))))
    assert ("accuracy_near_majority", "a") in {(w["code"], w["label"]) for w in summary["imbalance"]["warnings"]}


def test_majority_warning_beyond_margin_absent(write_dataset):
    # Accuracy 153/300 is 1.33 points above the majority-class accuracy 149/300.
    summary = summarize(load_dataset(write_dataset(_majority_case(4))))
    assert "accuracy_near_majority" not in {w["code"] for w in summary["imbalance"]["warnings"]}


def test_rare_class_at_five_percent_not_rare(write_dataset):
    labels = ["a"] * 95 + ["b"] * 5
    config = write_dataset(pd.DataFrame({"id": range(100), "label": labels, "prediction": labels}))
    summary = summarize(load_dataset(config))
    assert "rare_class" not in {w["code"] for w in summary["imbalance"]["warnings"]}


def test_weighted_precision_without_labelled_predictions(write_dataset, expected_from_files):
    # Every predicted class is absent from the labels, so each defined precision has weight 0.
    config = write_dataset(pd.DataFrame({"id": range(3), "label": ["a"] * 3, "prediction": ["b"] * 3}))
    summary = summarize(load_dataset(config))
    expected = expected_from_files(config).overall()["weighted_precision"]
    assert expected == 0.0
    assert_number(summary["overall"]["weighted_precision"], expected, "overall.weighted_precision")


def test_classes_only_predicted_have_no_recall(write_dataset):
    config = write_dataset(pd.DataFrame({"id": range(4), "label": ["a", "a", "b", "b"], "prediction": ["a", "c", "b", "c"]}))
    summary = summarize(load_dataset(config))
    rows = {row["label"]: (index, row) for index, row in enumerate(summary["classes"])}
    index, row = rows["c"]
    assert row["recall"] is None
    assert f"classes[{index}].recall" in summary["notes"]


def test_classes_only_labelled_have_no_precision(write_dataset):
    config = write_dataset(pd.DataFrame({"id": range(4), "label": ["a", "c", "b", "c"], "prediction": ["a", "a", "b", "b"]}))
    summary = summarize(load_dataset(config))
    rows = {row["label"]: (index, row) for index, row in enumerate(summary["classes"])}
    index, row = rows["c"]
    assert row["precision"] is None
    assert f"classes[{index}].precision" in summary["notes"]


def test_numeric_classes_sort_numerically(write_dataset):
    classes = ["10", "9", "2", "1"]
    config = write_dataset(pd.DataFrame({"id": range(4), "label": classes, "prediction": classes}))
    summary = summarize(load_dataset(config))
    assert summary["confusion_matrix"]["classes"] == ["1", "2", "9", "10"]


def test_float_labels_match_integer_predictions(write_dataset):
    frame = pd.DataFrame({"id": range(3), "label": [1.0, 2.0, 3.0], "prediction": np.array([1, 2, 2])})
    config = write_dataset(frame, file_format="parquet")
    summary = summarize(load_dataset(config))
    assert summary["confusion_matrix"]["classes"] == ["1", "2", "3"]
    assert summary["overall"]["errors"] == 1


def test_close_bin_edges_stay_distinct(write_dataset):
    ids = list(range(25))
    predictions = pd.DataFrame({"id": ids, "label": ["a"] * 25, "prediction": ["a"] * 20 + ["b"] * 5})
    metadata = pd.DataFrame({"id": ids, "x": [1 + i * 1e-6 for i in ids]})

    summary = summarize(load_dataset(write_dataset(predictions, metadata)))
    rows = [row for row in summary["slices"] if row["column"] == "x"]

    assert len({row["value"] for row in rows}) == len(rows)
    assert sum(row["count"] for row in rows) == 25


def test_zero_bin_edge_has_no_sign(write_dataset):
    ids = list(range(30))
    predictions = pd.DataFrame({"id": ids, "label": ["a"] * 30, "prediction": ["a"] * 30})
    metadata = pd.DataFrame({"id": ids, "x": [-0.0] * 10 + [float(i) for i in range(1, 21)]})

    summary = summarize(load_dataset(write_dataset(predictions, metadata)))
    first = next(row for row in summary["slices"] if row["column"] == "x")

    assert first["value"].startswith("[0, ")


def test_accuracy_below_majority_says_below(write_dataset):
    predictions = pd.DataFrame({"id": [1, 2, 3], "label": ["a", "a", "a"], "prediction": ["a", "b", "b"]})

    summary = summarize(load_dataset(write_dataset(predictions)))
    warning = next(w for w in summary["imbalance"]["warnings"] if w["code"] == "accuracy_near_majority")

    assert "below the 100.0% of always answering 'a'" in warning["message"]
