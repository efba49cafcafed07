"""Metric choice, trustworthy-slice analysis, intersections and discovery for the Slices page.

URL parameters read here, next to those of :mod:`ui.slices_page`:

- ``view``: ``intersections`` or ``discover`` (default: the slices of one attribute);
- ``metric``: ``error_rate`` (default), ``fpr``, ``fnr`` (binary tasks with a
  positive class), ``recall:CLASS`` or ``precision:CLASS``;
- ``by``: in the intersections view, the attribute or ``tag:NAME`` crossed
  with the chosen attribute (default: the next attribute, else the first tag);
- ``max_predicates`` (1 to 3, default 3), ``min_support`` (default: the
  dataset's), ``top`` (1 to 50, default 10) and ``alpha`` (above 0 and at
  most 1, default 0.95): settings of the discover view.

The analyses are cached by dataset folder, fingerprint, filter text and selection.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from analysis import Dataset, discovery
from analysis.charts import intersection_heatmap
from analysis.i18n import N_, _
from analysis.slice_analysis import (
    TAG_PREFIX,
    analyse_slices,
    intersection_table,
    resolve_dimension,
    slice_groupings,
    to_json,
)
from analysis.slice_metrics import (
    CLASS_METRICS,
    ERROR_RATE,
    FALSE_NEGATIVE_RATE,
    FALSE_POSITIVE_RATE,
    dataset_classes,
    parse_metric,
)
from ui.data import Fingerprint, filter_key
from ui.errors import stop_on_analysis_error
from ui.formatting import percent_column, points, points_column, show_table
from ui.page import PageContext
from ui.url_state import notice_ignored, read_choice, read_value, write_value

VIEW = "view"
METRIC = "metric"
BY = "by"
MAX_PREDICATES = "max_predicates"
MIN_SUPPORT = "min_support"
TOP = "top"
ALPHA = "alpha"

SLICES_VIEW = "slices"
INTERSECTIONS_VIEW = "intersections"
DISCOVER_VIEW = "discover"
VIEWS = {
    SLICES_VIEW: N_("Slices of one attribute"),
    INTERSECTIONS_VIEW: N_("Intersections"),
    DISCOVER_VIEW: N_("Discover"),
}

_METRIC_NAMES = {
    ERROR_RATE: N_("error rate"),
    FALSE_POSITIVE_RATE: N_("false-positive rate"),
    FALSE_NEGATIVE_RATE: N_("false-negative rate"),
}
_CLASS_METRIC_NAMES = {"recall": N_("recall of {name}"), "precision": N_("precision of {name}")}

_VIEW_KEY = "slices_view"
_METRIC_KEY = "slices_metric"
_BY_KEY = "slices_by"
_MAX_PREDICATES_KEY = "slices_max_predicates"
_MIN_SUPPORT_KEY = "slices_min_support"
_TOP_KEY = "slices_top"
_ALPHA_KEY = "slices_alpha"
_CACHED_ANALYSES = 32


def metric_label(metric: str) -> str:
    """Return the readable name of a metric written as in the URL."""
    kind, _separator, class_name = metric.partition(":")
    if kind in CLASS_METRICS:
        return _(_CLASS_METRIC_NAMES[kind], name=class_name)
    return _(_METRIC_NAMES[kind])


def metric_choices(dataset: Dataset) -> list[str]:
    """Return the metrics this dataset supports: rates of a binary task only when it names its positive class."""
    if not dataset.has_classes:
        return [ERROR_RATE]
    classes = dataset_classes(dataset)
    choices = [ERROR_RATE]
    if len(classes) <= 2 and dataset.config.positive_class is not None:
        choices += [FALSE_POSITIVE_RATE, FALSE_NEGATIVE_RATE]
    choices += [f"{kind}:{name}" for kind in CLASS_METRICS for name in classes]
    return choices


# Reading the URL -----------------------------------------------------------------


def read_view() -> str:
    return read_choice(VIEW, VIEWS, SLICES_VIEW)


def read_metric(choices: list[str]) -> str:
    """Return the metric in the URL, or the error rate with a notice when this dataset does not offer it."""
    requested = read_value(METRIC)
    if requested is None:
        return ERROR_RATE
    if requested in choices:
        return requested
    notice_ignored(METRIC, requested, _("this dataset offers {names}.", names=", ".join(choices)))
    write_value(METRIC, None)
    return ERROR_RATE


def by_choices(dataset: Dataset, attribute: str) -> list[str]:
    """Return what the chosen attribute can be crossed with: the other attributes, then the tags as tag:NAME."""
    others = [a.name for a in dataset.attributes if a.name != attribute]
    return others + [f"{TAG_PREFIX}{tag.name}" for tag in dataset.tags]


def read_by(choices: list[str]) -> str | None:
    requested = read_value(BY)
    default = choices[0] if choices else None
    if requested is None:
        return default
    if requested in choices:
        return requested
    notice_ignored(BY, requested, _("cross with another attribute, or with tag:NAME for a tag."))
    write_value(BY, None)
    return default


def read_whole_number(name: str, low: int, high: int | None, default: int) -> int:
    """Return the whole number in the URL between ``low`` and ``high``, or ``default`` with a notice."""
    requested = read_value(name)
    if requested is None:
        return default
    if requested.isascii() and requested.isdigit() and int(requested) >= low and (high is None or int(requested) <= high):
        return int(requested)
    if high is None:
        reason = _("use a whole number of at least {low}.", low=low)
    else:
        reason = _("use a whole number from {low} to {high}.", low=low, high=high)
    notice_ignored(name, requested, reason)
    write_value(name, None)
    return default


# Widgets ---------------------------------------------------------------------------


def read_alpha() -> float:
    """Return the discovery score weight in the URL, or the default with a notice when it is not above 0 and at most 1."""
    requested = read_value(ALPHA)
    if requested is None:
        return discovery.DEFAULT_ALPHA
    try:
        value = float(requested)
    except ValueError:
        value = math.nan
    if 0 < value <= 1:
        return value
    notice_ignored(ALPHA, requested, _("use a number above 0 and at most 1, such as 0.99."))
    write_value(ALPHA, None)
    return discovery.DEFAULT_ALPHA


def _store(widget_key: str, name: str, default: Any) -> None:
    chosen = st.session_state[widget_key]
    write_value(name, None if chosen == default or chosen is None else str(chosen))


def show_view_picker(view: str) -> None:
    st.session_state[_VIEW_KEY] = view
    st.radio(
        _("View"),
        list(VIEWS),
        key=_VIEW_KEY,
        format_func=lambda key: _(VIEWS[key]),
        horizontal=True,
        on_change=lambda: _store(_VIEW_KEY, VIEW, SLICES_VIEW),
    )


def show_metric_picker(column: Any, choices: list[str], metric: str) -> None:
    st.session_state[_METRIC_KEY] = metric
    column.selectbox(
        _("Metric"),
        choices,
        key=_METRIC_KEY,
        format_func=metric_label,
        on_change=lambda: _store(_METRIC_KEY, METRIC, ERROR_RATE),
        help=_("Support is the metric's denominator: for the false-positive rate, the examples whose label is negative."),
    )


# Slices of one attribute -------------------------------------------------------------------


def attribute_analysis(context: PageContext, attribute: str, metric: str) -> dict[str, Any]:
    """Return the JSON-ready slices of ``attribute`` for ``metric`` under the global filter, tested against the rest."""
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Testing the {metric} of each {attribute} slice against the rest…", metric=metric_label(metric), attribute=attribute)), stop_on_analysis_error():
        return _attribute_analysis(
            str(context.folder), context.fingerprint, keep, exclude, attribute, metric,
            _dataset=context.dataset, _example_filter=context.example_filter,
        )


# The folder, fingerprint and filter text form the cache key. The dataset and the
# parsed filter (leading underscore) are not hashed, because the key determines them.
@st.cache_data(max_entries=_CACHED_ANALYSES, show_spinner=False)
def _attribute_analysis(
    folder: str, fingerprint: Fingerprint, keep: tuple[str, ...], exclude: tuple[str, ...], attribute: str, metric: str,
    *, _dataset: Dataset, _example_filter: Any,
) -> dict[str, Any]:
    spec = parse_metric(metric, _dataset)
    analysis = analyse_slices(_dataset, spec, slice_groupings(_dataset, [attribute], None), _example_filter)
    return to_json(analysis.as_dict())


def slice_rows(summary_rows: list[dict[str, Any]], analysed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join the summary's rows of one attribute (examples, errors) with the analysis of the chosen metric.

    The joined rows keep the summary's keys the chart and the sort read, with
    ``error_rate`` holding the chosen metric and ``count`` its support, and
    the analysis row itself under ``tested`` for the table.
    """
    by_value = {row["predicates"][0]["value"]: row for row in analysed}
    rows = []
    for row in summary_rows:
        tested = by_value[row["value"]]
        rows.append(
            {
                "column": row["column"],
                "value": row["value"],
                "examples": row["count"],
                "errors": row["errors"],
                "count": tested["support"],
                "error_rate": tested["value"],
                "ci_low": tested["ci_low"],
                "ci_high": tested["ci_high"],
                "gap_to_overall": tested["gap_to_overall"],
                "tested": tested,
            }
        )
    return rows


