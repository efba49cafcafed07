"""Score-based views of a classification: ROC and precision-recall curves, calibration, metrics at a threshold.

How a score is read
-------------------
Scores are probabilities between 0 and 1. A missing or NaN score leaves its
example out of these views (and the count is reported); a value outside 0 to 1
raises :class:`~analysis.InputError`.

*Two-class tasks* rank examples by the probability of the positive class. The
positive class is ``[task] positive_class``, else the last class in display
order (``1`` of ``0``/``1``, ``true`` of ``false``/``true``), like
scikit-learn's default ``pos_label``. That probability is taken from, in order:

1. the ``prob_<positive class>`` column of the predictions file;
2. one minus the ``prob_<other class>`` column;
3. the score column, read as ``[task] score_kind`` sets: ``"positive_class"``
   means the score is the probability of the positive class;
   ``"confidence"`` (the default) means it is the probability the model gives
   its own prediction, so the positive-class probability is the score where
   the prediction is the positive class and one minus the score elsewhere.

*Tasks with more classes* get one-vs-rest curves for a chosen class from its
``prob_<class>`` column, and a reliability chart of the score read as the
confidence of the prediction against accuracy.

How it is computed
------------------
Each view groups the examples kept by the global filter in DuckDB by the score
rounded to :data:`GRID_DECIMALS` decimals (at most 10,001 rows), with counts of
positives and negatives. Curves, areas and calibration bins are cumulative sums
over that grid in pandas, so they equal scikit-learn's exactly for scores with
at most four decimals; finer scores are treated as tied within 0.0001. Metrics
at a threshold count the unrounded scores, so they are exact for any score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.config import SCORE_KIND_POSITIVE_CLASS
from analysis.errors import InputError
from analysis.filters import ExampleFilter
from analysis.i18n import _
from analysis.model import Dataset
from analysis.slice_metrics import dataset_classes
from analysis.stats import ratio

GRID_DECIMALS = 4
CALIBRATION_BINS = 10
DEFAULT_THRESHOLD = 0.5

# Kinds of target: the positive class of a two-class task, one class against the
# rest, or the prediction's confidence against being correct.
TARGET_POSITIVE_CLASS = "positive_class"
TARGET_ONE_VS_REST = "one_vs_rest"
TARGET_CONFIDENCE = "confidence"


@dataclass(frozen=True)
class ScoreTarget:
    """A score to rank examples by and the outcome it should predict, as SQL over ``examples``.

    ``expression`` and ``outcome`` use only generated column names and ``?``
    markers, whose values are ``params`` (the expression's, then the outcome's).
    ``description`` describes in words where the score comes from.
    """

    kind: str
    expression: str
    outcome: str
    params: tuple[object, ...]
    description: str
    positive_class: str | None = None
    # Set when the score is read as a two-class confidence: a score below 0.5 then hints at a wrong score_kind.
    reads_confidence: bool = False


@dataclass
class ScoreOptions:
    """The score views a dataset supports, and the reasons for any it does not."""

    binary: bool = False
    positive_class: str | None = None
    # True when the positive class was not set in the dataset file.
    positive_class_inferred: bool = False
    # Classes with a prob_<class> column, in display order.
    probability_classes: list[str] = field(default_factory=list)
    confidence: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.binary or bool(self.probability_classes) or self.confidence


@dataclass
class ScoreGrid:
    """Counts of positive and negative examples per rounded score, highest score first.

    ``frame`` has the columns ``score`` (rounded), ``positives``,
    ``negatives`` and ``score_sum`` (sum of the unrounded scores).
    ``missing`` counts the examples left out for a missing or NaN score, and
    ``below_half`` those with a score under 0.5 where the target reads a
    two-class confidence (which cannot be below 0.5).
    """

    frame: pd.DataFrame
    missing: int
    below_half: int = 0

    @property
    def positives(self) -> int:
        return int(self.frame["positives"].sum())

    @property
    def negatives(self) -> int:
        return int(self.frame["negatives"].sum())

    @property
    def prevalence(self) -> float:
        """Share of positives: the precision of a model that guesses at random. NaN for an empty grid."""
        return ratio(self.positives, self.positives + self.negatives)


# Which views a dataset offers ------------------------------------------------------------


def score_options(dataset: Dataset) -> ScoreOptions:
    """Return which score views ``dataset`` supports; see the module docstring for the rules."""
    options = ScoreOptions()
    if not dataset.has_classes:
        return options
    classes = dataset_classes(dataset)
    options.probability_classes = [name for name in classes if name in dataset.probabilities]
    if len(classes) == 2:
        options.positive_class = dataset.config.positive_class or classes[-1]
        options.positive_class_inferred = dataset.config.positive_class is None
        options.binary = dataset.has_score or bool(options.probability_classes)
        return options

    options.confidence = dataset.has_score and dataset.config.score_kind != SCORE_KIND_POSITIVE_CLASS
    if dataset.has_score and not options.confidence:
        options.notes.append(
            _(
                "The dataset file sets score_kind = \"positive_class\", which fits two-class tasks only; "
                "this task has {count} classes, so the score is not used.",
                count=len(classes),
            )
        )
    return options


def positive_class_target(dataset: Dataset, options: ScoreOptions) -> ScoreTarget:
    """Return the target of a two-class task: the positive class's probability against the label."""
    positive = options.positive_class
    negative = next(name for name in dataset_classes(dataset) if name != positive)
    outcome = "label = ?"
    if positive in dataset.probabilities:
        return ScoreTarget(
            TARGET_POSITIVE_CLASS,
            dataset.probabilities[positive],
            outcome,
            (positive,),
            _("the column prob_{label}", label=positive),
            positive,
        )
    if negative in dataset.probabilities:
        return ScoreTarget(
            TARGET_POSITIVE_CLASS,
            f"1 - {dataset.probabilities[negative]}",
            outcome,
            (positive,),
            _("one minus the column prob_{label}", label=negative),
            positive,
        )
    if dataset.config.score_kind == SCORE_KIND_POSITIVE_CLASS:
        return ScoreTarget(
            TARGET_POSITIVE_CLASS,
            "score",
            outcome,
            (positive,),
            _("the score column '{column}', read as the probability of '{label}'", column=dataset.score_column, label=positive),
            positive,
        )
    return ScoreTarget(
        TARGET_POSITIVE_CLASS,
        "CASE WHEN prediction = ? THEN score ELSE 1 - score END",
        outcome,
        (positive, positive),
        _(
            "the score column '{column}', read as the confidence of the prediction "
            "(the score where the prediction is '{label}', else one minus the score)",
            column=dataset.score_column,
            label=positive,
        ),
        positive,
        reads_confidence=True,
    )


