"""Per-slice metrics, intervals, intersections and the heatmap, against scikit-learn, SciPy and pandas."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, fisher_exact, norm
from scipy.stats.contingency import expected_freq
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from analysis import InputError, load_dataset
from analysis.charts import intersection_heatmap
from analysis.filters import parse_filter
from analysis.slice_analysis import (
    analyse_slices,
    attribute_dimensions,
    intersection_table,
    resolve_dimension,
    to_json,
)
from analysis.slice_metrics import parse_metric

SAMPLES = 200
SEED = 11


def make_frames(seed: int, size: int = 400, classes=("no", "yes")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return predictions and metadata where group "c" is small and the model fails more on group "b"."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=size, p=[0.55, 0.4, 0.05])
    label = rng.choice(list(classes), size=size, p=[0.7] + [0.3 / (len(classes) - 1)] * (len(classes) - 1))
    flip = rng.random(size) < np.where(group == "b", 0.6, 0.15)
    other = rng.choice(list(classes), size=size)
    prediction = np.where(flip, other, label)
    predictions = pd.DataFrame({"id": np.arange(size), "label": label, "prediction": prediction})
    metadata = pd.DataFrame(
        {
            "id": np.arange(size),
            "group": group,
            "device": rng.choice(["phone", "laptop"], size=size),
            "tag_noisy": rng.random(size) < 0.3,
        }
    )
    return predictions, metadata


def open_dataset(write_dataset, seed: int, classes=("no", "yes"), **options):
    predictions, metadata = make_frames(seed, classes=classes)
    config = write_dataset(predictions, metadata, bootstrap_samples=SAMPLES, seed=SEED, **options)
    frame = predictions.merge(metadata, on="id")
    frame["label"] = frame["label"].astype(str)
    frame["prediction"] = frame["prediction"].astype(str)
    return load_dataset(config), frame


def by_group(dataset, metric: str, attribute: str = "group", example_filter=None) -> dict[str, dict]:
    analysis = analyse_slices(dataset, parse_metric(metric, dataset), [tuple(attribute_dimensions(dataset, [attribute]))], example_filter)
    return {row["predicates"][0]["value"]: row for row in to_json(analysis.slices)}


def assert_value(actual, expected, where: str) -> None:
    if isinstance(expected, float) and math.isnan(expected):
        assert actual is None, f"{where}: expected None, got {actual!r}"
    else:
        assert actual == pytest.approx(expected, abs=1e-12), where


def wilson(hits: int, support: int) -> tuple[float, float]:
    if support == 0:
        return math.nan, math.nan
    interval = binomtest(hits, support).proportion_ci(confidence_level=0.95, method="wilson")
    return interval.low, interval.high


def binary_rates(part: pd.DataFrame, positive: str, negative: str) -> tuple[float, float, int, int, int, int]:
    tn, fp, fn, tp = confusion_matrix(part["label"], part["prediction"], labels=[negative, positive]).ravel()
    fpr = fp / (fp + tn) if fp + tn else math.nan
    fnr = fn / (fn + tp) if fn + tp else math.nan
    return fpr, fnr, int(fp), int(fp + tn), int(fn), int(fn + tp)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_class_metrics_match_sklearn(write_dataset, seed):
    dataset, frame = open_dataset(write_dataset, seed, positive_class="yes")

    rows = by_group(dataset, "recall:yes")

    for value, part in frame.groupby("group"):
        metrics = rows[value]["metrics"]
        precision, recall, f1, _support = precision_recall_fscore_support(
            part["label"], part["prediction"], labels=["yes"], average=None, zero_division=np.nan
        )
        assert_value(metrics["precision"]["value"], float(precision[0]), f"{value}: precision")
        assert_value(metrics["recall"]["value"], float(recall[0]), f"{value}: recall")
        assert_value(metrics["f1"]["value"], float(f1[0]), f"{value}: f1")
        assert_value(rows[value]["value"], float(recall[0]), f"{value}: value")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            balanced = balanced_accuracy_score(part["label"], part["prediction"])
        assert_value(metrics["balanced_accuracy"]["value"], balanced, f"{value}: balanced accuracy")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_binary_rates_match_sklearn(write_dataset, seed):
    dataset, frame = open_dataset(write_dataset, seed, positive_class="yes")

    fpr_rows = by_group(dataset, "fpr")
    fnr_rows = by_group(dataset, "fnr")

    for value, part in frame.groupby("group"):
        fpr, fnr, fp, negatives, fn, positives = binary_rates(part, "yes", "no")
        assert_value(fpr_rows[value]["value"], fpr, f"{value}: fpr")
        assert fpr_rows[value]["support"] == negatives, value
        assert_value(fnr_rows[value]["value"], fnr, f"{value}: fnr")
        assert fnr_rows[value]["support"] == positives, value
        low, high = wilson(fp, negatives)
        assert_value(fpr_rows[value]["ci_low"], low, f"{value}: fpr ci_low")
        assert_value(fpr_rows[value]["ci_high"], high, f"{value}: fpr ci_high")
        low, high = wilson(fn, positives)
        assert_value(fnr_rows[value]["metrics"]["fnr"]["ci_low"], low, f"{value}: fnr ci_low")


def test_error_rate_significance_matches_scipy(write_dataset):
    dataset, frame = open_dataset(write_dataset, 5, positive_class="yes")
    errors = frame["label"] != frame["prediction"]

    rows = by_group(dataset, "error_rate")

    for value in ("a", "b", "c"):
        inside = frame["group"] == value
        table = np.array(
            [[errors[inside].sum(), (~errors[inside]).sum()], [errors[~inside].sum(), (~errors[~inside]).sum()]]
        )
        if (expected_freq(table) < 5).any():
            expected, test = fisher_exact(table).pvalue, "fisher_exact"
        else:
            pooled = errors.mean()
            spread = math.sqrt(pooled * (1 - pooled) * (1 / inside.sum() + 1 / (~inside).sum()))
            expected, test = 2 * norm.sf(abs((errors[inside].mean() - errors[~inside].mean()) / spread)), "z_test"
        assert rows[value]["test"] == test, value
        assert rows[value]["p_value"] == pytest.approx(expected, rel=1e-9), value


def test_group_b_flagged_and_c_too_small(write_dataset):
    dataset, _frame = open_dataset(write_dataset, 0, positive_class="yes")

    rows = by_group(dataset, "error_rate")

    assert rows["b"]["flagged"]
    assert not rows["a"]["flagged"]
    assert rows["c"]["below_min_support"]
    assert not rows["c"]["flagged"]
    assert rows["c"]["guidance"][0].startswith(f"With {rows['c']['support']} examples")
    assert rows["c"]["support_needed"] > rows["c"]["support"]
    assert rows["c"]["guidance"][1].startswith("A gap of 2.0 points needs a slice of at least")


def test_multiclass_f1_matches_sklearn(write_dataset):
    dataset, frame = open_dataset(write_dataset, 4, classes=("cat", "dog", "fox"))

    rows = by_group(dataset, "precision:fox")

    for value, part in frame.groupby("group"):
        expected = f1_score(part["label"], part["prediction"], labels=["fox"], average=None, zero_division=np.nan)[0]
        assert_value(rows[value]["metrics"]["f1"]["value"], float(expected), f"{value}: f1")
        assert "fpr" not in rows[value]["metrics"]


def row_draws(part: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Redo the engine's resampling: the same generator, seed and cell order (labels as rows)."""
    matrix = confusion_matrix(part["label"], part["prediction"], labels=classes)
    generator = np.random.default_rng(SEED)
    return generator.multinomial(len(part), matrix.ravel() / len(part), size=SAMPLES).reshape((SAMPLES, *matrix.shape))


