"""The Audit page's editor: change the checks and the audited examples, preview them, save them to the dataset file.

The editor starts from the dataset file's ``[audit]`` section. Edits stay in
the browser session (the draft) until saved, and the page runs the draft, so
the effect of a new threshold shows before anything is written. Saving
replaces only the ``[audit]`` section (:mod:`analysis.audit_file`), after the
whole file is validated, and is refused when the file changed on disk since
the editor read it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analysis import AnalysisError
from analysis.audit_file import audit_section_text, check_table, file_digest, save_audit_section
from analysis.audit_spec import METRICS, RATIO_TO_REFERENCE, RULES, SEVERITIES, AuditSpec, parse_audit
from analysis.filters import filter_choices, parse_condition
from analysis.i18n import _
from analysis.slice_metrics import dataset_classes
from ui.errors import escape_markdown
from ui.messages import set_error, set_message, show_message
from ui.page import PageContext

log = logging.getLogger(__name__)

# The editor's columns: the keys of an [[audit.checks]] table, with the rule and its threshold as two columns.
COLUMNS = ("name", "severity", "metric", "class", "attribute", "slice", "rule", "threshold", "reference")
_MESSAGE_KEY = "audit_editor_message"


@dataclass(frozen=True)
class Draft:
    """The edited audit spec, or the error that makes it invalid, and whether it differs from the file."""

    spec: AuditSpec | None
    error: AnalysisError | None
    changed: bool


@dataclass
class _Base:
    """Starting point of the editor: the file's spec, the digest of its text and the rows the table starts with."""

    version: int
    digest: str | None
    spec: AuditSpec | None
    rows: list[dict[str, Any]]


def edit_audit(context: PageContext) -> Draft:
    """Draw the editor under the checklist and return the draft the page should run.

    A draft that is not valid comes back with its error and without a spec,
    and the page keeps showing the file's checks.
    """
    source = context.dataset.config.source
    base = _base(context, source)
    prefix = _state_prefix(context.folder)

    with st.expander(_("Edit the checks"), expanded=context.dataset.config.audit is None):
        st.caption(
            _(
                "Each row is one check. The rule decides how the threshold is read: at_least and at_most take a fraction (0.8 means 80%), "
                "the overall rules take a gap in points as a fraction (0.05 means 5 points), ratio_to_reference takes the lowest and highest "
                "allowed ratio (0.8, 1.25) and min_max_ratio the lowest allowed ratio of the worst to the best group. The page shows the "
                "edited checks at once; the file, which python -m analysis audit reads, changes only when you save."
            )
        )
        frame = st.data_editor(
            pd.DataFrame(base.rows, columns=list(COLUMNS)),
            num_rows="dynamic",
            hide_index=True,
            column_config=_column_config(context, base.rows),
            placeholder="",
            key=f"{prefix}_checks_{base.version}",
        )
        keep, exclude = _draw_filter(context, base, prefix)
        min_support = _draw_min_support(context, base, prefix)

        draft = _draft(context, source, base, frame, keep, exclude, min_support)
        if draft.error is not None:
            _show_draft_error(draft.error)
        _draw_actions(context, source, base, draft, prefix)
        if draft.spec is not None:
            with st.popover(_("Show the [audit] section as TOML")):
                st.code(audit_section_text(draft.spec), language="toml")
    return draft


def _show_draft_error(error: AnalysisError) -> None:
    text = _("The edited checks are not valid, so the page still shows the file's checks: {message}", message=error.message)
    if error.hint:
        text += "\n\n" + error.hint
    st.error(escape_markdown(text), icon=":material/error:")


def _state_prefix(folder: Path) -> str:
    return "audit_editor_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]


def _base(context: PageContext, source: Path | None) -> _Base:
    """Return the editor's starting point, read again when the file changed and nothing was edited yet."""
    prefix = _state_prefix(context.folder)
    digest = _digest(source)
    base: _Base | None = st.session_state.get(f"{prefix}_base")
    reload = st.session_state.pop(f"{prefix}_reload", False)
    if base is not None and not reload and (base.digest == digest or _has_edits(prefix, base)):
        return base
    # A new version gives every widget a new key, so no edit of the old draft carries over.
    version = 0 if base is None else base.version + 1
    spec = context.dataset.config.audit
    rows = [_row(check_table(check)) for check in spec.checks] if spec is not None else []
    base = _Base(version, digest, spec, rows)
    st.session_state[f"{prefix}_base"] = base
    _seed_filter_widgets(prefix, base)
    return base


def _digest(source: Path | None) -> str | None:
    try:
        return None if source is None else file_digest(source)
    except OSError:
        return None