def flag_text(flagged: bool) -> str:
    return _("worse") if flagged else ""


def small_text(small: bool, min_support: int) -> str:
    return _("too small to judge: fewer than {count}", count=min_support) if small else ""


def tested_columns(tested: list[dict[str, Any]], min_support: int) -> dict[str, list[Any]]:
    """Return the table columns of slices from :func:`analysis.slice_analysis.analyse_slices`: metric, test and advice."""
    return {
        "count": [row["support"] for row in tested],
        "small": [small_text(row["below_min_support"], min_support) for row in tested],
        "metric_value": [row["value"] for row in tested],
        "ci_low": [row["ci_low"] for row in tested],
        "ci_high": [row["ci_high"] for row in tested],
        "gap_to_overall": [points(row["gap_to_overall"]) for row in tested],
        "p_value": [row["p_value"] for row in tested],
        "p_adjusted": [row["p_adjusted"] for row in tested],
        "flag": [flag_text(row["flagged"]) for row in tested],
        # Only small slices get the sample-size advice, which says how far from enough they are.
        "guidance": [" ".join(row["guidance"]) if row["below_min_support"] else "" for row in tested],
    }


def slice_frame(rows: list[dict[str, Any]], min_support: int) -> pd.DataFrame:
    """Return the slice table: one row per value, with the metric, its test against the rest and advice for small slices."""
    return pd.DataFrame(
        {
            "value": [row["value"] for row in rows],
            "examples": [row["examples"] for row in rows],
            "errors": [row["errors"] for row in rows],
            **tested_columns([row["tested"] for row in rows], min_support),
        }
    )


