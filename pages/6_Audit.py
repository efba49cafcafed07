"""Audit page: the checklist of the dataset file's [audit] section with its evidence."""

from __future__ import annotations

import streamlit as st

from analysis.i18n import _
from ui.audit_page import audit_result, explain_missing_section, show_checklist, show_evidence, show_verdict
from ui.page import start_page


def main() -> None:
    context = start_page(_("Audit"))
    st.title(_("Audit"))
    if context.dataset.config.audit is None:
        explain_missing_section()
        return
    result = audit_result(context)
    show_verdict(result)
    show_checklist(result)
    show_evidence(result)


main()
