"""Suspected label errors against cleanlab: thresholds, flags, label quality and ranking, on generated and real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cleanlab.count import compute_confident_joint, get_confident_thresholds
from cleanlab.rank import get_label_quality_scores

from analysis import load_dataset
from analysis.cli import main
from analysis.errors import InputError
from analysis.filters import parse_filter
from analysis.label_errors import (
    RANKING_COLUMNS,
    suspected_label_error_ids,
    suspected_label_errors,
)
from analysis.workspace import Workspace

REPORT_KEYS = {
    "dataset",
    "filter",
    "method",
    "score",
    "examples_ranked",
    "flagged",
    "left_out",
    "thresholds",
    "flagged_pairs",
    "notes",
    "limit",
    "offset",
    "flagged_only",
    "examples",
}
EXAMPLE_KEYS = set(RANKING_COLUMNS)


# ---------------------------------------------------------------- oracle


def cleanlab_expected(ids: list, labels: list[str], probabilities: np.ndarray, classes: list[str]) -> dict:
    """Return cleanlab's view of the examples: label quality, flagged ids, thresholds, confident joint and ranking.

    ``classes`` is in the order of the probability columns, which is also the
    order of ``probabilities``. ``ids`` have the type of the dataset's ``id``
    column, so that ties are ordered by id as the engine orders them.
    """
    position = {name: index for index, name in enumerate(classes)}
    label_positions = np.array([position[label] for label in labels])
    quality = get_label_quality_scores(label_positions, probabilities, method="normalized_margin")
    joint, off_diagonal = compute_confident_joint(label_positions, probabilities, calibrate=False, return_indices_of_off_diagonals=True)
    thresholds = get_confident_thresholds(label_positions, probabilities)
    order = sorted(range(len(ids)), key=lambda index: (quality[index], ids[index]))

    # The most probable other class, first column on ties, computed apart from cleanlab (which does not return it).
    others = probabilities.copy()
    others[np.arange(len(ids)), label_positions] = -np.inf
    suggested = others.argmax(axis=1)

    pairs = {
        (classes[row], classes[column]): int(joint[row, column])
        for row in range(len(classes))
        for column in range(len(classes))
        if row != column and joint[row, column] > 0
    }
    return {
        "quality": dict(zip(ids, quality)),
        "flagged": {ids[index] for index in off_diagonal},
        "thresholds": {name: float(thresholds[index]) for index, name in enumerate(classes) if (label_positions == index).any()},
        "pairs": pairs,
        "ranking": [ids[index] for index in order],
        "suggested": {ids[index]: classes[suggested[index]] for index in range(len(ids))},
        "label_probability": {ids[index]: probabilities[index, label_positions[index]] for index in range(len(ids))},
    }


def assert_matches_cleanlab(result, expected: dict) -> None:
    """Check one full-length result (every ranked example on one page) against :func:`cleanlab_expected`."""
    frame = result.examples
    assert result.ranked == len(expected["ranking"])
    assert list(frame["id"]) == expected["ranking"]
    for row in frame.itertuples(index=False):
        assert row.label_quality == pytest.approx(expected["quality"][row.id], abs=1e-9), row.id
        assert row.label_probability == pytest.approx(expected["label_probability"][row.id], abs=1e-12), row.id
        assert row.suggested_label == expected["suggested"][row.id], row.id
    assert set(frame.loc[frame["flagged"], "id"]) == expected["flagged"]
    assert result.flagged == len(expected["flagged"])
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))

    found = {name: value for name, value in result.thresholds.items() if value is not None}
    assert found.keys() == expected["thresholds"].keys()
    for name, value in expected["thresholds"].items():
        assert found[name] == pytest.approx(value, abs=1e-12), name
    pairs = {(row.label, row.confident_label): row.examples for row in result.flagged_pairs.itertuples(index=False)}
    assert pairs == expected["pairs"]


def planted_predictions(seed: int, classes: list[str], examples: int, integer_ids: bool) -> pd.DataFrame:
    """Dirichlet probabilities around a true class, with about 8% of the labels flipped to another class."""
    generator = np.random.default_rng(seed)
    count = len(classes)
    true_classes = generator.integers(0, count, examples)
    concentration = np.full((examples, count), 0.4)
    concentration[np.arange(examples), true_classes] += generator.uniform(1, 8, examples)
    probabilities = np.vstack([generator.dirichlet(row) for row in concentration])
    labels = true_classes.copy()
    flipped = generator.random(examples) < 0.08
    labels[flipped] = (true_classes[flipped] + generator.integers(1, count, flipped.sum())) % count

    ids = generator.permutation(examples) * 7 + 3 if integer_ids else [f"ex-{generator.integers(0, 10**6)}-{index}" for index in range(examples)]
    frame = pd.DataFrame(
        {
            "example_id": ids,
            "true_label": [classes[index] for index in labels],
            "pred_label": [classes[index] for index in probabilities.argmax(axis=1)],
        }
    )
    for index, name in enumerate(classes):
        frame[f"prob_{name}"] = probabilities[:, index]
    return frame


def planted_metadata(predictions: pd.DataFrame, seed: int) -> pd.DataFrame:
    generator = np.random.default_rng(seed + 1000)
    return pd.DataFrame(
        {
            "example_id": predictions["example_id"],
            "region": generator.choice(["north", "south", "east"], len(predictions)),
            "tag_reviewed": generator.random(len(predictions)) < 0.3,
        }
    )


def expected_for(predictions: pd.DataFrame, classes: list[str], id_type=str) -> dict:
    probabilities = predictions[[f"prob_{name}" for name in classes]].to_numpy(dtype=float)
    ids = [id_type(value) for value in predictions["example_id"]]
    return cleanlab_expected(ids, list(predictions["true_label"].astype(str)), probabilities, classes)


def rank_all(dataset, example_filter=None):
    return suspected_label_errors(dataset, example_filter, limit=10**7)


# ---------------------------------------------------------------- generated data


CLASS_SETS = {
    2: ["neg", "pos"],
    3: ["cat", "dog's", "a b"],
    5: ["0", "1", "2", "3", "4"],
    10: [f"class_{index}" for index in range(10)],
}


@pytest.mark.parametrize("count", sorted(CLASS_SETS))
@pytest.mark.parametrize("integer_ids", [True, False], ids=["integer ids", "text ids"])
@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_generated_matches_cleanlab(write_dataset, count, integer_ids, file_format):
    classes = CLASS_SETS[count]
    predictions = planted_predictions(count * 10 + integer_ids, classes, 1200, integer_ids)
    config = write_dataset(predictions, planted_metadata(predictions, count), file_format=file_format)
    dataset = load_dataset(config)

    # CSV ids are read as text; Parquet integer ids stay integers and sort as numbers.
    id_type = int if integer_ids and file_format == "parquet" else str
    assert_matches_cleanlab(rank_all(dataset), expected_for(predictions, classes, id_type))


def test_planted_flips_rank_first(write_dataset):
    classes = CLASS_SETS[10]
    generator = np.random.default_rng(7)
    examples = 2000
    true_classes = generator.integers(0, 10, examples)
    probabilities = np.full((examples, 10), 0.02)
    probabilities[np.arange(examples), true_classes] = 0.82
    labels = true_classes.copy()
    flipped = generator.choice(examples, 40, replace=False)
    labels[flipped] = (true_classes[flipped] + 1) % 10
    predictions = pd.DataFrame({"example_id": np.arange(examples), "true_label": [classes[i] for i in labels], "pred_label": [classes[i] for i in true_classes]})
    for index, name in enumerate(classes):
        predictions[f"prob_{name}"] = probabilities[:, index]
    dataset = load_dataset(write_dataset(predictions, file_format="parquet"))

    result = suspected_label_errors(dataset, limit=40)

    assert set(result.examples["id"]) == set(flipped.tolist())
    assert result.flagged == 40
    assert (result.examples["suggested_label"] == [classes[true_classes[i]] for i in result.examples["id"]]).all()


def test_fixed_edge_cases_match_cleanlab(write_dataset):
    # Thresholds: a 0.3, b 0.225, c 0.683, and no example is labelled d. The
    # rows reach each branch of the confident label. Example 10 has one
    # confident class that is not its most probable one. Example 1 has
    # several, and its most probable class is under its own threshold.
    # Examples 5 and 6 tie for the highest probability, and 6 and 9 have
    # equal label quality, ordered by id.
    classes = ["a", "b", "c", "d"]
    rows = [
        (1, "a", [0.30, 0.30, 0.40, 0.00]),
        (2, "a", [0.20, 0.50, 0.30, 0.00]),
        (3, "a", [0.40, 0.30, 0.30, 0.00]),
        (4, "b", [0.50, 0.25, 0.25, 0.00]),
        (5, "b", [0.35, 0.30, 0.35, 0.00]),
        (6, "b", [0.30, 0.35, 0.35, 0.00]),
        (7, "c", [0.05, 0.05, 0.90, 0.00]),
        (8, "c", [0.10, 0.00, 0.90, 0.00]),
        (9, "c", [0.25, 0.25, 0.25, 0.25]),
        (10, "b", [0.31, 0.00, 0.45, 0.24]),
    ]
    predictions = pd.DataFrame(
        {
            "example_id": [row[0] for row in rows],
            "true_label": [row[1] for row in rows],
            "pred_label": [classes[int(np.argmax(row[2]))] for row in rows],
        }
    )
    for index, name in enumerate(classes):
        predictions[f"prob_{name}"] = [row[2][index] for row in rows]
    dataset = load_dataset(write_dataset(predictions, file_format="parquet"))

    result = rank_all(dataset)

    assert_matches_cleanlab(result, expected_for(predictions, classes, int))
    assert result.thresholds["a"] == pytest.approx(0.3)
    assert result.thresholds["d"] is None
    assert result.notes == ["No ranked example is labelled 'd', so these classes have no threshold and no example is confidently in them."]
    by_id = result.examples.set_index("id")
    assert by_id.loc[1, "confident_label"] == "c"
    assert by_id.loc[5, "confident_label"] == "a"
    assert by_id.loc[6, "confident_label"] == "b"
    assert not by_id.loc[6, "flagged"]
    assert by_id.loc[10, "confident_label"] == "a"
    assert by_id.loc[10, "suggested_label"] == "c"
    assert by_id.loc[9, "suggested_label"] == "a"
    assert by_id.loc[3, "label_quality"] == pytest.approx((0.40 - 0.30 + 1) / 2)
    assert list(result.examples["id"]).index(6) + 1 == list(result.examples["id"]).index(9)


def test_margin_under_threshold_counts(write_dataset):
    # The threshold of x is 0.5; example 4 has 0.4999995 for x, within the 1e-6 margin.
    predictions = pd.DataFrame(
        {
            "example_id": [1, 2, 3, 4],
            "true_label": ["x", "x", "y", "y"],
            "pred_label": ["x", "y", "y", "y"],
            "prob_x": [0.6, 0.4, 0.1, 0.4999995],
            "prob_y": [0.4, 0.6, 0.9, 0.5000005],
        }
    )
    dataset = load_dataset(write_dataset(predictions, file_format="parquet"))

    result = rank_all(dataset)

    assert_matches_cleanlab(result, expected_for(predictions, ["x", "y"], int))
    by_id = result.examples.set_index("id")
    assert by_id.loc[4, "flagged"]
    assert by_id.loc[4, "confident_label"] == "x"


# ---------------------------------------------------------------- pages, ids and the global filter


def test_pages_follow_full_ranking(write_dataset):
    predictions = planted_predictions(3, CLASS_SETS[5], 500, True)
    dataset = load_dataset(write_dataset(predictions, file_format="parquet"))
    full = rank_all(dataset).examples

    page = suspected_label_errors(dataset, limit=25, offset=50)
    assert list(page.examples["id"]) == list(full["id"][50:75])
    assert list(page.examples["rank"]) == list(range(51, 76))
    assert page.ranked == len(full)

    assert suspected_label_error_ids(dataset, 30) == list(full["id"][:30])
    assert suspected_label_error_ids(dataset, 30, flagged_only=True) == list(full.loc[full["flagged"], "id"][:30])
    flagged_page = suspected_label_errors(dataset, limit=10, offset=5, flagged_only=True)
    assert list(flagged_page.examples["id"]) == list(full.loc[full["flagged"], "id"][5:15])
    assert flagged_page.total == flagged_page.flagged
    assert flagged_page.examples["flagged"].all()


def test_ids_keep_integer_type(write_dataset):
    predictions = planted_predictions(4, CLASS_SETS[2], 200, True)
    dataset = load_dataset(write_dataset(predictions, file_format="parquet"))

    ids = suspected_label_error_ids(dataset, 5)

    assert all(type(value) is int for value in ids)


def test_totals_only_with_zero_limit(write_dataset):
    predictions = planted_predictions(5, CLASS_SETS[3], 300, False)
    dataset = load_dataset(write_dataset(predictions))

    result = suspected_label_errors(dataset, limit=0)

    assert result.examples.empty
    assert list(result.examples.columns) == list(RANKING_COLUMNS)
    assert result.ranked == 300
    assert result.flagged == len(expected_for(predictions, CLASS_SETS[3])["flagged"])


@pytest.mark.parametrize(
    ("keep", "exclude"),
    [(["attr:region=north"], []), ([], ["tag:tag_reviewed"]), (["attr:region=south", "attr:region=east"], ["tag:tag_reviewed"])],
)
def test_filter_matches_cleanlab_on_subset(write_dataset, keep, exclude):
    classes = CLASS_SETS[5]
    predictions = planted_predictions(11, classes, 1500, False)
    metadata = planted_metadata(predictions, 11)
    dataset = load_dataset(write_dataset(predictions, metadata))
    example_filter = parse_filter(dataset, keep, exclude)

    kept = pd.Series(True, index=metadata.index)
    if keep:
        kept &= metadata["region"].isin([condition.split("=")[1] for condition in keep])
    if exclude:
        kept &= ~metadata["tag_reviewed"]
    subset = predictions[kept.to_numpy()].reset_index(drop=True)

    result = rank_all(dataset, example_filter)

    assert_matches_cleanlab(result, expected_for(subset, classes))
    # Thresholds come from the subset, so they differ from those over every example.
    assert result.thresholds != rank_all(dataset).thresholds


# ---------------------------------------------------------------- real data


def test_digits_matches_cleanlab(dataset_config):
    config = dataset_config("digits")
    predictions = pd.read_csv(config.predictions, dtype={"example_id": str, "true_label": str})
    classes = [str(index) for index in range(10)]

    result = rank_all(load_dataset(config))

    assert_matches_cleanlab(result, expected_for(predictions, classes))


def test_cifar10_matches_cleanlab(dataset_config):
    config = dataset_config("cifar10")
    predictions = pd.read_csv(config.predictions, dtype={"example_id": str})
    classes = [column.removeprefix("prob_") for column in predictions.columns if column.startswith("prob_")]

    result = rank_all(load_dataset(config))

    assert_matches_cleanlab(result, expected_for(predictions, classes))


def test_cifar10_finds_confirmed_errors(dataset_config):
    config = dataset_config("cifar10")
    metadata = pd.read_csv(config.metadata, dtype={"example_id": str})
    confirmed = set(metadata.loc[metadata["tag_label_error_confirmed"], "example_id"])
    dataset = load_dataset(config)

    top = suspected_label_error_ids(dataset, 300)
    flagged = suspected_label_error_ids(dataset, 10_000, flagged_only=True)

    assert len(confirmed) == 22
    assert len(set(top) & confirmed) == 22
    assert len(flagged) == 244
    assert len(set(flagged) & confirmed) == 19


# ---------------------------------------------------------------- bad input


def test_not_classification_rejected(dataset_config):
    dataset = load_dataset(dataset_config("diabetes_regression"))

    with pytest.raises(InputError) as raised:
        suspected_label_errors(dataset)

    assert "per_example_score mode" in raised.value.message
    assert "prob_<class>" in raised.value.hint


def test_no_probability_columns_rejected(dataset_config):
    dataset = load_dataset(dataset_config("speech_commands"))

    with pytest.raises(InputError) as raised:
        suspected_label_error_ids(dataset, 10)

    assert raised.value.message == "The predictions file has no per-class probability columns, which suspected label errors need."
    assert "prob_cat" in raised.value.hint


def test_missing_class_columns_named(write_dataset):
    predictions = planted_predictions(6, CLASS_SETS[5], 100, False).drop(columns=["prob_2", "prob_4"])
    dataset = load_dataset(write_dataset(predictions))

    with pytest.raises(InputError) as raised:
        suspected_label_errors(dataset)

    assert raised.value.message == "The predictions file has no probability column for 2 classes: '2', '4'."
    assert "Columns were found for: '0', '1', '3'." in raised.value.hint
    assert "prob_<class>" in raised.value.hint


def test_single_class_rejected(write_dataset):
    predictions = pd.DataFrame({"example_id": [1, 2, 3], "true_label": ["a"] * 3, "pred_label": ["a"] * 3, "prob_a": [0.9, 0.8, 1.0]})
    dataset = load_dataset(write_dataset(predictions))

    with pytest.raises(InputError) as raised:
        suspected_label_errors(dataset)

    assert "at least two classes" in raised.value.message


def test_invalid_probabilities_left_out_with_note(write_dataset):
    classes = CLASS_SETS[3]
    predictions = planted_predictions(8, classes, 400, False)
    predictions = predictions.astype({"prob_cat": object})
    predictions.loc[[3, 10, 11], "prob_cat"] = ["", "n/a", "nan"]
    predictions.loc[[20], "prob_dog's"] = None
    predictions.loc[[30, 31], "prob_a b"] = [1.5, -0.2]
    dataset = load_dataset(write_dataset(predictions))

    result = rank_all(dataset)

    assert result.missing_probabilities == 4
    assert result.out_of_range_probabilities == 2
    assert result.notes[0] == "4 examples are left out of the ranking because one of their probabilities is missing or not a number."
    assert result.notes[1] == "2 examples are left out of the ranking because one of their probabilities is outside 0 to 1."
    valid = predictions.drop(index=[3, 10, 11, 20, 30, 31]).astype({"prob_cat": float}).reset_index(drop=True)
    assert_matches_cleanlab(result, expected_for(valid, classes))


def test_no_valid_probabilities_rejected(write_dataset):
    predictions = planted_predictions(9, CLASS_SETS[2], 50, False)
    # Percentages: the two columns of a row sum to 100, so one of them is above 1.
    predictions[["prob_neg", "prob_pos"]] *= 100
    predictions.loc[0, "prob_neg"] = None
    dataset = load_dataset(write_dataset(predictions))

    with pytest.raises(InputError) as raised:
        suspected_label_errors(dataset)

    assert raised.value.message == (
        "None of the 50 examples has a valid probability for every class: 1 with a missing or non-numeric value, 49 with a value outside 0 to 1."
    )
    assert "not logits or percentages" in raised.value.hint


def test_filter_keeping_nothing_rejected(write_dataset):
    predictions = planted_predictions(10, CLASS_SETS[2], 60, False)
    metadata = planted_metadata(predictions, 10)
    dataset = load_dataset(write_dataset(predictions, metadata))
    example_filter = parse_filter(dataset, ["attr:region=north"], ["attr:region=north"])

    with pytest.raises(InputError) as raised:
        suspected_label_errors(dataset, example_filter)

    assert raised.value.message.startswith("The filter keeps no example")


def test_negative_page_rejected(write_dataset):
    dataset = load_dataset(write_dataset(planted_predictions(12, CLASS_SETS[2], 20, False)))

    with pytest.raises(ValueError, match="at least 0"):
        suspected_label_errors(dataset, offset=-1)


# ---------------------------------------------------------------- command line


def test_cli_json_keys_and_numbers(capsys, dataset_config):
    config = dataset_config("digits")

    code = main(["label-errors", "--config", str(config.source), "--top", "7", "--format", "json"])
    captured = capsys.readouterr()

    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert set(report) == REPORT_KEYS
    assert len(report["examples"]) == 7
    assert all(set(row) == EXAMPLE_KEYS for row in report["examples"])
    expected = rank_all(load_dataset(config))
    assert report["examples_ranked"] == expected.ranked
    assert report["flagged"] == expected.flagged
    assert [row["id"] for row in report["examples"]] == list(expected.examples["id"][:7])
    assert report["examples"][0]["label_quality"] == pytest.approx(expected.examples["label_quality"][0], abs=1e-12)


def test_cli_filter_options(capsys, write_dataset):
    predictions = planted_predictions(13, CLASS_SETS[3], 600, False)
    config = write_dataset(predictions, planted_metadata(predictions, 13))
    folder = config.predictions.parent
    (folder / "dataset.toml").write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n', encoding="utf-8"
    )
    dataset = load_dataset(config)
    expected = suspected_label_errors(dataset, parse_filter(dataset, [], ["tag:tag_reviewed"]), limit=5, flagged_only=True)

    code = main(["label-errors", "--config", str(folder), "--exclude", "tag:tag_reviewed", "--flagged-only", "--top", "5", "--format", "json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert report["filter"]["exclude"] == ["tag:tag_reviewed"]
    assert report["examples_ranked"] == expected.ranked
    assert [row["id"] for row in report["examples"]] == list(expected.examples["id"])
    assert all(row["flagged"] for row in report["examples"])


def test_cli_workspace_tags_filter(capsys, write_dataset, tmp_path):
    # Tag the ten most suspicious examples in the workspace, as one-click tagging
    # does, then rank the rest: cleanlab on the remaining rows must agree.
    classes = CLASS_SETS[3]
    predictions = planted_predictions(14, classes, 500, False)
    config = write_dataset(predictions, planted_metadata(predictions, 14))
    folder = config.predictions.parent
    (folder / "dataset.toml").write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n', encoding="utf-8"
    )
    dataset = load_dataset(config)
    checked = suspected_label_error_ids(dataset, 10)
    workspace = tmp_path / "workspace"
    Workspace(workspace).set_tag(folder.name, "label_checked", checked, True, [tag.name for tag in dataset.tags])

    code = main(
        ["label-errors", "--config", str(folder), "--workspace", str(workspace), "--exclude", "tag:label_checked", "--top", "1000", "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert report["examples_ranked"] == 490
    assert not set(checked) & {row["id"] for row in report["examples"]}
    rest = predictions[~predictions["example_id"].isin(checked)].reset_index(drop=True)
    expected = expected_for(rest, classes)
    assert [row["id"] for row in report["examples"]] == expected["ranking"]
    assert {row["id"] for row in report["examples"] if row["flagged"]} == expected["flagged"]


def test_cli_text_output(capsys, dataset_config):
    config = dataset_config("digits")

    code = main(["label-errors", "--config", str(config.source), "--top", "3"])
    output = capsys.readouterr().out

    assert code == 0
    assert "Suspected label errors by confident learning: 52 of 1797 ranked examples flagged." in output
    assert "Most common flagged pairs (given label -> confident label):" in output
    assert "  1 -> 8: 17 examples" in output
    assert "... 1794 more; raise --top to see them" in output


def test_cli_bad_input_exit_code(capsys, dataset_config):
    config = dataset_config("speech_commands")

    code = main(["label-errors", "--config", str(config.source)])
    error = capsys.readouterr().err

    assert code == 2
    assert error.count("\n") == 1
    assert error.startswith("error: The predictions file has no per-class probability columns")


def test_cli_bad_top_exit_code(capsys, dataset_config):
    config = dataset_config("digits")

    with pytest.raises(SystemExit) as raised:
        main(["label-errors", "--config", str(config.source), "--top", "0"])

    assert raised.value.code == 2
    assert "expected a whole number of at least 1" in capsys.readouterr().err
