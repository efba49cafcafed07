"""Filters of the Examples page, kept in the URL, and links into the page from other pages.

Every selection lives in the URL, so a copied link lists the same examples:

- ``outcome``: ``errors`` or ``correct`` (default: every example);
- ``label``, ``prediction``: a class, alone or as a (label, prediction) pair;
- ``attribute`` and ``value``: a slice, with the value as the Slices page shows it;
- ``tag`` and ``tagged``: a tag, carried (``1``, the default) or not carried (``0``);
- ``score_min``, ``score_max``: an inclusive score range;
- ``sort``: ``score_asc`` or ``score_desc`` (default: errors first, then by id);
- ``page``: the page of the table, from 1;
- ``columns``: the shown columns, repeated once per column;
- ``run_a``, ``run_b`` and ``change``: only the examples that run B ``fixed``
  (A wrong, B right) or ``broken`` (A right, B wrong) compared with run A.

A widget's callback writes its new value to the URL, and each run reads the
URL back into the widgets, so the URL is the one source of the selection.
An invalid value falls back to its default with a notice.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from analysis import Dataset
from analysis.examples import (
    OUTCOMES,
    SORTS,
    ExampleQuery,
    class_names,
    column_choices,
    slice_values,
)
from analysis.i18n import N_, _, ngettext
from ui.url_state import (
    notice_ignored,
    read_choice,
    read_page,
    read_value,
    read_values,
    shared_parameters,
    write_value,
    write_values,
)

EXAMPLES_PAGE = "pages/4_Examples.py"

OUTCOME = "outcome"
LABEL = "label"
PREDICTION = "prediction"
ATTRIBUTE = "attribute"
VALUE = "value"
TAG = "tag"
TAGGED = "tagged"
SCORE_MIN = "score_min"
SCORE_MAX = "score_max"
SORT = "sort"
PAGE = "page"
COLUMNS = "columns"
RUN_A = "run_a"
RUN_B = "run_b"
CHANGE = "change"
CHANGES = ("fixed", "broken")
RUN_PARAMETERS = (RUN_A, RUN_B, CHANGE)

# Every parameter that narrows the list; a change to any of them goes back to page 1.
FILTER_PARAMETERS = (OUTCOME, LABEL, PREDICTION, ATTRIBUTE, VALUE, TAG, TAGGED, SCORE_MIN, SCORE_MAX, SORT)

OUTCOME_LABELS = {"all": N_("all examples"), "errors": N_("errors"), "correct": N_("correct")}
SORT_LABELS = {
    "default": N_("errors first, then id"),
    "score_asc": N_("score, lowest first"),
    "score_desc": N_("score, highest first"),
}

_KEYS = {name: f"examples_{name}" for name in (*FILTER_PARAMETERS, PAGE, COLUMNS)}


# Links from other pages -----------------------------------------------------------------


def examples_parameters(
    outcome: str | None = None,
    label: str | None = None,
    prediction: str | None = None,
    attribute: str | None = None,
    value: str | None = None,
    tag: str | None = None,
    run_a: str | None = None,
    run_b: str | None = None,
    change: str | None = None,
) -> dict[str, str | list[str]]:
    """Return the query parameters of a link to the Examples page with these filters, carrying the dataset and the global filter."""
    parameters: dict[str, str | list[str]] = dict(shared_parameters())
    chosen = {
        OUTCOME: outcome, LABEL: label, PREDICTION: prediction, ATTRIBUTE: attribute, VALUE: value, TAG: tag,
        RUN_A: run_a, RUN_B: run_b, CHANGE: change,
    }
    parameters.update({name: text for name, text in chosen.items() if text is not None and not (name == OUTCOME and text == "all")})
    return parameters


def examples_link(container: Any, text: str, **filters: str | None) -> None:
    """Draw a link to the Examples page listing the examples that ``filters`` (see :func:`examples_parameters`) choose."""
    container.page_link(EXAMPLES_PAGE, label=text, icon=":material/table_rows:", query_params=examples_parameters(**filters))


# Reading the URL ---------------------------------------------------------------------------


def read_query(dataset: Dataset) -> tuple[ExampleQuery, str | None]:
    """Return the query in the URL and the attribute picked for a slice. Each invalid value is dropped with a notice.

    An attribute picked with no slice value yet narrows nothing, so the query
    gets the attribute only together with a value.
    """
    outcome = read_choice(OUTCOME, OUTCOMES, "all")
    classes = class_names(dataset) if dataset.has_classes else []
    label = _read_member(LABEL, classes, _("no example has this class."))
    prediction = _read_member(PREDICTION, classes, _("no example has this class."))
    attribute, value = _read_slice(dataset)
    tag = _read_member(TAG, [t.name for t in dataset.tags], _("no tag of this dataset has that name."))
    tagged = read_choice(TAGGED, ("1", "0"), "1")
    score_min, score_max = _read_score_range(dataset)
    sorts = SORTS if dataset.has_score else ("default",)
    sort = read_choice(SORT, sorts, "default")
    query = ExampleQuery(
        outcome=outcome,
        label=label,
        prediction=prediction,
        attribute=attribute if value is not None else None,
        value=value,
        tag=tag,
        tag_carried=tagged == "1",
        score_min=score_min,
        score_max=score_max,
        sort=sort,
        page=read_page(PAGE),
    )
    return query, attribute


def read_run_change(runs: list[str]) -> tuple[str, str, str] | None:
    """Return (run A, run B, change) from the URL when the three are given and valid; else drop them with a notice and return None."""
    requested = {name: read_value(name) for name in RUN_PARAMETERS}
    if all(value is None for value in requested.values()):
        return None
    problem = None
    if any(value is None for value in requested.values()):
        missing = [name for name, value in requested.items() if value is None]
        problem = (next(name for name, value in requested.items() if value is not None), _("it needs {names} too.", names=", ".join(missing)))
    elif requested[CHANGE] not in CHANGES:
        problem = (CHANGE, _("use one of {names}.", names=", ".join(CHANGES)))
    else:
        for name in (RUN_A, RUN_B):
            if requested[name] not in runs:
                problem = (name, _("the dataset has no run with that name."))
                break
    if problem is not None:
        notice_ignored(problem[0], requested[problem[0]], problem[1])
        for name in RUN_PARAMETERS:
            write_value(name, None)
        return None
    return requested[RUN_A], requested[RUN_B], requested[CHANGE]


def clear_run_change() -> None:
    """Drop the run comparison from the URL (widget callback)."""
    for name in RUN_PARAMETERS:
        write_value(name, None)
    write_value(PAGE, None)


def read_columns(dataset: Dataset, defaults: list[str]) -> list[str]:
    """Return the shown columns named in the URL, dropping unknown names with a notice; ``defaults`` when none is left."""
    choices = column_choices(dataset)
    chosen = []
    for name in dict.fromkeys(read_values(COLUMNS)):
        if name in choices:
            chosen.append(name)
        else:
            notice_ignored(COLUMNS, name, _("the dataset has no column with that name."))
    write_values(COLUMNS, chosen)
    return chosen or defaults


def _read_member(name: str, allowed: list[str], reason: str) -> str | None:
    requested = read_value(name)
    if requested is None or requested in allowed:
        return requested
    notice_ignored(name, requested, reason)
    write_value(name, None)
    return None


def _read_slice(dataset: Dataset) -> tuple[str | None, str | None]:
    attribute = _read_member(ATTRIBUTE, [a.name for a in dataset.attributes], _("no attribute of this dataset has that name."))
    requested = read_value(VALUE)
    if requested is None:
        return attribute, None
    if attribute is None:
        notice_ignored(VALUE, requested, _("a slice value needs an attribute."))
    elif requested in slice_values(dataset, attribute):
        return attribute, requested
    else:
        notice_ignored(VALUE, requested, _("the attribute {attribute} has no such value here.", attribute=attribute))
    write_value(VALUE, None)
    return attribute, None


def _read_score_range(dataset: Dataset) -> tuple[float | None, float | None]:
    bounds = {}
    for name in (SCORE_MIN, SCORE_MAX):
        requested = read_value(name)
        bounds[name] = None
        if requested is None:
            continue
        number = _parse_number(requested)
        if not dataset.has_score:
            notice_ignored(name, requested, _("this dataset has no score column."))
        elif number is None:
            notice_ignored(name, requested, _("a score bound is a number such as 0.5."))
        else:
            bounds[name] = number
            continue
        write_value(name, None)
    low, high = bounds[SCORE_MIN], bounds[SCORE_MAX]
    if low is not None and high is not None and low > high:
        notice_ignored(SCORE_MAX, str(high), _("it is below the minimum score {low}.", low=low))
        write_value(SCORE_MAX, None)
        high = None
    return low, high


def _parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# Widgets: each callback writes the URL, and the next run reads it back ----------------------


def _store(name: str, default: object = None) -> None:
    chosen = st.session_state[_KEYS[name]]
    write_value(name, None if chosen is None or chosen == default else str(chosen))
    write_value(PAGE, None)


def _store_attribute() -> None:
    _store(ATTRIBUTE)
    write_value(VALUE, None)


def _store_tagged() -> None:
    write_value(TAGGED, None if st.session_state[_KEYS[TAGGED]] else "0")
    write_value(PAGE, None)


def _store_score(name: str) -> None:
    chosen = st.session_state[_KEYS[name]]
    write_value(name, None if chosen is None else repr(float(chosen)))
    write_value(PAGE, None)


def _store_page() -> None:
    page = st.session_state[_KEYS[PAGE]]
    write_value(PAGE, None if page == 1 else str(page))


def _store_columns(defaults: list[str]) -> None:
    chosen = st.session_state[_KEYS[COLUMNS]]
    write_values(COLUMNS, [] if chosen == defaults else chosen)


def show_filters(dataset: Dataset, query: ExampleQuery, attribute: str | None) -> None:
    """Draw the outcome, class, slice, tag, score and sort pickers, set to ``query`` and the picked ``attribute``."""
    # The outcome column is wider, so its three choices stay on one line.
    outcome_column, label_column, prediction_column, sort_column = st.columns([4, 3, 3, 3])
    _set(OUTCOME, query.outcome)
    outcome_column.radio(
        _("Outcome"), list(OUTCOMES), key=_KEYS[OUTCOME], format_func=lambda key: _(OUTCOME_LABELS[key]),
        horizontal=True, on_change=_store, args=(OUTCOME, "all"),
    )
    if dataset.has_classes:
        classes = class_names(dataset)
        _class_picker(label_column, LABEL, _("Label"), classes, query.label)
        _class_picker(prediction_column, PREDICTION, _("Prediction"), classes, query.prediction)
    sorts = list(SORTS) if dataset.has_score else ["default"]
    _set(SORT, query.sort)
    sort_column.selectbox(
        _("Sort by"), sorts, key=_KEYS[SORT], format_func=lambda key: _(SORT_LABELS[key]), on_change=_store, args=(SORT, "default"),
    )

    attribute_column, value_column, tag_column, tagged_column = st.columns([4, 3, 3, 3])
    if dataset.attributes:
        _set(ATTRIBUTE, attribute)
        attribute_column.selectbox(
            _("Attribute"), [None, *(a.name for a in dataset.attributes)], key=_KEYS[ATTRIBUTE],
            format_func=lambda name: _("any") if name is None else name, placeholder=_("any"), on_change=_store_attribute,
        )
        values = slice_values(dataset, attribute) if attribute is not None else []
        _set(VALUE, query.value)
        value_column.selectbox(
            _("Slice"), [None, *values], key=_KEYS[VALUE], format_func=lambda value: _("all values") if value is None else value,
            placeholder=_("all values"), disabled=attribute is None, on_change=_store, args=(VALUE,),
            help=_("Slice values as the Slices page shows them: bins of numbers, (other) and (missing)."),
        )
    if dataset.tags:
        _set(TAG, query.tag)
        tag_column.selectbox(
            _("Tag"), [None, *(t.name for t in dataset.tags)], key=_KEYS[TAG],
            format_func=lambda name: _("any") if name is None else name, placeholder=_("any"), on_change=_store, args=(TAG,),
        )
        _set(TAGGED, query.tag_carried)
        tagged_column.toggle(_("Carries the tag"), key=_KEYS[TAGGED], disabled=query.tag is None, on_change=_store_tagged,
                             help=_("Off lists the examples that do not carry the tag."))

    if dataset.has_score:
        low_column, high_column, _rest = st.columns([1, 1, 2])
        for column, name, label, bound in (
            (low_column, SCORE_MIN, _("Minimum score"), query.score_min),
            (high_column, SCORE_MAX, _("Maximum score"), query.score_max),
        ):
            _set(name, bound)
            column.number_input(label, value=None, step=0.01, format="%.4f", key=_KEYS[name], on_change=_store_score, args=(name,),
                                placeholder=_("none"), help=_("Inclusive bound; leave empty for no bound."))


def show_column_picker(dataset: Dataset, columns: list[str], defaults: list[str]) -> None:
    """Draw the choice of shown columns: every outcome column and every column of the metadata file."""
    _set(COLUMNS, columns)
    st.multiselect(
        _("Columns"), list(column_choices(dataset)), key=_KEYS[COLUMNS], on_change=_store_columns, args=(defaults,), format_func=column_label,
        help=_("Columns of the table and of the export. Metadata columns are read for the shown page only."),
        placeholder=_("Choose columns"),
    )


def column_label(key: str) -> str:
    """Return how the table heads the column ``key``: the translated name of an outcome column, else the key itself."""
    labels = {"id": _("id"), "label": _("label"), "prediction": _("prediction"), "score": _("score"), "is_error": _("error"), "tags": _("tags")}
    return labels.get(key, key)


def show_page_picker(container: Any, page: int, pages: int, page_size: int) -> None:
    _set(PAGE, page)
    container.number_input(
        _("Page"), min_value=1, max_value=pages, step=1, key=_KEYS[PAGE], on_change=_store_page,
        help=_("{size} examples per page.", size=page_size),
    )


def reset_page(requested: int, pages: int) -> None:
    """Drop a page number past the last page from the URL, with a notice."""
    notice_ignored(PAGE, str(requested), ngettext("this selection has {count} page.", "this selection has {count} pages.", pages))
    write_value(PAGE, None)


def _class_picker(container: Any, name: str, label: str, classes: list[str], chosen: str | None) -> None:
    _set(name, chosen)
    container.selectbox(
        label, [None, *classes], key=_KEYS[name], format_func=lambda value: _("any") if value is None else value,
        placeholder=_("any"), on_change=_store, args=(name,),
    )


def _set(name: str, value: object) -> None:
    # Setting the widget's state on every run keeps it in step with the URL.
    st.session_state[_KEYS[name]] = value
