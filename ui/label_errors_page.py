"""The Label errors page: examples whose given label is probably wrong, ranked, with a one-click tag.

The ranking is :func:`analysis.label_errors.suspected_label_errors` under the
global filter. URL parameters: ``top`` (how many of the ranking the tag
button tags, default 300), ``flagged`` (``1`` ranks flagged examples only)
and ``page`` (page of the ranked table, from 1).
"""

from __future__ import annotations

import math
import pandas as pd
import streamlit as st

from analysis import AnalysisError
from analysis.filters import ExampleFilter
from analysis.i18n import _, ngettext
from analysis.label_errors import DEFAULT_LIMIT, SuspectedLabelErrors, suspected_label_error_ids, suspected_label_errors
from analysis.model import Dataset
from ui.data import Fingerprint, filter_key
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.examples_views import media_columns, plain_value, show_example_detail
from ui.formatting import count, localized_table
from ui.messages import set_error, set_message, show_message
from ui.page import PageContext
from ui.url_state import notice_ignored, read_page, read_value, write_value
from ui.workspace import WorkspaceState

# The tag the button gives to the top of the ranking.
SUSPECTED_TAG = "suspected_label_error"

TOP = "top"
FLAGGED = "flagged"
PAGE = "page"
PAGE_SIZE = 50
MAX_TOP = 100_000

_MESSAGE_KEY = "label_errors_message"


def read_settings() -> tuple[int, bool, int]:
    """Return (top, flagged only, page) from the URL, with a notice for each invalid value."""
    top = _read_integer(TOP, DEFAULT_LIMIT, 1, MAX_TOP)
    flagged = read_value(FLAGGED)
    if flagged not in (None, "0", "1"):
        notice_ignored(FLAGGED, flagged, _("use 1 to rank flagged examples only, or 0."))
        flagged = None
    return top, flagged == "1", read_page(PAGE)