def expand(matrix: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Turn a confusion matrix back into label and prediction arrays, one entry per example."""
    pairs = [(classes[i], classes[j]) for i in range(len(classes)) for j in range(len(classes))]
    counts = matrix.ravel()
    y_true = np.repeat([pair[0] for pair in pairs], counts)
    y_pred = np.repeat([pair[1] for pair in pairs], counts)
    return y_true, y_pred


def test_bootstrap_intervals_match_sklearn_per_draw(write_dataset):
    dataset, frame = open_dataset(write_dataset, 6, positive_class="yes")
    classes = ["no", "yes"]

    rows = by_group(dataset, "recall:yes")

    part = frame[frame["group"] == "b"]
    f1_values, balanced_values = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for draw in row_draws(part, classes):
            y_true, y_pred = expand(draw, classes)
            f1_values.append(f1_score(y_true, y_pred, labels=["yes"], average=None, zero_division=np.nan)[0])
            balanced_values.append(balanced_accuracy_score(y_true, y_pred))
    f1_values = np.array(f1_values)
    f1_values = f1_values[~np.isnan(f1_values)]
    metrics = rows["b"]["metrics"]
    assert [metrics["f1"]["ci_low"], metrics["f1"]["ci_high"]] == pytest.approx(list(np.quantile(f1_values, [0.025, 0.975])))
    assert [metrics["balanced_accuracy"]["ci_low"], metrics["balanced_accuracy"]["ci_high"]] == pytest.approx(
        list(np.quantile(balanced_values, [0.025, 0.975]))
    )


def test_bootstrap_repeats_with_seed(write_dataset):
    dataset, _frame = open_dataset(write_dataset, 7, positive_class="yes")

    first = by_group(dataset, "recall:yes")
    second = by_group(dataset, "recall:yes")

    assert first["a"]["metrics"]["f1"] == second["a"]["metrics"]["f1"]
    assert first["a"]["metrics"]["balanced_accuracy"] == second["a"]["metrics"]["balanced_accuracy"]


def test_undefined_metric_null_with_reason(write_dataset):
    predictions = pd.DataFrame({"id": range(6), "label": ["no", "no", "no", "yes", "yes", "no"], "prediction": ["no", "yes", "no", "yes", "no", "no"]})
    metadata = pd.DataFrame({"id": range(6), "group": ["a", "a", "a", "b", "b", "b"]})
    dataset = load_dataset(write_dataset(predictions, metadata, positive_class="yes"))

    rows = by_group(dataset, "fnr")

    assert rows["a"]["support"] == 0
    assert rows["a"]["value"] is None
    assert "n = 0" in rows["a"]["notes"]["value"]
    assert rows["a"]["p_value"] is None
    assert "n = 0" in rows["a"]["notes"]["p_value"]
    assert rows["a"]["metrics"]["recall"]["value"] is None
    assert rows["a"]["metrics"]["precision"]["value"] == 0.0
    assert "metrics.recall" in rows["a"]["notes"]
    assert rows["b"]["value"] == pytest.approx(0.5)


def test_filter_applies_to_counts(write_dataset):
    dataset, frame = open_dataset(write_dataset, 8, positive_class="yes")
    example_filter = parse_filter(dataset, [], ["tag:tag_noisy"])

    rows = by_group(dataset, "fpr", example_filter=example_filter)

    kept = frame[~frame["tag_noisy"]]
    for value, part in kept.groupby("group"):
        fpr, _fnr, _fp, negatives, _fn, _positives = binary_rates(part, "yes", "no")
        assert rows[value]["support"] == negatives, value
        assert_value(rows[value]["value"], fpr, f"{value}: fpr")


# ---------------------------------------------------------------- metric choice


@pytest.mark.parametrize(
    "metric, options, fragments",
    [
        ("accuracy", {"positive_class": "yes"}, ["Unknown metric 'accuracy'", "error_rate", "recall:CLASS"]),
        ("recall:bird", {"positive_class": "yes"}, ["'bird'", "not a class", "no, yes"]),
        ("recall:", {"positive_class": "yes"}, ["Unknown metric 'recall:'"]),
        ("fpr", {}, ["positive class", "[task]", "--positive-class"]),
        ("error_rate:yes", {}, ["Unknown metric 'error_rate:yes'"]),
    ],
)
def test_bad_metric_message(write_dataset, metric, options, fragments):
    dataset, _frame = open_dataset(write_dataset, 0, **options)

    with pytest.raises(InputError) as raised:
        parse_metric(metric, dataset)

    for fragment in fragments:
        assert fragment in str(raised.value), f"{fragment!r} not in {raised.value}"


def test_fpr_multiclass_rejected(write_dataset):
    dataset, _frame = open_dataset(write_dataset, 0, classes=("cat", "dog", "fox"), positive_class="cat")

    with pytest.raises(InputError, match="binary tasks, but this dataset has 3 classes"):
        parse_metric("fpr", dataset)


def test_class_metric_needs_classes(write_dataset):
    predictions = pd.DataFrame({"id": range(4), "correct": [True, False, True, True]})
    dataset = load_dataset(write_dataset(predictions, correct_column="correct"))

    with pytest.raises(InputError, match="correct_flag mode"):
        parse_metric("recall:yes", dataset)


# ---------------------------------------------------------------- intersections


@pytest.mark.parametrize("seed", [0, 9])
def test_intersection_matches_crosstab(write_dataset, seed):
    dataset, frame = open_dataset(write_dataset, seed, positive_class="yes")
    frame["error"] = frame["label"] != frame["prediction"]

    cells = intersection_table(dataset, parse_metric("error_rate", dataset), resolve_dimension(dataset, "group"), resolve_dimension(dataset, "device"))

    support = pd.crosstab(frame["group"], frame["device"])
    rates = pd.crosstab(frame["group"], frame["device"], values=frame["error"], aggfunc="mean")
    assert len(cells) == int((support > 0).to_numpy().sum())
    for cell in cells:
        group, device = cell["predicates"][0]["value"], cell["predicates"][1]["value"]
        assert cell["support"] == support.at[group, device], (group, device)
        assert cell["value"] == pytest.approx(rates.at[group, device]), (group, device)


def test_intersection_with_tag_matches_crosstab(write_dataset):
    dataset, frame = open_dataset(write_dataset, 3, positive_class="yes")
    positives = frame[frame["label"] == "yes"]
    missed = positives["prediction"] != "yes"

    cells = intersection_table(dataset, parse_metric("fnr", dataset), resolve_dimension(dataset, "group"), resolve_dimension(dataset, "tag:tag_noisy"))

    support = pd.crosstab(positives["group"], positives["tag_noisy"])
    rates = pd.crosstab(positives["group"], positives["tag_noisy"], values=missed, aggfunc="mean")
    for cell in cells:
        group, tagged = cell["predicates"][0]["value"], cell["predicates"][1]["value"]
        assert cell["predicates"][1]["tag"] == "tag_noisy"
        assert cell["support"] == support.at[group, tagged], (group, tagged)
        assert_value(cell["value"], float(rates.at[group, tagged]), f"{group}, {tagged}")


def test_unknown_dimension_message(write_dataset):
    dataset, _frame = open_dataset(write_dataset, 0)

    with pytest.raises(InputError, match="Unknown attribute 'colour'"):
        resolve_dimension(dataset, "colour")
    with pytest.raises(InputError, match="Unknown tag 'loud'"):
        resolve_dimension(dataset, "tag:loud")


def test_heatmap_cells_show_support(write_dataset):
    dataset, frame = open_dataset(write_dataset, 0, positive_class="yes")
    cells = intersection_table(dataset, parse_metric("error_rate", dataset), resolve_dimension(dataset, "group"), resolve_dimension(dataset, "device"))

    figure = intersection_heatmap(cells, "error_rate")

    heatmap = figure.data[0]
    support = pd.crosstab(frame["group"], frame["device"])
    for i, group in enumerate(heatmap.y):
        for j, device in enumerate(heatmap.x):
            assert f"n = {support.at[group, device]}" in heatmap.text[i][j], (group, device)
            assert heatmap.z[i][j] == pytest.approx(next(c["value"] for c in cells if [p["value"] for p in c["predicates"]] == [group, device]))


@pytest.mark.parametrize("seed", [12, 13])
def test_every_class_matches_sklearn(write_dataset, seed):
    classes = ["cat", "dog", "fox", "owl"]
    dataset, frame = open_dataset(write_dataset, seed, classes=tuple(classes))

    for name in classes:
        recall_rows = by_group(dataset, f"recall:{name}", attribute="device")
        precision_rows = by_group(dataset, f"precision:{name}", attribute="device")
        for value, part in frame.groupby("device"):
            precision, recall, f1, support = precision_recall_fscore_support(
                part["label"], part["prediction"], labels=[name], average=None, zero_division=np.nan
            )
            where = f"{name} on {value}"
            assert recall_rows[value]["support"] == support[0], where
            assert_value(recall_rows[value]["value"], float(recall[0]), f"{where}: recall")
            assert_value(precision_rows[value]["value"], float(precision[0]), f"{where}: precision")
            assert precision_rows[value]["support"] == int((part["prediction"] == name).sum()), where
            assert_value(recall_rows[value]["metrics"]["f1"]["value"], float(f1[0]), f"{where}: f1")
