"""Plotly figures built from a summary (see :func:`analysis.summarize`).

Each function takes rows of the summary and returns a ``plotly`` figure, with
no Streamlit involved, so the dashboard and an exported report draw the same
charts. Rates stay fractions in the figure data and the axes format them as
percentages. An undefined rate (``None`` in the summary) becomes a gap in the
chart, never a zero bar.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from analysis.i18n import _, format_percent, number_separators

_HEIGHT = 380
_MARGIN = dict(l=10, r=10, t=40, b=10)

# Plotly's first default colour for ordinary bars. Small slices are grey and hatched.
SLICE_COLOR = "#636efa"
SMALL_SLICE_COLOR = "#b4b4b4"
SMALL_SLICE_PATTERN = "/"


def localized(build: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """Make a figure builder write its numbers (ticks, hover labels) with the current language's separators."""

    @functools.wraps(build)
    def build_localized(*args: Any, **kwargs: Any) -> go.Figure:
        figure = build(*args, **kwargs)
        figure.update_layout(separators=number_separators())
        return figure

    return build_localized


@localized
def slice_error_rate_figure(
    slices: list[dict[str, Any]],
    column: str,
    overall_error_rate: float | None,
    min_support: int | None = None,
    selected: str | None = None,
) -> go.Figure:
    """Draw the error rate of each value of the attribute ``column`` with its interval as error bars.

    ``slices`` is the summary's ``slices`` list, of which the rows for
    ``column`` are drawn in their order. A dashed line marks the overall error
    rate when it is defined. With ``min_support``, the bar of a slice with
    fewer examples is grey and hatched, and its hover text states that it is small.
    With ``selected``, the other bars are dimmed as when that bar is clicked.
    """
    rows = [row for row in slices if row["column"] == column]
    values = [str(row["value"]) for row in rows]
    error_rates = [row["error_rate"] for row in rows]
    small = [min_support is not None and row["count"] < min_support for row in rows]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=error_rates,
            name=_("error rate"),
            selectedpoints=[values.index(selected)] if selected in values else None,
            marker=dict(
                color=[SMALL_SLICE_COLOR if is_small else SLICE_COLOR for is_small in small],
                pattern=dict(shape=[SMALL_SLICE_PATTERN if is_small else "" for is_small in small]),
            ),
            error_y=dict(
                type="data",
                symmetric=False,
                array=[_distance(row["ci_high"], row["error_rate"]) for row in rows],
                arrayminus=[_distance(row["error_rate"], row["ci_low"]) for row in rows],
            ),
            customdata=[
                [row["count"], row["ci_low"], row["ci_high"], _small_slice_note(min_support) if is_small else ""]
                for row, is_small in zip(rows, small)
            ],
            hovertemplate=_(
                "%{x}<br>error rate %{y:.1%}<br>interval %{customdata[1]:.1%} to %{customdata[2]:.1%}"
                "<br>%{customdata[0]:,} examples%{customdata[3]}<extra></extra>"
            ),
        )
    )
    if overall_error_rate is not None:
        figure.add_hline(
            y=overall_error_rate,
            line_dash="dash",
            annotation_text=_("overall {rate:.1%}", rate=overall_error_rate),
            annotation_position="top left",
        )
    figure.update_layout(
        title=dict(text=_("Error rate by {column}", column=column)),
        xaxis=dict(title=dict(text=column), type="category"),
        yaxis=dict(title=dict(text=_("error rate")), tickformat=".1%", rangemode="tozero"),
        height=_HEIGHT,
        margin=_MARGIN,
        showlegend=False,
    )
    return figure


def _small_slice_note(min_support: int | None) -> str:
    return "<br>" + _("fewer than {count} examples: wide interval", count=min_support)


