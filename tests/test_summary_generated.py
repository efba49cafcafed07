"""Summaries of generated datasets against scikit-learn and pandas, with hypothesis.

Each example writes a small dataset (CSV or Parquet) with 1-6 classes, some
only labelled and some only predicted, attributes with missing values and
boolean tags, then compares every summary number with the oracle in
oracle.py. Limits such as ``max_categories`` are sometimes lowered, so that
small datasets also reach the quantile and top-values rules.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import load_dataset, summarize
from analysis.engine import Engine
from summary_keys import CLASS_AVERAGES, CLASS_KEYS, SLICE_NUMBERS, TAG_NUMBERS

# Numeric class texts sort as numbers, 9 before 10. Any other text makes the order alphabetical.
NUMERIC_CLASSES = ("1", "2", "10", "9", "0", "11")
TEXT_CLASSES = ("cat", "dog", "Ant", "bee", "10", "émeu")
COLOURS = ("red", "green", "blue")
CODES = tuple(f"c{i:02d}" for i in range(70))

# Each example writes files and opens them in DuckDB (about 0.5 s), so the counts stay small.
GENERATED = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OVERALL_NUMBERS = (
    "examples",
    "errors",
    "accuracy",
    "error_rate",
    *CLASS_AVERAGES,
)


def assert_number(actual, expected, where: str) -> None:
    """Check one summary number: None where the expected value is undefined (NaN), else equal within 1e-12."""
    if isinstance(expected, float) and math.isnan(expected):
        assert actual is None, f"{where}: expected None (undefined), got {actual!r}"
    else:
        assert actual == pytest.approx(expected, abs=1e-12), where


def null_paths(value: Any, path: str = "") -> list[str]:
    """Return the paths (``classes[2].precision``) of every None in a summary."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in null_paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in null_paths(item, f"{path}[{index}]")]
    return [path] if value is None else []


# ---------------------------------------------------------------- strategies


def _column(draw, n: int, values: st.SearchStrategy, missing: bool = True) -> list:
    element = st.one_of(st.none(), values) if missing else values
    return draw(st.lists(element, min_size=n, max_size=n))


@st.composite
def metadata_and_options(draw, ids: list[str]) -> tuple[pd.DataFrame, dict]:
    """Return a metadata frame for ``ids`` (plus a few unmatched rows) and the DatasetConfig options that go with it."""
    ids = ids + [f"unmatched{i}" for i in range(draw(st.integers(0, 3)))]
    n = len(ids)

    # NOTE: sizes are integers in [1, 99] and weights have one decimal in [0.1, 9.9].
    # Their quantile edges print the same at 4 significant digits in DuckDB and pandas.
    # Edges that should be 0 can come out as 1e-15 either side (printed "-1.417e-15"),
    # and edges closer than 4 digits share one bin label and merge their slices.
    frame = pd.DataFrame(
        {
            "id": ids,
            "colour": _column(draw, n, st.sampled_from(COLOURS)),
            "level": pd.array(_column(draw, n, st.integers(0, 3)), dtype="Int64"),
            "size": pd.array(_column(draw, n, st.integers(1, 99)), dtype="Int64"),
            "weight": pd.array(_column(draw, n, st.integers(1, 99).map(lambda i: i / 10)), dtype="Float64"),
            "code": _column(draw, n, st.sampled_from(CODES)),
            "name": [f"n{i}" for i in range(n)],
        }
    )

    tag_count = draw(st.integers(0, 3))
    for index in range(tag_count):
        frame[f"tag_{index}"] = _column(draw, n, st.booleans())

    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options.update(
            max_categories=draw(st.integers(2, 8)),
            top_categories=draw(st.integers(1, 5)),
            numeric_bins=draw(st.integers(2, 6)),
            max_numeric_values=draw(st.integers(2, 10)),
        )
    if draw(st.booleans()):
        options["attributes"] = draw(st.lists(st.sampled_from(["colour", "level", "size", "weight", "code", "name"]), min_size=1, unique=True))

    hlp_names = [f"tag_{i}" for i in range(tag_count)] + ["(untagged)"]
    hlp = {name: draw(st.integers(0, 100)) / 100 for name in hlp_names if draw(st.booleans())}
    if hlp:
        options["hlp"] = hlp
    options["confidence_level"] = draw(st.sampled_from([0.9, 0.95, 0.99]))
    options["file_format"] = draw(st.sampled_from(["csv", "parquet"]))
    return frame, options


