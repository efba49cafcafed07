"""Selections kept in the URL query string, so a copied link reproduces the view.

Query values are untrusted strings. Readers here return them as text; the
caller validates them against the dataset and calls :func:`notice_ignored` for
a value it cannot use, which then falls back to its default.

Parameters shared by every page (the dataset, the global filter and the language) are listed
in :data:`SHARED_PARAMETERS`; the navigation links carry them from page to page.
"""

from __future__ import annotations

import streamlit as st

from analysis.i18n import _
from ui.errors import escape_markdown

DATASET = "dataset"
KEEP = "keep"
EXCLUDE = "exclude"
LANGUAGE = "lang"
SHARED_PARAMETERS = (DATASET, KEEP, EXCLUDE, LANGUAGE)

# Maximum length of an invalid query value quoted back in a notice.
_QUOTED_VALUE_LENGTH = 80


def read_value(name: str) -> str | None:
    """Return the last value of the query parameter ``name``, or None when absent."""
    values = st.query_params.get_all(name)
    return values[-1] if values else None


def read_values(name: str) -> list[str]:
    return list(st.query_params.get_all(name))


def write_value(name: str, value: str | None) -> None:
    """Set the query parameter ``name``, or remove it when ``value`` is None."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    else:
        st.query_params[name] = value


def write_values(name: str, values: list[str]) -> None:
    if values:
        st.query_params[name] = list(values)
    elif name in st.query_params:
        del st.query_params[name]


def read_choice(name: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
    """Return the value of ``name`` when it is one of ``allowed``; else drop it from the URL with a notice and return ``default``."""
    requested = read_value(name)
    if requested is None:
        return default
    if requested in allowed:
        return requested
    notice_ignored(name, requested, _("use one of {names}.", names=", ".join(allowed)))
    write_value(name, None)
    return default


def read_page(name: str = "page") -> int:
    """Return the page number in ``name``, or 1 with a notice when it is not a whole number of at least 1."""
    requested = read_value(name)
    if requested is None:
        return 1
    if requested.isascii() and requested.isdigit() and int(requested) >= 1:
        return int(requested)
    notice_ignored(name, requested, _("a page number is a whole number of at least 1."))
    write_value(name, None)
    return 1


def shared_parameters() -> dict[str, str | list[str]]:
    """Return the shared parameters of the current URL, for links to other pages."""
    result: dict[str, str | list[str]] = {}
    for name in SHARED_PARAMETERS:
        values = st.query_params.get_all(name)
        if len(values) == 1 and name in (DATASET, LANGUAGE):
            result[name] = values[0]
        elif values:
            result[name] = list(values)
    return result


def quote(value: str) -> str:
    """Shorten and escape a query value for showing it back in a notice."""
    shortened = value if len(value) <= _QUOTED_VALUE_LENGTH else value[:_QUOTED_VALUE_LENGTH] + "…"
    return escape_markdown(shortened)


def notice_ignored(name: str, value: str, reason: str) -> None:
    """Tell the user that a value from the address was ignored and why, so a stale link does not mislead."""
    st.info(
        _(
            "The address sets {name} to '{value}', which was ignored: {reason}",
            name=name,
            value=quote(value),
            reason=escape_markdown(reason),
        ),
        icon=":material/link_off:",
    )
