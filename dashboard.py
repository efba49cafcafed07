"""Overview page of the error-analysis dashboard: the summary of one dataset.

Run from the repository root::

    streamlit run dashboard.py
    streamlit run dashboard.py -- --data-root PATH

Every number comes from :mod:`analysis`, computed and cached by :mod:`ui.data`
and :mod:`ui.scores`. This script only lays it out: the load report, headline
metrics, class balance, per-class table, confusion matrix, score curves, slice
and tag tables, and the what-if estimate, with a button that downloads the HTML
report of :mod:`analysis.report`. The other pages live in ``pages/``.

Query parameters of this page, besides the shared ``dataset``, ``keep`` and
``exclude``: ``matrix`` (``counts`` or ``normalised``), ``threshold`` (0 to 1)
and ``class`` (the one-vs-rest class of the score curves).
"""

from __future__ import annotations

from analysis.i18n import N_
from ui.overview import (
    show_classes,
    show_confusion,
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
from ui.report_download import show_report_download
from ui.scores import show_scores


def main() -> None:
    context = start_page(N_("Error analysis"))
    dataset = context.dataset
    summary = context.summary()

    show_header(dataset, summary)
    show_filter_banner(context, summary)
    show_report_download(context)
    show_load_report(summary)
    show_headline_metrics(dataset, summary)
    if dataset.has_classes:
        show_imbalance(summary)
        show_classes(summary)
        show_confusion(summary)
        show_scores(context)
    else:
        show_no_classes(dataset)
    show_slices(dataset, summary)
    show_tags(summary)
    show_what_if(summary)


main()