@st.composite
def classification_datasets(draw, max_size: int = 60) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return (predictions, metadata, options) of a classification dataset, some rows lacking a label or prediction."""
    n = draw(st.integers(1, max_size))
    pool = draw(st.sampled_from([NUMERIC_CLASSES, TEXT_CLASSES]))
    classes = pool[: draw(st.integers(1, 6))]
    labelled = draw(st.lists(st.sampled_from(classes), min_size=1, unique=True))
    predicted = draw(st.lists(st.sampled_from(classes), min_size=1, unique=True))
    labels = draw(st.lists(st.sampled_from(labelled), min_size=n, max_size=n))
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    guesses = draw(st.lists(st.sampled_from(predicted), min_size=n, max_size=n))
    predictions = [label if right and label in predicted else guess for label, right, guess in zip(labels, keep, guesses)]
    # The first row always keeps both values, so at least one example is analysed.
    for index in draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=3)):
        if index < n:
            if draw(st.booleans()):
                labels[index] = None
            else:
                predictions[index] = None
    ids = [f"e{i}" for i in range(n)]
    metadata, options = draw(metadata_and_options(ids))
    return pd.DataFrame({"id": ids, "label": labels, "prediction": predictions}), metadata, options


@st.composite
def score_datasets(draw) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return a per-example score dataset: scores 0-10 in steps of 0.1, some missing, and a threshold."""
    n = draw(st.integers(1, 60))
    scores = _column(draw, n, st.integers(0, 100).map(lambda i: i / 10))
    scores[0] = draw(st.integers(0, 100)) / 10
    ids = [f"e{i}" for i in range(n)]
    metadata, options = draw(metadata_and_options(ids))
    options.update(
        score_column="score",
        error_threshold=draw(st.integers(0, 100)) / 10,
        error_when=draw(st.sampled_from(["above", "below"])),
    )
    return pd.DataFrame({"id": ids, "score": scores}), metadata, options


