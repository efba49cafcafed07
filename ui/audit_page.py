"""The Audit page: the checklist of the dataset file's ``[audit]`` section, with the evidence behind each line.

The checks run under the section's own filter, so the page shows what
``python -m analysis audit`` decides, whatever the sidebar's global filter.
Edited checks that are not saved yet run instead of the file's
(:mod:`ui.audit_editor`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis.audit import FAIL, NOT_ENOUGH_DATA, PASS, AuditResult, run_audit
from analysis.audit_file import audit_section_text
from analysis.audit_spec import AT_MOST, BLOCKING, FAIRNESS_MEASURES, MIN_MAX_RATIO, WARNING, AuditCheck, AuditSpec
from analysis.i18n import N_, _, ngettext
from analysis.model import Dataset
from ui.data import Fingerprint
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.formatting import count, interval, localized_table, percent
from ui.page import PageContext

STATUS_LABELS = {PASS: N_("pass"), FAIL: N_("fail"), NOT_ENOUGH_DATA: N_("not enough data")}
SEVERITY_LABELS = {BLOCKING: N_("blocking"), WARNING: N_("warning")}


def audit_result(context: PageContext, spec: AuditSpec) -> AuditResult:
    """Run ``spec`` on the dataset (cached per dataset fingerprint, which follows the files and the tag edits, and per spec)."""
    with st.spinner(_("Running the audit checks…")), stop_on_analysis_error():
        return _audit(str(context.folder), context.fingerprint, audit_section_text(spec), context.dataset, spec)


# The folder and fingerprint stand for the unhashed dataset in the cache key, the TOML text for the spec.
@st.cache_data(max_entries=16, show_spinner=False)
def _audit(folder: str, fingerprint: Fingerprint, spec_text: str, _dataset: Dataset, _spec: AuditSpec) -> AuditResult:
    return run_audit(_dataset, _spec)


def show_verdict(result: AuditResult) -> None:
    failed = [check for check in result.checks if check.status == FAIL]
    if result.passed and not failed:
        st.success(_("Every check passes on {examples} examples.", examples=count(result.examples)))
    elif result.passed:
        st.warning(ngettext("No blocking check fails, but {count} warning check does.", "No blocking check fails, but {count} warning checks fail.", len(failed)))
    else:
        st.error(
            ngettext(
                "The audit fails: {count} check of {total} fails, and it is blocking.",
                "The audit fails: {count} of {total} checks fail, at least one of them blocking.",
                len(failed),
                total=len(result.checks),
            )
        )
    description = result.example_filter.describe() if result.example_filter else _("all examples")
    st.caption(
        escape_markdown(
            _("Audited examples: {description} ({examples}). Groups with a support under {min_support} are not judged.", description=description, examples=count(result.examples), min_support=result.min_support)
        )
    )


def show_checklist(result: AuditResult) -> None:
    """Show one row per check: status, severity, the worst group and its evidence."""
    rows = []
    for check in result.checks:
        worst = check.worst
        rows.append(
            {
                "status": _(STATUS_LABELS[check.status]),
                "severity": _(SEVERITY_LABELS[check.check.severity]),
                "check": check.check.name,
                "worst_group": None if worst is None else (worst.group or worst.class_name or _("all")),
                "value": None if worst is None else _value(worst.value, check.check.metric),
                "interval": None if worst is None else _interval(worst.ci_low, worst.ci_high),
                "threshold": None if worst is None else _threshold(worst.threshold, check.check),
                "support": None if worst is None else worst.support,
            }
        )
    data, config = localized_table(
        pd.DataFrame(rows),
        {
            "status": _("status"),
            "severity": _("severity"),
            "check": _("check"),
            "worst_group": _("worst group"),
            "value": _("value"),
            "interval": _("95% interval"),
            "threshold": _("threshold"),
            "support": st.column_config.NumberColumn(_("support"), format="localized"),
        },
    )
    st.dataframe(data, hide_index=True, column_config=config, key="audit_checklist", placeholder="")


def show_evidence(result: AuditResult) -> None:
    """Show one expander per check, listing every group it compared."""
    for check in result.checks:
        title = _("{status}: {name}", status=_(STATUS_LABELS[check.status]), name=check.check.name)
        with st.expander(title, expanded=check.status == FAIL):
            if check.reference is not None:
                st.caption(escape_markdown(_("Reference group: {group} ({value}).", group=check.reference, value=_percent(check.reference_value))))
            frame = pd.DataFrame([_outcome_row(outcome, check.check.metric) for outcome in check.outcomes])
            data, config = localized_table(
                frame,
                {
                    "group": _("group"),
                    "status": _("status"),
                    "value": _("value"),
                    "interval": _("95% interval"),
                    "ratio": st.column_config.NumberColumn(_("ratio"), format="%.3f"),
                    "support": st.column_config.NumberColumn(_("support"), format="localized"),
                },
            )
            st.dataframe(data, hide_index=True, column_config=config, placeholder="")


def _outcome_row(outcome: Any, metric: str) -> dict:
    return {
        "group": outcome.group or outcome.class_name or _("all"),
        "status": _(STATUS_LABELS[outcome.status]),
        "value": _value(outcome.value, metric),
        "interval": _interval(outcome.ci_low, outcome.ci_high),
        "ratio": outcome.ratio,
        "support": outcome.support,
    }


def _percent(value: float | None) -> str | None:
    """Format a fraction as the other pages do, leaving the cell empty when there is no value."""
    return None if value is None or pd.isna(value) else percent(value)


def _interval(low: float | None, high: float | None) -> str | None:
    missing = low is None or high is None or pd.isna(low) or pd.isna(high)
    return None if missing else interval(low, high)


def _value(value: float | None, metric: str) -> str | None:
    """Format a rate as a percentage, and a fairness measure (a difference or ratio of rates) as a plain number."""
    if metric not in FAIRNESS_MEASURES:
        return _percent(value)
    return None if value is None or pd.isna(value) else _("{value:.3f}", value=value)


def _threshold(threshold: Any, check: AuditCheck) -> str | None:
    if threshold is None:
        return None
    if isinstance(threshold, (list, tuple)):
        return _("ratio {low} to {high}", low=threshold[0], high=threshold[1])
    if check.rule == MIN_MAX_RATIO:
        return _("ratio at least {value}", value=threshold)
    if check.metric in FAIRNESS_MEASURES:
        return _("at most {value}", value=threshold) if check.rule == AT_MOST else _("at least {value}", value=threshold)
    return _("{value:.1%}", value=threshold)


def explain_missing_section() -> None:
    st.info(
        _(
            "This dataset file has no audit checks yet. Add checks such as a minimum recall of a class or a false-positive-rate ratio across an attribute "
            "in the editor below and save them to the dataset file (the README's Audit section explains each key); python -m analysis audit then runs them as a CI gate."
        ),
        icon=":material/info:",
    )
