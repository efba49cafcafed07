"""Slices page of the error-analysis dashboard: a metric per slice tested against the rest, intersections, discovery and examples.

The URL parameters are listed in :mod:`ui.slices_page` and :mod:`ui.slices_views`.
"""

from __future__ import annotations

import streamlit as st

from analysis import discovery
from analysis.i18n import N_, _
from ui.page import show_filter_banner, start_page
from ui.slices_page import (
    SliceSelection,
    read_attribute,
    read_errors_only,
    read_page,
    read_slice_value,
    read_sort,
    show_attribute_picker,
    show_chart,
    show_controls,
    show_examples,
    sort_rows,
)
from ui.slices_views import (
    DISCOVER_VIEW,
    INTERSECTIONS_VIEW,
    MAX_PREDICATES,
    MIN_SUPPORT,
    TOP,
    attribute_analysis,
    by_choices,
    metric_choices,
    metric_label,
    read_alpha,
    read_by,
    read_metric,
    read_view,
    read_whole_number,
    show_by_picker,
    show_discovery,
    show_discovery_controls,
    show_intersections,
    show_metric_picker,
    show_slice_table,
    show_view_picker,
    slice_rows,
)


def main() -> None:
    context = start_page(N_("Slices"))
    st.title(_("Slices"))
    summary = context.summary()
    show_filter_banner(context, summary)
    dataset = context.dataset

    view = read_view()
    show_view_picker(view)
    if view == DISCOVER_VIEW:
        show_discover_view(context)
        return

    attributes = [attribute.name for attribute in dataset.attributes]
    if not attributes:
        st.info(_("No attribute to slice by: add a metadata file, or list its columns under [slices] attributes."))
        return
    attribute = read_attribute(attributes)
    choices = metric_choices(dataset)
    metric = read_metric(choices)
    if view == INTERSECTIONS_VIEW:
        show_intersections_view(context, attributes, attribute, choices, metric)
        return

    sort = read_sort()
    analysed = attribute_analysis(context, attribute, metric)
    summary_rows = [row for row in summary["slices"] if row["column"] == attribute]
    rows = sort_rows(slice_rows(summary_rows, analysed["slices"]), sort)
    selection = SliceSelection(
        attribute=attribute,
        sort=sort,
        value=read_slice_value(attribute, [row["value"] for row in rows]),
        errors_only=read_errors_only(),
        page=read_page(),
    )

    metric_column = show_controls(attributes, selection)
    show_metric_picker(metric_column, choices, metric)
    show_chart(dataset, analysed["overall"]["value"], rows, selection, metric, metric_label(metric))
    show_slice_table(dataset, rows, metric)
    show_examples(context, selection)


def show_intersections_view(context, attributes: list[str], attribute: str, choices: list[str], metric: str) -> None:
    crossings = by_choices(context.dataset, attribute)
    by = read_by(crossings)
    left, middle, right = st.columns(3)
    show_attribute_picker(left, attributes, attribute)
    show_metric_picker(right, choices, metric)
    if by is None:
        st.info(_("Nothing to cross {attribute} with: the dataset has no other attribute and no tag.", attribute=attribute))
        return
    show_by_picker(middle, crossings, by)
    show_intersections(context, attribute, by, metric)


def show_discover_view(context) -> None:
    dataset = context.dataset
    choices = [metric for metric in metric_choices(dataset) if metric in discovery.METRICS]
    metric = read_metric(choices)
    max_predicates = read_whole_number(MAX_PREDICATES, 1, discovery.MAX_PREDICATES, discovery.DEFAULT_MAX_PREDICATES)
    min_support = read_whole_number(MIN_SUPPORT, 1, None, int(dataset.config.min_support))
    top = read_whole_number(TOP, 1, discovery.MAX_TOP, discovery.DEFAULT_TOP)
    alpha = read_alpha()
    show_metric_picker(st, choices, metric)
    show_discovery_controls(dataset, max_predicates, min_support, top, alpha)
    show_discovery(context, metric, max_predicates, min_support, top, alpha)


main()
