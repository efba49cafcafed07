"""Counting what was read, analysed and dropped, and the checks that stop a load: duplicate ids, nothing matched."""

from __future__ import annotations

import logging

from analysis.config import DatasetConfig
from analysis.engine import Engine
from analysis.errors import SHOWN_VALUES, InputError
from analysis.i18n import _, ngettext
from analysis.model import (
    MODE_CLASSIFICATION,
    STATUS_ANALYSED,
    STATUS_METADATA_ONLY,
    STATUS_MISSING_ID,
    STATUS_MISSING_LABEL,
    STATUS_MISSING_PREDICTION,
    STATUS_PREDICTIONS_ONLY,
    Dataset,
    LoadReport,
    Notice,
)
from analysis.sources import SourceFile
from analysis.sqltext import quote_ident

log = logging.getLogger(__name__)

# Unmatched ids quoted in a message, per file.
_SAMPLE_IDS = 3


def _unmatched_predictions(key: str) -> str:
    """Return a subquery of the ids (``_id``) of prediction rows that have no metadata row."""
    return f"(SELECT p._id FROM p ANTI JOIN m ON p._id = m.{quote_ident(key)}) AS unmatched"


def _unmatched_metadata(key: str) -> str:
    """Return a subquery of the ids (``_id``) of metadata rows that have no prediction row."""
    return f"(SELECT m.{quote_ident(key)} AS _id FROM m ANTI JOIN p ON m.{quote_ident(key)} = p._id) AS unmatched"


def _sample_unmatched_ids(engine: Engine, key: str) -> tuple[str, str]:
    """Return a few unmatched ids of the predictions file and of the metadata file, quoted for a message."""
    samples = []
    for subquery in (_unmatched_predictions(key), _unmatched_metadata(key)):
        rows = engine.rows(f"SELECT DISTINCT _id FROM {subquery} WHERE _id IS NOT NULL ORDER BY 1 LIMIT ?", [_SAMPLE_IDS])
        samples.append(", ".join(repr(row[0]) for row in rows) or _("none"))
    return samples[0], samples[1]


def check_unique_ids(engine: Engine, view: str, view_key: str, source: SourceFile, column: str) -> None:
    """Raise when an id appears more than once in ``view``, naming the file, the column and some of the ids."""
    duplicates = engine.rows(
        f"SELECT {view_key}, count(*) AS n FROM {view} WHERE {view_key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC, 1 LIMIT ?",
        [SHOWN_VALUES],
    )
    if not duplicates:
        return
    total = engine.rows(
        f"SELECT count(*) FROM (SELECT {view_key} FROM {view} WHERE {view_key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1)"
    )[0][0]
    shown = ", ".join(f"{value!r} ({count}x)" for value, count in duplicates)
    raise InputError(
        ngettext(
            "The {file} has {count} id that appears more than once in column '{column}': {values}.",
            "The {file} has {count} ids that appear more than once in column '{column}', for example {values}.",
            total, file=source.label, column=column, values=shown,
        ),
        _("Ids must be unique within a run: remove the duplicate rows, or add a run column if the file holds several runs."),
    )


def fill_report(
    dataset: Dataset,
    report: LoadReport,
    predictions: SourceFile,
    id_column: str,
    metadata: SourceFile | None,
    metadata_id: str | None,
    key: str,
) -> None:
    """Fill the counts of rows read, analysed and dropped, and reject duplicate ids.

    The counting pass over ``example_rows`` gives one count per row status.
    It also reveals duplicates: when an id that is in both files appears
    twice in one of them, the full outer join repeats the other file's row,
    so that side counts more joined rows than it has. Only then is the slower
    exact search run, to name the duplicated ids. Ids found in one file only
    are searched for duplicates separately, among those rows alone.
    """
    engine = dataset.engine
    statuses = dataset.counts.row_statuses
    report.rows = engine.rows("SELECT CAST(count(*) AS BIGINT) FROM p")[0][0]
    report.metadata_rows = engine.rows("SELECT CAST(count(*) AS BIGINT) FROM m")[0][0]
    report.missing_id = statuses.get(STATUS_MISSING_ID, 0)
    report.unmatched_predictions = statuses.get(STATUS_PREDICTIONS_ONLY, 0)
    report.unmatched_metadata = statuses.get(STATUS_METADATA_ONLY, 0)
    report.missing_label = statuses.get(STATUS_MISSING_LABEL, 0)
    report.missing_prediction = statuses.get(STATUS_MISSING_PREDICTION, 0)
    report.matched = statuses.get(STATUS_ANALYSED, 0)

    pairs = report.matched + report.missing_label + report.missing_prediction
    predictions_side = report.missing_id + report.unmatched_predictions + pairs
    metadata_side = report.unmatched_metadata + pairs
    if predictions_side != report.rows or metadata_side != report.metadata_rows:
        check_unique_ids(engine, "p", "_id", predictions, id_column)
        if metadata is not None:
            check_unique_ids(engine, "m", quote_ident(key), metadata, metadata_id)
    if metadata is not None and report.unmatched_predictions > 1:
        check_unique_ids(engine, _unmatched_predictions(key), "_id", predictions, id_column)
    if metadata is not None and report.unmatched_metadata > 1:
        check_unique_ids(engine, _unmatched_metadata(key), "_id", metadata, metadata_id)
    if metadata is None:
        # Without a metadata file the predictions file is joined with itself.
        report.metadata_rows = None
        report.unmatched_metadata = 0