def one_vs_rest_target(dataset: Dataset, label: str) -> ScoreTarget:
    """Return the target of class ``label`` against all others, from its ``prob_<class>`` column."""
    if label not in dataset.probabilities:
        raise InputError(
            _("No probability column for class '{label}'.", label=label),
            _("Add a column prob_{label} to the predictions file.", label=label),
        )
    return ScoreTarget(
        TARGET_ONE_VS_REST,
        dataset.probabilities[label],
        "label = ?",
        (label,),
        _("the column prob_{label}", label=label),
        label,
    )


def confidence_target(dataset: Dataset) -> ScoreTarget:
    """Return the target that compares the score, read as the prediction's confidence, with being correct."""
    return ScoreTarget(
        TARGET_CONFIDENCE,
        "score",
        "NOT is_error",
        (),
        _("the score column '{column}', read as the confidence of the prediction", column=dataset.score_column),
    )


# The grid ----------------------------------------------------------------------------------


def score_grid(dataset: Dataset, target: ScoreTarget, example_filter: ExampleFilter | None = None) -> ScoreGrid:
    """Count positives and negatives per score rounded to :data:`GRID_DECIMALS` decimals, under the filter.

    Raises :class:`~analysis.InputError` when a score is outside 0 to 1.
    """
    where, where_params = (example_filter or ExampleFilter()).where(dataset)
    # ``raw`` is the score column as the file gives it, for the check of a two-class confidence.
    scored = f"SELECT {target.expression} AS s, {target.outcome} AS y, score AS raw FROM {dataset.view} WHERE {where}"
    params = [*target.params, *where_params]

    # Check the range first, so a column of unbounded scores never builds a large grid.
    missing, low, high, below_half = dataset.engine.rows(
        "SELECT CAST(count(*) FILTER (WHERE s IS NULL OR isnan(s)) AS BIGINT), "
        "min(s) FILTER (WHERE NOT isnan(s)), max(s) FILTER (WHERE NOT isnan(s)), "
        f"CAST(count(*) FILTER (WHERE raw < 0.5) AS BIGINT) FROM ({scored}) AS scored",
        params,
    )[0]
    if low is not None and (low < 0 or high > 1):
        raise InputError(
            _(
                "Scores from {source} range from {low:g} to {high:g}, but the curves need probabilities between 0 and 1.",
                source=target.description,
                low=low,
                high=high,
            ),
            _("Export probabilities (for example after a softmax or sigmoid) in the score or prob_<class> columns."),
        )

    frame = dataset.engine.query(
        f"SELECT round(s, {GRID_DECIMALS}) AS score, "
        "CAST(count(*) FILTER (WHERE y) AS BIGINT) AS positives, "
        "CAST(count(*) FILTER (WHERE NOT y) AS BIGINT) AS negatives, "
        "sum(s) AS score_sum "
        f"FROM ({scored}) AS scored WHERE s IS NOT NULL AND NOT isnan(s) GROUP BY 1 ORDER BY 1 DESC",
        params,
    )
    return ScoreGrid(frame, int(missing), int(below_half) if target.reads_confidence else 0)


# Curves and areas --------------------------------------------------------------------------


