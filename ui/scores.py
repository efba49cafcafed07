"""The score section of the overview page: curves, calibration and metrics at a chosen threshold.

What the section shows depends on :func:`analysis.scores.score_options`. A
two-class task gets ROC and precision-recall curves of the positive class, a
reliability chart and a threshold slider. A task with more classes gets
one-vs-rest curves for a chosen class (from ``prob_<class>`` columns) and a
reliability chart of the prediction's confidence.

Selections live in the URL: ``threshold`` (a number from 0 to 1 with at most
two decimals, default 0.5) and ``class`` (the one-vs-rest class). Every engine
call is cached per dataset folder, file fingerprint, filter and selection.
"""

from __future__ import annotations

import math
import streamlit as st

from analysis import AnalysisError, Dataset
from analysis.charts import calibration_figure, confusion_matrix_figure, precision_recall_figure, roc_figure
from analysis.filters import parse_filter
from analysis.i18n import _
from analysis.scores import (
    DEFAULT_THRESHOLD,
    TARGET_ONE_VS_REST,
    TARGET_POSITIVE_CLASS,
    ScoreGrid,
    ScoreOptions,
    ScoreTarget,
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
from ui.data import Fingerprint, filter_key
from ui.errors import escape_markdown
from ui.formatting import count, percent, score
from ui.page import PageContext
from ui.url_state import notice_ignored, read_value, write_value

THRESHOLD = "threshold"
CLASS = "class"

_THRESHOLD_KEY = "overview_threshold"
_CLASS_KEY = "overview_score_class"
_THRESHOLD_STEP = 0.01
_CACHED_RESULTS = 64


# Cached engine calls ------------------------------------------------------------------------


def _target(dataset: Dataset, kind: str, label: str | None) -> ScoreTarget:
    if kind == TARGET_POSITIVE_CLASS:
        return positive_class_target(dataset, score_options(dataset))
    if kind == TARGET_ONE_VS_REST:
        return one_vs_rest_target(dataset, label)
    return confidence_target(dataset)


# The dataset argument is not hashed (leading underscore): the folder and the
# fingerprint stand for it in the cache key.
@st.cache_data(max_entries=_CACHED_RESULTS, show_spinner=False)
def _grid(
    folder: str, fingerprint: Fingerprint, keep: tuple[str, ...], exclude: tuple[str, ...], kind: str, label: str | None, _dataset: Dataset
) -> ScoreGrid:
    example_filter = parse_filter(_dataset, list(keep), list(exclude))
    return score_grid(_dataset, _target(_dataset, kind, label), example_filter)


@st.cache_data(max_entries=_CACHED_RESULTS, show_spinner=False)
def _threshold_metrics(
    folder: str, fingerprint: Fingerprint, keep: tuple[str, ...], exclude: tuple[str, ...], threshold: float, _dataset: Dataset
) -> dict[str, float | int]:
    example_filter = parse_filter(_dataset, list(keep), list(exclude))
    return threshold_metrics(_dataset, _target(_dataset, TARGET_POSITIVE_CLASS, None), threshold, example_filter)


def cached_grid(context: PageContext, target: ScoreTarget) -> ScoreGrid:
    """Return the score grid of ``target`` under the page's filter, cached per selection."""
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Counting examples per score for {source}…", source=target.description)):
        return _grid(str(context.folder), context.fingerprint, keep, exclude, target.kind, target.positive_class, context.dataset)


def cached_threshold_metrics(context: PageContext, threshold: float) -> dict[str, float | int]:
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Counting outcomes at threshold {threshold:.2f}…", threshold=threshold)):
        return _threshold_metrics(str(context.folder), context.fingerprint, keep, exclude, threshold, context.dataset)


# URL state --------------------------------------------------------------------------------------


def parse_threshold(text: str | None) -> tuple[float, str | None]:
    """Parse a query value into a threshold; return the default and the reason when the value is invalid."""
    if text is None:
        return DEFAULT_THRESHOLD, None
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_THRESHOLD, _("it is not a number.")
    if not 0 <= value <= 1:
        return DEFAULT_THRESHOLD, _("a threshold must be between 0 and 1.")
    if abs(value - round(value, 2)) > 1e-9:
        return DEFAULT_THRESHOLD, _("the threshold takes at most two decimals, such as 0.35.")
    return round(value, 2), None


def _select_threshold() -> float:
    """Draw the threshold slider, kept in step with ``?threshold=``, and return its value."""
    text = read_value(THRESHOLD)
    threshold, problem = parse_threshold(text)
    if problem is not None:
        notice_ignored(THRESHOLD, text, problem)
        write_value(THRESHOLD, None)
    st.session_state[_THRESHOLD_KEY] = threshold
    st.slider(
        _("Threshold"),
        min_value=0.0,
        max_value=1.0,
        step=_THRESHOLD_STEP,
        format="%.2f",
        key=_THRESHOLD_KEY,
        on_change=_store_threshold,
        help=_("An example counts as positive when its probability of the positive class is at or above this value."),
    )
    return threshold


def _store_threshold() -> None:
    value = st.session_state[_THRESHOLD_KEY]
    write_value(THRESHOLD, None if value == DEFAULT_THRESHOLD else f"{value:.2f}")


def _select_class(options: ScoreOptions, default: str) -> str:
    """Draw the one-vs-rest class picker, kept in step with ``?class=``, and return the class."""
    text = read_value(CLASS)
    chosen = default
    if text is not None:
        if text in options.probability_classes:
            chosen = text
        else:
            notice_ignored(CLASS, text, _("no prob_ column of the predictions file names this class."))
            write_value(CLASS, None)
    st.session_state[_CLASS_KEY] = chosen
    st.selectbox(
        _("Class for the one-vs-rest curves"),
        options.probability_classes,
        key=_CLASS_KEY,
        on_change=_store_class,
        args=(default,),
        help=_("The curves treat this class as positive and every other class as negative."),
    )
    return chosen


def _store_class(default: str) -> None:
    value = st.session_state[_CLASS_KEY]
    write_value(CLASS, None if value == default else value)


# The section ------------------------------------------------------------------------------------


def show_scores(context: PageContext) -> None:
    """Draw the score section of the overview page, or nothing when the dataset has no usable score."""
    dataset = context.dataset
    options = score_options(dataset)
    for note in options.notes:
        st.info(escape_markdown(note), icon=":material/info:")
    if not options.any:
        return

    st.subheader(_("Scores"))
    if options.binary:
        _drop_stale(CLASS, _("one-vs-rest curves are for tasks with more than two classes."))
        _show_binary(context, options)
    else:
        _drop_stale(THRESHOLD, _("the threshold applies to two-class tasks only."))
        if not options.probability_classes:
            _drop_stale(CLASS, _("no prob_ column of the predictions file names a class."))
        if options.probability_classes:
            _show_one_vs_rest(context, options)
        if options.confidence:
            _show_confidence(context)


def _drop_stale(name: str, reason: str) -> None:
    """Remove a query parameter that this dataset cannot use, with a notice, so a link from another dataset does not mislead."""
    text = read_value(name)
    if text is not None:
        notice_ignored(name, text, reason)
        write_value(name, None)


def _show_binary(context: PageContext, options: ScoreOptions) -> None:
    target = positive_class_target(context.dataset, options)
    text = _("Curves rank examples by the probability of '{label}', from {source}.", label=target.positive_class, source=target.description)
    if options.positive_class_inferred:
        text += " " + _(
            "'{label}' is taken as the positive class because the dataset file sets no [task] positive_class.",
            label=target.positive_class,
        )
    st.caption(escape_markdown(text))
    grid = _grid_or_warning(context, target)
    if grid is None:
        return
    _show_grid_notes(grid)

    threshold = _select_threshold()
    metrics = cached_threshold_metrics(context, threshold)
    _show_threshold_metrics(target.positive_class, threshold, metrics)

    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            roc_figure(roc_points(grid), roc_auc(grid), (metrics["fpr"], metrics["recall"])),
            key="overview_roc",
        )
    with right:
        st.plotly_chart(
            precision_recall_figure(
                precision_recall_points(grid), average_precision(grid), _defined(grid.prevalence), (metrics["recall"], metrics["precision"])
            ),
            key="overview_precision_recall",
        )
    _show_calibration(
        grid,
        _("Reliability of the probability of '{label}'", label=target.positive_class),
        _("share that is '{label}'", label=target.positive_class),
        "overview_calibration",
    )


