"""Audit page: the checklist of the dataset file's [audit] section with its evidence, and the editor of its checks."""

from __future__ import annotations

import streamlit as st

from analysis.i18n import N_, _
from ui.audit_editor import edit_audit
from ui.audit_page import audit_result, explain_missing_section, show_checklist, show_evidence, show_verdict
from ui.page import start_page
from ui.report_download import show_report_download


def main() -> None:
    context = start_page(N_("Audit"))
    st.title(_("Audit"))
    download = st.container()

    # The checklist is drawn above the editor but from the editor's draft, so it is filled after the editor ran.
    checklist = st.container()
    draft = edit_audit(context)
    spec = draft.spec if draft.spec is not None else context.dataset.config.audit
    with download:
        show_report_download(context, key="audit_report_download", audit=spec)
    with checklist:
        if spec is None or not spec.checks:
            explain_missing_section()
            return
        result = audit_result(context, spec)
        show_verdict(result)
        show_checklist(result)
        show_evidence(result)


main()
