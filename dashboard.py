"""Overview page of the error-analysis dashboard: the summary of one dataset.

Run from the repository root::

    streamlit run dashboard.py
    streamlit run dashboard.py -- --data-root PATH

Every number comes from :func:`analysis.summarize`, computed and cached by
:mod:`ui.data`. This script only lays it out: the load report, headline
metrics, class balance, per-class, slice and tag tables, and the what-if
estimate. The other pages live in ``pages/``.
"""

from __future__ import annotations

from analysis.i18n import _
from ui.overview import (
    show_classes,
    show_header,
    show_headline_metrics,
    show_imbalance,
    show_load_report,
    show_no_classes,
    show_slices,
    show_tags,
    show_what_if,
)
from ui.page import show_filter_banner, start_page


def main() -> None:
    context = start_page(_("Error analysis"))
    dataset = context.dataset
    summary = context.summary()

    show_header(dataset, summary)
    show_filter_banner(context, summary)
    show_load_report(summary)
    show_headline_metrics(dataset, summary)
    if dataset.has_classes:
        show_imbalance(summary)
        show_classes(summary)
    else:
        show_no_classes(dataset)
    show_slices(dataset, summary)
    show_tags(summary)
    show_what_if(summary)


main()
