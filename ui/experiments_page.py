"""The Experiments page: every run of the dataset, the comparison of two runs, a metric across runs and the form that logs a run.

URL parameters:

- ``run_a``: the reference run (default: ``[runs] reference``, else the oldest run);
- ``run_b``: the run compared with it (default: the newest run);
- ``sort`` and ``order``: the column of the run table (a metric, ``time``,
  ``name`` or ``param:KEY``) and ``desc`` or ``asc``;
- ``metric``: the metric of the chart across runs (default ``accuracy``).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analysis import AnalysisError
from analysis.i18n import N_, _, ngettext, percentage_points
from analysis.run_charts import metric_across_runs_figure
from analysis.run_compare import RUN_METRICS, Comparison, GroupDelta
from analysis.run_store import ORIGIN_BASELINE, ORIGIN_FILE
from analysis.runs import MAJORITY_CLASS, CodeVersion, RunCatalog, log_run, parse_params
from analysis.sources import FILE_FORMATS
from ui.errors import escape_markdown
from ui.examples_page import EXAMPLES_PAGE, examples_parameters
from ui.formatting import count, percent, percent_column, points_column, show_table
from ui.messages import set_error, set_message, show_message
from ui.page import PageContext
from ui.runs_data import comparison, metrics_of_runs
from ui.url_state import notice_ignored, read_choice, read_value, write_value

RUN_A = "run_a"
RUN_B = "run_b"
SORT = "sort"
ORDER = "order"
METRIC = "metric"
ASCENDING = "asc"
DESCENDING = "desc"
PARAM_PREFIX = "param:"

METRIC_LABELS = {
    "accuracy": N_("accuracy"),
    "error_rate": N_("error rate"),
    "macro_f1": N_("macro F1"),
    "balanced_accuracy": N_("balanced accuracy"),
}
ORIGIN_LABELS = {ORIGIN_FILE: N_("run file"), "workspace": N_("logged"), ORIGIN_BASELINE: N_("baseline")}

_KEYS = {name: f"experiments_{name}" for name in (RUN_A, RUN_B, SORT, ORDER, METRIC)}
_LOG_MESSAGE = "experiments_log_message"


# Choosing the runs --------------------------------------------------------------------------------------


def read_runs(catalog: RunCatalog) -> tuple[str, str]:
    """Return runs A and B from the URL, falling back with a notice to the reference run and the newest run."""
    names = catalog.names
    default_b = catalog.newest if catalog.newest != catalog.reference else names[-1]
    chosen = {}
    for name, default in ((RUN_A, catalog.reference), (RUN_B, default_b)):
        requested = read_value(name)
        if requested is not None and requested not in names:
            notice_ignored(name, requested, _("the dataset has no run with that name."))
            write_value(name, None)
            requested = None
        chosen[name] = requested or default
    return chosen[RUN_A], chosen[RUN_B]


def _store(name: str) -> None:
    write_value(name, st.session_state[_KEYS[name]])


def select_runs(catalog: RunCatalog, run_a: str, run_b: str) -> None:
    """Draw the pickers of the reference run A and of run B; a change goes to the URL."""
    left, right = st.columns(2)
    st.session_state[_KEYS[RUN_A]] = run_a
    st.session_state[_KEYS[RUN_B]] = run_b
    left.selectbox(
        _("Reference run (A)"), catalog.names, key=_KEYS[RUN_A], on_change=_store, args=(RUN_A,),
        help=_("An older run, or the majority-class predictor, which predicts the most frequent label for every example."),
    )
    right.selectbox(_("Compared run (B)"), catalog.names, key=_KEYS[RUN_B], on_change=_store, args=(RUN_B,))


# The run table ---------------------------------------------------------------------------------------


def run_rows(context: PageContext, catalog: RunCatalog) -> pd.DataFrame:
    """Return one row per run: its record, its metrics on the dataset now (under the global filter) and one column per hyperparameter."""
    metrics = metrics_of_runs(context, catalog).set_index("run")
    rows = []
    for run in catalog.runs:
        row: dict[str, Any] = {
            "name": run.name,
            "origin": _(ORIGIN_LABELS.get(run.origin, run.origin)),
            "time": _time(run.time),
            "examples": int(metrics.at[run.name, "examples"]),
            **{metric: metrics.at[run.name, metric] for metric in RUN_METRICS},
            "code_version": _code_text(run.code_version, run.code_dirty),
            "dataset_version": run.dataset_version + ("" if run.dataset_version == catalog.current.version else " " + _("(older)")),
            "predictions_fingerprint": run.predictions_fingerprint,
            "notes": run.notes,
        }
        for key, value in run.params.items():
            row[PARAM_PREFIX + key] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _time(moment: str | None) -> str | None:
    return None if moment is None else moment.replace("T", " ").replace("+00:00", " UTC")


def _code_text(commit: str | None, dirty: bool | None) -> str | None:
    if commit is None:
        return None
    shown = commit[:12]
    return _("{commit} (uncommitted changes)", commit=shown) if dirty else shown


def read_sort(columns: list[str]) -> tuple[str, str]:
    """Return the sort column and order of the run table from the URL, with a notice for an invalid value."""
    column = read_choice(SORT, columns, "time")
    order = read_choice(ORDER, (ASCENDING, DESCENDING), ASCENDING if column in ("time", "name") else DESCENDING)
    return column, order


def sort_runs(frame: pd.DataFrame, column: str, order: str) -> pd.DataFrame:
    """Sort the run table by ``column``: numbers as numbers (hyperparameters too, when every value is a number), missing values last."""
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    key = numeric if numeric.notna().sum() == values.notna().sum() else values.astype("string").str.casefold()
    ordered = frame.assign(_key=key).sort_values("_key", ascending=order == ASCENDING, na_position="last", kind="stable")
    return ordered.drop(columns="_key")


def show_run_table(frame: pd.DataFrame, column: str, order: str) -> None:
    """Draw the sort pickers and the run table sorted by them."""
    columns = list(frame.columns)
    left, right, _rest = st.columns([2, 1, 3])
    st.session_state[_KEYS[SORT]] = column
    st.session_state[_KEYS[ORDER]] = order
    left.selectbox(_("Sort runs by"), columns, key=_KEYS[SORT], format_func=_column_label, on_change=_store, args=(SORT,))
    right.selectbox(
        _("Order"), [DESCENDING, ASCENDING], key=_KEYS[ORDER], on_change=_store, args=(ORDER,),
        format_func=lambda value: _("highest first") if value == DESCENDING else _("lowest first"),
    )
    shown = sort_runs(frame, column, order)
    config: dict[str, Any] = {name: st.column_config.Column(_column_label(name)) for name in columns}
    config.update({metric: percent_column(_(METRIC_LABELS[metric])) for metric in ("accuracy", "error_rate", "balanced_accuracy")})
    config["macro_f1"] = st.column_config.NumberColumn(_("macro F1"), format="%.3f")
    config["examples"] = st.column_config.NumberColumn(_("examples"), format="localized", help=_("Analysed examples the run predicts, under the global filter."))
    show_table(shown, config)


def _column_label(name: str) -> str:
    labels = {
        "name": _("run"),
        "origin": _("origin"),
        "time": _("time"),
        "examples": _("examples"),
        "code_version": _("code version"),
        "dataset_version": _("dataset version"),
        "predictions_fingerprint": _("predictions fingerprint"),
        "notes": _("notes"),
        **{metric: _(label) for metric, label in METRIC_LABELS.items()},
    }
    if name.startswith(PARAM_PREFIX):
        return name[len(PARAM_PREFIX) :]
    return labels.get(name, name)


# The chart across runs -----------------------------------------------------------------------------------


def show_metric_chart(frame: pd.DataFrame, catalog: RunCatalog) -> None:
    """Draw the chosen metric of every run in time order, with the majority-class predictor as a dashed line."""
    metric = read_choice(METRIC, tuple(METRIC_LABELS), "accuracy")
    st.session_state[_KEYS[METRIC]] = metric
    st.selectbox(_("Metric across runs"), list(METRIC_LABELS), key=_KEYS[METRIC], format_func=lambda key: _(METRIC_LABELS[key]), on_change=_store, args=(METRIC,))
    recorded = [run for run in catalog.runs if run.origin != ORIGIN_BASELINE]
    values = frame.set_index("name")[metric]
    points = [(run.name, run.time, values[run.name]) for run in recorded]
    st.plotly_chart(metric_across_runs_figure(points, values[MAJORITY_CLASS], _(METRIC_LABELS[metric]), metric != "macro_f1"), key="experiments_metric_chart")


# The comparison -----------------------------------------------------------------------------------------


def show_comparison(context: PageContext, catalog: RunCatalog, run_a: str, run_b: str) -> None:
    """Draw the deltas of run B against run A: warnings, overall metrics, then per class, slice and tag."""
    if run_a == run_b:
        st.info(_("Pick two different runs to compare."), icon=":material/info:")
        return
    result = comparison(context, catalog, run_a, run_b)
    for note in result.versions:
        st.warning(escape_markdown(note.message), icon=":material/difference:")
    _show_overall(result)
    st.caption(
        _(
            "Delta = B − A on the {examples} examples both runs predict, scored on the dataset as it is now. "
            "Each difference is tested with McNemar's test on the paired predictions (exact under 25 fixed plus broken examples); "
            "the p-values of all {count} comparisons on this page are adjusted with Holm's method, and ✔ marks an adjusted p-value below {alpha}.",
            examples=count(result.examples),
            count=len(result.groups),
            alpha=result.alpha,
        )
    )
    st.subheader(_("Per tag"))
    _show_tag_links(result)
    st.subheader(_("Per class"))
    _show_groups(result.classes, with_precision=True)
    st.subheader(_("Per slice"))
    _show_groups(result.slices)


def _show_overall(result: Comparison) -> None:
    overall = result.overall
    columns = st.columns(4)
    columns[0].metric(_("Accuracy of B"), percent(overall.accuracy_b), _("{value:+.1f} points", value=percentage_points(overall.delta)))
    columns[1].metric(_("Macro F1 of B"), _f1(result.macro_f1_b), _delta(result.macro_f1_b - result.macro_f1_a))
    columns[2].metric(_("Fixed / broken"), _("{fixed} / {broken}", fixed=count(overall.fixed), broken=count(overall.broken)))
    significance = _("significant") if overall.significant else _("not significant")
    columns[3].metric(_("Adjusted p-value of the accuracy delta"), _p_text(overall.p_adjusted), help=significance)
    columns[3].caption(significance)
    if result.only_a or result.only_b:
        st.caption(
            _(
                "Left out of the comparison: {only_a} examples only run {a} predicts and {only_b} only run {b} predicts.",
                only_a=count(result.only_a), a=escape_markdown(result.run_a), only_b=count(result.only_b), b=escape_markdown(result.run_b),
            )
        )


def _f1(value: float) -> str:
    return _("undefined") if math.isnan(value) else _("{value:.3f}", value=value)


def _delta(value: float) -> str | None:
    return None if math.isnan(value) else _("{value:+.3f}", value=value)


def _p_text(value: float) -> str:
    if math.isnan(value):
        return _("undefined")
    return _("{value:.2g}", value=value) if value < 0.001 else _("{value:.3f}", value=value)


def group_frame(groups: list[GroupDelta], with_precision: bool = False) -> pd.DataFrame:
    """Return one table row per group: examples, accuracy of A and B, delta in points, fixed, broken, p-values and the significance mark."""
    rows = []
    for group in groups:
        row = {
            "group": group.group,
            "examples": group.examples,
            "accuracy_a": group.accuracy_a,
            "accuracy_b": group.accuracy_b,
            "delta": percentage_points(group.delta),
            "fixed": group.fixed,
            "broken": group.broken,
            "p_value": group.p_value,
            "p_adjusted": group.p_adjusted,
            "significant": "✔" if group.significant else "",
        }
        if with_precision:
            row.update(precision_a=group.precision_a, precision_b=group.precision_b, f1_a=group.f1_a, f1_b=group.f1_b)
        rows.append(row)
    return pd.DataFrame(rows)


def _group_config() -> dict[str, Any]:
    return {
        "group": _("group"),
        "examples": st.column_config.NumberColumn(_("examples"), format="localized"),
        "accuracy_a": percent_column(_("accuracy A")),
        "accuracy_b": percent_column(_("accuracy B")),
        "delta": points_column(_("delta"), _("Accuracy of B minus accuracy of A.")),
        "fixed": st.column_config.NumberColumn(_("fixed"), help=_("Examples A got wrong and B gets right.")),
        "broken": st.column_config.NumberColumn(_("broken"), help=_("Examples A got right and B gets wrong.")),
        "p_value": st.column_config.NumberColumn(_("p-value"), format="%.3g"),
        "p_adjusted": st.column_config.NumberColumn(_("adjusted p-value"), format="%.3g", help=_("Holm's adjustment over every comparison on this page.")),
        "significant": _("significant"),
        "precision_a": percent_column(_("precision A")),
        "precision_b": percent_column(_("precision B")),
        "f1_a": st.column_config.NumberColumn(_("F1 A"), format="%.3f"),
        "f1_b": st.column_config.NumberColumn(_("F1 B"), format="%.3f"),
    }


def _show_groups(groups: list[GroupDelta], with_precision: bool = False) -> None:
    if not groups:
        st.caption(_("None in this dataset."))
        return
    frame = group_frame(groups, with_precision)
    show_table(frame, {name: config for name, config in _group_config().items() if name in frame.columns})


def _show_tag_links(result: Comparison) -> None:
    """Draw the tag table, then per tag links to the Examples page listing the examples run B fixed and broke."""
    if not result.tags:
        st.caption(_("The dataset defines no tags."))
        return
    _show_groups(result.tags)
    for group in result.tags:
        name, fixed_column, broken_column = st.columns([2, 1, 1])
        name.markdown(f"**{escape_markdown(group.group)}**")
        for column, change, number in ((fixed_column, "fixed", group.fixed), (broken_column, "broken", group.broken)):
            label = ngettext("{count} fixed", "{count} fixed", number) if change == "fixed" else ngettext("{count} broken", "{count} broken", number)
            column.page_link(
                EXAMPLES_PAGE,
                label=label,
                icon=":material/table_rows:",
                query_params=examples_parameters(tag=group.group, run_a=result.run_a, run_b=result.run_b, change=change),
                disabled=number == 0,
            )


# Logging a run from the dashboard -----------------------------------------------------------------------


def show_log_form(context: PageContext) -> None:
    """Draw the form that logs an uploaded predictions file as a run (disabled in demo mode)."""
    with st.expander(_("Log a run"), expanded=False):
        show_message(_LOG_MESSAGE)
        if context.demo:
            st.caption(_("The read-only demo does not save runs. Log runs with python -m analysis log-run on your own copy."))
        with st.form("experiments_log_form", clear_on_submit=False):
            name = st.text_input(_("Run name"), max_chars=100, disabled=context.demo)
            upload = st.file_uploader(
                _("Predictions file"), type=sorted({suffix.lstrip(".") for suffix in FILE_FORMATS}), disabled=context.demo,
                help=_("The id and prediction columns, named as in the dataset's predictions file."),
            )
            params = st.text_area(_("Hyperparameters"), placeholder="learning_rate=0.001\nepochs=30", disabled=context.demo, help=_("One KEY=VALUE per line."))
            code_version = st.text_input(_("Code version"), disabled=context.demo, help=_("The commit the model was trained from, if known."))
            notes = st.text_area(_("Notes"), disabled=context.demo)
            submitted = st.form_submit_button(_("Log the run"), disabled=context.demo)
        if submitted:
            _log_upload(context, name, upload, params, code_version, notes)
            st.rerun()


def _log_upload(context: PageContext, name: str, upload: Any, params_text: str, code_version: str, notes: str) -> None:
    if upload is None:
        set_message(_LOG_MESSAGE, "error", _("Choose the run's predictions file first."))
        return
    workspace = context.workspace.workspace
    try:
        params = parse_params([line for line in params_text.splitlines() if line.strip()])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            logged = log_run(
                context.dataset, workspace, context.folder.name, path, name, params, notes,
                CodeVersion(code_version.strip(), False) if code_version.strip() else None,
            )
    except AnalysisError as error:
        set_error(_LOG_MESSAGE, error)
        return
    set_message(
        _LOG_MESSAGE,
        "success",
        _("Logged run {name}: {count} predictions, dataset version {version}.", name=logged.record.name, count=logged.record.examples, version=logged.record.dataset_version),
    )

