"""Plotly figure of one metric across runs, in time order, for the Experiments page and any report."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from analysis.i18n import _


def metric_across_runs_figure(points: list[tuple[str, str | None, float]], baseline: float, metric_label: str, as_percent: bool = True) -> go.Figure:
    """Draw ``metric_label`` per run, one marker per (run name, ISO time, value) in the order given, with the majority-class value ``baseline`` dashed.

    Runs are placed by position, not by time, so runs logged minutes apart stay readable; the hover shows each run's time.
    """
    scale = 100 if as_percent else 1
    names = [name for name, _time, _value in points]
    values = [None if value is None or math.isnan(value) else scale * value for _name, _time, value in points]
    times = [time or _("time unknown") for _name, time, _value in points]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=names,
            y=values,
            mode="lines+markers",
            name=metric_label,
            customdata=times,
            hovertemplate="%{x}<br>%{customdata}<br>%{y:.1f}" + ("%" if as_percent else "") + "<extra></extra>"
            if as_percent
            else "%{x}<br>%{customdata}<br>%{y:.3f}<extra></extra>",
        )
    )
    if not math.isnan(baseline):
        figure.add_hline(
            y=scale * baseline,
            line_dash="dash",
            line_color="grey",
            annotation_text=_("majority class"),
            annotation_position="bottom right",
        )
    figure.update_layout(
        title=_("{metric} of each run, oldest first", metric=metric_label),
        xaxis_title=_("run"),
        yaxis_title=metric_label + (" (%)" if as_percent else ""),
        showlegend=False,
        margin={"t": 60, "b": 40},
    )
    return figure