def _has_edits(prefix: str, base: _Base) -> bool:
    """Return whether the user changed any widget of the editor since it last started from the file."""
    edits = st.session_state.get(f"{prefix}_checks_{base.version}")
    if edits and any(edits.get(kind) for kind in ("edited_rows", "added_rows", "deleted_rows")):
        return True
    spec = base.spec or AuditSpec()
    return (
        st.session_state.get(f"{prefix}_keep_{base.version}", list(spec.keep)) != list(spec.keep)
        or st.session_state.get(f"{prefix}_exclude_{base.version}", list(spec.exclude)) != list(spec.exclude)
        or st.session_state.get(f"{prefix}_min_support_{base.version}", spec.min_support) != spec.min_support
    )


def _seed_filter_widgets(prefix: str, base: _Base) -> None:
    spec = base.spec or AuditSpec()
    st.session_state[f"{prefix}_keep_{base.version}"] = list(spec.keep)
    st.session_state[f"{prefix}_exclude_{base.version}"] = list(spec.exclude)
    st.session_state[f"{prefix}_min_support_{base.version}"] = spec.min_support


def _row(table: dict[str, Any]) -> dict[str, Any]:
    """Turn one check's TOML table into an editor row: the rule's key becomes the rule and threshold columns."""
    rule = next(rule for rule in RULES if rule in table)
    threshold = table[rule]
    text = ", ".join(_number_text(bound) for bound in threshold) if isinstance(threshold, list) else _number_text(threshold)
    row = {column: table.get(column) for column in COLUMNS}
    row.update(rule=rule, threshold=text)
    return row


def _number_text(value: float) -> str:
    return repr(float(value))


def _column_config(context: PageContext, rows: list[dict[str, Any]]) -> dict[str, Any]:
    dataset = context.dataset

    def options(names: list[str], column: str) -> list[str]:
        # A value of the file that the dataset lacks stays selectable, so the
        # row shows it and the audit names the problem.
        extra = [row[column] for row in rows if row.get(column) and row[column] not in names]
        return list(dict.fromkeys([*names, *extra]))

    attributes = [attribute.name for attribute in dataset.attributes]
    slices = [condition.as_text() for condition in filter_choices(dataset) if condition.kind != "tag"]
    classes = dataset_classes(dataset)
    column = st.column_config
    return {
        "name": column.TextColumn(_("name"), help=_("How the checklist names the check.")),
        "severity": column.SelectboxColumn(
            _("severity"),
            options=list(SEVERITIES),
            default=SEVERITIES[0],
            required=True,
            help=_("blocking: a failure fails the audit and the CI gate; warning: reported only."),
        ),
        "metric": column.SelectboxColumn(_("metric"), options=list(METRICS), required=True, help=_("What is measured on each group.")),
        "class": column.SelectboxColumn(
            _("class"),
            options=options(classes, "class"),
            help=_("The class of recall, precision, F1, FPR, FNR or selection rate; empty for the positive class of a binary task."),
        ),
        "attribute": column.SelectboxColumn(
            _("attribute"),
            options=options(attributes, "attribute"),
            help=_("Check every value of this attribute. Leave it and the slice empty to check all audited examples."),
        ),
        "slice": column.SelectboxColumn(
            _("slice"),
            options=options(slices, "slice"),
            help=_("Check one attribute value only, instead of every value of an attribute."),
        ),
        "rule": column.SelectboxColumn(_("rule"), options=list(RULES), required=True, help=_("How the value is compared with the threshold.")),
        "threshold": column.TextColumn(
            _("threshold"),
            required=True,
            help=_("A fraction such as 0.8; for ratio_to_reference the lowest and highest ratio, such as 0.8, 1.25."),
        ),
        "reference": column.TextColumn(
            _("reference"),
            help=_("ratio_to_reference only: the attribute value the others are compared with; empty for the largest group."),
        ),
    }


def _draw_filter(context: PageContext, base: _Base, prefix: str) -> tuple[list[str], list[str]]:
    """Draw the audited examples' filter, with a button that copies the sidebar's global filter into it."""
    dataset = context.dataset
    choices = {condition.as_text(): condition.describe() for condition in filter_choices(dataset)}
    spec = base.spec or AuditSpec()
    for text in (*spec.keep, *spec.exclude):
        choices.setdefault(text, text)

    keep_key, exclude_key = f"{prefix}_keep_{base.version}", f"{prefix}_exclude_{base.version}"
    columns = st.columns(2)
    keep = columns[0].multiselect(
        _("Audit only examples with"),
        list(choices),
        key=keep_key,
        format_func=lambda text: choices.get(text, text),
        help=_("Values of one attribute are alternatives; kept tags must all be present. Stored as keep in the [audit] section."),
        placeholder=_("Choose tags or attribute values"),
    )
    exclude = columns[1].multiselect(
        _("Leave out of the audit examples with"),
        list(choices),
        key=exclude_key,
        format_func=lambda text: choices.get(text, text),
        help=_("An example matching any of these is not audited. Stored as exclude in the [audit] section."),
        placeholder=_("Choose tags or attribute values"),
    )
    global_filter = context.example_filter
    st.button(
        _("Use the sidebar's global filter"),
        disabled=not global_filter,
        on_click=_copy_global_filter,
        args=(keep_key, exclude_key, [c.as_text() for c in global_filter.keep], [c.as_text() for c in global_filter.exclude]),
        help=_("Replace the audit's filter with the global filter chosen in the sidebar, so the audit and the CI gate check those examples."),
        key=f"{prefix}_copy_filter_{base.version}",
    )
    return keep, exclude


