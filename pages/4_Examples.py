"""Examples page of the error-analysis dashboard: the examples behind any filter, with their media, a detail panel and an export.

The URL parameters are listed in :mod:`ui.examples_page`.
"""

from __future__ import annotations

import functools

import streamlit as st

from analysis.examples import default_columns, matching_ids
from analysis.i18n import N_, _
from analysis.media import IMAGE
from ui.examples_page import read_columns, read_query, show_column_picker, show_filters
from ui.examples_views import (
    find_page,
    media_columns,
    selected_ids,
    show_detail,
    show_export,
    show_page_caption,
    show_table,
)
from ui.page import show_filter_banner, start_page
from ui.run_links import restrict_to_run_change
from ui.tagging import tag_controls


def main() -> None:
    context = start_page(N_("Examples"), duckdb_only=True)
    st.title(_("Examples"))
    show_filter_banner(context, context.summary())
    dataset = context.dataset

    media = media_columns(context)
    defaults = default_columns(dataset, leading=[name for name, kind in media.items() if kind == IMAGE])
    query, attribute = read_query(dataset)
    query, run_change = restrict_to_run_change(context, query)
    columns = read_columns(dataset, defaults)
    show_filters(dataset, query, attribute)
    show_column_picker(dataset, columns, defaults)

    page = find_page(context, query, columns)
    table_key = show_table(context, page, query, columns, media, None if run_change is None else run_change.prediction_columns)
    selected = selected_ids(table_key, page)
    show_page_caption(page, query, selected)
    tag_controls(context, selected, functools.partial(matching_ids, dataset, context.example_filter, query), page.total)
    show_detail(context, page, selected, media)
    show_export(context, query, columns, page.total)


main()