def _show_threshold_metrics(positive: str, threshold: float, metrics: dict[str, float | int]) -> None:
    st.markdown(
        escape_markdown(
            _(
                "At threshold {threshold:.2f}, an example is predicted '{label}' when its probability of '{label}' is {threshold:.2f} or more.",
                threshold=threshold,
                label=positive,
            )
        )
    )
    values = [
        (_("Precision"), percent(_defined(metrics["precision"])), _("Of the examples predicted positive, the share that are.")),
        (_("Recall"), percent(_defined(metrics["recall"])), _("Of the positive examples, the share predicted positive.")),
        (_("F1"), score(_defined(metrics["f1"])), _("Harmonic mean of precision and recall.")),
        (_("Accuracy at this threshold"), percent(_defined(metrics["accuracy"])), _("Share of examples predicted correctly at this threshold.")),
        (_("False-positive rate"), percent(_defined(metrics["fpr"])), _("Of the negative examples, the share predicted positive.")),
    ]
    # Metrics in pairs beside the matrix, so their labels have room in any language.
    numbers, matrix = st.columns([2, 3])
    with numbers:
        for start in range(0, len(values), 2):
            for column, (label, value, help_text) in zip(st.columns(2), values[start : start + 2]):
                column.metric(label, value, help=help_text, border=True)
    negative = _("not '{label}'", label=positive)
    counts = [[metrics["tp"], metrics["fn"]], [metrics["fp"], metrics["tn"]]]
    with matrix:
        st.plotly_chart(
            confusion_matrix_figure([positive, negative], counts, title=_("Confusion matrix at threshold {threshold:.2f}", threshold=threshold)),
            key="overview_threshold_matrix",
        )


