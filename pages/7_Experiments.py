"""Experiments page: the runs of the dataset, the comparison of two runs slice by slice and tag by tag, and the run log form.

The URL parameters are listed in :mod:`ui.experiments_page`.
"""

from __future__ import annotations

import streamlit as st

from analysis.i18n import N_, _
from ui.experiments_page import (
    read_runs,
    read_sort,
    run_rows,
    select_runs,
    show_comparison,
    show_log_form,
    show_metric_chart,
    show_run_table,
)
from ui.page import show_filter_banner, start_page
from ui.runs_data import run_catalog


def main() -> None:
    context = start_page(N_("Experiments"), duckdb_only=True)
    st.title(_("Experiments"))
    show_filter_banner(context, context.summary())
    catalog = run_catalog(context)
    for notice in catalog.notices:
        st.info(notice, icon=":material/info:")
    if len(catalog.runs) == 1:
        st.info(
            _(
                "No run is recorded for this dataset yet, so only the majority-class predictor is listed. "
                "Log runs with python -m analysis log-run or the form below, or list run files under [runs] in the dataset file."
            ),
            icon=":material/info:",
        )

    st.subheader(_("Runs"))
    frame = run_rows(context, catalog)
    column, order = read_sort(list(frame.columns))
    show_run_table(frame, column, order)
    show_metric_chart(frame, catalog)

    st.subheader(_("Compare two runs"))
    run_a, run_b = read_runs(catalog)
    select_runs(catalog, run_a, run_b)
    show_comparison(context, catalog, run_a, run_b)
    show_log_form(context)


main()
