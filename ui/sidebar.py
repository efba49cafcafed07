"""The sidebar's dataset picker, kept in the URL as ``?dataset=<folder name>``.

The query parameter contains a folder name from the data root, never a path, so
a shared link cannot point the server at another folder. The choice is also
kept in the session state, so a page opened without the parameter shows the
dataset chosen last.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analysis.config import DATASET_FILE_NAME
from analysis.i18n import _
from ui.data import DATA_ROOT_ARGUMENT, DATA_ROOT_VARIABLE, data_root, list_datasets
from ui.errors import escape_markdown, stop_on_analysis_error

QUERY_PARAMETER = "dataset"

_WIDGET_KEY = "sidebar_dataset_picker"
_CHOSEN_KEY = "sidebar_dataset_chosen"

# Maximum length of an unknown query value quoted back in the fallback notice.
_QUOTED_VALUE_LENGTH = 80


def select_dataset() -> Path:
    """Draw the dataset picker in the sidebar and return the chosen dataset folder.

    The choice comes from the ``dataset`` query parameter, else from the
    session, else it is the first dataset. An unknown query value shows a
    notice and falls back the same way. When the data root is invalid or
    contains no dataset, the page shows a message and the script run stops.
    """
    with stop_on_analysis_error():
        root = data_root()
    names = list_datasets(root)
    st.sidebar.caption(_("Data folder: {root}", root=escape_markdown(str(root))))
    if not names:
        _stop_without_datasets(root)

    requested = st.query_params.get(QUERY_PARAMETER)
    remembered = st.session_state.get(_CHOSEN_KEY)
    fallback = remembered if remembered in names else names[0]
    if requested in names:
        chosen = requested
    else:
        chosen = fallback
        if requested is not None:
            _show_fallback_notice(requested, chosen)

    # Setting the widget's state on every run keeps it in step with the URL.
    # When the user picks another dataset, the callback writes it to the URL
    # before the next run reads the URL.
    st.session_state[_WIDGET_KEY] = chosen
    st.sidebar.selectbox(_("Dataset"), names, key=_WIDGET_KEY, on_change=_store_pick)
    _store_choice(chosen)
    return root / chosen


def _store_pick() -> None:
    _store_choice(st.session_state[_WIDGET_KEY])


def _store_choice(name: str) -> None:
    st.session_state[_CHOSEN_KEY] = name
    st.query_params[QUERY_PARAMETER] = name


def _show_fallback_notice(requested: str, chosen: str) -> None:
    quoted = requested if len(requested) <= _QUOTED_VALUE_LENGTH else requested[:_QUOTED_VALUE_LENGTH] + "…"
    st.warning(
        _(
            "The address asks for the dataset '{requested}', which is not in the data folder, so the dashboard shows '{chosen}' instead.",
            requested=escape_markdown(quoted),
            chosen=escape_markdown(chosen),
        ),
        icon=":material/info:",
    )


def _stop_without_datasets(root: Path) -> None:
    if root.is_dir():
        problem = _("No dataset found in the data folder {root}.", root=escape_markdown(str(root)))
    else:
        problem = _("The data folder {root} does not exist.", root=escape_markdown(str(root)))
    advice = _(
        "A dataset is a sub-folder holding a {file} next to its predictions file. "
        "Add one there, or start the dashboard on another folder with "
        "`streamlit run dashboard.py -- {argument} PATH` or the environment variable `{variable}`.",
        file=escape_markdown(DATASET_FILE_NAME),
        argument=DATA_ROOT_ARGUMENT,
        variable=DATA_ROOT_VARIABLE,
    )
    st.warning(problem + "\n\n" + advice, icon=":material/folder_off:")
    st.stop()
