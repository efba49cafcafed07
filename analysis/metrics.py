"""Classification metrics computed from the confusion counts.

Definitions follow scikit-learn with ``zero_division=np.nan``: a metric whose
denominator is zero is undefined (NaN), is reported as null with a reason,
and is left out of macro and weighted averages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from analysis.stats import ratio

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def sort_classes(classes) -> list[str]:
    """Sort class texts numerically when all are numbers, else alphabetically."""
    values = [str(c) for c in classes]
    if values and all(_NUMBER.fullmatch(v) for v in values):
        return sorted(values, key=lambda v: (float(v), v))
    return sorted(values)


@dataclass
class ClassMetrics:
    """Per-class metrics and the confusion matrix, with classes in display order."""

    classes: list[str]
    matrix: np.ndarray  # rows: label, columns: prediction
    support: np.ndarray
    predicted: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        return ratio(float(np.trace(self.matrix)), self.total)

    @property
    def balanced_accuracy(self) -> float:
        present = self.support > 0
        return float(np.mean(self.recall[present])) if present.any() else math.nan

    def macro(self, values: np.ndarray) -> float:
        return _nanmean(values)

    def weighted(self, values: np.ndarray) -> float:
        """Average the defined values weighted by support.

        When every defined value has support 0 (each predicted class is absent
        from the labels), scikit-learn falls back to the plain mean, and this method does the same.
        """
        defined = ~np.isnan(values)
        if not defined.any():
            return math.nan
        weights = self.support[defined]
        if weights.sum() == 0:
            return float(np.mean(values[defined]))
        return float(np.average(values[defined], weights=weights))

    def most_confused(self, count: int = 10) -> list[tuple[str, str, int]]:
        """Return the ``count`` most frequent (label, prediction) errors, largest first."""
        pairs = [
            (self.classes[i], self.classes[j], int(self.matrix[i, j]))
            for i in range(len(self.classes))
            for j in range(len(self.classes))
            if i != j and self.matrix[i, j] > 0
        ]
        order = {name: index for index, name in enumerate(self.classes)}
        pairs.sort(key=lambda pair: (-pair[2], order[pair[0]], order[pair[1]]))
        return pairs[:count]


def class_metrics(confusion: pd.DataFrame) -> ClassMetrics:
    """Compute per-class precision, recall and F1 from (label, prediction, n) rows."""
    classes = sort_classes(set(confusion["label"]) | set(confusion["prediction"]))
    index = {name: i for i, name in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for label, prediction, n in confusion[["label", "prediction", "n"]].itertuples(index=False):
        matrix[index[label], index[prediction]] += int(n)

    true_positives = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positives / predicted, np.nan)
        recall = np.where(support > 0, true_positives / support, np.nan)
        f1_denominator = support + predicted
        f1 = np.where(f1_denominator > 0, 2 * true_positives / f1_denominator, np.nan)
    return ClassMetrics(classes, matrix, support, predicted, precision, recall, f1)


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


@dataclass
class Imbalance:
    shares: dict[str, float]
    majority_class: str
    majority_share: float
    imbalance_ratio: float
    rare_classes: list[str]
    never_predicted: list[str]
    zero_recall: list[str]
    accuracy_near_majority: bool


# A class under this share of the labels is reported as rare.
RARE_CLASS_SHARE = 0.05
# Accuracy at most this far above the majority-class accuracy is reported as misleading.
MAJORITY_MARGIN = 0.01


def imbalance(metrics: ClassMetrics) -> Imbalance:
    """Describe the label distribution and the ways plain accuracy can mislead on it."""
    total = metrics.total
    present = [i for i, s in enumerate(metrics.support) if s > 0]
    shares = {metrics.classes[i]: float(metrics.support[i] / total) for i in present}
    # Ties go to the first class in display order, so the result is stable.
    majority = max(present, key=lambda i: (metrics.support[i], -i))
    smallest = min(metrics.support[i] for i in present)
    # Compare exact fractions: in floats, 152/300 <= 149/300 + 0.01 is false,
    # so an accuracy exactly on the margin would escape the warning.
    rare_limit = Fraction(str(RARE_CLASS_SHARE))
    margin = Fraction(str(MAJORITY_MARGIN))
    correct = int(np.trace(metrics.matrix))
    return Imbalance(
        shares=shares,
        majority_class=metrics.classes[majority],
        majority_share=float(metrics.support[majority] / total),
        imbalance_ratio=float(metrics.support[majority] / smallest),
        rare_classes=[metrics.classes[i] for i in present if Fraction(int(metrics.support[i]), total) < rare_limit],
        never_predicted=[metrics.classes[i] for i in present if metrics.predicted[i] == 0],
        zero_recall=[metrics.classes[i] for i in present if metrics.recall[i] == 0],
        accuracy_near_majority=Fraction(correct - int(metrics.support[majority]), total) <= margin,
    )