def _show_one_vs_rest(context: PageContext, options: ScoreOptions) -> None:
    default = options.positive_class if options.positive_class in options.probability_classes else options.probability_classes[0]
    label = _select_class(options, default)
    target = one_vs_rest_target(context.dataset, label)
    st.caption(escape_markdown(_("Curves rank examples by the probability of '{label}', from {source}.", label=label, source=target.description)))
    grid = _grid_or_warning(context, target)
    if grid is None:
        return
    _show_grid_notes(grid)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(roc_figure(roc_points(grid), roc_auc(grid)), key="overview_roc")
    with right:
        st.plotly_chart(
            precision_recall_figure(precision_recall_points(grid), average_precision(grid), _defined(grid.prevalence)),
            key="overview_precision_recall",
        )
    _show_calibration(
        grid,
        _("Reliability of the probability of '{label}'", label=label),
        _("share that is '{label}'", label=label),
        "overview_calibration",
    )


def _show_confidence(context: PageContext) -> None:
    target = confidence_target(context.dataset)
    st.caption(escape_markdown(_("The reliability chart compares how often the prediction is correct with {source}.", source=target.description)))
    grid = _grid_or_warning(context, target)
    if grid is None:
        return
    _show_grid_notes(grid)
    _show_calibration(grid, _("Reliability of the confidence"), _("accuracy"), "overview_confidence_calibration")


def _show_calibration(grid: ScoreGrid, title: str, observed_label: str, key: str) -> None:
    bins = calibration_bins(grid)
    if bins.empty:
        return
    st.plotly_chart(calibration_figure(bins, title, observed_label), key=key)
    error = expected_calibration_error(bins)
    st.caption(
        escape_markdown(
            _(
                "Expected calibration error {error}: the mean gap between score and observed share over 10 equal-width bins, "
                "weighted by the examples in each bin. 0 means the scores can be read as probabilities.",
                error=score(_defined(error)),
            )
        )
    )


def _grid_or_warning(context: PageContext, target: ScoreTarget) -> ScoreGrid | None:
    """Return the cached grid, or show why it cannot be computed and return None."""
    try:
        grid = cached_grid(context, target)
    except AnalysisError as error:
        st.warning(escape_markdown(f"{error.message} {error.hint or ''}"), icon=":material/warning:")
        return None
    if grid.frame.empty:
        st.info(_("No example under the current filter has a score."), icon=":material/info:")
        return None
    return grid


def _show_grid_notes(grid: ScoreGrid) -> None:
    if grid.missing:
        st.caption(_("{count} examples without a score are left out of these charts.", count=count(grid.missing)))
    if grid.below_half:
        st.warning(
            escape_markdown(
                _(
                    "{count} examples have a score below 0.5, which cannot be the confidence of the prediction in a two-class task. "
                    "If the score is the probability of the positive class, set score_kind = \"positive_class\" under [task] in the dataset file.",
                    count=count(grid.below_half),
                )
            ),
            icon=":material/warning:",
        )
    if grid.positives == 0 or grid.negatives == 0:
        st.info(
            _("The examples under the current filter are all of one kind, so the ROC curve and its area are undefined."),
            icon=":material/info:",
        )


def _defined(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

