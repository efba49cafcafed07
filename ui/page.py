"""The frame every page starts with: page settings, sidebar, opened dataset and global filter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from analysis import Dataset
from analysis.engine import ENGINE_DUCKDB
from analysis.filters import ExampleFilter
from analysis.i18n import _
from ui.data import Fingerprint, dataset_summary, demo_mode, open_dataset, with_tag_edits
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.formatting import count
from ui.language import draw_language_picker, notice_unknown_language, set_url_language
from ui.sidebar import draw_navigation, select_dataset, select_filter
from ui.workspace import WorkspaceState, draw_editor_name, workspace_state


@dataclass
class PageContext:
    """The opened dataset, its global filter and the server's mode: everything a page draws from."""

    folder: Path
    dataset: Dataset
    fingerprint: Fingerprint
    example_filter: ExampleFilter
    demo: bool
    # The workspace as read once for this run, and the HLP values with those
    # typed there on top (None when none is typed).
    workspace: WorkspaceState | None = None
    hlp: dict[str, float] | None = None

    def summary(self, targets: dict[str, float] | None = None) -> dict[str, Any]:
        """Return the cached summary under the global filter with the workspace's HLP values; see :func:`ui.data.dataset_summary`."""
        with stop_on_analysis_error():
            return dataset_summary(self.folder, self.fingerprint, self.dataset, self.example_filter, self.hlp, targets)


def start_page(title: str, duckdb_only: bool = False) -> PageContext:
    """Set up the page, draw the sidebar and open the chosen dataset.

    ``title`` is the page's English title, marked with ``N_``: it is
    translated here, once the URL has set the language. A ``duckdb_only``
    page needs rows of single examples, which the Spark engine never brings
    back, so on a dataset whose file selects Spark it shows a notice and stops.

    Stops the script run with a message when no dataset can be opened, so a
    page's own code only runs on a valid dataset.
    """
    unknown_language = set_url_language()
    st.set_page_config(page_title=_(title), layout="wide")
    if unknown_language is not None:
        notice_unknown_language(unknown_language)
    demo = demo_mode()
    draw_navigation()
    if demo:
        st.sidebar.caption(_("Read-only demo: edits and file writes are turned off."))
    folder = select_dataset()
    draw_language_picker()
    with stop_on_analysis_error():
        dataset, fingerprint = open_dataset(folder)
    # Tag edits are laid over the file tags before the filter is drawn, so
    # tags created in the workspace can be filtered on too.
    workspace = workspace_state(folder, demo)
    if dataset.engine.kind == ENGINE_DUCKDB:
        with stop_on_analysis_error(), st.spinner(_("Applying the workspace's tag edits…")):
            dataset, fingerprint = with_tag_edits(folder, fingerprint, dataset, workspace.tag_edits)
    elif workspace.tag_edits:
        st.warning(
            _("This dataset runs on {engine}, so the tag edits of the workspace are not applied: tags are shown as the files give them.", engine=dataset.engine.label),
            icon=":material/warning:",
        )
    if duckdb_only and dataset.engine.kind != ENGINE_DUCKDB:
        st.title(_(title))
        st.info(
            _(
                "This page shows single examples, and the dataset file of {name} selects {engine}, which returns only aggregates. Use the Slices, Tags, What-if and Audit pages, or open a copy of the dataset without the [engine] section to browse examples on DuckDB.",
                name=folder.name,
                engine=dataset.engine.label,
            ),
            icon=":material/info:",
        )
        st.stop()
    example_filter = select_filter(dataset)
    draw_editor_name(demo)
    context = PageContext(folder, dataset, fingerprint, example_filter, demo, workspace)
    context.hlp = workspace.effective_hlp(dataset.hlp)
    return context


def show_filter_banner(context: PageContext, summary: dict[str, Any]) -> None:
    """Say, above the page's numbers, that a global filter is on and how many examples it keeps."""
    if not context.example_filter:
        return
    total = context.dataset.counts.total if context.dataset.counts is not None else summary["matched"]
    st.info(
        _(
            "Global filter on: {description}. Every number on this page is computed on {kept} of {total} examples.",
            description=escape_markdown(context.example_filter.describe()),
            kept=count(summary["overall"]["examples"]),
            total=count(total),
        ),
        icon=":material/filter_alt:",
    )
