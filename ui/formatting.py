"""Formatting of summary values for the dashboard: percentages, points, undefined values."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from analysis.i18n import _, fill, format_percent, number_separators, percentage_points
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
    data, config = localized_table(shown, column_config, _("undefined"))
    st.dataframe(data, hide_index=True, column_config=config, placeholder=_("undefined"))


# A printf conversion as Streamlit's number formats use them: "%.1f", "%+.3f", "%d", "%.2e", "%.3g".
_PRINTF_CONVERSION = re.compile(r"%(?P<sign>\+?)(?:\.(?P<precision>\d+))?(?P<kind>[dfeg])")


def localized_table(frame: pd.DataFrame, column_config: dict[str, Any], missing: str = "") -> tuple[Any, dict[str, Any]]:
    """Return the data and column config for ``st.dataframe`` with the numbers written in the current language.

    Streamlit writes number formats with "." and "," whatever the language.
    Outside English, each number column gets a pandas Styler formatter that
    writes the same format with the language's separators instead. The cells
    keep their numbers, so the columns still sort by value. ``missing`` is
    shown for empty cells.
    """
    if number_separators() == ".,":
        return frame, column_config
    formatters = {}
    config = dict(column_config)
    for name in frame.columns:
        column = column_config.get(name)
        type_config = column.get("type_config", {}) if isinstance(column, dict) else {}
        if type_config.get("type") not in (None, "number") or not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            continue
        formatters[name] = _number_formatter(type_config.get("format"))
        if "format" in type_config:
            config[name] = {**column, "type_config": {key: value for key, value in type_config.items() if key != "format"}}
    if not formatters:
        return frame, column_config
    return frame.style.format(formatters, na_rep=missing), config


def _number_formatter(number_format: str | None) -> Any:
    """Return a function writing a number as Streamlit's ``number_format`` would, with the current language's separators."""
    if number_format is None or number_format == "localized":
        grouping = "," if number_format == "localized" else ""
        return lambda value: fill("{value:" + grouping + ("d" if float(value).is_integer() else ".3f") + "}", value=int(value) if float(value).is_integer() else value)
    match = _PRINTF_CONVERSION.search(number_format)
    if match is None:
        return lambda value: fill("{value}", value=value)
    precision = f".{match['precision']}" if match["precision"] and match["kind"] != "d" else ""
    spec = f"{match['sign']}{precision}{match['kind']}"
    prefix = number_format[: match.start()].replace("%%", "%")
    suffix = number_format[match.end() :].replace("%%", "%")
    return lambda value: prefix + fill("{value:" + spec + "}", value=int(value) if match["kind"] == "d" else value) + suffix


def show_notes(summary: dict[str, Any], prefix: str) -> None:
    """List the reasons the summary gives for undefined cells under ``prefix`` (for example "tags[")."""
    reasons = list(dict.fromkeys(text for path, text in summary["notes"].items() if path.startswith(prefix)))
    if not reasons:
        return
    with st.expander(_("Why some cells are undefined")):
        st.markdown("\n".join(f"- {escape_markdown(reason)}" for reason in reasons))
