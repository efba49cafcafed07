"""Figures of the overview's class and score charts checked against scikit-learn and pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from analysis import load_config, load_dataset, summarize
from analysis.charts import (
    calibration_figure,
    class_distribution_figure,
    confusion_matrix_figure,
    precision_recall_figure,
    roc_figure,
    row_normalised,
)
from analysis.scores import calibration_bins, positive_class_target, precision_recall_points, roc_points, score_grid, score_options

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def digits() -> tuple[dict, pd.DataFrame]:
    summary = summarize(load_dataset(load_config(SAMPLE_DATA / "digits")))
    raw = pd.read_csv(SAMPLE_DATA / "digits" / "predictions.csv", dtype={"true_label": str, "pred_label": str})
    return summary, raw


def test_class_distribution_counts(digits):
    summary, raw = digits

    figure = class_distribution_figure(summary["classes"])
    labels, predictions = figure.data

    assert list(labels.x) == [str(row["label"]) for row in summary["classes"]]
    assert list(labels.y) == [int(raw["true_label"].value_counts()[name]) for name in labels.x]
    assert list(predictions.y) == [int(raw["pred_label"].value_counts()[name]) for name in predictions.x]


def test_confusion_matrix_counts(digits):
    summary, raw = digits
    classes = summary["confusion_matrix"]["classes"]
    expected = confusion_matrix(raw["true_label"], raw["pred_label"], labels=classes)

    heatmap = confusion_matrix_figure(classes, summary["confusion_matrix"]["counts"]).data[0]

    assert np.array(heatmap.z).tolist() == expected.tolist()
    assert list(heatmap.x) == classes
    assert list(heatmap.y) == classes
    assert heatmap.texttemplate == "%{z:,}"


def test_confusion_matrix_row_normalised(digits):
    summary, raw = digits
    classes = summary["confusion_matrix"]["classes"]
    expected = confusion_matrix(raw["true_label"], raw["pred_label"], labels=classes, normalize="true")

    heatmap = confusion_matrix_figure(classes, summary["confusion_matrix"]["counts"], normalised=True).data[0]

    assert np.array(heatmap.z, dtype=float) == pytest.approx(expected)
    assert heatmap.zmax == 1
    assert heatmap.texttemplate == "%{z:.1%}"


def test_row_normalised_empty_row_undefined():
    assert row_normalised([[1, 3], [0, 0]]) == [[0.25, 0.75], [None, None]]


@pytest.fixture(scope="module")
def screening_grid():
    dataset = load_dataset(load_config(SAMPLE_DATA / "screening"))
    return score_grid(dataset, positive_class_target(dataset, score_options(dataset)))


def test_roc_figure_with_marker(screening_grid):
    points = roc_points(screening_grid)

    figure = roc_figure(points, 0.9443, (0.1, 0.6))

    curve, marker = figure.data
    assert list(curve.x) == pytest.approx(list(points["fpr"]))
    assert list(curve.y) == pytest.approx(list(points["tpr"]))
    assert (marker.x[0], marker.y[0]) == (0.1, 0.6)
    assert "AUC 0.944" in figure.layout.title.text


def test_undefined_marker_and_area_not_drawn(screening_grid):
    figure = roc_figure(roc_points(screening_grid), float("nan"), (float("nan"), 0.5))

    assert len(figure.data) == 1
    assert "AUC undefined" in figure.layout.title.text


def test_precision_recall_figure(screening_grid):
    points = precision_recall_points(screening_grid)

    figure = precision_recall_figure(points, 0.522, screening_grid.prevalence)

    assert list(figure.data[0].x) == pytest.approx(list(points["recall"]))
    assert list(figure.data[0].y) == pytest.approx(list(points["precision"]))
    assert figure.layout.shapes[0].y0 == pytest.approx(100 / 5000)


def test_calibration_figure(screening_grid):
    bins = calibration_bins(screening_grid)

    figure = calibration_figure(bins, "Reliability", "share that is 'covid'")
    counts, curve = figure.data

    assert list(counts.y) == list(bins["count"])
    assert sum(counts.y) == 5000
    assert list(curve.x) == pytest.approx(list(bins["mean_score"]))
    assert list(curve.y) == pytest.approx(list(bins["observed"]))
    assert figure.layout.yaxis.title.text == "share that is 'covid'"