@st.composite
def correct_flag_datasets(draw) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return a correct-flag dataset with flags spelled in several ways, some missing."""
    n = draw(st.integers(1, 60))
    spelling = draw(st.sampled_from([("true", "false"), ("yes", "no"), ("1", "0"), ("True", "no")]))
    flags = [spelling[0] if right else spelling[1] for right in draw(st.lists(st.booleans(), min_size=n, max_size=n))]
    for index in draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=3)):
        if index < n:
            flags[index] = None
    ids = [f"e{i}" for i in range(n)]
    metadata, options = draw(metadata_and_options(ids))
    options["correct_column"] = "correct"
    return pd.DataFrame({"id": ids, "correct": flags}), metadata, options


def analyse(generated, write_generated_dataset, expected_from_files):
    """Write a generated dataset and return its summary and its oracle."""
    predictions, metadata, options = generated
    config = write_generated_dataset(predictions, metadata, **options)
    summary = summarize(load_dataset(config, Engine(threads=1)))
    return summary, expected_from_files(config)


# ---------------------------------------------------------------- classification


@GENERATED
@given(generated=classification_datasets())
def test_overall_matches_sklearn(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    numbers = expected.overall()
    for key in OVERALL_NUMBERS:
        assert_number(summary["overall"][key], numbers[key], f"overall.{key}")


@GENERATED
@given(generated=classification_datasets())
def test_class_table_matches_sklearn(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    assert summary["confusion_matrix"]["classes"] == expected.class_order()
    assert summary["confusion_matrix"]["counts"] == expected.confusion()
    assert summary["confused_pairs"] == expected.confused_pairs(10)
    for index, row in enumerate(expected.class_rows()):
        assert summary["classes"][index]["label"] == row["label"]
        for key in ("support", "predicted", "precision", "recall", "f1"):
            assert_number(summary["classes"][index][key], row[key], f"classes[{index}] ({row['label']}).{key}")


@GENERATED
@given(generated=classification_datasets())
def test_imbalance_matches_pandas(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    actual = summary["imbalance"]
    numbers = expected.imbalance()
    assert actual["majority_class"] == numbers["majority_class"]
    assert sorted((w["code"], w["label"]) for w in actual["warnings"]) == numbers["warnings"]
    assert set(actual["class_shares"]) == set(numbers["class_shares"])
    for name, share in numbers["class_shares"].items():
        assert_number(actual["class_shares"][name], share, f"imbalance.class_shares[{name}]")
    for key in ("majority_share", "majority_class_accuracy", "imbalance_ratio"):
        assert_number(actual[key], numbers[key], f"imbalance.{key}")


@settings(GENERATED, max_examples=30)
@given(generated=classification_datasets(max_size=120))
def test_slices_match_pandas(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    expected_rows = expected.slice_rows()
    assert [(r["column"], r["value"]) for r in summary["slices"]] == [(r["column"], r["value"]) for r in expected_rows]
    for actual, row in zip(summary["slices"], expected_rows):
        where = f"slice {row['column']}={row['value']}"
        assert actual["label_distribution"] == row["label_distribution"], where
        for key in SLICE_NUMBERS:
            assert_number(actual[key], row[key], f"{where}: {key}")


@GENERATED
@given(generated=classification_datasets())
def test_tags_match_pandas(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    assert [row["tag"] for row in summary["tags"]] == [*expected.tags, "(untagged)"]
    for actual, row in zip(summary["tags"], expected.tag_rows()):
        for key in TAG_NUMBERS:
            assert_number(actual[key], row[key], f"tag {row['tag']}: {key}")


@GENERATED
@given(generated=classification_datasets())
def test_undefined_numbers_are_noted(generated, write_generated_dataset, expected_from_files):
    summary, _expected = analyse(generated, write_generated_dataset, expected_from_files)
    json.dumps(summary, allow_nan=False)
    for path in null_paths({key: value for key, value in summary.items() if key != "notes"}):
        assert path in summary["notes"], path


# ---------------------------------------------------------------- modes without classes


@GENERATED
@given(generated=score_datasets())
def test_score_mode_matches_pandas(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    assert summary["mode"] == "per_example_score"
    _assert_outcome_numbers(summary, expected)


@GENERATED
@given(generated=correct_flag_datasets())
def test_correct_flag_mode_matches_pandas(generated, write_generated_dataset, expected_from_files):
    summary, expected = analyse(generated, write_generated_dataset, expected_from_files)
    assert summary["mode"] == "correct_flag"
    _assert_outcome_numbers(summary, expected)


def _assert_outcome_numbers(summary, expected) -> None:
    """Check what a mode without classes reports: error rate, slices, tags, and class keys left undefined."""
    overall = expected.overall()
    for key in ("examples", "errors", "accuracy", "error_rate"):
        assert_number(summary["overall"][key], overall[key], f"overall.{key}")
    for key in CLASS_KEYS:
        assert summary[key] is None, key
        assert key in summary["notes"], key
    slice_rows = expected.slice_rows()
    assert [(r["column"], r["value"]) for r in summary["slices"]] == [(r["column"], r["value"]) for r in slice_rows]
    for actual, row in zip(summary["slices"], slice_rows):
        assert actual["label_distribution"] == {}
        for key in SLICE_NUMBERS:
            assert_number(actual[key], row[key], f"slice {row['column']}={row['value']}: {key}")
    for actual, row in zip(summary["tags"], expected.tag_rows()):
        for key in TAG_NUMBERS:
            assert_number(actual[key], row[key], f"tag {row['tag']}: {key}")
    for path in null_paths({key: value for key, value in summary.items() if key != "notes"}):
        assert path in summary["notes"], path