def _read_integer(name: str, default: int, minimum: int, maximum: int) -> int:
    text = read_value(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        notice_ignored(name, text, _("use a whole number from {low} to {high}.", low=minimum, high=maximum))
        return default
    return value


def ranking(context: PageContext, flagged_only: bool, page: int) -> tuple[SuspectedLabelErrors, int]:
    """Return one page of the ranking under the global filter, and that page's number (cached per dataset, filter and page).

    A page past the last one shows the last page, with a notice.
    """
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Ranking the examples by label quality…")), stop_on_analysis_error():
        arguments = (str(context.folder), context.fingerprint, keep, exclude, flagged_only)
        result = _ranking(*arguments, page, context.dataset, context.example_filter)
        pages = max(1, math.ceil(result.total / PAGE_SIZE))
        if page > pages:
            notice_ignored(PAGE, str(page), _("the ranking has {pages} pages.", pages=pages))
            page = pages
            result = _ranking(*arguments, page, context.dataset, context.example_filter)
    return result, page


# The folder, fingerprint and filter text stand for the unhashed dataset and filter in the cache key.
@st.cache_data(max_entries=32, show_spinner=False)
def _ranking(
    folder: str,
    fingerprint: Fingerprint,
    keep: tuple[str, ...],
    exclude: tuple[str, ...],
    flagged_only: bool,
    page: int,
    _dataset: Dataset,
    _filter: ExampleFilter,
) -> SuspectedLabelErrors:
    return suspected_label_errors(_dataset, _filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, flagged_only=flagged_only)


def show_totals(result: SuspectedLabelErrors) -> None:
    ranked, flagged, pairs = st.columns(3)
    ranked.metric(_("Examples ranked"), count(result.ranked))
    flagged.metric(
        _("Flagged"),
        count(result.flagged),
        help=_("Examples whose confident class (probability at least that class's threshold) differs from the given label."),
    )
    if len(result.flagged_pairs):
        top = result.flagged_pairs.iloc[0]
        pairs.metric(_("Most common flagged pair"), f"{top['label']} → {top['confident_label']}", help=ngettext("{count} example", "{count} examples", int(top["examples"])))
    for note in result.notes:
        st.info(escape_markdown(note), icon=":material/info:")


def show_ranking(result: SuspectedLabelErrors, page: int) -> pd.DataFrame:
    """Show the page of ranked examples with a pager and return the shown frame."""
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    frame = result.examples
    data, config = localized_table(
        frame,
        {
            "rank": st.column_config.NumberColumn(_("rank")),
            "id": _("id"),
            "label": _("given label"),
            "prediction": _("prediction"),
            "suggested_label": _("suggested label"),
            "label_probability": st.column_config.NumberColumn(_("p(given label)"), format="%.3f"),
            "suggested_probability": st.column_config.NumberColumn(_("p(suggested label)"), format="%.3f"),
            "label_quality": st.column_config.NumberColumn(
                _("label quality"), format="%.3f", help=_("(p(given label) − highest other probability + 1) / 2: the lower, the more the model prefers another class.")
            ),
            "flagged": st.column_config.CheckboxColumn(_("flagged")),
            "confident_label": _("confident label"),
        },
    )
    st.dataframe(
        data,
        hide_index=True,
        column_config=config,
        key=f"label_errors_table:{page}",
        on_select="rerun",
        selection_mode="single-row",
    )
    st.number_input(
        _("Page (of {pages})", pages=pages),
        min_value=1,
        max_value=pages,
        value=page,
        step=1,
        key="label_errors_page",
        on_change=_store_page,
    )
    return frame


def show_selected(context: PageContext, frame: pd.DataFrame, page: int) -> None:
    """Show the selected example of the ranking in full (the first of the page until one is selected), with its media."""
    if frame.empty:
        return
    state = st.session_state.get(f"label_errors_table:{page}")
    rows = [row for row in state["selection"]["rows"] if 0 <= row < len(frame)] if state else []
    example_id = frame["id"].iloc[rows[0] if rows else 0]
    st.subheader(_("Example {id}", id=escape_markdown(str(example_id))))
    if not rows:
        st.caption(_("Select a row of the ranking to see it here. Until then, this is the first example of the page."))
    show_example_detail(context, plain_value(example_id), media_columns(context))


def _store_page() -> None:
    value = st.session_state.get("label_errors_page", 1)
    write_value(PAGE, None if value == 1 else str(int(value)))


def show_tag_button(context: PageContext, top: int, flagged_only: bool, result: SuspectedLabelErrors) -> None:
    """Draw the one-click tag of the top of the ranking, with the number of examples it tags."""
    st.subheader(_("Tag them"))
    show_message(_MESSAGE_KEY)
    chosen = st.number_input(
        _("Examples to tag, from the top of the ranking"),
        min_value=1,
        max_value=MAX_TOP,
        value=top,
        step=50,
        key="label_errors_top",
        on_change=_store_top,
    )
    tagged = min(int(chosen), result.total)
    st.button(
        ngettext(
            "Tag the top {count} example as {tag}",
            "Tag the top {count} examples as {tag}",
            tagged,
            tag=SUSPECTED_TAG,
        ),
        key="label_errors_tag",
        type="primary",
        disabled=context.demo or tagged == 0,
        on_click=_tag_top,
        args=(context.workspace, context.dataset, context.example_filter, tagged, flagged_only),
        help=_("One edit in the workspace: it can be undone, and the tag then appears on every page and in the global filter."),
    )
    if context.demo:
        st.caption(_("Read-only demo: tags cannot be edited."))


def _store_top() -> None:
    value = int(st.session_state.get("label_errors_top", DEFAULT_LIMIT))
    write_value(TOP, None if value == DEFAULT_LIMIT else str(value))


def _tag_top(state: WorkspaceState, dataset: Dataset, example_filter: ExampleFilter, top: int, flagged_only: bool) -> None:
    try:
        ids = suspected_label_error_ids(dataset, top, example_filter, flagged_only)
        edit = state.workspace.set_tag(state.dataset, SUSPECTED_TAG, ids, True, dataset.file_tag_names)
    except AnalysisError as error:
        set_error(_MESSAGE_KEY, error)
        return
    if edit is None:
        set_message(_MESSAGE_KEY, "info", _("Nothing changed: these examples already carry {tag}.", tag=SUSPECTED_TAG))
    else:
        set_message(_MESSAGE_KEY, "success", _("Saved: {description}.", description=edit.description))


def explain_method() -> None:
    st.caption(
        _(
            "Confident learning, as in the cleanlab library: each class gets a threshold, the mean probability of that class over the examples labelled with it. "
            "An example is flagged when the class it is confidently in differs from its label. "
            "Examples are ranked by label quality, lowest first. Probabilities should be out-of-sample (cross-validated)."
        )
    )


def flagged_toggle(flagged_only: bool) -> None:
    st.toggle(_("Rank flagged examples only"), value=flagged_only, key="label_errors_flagged", on_change=_store_flagged)


def _store_flagged() -> None:
    write_value(FLAGGED, "1" if st.session_state.get("label_errors_flagged") else None)
    write_value(PAGE, None)