def roc_points(grid: ScoreGrid) -> pd.DataFrame:
    """Return the ROC curve: ``threshold``, ``fpr``, ``tpr``, one row per grid score plus the origin.

    The same points as :func:`sklearn.metrics.roc_curve` with
    ``drop_intermediate=False``: the first threshold is infinite. Rates are
    NaN when the grid has no positive (``tpr``) or no negative (``fpr``).
    """
    true_positives = np.concatenate([[0], grid.frame["positives"].cumsum().to_numpy()])
    false_positives = np.concatenate([[0], grid.frame["negatives"].cumsum().to_numpy()])
    positives, negatives = grid.positives, grid.negatives
    return pd.DataFrame(
        {
            "threshold": np.concatenate([[np.inf], grid.frame["score"].to_numpy(dtype=float)]),
            "fpr": false_positives / negatives if negatives else np.full(len(false_positives), np.nan),
            "tpr": true_positives / positives if positives else np.full(len(true_positives), np.nan),
        }
    )


def roc_auc(grid: ScoreGrid) -> float:
    """Return the area under the ROC curve, or NaN when the examples are all positive or all negative."""
    if grid.positives == 0 or grid.negatives == 0:
        return math.nan
    points = roc_points(grid)
    return float(np.trapezoid(points["tpr"], points["fpr"]))


def precision_recall_points(grid: ScoreGrid) -> pd.DataFrame:
    """Return the precision-recall curve: ``threshold``, ``precision``, ``recall``, highest threshold first.

    One row per grid score, like :func:`sklearn.metrics.precision_recall_curve`
    with ``drop_intermediate=False`` read backwards, without its final
    (precision 1, recall 0) point. Recall is NaN when the grid has no positive.
    """
    true_positives = grid.frame["positives"].cumsum().to_numpy()
    predicted = true_positives + grid.frame["negatives"].cumsum().to_numpy()
    positives = grid.positives
    return pd.DataFrame(
        {
            "threshold": grid.frame["score"].to_numpy(dtype=float),
            "precision": true_positives / predicted,
            "recall": true_positives / positives if positives else np.full(len(true_positives), np.nan),
        }
    )


def average_precision(grid: ScoreGrid) -> float:
    """Return the average precision (the sum of precision times each rise in recall), NaN without positives."""
    if grid.positives == 0:
        return math.nan
    points = precision_recall_points(grid)
    rises = np.diff(np.concatenate([[0.0], points["recall"].to_numpy()]))
    return float(np.sum(rises * points["precision"].to_numpy()))


def calibration_bins(grid: ScoreGrid, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Return the reliability table over ``bins`` equal-width score bins, empty bins left out.

    Columns: ``low`` and ``high`` (bin edges), ``count``, ``mean_score`` (mean
    unrounded score) and ``observed`` (share of positives). Bins split like
    :func:`sklearn.calibration.calibration_curve` with ``strategy="uniform"``:
    a score on an inner edge goes to the lower bin. The bin of an example is
    chosen by its rounded score.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], grid.frame["score"].to_numpy(dtype=float))
    grouped = (
        grid.frame.assign(bin=index, count=grid.frame["positives"] + grid.frame["negatives"])
        .groupby("bin")[["count", "positives", "score_sum"]]
        .sum()
    )
    return pd.DataFrame(
        {
            "low": edges[grouped.index],
            "high": edges[grouped.index + 1],
            "count": grouped["count"].astype(int).to_numpy(),
            "mean_score": (grouped["score_sum"] / grouped["count"]).to_numpy(),
            "observed": (grouped["positives"] / grouped["count"]).to_numpy(),
        }
    )


def expected_calibration_error(bins: pd.DataFrame) -> float:
    """Return the count-weighted mean gap between mean score and observed share over the bins; NaN when empty."""
    total = bins["count"].sum()
    if total == 0:
        return math.nan
    return float((bins["count"] * (bins["mean_score"] - bins["observed"]).abs()).sum() / total)


# Metrics at a threshold ------------------------------------------------------------------


def threshold_metrics(
    dataset: Dataset, target: ScoreTarget, threshold: float, example_filter: ExampleFilter | None = None
) -> dict[str, float | int]:
    """Return the confusion counts and metrics when a score at or above ``threshold`` means positive.

    Keys: ``tp``, ``fp``, ``fn``, ``tn`` and ``precision``, ``recall``,
    ``f1``, ``accuracy``, ``fpr`` (false-positive rate). A metric with a zero
    denominator is NaN. Counts use the unrounded scores; examples with a
    missing score are left out, as in :func:`score_grid`.
    """
    where, where_params = (example_filter or ExampleFilter()).where(dataset)
    scored = f"SELECT {target.expression} AS s, {target.outcome} AS y FROM {dataset.view} WHERE {where}"
    tp, fp, fn, tn = dataset.engine.rows(
        "SELECT CAST(count(*) FILTER (WHERE y AND s >= ?) AS BIGINT), "
        "CAST(count(*) FILTER (WHERE NOT y AND s >= ?) AS BIGINT), "
        "CAST(count(*) FILTER (WHERE y AND s < ?) AS BIGINT), "
        "CAST(count(*) FILTER (WHERE NOT y AND s < ?) AS BIGINT) "
        f"FROM ({scored}) AS scored WHERE s IS NOT NULL AND NOT isnan(s)",
        [threshold] * 4 + [*target.params, *where_params],
    )[0]
    return {
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": ratio(tp + tn, tp + fp + fn + tn),
        "fpr": ratio(fp, fp + tn),
    }
