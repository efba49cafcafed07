"""Formatting of percentages and percentage points shared by the CLI and the dashboard."""

from __future__ import annotations

import math

import pytest

from analysis import load_config, load_dataset, summarize
from analysis.i18n import format_percent, percentage_points
from analysis.text_output import render_summary
from ui.formatting import points, signed_points

SPEECH = "sample_data/speech_commands"


def test_percent_has_one_decimal():
    assert format_percent(0.1234) == "12.3%"
    assert format_percent(0.04) == "4.0%"


@pytest.mark.parametrize("difference", [-0.0003, -0.0, 0.0004])
def test_near_zero_points_become_zero(difference):
    shown = percentage_points(difference)

    assert shown == 0.0
    assert math.copysign(1.0, shown) == 1.0


def test_points_keep_full_precision():
    assert percentage_points(-0.01234) == pytest.approx(-1.234)
    assert points(0.01234) == pytest.approx(1.234)


def test_signed_points_never_negative_zero():
    assert signed_points(-0.0003) == "+0.0 points"


def test_text_output_has_no_negative_zero(repo_root):
    summary = summarize(load_dataset(load_config(repo_root / SPEECH)))

    assert "-0.0" not in render_summary(summary)
