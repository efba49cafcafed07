"""Messages from widget callbacks, shown once at a fixed place on the next run.

A callback runs before the page script, so a message it shows directly
would land at the top of the page. Callbacks store the message under a key
instead, and the page shows it where the widgets are.
"""

from __future__ import annotations

import streamlit as st

from analysis import AnalysisError
from ui.errors import escape_markdown


def set_message(key: str, kind: str, text: str) -> None:
    """Keep ``text`` to show at ``key``. ``kind`` is success, info, warning or error."""
    st.session_state[key] = (kind, text)


def set_error(key: str, error: AnalysisError) -> None:
    """Keep the message and hint of ``error`` to show at ``key``."""
    text = error.message if not error.hint else f"{error.message}\n\n{error.hint}"
    set_message(key, "error", text)


def show_message(key: str) -> None:
    """Show, once, the message kept at ``key``."""
    message = st.session_state.pop(key, None)
    if message is None:
        return
    kind, text = message
    show = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[kind]
    show(escape_markdown(text))
