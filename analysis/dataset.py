"""Opening a dataset: files as DuckDB views, joined on the id into ``examples``.

:func:`load_dataset` checks the inputs, resolves the columns (explicit names
first, then common aliases), decides how each attribute is sliced, defines
the views (:mod:`analysis.views`) and counts, in one pass, the analysed
examples and every row left out with its reason. ``examples`` has one row per
analysed example::

    id, label, prediction, label_code, prediction_code, score,
    pr0, pr1, ... (per-class probabilities from prob_<class> columns), is_error,
    a0, a1, ... (slice values), r0, r1, ... (raw values), t0, t1, ... (tags)

Attribute and tag columns get generated aliases (``a0``, ``t0``) so that the
metric queries never handle a user's column name; :class:`Dataset` maps them
back. Counts of what was dropped and why are in :class:`LoadReport`.
"""

from __future__ import annotations

import logging

from analysis import expressions as ex
from analysis.attributes import profile_attributes
from analysis.config import COLUMN_ALIASES, DatasetConfig
from analysis.counting import count_rows
from analysis.engine import Engine, open_engine
from analysis.errors import InputError
from analysis.i18n import _
from analysis.load_report import (
    check_any_match,
    check_positive_class,
    fill_report,
    note_low_match,
    warn_about_drops,
)
from analysis.metrics import sort_classes
from analysis.model import (
    MODE_CLASSIFICATION,
    MODE_CORRECT_FLAG,
    MODE_PER_EXAMPLE_SCORE,
    Dataset,
    LoadReport,
)
from analysis.sources import SourceFile, column_list, find_column, open_source
from analysis.tag_inputs import (
    assign_tag_aliases,
    check_flag_values,
    check_numeric_values,
    list_column_tags,
    read_hlp,
    read_tags_file,
    tag_columns,
)
from analysis.views import define_examples_view, define_keyed_views, probability_alias, probability_columns

log = logging.getLogger(__name__)


def load_dataset(config: DatasetConfig, engine: Engine | None = None) -> Dataset:
    """Open the files of ``config`` and define the ``examples`` view; raise :class:`InputError` on bad input.

    Without ``engine``, the engine that ``config.engine`` selects runs the queries.
    """
    engine = engine or open_engine(config.engine)
    report = LoadReport()
    predictions_role = _("predictions")

    predictions = open_source(engine, config.predictions, predictions_role, "predictions_file")
    mode = _mode(config)
    columns = {
        "id": _resolve_column(predictions, "id", config.id_column, required=True, config=config),
        "label": None,
        "prediction": None,
        "correct": None,
    }
    if mode == MODE_CLASSIFICATION:
        columns["label"] = _resolve_column(predictions, "label", config.label_column, required=True, config=config)
        columns["prediction"] = _resolve_column(predictions, "prediction", config.prediction_column, required=True, config=config)
    elif mode == MODE_CORRECT_FLAG:
        columns["correct"] = _resolve_column(predictions, "correct", config.correct_column, required=True, config=config)
    columns["score"] = _resolve_column(
        predictions, "score", config.score_column, required=mode == MODE_PER_EXAMPLE_SCORE, config=config
    )

    # Read CSV ids and classes as text, so "007" keeps its zeros.
    text_columns = tuple(c for c in (columns["id"], columns["label"], columns["prediction"]) if c)
    if predictions.file_format == "csv":
        predictions = open_source(engine, config.predictions, predictions_role, "predictions_file", text_columns)
    if columns["correct"]:
        check_flag_values(engine, [(columns["correct"], predictions)], "predictions_file")
    if mode == MODE_PER_EXAMPLE_SCORE:
        check_numeric_values(engine, columns["score"], predictions)

    metadata = None
    metadata_id = None
    if config.metadata is not None:
        metadata = open_source(engine, config.metadata, _("metadata"), "metadata_file")
        metadata_id = _metadata_id_column(metadata, columns["id"], config)
        if metadata.file_format == "csv":
            metadata = open_source(engine, config.metadata, _("metadata"), "metadata_file", (metadata_id,))

    # Without a metadata file, tag columns may sit in the predictions file.
    tag_file = metadata if metadata is not None else predictions
    tag_sources = tag_columns(config, tag_file)
    check_flag_values(engine, tag_sources, None)
    list_tags = list_column_tags(engine, config, tag_file)
    long_tags = read_tags_file(engine, config, columns["id"])
    key = _unused_name("_id", tag_file.columns)

    # Join on integers when every file has integer ids: faster than text, same result.
    join_as_integer = (
        ex.is_integer_type(predictions.types[columns["id"]])
        and (metadata is None or ex.is_integer_type(metadata.types[metadata_id]))
        and (long_tags is None or ex.is_integer_type(long_tags[1]))
    )
    # Per-class probabilities only mean something when there are classes.
    probabilities = probability_columns(predictions.columns) if mode == MODE_CLASSIFICATION else {}
    classes = define_keyed_views(
        engine, config, mode, predictions, columns, metadata, metadata_id, join_as_integer, long_tags, key, list(probabilities.values())
    )

    attributes = profile_attributes(engine, config, metadata, metadata_id, tag_sources, report)
    tags = assign_tag_aliases(tag_sources, list_tags, long_tags)
    define_examples_view(engine, config, tag_file, attributes, tags, tag_sources, key, mode, classes is not None, len(probabilities))

    dataset = Dataset(
        config=config,
        engine=engine,
        mode=mode,
        id_column=columns["id"],
        label_column=columns["label"],
        prediction_column=columns["prediction"],
        score_column=columns["score"],
        correct_column=columns["correct"],
        attributes=attributes,
        tags=tags,
        hlp={},
        report=report,
        classes=classes,
        probabilities={name: probability_alias(index) for index, name in enumerate(probabilities)},
        metadata_key=key,
    )
    dataset.counts = count_rows(dataset)
    fill_report(dataset, report, predictions, columns["id"], metadata, metadata_id, key)
    if mode == MODE_CLASSIFICATION:
        outcome_columns = [columns["id"], columns["label"], columns["prediction"]]
    else:
        outcome_columns = [columns["id"], columns["correct"] or columns["score"]]
    check_any_match(engine, config, report, key, outcome_columns)
    note_low_match(engine, config, report, key)
    if mode == MODE_CLASSIFICATION:
        counted = dataset.counts.confusion
        check_positive_class(config, sort_classes(set(counted["label"]) | set(counted["prediction"])))
    dataset.hlp = read_hlp(engine, config, tags, report)
    warn_about_drops(dataset)
    return dataset