def significance_columns(dataset: Dataset, metric: str) -> dict[str, Any]:
    """Return the column settings shared by the slice, intersection and discovery tables."""
    config = dataset.config
    name = metric_label(metric)
    return {
        "count": st.column_config.NumberColumn(_("support"), help=_("Examples in the metric's denominator."), format="localized"),
        "small": st.column_config.TextColumn(
            _("small slice"),
            help=_("Fewer than {count} examples in the support: no flag is raised, the interval is wide.", count=config.min_support),
        ),
        "metric_value": percent_column(name),
        "ci_low": percent_column(_("interval low"), _("Lower end of the {level:.0%} Wilson interval.", level=config.confidence_level)),
        "ci_high": percent_column(_("interval high"), _("Upper end of the {level:.0%} Wilson interval.", level=config.confidence_level)),
        "gap_to_overall": points_column(_("gap to overall"), _("Positive means the slice is worse than overall.")),
        "p_value": st.column_config.NumberColumn(_("p-value"), format="%.2e", help=_("Two-sided test of the slice against the rest of the data.")),
        "p_adjusted": st.column_config.NumberColumn(
            _("adjusted p-value"), format="%.2e", help=_("Benjamini-Hochberg adjustment over every slice of this table.")
        ),
        "flag": st.column_config.TextColumn(
            _("flag"),
            help=_(
                "worse: adjusted p-value below {q}, gap to overall of at least {gap:.0%} and support of at least {count}.",
                q=config.fdr_q,
                gap=config.min_gap,
                count=config.min_support,
            ),
        ),
        "guidance": st.column_config.TextColumn(_("sample size"), width="large"),
    }


