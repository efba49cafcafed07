"""Tag editing in the dashboard: tagging examples, managing tags and exporting them.

Every edit goes to the workspace (:mod:`analysis.workspace`) from a widget
callback, so it is stored before the next run starts and that run's numbers
already count it. In demo mode every edit widget is disabled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd
import streamlit as st

from analysis import AnalysisError
from analysis.i18n import N_, _, ngettext
from analysis.model import Tag
from analysis.tag_export import export_bytes, tags_long_query
from analysis.tag_overlay import MARK_ADDED, MARK_REMOVED, example_tag_marks
from analysis.workspace import check_new_tag_name
from ui.errors import escape_markdown
from ui.formatting import count as format_count, localized_table
from ui.messages import set_error, set_message, show_message
from ui.page import PageContext
from ui.workspace import WorkspaceState, undo_last_edit

_MESSAGE_KEY = "tagging_message"
_PENDING_KEY = "tagging_pending"
# Choice of the tag selector that opens the field for a new tag's name.
_NEW_TAG = "\u0000new"

ORIGINS = {
    "column": N_("file: boolean column"),
    "list_column": N_("file: tag list column"),
    "file": N_("file: tags file"),
    "workspace": N_("created here"),
}


def origin_text(tag: Tag) -> str:
    """Say where a tag comes from: which file form, renamed here, or created here."""
    text = _(ORIGINS.get(tag.origin, tag.origin))
    if tag.renamed_from is not None:
        text = _("{origin}, renamed here from {name}", origin=text, name=tag.renamed_from)
    return text


# Tagging examples ------------------------------------------------------------------------


def tag_controls(context: PageContext, selected_ids: list[object], matching_ids: Callable[[], list[object]], matching_count: int) -> None:
    """Draw the controls that add or remove a tag on the selected examples or on every matching one.

    ``matching_ids`` returns the ids of every example the page's filters
    match, and runs only when an edit applies to all of them.
    """
    state = context.workspace
    file_tags = context.dataset.file_tag_names
    with st.container(border=True):
        st.markdown("**" + _("Tag examples") + "**")
        show_message(_MESSAGE_KEY)
        # Labels without counts: a label that changes with the selection makes
        # Streamlit treat the radio as a new widget and drop the user's choice.
        targets = {"selected": _("selected rows"), "matching": _("all matching examples")}
        target = st.radio(_("Apply to"), list(targets), format_func=targets.get, horizontal=True, key="tagging_target")
        names = [tag.name for tag in context.dataset.tags]
        choice_column, name_column = st.columns(2)
        # No tag is chosen until the user picks one, so "Add tag" cannot apply a tag the user did not choose.
        choice = choice_column.selectbox(
            _("Tag"),
            [*names, _NEW_TAG],
            index=None,
            format_func=lambda name: _("New tag…") if name == _NEW_TAG else name,
            placeholder=_("Choose a tag, or New tag…"),
            key="tagging_tag",
        )
        name_column.text_input(
            _("Name of the new tag"),
            key="tagging_new_name",
            disabled=choice != _NEW_TAG,
            placeholder=_("for example blurry"),
        )
        ids = (lambda: list(selected_ids)) if target == "selected" else matching_ids
        count = len(selected_ids) if target == "selected" else matching_count
        disabled = context.demo or count == 0 or choice is None
        add, remove, undo = st.columns(3)
        add.button(
            _("Add tag"),
            key="tagging_add",
            type="primary",
            disabled=disabled,
            on_click=_set_tag,
            args=(state, file_tags, ids, True),
        )
        remove.button(
            _("Remove tag"),
            key="tagging_remove",
            disabled=disabled or choice == _NEW_TAG,
            on_click=_set_tag,
            args=(state, file_tags, ids, False),
        )
        undo.button(_("Undo the last edit"), key="tagging_undo", disabled=context.demo, on_click=undo_last_edit, args=(state, _MESSAGE_KEY))
        if context.demo:
            st.caption(_("Read-only demo: tags cannot be edited."))
        elif count == 0:
            st.caption(_("Select rows in the table, or apply to all matching examples."))
        elif target == "selected":
            st.caption(ngettext("Applies to {count} selected example.", "Applies to {count} selected examples.", count, count=format_count(count)))
        else:
            st.caption(ngettext("Applies to {count} matching example.", "Applies to all {count} matching examples.", count, count=format_count(count)))


def _set_tag(state: WorkspaceState, file_tags: tuple[str, ...], ids: Callable[[], list[object]], present: bool) -> None:
    # Callbacks read the widgets' current values: arguments were bound in the run before the user typed.
    choice = st.session_state.get("tagging_tag")
    if choice is None:
        set_message(_MESSAGE_KEY, "error", _("Choose a tag first, or New tag… to name one."))
        return
    tag = st.session_state.get("tagging_new_name", "") if choice == _NEW_TAG else choice
    try:
        edit = state.workspace.set_tag(state.dataset, tag, ids(), present, file_tags)
    except AnalysisError as error:
        set_error(_MESSAGE_KEY, error)
        return
    if edit is None:
        set_message(_MESSAGE_KEY, "info", _("Nothing changed: the examples already were as asked."))
    else:
        set_message(_MESSAGE_KEY, "success", _("Saved: {description}.", description=edit.description))


def show_example_tags(context: PageContext, example_id: object) -> None:
    """List the tags of one example, each marked with where it comes from."""
    marks = example_tag_marks(context.dataset, context.workspace.tag_edits, [example_id]).get(str(example_id), {})
    if not marks:
        st.caption(_("This example carries no tag."))
        return
    labels = {MARK_ADDED: _("added here"), MARK_REMOVED: _("removed here")}
    lines = []
    for tag, mark in marks.items():
        if mark == MARK_REMOVED:
            lines.append("- ~~" + escape_markdown(tag) + "~~ " + _("(from the files, removed here)"))
        elif mark == MARK_ADDED:
            lines.append("- " + escape_markdown(tag) + " " + _("({mark})", mark=labels[mark]))
        else:
            lines.append("- " + escape_markdown(tag) + " " + _("(from the files)"))
    st.markdown("\n".join(lines))


# Managing tags -------------------------------------------------------------------------


def show_tag_manager(context: PageContext, summary: dict) -> None:
    """Draw the tags with their origin, the create, rename and delete controls, and the export buttons."""
    state = context.workspace
    dataset = context.dataset
    st.subheader(_("Manage tags"))
    show_message(_MESSAGE_KEY)
    st.caption(
        _(
            "Files are never changed: tags created, renamed, deleted or edited here are kept in the workspace and laid over the files' tags on every page."
        )
    )
    counts = {row["tag"]: row["count"] for row in summary["tags"]}
    assignments = state.tag_edits.assignments
    added = assignments[assignments["present"]].groupby("tag").size() if len(assignments) else pd.Series(dtype=int)
    removed = assignments[~assignments["present"]].groupby("tag").size() if len(assignments) else pd.Series(dtype=int)
    frame = pd.DataFrame(
        {
            "tag": [tag.name for tag in dataset.tags],
            "origin": [origin_text(tag) for tag in dataset.tags],
            "count": [counts.get(tag.name) for tag in dataset.tags],
            "added": [int(added.get(tag.name, 0)) for tag in dataset.tags],
            "removed": [int(removed.get(tag.name, 0)) for tag in dataset.tags],
        }
    )
    data, config = localized_table(
        frame,
        {
            "tag": _("tag"),
            "origin": _("from"),
            "count": st.column_config.NumberColumn(_("examples"), format="localized", help=_("Examples carrying the tag, under the global filter.")),
            "added": st.column_config.NumberColumn(_("added here"), help=_("Examples given the tag in the workspace.")),
            "removed": st.column_config.NumberColumn(_("removed here"), help=_("Examples whose tag was set to absent in the workspace.")),
        },
    )
    st.dataframe(
        data,
        hide_index=True,
        column_config=config,
        key="tagging_sources",
    )

    names = [tag.name for tag in dataset.tags]
    file_tags = dataset.file_tag_names
    create, rename, delete = st.columns(3)
    with create:
        st.text_input(_("New tag"), key="tagging_create_name", placeholder=_("for example blurry"), disabled=context.demo)
        st.button(_("Create tag"), key="tagging_create", disabled=context.demo, on_click=_create, args=(state, file_tags))
    with rename:
        st.selectbox(_("Tag to rename"), names, key="tagging_rename_old", disabled=context.demo or not names)
        st.text_input(_("New name"), key="tagging_rename_new", disabled=context.demo or not names)
        st.button(
            _("Rename…"),
            key="tagging_rename",
            disabled=context.demo or not names,
            on_click=_ask,
            args=("rename", "tagging_rename_old", "tagging_rename_new", names),
        )
    with delete:
        st.selectbox(_("Tag to delete"), names, key="tagging_delete_tag", disabled=context.demo or not names)
        st.button(_("Delete…"), key="tagging_delete", disabled=context.demo or not names, on_click=_ask, args=("delete", "tagging_delete_tag", None, names))
    _confirm(context, counts)
    _export_buttons(context)


def _create(state: WorkspaceState, file_tags: tuple[str, ...]) -> None:
    try:
        edit = state.workspace.create_tag(state.dataset, st.session_state.get("tagging_create_name", ""), file_tags)
    except AnalysisError as error:
        set_error(_MESSAGE_KEY, error)
        return
    set_message(_MESSAGE_KEY, "success", _("Saved: {description}.", description=edit.description))


def _ask(action: str, tag_key: str, new_name_key: str | None, names: list[str]) -> None:
    """Keep the rename or delete to confirm, read from the widgets at these keys: nothing is changed until the confirm button.

    A new name that cannot be used is reported now, not after the confirmation.
    """
    tag = st.session_state.get(tag_key)
    new_name = st.session_state.get(new_name_key, "") if new_name_key else None
    if new_name is not None:
        try:
            new_name = check_new_tag_name(new_name, [name for name in names if name != tag])
        except AnalysisError as error:
            st.session_state.pop(_PENDING_KEY, None)
            set_error(_MESSAGE_KEY, error)
            return
    st.session_state[_PENDING_KEY] = (action, tag, new_name)


def _confirm(context: PageContext, counts: dict[str, int]) -> None:
    pending = st.session_state.get(_PENDING_KEY)
    if pending is None:
        return
    action, tag, new_name = pending
    if tag not in {known.name for known in context.dataset.tags}:
        # An undo or another session removed the tag since the question was asked.
        st.session_state.pop(_PENDING_KEY, None)
        return
    count = counts.get(tag, 0)
    if action == "rename":
        question = ngettext(
            "Rename the tag {tag} ({count} example) to {new}? Its file is not changed.",
            "Rename the tag {tag} ({count} examples) to {new}? Its file is not changed.",
            count,
            tag=tag,
            new=new_name,
        )
    else:
        question = ngettext(
            "Delete the tag {tag} from {count} example? Its file is not changed, and Undo brings it back.",
            "Delete the tag {tag} from {count} examples? Its file is not changed, and Undo brings it back.",
            count,
            tag=tag,
        )
    st.warning(escape_markdown(question))
    yes, no = st.columns(2)
    yes.button(_("Confirm"), key="tagging_confirm", type="primary", on_click=_carry_out, args=(context.workspace, context.dataset.file_tag_names, pending))
    no.button(_("Cancel"), key="tagging_cancel", on_click=st.session_state.pop, args=(_PENDING_KEY, None))


def _carry_out(state: WorkspaceState, file_tags: tuple[str, ...], pending: tuple[str, str, str | None]) -> None:
    st.session_state.pop(_PENDING_KEY, None)
    action, tag, new_name = pending
    try:
        if action == "rename":
            edit = state.workspace.rename_tag(state.dataset, tag, new_name or "", file_tags)
        else:
            edit = state.workspace.delete_tag(state.dataset, tag, file_tags)
    except AnalysisError as error:
        set_error(_MESSAGE_KEY, error)
        return
    set_message(_MESSAGE_KEY, "success", _("Saved: {description}.", description=edit.description))


def _export_buttons(context: PageContext) -> None:
    dataset = context.dataset
    sql, params = tags_long_query(dataset)
    st.caption(
        _(
            "Export the tags as every page counts them, one (id, tag) row per tag, to merge back into your files or to name under [files] tags in the dataset file."
        )
    )
    stem = f"{context.folder.name}_tags"
    buttons = (
        ("csv", _("Download tags (CSV)"), "text/csv"),
        ("parquet", _("Download tags (Parquet)"), "application/vnd.apache.parquet"),
    )
    for column, (file_format, label, mime) in zip(st.columns(len(buttons)), buttons):
        # Built on click only, without a rerun, which would replace the file the other button serves.
        column.download_button(
            label,
            data=functools.partial(export_bytes, dataset, sql, params, file_format),
            file_name=f"{stem}.{file_format}",
            mime=mime,
            key=f"tagging_export_{file_format}",
            on_click="ignore",
        )