def warn_about_drops(dataset: Dataset) -> None:
    report = dataset.report
    predictions = dataset.config.predictions
    metadata = dataset.config.metadata
    if dataset.mode == MODE_CLASSIFICATION:
        missing_outcome = ngettext(
            "{count} example of {file} has no prediction in column '{column}' and was left out.",
            "{count} examples of {file} have no prediction in column '{column}' and were left out.",
            report.missing_prediction, file=predictions, column=dataset.prediction_column,
        )
    else:
        missing_outcome = ngettext(
            "{count} example of {file} has no value in column '{column}', so its outcome is unknown and it was left out.",
            "{count} examples of {file} have no value in column '{column}', so their outcome is unknown and they were left out.",
            report.missing_prediction, file=predictions, column=dataset.correct_column or dataset.score_column,
        )
    messages = [
        ("missing_id", report.missing_id, ngettext(
            "{count} row of the predictions file {file} has no id in column '{column}' and was left out.",
            "{count} rows of the predictions file {file} have no id in column '{column}' and were left out.",
            report.missing_id, file=predictions, column=dataset.id_column,
        )),
        ("unmatched_predictions", report.unmatched_predictions, ngettext(
            "{count} id of the predictions file {predictions} has no row in the metadata file {metadata} and was left out.",
            "{count} ids of the predictions file {predictions} have no row in the metadata file {metadata} and were left out.",
            report.unmatched_predictions, predictions=predictions, metadata=metadata,
        )),
        ("unmatched_metadata", report.unmatched_metadata, ngettext(
            "{count} id of the metadata file {metadata} has no row in the predictions file {predictions} and was left out.",
            "{count} ids of the metadata file {metadata} have no row in the predictions file {predictions} and were left out.",
            report.unmatched_metadata, predictions=predictions, metadata=metadata,
        )),
        ("missing_label", report.missing_label, ngettext(
            "{count} example of {file} has no label in column '{column}' and was left out.",
            "{count} examples of {file} have no label in column '{column}' and were left out.",
            report.missing_label, file=predictions, column=dataset.label_column,
        )),
        ("missing_prediction", report.missing_prediction, missing_outcome),
    ]
    for code, count, message in messages:
        if count:
            log.warning(message)
            report.warnings.append(Notice(code, message))


def check_any_match(engine: Engine, config: DatasetConfig, report: LoadReport, key: str, outcome_columns: list[str]) -> None:
    """Raise when no example is left to analyse, saying whether the ids or the outcomes are at fault."""
    if report.matched > 0:
        return
    if config.metadata is not None and report.unmatched_predictions == report.rows - report.missing_id:
        predictions_ids, metadata_ids = _sample_unmatched_ids(engine, key)
        raise InputError(
            _(
                "No id of the predictions file {predictions} matches an id of the metadata file {metadata}: for example {predictions_ids} against {metadata_ids}.",
                predictions=config.predictions,
                metadata=config.metadata,
                predictions_ids=predictions_ids,
                metadata_ids=metadata_ids,
            ),
            _("Use the same ids in both files (ids are compared as text, so '007' and '7' differ), or name the id column with [columns] id or --id-col."),
        )
    columns = ", ".join(repr(c) for c in outcome_columns)
    if config.metadata is None:
        message = _("No example is left to analyse: every row of the predictions file {file} has an empty value in one of the columns {columns}.", file=config.predictions, columns=columns)
    else:
        message = _("No example is left to analyse: every row of the predictions file {file} has an empty value in one of the columns {columns}, or an id that is not in the metadata file {metadata}.", file=config.predictions, columns=columns, metadata=config.metadata)
    raise InputError(message, _("Fill those columns, or name the right ones in the dataset file or with the command-line options."))


def note_low_match(engine: Engine, config: DatasetConfig, report: LoadReport, key: str) -> None:
    """Warn, with example ids from each file, when most prediction rows found no metadata row.

    Such a low match rate usually means the two files write ids differently
    (zero padding, a prefix, integers against text), not that rows are missing.
    """
    if config.metadata is None or report.unmatched_predictions * 2 < report.rows:
        return
    predictions_ids, metadata_ids = _sample_unmatched_ids(engine, key)
    report.warnings.append(
        Notice(
            "low_id_match",
            _(
                "Only {matched} of {rows} prediction rows matched a metadata row. Unmatched ids look like {predictions_ids} in the predictions file and {metadata_ids} in the metadata file; ids are compared as text, so '007' and '7' differ.",
                matched=report.rows - report.unmatched_predictions - report.missing_id,
                rows=report.rows,
                predictions_ids=predictions_ids,
                metadata_ids=metadata_ids,
            ),
        )
    )


def check_positive_class(config: DatasetConfig, classes: list[str]) -> None:
    """Raise when the configured positive class is neither a label nor a prediction."""
    if config.positive_class is None or config.positive_class in classes:
        return
    raise InputError(
        _("The positive class '{value}' is not a class of the predictions file {file}.", value=config.positive_class, file=config.predictions),
        _("Set [task] positive_class or --positive-class to one of: {classes}.", classes=", ".join(classes)),
    )
