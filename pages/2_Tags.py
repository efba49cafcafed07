"""Tags page of the error-analysis dashboard."""

from __future__ import annotations

import streamlit as st

from analysis.i18n import _
from ui.page import start_page


def main() -> None:
    context = start_page(_("Tags"))
    st.title(_("Tags"))


main()
