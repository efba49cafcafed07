"""The language of the dashboard: read from the URL's ``lang`` parameter and chosen in the sidebar.

The language lives in the URL, so a copied link opens in the sender's
language. Each script run sets it before drawing anything, because messages
are translated as they are drawn.
"""

from __future__ import annotations

import streamlit as st

from analysis.i18n import LANGUAGES, SOURCE_LANGUAGE, _, current_language, set_language
from ui.url_state import LANGUAGE, notice_ignored, read_value, write_value

_PICKER_KEY = "sidebar_language"


def set_url_language() -> str | None:
    """Set the language of this script run from the URL, and return the URL's value when it names no known language."""
    requested = read_value(LANGUAGE)
    known = requested in LANGUAGES
    set_language(requested if known else SOURCE_LANGUAGE)
    return None if requested is None or known else requested


def notice_unknown_language(requested: str) -> None:
    """Drop an unknown ``lang`` value from the URL and show a notice, once the page can show notices."""
    notice_ignored(LANGUAGE, requested, _("use one of {names}.", names=", ".join(LANGUAGES)))
    write_value(LANGUAGE, None)


def draw_language_picker() -> None:
    """Draw the language picker in the sidebar; a change is written to the URL and applied on the rerun."""
    st.session_state[_PICKER_KEY] = current_language()
    st.sidebar.selectbox(
        _("Language"),
        list(LANGUAGES),
        key=_PICKER_KEY,
        format_func=LANGUAGES.get,
        on_change=_store_language,
        help=_("The language of the dashboard and of the report it downloads. It is kept in the address, so a copied link opens in the same language."),
    )


def _store_language() -> None:
    language = st.session_state[_PICKER_KEY]
    write_value(LANGUAGE, None if language == SOURCE_LANGUAGE else language)
