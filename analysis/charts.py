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


def slice_error_rate_figure(slices: list[dict[str, Any]], column: str, overall_error_rate: float | None) -> go.Figure:
    """Draw the error rate of each value of the attribute ``column`` with its interval as error bars.

    ``slices`` is the summary's ``slices`` list, of which the rows for
    ``column`` are drawn in their order. A dashed line marks the overall error
    rate when it is defined.
    """
    rows = [row for row in slices if row["column"] == column]
    values = [str(row["value"]) for row in rows]
    error_rates = [row["error_rate"] for row in rows]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=error_rates,
            name=_("error rate"),
            error_y=dict(
                type="data",
                symmetric=False,
                array=[_distance(row["ci_high"], row["error_rate"]) for row in rows],
                arrayminus=[_distance(row["error_rate"], row["ci_low"]) for row in rows],
            ),
            customdata=[[row["count"], row["ci_low"], row["ci_high"]] for row in rows],
            hovertemplate=_(
                "%{x}<br>error rate %{y:.1%}<br>interval %{customdata[1]:.1%} to %{customdata[2]:.1%}"
                "<br>%{customdata[0]:,} examples<extra></extra>"
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


def _distance(upper: float | None, lower: float | None) -> float | None:
    """Return ``upper - lower``, or None when either bound is undefined."""
    if upper is None or lower is None:
        return None
    return upper - lower


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
        shown = _("undefined") if cell["value"] is None else f"{100 * cell['value']:.1f}%"
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


def _predicate_name(predicate: dict[str, Any]) -> str:
    return predicate["tag"] if "tag" in predicate else predicate["attribute"]


def _predicate_text(predicate: dict[str, Any]) -> str:
    return str(predicate["value"]).lower() if "tag" in predicate else str(predicate["value"])
