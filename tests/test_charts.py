"""Figures of analysis.charts checked against the summary they are drawn from."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest

from analysis import load_config, load_dataset, summarize
from analysis.charts import slice_error_rate_figure, tag_share_figure

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def speech_summary() -> dict:
    return summarize(load_dataset(load_config(SAMPLE_DATA / "speech_commands")))


@pytest.fixture(scope="module")
def digits_summary() -> dict:
    return summarize(load_dataset(load_config(SAMPLE_DATA / "digits")))


def slice_row(value: str, count: int, errors: int | None, low: float | None, high: float | None) -> dict:
    rate = None if errors is None else errors / count
    return {
        "column": "device",
        "value": value,
        "count": count,
        "errors": errors,
        "error_rate": rate,
        "ci_low": low,
        "ci_high": high,
    }


@pytest.mark.parametrize("summary_name", ["speech_summary", "digits_summary"])
def test_slice_figure_matches_summary(summary_name, request):
    summary = request.getfixturevalue(summary_name)
    for column in dict.fromkeys(row["column"] for row in summary["slices"]):
        rows = [row for row in summary["slices"] if row["column"] == column]

        figure = slice_error_rate_figure(summary["slices"], column, summary["overall"]["error_rate"])
        bar = figure.data[0]

        assert len(figure.data) == 1
        assert list(bar.x) == [row["value"] for row in rows]
        assert list(bar.y) == pytest.approx([row["error_rate"] for row in rows])
        assert list(bar.error_y.array) == pytest.approx([row["ci_high"] - row["error_rate"] for row in rows])
        assert list(bar.error_y.arrayminus) == pytest.approx([row["error_rate"] - row["ci_low"] for row in rows])
        assert [item[0] for item in bar.customdata] == [row["count"] for row in rows]
        assert figure.layout.xaxis.title.text == column


def test_slice_figure_marks_overall_rate(speech_summary):
    overall = speech_summary["overall"]["error_rate"]
    column = speech_summary["slices"][0]["column"]

    figure = slice_error_rate_figure(speech_summary["slices"], column, overall)

    lines = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert len(lines) == 1
    assert lines[0].y0 == pytest.approx(overall)
    assert lines[0].y1 == pytest.approx(overall)


def test_slice_figure_without_overall_rate():
    figure = slice_error_rate_figure([slice_row("phone", 10, 2, 0.05, 0.5)], "device", None)

    assert not figure.layout.shapes


def test_slice_figure_keeps_undefined_rate_as_gap():
    rows = [slice_row("phone", 10, 2, 0.05, 0.5), slice_row("laptop", 0, None, None, None)]

    figure = slice_error_rate_figure(rows, "device", 0.2)
    bar = figure.data[0]

    assert list(bar.x) == ["phone", "laptop"]
    assert bar.y[0] == pytest.approx(0.2)
    assert bar.y[1] is None
    assert bar.error_y.array[1] is None
    assert bar.error_y.arrayminus[1] is None


def test_slice_figure_numeric_values_stay_categories():
    rows = [slice_row("10", 5, 1, 0.0, 0.6), slice_row("2", 5, 2, 0.1, 0.8)]

    figure = slice_error_rate_figure(rows, "device", None)

    assert figure.layout.xaxis.type == "category"
    assert list(figure.data[0].x) == ["10", "2"]


def test_slice_figure_other_column_is_empty(speech_summary):
    figure = slice_error_rate_figure(speech_summary["slices"], "no_such_column", None)

    assert list(figure.data[0].x) == []


def test_tag_figure_matches_summary(speech_summary):
    rows = speech_summary["tags"]

    figure = tag_share_figure(rows)
    data_bar, error_bar = figure.data

    assert list(data_bar.x) == [row["tag"] for row in rows]
    assert "(untagged)" in list(data_bar.x)
    assert list(data_bar.y) == pytest.approx([row["share_of_data"] for row in rows])
    assert list(error_bar.x) == list(data_bar.x)
    assert list(error_bar.y) == pytest.approx([row["share_of_errors"] for row in rows])
    assert [item[0] for item in data_bar.customdata] == [row["count"] for row in rows]
    assert [item[0] for item in error_bar.customdata] == [row["errors"] for row in rows]
    assert figure.layout.barmode == "group"


def test_rates_shown_as_percentages(speech_summary):
    column = speech_summary["slices"][0]["column"]

    figures = [
        slice_error_rate_figure(speech_summary["slices"], column, speech_summary["overall"]["error_rate"]),
        tag_share_figure(speech_summary["tags"]),
    ]

    for figure in figures:
        assert figure.layout.yaxis.tickformat == ".1%"


def test_figures_serialize_for_reports(speech_summary):
    column = speech_summary["slices"][0]["column"]
    figures = [
        slice_error_rate_figure(speech_summary["slices"], column, speech_summary["overall"]["error_rate"]),
        tag_share_figure(speech_summary["tags"]),
        slice_error_rate_figure([slice_row("laptop", 0, None, None, None)], "device", None),
    ]

    for figure in figures:
        assert isinstance(figure, go.Figure)
        assert json.loads(figure.to_json())["data"]
        assert "<div" in figure.to_html(include_plotlyjs=False, full_html=False)
