"""The Examples page's filter on the examples one run fixed or broke compared with another (``run_a``, ``run_b``, ``change``)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from analysis.examples import ExampleQuery
from analysis.run_compare import predictions_of_runs
from analysis.runs import RunCatalog
from analysis.i18n import _, ngettext
from ui.errors import escape_markdown
from ui.examples_page import clear_run_change, read_run_change
from ui.page import PageContext
from ui.runs_data import changed_example_ids, run_catalog

@dataclasses.dataclass(frozen=True)
class RunChange:
    """The two runs whose fixed or broken examples the Examples page lists."""

    catalog: RunCatalog
    run_a: str
    run_b: str

    def prediction_columns(self, ids: list[str]) -> dict[str, tuple[str, list[str | None]]]:
        """Return the columns to add beside the dataset's prediction: key -> (header, run A's or run B's prediction per id)."""
        predictions = predictions_of_runs(self.catalog, self.run_a, self.run_b, ids)
        return {
            "run_a_prediction": (_("prediction of {run}", run=self.run_a), [predictions.get(example_id, (None, None))[0] for example_id in ids]),
            "run_b_prediction": (_("prediction of {run}", run=self.run_b), [predictions.get(example_id, (None, None))[1] for example_id in ids]),
        }


def restrict_to_run_change(context: PageContext, query: ExampleQuery) -> tuple[ExampleQuery, RunChange | None]:
    """Narrow ``query`` to the examples fixed or broken between two runs when the URL requests it, and state it above the table."""
    if not any(st.query_params.get(name) is not None for name in ("run_a", "run_b", "change")):
        return query, None
    catalog = run_catalog(context)
    chosen = read_run_change(catalog.names)
    if chosen is None:
        return query, None
    run_a, run_b, change = chosen
    ids = changed_example_ids(context, catalog, run_a, run_b, change)
    sentence = _change_sentence(change, len(ids), escape_markdown(run_a), escape_markdown(run_b))
    text_column, button_column = st.columns([5, 1])
    text_column.info(sentence, icon=":material/compare_arrows:")
    button_column.button(_("Show all examples"), on_click=clear_run_change, key="examples_clear_run_change")
    # The prediction and error columns stay those of the dataset's predictions
    # file, so the outcome filters keep their meaning. The table adds run A's and run B's predictions.
    return dataclasses.replace(query, example_ids=ids), RunChange(catalog, run_a, run_b)


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