def show_slice_table(dataset: Dataset, rows: list[dict[str, Any]], metric: str) -> None:
    show_table(
        slice_frame(rows, dataset.config.min_support),
        {
            "value": st.column_config.TextColumn(_("value"), width="medium"),
            "examples": st.column_config.NumberColumn(_("examples"), help=_("Examples in this slice."), format="localized"),
            "errors": st.column_config.NumberColumn(_("errors"), format="localized"),
            **significance_columns(dataset, metric),
        },
    )
    st.caption(_("Click a column header to sort the table."))


# Intersections --------------------------------------------------------------------------


def show_by_picker(column: Any, choices: list[str], by: str) -> None:
    st.session_state[_BY_KEY] = by
    column.selectbox(_("Crossed with"), choices, key=_BY_KEY, on_change=lambda: _store(_BY_KEY, BY, None))


def intersection_cells(context: PageContext, attribute: str, by: str, metric: str) -> list[dict[str, Any]]:
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Testing the {metric} of each cell of {first} by {second}…", metric=metric_label(metric), first=attribute, second=by)), stop_on_analysis_error():
        return _intersection_cells(
            str(context.folder), context.fingerprint, keep, exclude, attribute, by, metric,
            _dataset=context.dataset, _example_filter=context.example_filter,
        )


@st.cache_data(max_entries=_CACHED_ANALYSES, show_spinner=False)
def _intersection_cells(
    folder: str, fingerprint: Fingerprint, keep: tuple[str, ...], exclude: tuple[str, ...], attribute: str, by: str, metric: str,
    *, _dataset: Dataset, _example_filter: Any,
) -> list[dict[str, Any]]:
    spec = parse_metric(metric, _dataset)
    first = resolve_dimension(_dataset, attribute)
    second = resolve_dimension(_dataset, by)
    return intersection_table(_dataset, spec, first, second, _example_filter)


def _predicate_value(predicate: dict[str, Any]) -> str:
    if "tag" in predicate:
        return _("with tag") if predicate["value"] else _("without tag")
    return str(predicate["value"])


def intersection_frame(cells: list[dict[str, Any]], min_support: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "first": [_predicate_value(cell["predicates"][0]) for cell in cells],
            "second": [_predicate_value(cell["predicates"][1]) for cell in cells],
            **tested_columns(cells, min_support),
        }
    )


def show_intersections(context: PageContext, attribute: str, by: str, metric: str) -> None:
    cells = intersection_cells(context, attribute, by, metric)
    if not cells:
        st.info(_("No example under the global filter."), icon=":material/info:")
        return
    st.plotly_chart(intersection_heatmap(cells, metric_label(metric)))
    st.caption(_("Each cell gives the metric and its support n; pairs of values that never occur stay blank."))
    show_table(
        intersection_frame(cells, context.dataset.config.min_support),
        {
            "first": st.column_config.TextColumn(attribute),
            "second": st.column_config.TextColumn(by),
            **significance_columns(context.dataset, metric),
        },
    )
    st.caption(_("The p-values are adjusted over the cells of this table."))


# Discovery ------------------------------------------------------------------------------


def show_discovery_controls(dataset: Dataset, max_predicates: int, min_support: int, top: int, alpha: float) -> None:
    left, middle, right, last = st.columns(4)
    st.session_state[_MAX_PREDICATES_KEY] = max_predicates
    left.number_input(
        _("Conditions per slice, at most"),
        min_value=1,
        max_value=discovery.MAX_PREDICATES,
        step=1,
        key=_MAX_PREDICATES_KEY,
        on_change=lambda: _store(_MAX_PREDICATES_KEY, MAX_PREDICATES, discovery.DEFAULT_MAX_PREDICATES),
    )
    st.session_state[_MIN_SUPPORT_KEY] = min_support
    middle.number_input(
        _("Minimum support"),
        min_value=1,
        step=1,
        key=_MIN_SUPPORT_KEY,
        on_change=lambda: _store(_MIN_SUPPORT_KEY, MIN_SUPPORT, int(dataset.config.min_support)),
    )
    st.session_state[_TOP_KEY] = top
    right.number_input(
        _("Slices to report"),
        min_value=1,
        max_value=discovery.MAX_TOP,
        step=1,
        key=_TOP_KEY,
        on_change=lambda: _store(_TOP_KEY, TOP, discovery.DEFAULT_TOP),
    )
    st.session_state[_ALPHA_KEY] = alpha
    last.number_input(
        _("Weight of lift against size (alpha)"),
        min_value=0.01,
        max_value=1.0,
        step=0.01,
        format="%.2f",
        key=_ALPHA_KEY,
        help=_("Near 1 favours small slices that are much worse than overall; lower values favour large slices."),
        on_change=lambda: _store(_ALPHA_KEY, ALPHA, discovery.DEFAULT_ALPHA),
    )


