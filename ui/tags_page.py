"""The Tags page: the error-analysis table, its charts, and HLP values typed in the dashboard.

URL parameters: ``sort`` (a column of the table, default ``potential_gain``)
and ``order`` (``desc`` or ``asc``, default ``desc``).

Typed HLP values are stored in the workspace (see :mod:`analysis.workspace`)
and override the HLP file on every page, through ``PageContext.hlp``. The "Save to the HLP file" button writes
them to the file; in demo mode every edit widget is disabled.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from analysis import AnalysisError
from analysis.charts import tag_accuracy_hlp_figure, tag_share_figure
from analysis.i18n import N_, _
from analysis.workspace import KIND_HLP, NEW_HLP_FILE_NAME, TypedValue
from ui.errors import escape_markdown
from ui.formatting import (
    interval,
    percent,
    percent_column,
    points,
    points_column,
    show_notes,
    show_table,
)
from ui.messages import set_error, set_message, show_message
from ui.page import PageContext
from ui.url_state import notice_ignored, read_value, write_value
from ui.workspace import WorkspaceState, describe_changes, edit_history, time_text, undo_last_edit

SORT = "sort"
ORDER = "order"
ASCENDING = "asc"
DESCENDING = "desc"
DEFAULT_SORT = "potential_gain"

# Sortable columns of the table with their labels, in table order.
SORT_COLUMNS = {
    "tag": N_("tag"),
    "count": N_("count"),
    "share_of_data": N_("share of data"),
    "error_rate": N_("error rate"),
    "share_of_errors": N_("share of errors"),
    "accuracy": N_("accuracy"),
    "hlp": N_("HLP"),
    "room_for_improvement": N_("room for improvement"),
    "potential_gain": N_("potential gain"),
}

EDITED_HERE = N_("edited here")
FROM_FILE = N_("HLP file")

_SORT_KEY = "tags_sort"
_ORDER_KEY = "tags_order"
_MESSAGE_KEY = "tags_message"
# HLP inputs are shown in percent with two decimals, so values are compared at that precision.
_PERCENT_DIGITS = 2


# Sorting ---------------------------------------------------------------------------


def read_sort() -> tuple[str, str]:
    """Return the sort column and direction from the URL, with a notice for an invalid value."""
    column = read_value(SORT)
    if column is not None and column not in SORT_COLUMNS:
        notice_ignored(SORT, column, _("use one of {names}.", names=", ".join(SORT_COLUMNS)))
        column = None
    order = read_value(ORDER)
    if order is not None and order not in (ASCENDING, DESCENDING):
        notice_ignored(ORDER, order, _("use {ascending} or {descending}.", ascending=ASCENDING, descending=DESCENDING))
        order = None
    column = column or DEFAULT_SORT
    order = order or DESCENDING
    write_value(SORT, column)
    write_value(ORDER, order)
    return column, order


def sort_rows(rows: list[dict[str, Any]], column: str, order: str) -> list[dict[str, Any]]:
    """Sort tag rows by ``column``; undefined values go last in both directions, ties keep the table order."""
    defined = [row for row in rows if row[column] is not None]
    undefined = [row for row in rows if row[column] is None]
    if column == "tag":
        defined.sort(key=lambda row: (str(row["tag"]).casefold(), str(row["tag"])), reverse=order == DESCENDING)
    else:
        defined.sort(key=lambda row: row[column], reverse=order == DESCENDING)
    return defined + undefined


def select_sort(column: str, order: str) -> None:
    """Draw the sort widgets; a change goes to the URL before the next run reads it."""
    st.session_state[_SORT_KEY] = column
    st.session_state[_ORDER_KEY] = order
    left, right = st.columns([2, 1])
    left.selectbox(
        _("Sort by"),
        list(SORT_COLUMNS),
        key=_SORT_KEY,
        format_func=lambda name: _(SORT_COLUMNS[name]),
        on_change=lambda: write_value(SORT, st.session_state[_SORT_KEY]),
    )
    right.radio(
        _("Order"),
        [DESCENDING, ASCENDING],
        key=_ORDER_KEY,
        format_func=lambda name: _("largest first") if name == DESCENDING else _("smallest first"),
        horizontal=True,
        on_change=lambda: write_value(ORDER, st.session_state[_ORDER_KEY]),
    )


# The table -------------------------------------------------------------------------


def show_tag_table(context: PageContext, summary: dict[str, Any], state: WorkspaceState, column: str, order: str) -> None:
    rows = sort_rows(summary["tags"], column, order)
    file_hlp = context.dataset.hlp
    level = _("{level:.0%} interval", level=context.dataset.config.confidence_level)
    frame = pd.DataFrame(
        {
            "tag": [row["tag"] for row in rows],
            "count": [row["count"] for row in rows],
            "share_of_data": [row["share_of_data"] for row in rows],
            "error_rate": [row["error_rate"] for row in rows],
            "interval": [interval(row["ci_low"], row["ci_high"]) for row in rows],
            "share_of_errors": [row["share_of_errors"] for row in rows],
            "accuracy": [row["accuracy"] for row in rows],
            "hlp": [row["hlp"] for row in rows],
            "hlp_source": [_hlp_source(row["tag"], state.typed_hlp, file_hlp) for row in rows],
            "room_for_improvement": [points(row["room_for_improvement"]) for row in rows],
            "potential_gain": [points(row["potential_gain"]) for row in rows],
            # Last, so the gains stay in view on narrow screens; the marker sits beside the HLP.
            "file_hlp": [file_hlp.get(row["tag"]) for row in rows],
        }
    )
    show_table(
        frame,
        {
            "tag": _("tag"),
            "count": st.column_config.NumberColumn(_("count"), format="localized"),
            "share_of_data": percent_column(_("share of data"), _("Share of all examples that carry this tag.")),
            "error_rate": percent_column(_("error rate")),
            "interval": st.column_config.TextColumn(level, help=_("Wilson score interval of the error rate.")),
            "share_of_errors": percent_column(_("share of errors"), _("Share of all errors that carry this tag.")),
            "accuracy": percent_column(_("accuracy")),
            "hlp": percent_column(_("HLP"), _("Human-level accuracy on this tag: the typed value when there is one, else the HLP file's.")),
            "hlp_source": st.column_config.TextColumn(_("HLP from"), help=_("'edited here' marks a value typed in the dashboard, which overrides the HLP file.")),
            "room_for_improvement": points_column(_("room for improvement"), _("HLP minus the model's accuracy on this tag.")),
            "potential_gain": points_column(
                _("potential gain"),
                _("Overall accuracy gained if the model reached HLP on this tag: share of data times room for improvement."),
            ),
            "file_hlp": percent_column(_("HLP in file"), _("The value in the HLP file, for comparison with a typed one.")),
        },
    )
    show_notes(summary, "tags[")


def _hlp_source(tag: str, typed: dict[str, TypedValue], file_hlp: dict[str, float]) -> str | None:
    if tag in typed:
        return _(EDITED_HERE)
    if tag in file_hlp:
        return _(FROM_FILE)
    return None


def show_charts(summary: dict[str, Any], column: str, order: str) -> None:
    rows = sort_rows(summary["tags"], column, order)
    left, right = st.columns(2)
    left.plotly_chart(tag_accuracy_hlp_figure(rows), key="tags_accuracy_chart")
    right.plotly_chart(tag_share_figure(rows), key="tags_share_chart")


# Typing HLP values ---------------------------------------------------------------------


def show_hlp_editor(context: PageContext, summary: dict[str, Any], state: WorkspaceState) -> None:
    """Draw one HLP input per tag, the store, undo and save buttons, and the history of edits."""
    st.subheader(_("Type HLP values"))
    show_message(_MESSAGE_KEY)
    if context.demo:
        st.caption(_("Read-only demo: typed HLP values cannot be stored, undone or saved to the file."))
    else:
        st.caption(
            escape_markdown(
                _(
                    "Typed values are kept in the workspace {file} and override the HLP file on every page until you save them to the file. "
                    "Type the file's value again, or press 'Use the file values', to go back to the file.",
                    file=str(state.workspace.path),
                )
            )
        )
    tags = [row["tag"] for row in summary["tags"]]
    effective = {row["tag"]: row["hlp"] for row in summary["tags"]}
    file_hlp = context.dataset.hlp
    keys = {tag: _input_key(state, tag) for tag in tags}

    with st.form(f"hlp_form:{state.dataset}"):
        columns = st.columns(min(len(tags), 4))
        for index, tag in enumerate(tags):
            value = effective.get(tag)
            file_value = file_hlp.get(tag)
            columns[index % len(columns)].number_input(
                _("HLP of {tag} (%)", tag=tag),
                min_value=0.0,
                max_value=100.0,
                value=None if value is None else round(100 * value, _PERCENT_DIGITS),
                step=0.1,
                format="%.2f",
                key=keys[tag],
                disabled=context.demo,
                help=_("In the HLP file: {value}", value=percent(file_value)) if file_value is not None else _("Not in the HLP file."),
            )
        st.form_submit_button(
            _("Store typed values"),
            disabled=context.demo,
            on_click=_store_typed,
            args=(state, keys, effective, file_hlp),
        )

    undo, reset, save = st.columns(3)
    undo.button(_("Undo the last edit"), disabled=context.demo, on_click=undo_last_edit, args=(state, _MESSAGE_KEY), key="tags_undo")
    reset.button(
        _("Use the file values"),
        disabled=context.demo or not state.typed_hlp,
        on_click=_reset,
        args=(state,),
        key="tags_reset",
        help=_("Removes every typed HLP value of this dataset in one edit, which can be undone."),
    )
    save_help = (
        _("Writes the HLP values to {file}.", file=context.dataset.config.hlp_file.name)
        if context.dataset.config.hlp_file is not None
        else _("The dataset has no HLP file: writes {name} beside the dataset file.", name=NEW_HLP_FILE_NAME)
    )
    save.button(
        _("Save to the HLP file"),
        disabled=context.demo or not state.typed_hlp,
        on_click=_save,
        args=(state, context),
        key="tags_save",
        help=save_help,
    )
    _show_history(state)


def _input_key(state: WorkspaceState, tag: str) -> str:
    # The counter in the key gives new widgets after every edit, so they start from the stored values.
    return f"hlp_input:{state.dataset}:{state.counter}:{tag}"


def _store_typed(state: WorkspaceState, keys: dict[str, str], effective: dict[str, float | None], file_hlp: dict[str, float]) -> None:
    changes: dict[str, float | None] = {}
    for tag, key in keys.items():
        typed = st.session_state.get(key)
        shown = effective.get(tag)
        shown = None if shown is None else round(100 * shown, _PERCENT_DIGITS)
        if typed is None:
            if tag in state.typed_hlp:
                changes[tag] = None
            continue
        if shown is not None and math.isclose(typed, shown, abs_tol=1e-9):
            continue
        value = round(typed / 100, _PERCENT_DIGITS + 2)
        file_value = file_hlp.get(tag)
        back_to_file = file_value is not None and math.isclose(value, round(file_value, _PERCENT_DIGITS + 2), abs_tol=1e-12)
        if back_to_file and tag not in state.typed_hlp:
            continue
        changes[tag] = None if back_to_file else value
    if not changes:
        _set_message("info", _("No HLP value changed."))
        return
    try:
        state.workspace.set_hlp(state.dataset, changes, _("typed on the Tags page"))
    except AnalysisError as error:
        _set_error(error)
        return
    _set_message("success", _("Stored HLP values for {tags}.", tags=", ".join(changes)))


def _reset(state: WorkspaceState) -> None:
    try:
        state.workspace.set_hlp(state.dataset, {tag: None for tag in state.typed_hlp}, _("file values restored on the Tags page"))
    except AnalysisError as error:
        _set_error(error)
        return
    _set_message("success", _("Removed the typed HLP values: the HLP file's values are used again."))


def _save(state: WorkspaceState, context: PageContext) -> None:
    try:
        saved = state.workspace.save_hlp_file(state.dataset, context.dataset.config, context.dataset.hlp)
    except AnalysisError as error:
        _set_error(error)
        return
    if saved.needs_dataset_key:
        _set_message(
            "warning",
            _(
                "Wrote {count} HLP values to {file}. The dataset file does not name an HLP file yet, so add this line under [files] in it: "
                "hlp = \"{name}\". Until then the typed values stay in the workspace.",
                count=len(saved.values),
                file=str(saved.path),
                name=saved.path.name,
            ),
        )
    else:
        _set_message("success", _("Wrote {count} HLP values to {file}.", count=len(saved.values), file=str(saved.path)))


def _show_history(state: WorkspaceState) -> None:
    history = edit_history(state)
    if not history:
        return
    with st.expander(_("History of edits ({count})", count=len(history))):
        lines = []
        for edit in history:
            if edit.kind == KIND_HLP:
                line = _(
                    "{when}, {who}: {changes} ({description})",
                    when=time_text(edit.changed_at),
                    who=edit.changed_by,
                    changes=describe_changes(edit),
                    description=edit.description,
                )
            else:
                line = _("{when}, {who}: {description}", when=time_text(edit.changed_at), who=edit.changed_by, description=edit.description)
            if edit.undone_at is not None:
                line += " " + _("undone by {who} at {when}", who=edit.undone_by, when=time_text(edit.undone_at))
            lines.append("- " + escape_markdown(line))
        st.markdown("\n".join(lines))


def _set_message(kind: str, text: str) -> None:
    set_message(_MESSAGE_KEY, kind, text)


def _set_error(error: AnalysisError) -> None:
    set_error(_MESSAGE_KEY, error)
