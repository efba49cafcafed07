"""The ``report`` command: write the stakeholder HTML report of a dataset to a file.

It takes the same input, filter and ``--workspace`` options as ``audit``,
and exits with 0 when the file is written, also when the audit in it fails,
because the report states the verdict and ``audit`` is the gate. A missing
or unwritable output folder exits with 2 before any analysis runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from analysis.errors import AnalysisError, ConfigError
from analysis.filters import parse_filter
from analysis.i18n import SOURCE_LANGUAGE, _
from analysis.report import build_report
from analysis.tag_commands import open_with_workspace

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_command(
    commands, add_input_options: Callable, add_filter_options: Callable, add_output_options: Callable, add_engine_options: Callable
) -> None:
    """Add the ``report`` command to the command parsers ``commands``."""
    report = commands.add_parser(
        "report",
        help=_("write a self-contained HTML report of the findings, for people without the dashboard"),
    )
    add_input_options(report)
    add_filter_options(report)
    report.add_argument("--out", type=Path, required=True, help=_("HTML file to write, in an existing folder"))
    report.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard: use the tags and HLP values edited there for this dataset (needs --config)"),
    )
    add_engine_options(report)
    add_output_options(report)


def check_output_path(path: Path) -> None:
    """Raise :class:`~analysis.ConfigError` when ``path`` cannot be written as a file.

    Checked before the analysis runs, so a typo in ``--out`` fails at once.
    Writing can still fail later (a full disk), which :func:`run_report` reports too.
    """
    folder = path.parent
    if path.is_dir():
        raise ConfigError(
            _("--out {path} is a folder.", path=path),
            _("Give a file name inside it, for example {example}.", example=path / "report.html"),
        )
    if not folder.exists():
        raise ConfigError(
            _("The folder {folder} of --out does not exist.", folder=folder),
            _("Create it first, or give a path in an existing folder."),
        )
    if not folder.is_dir():
        raise ConfigError(
            _("The folder {folder} of --out is not a folder.", folder=folder),
            _("Give a path in an existing folder."),
        )
    if not os.access(folder, os.W_OK):
        raise ConfigError(
            _("The folder {folder} of --out is not writable.", folder=folder),
            _("Choose a folder you can write to."),
        )


def run_report(arguments: argparse.Namespace, config_from_arguments: Callable) -> int:
    """Build the report, write it to ``--out`` and print where it went, as text or JSON."""
    try:
        check_output_path(arguments.out)
        config = config_from_arguments(arguments)
        dataset, hlp = open_with_workspace(config, arguments.workspace)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        report = build_report(dataset, example_filter, hlp, language=arguments.lang or SOURCE_LANGUAGE)
        content = report.html.encode("utf-8")
        _write_file(arguments.out, content)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in report.warnings:
        print(_("warning: {message}", message=warning), file=sys.stderr)
    result = {"file": str(arguments.out), "bytes": len(content), "dataset": dataset.config.display_name, **report.as_dict()}
    if arguments.format == "json":
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_("Wrote the report of {dataset} to {file} ({size:,} bytes).", dataset=result["dataset"], file=result["file"], size=result["bytes"]) + "\n")
    return EXIT_OK


def _write_file(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise ConfigError(
            _("The report could not be written to {path}: {reason}.", path=path, reason=error.strerror or error),
            _("Choose a writable path with --out."),
        ) from error
