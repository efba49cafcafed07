"""Slices page of the error-analysis dashboard: error rate per value of one attribute, and its examples.

The URL parameters are listed in :mod:`ui.slices_page`.
"""

from __future__ import annotations

import streamlit as st

from analysis.i18n import _
from ui.page import show_filter_banner, start_page
from ui.slices_page import (
    SliceSelection,
    attribute_rows,
    read_attribute,
    read_errors_only,
    read_page,
    read_slice_value,
    read_sort,
    show_chart,
    show_controls,
    show_examples,
    show_slice_table,
)


def main() -> None:
    context = start_page(_("Slices"))
    st.title(_("Slices"))
    summary = context.summary()
    show_filter_banner(context, summary)

    attributes = [attribute.name for attribute in context.dataset.attributes]
    if not attributes:
        st.info(_("No attribute to slice by: add a metadata file, or list its columns under [slices] attributes."))
        return

    attribute = read_attribute(attributes)
    sort = read_sort()
    rows = attribute_rows(summary, attribute, sort)
    selection = SliceSelection(
        attribute=attribute,
        sort=sort,
        value=read_slice_value(attribute, [row["value"] for row in rows]),
        errors_only=read_errors_only(),
        page=read_page(),
    )

    show_controls(attributes, selection)
    show_chart(context.dataset, summary, rows, selection)
    show_slice_table(context.dataset, rows)
    show_examples(context, selection)


main()
