"""The workspace in the dashboard: the shared handle, its edits (typed HLP values, tag edits), undo, and the HLP every page uses.

Pages compute with the HLP file's values with the typed ones on top, or None
when nothing is typed, so pages without edits share the summary cache of the
plain dataset. :func:`ui.page.start_page` reads the workspace once per run
into ``PageContext.workspace`` and ``PageContext.hlp``, which
``context.summary()`` uses.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import streamlit as st

from analysis import AnalysisError
from analysis.errors import ConfigError
from analysis.i18n import _
from analysis.workspace import KIND_HLP, Edit, TagEdits, TypedValue, Workspace, current_user
from ui.data import workspace_folder
from ui.errors import show_error, stop_on_analysis_error
from ui.formatting import percent
from ui.messages import set_error, set_message


@dataclass(frozen=True)
class WorkspaceState:
    """The workspace of this server, its change counter at the start of the run, and the typed HLP of the page's dataset."""

    workspace: Workspace
    counter: int
    typed_hlp: dict[str, TypedValue]
    dataset: str
    # Tag edits of the page's dataset, laid over its file tags by ui.page.
    tag_edits: TagEdits = field(default_factory=TagEdits.empty)

    def effective_hlp(self, file_hlp: dict[str, float]) -> dict[str, float] | None:
        """Return the file's HLP with the typed values on top, or None when nothing is typed."""
        if not self.typed_hlp:
            return None
        return {**file_hlp, **{tag: typed.value for tag, typed in self.typed_hlp.items()}}


# Session state key of the name typed in the sidebar, recorded as the author of
# edits. The widget has its own key: Streamlit drops a widget's value when
# another page is opened, so the name is copied to a plain key that stays.
EDITOR_NAME_KEY = "editor_name"
_EDITOR_WIDGET_KEY = "editor_name_input"


def draw_editor_name(demo: bool) -> None:
    """Let the user give the name recorded with their edits; the OS user is used when it is empty."""
    if demo:
        return
    st.session_state[_EDITOR_WIDGET_KEY] = st.session_state.get(EDITOR_NAME_KEY, "")
    st.sidebar.text_input(
        _("Your name in the edit history"),
        key=_EDITOR_WIDGET_KEY,
        on_change=_keep_editor_name,
        placeholder=current_user(),
        max_chars=80,
        help=_("Recorded with every tag and HLP edit you make. Leave it empty to record the computer's user name."),
    )


def _keep_editor_name() -> None:
    st.session_state[EDITOR_NAME_KEY] = st.session_state.get(_EDITOR_WIDGET_KEY, "")


def open_workspace(demo: bool) -> Workspace:
    """Return the server's workspace, read-only in demo mode."""
    with stop_on_analysis_error():
        folder = workspace_folder()
    return _workspace(str(folder), demo)


def workspace_state(folder: Path, demo: bool) -> WorkspaceState:
    """Read the change counter, the typed HLP values and the tag edits of the dataset in ``folder`` (cached per counter)."""
    workspace = open_workspace(demo).as_user(st.session_state.get(EDITOR_NAME_KEY))
    dataset = folder.name
    with st.spinner(_("Reading the workspace edits of {name}…", name=dataset)):
        try:
            counter = workspace.change_counter()
            typed = _typed_hlp(str(workspace.folder), workspace.read_only, dataset, counter)
            tag_edits = _tag_edits(str(workspace.folder), workspace.read_only, dataset, counter)
        except sqlite3.Error as error:
            _stop_on_unreadable(workspace, error)
    return WorkspaceState(workspace, counter, typed, dataset, tag_edits)


def edit_history(state: WorkspaceState) -> list[Edit]:
    """Return the last edits of the page's dataset, newest first (cached per change counter)."""
    try:
        return _history(str(state.workspace.folder), state.workspace.read_only, state.dataset, state.counter)
    except sqlite3.Error as error:
        _stop_on_unreadable(state.workspace, error)


@st.cache_resource(show_spinner=False)
def _workspace(folder: str, read_only: bool) -> Workspace:
    return Workspace(Path(folder), read_only=read_only)


# The counter is part of the key, so an edit in any session gives a new entry.
@st.cache_data(max_entries=64, show_spinner=False)
def _typed_hlp(folder: str, read_only: bool, dataset: str, counter: int) -> dict[str, TypedValue]:
    return _workspace(folder, read_only).hlp_values(dataset)


@st.cache_data(max_entries=64, show_spinner=False)
def _tag_edits(folder: str, read_only: bool, dataset: str, counter: int) -> TagEdits:
    return _workspace(folder, read_only).tag_edits(dataset)


@st.cache_data(max_entries=64, show_spinner=False)
def _history(folder: str, read_only: bool, dataset: str, counter: int) -> list[Edit]:
    return _workspace(folder, read_only).history(dataset)


def _stop_on_unreadable(workspace: Workspace, error: sqlite3.Error) -> NoReturn:
    show_error(
        ConfigError(
            _("The workspace {file} could not be read: {reason}.", file=workspace.path, reason=error),
            _("Move the file away to start an empty workspace, or start the dashboard with another workspace folder (--workspace PATH)."),
        )
    )


# Describing and undoing edits ------------------------------------------------------------


def describe_changes(edit: Edit) -> str:
    """Say what an edit changed: each HLP value from old to new, or the description of a tag edit."""
    if edit.kind != KIND_HLP:
        return edit.description
    return ", ".join(
        _("{tag} from {old} to {new}", tag=tag, old=_hlp_text(old), new=_hlp_text(new)) for tag, (old, new) in edit.changes.items()
    )


def _hlp_text(value: float | None) -> str:
    return _("the file value") if value is None else percent(value)


def time_text(moment: str) -> str:
    """Format an ISO 8601 UTC time stamp of the workspace as minutes, for example "2026-12-04 22:21 UTC"."""
    return _("{time:%Y-%m-%d %H:%M} UTC", time=datetime.fromisoformat(moment))


def undo_last_edit(state: WorkspaceState, message_key: str) -> None:
    """Undo the newest edit of the page's dataset (widget callback) and keep a message saying what was undone."""
    try:
        edit = state.workspace.undo(state.dataset)
    except AnalysisError as error:
        set_error(message_key, error)
        return
    if edit is None:
        set_message(message_key, "info", _("There is no edit to undo."))
    else:
        set_message(
            message_key,
            "success",
            _("Undid the edit of {when} by {who}: {changes}.", when=time_text(edit.changed_at), who=edit.changed_by, changes=describe_changes(edit)),
        )
