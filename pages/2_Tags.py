"""Tags page of the error-analysis dashboard: the tag table, its charts and typed HLP values."""

from __future__ import annotations

import streamlit as st

from analysis.i18n import N_, _
from ui.page import show_filter_banner, start_page
from ui.tagging import show_tag_manager
from ui.tags_page import (
    read_sort,
    select_sort,
    show_charts,
    show_hlp_editor,
    show_tag_table,
)


def main() -> None:
    context = start_page(N_("Tags"))
    state = context.workspace
    summary = context.summary()

    st.title(_("Tags"))
    show_filter_banner(context, summary)
    if not context.dataset.tags:
        st.info(
            _(
                "The dataset defines no tags, so every example is in the untagged group. "
                "Tags come from boolean tag_* columns of the metadata file, or from the [tags] section of the dataset file."
            ),
            icon=":material/info:",
        )
    column, order = read_sort()
    select_sort(column, order)
    show_tag_table(context, summary, state, column, order)
    show_charts(summary, column, order)
    show_hlp_editor(context, summary, state)
    show_tag_manager(context, summary)


main()