def _mode(config: DatasetConfig) -> str:
    if config.per_example_score_mode:
        return MODE_PER_EXAMPLE_SCORE
    if config.correct_column:
        return MODE_CORRECT_FLAG
    return MODE_CLASSIFICATION


def _resolve_column(source: SourceFile, role: str, explicit: str | None, required: bool, config: DatasetConfig) -> str | None:
    """Find the column playing ``role``: the configured name, else the first alias present."""
    if explicit is not None:
        found = find_column(source.columns, explicit)
        if found is None:
            raise InputError(
                _("The {file} has no column '{column}' (set as the {role} column).", file=source.label, column=explicit, role=role),
                _("Its columns are: {columns}. Fix the name in the dataset file or the command-line option.", columns=column_list(source)),
            )
        return found
    for alias in COLUMN_ALIASES[role]:
        found = find_column(source.columns, alias)
        if found is not None:
            if alias != COLUMN_ALIASES[role][0]:
                log.info("Using column %r of %s as the %s column", found, source.path, role)
            return found
    if required:
        option = {"id": "--id-col", "label": "--label-col", "prediction": "--prediction-col", "score": "--score-col", "correct": "--correct-col"}[role]
        raise InputError(
            _("The {file} has no {role} column: none of {aliases} was found.", file=source.label, role=role, aliases=", ".join(COLUMN_ALIASES[role])),
            _("Its columns are: {columns}. Name the {role} column in the dataset file ([columns] {role} = ...) or with {option}.", columns=column_list(source), role=role, option=option),
        )
    return None


def _metadata_id_column(metadata: SourceFile, id_column: str, config: DatasetConfig) -> str:
    found = find_column(metadata.columns, id_column)
    if found is not None:
        return found
    if config.id_column is None:
        for alias in COLUMN_ALIASES["id"]:
            found = find_column(metadata.columns, alias)
            if found is not None:
                return found
    raise InputError(
        _("The {file} has no id column '{column}' to join on.", file=metadata.label, column=id_column),
        _("Its columns are: {columns}. Both files need the same id column.", columns=column_list(metadata)),
    )


def _unused_name(name: str, columns: list[str]) -> str:
    """Return ``name``, prefixed with underscores until no column has that name (ignoring case)."""
    taken = {column.lower() for column in columns}
    while name.lower() in taken:
        name = "_" + name
    return name
