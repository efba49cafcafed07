"""The sidebar drawn by every page: navigation, dataset picker and global filter.

The dataset is kept in the URL as ``?dataset=<folder name>``: a folder name
from the data root, never a path, so a shared link cannot point the server at
another folder. The choice is also kept in the session state, so a page opened
without the parameter shows the dataset chosen last.

The global filter is kept as repeated ``keep`` and ``exclude`` parameters in the
text form of :mod:`analysis.filters` (``tag:NAME``, ``attr:NAME=VALUE``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from analysis import AnalysisError, Dataset
from analysis.config import DATASET_FILE_NAME
from analysis.filters import ExampleFilter, filter_choices, parse_condition
from analysis.i18n import N_, _
from ui.data import (
    DATA_ROOT_ARGUMENT,
    DATA_ROOT_VARIABLE,
    data_root,
    demo_mode,
    list_datasets,
)
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.upload import current_upload, draw_upload_form
from ui.url_state import (
    DATASET,
    EXCLUDE,
    KEEP,
    notice_ignored,
    quote,
    read_values,
    shared_parameters,
    write_value,
    write_values,
)

QUERY_PARAMETER = DATASET

# Page scripts with their navigation labels, in menu order. The file names fix
# the URL paths (/Slices, /Tags, /What_if, /Examples, /Label_errors, /Audit, /Experiments), which stay English in every language.
PAGES = (
    ("dashboard.py", N_("Overview"), ":material/dashboard:"),
    ("pages/1_Slices.py", N_("Slices"), ":material/segment:"),
    ("pages/2_Tags.py", N_("Tags"), ":material/label:"),
    ("pages/3_What_if.py", N_("What-if"), ":material/trending_up:"),
    ("pages/4_Examples.py", N_("Examples"), ":material/table_rows:"),
    ("pages/5_Label_errors.py", N_("Label errors"), ":material/rule:"),
    ("pages/6_Audit.py", N_("Audit"), ":material/fact_check:"),
    ("pages/7_Experiments.py", N_("Experiments"), ":material/science:"),
)

# The picker's value for the dataset opened from uploads. No folder name
# contains "/", so it cannot stand for a dataset of the data root.
UPLOAD_CHOICE = "/uploaded"

_WIDGET_KEY = "sidebar_dataset_picker"
_CHOSEN_KEY = "sidebar_dataset_chosen"
_FILTER_KEYS = {KEEP: "sidebar_filter_keep", EXCLUDE: "sidebar_filter_exclude"}


def draw_navigation() -> None:
    """Link every page, carrying the dataset and the global filter in each link."""
    parameters = shared_parameters()
    for script, label, icon in PAGES:
        st.sidebar.page_link(script, label=_(label), icon=icon, query_params=parameters)


def select_dataset() -> Path:
    """Draw the dataset picker and the upload form in the sidebar, and return the chosen dataset folder.

    The choice comes from the ``dataset`` query parameter, else from the
    session, else it is the first dataset. An unknown query value shows a
    notice and falls back the same way. A dataset opened from uploaded files
    is listed only in the session that opened it and has no query parameter,
    so the sidebar states that it cannot be shared by link. When the data
    root is invalid or contains no dataset and nothing was uploaded, the page
    shows a message and the script run stops.
    """
    with stop_on_analysis_error():
        root = data_root()
    names = list_datasets(root)
    upload = current_upload()
    upload_name = upload[1] if upload is not None else None
    # A shared demo does not show the server's folders to its visitors.
    if not demo_mode():
        st.sidebar.caption(_("Data folder: {root}", root=escape_markdown(str(root))))
    if not names and upload is None:
        draw_upload_form(demo_mode(), on_open=_choose_upload)
        _stop_without_datasets(root)

    options = names + ([UPLOAD_CHOICE] if upload is not None else [])
    requested = st.query_params.get(QUERY_PARAMETER)
    remembered = st.session_state.get(_CHOSEN_KEY)
    fallback = remembered if remembered in options else options[0]
    if requested in names:
        chosen = requested
    else:
        chosen = fallback
        if requested is not None:
            _show_fallback_notice(requested, _dataset_label(chosen, upload_name))

    # Setting the widget's state on every run keeps it in step with the URL.
    # When the user picks another dataset, the callback writes it to the URL
    # before the next run reads the URL.
    st.session_state[_WIDGET_KEY] = chosen
    # The label function takes the name as an argument rather than reading the
    # session state, because Streamlit may call it outside a script run.
    st.sidebar.selectbox(
        _("Dataset"),
        options,
        key=_WIDGET_KEY,
        on_change=_store_pick,
        format_func=functools.partial(_dataset_label, upload_name=upload_name),
    )
    _store_choice(chosen)
    if chosen == UPLOAD_CHOICE:
        st.sidebar.info(
            _("This dataset was opened from your uploaded files. It cannot be shared by link: the address does not name it, and other browser sessions cannot open it."),
            icon=":material/link_off:",
        )
    draw_upload_form(demo_mode(), on_open=_choose_upload)
    return upload[0] if chosen == UPLOAD_CHOICE and upload is not None else root / chosen


def _dataset_label(option: str, upload_name: str | None) -> str:
    if option == UPLOAD_CHOICE:
        return _("Uploaded: {name}", name=upload_name or "")
    return option


def _store_pick() -> None:
    _store_choice(st.session_state[_WIDGET_KEY])


def _choose_upload() -> None:
    _store_choice(UPLOAD_CHOICE)


def _store_choice(name: str) -> None:
    st.session_state[_CHOSEN_KEY] = name
    if name == UPLOAD_CHOICE:
        write_value(QUERY_PARAMETER, None)
    else:
        st.query_params[QUERY_PARAMETER] = name


def _show_fallback_notice(requested: str, chosen: str) -> None:
    st.warning(
        _(
            "The address asks for the dataset '{requested}', which is not in the data folder, so the dashboard shows '{chosen}' instead.",
            requested=quote(requested),
            chosen=escape_markdown(chosen),
        ),
        icon=":material/info:",
    )


def select_filter(dataset: Dataset) -> ExampleFilter:
    """Draw the global filter and return it.

    The conditions come from the URL; those that do not match the dataset are
    dropped with a notice. Changing the widgets writes the URL, so every page
    and every copied link applies the same filter.
    """
    choices = {condition.as_text(): condition for condition in filter_choices(dataset)}
    chosen: dict[str, list[str]] = {}
    for parameter in (KEEP, EXCLUDE):
        valid = []
        for text in dict.fromkeys(read_values(parameter)):
            try:
                parse_condition(dataset, text)
            except AnalysisError as error:
                notice_ignored(parameter, text, error.message)
                continue
            valid.append(text)
        chosen[parameter] = valid
        write_values(parameter, valid)
        st.session_state[_FILTER_KEYS[parameter]] = valid

    st.sidebar.subheader(_("Global filter"))
    labels = {KEEP: _("Keep only examples with"), EXCLUDE: _("Leave out examples with")}
    helps = {
        KEEP: _("Values of one attribute are alternatives; kept tags must all be present."),
        EXCLUDE: _("An example matching any of these is left out of every page."),
    }
    for parameter in (KEEP, EXCLUDE):
        st.sidebar.multiselect(
            labels[parameter],
            list(choices),
            key=_FILTER_KEYS[parameter],
            format_func=lambda text: choices[text].describe(),
            help=helps[parameter],
            on_change=_store_filter,
            args=(parameter,),
            placeholder=_("Choose tags or attribute values"),
        )
    return ExampleFilter(
        keep=tuple(choices[text] for text in chosen[KEEP]),
        exclude=tuple(choices[text] for text in chosen[EXCLUDE]),
    )


def _store_filter(parameter: str) -> None:
    write_values(parameter, st.session_state[_FILTER_KEYS[parameter]])


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
