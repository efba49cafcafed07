"""Showing an :class:`~analysis.AnalysisError` as a message with its hint, never a traceback."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import NoReturn

import streamlit as st

from analysis import AnalysisError

log = logging.getLogger(__name__)

# ASCII punctuation that Streamlit's Markdown gives a meaning: CommonMark syntax,
# "$" for LaTeX and ":" for emoji and colour directives.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def escape_markdown(text: str) -> str:
    """Escape ``text`` so that Streamlit shows it literally, for file names and data values in messages."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def show_error(error: AnalysisError) -> NoReturn:
    """Show ``error``'s message and hint as an error box, then stop the script run.

    Elements drawn before the call, such as the sidebar, stay on the page.
    """
    log.warning("Analysis stopped: %s", error)
    body = escape_markdown(error.message)
    if error.hint:
        body += "\n\n" + escape_markdown(error.hint)
    st.error(body, icon=":material/error:")
    st.stop()


@contextlib.contextmanager
def stop_on_analysis_error() -> Iterator[None]:
    """Show an :class:`~analysis.AnalysisError` raised in the block with :func:`show_error`.

    Other exceptions pass through: they are bugs, not problems with the input.
    """
    try:
        yield
    except AnalysisError as error:
        show_error(error)
