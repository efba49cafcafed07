"""Metrics beyond accuracy per slice, from confusion counts counted in DuckDB.

One GROUP BY GROUPING SETS query over ``examples`` (under the global filter)
returns, per group of examples and per (label, prediction) pair, the number
of examples, for every grouping in one scan. Every metric of a group comes
from that small confusion matrix:

- error rate: errors / examples;
- precision, recall and F1 of a chosen class, as scikit-learn defines them;
- false-positive rate FP / (FP + TN) and false-negative rate FN / (FN + TP)
  of a binary task, with the positive class from ``[task] positive_class``;
- balanced accuracy: the mean recall of the classes that occur as labels.

Support is the denominator of each metric (for the false-positive rate, the
examples whose label is negative). A metric whose support is 0 is undefined:
NaN here, null with a reason in the output, never 0.

Rates get Wilson intervals. F1 and balanced accuracy, which are not simple
proportions, get percentile bootstrap intervals: the group's confusion
counts are resampled ``bootstrap_samples`` times with numpy's multinomial,
from a generator seeded with ``[statistics] seed``, so reruns agree. Draws in
which the metric is undefined are left out of the percentiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import DatasetConfig
from analysis.counting import count_examples
from analysis.errors import InputError
from analysis.i18n import N_, _
from analysis.metrics import sort_classes
from analysis.model import Dataset
from analysis.sqltext import quote_ident
from analysis.stats import ratio, wilson_interval

ERROR_RATE = "error_rate"
FALSE_POSITIVE_RATE = "fpr"
FALSE_NEGATIVE_RATE = "fnr"
RECALL = "recall"
PRECISION = "precision"

# Metrics that take a class after a colon, as in recall:CLASS.
CLASS_METRICS = (RECALL, PRECISION)
METRIC_CHOICES = (ERROR_RATE, FALSE_POSITIVE_RATE, FALSE_NEGATIVE_RATE, "recall:CLASS", "precision:CLASS")

_NEEDS_CLASSES = N_("The metric '{metric}' needs labels and predictions, but this dataset is in {mode} mode.")


@dataclass(frozen=True)
class MetricSpec:
    """A metric chosen for slices: its kind and, for recall and precision, the class."""

    kind: str
    class_name: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.class_name}" if self.class_name is not None else self.kind


def parse_metric(text: str, dataset: Dataset) -> MetricSpec:
    """Read ``error_rate``, ``fpr``, ``fnr``, ``recall:CLASS`` or ``precision:CLASS`` and check it fits the dataset."""
    kind, separator, class_name = text.partition(":")
    if kind == ERROR_RATE and not separator:
        return MetricSpec(ERROR_RATE)
    if kind in (FALSE_POSITIVE_RATE, FALSE_NEGATIVE_RATE) and not separator:
        _require_classes(text, dataset)
        positive_class(dataset)
        return MetricSpec(kind)
    if kind in CLASS_METRICS and separator and class_name:
        _require_classes(text, dataset)
        classes = dataset_classes(dataset)
        if class_name not in classes:
            raise InputError(
                _("The class '{value}' in --metric {metric} is not a class of this dataset.", value=class_name, metric=text),
                _("Use one of: {classes}.", classes=", ".join(classes)),
            )
        return MetricSpec(kind, class_name)
    raise InputError(
        _("Unknown metric {value!r}.", value=text),
        _("Use one of: {choices}.", choices=", ".join(METRIC_CHOICES)),
    )


def _require_classes(text: str, dataset: Dataset) -> None:
    if not dataset.has_classes:
        raise InputError(
            _(_NEEDS_CLASSES, metric=text, mode=dataset.mode),
            _("Use --metric error_rate."),
        )


def dataset_classes(dataset: Dataset) -> list[str]:
    """Return the classes of all analysed examples, labels and predictions, in display order; none without classes."""
    if not dataset.has_classes:
        return []
    confusion = count_examples(dataset).confusion
    return sort_classes(set(confusion["label"]) | set(confusion["prediction"]))


def positive_class(dataset: Dataset) -> str:
    """Return the positive class of a binary task, or raise when the task is not binary or names none."""
    classes = dataset_classes(dataset)
    if len(classes) > 2:
        raise InputError(
            _("False-positive and false-negative rates are defined here for binary tasks, but this dataset has {count} classes.", count=len(classes)),
            _("Use --metric recall:CLASS or precision:CLASS for one class of a multi-class task."),
        )
    if dataset.config.positive_class is None:
        raise InputError(
            _("False-positive and false-negative rates need the positive class, and none is set."),
            _("Set positive_class under [task] in the dataset file, or pass --positive-class; classes: {classes}.", classes=", ".join(classes)),
        )
    return dataset.config.positive_class


# ---------------------------------------------------------------- counting


def count_confusion(dataset: Dataset, groupings: list[list[str]], where: str = "true", params: tuple = ()) -> list[pd.DataFrame]:
    """Count examples per group and (label, prediction) pair, for several groupings in one scan of ``examples``.

    Each grouping is a list of generated column aliases of ``examples`` (a0,
    t1, ...); ``where`` and ``params`` come from :meth:`ExampleFilter.where`.
    One GROUP BY GROUPING SETS query counts them all. Returns one frame per
    grouping with the columns g0, g1, ... (that grouping's values), label,
    prediction, n and errors; label and prediction are null in modes without
    classes.
    """
    columns = list(dict.fromkeys(alias for grouping in groupings for alias in grouping))
    outcome = ["label", "prediction"] if dataset.has_classes else []
    # A set listed twice would count its rows twice, so each distinct set of columns is listed once.
    distinct = list(dict.fromkeys(frozenset(grouping) for grouping in groupings))
    sets = [f"({', '.join([quote_ident(alias) for alias in sorted(members)] + outcome)})" for members in distinct]
    markers = [f"GROUPING({quote_ident(alias)}) AS {quote_ident('grouped_' + alias)}" for alias in columns]
    counts = ["CAST(count(*) AS BIGINT) AS n", "CAST(count(*) FILTER (WHERE is_error) AS BIGINT) AS errors"]
    # Joined as one list, because a count of all examples without classes selects no other column.
    frame = dataset.engine.query(
        f"""
        SELECT {', '.join([quote_ident(alias) for alias in columns] + outcome + markers + counts)}
        FROM {dataset.view}
        WHERE {where}
        GROUP BY GROUPING SETS ({', '.join(sets)})
        """,
        params,
    )
    if not dataset.has_classes:
        frame = frame.assign(label=None, prediction=None)

    results = []
    for grouping in groupings:
        # GROUPING(column) is 0 exactly for the columns of the set that produced the row.
        mine = pd.Series(True, index=frame.index)
        for alias in columns:
            mine &= frame["grouped_" + alias] == (0 if alias in grouping else 1)
        part = frame.loc[mine, [*grouping, "label", "prediction", "n", "errors"]]
        part.columns = [f"g{index}" for index in range(len(grouping))] + ["label", "prediction", "n", "errors"]
        results.append(part.reset_index(drop=True))
    return results


@dataclass
class GroupCounts:
    """The confusion counts of one group of examples.

    ``matrix`` has labels as rows and predictions as columns, in the order of
    ``classes``; it is empty in modes without classes, where only ``n`` and
    ``errors`` are known.
    """

    classes: list[str]
    matrix: np.ndarray
    n: int
    errors: int

    def __add__(self, other: GroupCounts) -> GroupCounts:
        return GroupCounts(self.classes, self.matrix + other.matrix, self.n + other.n, self.errors + other.errors)


def group_counts(frame: pd.DataFrame, classes: list[str], group_columns: list[str]) -> dict[tuple, GroupCounts]:
    """Turn the rows of :func:`count_confusion` into one :class:`GroupCounts` per group, keyed by the group values."""
    index = {name: position for position, name in enumerate(classes)}
    size = len(classes)
    found: dict[tuple, GroupCounts] = {}
    for row in frame.itertuples(index=False):
        values = tuple(getattr(row, column) for column in group_columns)
        counts = found.setdefault(values, GroupCounts(classes, np.zeros((size, size), dtype=np.int64), 0, 0))
        counts.n += int(row.n)
        counts.errors += int(row.errors)
        if size and row.label is not None and not pd.isna(row.label):
            counts.matrix[index[row.label], index[row.prediction]] += int(row.n)
    return found


def empty_counts(classes: list[str]) -> GroupCounts:
    size = len(classes)
    return GroupCounts(classes, np.zeros((size, size), dtype=np.int64), 0, 0)


# ---------------------------------------------------------------- one metric: events and support


@dataclass
class MetricCounts:
    """What a metric is computed on in one group.

    ``hits / support`` is the metric's value and ``bad / support`` the rate of
    the event that makes it worse (the same for error rates; misses for
    recall, false positives for precision).
    """

    hits: int
    bad: int
    support: int


def metric_counts(spec: MetricSpec, counts: GroupCounts, positive: str | None = None) -> MetricCounts:
    """Return the hits, bad events and support of ``spec`` in one group."""
    if spec.kind == ERROR_RATE:
        return MetricCounts(counts.errors, counts.errors, counts.n)
    if spec.kind in CLASS_METRICS:
        position = counts.classes.index(spec.class_name)
        true_positives = int(counts.matrix[position, position])
        support = int(counts.matrix[position, :].sum() if spec.kind == RECALL else counts.matrix[:, position].sum())
        return MetricCounts(true_positives, support - true_positives, support)
    confusion = binary_confusion(counts, positive)
    if spec.kind == FALSE_POSITIVE_RATE:
        return MetricCounts(confusion["fp"], confusion["fp"], confusion["fp"] + confusion["tn"])
    return MetricCounts(confusion["fn"], confusion["fn"], confusion["fn"] + confusion["tp"])


def binary_confusion(counts: GroupCounts, positive: str) -> dict[str, int]:
    """Return tp, fp, fn and tn with ``positive`` as the positive class and every other class negative."""
    position = counts.classes.index(positive)
    matrix = counts.matrix
    true_positives = int(matrix[position, position])
    predicted_positive = int(matrix[:, position].sum())
    labelled_positive = int(matrix[position, :].sum())
    return {
        "tp": true_positives,
        "fp": predicted_positive - true_positives,
        "fn": labelled_positive - true_positives,
        "tn": int(matrix.sum()) - predicted_positive - labelled_positive + true_positives,
    }


# ---------------------------------------------------------------- every metric of a group


def f1_scores(draws: np.ndarray, position: int) -> np.ndarray:
    """Return the F1 of class ``position`` for each confusion matrix in ``draws`` (shape samples x K x K)."""
    true_positives = draws[:, position, position].astype(float)
    denominator = draws[:, position, :].sum(axis=1) + draws[:, :, position].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2 * true_positives / denominator, np.nan)


def balanced_accuracies(draws: np.ndarray) -> np.ndarray:
    """Return the mean recall over classes present as labels, for each confusion matrix in ``draws``."""
    support = draws.sum(axis=2)
    correct = np.diagonal(draws, axis1=1, axis2=2).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        recalls = np.where(support > 0, correct / support, np.nan)
    present = (support > 0).sum(axis=1)
    sums = np.nansum(recalls, axis=1)
    return np.where(present > 0, sums / np.maximum(present, 1), np.nan)


def bootstrap_interval(matrix: np.ndarray, statistic, samples: int, seed: int, confidence_level: float) -> tuple[float, float]:
    """Return the percentile bootstrap interval of ``statistic`` over multinomial resamples of ``matrix``.

    ``statistic`` maps an array of confusion matrices (samples x K x K) to one
    value per matrix, NaN where undefined. The bounds are NaN when the group
    is empty or the statistic is undefined in every draw.
    """
    total = int(matrix.sum())
    if total == 0:
        return math.nan, math.nan
    generator = np.random.default_rng(seed)
    draws = generator.multinomial(total, matrix.ravel() / total, size=samples).reshape((samples, *matrix.shape))
    values = statistic(draws)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence_level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def group_metrics(counts: GroupCounts, config: DatasetConfig, class_name: str | None, positive: str | None) -> tuple[dict, dict[str, str]]:
    """Return every metric of one group, each as {value, support, ci_low, ci_high}, and reasons for undefined ones.

    ``class_name`` selects the class of precision, recall and F1 (None: skip
    them); ``positive`` the positive class of the false-positive and
    false-negative rates (None: skip them). Modes without classes get the
    error rate only.
    """
    level = config.confidence_level
    metrics: dict[str, dict] = {}
    reasons: dict[str, str] = {}

    def rate(name: str, hits: int, support: int, reason: str) -> None:
        low, high = wilson_interval(hits, support, level)
        metrics[name] = {"value": ratio(hits, support), "support": support, "ci_low": low, "ci_high": high}
        if support == 0:
            reasons[name] = reason

    rate(ERROR_RATE, counts.errors, counts.n, _("Undefined (n = 0): the group has no example."))
    if not counts.classes:
        return metrics, reasons

    if class_name is not None:
        position = counts.classes.index(class_name)
        true_positives = int(counts.matrix[position, position])
        labelled = int(counts.matrix[position, :].sum())
        predicted = int(counts.matrix[:, position].sum())
        rate(PRECISION, true_positives, predicted, _("Undefined (n = 0): no example was predicted as '{label}'.", label=class_name))
        rate(RECALL, true_positives, labelled, _("Undefined (n = 0): no example has the label '{label}'.", label=class_name))
        low, high = bootstrap_interval(counts.matrix, lambda draws: f1_scores(draws, position), config.bootstrap_samples, config.seed, level)
        metrics["f1"] = {"value": ratio(2 * true_positives, labelled + predicted), "support": labelled + predicted, "ci_low": low, "ci_high": high}
        if labelled + predicted == 0:
            reasons["f1"] = _("Undefined (n = 0): the class is neither a label nor a prediction.")

    if positive is not None:
        confusion = binary_confusion(counts, positive)
        rate(FALSE_POSITIVE_RATE, confusion["fp"], confusion["fp"] + confusion["tn"], _("Undefined (n = 0): no example has a negative label."))
        rate(FALSE_NEGATIVE_RATE, confusion["fn"], confusion["fn"] + confusion["tp"], _("Undefined (n = 0): no example has the positive label '{label}'.", label=positive))

    point = balanced_accuracies(counts.matrix[np.newaxis])[0]
    low, high = bootstrap_interval(counts.matrix, balanced_accuracies, config.bootstrap_samples, config.seed, level)
    metrics["balanced_accuracy"] = {"value": float(point), "support": counts.n, "ci_low": low, "ci_high": high}
    if counts.n == 0:
        reasons["balanced_accuracy"] = _("Undefined (n = 0): the group has no example.")
    return metrics, reasons
