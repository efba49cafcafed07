"""Command line: ``python -m analysis COMMAND``.

Every command reads either a dataset file (``--config``) or input flags; flags
override the file. Exit codes: 0 success, 2 bad input, configuration or usage,
with a one-line message on stderr.

Commands: ``summary`` (every number of the first analysis), ``slices``
(slices or intersections ranked by one metric, tested against the rest),
``label-errors`` (examples ranked by how likely their label is wrong),
``tag`` (tag edits in the dashboard's workspace), ``export-tags``,
``audit`` (the checks of ``[audit]``; exit code 1 when a blocking check fails),
``report`` (a self-contained HTML report of the findings),
``log-run`` and ``compare`` (runs, see :mod:`analysis.run_commands`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from analysis import discovery, report_command, run_commands, tag_commands
from analysis.audit import render_audit, run_audit
from analysis.config import DatasetConfig, load_config, validate
from analysis.engine import ENGINE_KINDS, ENGINE_SPARK, EngineSettings, check_duckdb_only
from analysis.errors import AnalysisError, ConfigError
from analysis.file_uri import input_path
from analysis.filters import parse_filter
from analysis.i18n import LANGUAGES, _, load_translations, using
from analysis.label_errors import suspected_label_errors
from analysis.slice_analysis import analyse_slices, slice_groupings, slices_report
from analysis.slice_metrics import ERROR_RATE, METRIC_CHOICES, parse_metric
from analysis.summary import summarize
from analysis.text_output import (
    render_discovery,
    render_label_errors,
    render_slices,
    render_summary,
)

EXIT_OK = 0
EXIT_AUDIT_FAILED = 1
EXIT_BAD_INPUT = 2

# Ranked examples that label-errors prints without --top.
LABEL_ERRORS_TOP = 20


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> None:
        print(_("error: {message}. Run '{prog} --help' for the options.", message=message, prog=self.prog), file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(_("input"))
    group.add_argument("--config", type=Path, help=_("dataset file (TOML), or a folder holding dataset.toml"))
    group.add_argument("--predictions", type=input_path, help=_("predictions file: CSV, Parquet or JSON; with --engine spark also a URI such as s3a://bucket/predictions.parquet"))
    group.add_argument("--metadata", type=input_path, help=_("metadata file joined on the id"))
    group.add_argument("--tags-file", type=input_path, help=_("long tags file with one (id, tag) row per tag"))
    group.add_argument("--hlp", type=input_path, help=_("HLP file with tag,hlp rows (accuracy between 0 and 1)"))
    group.add_argument("--id-col", help=_("id column, in both files"))
    group.add_argument("--label-col", help=_("label (true class) column"))
    group.add_argument("--prediction-col", help=_("prediction column"))
    group.add_argument("--score-col", help=_("score column: model confidence, or the per-example score"))
    group.add_argument("--correct-col", help=_("column flagging correct examples, instead of label and prediction"))
    group.add_argument("--tag-cols", help=_("comma-separated boolean tag columns of the metadata file"))
    group.add_argument("--tag-list-col", help=_("metadata column holding a delimited list of tags"))
    group.add_argument("--tag-separator", help=_("separator of the tag list column (default ';')"))
    group.add_argument("--attributes", help=_("comma-separated metadata columns to slice by (default: all)"))
    group.add_argument("--positive-class", help=_("positive class of a binary task, as text"))
    group.add_argument("--error-threshold", type=float, help=_("per-example score mode: threshold that makes a score an error"))
    group.add_argument("--error-when", choices=["above", "below"], help=_("per-example score mode: an error is a score above or below the threshold"))


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(_("engine"))
    group.add_argument(
        "--engine",
        choices=ENGINE_KINDS,
        help=_("query engine: duckdb (default) or spark; overrides [engine] kind of the dataset file"),
    )
    group.add_argument(
        "--spark-master",
        metavar="URL",
        help=_("Spark master, for example local[2] or spark://host:7077; overrides [engine] master and implies --engine spark"),
    )
    group.add_argument(
        "--spark-remote",
        metavar="URL",
        help=_("Spark Connect server, for example sc://host:15002; overrides [engine] remote and implies --engine spark"),
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=_("Data-centric error analysis of model predictions."))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    summary = commands.add_parser("summary", help=_("overall, per-class, slice and tag metrics"))
    _add_input_options(summary)
    summary.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="TAG=ACCURACY",
        help=_("what-if target accuracy for a tag (repeatable); default: every tag's HLP"),
    )
    _add_filter_options(summary)
    summary.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard: use the tags and HLP values edited there for this dataset (needs --config)"),
    )
    _add_engine_options(summary)
    _add_output_options(summary)

    slices = commands.add_parser("slices", help=_("slices ranked by one metric, each tested against the rest of the data"))
    _add_input_options(slices)
    slices.add_argument(
        "--metric",
        default=ERROR_RATE,
        help=_("metric of the slices: {choices} (default: error_rate)", choices=", ".join(METRIC_CHOICES)),
    )
    slices.add_argument(
        "--attribute",
        action="append",
        default=[],
        metavar="NAME",
        help=_("attribute to slice by (repeatable; default: every attribute)"),
    )
    slices.add_argument(
        "--by",
        metavar="ATTRIBUTE_OR_TAG",
        help=_("second attribute or tag (tag:NAME) crossed with each attribute: one slice per pair of values"),
    )
    slices.add_argument(
        "--min-support",
        type=_non_negative_integer,
        metavar="N",
        help=_("smallest support for a flag; overrides [statistics] min_support, which is 30 unless set"),
    )
    slices.add_argument("--top", type=_positive_integer, metavar="K", help=_("show only the K worst slices"))
    _add_discovery_options(slices)
    _add_filter_options(slices)
    slices.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard: count the tags as edited there (needs --config)"),
    )
    _add_engine_options(slices)
    _add_output_options(slices)

    label_errors = commands.add_parser(
        "label-errors",
        help=_("examples ranked by how likely their label is wrong (confident learning on the prob_<class> columns)"),
    )
    _add_input_options(label_errors)
    label_errors.add_argument(
        "--top",
        type=_positive_integer,
        default=LABEL_ERRORS_TOP,
        metavar="N",
        help=_("number of ranked examples to show, lowest label quality first (default: {count})", count=LABEL_ERRORS_TOP),
    )
    label_errors.add_argument(
        "--flagged-only",
        action="store_true",
        help=_("rank only the examples flagged by confident learning"),
    )
    _add_filter_options(label_errors)
    label_errors.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard: filter by the tags as edited there (needs --config)"),
    )
    _add_output_options(label_errors)
    tag_commands.add_commands(commands, _add_input_options, _add_output_options)
    run_commands.add_commands(commands, _add_filter_options, _add_output_options)

    audit = commands.add_parser(
        "audit",
        help=_("run the checks of the dataset file's [audit] section; exit code 1 when a blocking check fails"),
    )
    _add_input_options(audit)
    _add_filter_options(audit)
    audit.add_argument(
        "--workspace",
        type=Path,
        help=_("workspace folder of the dashboard: filter by the tags as edited there (needs --config)"),
    )
    _add_engine_options(audit)
    _add_output_options(audit)
    report_command.add_command(commands, _add_input_options, _add_filter_options, _add_output_options, _add_engine_options)
    return parser


def _add_discovery_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        _("discovery"),
        _("With --discover, search conjunctions of attribute values and tags for the worst slices; --metric, --min-support and --top apply to the search."),
    )
    group.add_argument(
        "--discover",
        action="store_true",
        help=_("search conjunctions of up to --max-predicates conditions instead of listing single slices"),
    )
    group.add_argument(
        "--max-predicates",
        type=_bounded_integer(1, discovery.MAX_PREDICATES),
        metavar="N",
        help=_("maximum number of conditions in one discovered slice, 1 to 3 (default: 3)"),
    )
    group.add_argument(
        "--alpha",
        type=_fraction,
        help=_("weight of the metric's lift against the slice's size in the score, above 0 and at most 1 (default: 0.95)"),
    )
    group.add_argument("--tag-absent", action="store_true", help=_("also search conditions that a tag is absent"))
    group.add_argument(
        "--overlap",
        type=_fraction,
        help=_("share of common examples above which discovered slices are grouped (default: 0.5)"),
    )
    group.add_argument(
        "--overlap-measure",
        choices=discovery.OVERLAP_MEASURES,
        help=_("containment: share of the smaller slice in the larger; jaccard: shared over combined examples (default: containment)"),
    )


def _bounded_integer(minimum: int, maximum: int):
    """Return an argparse type accepting whole numbers from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        value = _integer(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                _("expected a whole number from {minimum} to {maximum}, got {value!r}", minimum=minimum, maximum=maximum, value=text)
            )
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(_("expected a number above 0 and at most 1, got {value!r}", value=text))
    return value


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="CONDITION",
        help=_("keep only examples matching tag:NAME or attr:NAME=VALUE (repeatable), as the dashboard's global filter"),
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="CONDITION",
        help=_("leave out examples matching tag:NAME or attr:NAME=VALUE (repeatable)"),
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json"], default="text", help=_("output format (default: text)"))
    parser.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help=_("language of text output, messages and the report: {choices} (default: en)", choices=", ".join(LANGUAGES)),
    )
    parser.add_argument("--verbose", action="store_true", help=_("log the decisions taken while reading the files"))


