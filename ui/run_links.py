"""The Examples page's filter on the examples one run fixed or broke compared with another (``run_a``, ``run_b``, ``change``)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from analysis.examples import ExampleQuery
from analysis.i18n import _, ngettext
from ui.errors import escape_markdown
from ui.examples_page import clear_run_change, read_run_change
from ui.page import PageContext
from ui.runs_data import changed_example_ids, run_catalog

def restrict_to_run_change(context: PageContext, query: ExampleQuery) -> ExampleQuery:
    """Narrow ``query`` to the examples fixed or broken between two runs when the URL requests it, and say so above the table."""
    if not any(st.query_params.get(name) is not None for name in ("run_a", "run_b", "change")):
        return query
    catalog = run_catalog(context)
    chosen = read_run_change(catalog.names)
    if chosen is None:
        return query
    run_a, run_b, change = chosen
    ids = changed_example_ids(context, catalog, run_a, run_b, change)
    sentence = _change_sentence(change, len(ids), escape_markdown(run_a), escape_markdown(run_b))
    text_column, button_column = st.columns([5, 1])
    text_column.info(sentence, icon=":material/compare_arrows:")
    button_column.button(_("Show all examples"), on_click=clear_run_change, key="examples_clear_run_change")
    # NOTE: the table's prediction and error columns still come from the dataset's
    # predictions file, not from run A or run B.
    return dataclasses.replace(query, example_ids=ids)


def _change_sentence(change: str, count: int, run_a: str, run_b: str) -> str:
    """Say which examples the table lists: those run B fixed or broke compared with run A."""
    if change == "fixed":
        return ngettext(
            "Run {b} fixed {count} example compared with run {a} (wrong in {a}, right in {b}). Only it is listed, narrowed by the filters below.",
            "Run {b} fixed {count} examples compared with run {a} (wrong in {a}, right in {b}). Only those are listed, narrowed by the filters below.",
            count,
            a=run_a,
            b=run_b,
        )
    return ngettext(
        "Run {b} broke {count} example compared with run {a} (right in {a}, wrong in {b}). Only it is listed, narrowed by the filters below.",
        "Run {b} broke {count} examples compared with run {a} (right in {a}, wrong in {b}). Only those are listed, narrowed by the filters below.",
        count,
        a=run_a,
        b=run_b,
    )
