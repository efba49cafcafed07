"""The Examples page's table, the selected examples, the detail panel and the export.

Images in a metadata column show as thumbnails in the table: Streamlit's
``ImageColumn`` cannot read local files (only URLs and ``data:`` URLs), so
each image of the shown page is embedded as a ``data:`` URL, up to
:data:`analysis.media.THUMBNAIL_MAX_BYTES`. The detail panel shows the image
full size with ``st.image``, plays audio with ``st.audio`` and wraps long
text. Every path goes through :func:`analysis.media.resolve_media_path`
first, so no file outside the dataset folder is read.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis import AnalysisError, Dataset
from analysis.examples import (
    EXAMPLE_COLUMNS,
    METADATA_SUFFIX,
    METADATA_TABLE,
    VIEW_TABLE,
    ExamplePage,
    ExampleQuery,
    column_choices,
    example_detail,
    export_examples,
    find_examples,
)
from analysis.i18n import _, fill
from analysis.media import (
    AUDIO,
    IMAGE,
    TEXT,
    dataset_folder,
    detect_media,
    resolve_media_path,
    thumbnail_url,
)
from ui.data import Fingerprint, filter_key
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.examples_page import column_label, reset_page, show_page_picker
from ui.formatting import count, localized_table
from ui.page import PageContext
from ui.tagging import show_example_tags

_CACHED_PAGES = 64
_TABLE_KEY = "examples_table"

EXPORT_FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


# Finding the page ----------------------------------------------------------------------------


def find_page(context: PageContext, query: ExampleQuery, columns: list[str]) -> ExamplePage:
    """Return the page that ``query`` requests. A page past the last one falls back to page 1 with a notice."""
    page = _cached_page(context, query, columns)
    if query.page > page.pages:
        reset_page(query.page, page.pages)
        page = _cached_page(context, _first_page(query), columns)
    return page


def _first_page(query: ExampleQuery) -> ExampleQuery:
    return ExampleQuery(**{**query.__dict__, "page": 1})


def _cache_key(context: PageContext) -> tuple[Any, ...]:
    # The view name and the workspace's change counter change when tags are edited.
    counter = context.workspace.counter if context.workspace is not None else 0
    return (str(context.folder), context.fingerprint, *filter_key(context.example_filter), context.dataset.view, counter)


def _cached_page(context: PageContext, query: ExampleQuery, columns: list[str]) -> ExamplePage:
    with st.spinner(_("Finding the examples, page {page}…", page=query.page)), stop_on_analysis_error():
        return _example_page(*_cache_key(context), query, tuple(columns), _dataset=context.dataset, _example_filter=context.example_filter)


# The key (folder, fingerprint, filter text, view, counter) determines the dataset and the parsed filter, which are not hashed.
@st.cache_data(max_entries=_CACHED_PAGES, show_spinner=False)
def _example_page(
    folder: str,
    fingerprint: Fingerprint,
    keep: tuple[str, ...],
    exclude: tuple[str, ...],
    view: str,
    counter: int,
    query: ExampleQuery,
    columns: tuple[str, ...],
    *,
    _dataset: Dataset,
    _example_filter: Any,
) -> ExamplePage:
    return find_examples(_dataset, _example_filter, query, columns)


def media_columns(context: PageContext) -> dict[str, str]:
    """Return the kind of each metadata column holding image paths, audio paths or long text (see :func:`analysis.media.detect_media`)."""
    with stop_on_analysis_error():
        return _media_columns(str(context.folder), context.fingerprint, _dataset=context.dataset)


@st.cache_data(max_entries=16, show_spinner=False)
def _media_columns(folder: str, fingerprint: Fingerprint, *, _dataset: Dataset) -> dict[str, str]:
    return detect_media(_dataset)


# The table and its selection ---------------------------------------------------------------


def show_table(
    context: PageContext,
    page: ExamplePage,
    query: ExampleQuery,
    columns: list[str],
    media: dict[str, str],
    extra_columns: Callable[[list[str]], dict[str, tuple[str, list[Any]]]] | None = None,
) -> str:
    """Draw the page of examples as a table whose rows can be selected; return the table's widget key for :func:`selected_ids`.

    ``extra_columns`` maps the page's ids (as text) to more columns, such as
    two runs' predictions, shown after the chosen ones.
    """
    if page.total == 0:
        st.info(_("No example matches these filters."), icon=":material/info:")
        return ""
    dataset = context.dataset
    sources = column_choices(dataset)
    frame = page.frame[columns].copy()
    config: dict[str, Any] = {}
    folder = dataset_folder(dataset)
    for key in columns:
        source = sources[key]
        kind = media.get(source.column) if source.table == METADATA_TABLE else None
        if kind == IMAGE:
            frame[key] = [thumbnail_url(folder, value) for value in frame[key]]
            config[key] = st.column_config.ImageColumn(key, help=_("Double-click a thumbnail to enlarge it."))
        elif kind == TEXT:
            config[key] = st.column_config.TextColumn(key, width="large", help=_("Select the row to read the whole text below."))
        elif source.is_outcome:
            config[key] = _outcome_column(key)
        elif source.table == VIEW_TABLE:
            config[key] = st.column_config.NumberColumn(key, format="%.4f", help=_("Probability of this class from the predictions file."))
        else:
            config[key] = st.column_config.Column(key)

    if extra_columns is not None:
        for extra_key, (header, values) in extra_columns([str(example_id) for example_id in page.frame["id"]]).items():
            frame[extra_key] = values
            config[extra_key] = st.column_config.TextColumn(header)

    # A new key per query and page starts with no selection, because row positions change meaning.
    key = _table_key(context, query, columns, page)
    data, config = localized_table(frame, config)
    st.dataframe(data, hide_index=True, column_config=config, on_select="rerun", selection_mode="multi-row", key=key)
    return key


def _outcome_column(key: str) -> Any:
    labels = {
        "id": st.column_config.TextColumn(_("id")),
        "label": st.column_config.TextColumn(_("label")),
        "prediction": st.column_config.TextColumn(_("prediction")),
        "score": st.column_config.NumberColumn(_("score"), format="%.4f"),
        "is_error": st.column_config.CheckboxColumn(_("error")),
        "tags": st.column_config.ListColumn(_("tags")),
    }
    return labels[key]


def _table_key(context: PageContext, query: ExampleQuery, columns: list[str], page: ExamplePage) -> str:
    # The rows shown, not the workspace counter, decide whether a selection still holds:
    # tagging the selected rows keeps them selected unless it changes which rows the page lists.
    text = repr((str(context.folder), filter_key(context.example_filter), query, columns, [str(value) for value in page.frame["id"]]))
    return f"{_TABLE_KEY}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def selected_ids(table_key: str, page: ExamplePage) -> list[Any]:
    """Return the ids of the rows selected in the table, in table order; empty when none is selected."""
    state = st.session_state.get(table_key) if table_key else None
    if state is None:
        return []
    rows = sorted(row for row in state["selection"]["rows"] if 0 <= row < len(page.frame))
    return [page.frame["id"].iloc[row] for row in rows]


def show_page_caption(page: ExamplePage, query: ExampleQuery, selected: list[Any]) -> None:
    """Draw the page picker and a caption with the positions of the shown examples and the number selected."""
    caption_column, page_column = st.columns([3, 1])
    show_page_picker(page_column, page.page, page.pages, page.page_size)
    text = _(
        "Examples {first} to {last} of {total}, page {page} of {pages}.",
        first=count(page.first_position),
        last=count(page.last_position),
        total=count(page.total),
        page=count(page.page),
        pages=count(page.pages),
    )
    if selected:
        text += " " + _("{count} selected.", count=count(len(selected)))
    caption_column.caption(text)


# The detail panel ----------------------------------------------------------------------------


def show_detail(context: PageContext, page: ExamplePage, selected: list[Any], media: dict[str, str]) -> None:
    """Show the first selected example in full (or the page's first example when none is selected): outcome, tags, media and every column."""
    if page.frame.empty:
        return
    example_id = selected[0] if selected else page.frame["id"].iloc[0]
    st.subheader(_("Example {id}", id=escape_markdown(str(example_id))))
    if not selected:
        st.caption(_("Select rows in the table to see one of them here. Until then, this is the first example of the page."))
    elif len(selected) > 1:
        st.caption(_("The first of the {count} selected examples.", count=count(len(selected))))
    show_example_detail(context, example_id, media)


def show_example_detail(context: PageContext, example_id: Any, media: dict[str, str]) -> None:
    """Show one example in full: its outcome, its tags with where they come from, its media and every column."""
    with stop_on_analysis_error():
        detail = example_detail(context.dataset, plain_value(example_id))
    if detail is None:
        st.info(_("This example is no longer in the list."), icon=":material/info:")
        return

    media_column, columns_column = st.columns([2, 3]) if media else (st.container(), st.container())
    with media_column:
        _show_outcome(context.dataset, detail)
        if context.dataset.tags:
            show_example_tags(context, detail["id"])
        folder = dataset_folder(context.dataset)
        for name, kind in media.items():
            _show_media(folder, name, kind, detail["metadata"].get(name))
    columns_column.dataframe(_detail_frame(detail), hide_index=True, column_config={"column": _("column"), "value": _("value")})


def plain_value(value: Any) -> Any:
    """Convert a NumPy scalar id to a Python value, which DuckDB binds as a parameter."""
    return value.item() if hasattr(value, "item") else value


def _show_outcome(dataset: Dataset, detail: dict[str, Any]) -> None:
    parts = []
    if dataset.has_classes:
        parts.append(_("label **{label}**, predicted **{prediction}**", label=escape_markdown(str(detail["label"])), prediction=escape_markdown(str(detail["prediction"]))))
    if dataset.has_score and not pd.isna(detail["score"]):
        parts.append(_("score {score:.4f}", score=float(detail["score"])))
    parts.append(_("an error") if detail["is_error"] else _("correct"))
    st.markdown(", ".join(parts))


def _show_media(folder: Path, name: str, kind: str, value: Any) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return
    text = str(value)
    if kind == TEXT:
        st.markdown(f"**{escape_markdown(name)}**")
        st.markdown(escape_markdown(text).replace("\n", "  \n"))
        return
    try:
        path = resolve_media_path(folder, text)
    except AnalysisError as error:
        st.warning(f"{escape_markdown(name)}: {escape_markdown(error.message)} {escape_markdown(error.hint or '')}", icon=":material/block:")
        return
    if kind == IMAGE:
        st.image(str(path), caption=f"{name}: {text}", width=240)
    elif kind == AUDIO:
        st.caption(f"{escape_markdown(name)}: {escape_markdown(text)}")
        st.audio(str(path))


def _detail_frame(detail: dict[str, Any]) -> pd.DataFrame:
    rows = [(column_label(name), detail[name]) for name in ("id", "label", "prediction", "score", "is_error")]
    # A metadata column named like an outcome column is labelled as in the column picker.
    rows += [(name + METADATA_SUFFIX if name in EXAMPLE_COLUMNS else name, value) for name, value in detail["metadata"].items()]
    return pd.DataFrame({"column": [name for name, _value in rows], "value": [_detail_value(value) for _name, value in rows]})


def _detail_value(value: Any) -> str:
    """Write one value of the detail panel in the current language: yes or no, numbers with its separators."""
    if _missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return fill("{value}", value=value.item() if isinstance(value, np.generic) else value)
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, str)) and pd.isna(value))