def _copy_global_filter(keep_key: str, exclude_key: str, keep: list[str], exclude: list[str]) -> None:
    st.session_state[keep_key] = keep
    st.session_state[exclude_key] = exclude


def _draw_min_support(context: PageContext, base: _Base, prefix: str) -> int | None:
    return st.number_input(
        _("Smallest support to judge a group"),
        min_value=1,
        step=1,
        key=f"{prefix}_min_support_{base.version}",
        placeholder=_("{count} ([statistics] min_support)", count=context.dataset.config.min_support),
        help=_("A group whose support (the metric's denominator) is under this is reported as not enough data. Empty: [statistics] min_support."),
    )


def _draft(
    context: PageContext,
    source: Path | None,
    base: _Base,
    frame: pd.DataFrame,
    keep: list[str],
    exclude: list[str],
    min_support: int | None,
) -> Draft:
    """Validate the edited rows and filter as the dataset file's [audit] section would be."""
    section: dict[str, Any] = {"keep": list(keep), "exclude": list(exclude), "checks": _tables(frame)}
    if min_support is not None:
        section["min_support"] = int(min_support)
    origin = source if source is not None else Path(_("the dataset file"))
    try:
        spec = parse_audit(section, origin)
        for text in (*spec.keep, *spec.exclude):
            parse_condition(context.dataset, text)
    except AnalysisError as error:
        return Draft(None, error, True)
    file_spec = base.spec or AuditSpec()
    return Draft(spec, None, spec != file_spec)


def _tables(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn the editor's rows into [[audit.checks]] tables, leaving out empty cells and empty rows."""
    tables = []
    for row in frame.to_dict("records"):
        cells = {column: _cell(row.get(column)) for column in COLUMNS}
        if all(value is None for value in cells.values()):
            continue
        table = {key: value for key, value in cells.items() if value is not None and key not in ("rule", "threshold")}
        if cells["rule"] is not None:
            table[cells["rule"]] = _threshold(cells["threshold"], cells["rule"])
        tables.append(table)
    return tables


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _threshold(text: str | None, rule: str) -> Any:
    """Read the threshold cell as the TOML value of the rule's key.

    Text that is not a number is passed on unchanged, so parse_audit rejects it with its usual message.
    """
    if text is None:
        return ""
    parts = [part.strip() for part in str(text).split(",")]
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return text
    if rule == RATIO_TO_REFERENCE or len(numbers) > 1:
        return numbers
    return numbers[0]


def _draw_actions(context: PageContext, source: Path | None, base: _Base, draft: Draft, prefix: str) -> None:
    show_message(_MESSAGE_KEY)
    if source is None:
        st.caption(_("This dataset has no dataset file to save the checks to; copy the [audit] section into one."))
        return
    if draft.changed and base.digest != _digest(source):
        st.warning(
            escape_markdown(_("The dataset file {file} changed on disk after the editor read it. Saving is refused so that change is not lost; discard your edits to load the new file.", file=source))
        )
    if context.demo:
        st.caption(_("Read-only demo: the edited checks run on this page but cannot be saved to the file."))
    columns = st.columns([1, 1, 3])
    columns[0].button(
        _("Save to {file}", file=source.name),
        type="primary",
        disabled=context.demo or not draft.changed or draft.spec is None,
        on_click=_save,
        args=(source, draft.spec, base.digest, prefix),
        key=f"{prefix}_save_{base.version}",
    )
    columns[1].button(
        _("Discard edits"),
        disabled=not draft.changed,
        on_click=_discard,
        args=(prefix,),
        key=f"{prefix}_discard_{base.version}",
    )
    if draft.changed and draft.spec is not None:
        columns[2].caption(_("Unsaved: the checklist above shows the edited checks, while python -m analysis audit still reads the file."))


def _save(source: Path, spec: AuditSpec, digest: str | None, prefix: str) -> None:
    try:
        save_audit_section(source, spec, digest or "")
    except AnalysisError as error:
        log.warning("Saving the audit checks to %s failed: %s", source, error)
        set_error(_MESSAGE_KEY, error)
        return
    log.info("Saved %d audit checks to %s", len(spec.checks), source)
    st.session_state[f"{prefix}_reload"] = True
    set_message(_MESSAGE_KEY, "success", _("Saved {count} checks to {file}.", count=len(spec.checks), file=str(source)))


def _discard(prefix: str) -> None:
    st.session_state[f"{prefix}_reload"] = True
