"""Command-line access to runs: ``log-run`` stores a run in the workspace, ``compare`` prints the deltas between two runs.

``log-run`` is meant for the end of a training script or a CI job. It reads
the run's predictions file, computes the dataset version and the predictions
fingerprint, detects the git commit of the working directory, and stores
everything in the dashboard's workspace in one transaction, so it is safe
while the dashboard runs. ``compare`` reads the runs of the ``[runs]`` files
and of the workspace and prints the comparison of :mod:`analysis.run_compare`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from analysis.config import load_config
from analysis.engine import check_duckdb_only
from analysis.dataset import load_dataset
from analysis.errors import AnalysisError, ConfigError
from analysis.filters import parse_filter
from analysis.i18n import _, format_percent, ngettext, percentage_points
from analysis.run_compare import Comparison, GroupDelta, compare_runs
from analysis.runs import CodeVersion, detect_code_version, load_runs, log_run, parse_params
from analysis.tag_commands import dataset_key, default_workspace_folder, open_with_workspace
from analysis.tag_overlay import apply_tag_edits
from analysis.workspace import Workspace

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_commands(commands, add_filter_options: Callable, add_output_options: Callable) -> None:
    """Add the ``log-run`` and ``compare`` commands to the command parsers ``commands``."""
    log = commands.add_parser("log-run", help=_("store a run's predictions with its code version, dataset version and hyperparameters in the workspace"))
    log.add_argument("--config", type=Path, required=True, help=_("dataset file (TOML), or a folder holding dataset.toml"))
    log.add_argument("--predictions", type=Path, required=True, help=_("the run's predictions file (CSV, Parquet or JSON) with the id and prediction columns"))
    log.add_argument("--name", required=True, help=_("name of the run, unique within the dataset; in a file with a run column, the run whose rows are logged"))
    log.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help=_("hyperparameter of the run (repeatable), for example learning_rate=0.001")
    )
    log.add_argument("--notes", default="", help=_("free text stored with the run"))
    log.add_argument(
        "--code-version",
        help=_("code version to record, for example a commit id from the CI (default: the git commit of the working directory, if any)"),
    )
    log.add_argument("--user", help=_("name recorded as the author of the run (default: the OS user)"))
    _add_workspace_option(log)
    add_output_options(log)
    log.set_defaults(handler=run_log)

    compare = commands.add_parser("compare", help=_("deltas between two runs overall, per class, per slice and per tag, with McNemar's test"))
    compare.add_argument("--config", type=Path, required=True, help=_("dataset file (TOML), or a folder holding dataset.toml"))
    compare.add_argument(
        "--runs",
        nargs=2,
        required=True,
        metavar=("NAME_A", "NAME_B"),
        help=_("the reference run A and the run B compared with it; \"(majority class)\" names the majority-class predictor"),
    )
    add_filter_options(compare)
    _add_workspace_option(compare)
    add_output_options(compare)
    compare.set_defaults(handler=run_compare)


def _add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard (default: ERROR_ANALYSIS_WORKSPACE if set, else .workspace beside the dataset folder, as the dashboard uses)"),
    )


def run_log(arguments: argparse.Namespace) -> int:
    """Store one run in the workspace and print what was stored."""
    try:
        params = parse_params(arguments.param)
        config = load_config(arguments.config)
        check_duckdb_only(config.engine, "log-run")
        key = dataset_key(config, "log-run")
        folder = arguments.workspace or default_workspace_folder(config)
        workspace = Workspace(folder, user=arguments.user)
        dataset = load_dataset(config)
        dataset = apply_tag_edits(dataset, workspace.tag_edits(key))
        if arguments.code_version:
            code = CodeVersion(arguments.code_version.strip(), False)
        else:
            code = detect_code_version()
        logged = log_run(dataset, workspace, key, arguments.predictions, arguments.name, params, arguments.notes, code)
    except (AnalysisError, sqlite3.Error) as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {
        "workspace": str(folder),
        "dataset": key,
        "run": logged.record.as_dict(),
        "examples_predicted": logged.covered,
        "examples_analysed": logged.analysed,
    }
    return _print(arguments.format, report, _logged_text)


def run_compare(arguments: argparse.Namespace) -> int:
    """Compare the two runs of ``--runs`` and print the deltas."""
    try:
        config = load_config(arguments.config)
        check_duckdb_only(config.engine, "compare")
        key = dataset_key(config, "compare")
        folder = arguments.workspace
        if folder is None:
            candidate = default_workspace_folder(config)
            folder = candidate if candidate.is_dir() else None
        elif not folder.is_dir():
            raise ConfigError(
                _("The workspace folder {folder} does not exist.", folder=folder),
                _("Pass the folder the dashboard uses: by default .workspace under its data root."),
            )
        dataset, _hlp = open_with_workspace(config, folder)
        workspace = Workspace(folder, read_only=True) if folder is not None else None
        catalog = load_runs(dataset, workspace, key)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        run_a, run_b = arguments.runs
        comparison = compare_runs(catalog, run_a, run_b, example_filter, workspace, key)
    except (AnalysisError, sqlite3.Error) as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {
        "dataset": config.display_name,
        "notices": catalog.notices,
        **comparison.as_dict(),
        "filter": {**example_filter.as_dict(), "description": example_filter.describe()},
    }
    return _print(arguments.format, report, lambda _report: render_comparison(comparison, catalog.notices))


# Text output ----------------------------------------------------------------------------------------


def _logged_text(report: dict) -> str:
    run = report["run"]
    code = run["code_version"] or _("unknown")
    if run["code_dirty"]:
        code = _("{commit} with uncommitted changes", commit=code)
    lines = [
        _("Logged run {name} of {dataset} in {workspace}.", name=run["name"], dataset=report["dataset"], workspace=report["workspace"]),
        _("  predictions: {count} (fingerprint {fingerprint})", count=run["examples"], fingerprint=run["predictions_fingerprint"]),
        _("  dataset version: {version}", version=run["dataset_version"]),
        _("  code version: {code}", code=code),
    ]
    if run["params"]:
        lines.append(_("  hyperparameters: {params}", params=", ".join(f"{key}={value}" for key, value in run["params"].items())))
    if report["examples_predicted"] < report["examples_analysed"]:
        lines.append(
            ngettext(
                "  note: the run predicts {count} of the {total} analysed examples; comparisons use the examples both runs predict.",
                "  note: the run predicts {count} of the {total} analysed examples; comparisons use the examples both runs predict.",
                report["examples_predicted"],
                total=report["examples_analysed"],
            )
        )
    return "\n".join(lines) + "\n"


def render_comparison(comparison: Comparison, notices: list[str] = ()) -> str:
    """Return the comparison as text: the version notes, then one table per kind of group."""
    lines = [
        _("Run {b} compared with run {a} on {count} examples both predict (delta = B - A).", a=comparison.run_a, b=comparison.run_b, count=comparison.examples),
    ]
    if comparison.filter_description:
        lines.append(_("Global filter: {description}.", description=comparison.filter_description))
    if comparison.only_a or comparison.only_b:
        lines.append(
            _("Left out: {only_a} examples only run {a} predicts, {only_b} only run {b} predicts.", only_a=comparison.only_a, a=comparison.run_a, only_b=comparison.only_b, b=comparison.run_b)
        )
    for note in comparison.versions:
        lines.append(_("Warning: {message}", message=note.message))
    for notice in notices:
        lines.append(_("Note: {message}", message=notice))

    lines.append(
        _(
            "McNemar's test per group (exact under 25 discordant examples), p-values adjusted with Holm's method over {count} comparisons; * marks an adjusted p-value below {alpha}.",
            count=len(comparison.groups),
            alpha=comparison.alpha,
        )
    )
    lines.append("")

    overall = comparison.overall
    lines.append(_("Overall"))
    lines.append(_table([overall]))
    lines.append(
        _(
            "  macro F1 {a_f1} -> {b_f1}; balanced accuracy {a_bal} -> {b_bal}",
            a_f1=_fraction(comparison.macro_f1_a),
            b_f1=_fraction(comparison.macro_f1_b),
            a_bal=_percent(comparison.balanced_accuracy_a),
            b_bal=_percent(comparison.balanced_accuracy_b),
        )
    )
    for title, groups in ((_("Per class (accuracy = recall of the class)"), comparison.classes), (_("Per slice"), comparison.slices), (_("Per tag"), comparison.tags)):
        if groups:
            lines += ["", title, _table(groups)]
    return "\n".join(lines) + "\n"


def _table(groups: list[GroupDelta]) -> str:
    headers = [_("group"), _("examples"), _("A"), _("B"), _("delta"), _("fixed"), _("broken"), _("p"), _("p adjusted")]
    rows = [
        [
            group.group,
            str(group.examples),
            _percent(group.accuracy_a),
            _percent(group.accuracy_b),
            _("{value:+.1f} pts", value=percentage_points(group.delta)),
            str(group.fixed),
            str(group.broken),
            _p(group.p_value),
            _p(group.p_adjusted) + (" *" if group.significant else ""),
        ]
        for group in groups
    ]
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def _percent(value: float) -> str:
    return _("undefined") if value != value else format_percent(value)


def _fraction(value: float) -> str:
    return _("undefined") if value != value else _("{value:.3f}", value=value)


def _p(value: float) -> str:
    if value != value:
        return "-"
    return _("{value:.2g}", value=value) if value < 0.001 else _("{value:.3f}", value=value)


def _print(output_format: str, report: dict, render: Callable[[dict], str]) -> int:
    if output_format == "json":
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    else:
        sys.stdout.write(render(report))
    return EXIT_OK