# Export ------------------------------------------------------------------------------------------


def show_export(context: PageContext, query: ExampleQuery, columns: list[str], total: int) -> None:
    """Offer the whole filtered list (every page) with the shown columns as CSV and Parquet downloads.

    The file is written only when the user clicks, by DuckDB straight from the
    view to a temporary file, so the rows never pass through pandas.
    """
    if total == 0:
        return
    st.subheader(_("Export"))
    st.caption(_("All {count} matching examples, with the shown columns, in the table's order. Tags are joined by ';'.", count=count(total)))
    name = context.folder.name
    left, right, _rest = st.columns([1, 1, 3])
    for column, file_format, label in ((left, "csv", _("Download CSV")), (right, "parquet", _("Download Parquet"))):
        column.download_button(
            label,
            data=lambda file_format=file_format: export_bytes(context.dataset, context.example_filter, query, columns, file_format),
            file_name=f"{name}_examples.{file_format}",
            mime=EXPORT_FORMATS[file_format],
            icon=":material/download:",
            key=f"examples_export_{file_format}",
            # A rerun would replace the file the other button points at while it downloads.
            on_click="ignore",
        )


def export_bytes(dataset: Dataset, example_filter: Any, query: ExampleQuery, columns: list[str], file_format: str) -> bytes:
    """Return the export file's content; see :func:`analysis.examples.export_examples`."""
    with tempfile.TemporaryDirectory(prefix="examples_export_") as folder:
        path = Path(folder) / f"examples.{file_format}"
        export_examples(dataset, example_filter, _first_page(query), columns, path, file_format)
        return path.read_bytes()