def _positive_integer(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(_("expected a whole number of at least 1, got {value!r}", value=text))
    return value


def _non_negative_integer(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(_("expected a whole number of at least 0, got {value!r}", value=text))
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a whole number, got {value!r}", value=text)) from None


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def config_from_arguments(arguments: argparse.Namespace) -> DatasetConfig:
    """Build the dataset configuration: the dataset file if given, then the flags on top."""
    if arguments.config is not None:
        config = load_config(arguments.config)
    elif arguments.predictions is not None:
        config = DatasetConfig(predictions=arguments.predictions)
    else:
        raise ConfigError(
            _("No input given."),
            _("Pass --config dataset.toml, or --predictions FILE (and usually --metadata FILE)."),
        )
    config = config.replace(
        predictions=arguments.predictions,
        metadata=arguments.metadata,
        tags_file=arguments.tags_file,
        hlp_file=arguments.hlp,
        id_column=arguments.id_col,
        label_column=arguments.label_col,
        prediction_column=arguments.prediction_col,
        score_column=arguments.score_col,
        correct_column=arguments.correct_col,
        tag_columns=_split(arguments.tag_cols),
        tag_list_column=arguments.tag_list_col,
        tag_separator=arguments.tag_separator,
        attributes=_split(arguments.attributes),
        positive_class=arguments.positive_class,
        error_threshold=arguments.error_threshold,
        error_when=arguments.error_when,
    )
    config = config.replace(engine=_engine_settings(config.engine, arguments))
    validate(config, _("the command line") if arguments.config is None else arguments.config)
    return config


def _engine_settings(settings: EngineSettings, arguments: argparse.Namespace) -> EngineSettings:
    """Apply --engine, --spark-master and --spark-remote to the engine settings of the dataset file.

    Commands without these options run on DuckDB only, so for them a dataset
    file that selects Spark is an error rather than a silent switch of engine.
    """
    if not hasattr(arguments, "engine"):
        check_duckdb_only(settings, arguments.command)
        return settings
    kind = arguments.engine or (ENGINE_SPARK if arguments.spark_master or arguments.spark_remote else settings.kind)
    if kind != ENGINE_SPARK and (arguments.spark_master or arguments.spark_remote):
        raise ConfigError(
            _("--spark-master and --spark-remote apply to the Spark engine, not to --engine {engine}.", engine=kind),
            _("Leave them out, or use --engine spark."),
        )
    master = arguments.spark_master or settings.master
    remote = arguments.spark_remote or settings.remote
    if arguments.spark_master and not arguments.spark_remote:
        # A master on the command line overrides a Spark Connect URL of the dataset file.
        remote = None
    return dataclasses.replace(settings, kind=kind, master=master, remote=remote)


def _parse_targets(pairs: list[str]) -> dict[str, float] | None:
    if not pairs:
        return None
    targets = {}
    for pair in pairs:
        name, separator, value = pair.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not separator or not name or number is None:
            raise ConfigError(
                _("Invalid --target {value!r}.", value=pair),
                _("Write it as TAG=ACCURACY, for example --target car_noise=0.93."),
            )
        targets[name] = number
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "slices":
        _check_discovery_arguments(parser, arguments)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.ERROR, format="%(levelname)s %(message)s")
    # Scoped so that a caller running main() in-process keeps its own catalog afterwards.
    language = using(load_translations(arguments.lang), arguments.lang) if arguments.lang else contextlib.nullcontext()
    with language:
        if hasattr(arguments, "handler"):
            return arguments.handler(arguments)
        if arguments.command == "tag":
            return tag_commands.run_tag(arguments, config_from_arguments)
        if arguments.command == "export-tags":
            return tag_commands.run_export(arguments, config_from_arguments)
        if arguments.command == "slices" and arguments.discover:
            return _run_discovery(arguments)
        if arguments.command == "slices":
            return _run_slices(arguments)
        if arguments.command == "label-errors":
            return _run_label_errors(arguments)
        if arguments.command == "audit":
            return _run_audit(arguments)
        if arguments.command == "report":
            return report_command.run_report(arguments, config_from_arguments)
        return _run_summary(arguments)


def _run_summary(arguments: argparse.Namespace) -> int:
    try:
        config = config_from_arguments(arguments)
        dataset, hlp = tag_commands.open_with_workspace(config, arguments.workspace)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        summary = summarize(dataset, _parse_targets(arguments.target), example_filter, hlp)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    return _write(arguments.format, summary, render_summary)


def _run_slices(arguments: argparse.Namespace) -> int:
    try:
        config = config_from_arguments(arguments)
        if arguments.min_support is not None:
            config = config.replace(min_support=arguments.min_support)
        dataset, _hlp = tag_commands.open_with_workspace(config, arguments.workspace)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        spec = parse_metric(arguments.metric, dataset)
        groupings = slice_groupings(dataset, arguments.attribute, arguments.by)
        analysis = analyse_slices(dataset, spec, groupings, example_filter)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = slices_report(dataset, analysis, example_filter, arguments.top)
    return _write(arguments.format, report, render_slices)


def _run_label_errors(arguments: argparse.Namespace) -> int:
    try:
        config = config_from_arguments(arguments)
        dataset, _hlp = tag_commands.open_with_workspace(config, arguments.workspace)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        result = suspected_label_errors(dataset, example_filter, limit=arguments.top, flagged_only=arguments.flagged_only)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {
        "dataset": dataset.config.display_name,
        "filter": {**example_filter.as_dict(), "description": example_filter.describe()},
        **result.as_dict(),
    }
    return _write(arguments.format, report, render_label_errors)


def _run_audit(arguments: argparse.Namespace) -> int:
    try:
        config = config_from_arguments(arguments)
        if config.audit is None or not config.audit.checks:
            raise ConfigError(
                _("The dataset file has no checks to audit."),
                _("Add an [audit] section with at least one [[audit.checks]] entry to the file given by --config."),
            )
        dataset, _hlp = tag_commands.open_with_workspace(config, arguments.workspace)
        result = run_audit(dataset, config.audit, arguments.keep, arguments.exclude)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    report = {"dataset": dataset.config.display_name, **result.as_dict()}
    _write(arguments.format, report, render_audit)
    return EXIT_OK if result.passed else EXIT_AUDIT_FAILED


def _check_discovery_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Reject options that do not fit the chosen mode of ``slices``, with a one-line usage error.

    The discovery options default to None, so that giving one without
    ``--discover`` can be told apart from not giving it.
    """
    if arguments.discover:
        for option, given in (("--attribute", arguments.attribute), ("--by", arguments.by)):
            if given:
                parser.error(_("{option} does not apply to --discover, which searches every attribute and tag", option=option))
        if arguments.metric not in discovery.METRICS:
            parser.error(
                _("--discover searches by {choices}, not {metric!r}", choices=", ".join(discovery.METRICS), metric=arguments.metric)
            )
        return
    discovery_only = (
        ("--max-predicates", arguments.max_predicates is not None),
        ("--alpha", arguments.alpha is not None),
        ("--tag-absent", arguments.tag_absent),
        ("--overlap", arguments.overlap is not None),
        ("--overlap-measure", arguments.overlap_measure is not None),
    )
    for option, given in discovery_only:
        if given:
            parser.error(_("{option} applies only with --discover", option=option))


def _run_discovery(arguments: argparse.Namespace) -> int:
    try:
        config = config_from_arguments(arguments)
        dataset, _hlp = tag_commands.open_with_workspace(config, arguments.workspace)
        example_filter = parse_filter(dataset, arguments.keep, arguments.exclude)
        chosen = {
            "metric": arguments.metric,
            "max_predicates": arguments.max_predicates,
            "min_support": arguments.min_support,
            "top": arguments.top,
            "alpha": arguments.alpha,
            "tag_absent": arguments.tag_absent,
            "overlap": arguments.overlap,
            "overlap_measure": arguments.overlap_measure,
        }
        # Options left out keep the defaults of DiscoverySettings.
        settings = discovery.DiscoverySettings(**{key: value for key, value in chosen.items() if value is not None})
        result = discovery.discover_slices(dataset, settings, example_filter)
    except AnalysisError as error:
        print(_("error: {message}", message=str(error)), file=sys.stderr)
        return EXIT_BAD_INPUT
    return _write(arguments.format, {"dataset": dataset.config.display_name, **result.as_dict()}, render_discovery)


def _write(output_format: str, report: dict, render) -> int:
    """Print ``report`` as JSON or as the text ``render`` makes of it."""
    try:
        if output_format == "json":
            json.dump(report, sys.stdout, indent=2, ensure_ascii=False, allow_nan=False)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(render(report))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (for example `head`) closed the pipe early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