def discovery_result(context: PageContext, metric: str, max_predicates: int, min_support: int, top: int, alpha: float) -> dict[str, Any]:
    keep, exclude = filter_key(context.example_filter)
    with st.spinner(_("Searching for the slices of up to {count} conditions where the {metric} is worst…", count=max_predicates, metric=metric_label(metric))), stop_on_analysis_error():
        return _discovery_result(
            str(context.folder), context.fingerprint, keep, exclude, metric, max_predicates, min_support, top, alpha,
            _dataset=context.dataset, _example_filter=context.example_filter,
        )


@st.cache_data(max_entries=_CACHED_ANALYSES, show_spinner=False)
def _discovery_result(
    folder: str, fingerprint: Fingerprint, keep: tuple[str, ...], exclude: tuple[str, ...], metric: str,
    max_predicates: int, min_support: int, top: int, alpha: float, *, _dataset: Dataset, _example_filter: Any,
) -> dict[str, Any]:
    settings = discovery.DiscoverySettings(metric=metric, max_predicates=max_predicates, min_support=min_support, top=top, alpha=alpha)
    return discovery.discover_slices(_dataset, settings, _example_filter).as_dict()


def discovery_frame(slices: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [row["rank"] for row in slices],
            "slice": [row["description"] for row in slices],
            "count": [row["support"] for row in slices],
            "metric_value": [row["metric_value"] for row in slices],
            "ci_low": [row["ci_low"] for row in slices],
            "ci_high": [row["ci_high"] for row in slices],
            "gap_to_overall": [points(row["gap_to_overall"]) for row in slices],
            "p_adjusted": [row["adjusted_p_value"] for row in slices],
            "flag": [flag_text(row["flagged"]) for row in slices],
            "overlapping": [len(row["overlapping"]) for row in slices],
        }
    )


def show_discovery(context: PageContext, metric: str, max_predicates: int, min_support: int, top: int, alpha: float) -> None:
    result = discovery_result(context, metric, max_predicates, min_support, top, alpha)
    for notice in result["notices"]:
        st.info(notice, icon=":material/info:")
    slices = result["slices"]
    if not slices:
        st.info(
            _(
                "No slice of at least {count} examples scores above 0. Raise alpha to favour smaller slices that are much worse than overall.",
                count=min_support,
            ),
            icon=":material/info:",
        )
        return
    columns = significance_columns(context.dataset, metric)
    columns["p_adjusted"] = st.column_config.NumberColumn(
        _("adjusted p-value"), format="%.2e", help=_("Benjamini-Hochberg adjustment over every slice the search counted.")
    )
    show_table(
        discovery_frame(slices),
        {
            "rank": st.column_config.NumberColumn(_("rank")),
            "slice": st.column_config.TextColumn(_("slice"), width="large"),
            **{key: columns[key] for key in ("count", "metric_value", "ci_low", "ci_high", "gap_to_overall", "p_adjusted", "flag")},
            "overlapping": st.column_config.NumberColumn(_("overlapping slices"), help=_("Slices sharing most of their examples with this one, listed below.")),
        },
    )
    st.caption(
        _(
            "{count} candidate slices counted; overall {metric} {value}.",
            count=result["candidates_evaluated"],
            metric=metric_label(metric),
            value=_format_rate(result["overall"]["metric_value"]),
        )
    )
    for row in slices:
        if not row["overlapping"]:
            continue
        with st.expander(_("{rank}. {slice}: overlapping slices", rank=row["rank"], slice=row["description"])):
            show_table(
                pd.DataFrame(
                    {
                        "slice": [member["description"] for member in row["overlapping"]],
                        "count": [member["support"] for member in row["overlapping"]],
                        "metric_value": [member["metric_value"] for member in row["overlapping"]],
                    }
                ),
                {
                    "slice": st.column_config.TextColumn(_("slice"), width="large"),
                    "count": columns["count"],
                    "metric_value": columns["metric_value"],
                },
            )


def _format_rate(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _("undefined")
    return _("{value:.1%}", value=value)
