"""Sections of the Slices page: attribute choice, metric chart and example browser (the slice table is in :mod:`ui.slices_views`).

Every selection lives in the URL, so a copied link shows the same view:

- ``attribute``: the attribute whose slices are shown (default: the first);
- ``sort``: the order of bars and rows (``order``, ``error_rate``, ``gap``, ``count``);
- ``value``: the slice whose examples are listed (default: every example);
- ``errors``: ``1`` lists errors only;
- ``page``: the page of the example table, from 1.

A widget's callback writes its new value to the URL, and each run reads the
URL back into the widgets, so the URL is the one source of the selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from analysis import Dataset
from analysis.charts import slice_error_rate_figure
from analysis.examples import DEFAULT_PAGE_SIZE, ExamplePage, example_page
from analysis.i18n import N_, _, ngettext
from ui.data import Fingerprint, filter_key
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.examples_page import examples_link
from ui.formatting import count, localized_table
from ui.page import PageContext
from ui.url_state import notice_ignored, read_value, write_value
from ui.url_state import read_page as read_page_number

ATTRIBUTE = "attribute"
SORT = "sort"
VALUE = "value"
ERRORS = "errors"
PAGE = "page"

# Sort keys in the URL, with their labels. Rates and counts sort largest first,
# and an undefined rate goes last.
SORT_ORDERS = {
    "order": N_("value order"),
    "error_rate": N_("metric, highest first"),
    "gap": N_("gap to overall, largest first"),
    "count": N_("support, largest first"),
}
_SORT_FIELDS = {"error_rate": "error_rate", "gap": "gap_to_overall", "count": "count"}

_ATTRIBUTE_KEY = "slices_attribute"
_SORT_KEY = "slices_sort"
_VALUE_KEY = "slices_value"
_ERRORS_KEY = "slices_errors_only"
_PAGE_KEY = "slices_page"
_CHART_ROUND_KEY = "slices_chart_round"
_CACHED_PAGES = 64


@dataclass
class SliceSelection:
    """The Slices page's selection read from the URL and checked against the dataset."""

    attribute: str
    sort: str
    value: str | None
    errors_only: bool
    page: int


# Reading the URL -----------------------------------------------------------------


def read_attribute(attributes: list[str]) -> str:
    """Return the attribute named in the URL, or the first one with a notice when the name is unknown."""
    requested = read_value(ATTRIBUTE)
    if requested is None or requested in attributes:
        chosen = requested or attributes[0]
    else:
        notice_ignored(ATTRIBUTE, requested, _("no attribute of this dataset has that name."))
        chosen = attributes[0]
    write_value(ATTRIBUTE, chosen)
    return chosen


def read_sort() -> str:
    requested = read_value(SORT)
    if requested is not None and requested not in SORT_ORDERS:
        notice_ignored(SORT, requested, _("use one of {names}.", names=", ".join(SORT_ORDERS)))
        write_value(SORT, None)
        return "order"
    return requested or "order"


def read_slice_value(attribute: str, values: list[str]) -> str | None:
    """Return the slice value named in the URL, or None (every example) when it is absent or not a value of ``attribute``."""
    requested = read_value(VALUE)
    if requested is None or requested in values:
        return requested
    notice_ignored(VALUE, requested, _("the attribute {attribute} has no such value here.", attribute=attribute))
    write_value(VALUE, None)
    return None


def read_errors_only() -> bool:
    requested = read_value(ERRORS)
    if requested in (None, "0"):
        return False
    if requested == "1":
        return True
    notice_ignored(ERRORS, requested, _("use 1 to list errors only, or leave it out."))
    write_value(ERRORS, None)
    return False


def read_page() -> int:
    """Return the page number in the URL, or 1 with a notice when it is not a whole number of at least 1."""
    return read_page_number(PAGE)


# Widget callbacks: each writes the URL, and the next run reads it back ---------------------


def _store_attribute() -> None:
    write_value(ATTRIBUTE, st.session_state[_ATTRIBUTE_KEY])
    write_value(VALUE, None)
    write_value(PAGE, None)


def _store_sort() -> None:
    chosen = st.session_state[_SORT_KEY]
    write_value(SORT, None if chosen == "order" else chosen)


