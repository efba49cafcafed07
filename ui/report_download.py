"""The download button of the HTML report (:mod:`analysis.report`) for the page's dataset and global filter.

Any page can call :func:`show_report_download` with its :class:`~ui.page.PageContext`.
"""

from __future__ import annotations

import functools

import streamlit as st

from analysis import Dataset
from analysis.audit_file import audit_section_text
from analysis.audit_spec import AuditSpec
from analysis.filters import parse_filter
from analysis.i18n import _, current_language, load_translations, using
from analysis.report import build_report
from ui.data import Fingerprint, filter_key
from ui.page import PageContext

# Each report embeds plotly.js (about 4.8 MB), so only a few are kept.
_CACHED_REPORTS = 4


def show_report_download(context: PageContext, key: str = "report_download", audit: AuditSpec | None = None) -> None:
    """Draw a button that downloads the report of the page's dataset under the global filter.

    The report is built when the button is clicked, not on each rerun of the
    page, and cached on the page's fingerprint (files and tag edits), the
    filter and the HLP values, so a second click serves the same file.
    Give each button on one page its own ``key``. ``audit`` replaces the
    dataset file's checks, so the Audit page's report follows its unsaved edits.
    """
    audit_text = None if audit is None else audit_section_text(audit)
    keep, exclude = filter_key(context.example_filter)
    hlp = None if context.hlp is None else tuple(sorted(context.hlp.items()))
    st.download_button(
        _("Download the report (HTML)"),
        data=functools.partial(report_bytes, str(context.folder), context.fingerprint, keep, exclude, hlp, current_language(), audit_text, context.dataset, audit),
        file_name=f"{context.folder.name}_report.html",
        mime="text/html",
        icon=":material/download:",
        key=key,
        help=_(
            "One HTML file with the headline numbers, classes, worst slices, tags, what-if priorities and audit, "
            "under the global filter, to share with people who do not use the dashboard. It opens in any browser without a network."
        ),
        # A rerun would only repeat the page, because the click itself makes the file.
        on_click="ignore",
    )


# NOTE: Streamlit runs this in a worker thread when the button is clicked, so
# an AnalysisError here reaches the user only as "Failed to generate file".
# The page has already computed the same summary under the same filter, and
# the report turns a broken [audit] section into a sentence, so none is expected.
# The dataset is not hashed (leading underscore): the folder and fingerprint stand for it.
@st.cache_data(max_entries=_CACHED_REPORTS, show_spinner=False)
def report_bytes(
    folder: str,
    fingerprint: Fingerprint,
    keep: tuple[str, ...],
    exclude: tuple[str, ...],
    hlp: tuple[tuple[str, float], ...] | None,
    language: str,
    audit_text: str | None,
    _dataset: Dataset,
    _audit: AuditSpec | None = None,
) -> bytes:
    """Return the report as UTF-8 bytes, built once per dataset version, filter, HLP values, language and audit checks (their TOML text)."""
    # The worker thread does not inherit the page's language, so it is set again here.
    with using(load_translations(language), language):
        example_filter = parse_filter(_dataset, list(keep), list(exclude))
        return build_report(_dataset, example_filter, None if hlp is None else dict(hlp), audit=_audit).html.encode("utf-8")
