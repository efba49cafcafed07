"""Plotly figures built from a summary (see :func:`analysis.summarize`).

Each function takes rows of the summary and returns a ``plotly`` figure, with
no Streamlit involved, so the dashboard and an exported report draw the same
charts. Rates stay fractions in the figure data and the axes format them as
percentages. An undefined rate (``None`` in the summary) becomes a gap in the
chart, never a zero bar.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from analysis.i18n import _

_HEIGHT = 380
_MARGIN = dict(l=10, r=10, t=40, b=10)

# Plotly's first default colour for ordinary bars. Small slices are grey and hatched.
SLICE_COLOR = "#636efa"
SMALL_SLICE_COLOR = "#b4b4b4"
SMALL_SLICE_PATTERN = "/"


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