@localized
def tag_share_figure(tags: list[dict[str, Any]]) -> go.Figure:
    """Draw each tag's share of the data next to its share of the errors.

    ``tags`` is the summary's ``tags`` list, including the untagged group. A
    tag whose share of errors is well above its share of data is where the
    model fails more than average.
    """
    names = [str(row["tag"]) for row in tags]
    figure = go.Figure(
        [
            go.Bar(
                x=names,
                y=[row["share_of_data"] for row in tags],
                name=_("share of data"),
                customdata=[[row["count"]] for row in tags],
                hovertemplate=_("%{x}<br>%{y:.1%} of the examples (%{customdata[0]:,})<extra></extra>"),
            ),
            go.Bar(
                x=names,
                y=[row["share_of_errors"] for row in tags],
                name=_("share of errors"),
                customdata=[[row["errors"]] for row in tags],
                hovertemplate=_("%{x}<br>%{y:.1%} of the errors (%{customdata[0]:,})<extra></extra>"),
            ),
        ]
    )
    figure.update_layout(
        title=dict(text=_("Share of data and share of errors by tag")),
        barmode="group",
        xaxis=dict(title=dict(text=_("tag")), type="category"),
        yaxis=dict(title=dict(text=_("share")), tickformat=".1%", rangemode="tozero"),
        height=_HEIGHT,
        margin=_MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return figure


@localized
def tag_accuracy_hlp_figure(tags: list[dict[str, Any]]) -> go.Figure:
    """Draw each tag's accuracy, with its interval, next to its HLP.

    ``tags`` is the summary's ``tags`` list (including the untagged group), in
    the order to draw. The gap between a bar and its HLP marker is the room
    for improvement. The interval is the Wilson interval of the error rate,
    turned into one for accuracy. A tag without HLP has no marker.
    """
    names = [str(row["tag"]) for row in tags]
    accuracy_low = [None if row["ci_high"] is None else 1 - row["ci_high"] for row in tags]
    accuracy_high = [None if row["ci_low"] is None else 1 - row["ci_low"] for row in tags]
    figure = go.Figure(
        [
            go.Bar(
                x=names,
                y=[row["accuracy"] for row in tags],
                name=_("accuracy"),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[_distance(high, row["accuracy"]) for high, row in zip(accuracy_high, tags)],
                    arrayminus=[_distance(row["accuracy"], low) for low, row in zip(accuracy_low, tags)],
                ),
                customdata=[[row["count"]] for row in tags],
                hovertemplate=_("%{x}<br>accuracy %{y:.1%}<br>%{customdata[0]:,} examples<extra></extra>"),
            ),
            go.Scatter(
                x=names,
                y=[row["hlp"] for row in tags],
                name=_("HLP"),
                mode="markers",
                marker=dict(symbol="diamond", size=12),
                hovertemplate=_("%{x}<br>HLP %{y:.1%}<extra></extra>"),
            ),
        ]
    )
    figure.update_layout(
        title=dict(text=_("Accuracy and HLP by tag")),
        xaxis=dict(title=dict(text=_("tag")), type="category"),
        yaxis=dict(title=dict(text=_("accuracy")), tickformat=".0%", rangemode="tozero"),
        height=_HEIGHT,
        margin=_MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return figure


@localized
def points_per_effort_figure(priorities: list[dict[str, Any]]) -> go.Figure:
    """Draw the overall accuracy points each tag gains per unit of effort, largest first.

    ``priorities`` are rows of :func:`analysis.priority.priority_list`. Effort
    is 1 / ease, so the bar is potential gain in points times ease: the
    tallest bar is where the next point of accuracy is cheapest. Tags without
    a defined gain are left out.
    """
    rows = sorted(
        (row for row in priorities if row["points_per_effort"] is not None),
        key=lambda row: -row["points_per_effort"],
    )
    figure = go.Figure(
        go.Bar(
            x=[str(row["tag"]) for row in rows],
            y=[row["points_per_effort"] for row in rows],
            customdata=[[100 * row["potential_gain"], row["ease"]] for row in rows],
            hovertemplate=_(
                "%{x}<br>%{y:.2f} points per unit of effort<br>potential gain %{customdata[0]:.2f} points"
                "<br>ease %{customdata[1]:.1f}<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        title=dict(text=_("Accuracy points gained per unit of effort")),
        xaxis=dict(title=dict(text=_("tag")), type="category"),
        yaxis=dict(title=dict(text=_("points per unit of effort")), rangemode="tozero"),
        height=_HEIGHT,
        margin=_MARGIN,
        showlegend=False,
    )
    return figure


def _distance(upper: float | None, lower: float | None) -> float | None:
    """Return ``upper - lower``, or None when either bound is undefined."""
    if upper is None or lower is None:
        return None
    return upper - lower


# Classes and the confusion matrix --------------------------------------------------------


@localized
def class_distribution_figure(classes: list[dict[str, Any]]) -> go.Figure:
    """Draw, per class, how many examples carry the label next to how many the model predicts as it.

    ``classes`` is the summary's ``classes`` list. A prediction bar far from
    its label bar shows a class the model over- or under-predicts.
    """
    names = [str(row["label"]) for row in classes]
    figure = go.Figure(
        [
            go.Bar(
                x=names,
                y=[row["support"] for row in classes],
                name=_("labels"),
                hovertemplate=_("%{x}<br>%{y:,} examples with this label<extra></extra>"),
            ),
            go.Bar(
                x=names,
                y=[row["predicted"] for row in classes],
                name=_("predictions"),
                hovertemplate=_("%{x}<br>%{y:,} examples predicted as this class<extra></extra>"),
            ),
        ]
    )
    figure.update_layout(
        title=dict(text=_("Labels and predictions per class")),
        barmode="group",
        xaxis=dict(title=dict(text=_("class")), type="category"),
        yaxis=dict(title=dict(text=_("examples")), rangemode="tozero"),
        height=_HEIGHT,
        margin=_MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return figure


def row_normalised(counts: list[list[int]]) -> list[list[float | None]]:
    """Divide each row of a confusion matrix by its total (the label's support); None for an empty row."""
    rows = []
    for row in counts:
        total = sum(row)
        rows.append([value / total if total else None for value in row])
    return rows


@localized
def confusion_matrix_figure(classes: list[str], counts: list[list[int]], normalised: bool = False, title: str | None = None) -> go.Figure:
    """Draw a confusion matrix as a heatmap: rows are labels, columns are predictions.

    With ``normalised`` each cell is its share of the row, so the diagonal is
    each class's recall. The cell text is then that share, and the hover adds
    the count. Otherwise the cells are counts.
    """
    names = [str(name) for name in classes]
    shares = row_normalised(counts)
    values = shares if normalised else counts
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=names,
            y=names,
            customdata=[[[count, share] for count, share in zip(count_row, share_row)] for count_row, share_row in zip(counts, shares)],
            colorscale="Blues",
            texttemplate="%{z:.1%}" if normalised else "%{z:,}",
            hovertemplate=_(
                "label %{y}, predicted %{x}<br>%{customdata[0]:,} examples (%{customdata[1]:.1%} of the label)<extra></extra>"
            ),
            colorbar=dict(tickformat=".0%" if normalised else ",d"),
            zmin=0,
            zmax=1 if normalised else None,
        )
    )
    size = max(_HEIGHT, 60 + 28 * len(names))
    figure.update_layout(
        title=dict(text=title or (_("Confusion matrix, share of each label") if normalised else _("Confusion matrix, counts"))),
        xaxis=dict(title=dict(text=_("prediction")), type="category", side="bottom"),
        yaxis=dict(title=dict(text=_("label")), type="category", autorange="reversed"),
        height=size,
        margin=_MARGIN,
    )
    return figure


# Score curves ------------------------------------------------------------------------------

# Axis range of rates and probabilities, a little wider than 0 to 1 so points and ticks on the edges show.
_UNIT_RANGE = [-0.02, 1.02]


@localized
def roc_figure(points: Any, auc: float | None, marker: tuple[float, float] | None = None) -> go.Figure:
    """Draw a ROC curve from :func:`analysis.scores.roc_points`, with the chance diagonal.

    ``marker`` is the (false-positive rate, true-positive rate) at a chosen
    threshold, drawn as a point.
    """
    label = _("AUC {auc:.3f}", auc=auc) if auc is not None and not math.isnan(auc) else _("AUC undefined")
    figure = go.Figure(
        go.Scatter(
            x=points["fpr"],
            y=points["tpr"],
            mode="lines",
            name=label,
            customdata=points["threshold"],
            hovertemplate=_("threshold %{customdata:.4f}<br>false-positive rate %{x:.1%}<br>true-positive rate %{y:.1%}<extra></extra>"),
        )
    )
    figure.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line=dict(dash="dot", color="gray"))
    if marker is not None:
        _add_marker(figure, *marker)
    _layout_rate_axes(figure, _("ROC curve ({auc})", auc=label), _("false-positive rate"), _("true-positive rate (recall)"))
    return figure


@localized
def precision_recall_figure(
    points: Any, average_precision: float | None, prevalence: float | None, marker: tuple[float, float] | None = None
) -> go.Figure:
    """Draw a precision-recall curve from :func:`analysis.scores.precision_recall_points`.

    A dashed line marks ``prevalence``, the precision of a model that guesses.
    ``marker`` is the (recall, precision) at a chosen threshold.
    """
    defined = average_precision is not None and not math.isnan(average_precision)
    label = _("average precision {value:.3f}", value=average_precision) if defined else _("average precision undefined")
    figure = go.Figure(
        go.Scatter(
            x=points["recall"],
            y=points["precision"],
            mode="lines",
            line_shape="vh",
            name=label,
            customdata=points["threshold"],
            hovertemplate=_("threshold %{customdata:.4f}<br>recall %{x:.1%}<br>precision %{y:.1%}<extra></extra>"),
        )
    )
    if prevalence is not None and not math.isnan(prevalence):
        figure.add_hline(
            y=prevalence,
            line_dash="dot",
            line_color="gray",
            annotation_text=_("share of positives {share:.1%}", share=prevalence),
            annotation_position="bottom right",
        )
    if marker is not None:
        _add_marker(figure, *marker)
    _layout_rate_axes(figure, _("Precision-recall curve ({value})", value=label), _("recall"), _("precision"))
    return figure


@localized
def calibration_figure(bins: Any, title: str, observed_label: str) -> go.Figure:
    """Draw a reliability chart from :func:`analysis.scores.calibration_bins`, with the diagonal of perfect calibration.

    Each point is one score bin: its mean score against the observed share
    (``observed_label`` names it, such as "share of positives"). The bars
    below show how many examples each bin holds.
    """
    # Headroom above the largest bar, so it does not reach the top of the chart.
    largest = 1.1 * max(int(bins["count"].max()), 1) if len(bins) else 1
    figure = go.Figure(
        [
            go.Bar(
                x=(bins["low"] + bins["high"]) / 2,
                y=bins["count"],
                width=(bins["high"] - bins["low"]) * 0.9,
                name=_("examples"),
                yaxis="y2",
                marker_color="lightgray",
                hovertemplate=_("%{y:,} examples<extra></extra>"),
            ),
            go.Scatter(
                x=bins["mean_score"],
                y=bins["observed"],
                mode="lines+markers",
                name=observed_label,
                customdata=bins[["low", "high", "count"]].to_numpy(),
                hovertemplate=_(
                    "scores %{customdata[0]:.1f} to %{customdata[1]:.1f}<br>mean score %{x:.3f}<br>"
                    "observed %{y:.1%}<br>%{customdata[2]:,} examples<extra></extra>"
                ),
            ),
        ]
    )
    figure.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line=dict(dash="dot", color="gray"))
    figure.update_layout(
        title=dict(text=title),
        xaxis=dict(title=dict(text=_("mean score in the bin")), range=_UNIT_RANGE),
        yaxis=dict(title=dict(text=observed_label), tickformat=".0%", range=_UNIT_RANGE),
        # Scaled like the left axis, so a bar of 0 examples sits on the line of share 0.
        yaxis2=dict(
            title=dict(text=_("examples")),
            overlaying="y",
            side="right",
            showgrid=False,
            tickmode="auto",
            range=[bound * largest for bound in _UNIT_RANGE],
        ),
        height=_HEIGHT,
        margin=_MARGIN,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return figure


@localized
def intersection_heatmap(cells: list[dict[str, Any]], metric: str) -> go.Figure:
    """Draw a metric over the cells of an intersection, rows by the first predicate, columns by the second.

    ``cells`` are rows of :func:`analysis.slice_analysis.intersection_table`
    (two predicates each). Each cell's text gives the value and its support,
    so a dark cell resting on a handful of examples reads as such; flagged
    cells are marked with an asterisk. Pairs of values that never occur, and
    undefined values, stay blank.
    """
    row_values = list(dict.fromkeys(_predicate_text(cell["predicates"][0]) for cell in cells))
    column_values = list(dict.fromkeys(_predicate_text(cell["predicates"][1]) for cell in cells))
    z: list[list[float | None]] = [[None] * len(column_values) for _row in row_values]
    text = [[""] * len(column_values) for _row in row_values]
    for cell in cells:
        i = row_values.index(_predicate_text(cell["predicates"][0]))
        j = column_values.index(_predicate_text(cell["predicates"][1]))
        z[i][j] = cell["value"]
        shown = _("undefined") if cell["value"] is None else format_percent(cell["value"])
        marker = "*" if cell["flagged"] else ""
        text[i][j] = _("{value}{marker}<br>n = {support}", value=shown, marker=marker, support=cell["support"])
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=column_values,
            y=row_values,
            text=text,
            texttemplate="%{text}",
            colorscale="Reds",
            colorbar={"title": {"text": metric}, "tickformat": ".0%"},
            hovertemplate="%{y} / %{x}<br>%{text}<extra></extra>",
        )
    )
    first, second = (_predicate_name(predicate) for predicate in cells[0]["predicates"]) if cells else ("", "")
    figure.update_layout(
        title={"text": _("{metric} by {first} and {second} (* flagged as worse)", metric=metric, first=first, second=second)},
        xaxis={"title": {"text": second}, "type": "category"},
        yaxis={"title": {"text": first}, "type": "category"},
        height=_HEIGHT,
        margin=_MARGIN,
    )
    return figure


def _layout_rate_axes(figure: go.Figure, title: str, x_title: str, y_title: str) -> None:
    """Title a curve whose axes are both rates from 0 to 1, shown as percentages."""
    figure.update_layout(
        title=dict(text=title),
        xaxis=dict(title=dict(text=x_title), tickformat=".0%", range=_UNIT_RANGE),
        yaxis=dict(title=dict(text=y_title), tickformat=".0%", range=_UNIT_RANGE),
        height=_HEIGHT,
        margin=_MARGIN,
        showlegend=False,
    )


def _add_marker(figure: go.Figure, x: float | None, y: float | None) -> None:
    if x is None or y is None or math.isnan(x) or math.isnan(y):
        return
    figure.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers",
            marker=dict(size=12, symbol="circle-open", line=dict(width=3)),
            name=_("chosen threshold"),
            hoverinfo="skip",
        )
    )


def _predicate_name(predicate: dict[str, Any]) -> str:
    return predicate["tag"] if "tag" in predicate else predicate["attribute"]


def _predicate_text(predicate: dict[str, Any]) -> str:
    return str(predicate["value"]).lower() if "tag" in predicate else str(predicate["value"])
