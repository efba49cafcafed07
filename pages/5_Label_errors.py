"""Label errors page: examples whose given label is probably wrong, with a one-click tag."""

from __future__ import annotations

import streamlit as st

from analysis import AnalysisError
from analysis.i18n import N_, _
from analysis.label_errors import check_probabilities
from ui.errors import escape_markdown
from ui.label_errors_page import (
    explain_method,
    flagged_toggle,
    ranking,
    read_settings,
    show_ranking,
    show_selected,
    show_tag_button,
    show_totals,
)
from ui.page import show_filter_banner, start_page


def main() -> None:
    context = start_page(N_("Label errors"), duckdb_only=True)
    st.title(_("Suspected label errors"))
    show_filter_banner(context, context.summary())
    try:
        check_probabilities(context.dataset)
    except AnalysisError as error:
        st.info(escape_markdown(error.message + " " + error.hint), icon=":material/info:")
        return
    explain_method()
    top, flagged_only, page = read_settings()
    flagged_toggle(flagged_only)
    result, page = ranking(context, flagged_only, page)
    show_totals(result)
    frame = show_ranking(result, page)
    show_tag_button(context, top, flagged_only, result)
    show_selected(context, frame, page)


main()
