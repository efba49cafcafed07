"""What-if page of the error-analysis dashboard: target accuracies per tag and the priority list."""

from __future__ import annotations

import streamlit as st

from analysis.i18n import N_, _
from ui.page import show_filter_banner, start_page
from ui.what_if_page import (
    priorities,
    read_selection,
    select_tags,
    select_targets_and_weights,
    show_estimate,
    show_priorities,
)


def main() -> None:
    context = start_page(N_("What-if"))
    state = context.workspace
    table = context.summary()

    st.title(_("What-if"))
    show_filter_banner(context, table)
    selection, defaults = read_selection(table, [tag.name for tag in context.dataset.tags])
    names = [row["tag"] for row in table["tags"]]
    select_tags(selection, names, defaults)
    estimate = context.summary(targets=selection.chosen_targets())
    show_estimate(estimate, selection)
    select_targets_and_weights(selection, table["tags"], defaults, names)
    show_priorities(priorities(context, state, table, selection))


main()