def _store_value() -> None:
    st.session_state[_CHART_ROUND_KEY] = st.session_state.get(_CHART_ROUND_KEY, 0) + 1
    write_value(VALUE, st.session_state[_VALUE_KEY])
    write_value(PAGE, None)


def _store_clicked_bar(chart_key: str) -> None:
    """Select the slice of the clicked bar. A cleared selection keeps the current slice, which the selectbox can reset."""
    points = st.session_state[chart_key].selection.points
    if points:
        write_value(VALUE, str(points[0]["x"]))
        write_value(PAGE, None)


def _store_errors_only() -> None:
    write_value(ERRORS, "1" if st.session_state[_ERRORS_KEY] else None)
    write_value(PAGE, None)


def _store_page() -> None:
    page = st.session_state[_PAGE_KEY]
    write_value(PAGE, None if page == 1 else str(page))


# Slice chart and table -----------------------------------------------------------


def sort_rows(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Return the slice rows in the chosen order."""
    field = _SORT_FIELDS.get(sort)
    if field is None:
        return rows
    return sorted(rows, key=lambda row: (row[field] is None, -(row[field] or 0)))


def show_attribute_picker(column: Any, attributes: list[str], attribute: str) -> None:
    st.session_state[_ATTRIBUTE_KEY] = attribute
    column.selectbox(_("Attribute"), attributes, key=_ATTRIBUTE_KEY, on_change=_store_attribute)


def show_controls(attributes: list[str], selection: SliceSelection) -> Any:
    """Draw the attribute and sort pickers; return the third column, left for the metric picker."""
    left, middle, right = st.columns(3)
    show_attribute_picker(left, attributes, selection.attribute)
    st.session_state[_SORT_KEY] = selection.sort
    middle.selectbox(
        _("Sort slices by"),
        list(SORT_ORDERS),
        key=_SORT_KEY,
        format_func=lambda key: _(SORT_ORDERS[key]),
        on_change=_store_sort,
    )
    return right


def show_chart(
    dataset: Dataset, overall: float | None, rows: list[dict[str, Any]], selection: SliceSelection, metric: str, metric_name: str
) -> None:
    """Draw the metric of each slice with the slice picker beside it. Clicking a bar picks its slice.

    ``rows`` hold the chosen metric under ``error_rate`` and its support under ``count``.
    """
    min_support = dataset.config.min_support
    chart_column, picker_column = st.columns([4, 1])

    figure = slice_error_rate_figure(rows, selection.attribute, overall, min_support, selection.value)
    if metric != "error_rate":
        # The figure names the error rate; another metric renames its title, axis and hover text.
        figure.update_layout(
            title={"text": _("{metric} by {column}", metric=metric_name, column=selection.attribute)},
            yaxis={"title": {"text": metric_name}},
        )
        figure.update_traces(
            hovertemplate=_(
                # Plotly's own placeholders keep doubled braces, since the text is formatted with the metric's name.
                "%{{x}}<br>{metric} %{{y:.1%}}<br>interval %{{customdata[1]:.1%}} to %{{customdata[2]:.1%}}"
                "<br>support %{{customdata[0]:,}}%{{customdata[3]}}<extra></extra>",
                metric=metric_name,
            )
        )
    # A slice picked in the selectbox starts a new chart, so a bar clicked before does not stay selected.
    chart_key = f"slices_chart:{dataset.config.display_name}:{selection.attribute}:{metric}:{st.session_state.get(_CHART_ROUND_KEY, 0)}"
    chart_column.plotly_chart(
        figure,
        key=chart_key,
        on_select=lambda: _store_clicked_bar(chart_key),
        selection_mode="points",
    )

    values = [row["value"] for row in rows]
    st.session_state[_VALUE_KEY] = selection.value
    picker_column.selectbox(
        _("Slice"),
        [None, *values],
        key=_VALUE_KEY,
        format_func=lambda value: _("all values") if value is None else value,
        # Streamlit shows the placeholder, not the option's label, when the value is None.
        placeholder=_("all values"),
        on_change=_store_value,
        help=_("Lists the examples of one slice below. Clicking a bar does the same."),
    )
    legend = _(
        "Bars show the {metric} with its {level:.0%} Wilson interval. The dashed line is the overall value.",
        metric=metric_name,
        level=dataset.config.confidence_level,
    )
    if any(row["count"] < min_support for row in rows):
        legend += " " + _(
            "Grey hatched bars have a support below {count}: the interval is wide, treat the gap with care.",
            count=min_support,
        )
    picker_column.caption(legend)


# Example table ---------------------------------------------------------------------


def show_examples(context: PageContext, selection: SliceSelection) -> None:
    """List the examples of the chosen slice (or all examples), a page at a time, with paging controls."""
    st.subheader(_("Examples"))
    if selection.value is None:
        st.caption(_("All examples under the global filter. Pick a slice above, or click a bar, to list its examples only."))
    else:
        st.caption(
            _(
                "Examples with {attribute} = {value}.",
                attribute=escape_markdown(selection.attribute),
                value=escape_markdown(selection.value),
            )
        )

    page = _cached_page(context, selection, selection.page)
    if selection.page > page.pages:
        notice_ignored(PAGE, str(selection.page), ngettext("this selection has {count} page.", "this selection has {count} pages.", page.pages))
        write_value(PAGE, None)
        page = _cached_page(context, selection, 1)

    toggle_column, page_column = st.columns([3, 1])
    st.session_state[_ERRORS_KEY] = selection.errors_only
    toggle_column.toggle(_("Errors only"), key=_ERRORS_KEY, on_change=_store_errors_only)
    st.session_state[_PAGE_KEY] = page.page
    page_column.number_input(
        _("Page"),
        min_value=1,
        max_value=page.pages,
        step=1,
        key=_PAGE_KEY,
        on_change=_store_page,
        help=_("{size} examples per page, errors first, then by id.", size=page.page_size),
    )

    examples_link(
        st,
        _("Open these in Examples"),
        outcome="errors" if selection.errors_only else None,
        attribute=selection.attribute if selection.value is not None else None,
        value=selection.value,
    )
    if page.total == 0:
        st.info(_("No example matches this selection."), icon=":material/info:")
        return
    data, config = localized_table(page.frame, _example_columns(context.dataset, page))
    st.dataframe(data, hide_index=True, column_config=config)
    st.caption(
        _(
            "Examples {first} to {last} of {total}, page {page} of {pages}.",
            first=count(page.first_position),
            last=count(page.last_position),
            total=count(page.total),
            page=count(page.page),
            pages=count(page.pages),
        )
    )


def _example_columns(dataset: Dataset, page: ExamplePage) -> dict[str, Any]:
    """Return the example table's column settings. Columns that do not apply to the dataset are hidden."""
    config: dict[str, Any] = {
        "id": st.column_config.TextColumn(_("id")),
        "label": st.column_config.TextColumn(_("label")) if dataset.has_classes else None,
        "prediction": st.column_config.TextColumn(_("prediction")) if dataset.has_classes else None,
        "score": st.column_config.NumberColumn(_("score"), format="%.3f") if dataset.has_score else None,
        "is_error": st.column_config.CheckboxColumn(_("error")),
        "tags": st.column_config.ListColumn(_("tags")) if dataset.tags else None,
    }
    for alias, name in page.attribute_names.items():
        config[alias] = st.column_config.TextColumn(name)
    return config


def _cached_page(context: PageContext, selection: SliceSelection, page: int) -> ExamplePage:
    where = _("{attribute} = {value}", attribute=selection.attribute, value=selection.value) if selection.value is not None else _("all values")
    with st.spinner(_("Finding the examples of {slice}, page {page}…", slice=where, page=page)), stop_on_analysis_error():
        return _example_page(
            str(context.folder),
            context.fingerprint,
            *filter_key(context.example_filter),
            selection.attribute if selection.value is not None else None,
            selection.value,
            selection.errors_only,
            page,
            _dataset=context.dataset,
            _example_filter=context.example_filter,
        )


# The folder, fingerprint and filter text form the cache key. The dataset and the
# parsed filter (leading underscore) are not hashed, because the key determines them.
@st.cache_data(max_entries=_CACHED_PAGES, show_spinner=False)
def _example_page(
    folder: str,
    fingerprint: Fingerprint,
    keep: tuple[str, ...],
    exclude: tuple[str, ...],
    attribute: str | None,
    value: str | None,
    errors_only: bool,
    page: int,
    *,
    _dataset: Dataset,
    _example_filter: Any,
) -> ExamplePage:
    return example_page(_dataset, _example_filter, attribute, value, errors_only, page, DEFAULT_PAGE_SIZE)
