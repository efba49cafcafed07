"""Score curves, calibration and threshold metrics of analysis.scores checked against scikit-learn.

Scores in these tests have at most four decimals, so the engine's score grid
is exact and every curve point must equal scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from analysis import ConfigError, InputError, load_config, load_dataset
from analysis.config import SCORE_KIND_POSITIVE_CLASS
from analysis.filters import parse_filter
from analysis.scores import (
    TARGET_CONFIDENCE,
    average_precision,
    calibration_bins,
    confidence_target,
    expected_calibration_error,
    one_vs_rest_target,
    positive_class_target,
    precision_recall_points,
    roc_auc,
    roc_points,
    score_grid,
    score_options,
    threshold_metrics,
)

THRESHOLDS = [0.0, 0.2, 0.35, 0.5, 0.77, 1.0]


def binary_frame(seed: int, n: int = 400, decimals: int = 4, positive_share: float = 0.3) -> pd.DataFrame:
    """Return predictions of a two-class task with prob_yes and prob_no columns and a confidence score."""
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < positive_share, "yes", "no")
    prob_yes = np.clip(rng.normal(np.where(labels == "yes", 0.65, 0.35), 0.2), 0, 1).round(decimals)
    prediction = np.where(prob_yes >= 0.5, "yes", "no")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": labels,
            "prediction": prediction,
            "score": np.maximum(prob_yes, (1 - prob_yes).round(decimals)),
            "prob_yes": prob_yes,
            "prob_no": (1 - prob_yes).round(decimals),
            "region": rng.choice(["north", "south", "east"], size=n),
        }
    )


def open_binary(write_dataset, frame: pd.DataFrame, **options):
    predictions = frame.drop(columns=["region"])
    metadata = frame[["id", "region"]]
    return load_dataset(write_dataset(predictions, metadata, positive_class="yes", **options))


def assert_curves_match(grid, truth: np.ndarray, scores: np.ndarray) -> None:
    """Check ROC, precision-recall, their areas and the calibration bins against scikit-learn."""
    fpr, tpr, thresholds = roc_curve(truth, scores, drop_intermediate=False)
    points = roc_points(grid)
    assert points["fpr"].to_numpy() == pytest.approx(fpr)
    assert points["tpr"].to_numpy() == pytest.approx(tpr)
    assert points["threshold"].to_numpy()[1:] == pytest.approx(thresholds[1:])
    assert roc_auc(grid) == pytest.approx(roc_auc_score(truth, scores))

    precision, recall, pr_thresholds = precision_recall_curve(truth, scores, drop_intermediate=False)
    curve = precision_recall_points(grid)
    # scikit-learn lists thresholds upwards and ends with the point (recall 0, precision 1).
    assert curve["precision"].to_numpy() == pytest.approx(precision[:-1][::-1])
    assert curve["recall"].to_numpy() == pytest.approx(recall[:-1][::-1])
    assert curve["threshold"].to_numpy() == pytest.approx(pr_thresholds[::-1])
    assert average_precision(grid) == pytest.approx(average_precision_score(truth, scores))

    observed, mean_score = calibration_curve(truth, scores, n_bins=10, strategy="uniform")
    bins = calibration_bins(grid)
    assert bins["observed"].to_numpy() == pytest.approx(observed)
    assert bins["mean_score"].to_numpy() == pytest.approx(mean_score)
    assert bins["count"].sum() == len(scores)


# Two-class tasks ------------------------------------------------------------------------------


def test_fixed_binary_scores_match_sklearn(write_dataset):
    frame = pd.DataFrame(
        {
            "id": range(10),
            "label": ["yes", "no", "yes", "no", "no", "yes", "no", "yes", "no", "no"],
            "prediction": ["yes", "no", "no", "yes", "no", "yes", "no", "no", "no", "yes"],
            "score": [0.9, 0.8, 0.6, 0.7, 0.95, 0.55, 0.6, 0.6, 0.9, 0.5],
            "prob_yes": [0.9, 0.2, 0.4, 0.7, 0.05, 0.55, 0.4, 0.4, 0.1, 0.5],
            "prob_no": [0.1, 0.8, 0.6, 0.3, 0.95, 0.45, 0.6, 0.6, 0.9, 0.5],
            "region": ["north"] * 5 + ["south"] * 5,
        }
    )
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    truth = (frame["label"] == "yes").to_numpy()

    grid = score_grid(dataset, target)

    assert target.expression == dataset.probabilities["yes"]
    assert grid.missing == 0
    assert grid.positives == 4
    assert grid.negatives == 6
    assert_curves_match(grid, truth, frame["prob_yes"].to_numpy())
    # 18 of the 24 (positive, negative) pairs are ranked right, counting a tie as half.
    assert roc_auc(grid) == pytest.approx(0.75)


@pytest.mark.parametrize("seed", range(6))
def test_generated_binary_scores_match_sklearn(write_dataset, seed):
    # Two decimals give many tied scores; four decimals give few.
    frame = binary_frame(seed, decimals=2 if seed % 2 else 4)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))

    grid = score_grid(dataset, target)

    assert_curves_match(grid, (frame["label"] == "yes").to_numpy(), frame["prob_yes"].to_numpy())


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_threshold_metrics_match_sklearn(write_dataset, threshold):
    frame = binary_frame(11)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    truth = (frame["label"] == "yes").to_numpy()
    predicted = frame["prob_yes"].to_numpy() >= threshold
    tn, fp, fn, tp = confusion_matrix(truth, predicted, labels=[False, True]).ravel()

    metrics = threshold_metrics(dataset, target, threshold)

    assert (metrics["tp"], metrics["fp"], metrics["fn"], metrics["tn"]) == (tp, fp, fn, tn)
    assert metrics["precision"] == pytest.approx(precision_score(truth, predicted, zero_division=np.nan), nan_ok=True)
    assert metrics["recall"] == pytest.approx(recall_score(truth, predicted, zero_division=np.nan), nan_ok=True)
    assert metrics["f1"] == pytest.approx(f1_score(truth, predicted, zero_division=np.nan), nan_ok=True)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert metrics["fpr"] == pytest.approx(fp / (fp + tn))


def test_threshold_half_reproduces_predictions(write_dataset):
    frame = binary_frame(3)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    tn, fp, fn, tp = confusion_matrix(frame["label"], frame["prediction"], labels=["no", "yes"]).ravel()

    metrics = threshold_metrics(dataset, target, 0.5)

    assert (metrics["tp"], metrics["fp"], metrics["fn"], metrics["tn"]) == (tp, fp, fn, tn)


def test_undefined_precision_is_nan(write_dataset):
    frame = binary_frame(5)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))

    metrics = threshold_metrics(dataset, target, 1.0 + 1e-9)

    assert metrics["tp"] + metrics["fp"] == 0
    assert np.isnan(metrics["precision"])
    assert metrics["recall"] == 0


def test_filter_restricts_curves_and_metrics(write_dataset):
    frame = binary_frame(7)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    example_filter = parse_filter(dataset, ["attr:region=north"], [])
    kept = frame[frame["region"] == "north"]
    truth = (kept["label"] == "yes").to_numpy()
    predicted = kept["prob_yes"].to_numpy() >= 0.35

    grid = score_grid(dataset, target, example_filter)
    metrics = threshold_metrics(dataset, target, 0.35, example_filter)

    assert grid.positives + grid.negatives == len(kept)
    assert_curves_match(grid, truth, kept["prob_yes"].to_numpy())
    assert metrics["tp"] == int((truth & predicted).sum())
    assert metrics["fp"] == int((~truth & predicted).sum())
    assert metrics["recall"] == pytest.approx(recall_score(truth, predicted))


def test_exclude_filter_restricts_curves(write_dataset):
    frame = binary_frame(8)
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    kept = frame[frame["region"] != "east"]

    grid = score_grid(dataset, target, parse_filter(dataset, [], ["attr:region=east"]))

    assert_curves_match(grid, (kept["label"] == "yes").to_numpy(), kept["prob_yes"].to_numpy())


def test_confidence_score_read_as_prediction_probability(write_dataset):
    frame = binary_frame(9).drop(columns=["prob_yes", "prob_no"])
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    # The default score_kind: the score is the probability of the predicted class.
    prob_yes = np.where(frame["prediction"] == "yes", frame["score"], 1 - frame["score"])

    grid = score_grid(dataset, target)

    assert target.reads_confidence
    assert grid.below_half == 0
    assert roc_auc(grid) == pytest.approx(roc_auc_score(frame["label"] == "yes", prob_yes))
    assert average_precision(grid) == pytest.approx(average_precision_score(frame["label"] == "yes", prob_yes))


def test_positive_class_score_kind(write_dataset):
    frame = binary_frame(10).drop(columns=["prob_no"]).rename(columns={"prob_yes": "risk"})
    frame = frame.drop(columns=["score"]).rename(columns={"risk": "score"})
    dataset = open_binary(write_dataset, frame, score_kind=SCORE_KIND_POSITIVE_CLASS)
    target = positive_class_target(dataset, score_options(dataset))

    grid = score_grid(dataset, target)

    assert target.expression == "score"
    assert grid.below_half == 0
    assert_curves_match(grid, (frame["label"] == "yes").to_numpy(), frame["score"].to_numpy())


def test_low_scores_flag_wrong_score_kind(write_dataset):
    frame = binary_frame(12).drop(columns=["prob_yes", "prob_no", "score"])
    frame["score"] = binary_frame(12)["prob_yes"]

    dataset = open_binary(write_dataset, frame)
    grid = score_grid(dataset, positive_class_target(dataset, score_options(dataset)))

    assert grid.below_half == int((frame["score"] < 0.5).sum())
    assert grid.below_half > 0


def test_negative_class_probability_used(write_dataset):
    frame = binary_frame(13).drop(columns=["prob_yes"])
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))

    grid = score_grid(dataset, target)

    assert "prob_no" in target.description
    assert roc_auc(grid) == pytest.approx(roc_auc_score(frame["label"] == "yes", 1 - frame["prob_no"]))


def test_positive_class_inferred_as_last(write_dataset):
    frame = pd.DataFrame({"id": range(4), "label": [0, 1, 1, 0], "prediction": [0, 1, 0, 0], "score": [0.9, 0.8, 0.6, 0.7]})

    options = score_options(load_dataset(write_dataset(frame)))

    assert options.binary
    assert options.positive_class == "1"
    assert options.positive_class_inferred


def test_missing_scores_left_out_and_counted(write_dataset):
    frame = binary_frame(14)
    frame["prob_yes"] = frame["prob_yes"].astype(object)
    frame.loc[[0, 5, 9], "prob_yes"] = None
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))
    kept = frame.drop(index=[0, 5, 9])

    grid = score_grid(dataset, target)

    assert grid.missing == 3
    assert_curves_match(grid, (kept["label"] == "yes").to_numpy(), kept["prob_yes"].astype(float).to_numpy())


def test_single_outcome_gives_undefined_auc(write_dataset):
    frame = binary_frame(15)
    south = frame[frame["region"] == "south"]
    negatives = south.index[south["label"] == "no"]
    # Keep only the negative examples of the south: label 'no' and region 'south'.
    frame.loc[frame.index.difference(negatives), "region"] = "elsewhere"
    dataset = open_binary(write_dataset, frame)
    target = positive_class_target(dataset, score_options(dataset))

    grid = score_grid(dataset, target, parse_filter(dataset, ["attr:region=south"], []))

    assert grid.negatives == len(negatives)
    assert grid.positives == 0
    assert np.isnan(roc_auc(grid))
    assert np.isnan(average_precision(grid))
    assert np.isnan(roc_points(grid)["tpr"]).all()
    # With no positive, every bin observes 0, so the calibration error is the mean score.
    south_scores = frame.loc[negatives, "prob_yes"]
    assert expected_calibration_error(calibration_bins(grid)) == pytest.approx(south_scores.mean())


# Bad input ------------------------------------------------------------------------------------


def test_out_of_range_scores_rejected(write_dataset):
    frame = binary_frame(16)
    frame.loc[3, "prob_yes"] = 1.7
    dataset = open_binary(write_dataset, frame)

    with pytest.raises(InputError) as raised:
        score_grid(dataset, positive_class_target(dataset, score_options(dataset)))

    assert raised.value.message == (
        "Scores from the column prob_yes range from 0 to 1.7, but the curves need probabilities between 0 and 1."
    )
    assert "softmax or sigmoid" in raised.value.hint


def test_bad_score_kind_rejected(tmp_path):
    (tmp_path / "dataset.toml").write_text(
        'schema = 1\n\n[files]\npredictions = "p.csv"\n\n[task]\nscore_kind = "probability"\n', encoding="utf-8"
    )

    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)

    assert raised.value.message == f"In {tmp_path / 'dataset.toml'}, task.score_kind = 'probability' is not allowed."
    assert '"confidence"' in raised.value.hint
    assert '"positive_class"' in raised.value.hint


def test_score_kind_must_be_text(tmp_path):
    (tmp_path / "dataset.toml").write_text('schema = 1\n\n[files]\npredictions = "p.csv"\n\n[task]\nscore_kind = 1\n', encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)

    assert "key 'task.score_kind' must be a string, got 1" in raised.value.message


def test_unknown_one_vs_rest_class_rejected(write_dataset):
    dataset = open_binary(write_dataset, binary_frame(17))

    with pytest.raises(InputError) as raised:
        one_vs_rest_target(dataset, "maybe")

    assert raised.value.message == "No probability column for class 'maybe'."
    assert raised.value.hint == "Add a column prob_maybe to the predictions file."


# More than two classes ----------------------------------------------------------------------------


def multiclass_frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    classes = np.array(["bird", "cat", "dog"])
    labels = rng.choice(classes, size=n)
    raw = rng.random((n, 3)) + 1.5 * (classes[None, :] == labels[:, None])
    probabilities = (raw / raw.sum(axis=1, keepdims=True)).round(4)
    frame = pd.DataFrame({"id": np.arange(n), "label": labels, "prediction": classes[probabilities.argmax(axis=1)]})
    frame["score"] = probabilities.max(axis=1)
    for index, name in enumerate(classes):
        frame[f"prob_{name}"] = probabilities[:, index]
    return frame


@pytest.mark.parametrize("label", ["bird", "cat", "dog"])
def test_one_vs_rest_matches_sklearn(write_dataset, label):
    frame = multiclass_frame(21)
    dataset = load_dataset(write_dataset(frame))

    grid = score_grid(dataset, one_vs_rest_target(dataset, label))

    assert_curves_match(grid, (frame["label"] == label).to_numpy(), frame[f"prob_{label}"].to_numpy())


def test_multiclass_options(write_dataset):
    options = score_options(load_dataset(write_dataset(multiclass_frame(22))))

    assert not options.binary
    assert options.probability_classes == ["bird", "cat", "dog"]
    assert options.confidence


def test_confidence_reliability_matches_sklearn(write_dataset):
    frame = multiclass_frame(23).drop(columns=["prob_bird", "prob_cat", "prob_dog"])
    dataset = load_dataset(write_dataset(frame))
    correct = (frame["label"] == frame["prediction"]).to_numpy()
    observed, mean_score = calibration_curve(correct, frame["score"], n_bins=10)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], frame["score"]), minlength=10)
    counts = counts[counts > 0]

    target = confidence_target(dataset)
    bins = calibration_bins(score_grid(dataset, target))

    assert target.kind == TARGET_CONFIDENCE
    assert score_options(dataset).probability_classes == []
    assert bins["observed"].to_numpy() == pytest.approx(observed)
    assert bins["mean_score"].to_numpy() == pytest.approx(mean_score)
    assert expected_calibration_error(bins) == pytest.approx(np.sum(counts * np.abs(observed - mean_score)) / len(frame))


def test_positive_class_kind_on_multiclass_noted(write_dataset):
    frame = multiclass_frame(24).drop(columns=["prob_bird", "prob_cat", "prob_dog"])

    options = score_options(load_dataset(write_dataset(frame, score_kind=SCORE_KIND_POSITIVE_CLASS)))

    assert not options.any
    assert options.notes == [
        'The dataset file sets score_kind = "positive_class", which fits two-class tasks only; '
        "this task has 3 classes, so the score is not used."
    ]


def test_prob_columns_in_examples_view(write_dataset):
    frame = multiclass_frame(25)
    dataset = load_dataset(write_dataset(frame))

    values = dataset.engine.query(f"SELECT id, {dataset.probabilities['cat']} AS cat FROM examples ORDER BY CAST(id AS INTEGER)")

    assert dataset.probabilities == {"bird": "pr0", "cat": "pr1", "dog": "pr2"}
    assert values["cat"].to_numpy() == pytest.approx(frame["prob_cat"].to_numpy())


def test_unanalysed_class_keeps_task_binary(write_dataset):
    # The only example of class c has no metadata row, so it is left out and the task stays two-class.
    predictions = pd.DataFrame(
        {"id": [1, 2, 3, 4, 5], "label": ["a", "b", "a", "b", "c"], "prediction": ["a", "b", "b", "b", "c"], "score": [0.9, 0.8, 0.6, 0.7, 0.9]}
    )
    metadata = pd.DataFrame({"id": [1, 2, 3, 4], "group": ["x", "y", "x", "y"]})
    dataset = load_dataset(write_dataset(predictions, metadata, positive_class="b"))

    options = score_options(dataset)

    assert options.binary
    assert options.positive_class == "b"
