"""Cached access to the runs of the page's dataset, shared by the Experiments and Examples pages.

The catalog is cached per dataset fingerprint (files and tag edits), per
state of the run files (path, size, modification time) and per workspace
change counter. A run logged from the command line raises the counter, so it
appears on the next rerun of any page without a restart.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from analysis.filters import ExampleFilter
from analysis.i18n import _
from analysis.run_compare import Comparison, changed_ids, compare_runs, run_metrics
from analysis.runs import RunCatalog, load_runs
from analysis.workspace import Workspace
from ui.data import Fingerprint, filter_key
from ui.errors import stop_on_analysis_error
from ui.page import PageContext

_CACHED_CATALOGS = 16
_CACHED_RESULTS = 64


def _run_files_state(context: PageContext) -> tuple[tuple[str, int | None, int | None], ...]:
    spec = context.dataset.config.runs
    states = []
    for path in spec.files if spec is not None else ():
        try:
            status = path.stat()
            states.append((str(path), status.st_size, status.st_mtime_ns))
        except OSError:
            states.append((str(path), None, None))
    return tuple(states)


def catalog_key(context: PageContext) -> tuple[Any, ...]:
    """Return what the catalog of the page's dataset depends on: folder, fingerprint, view, run files and workspace counter."""
    counter = context.workspace.counter if context.workspace is not None else 0
    return (str(context.folder), context.fingerprint, context.dataset.view, _run_files_state(context), counter)


def run_catalog(context: PageContext) -> RunCatalog:
    """Return the runs of the page's dataset (file runs, logged runs and the majority-class predictor); stop with a message on invalid run files."""
    workspace = context.workspace.workspace if context.workspace is not None else None
    with st.spinner(_("Reading the runs…")), stop_on_analysis_error():
        catalog = _catalog(*catalog_key(context), _context=context, _workspace=workspace)
        if not context.dataset.engine.has_relation(catalog.table):
            _catalog.clear()
            catalog = _catalog(*catalog_key(context), _context=context, _workspace=workspace)
    return catalog


# The folder, fingerprint, view, run-file states and counter stand for the unhashed arguments.
@st.cache_resource(max_entries=_CACHED_CATALOGS, show_spinner=False)
def _catalog(
    folder: str,
    fingerprint: Fingerprint,
    view: str,
    run_files: tuple,
    counter: int,
    *,
    _context: PageContext,
    _workspace: Workspace | None,
) -> RunCatalog:
    return load_runs(_context.dataset, _workspace, _context.folder.name)


def metrics_of_runs(context: PageContext, catalog: RunCatalog) -> Any:
    """Return :func:`analysis.run_compare.run_metrics` under the global filter (cached)."""
    with stop_on_analysis_error():
        return _metrics(*catalog_key(context), catalog.table, *filter_key(context.example_filter), _catalog=catalog, _filter=context.example_filter)


@st.cache_data(max_entries=_CACHED_RESULTS, show_spinner=False)
def _metrics(folder: str, fingerprint: Fingerprint, view: str, run_files: tuple, counter: int, table: str, keep: tuple, exclude: tuple, *, _catalog: RunCatalog, _filter: ExampleFilter) -> Any:
    return run_metrics(_catalog, _filter)


def comparison(context: PageContext, catalog: RunCatalog, run_a: str, run_b: str) -> Comparison:
    """Return the comparison of run B with run A under the global filter (cached)."""
    workspace = context.workspace.workspace if context.workspace is not None else None
    with st.spinner(_("Comparing {b} with {a}…", a=run_a, b=run_b)), stop_on_analysis_error():
        return _comparison(
            *catalog_key(context), catalog.table, *filter_key(context.example_filter), run_a, run_b,
            _catalog=catalog, _filter=context.example_filter, _workspace=workspace, _key=context.folder.name,
        )


@st.cache_data(max_entries=_CACHED_RESULTS, show_spinner=False)
def _comparison(
    folder: str, fingerprint: Fingerprint, view: str, run_files: tuple, counter: int, table: str, keep: tuple, exclude: tuple, run_a: str, run_b: str,
    *, _catalog: RunCatalog, _filter: ExampleFilter, _workspace: Workspace | None, _key: str,
) -> Comparison:
    return compare_runs(_catalog, run_a, run_b, _filter, _workspace, _key)


def changed_example_ids(context: PageContext, catalog: RunCatalog, run_a: str, run_b: str, change: str) -> tuple[str, ...]:
    """Return the ids of the examples fixed or broken (``change``) from run A to run B (cached)."""
    with stop_on_analysis_error():
        return _changed(*catalog_key(context), catalog.table, run_a, run_b, change, _catalog=catalog)


@st.cache_data(max_entries=_CACHED_RESULTS, show_spinner=False)
def _changed(folder: str, fingerprint: Fingerprint, view: str, run_files: tuple, counter: int, table: str, run_a: str, run_b: str, change: str, *, _catalog: RunCatalog) -> tuple[str, ...]:
    return tuple(changed_ids(_catalog, run_a, run_b, change))
