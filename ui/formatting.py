"""Formatting of summary values for the dashboard: percentages, points, undefined values."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis.i18n import _, format_percent, percentage_points
from ui.errors import escape_markdown


def undefined() -> str:
    return _("undefined (n = 0)")


def percent(value: float | None) -> str:
    return undefined() if value is None else format_percent(value)


def score(value: float | None) -> str:
    return undefined() if value is None else _("{value:.3f}", value=value)


def signed_points(value: float | None) -> str:
    return undefined() if value is None else _("{value:+.1f} points", value=points(value))


def count(value: int) -> str:
    return _("{count:,}", count=value)


def points(value: float | None) -> float | None:
    """Convert a difference of fractions to percentage points for a table column."""
    return None if value is None else percentage_points(value)


def interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return undefined()
    return _("{low} to {high}", low=percent(low), high=percent(high))


# Percent columns hold fractions; show_table scales them, so every rate shows one decimal.
PERCENT_FORMAT = "%.1f%%"


def percent_column(label: str, help_text: str | None = None, width: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, help=help_text, format=PERCENT_FORMAT, width=width)


def points_column(label: str, help_text: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, help=help_text, format=_("%+.1f points"))


def show_table(frame: pd.DataFrame, column_config: dict[str, Any]) -> None:
    """Show ``frame`` with ``column_config``, turning the fractions of percent columns into percentages."""
    percent_columns = [
        name
        for name, config in column_config.items()
        if isinstance(config, dict) and config.get("type_config", {}).get("format") == PERCENT_FORMAT
    ]
    shown = frame.assign(**{name: frame[name] * 100 for name in percent_columns if name in frame})
    st.dataframe(shown, hide_index=True, column_config=column_config, placeholder=_("undefined"))


def show_notes(summary: dict[str, Any], prefix: str) -> None:
    """List the reasons the summary gives for undefined cells under ``prefix`` (for example "tags[")."""
    reasons = list(dict.fromkeys(text for path, text in summary["notes"].items() if path.startswith(prefix)))
    if not reasons:
        return
    with st.expander(_("Why some cells are undefined")):
        st.markdown("\n".join(f"- {escape_markdown(reason)}" for reason in reasons))
