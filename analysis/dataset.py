"""Opening a dataset: files as DuckDB views, joined on the id into ``examples``.

:func:`load_dataset` checks the inputs, resolves the columns (explicit names
first, then common aliases), decides how each attribute is sliced, and defines
the view ``examples`` with one row per analysed example::

    id, label, prediction, score, is_error, a0, a1, ... (slice values), t0, t1, ... (tags)

Attribute and tag columns get generated aliases (``a0``, ``t0``) so that the
metric queries never handle a user's column name; :class:`Dataset` maps them
back. Counts of what was dropped and why are in :class:`LoadReport`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from analysis import expressions as ex
from analysis.config import COLUMN_ALIASES, DatasetConfig
from analysis.engine import Engine
from analysis.errors import InputError
from analysis.i18n import _, ngettext
from analysis.metrics import sort_classes
from analysis.sources import SourceFile, find_column, open_source
from analysis.sqltext import quote_ident

log = logging.getLogger(__name__)

MODE_CLASSIFICATION = "classification"
MODE_CORRECT_FLAG = "correct_flag"
MODE_PER_EXAMPLE_SCORE = "per_example_score"

UNTAGGED = "(untagged)"

# Why a row of ``example_rows`` is or is not analysed; each row has one reason.
STATUS_ANALYSED = "analysed"
STATUS_METADATA_ONLY = "unmatched_metadata"
STATUS_MISSING_ID = "missing_id"
STATUS_PREDICTIONS_ONLY = "unmatched_predictions"
STATUS_MISSING_LABEL = "missing_label"
STATUS_MISSING_PREDICTION = "missing_prediction"
OVERALL = "(overall)"

# Examples of offending values quoted in a message.
_SHOWN_VALUES = 5


@dataclass
class Attribute:
    """A metadata column used for slicing, and how its values become slices."""

    name: str
    alias: str
    kind: str  # "categorical", "top_values" or "quantile_bins"
    distinct_values: int
    bins: list[str] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    # Column of ``examples`` with the raw value as text, when the values are few
    # enough to count each one and fold them into slices afterwards.
    raw_alias: str | None = None


@dataclass
class Tag:
    name: str
    alias: str
    origin: str  # "column", "list_column" or "file"


@dataclass
class Notice:
    """A warning for the user: a stable code for programs and a translated message for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class LoadReport:
    """What was read, what was analysed and what was dropped, with counts."""

    rows: int = 0
    metadata_rows: int | None = None
    matched: int = 0
    missing_id: int = 0
    unmatched_predictions: int = 0
    unmatched_metadata: int = 0
    missing_label: int = 0
    missing_prediction: int = 0
    warnings: list[Notice] = field(default_factory=list)

    def dropped(self) -> dict[str, int]:
        return {
            "missing_id": self.missing_id,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_metadata": self.unmatched_metadata,
            "missing_label": self.missing_label,
            "missing_prediction": self.missing_prediction,
        }


@dataclass
class Dataset:
    """An opened dataset: the engine holding its views and what the columns mean."""

    config: DatasetConfig
    engine: Engine
    mode: str
    id_column: str
    label_column: str | None
    prediction_column: str | None
    score_column: str | None
    correct_column: str | None
    attributes: list[Attribute]
    tags: list[Tag]
    hlp: dict[str, float]
    report: LoadReport
    has_score: bool = False
    # Classes in display order when ``examples`` carries ``label_code`` and
    # ``prediction_code`` (1-based positions in this list), else None.
    classes: list[str] | None = None
    # Counts over all analysed examples, computed once when the files are opened.
    counts: Any = None

    @property
    def has_classes(self) -> bool:
        return self.mode == MODE_CLASSIFICATION

    def tag(self, name: str) -> Tag:
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise InputError(
            _("Unknown tag '{tag}'.", tag=name),
            _("Known tags: {names}.", names=", ".join(t.name for t in self.tags) or _("none")),
        )

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise InputError(
            _("Unknown attribute '{attribute}'.", attribute=name),
            _("Known attributes: {names}.", names=", ".join(a.name for a in self.attributes) or _("none")),
        )


def load_dataset(config: DatasetConfig, engine: Engine | None = None) -> Dataset:
    """Open the files of ``config`` and define the ``examples`` view; raise :class:`InputError` on bad input."""
    engine = engine or Engine()
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
        _check_flag_values(engine, [(columns["correct"], predictions)], "predictions_file")
    if mode == MODE_PER_EXAMPLE_SCORE:
        _check_numeric_values(engine, columns["score"], predictions)

    metadata = None
    metadata_id = None
    if config.metadata is not None:
        metadata = open_source(engine, config.metadata, _("metadata"), "metadata_file")
        metadata_id = _metadata_id_column(metadata, columns["id"], config)
        if metadata.file_format == "csv":
            metadata = open_source(engine, config.metadata, _("metadata"), "metadata_file", (metadata_id,))

    # Without a metadata file, tag columns may sit in the predictions file.
    tag_file = metadata if metadata is not None else predictions
    tag_sources = _tag_columns(config, tag_file)
    _check_flag_values(engine, tag_sources, None)
    list_tags = _list_column_tags(engine, config, tag_file)
    long_tags = _tags_file(engine, config, columns["id"])
    key = _unused_name("_id", tag_file.columns)

    # Join on integers when every file has integer ids: faster than text, same result.
    join_as_integer = (
        ex.is_integer_type(predictions.types[columns["id"]])
        and (metadata is None or ex.is_integer_type(metadata.types[metadata_id]))
        and (long_tags is None or ex.is_integer_type(long_tags[1]))
    )
    classes = _define_keyed_views(engine, config, mode, predictions, columns, metadata, metadata_id, join_as_integer, long_tags, key)

    attributes = _profile_attributes(engine, config, metadata, metadata_id, tag_sources, report)
    tags = _assign_tag_aliases(tag_sources, list_tags, long_tags)
    _define_examples_view(engine, config, tag_file, attributes, tags, tag_sources, key, mode, classes is not None)

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
        has_score=columns["score"] is not None,
        classes=classes,
    )
    # Imported here because counting builds on the Dataset defined in this module.
    from analysis.counting import count_rows

    dataset.counts = count_rows(dataset)
    _fill_report(dataset, report, predictions, columns["id"], metadata, metadata_id, key)
    if mode == MODE_CLASSIFICATION:
        outcome_columns = [columns["id"], columns["label"], columns["prediction"]]
    else:
        outcome_columns = [columns["id"], columns["correct"] or columns["score"]]
    _check_any_match(engine, config, report, key, outcome_columns)
    dataset.hlp = _read_hlp(engine, config, tags, report)
    _warn_about_drops(dataset)
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
                _("Its columns are: {columns}. Fix the name in the dataset file or the command-line option.", columns=_column_list(source)),
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
            _("Its columns are: {columns}. Name the {role} column in the dataset file ([columns] {role} = ...) or with {option}.", columns=_column_list(source), role=role, option=option),
        )
    return None


def _column_list(source: SourceFile) -> str:
    shown = source.columns[:30]
    text = ", ".join(repr(c) for c in shown)
    return text + (_(" and {count} more", count=len(source.columns) - 30) if len(source.columns) > 30 else "")


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
        _("Its columns are: {columns}. Both files need the same id column.", columns=_column_list(metadata)),
    )


def _unused_name(name: str, columns: list[str]) -> str:
    """Return ``name``, prefixed with underscores until no column has that name (ignoring case)."""
    taken = {column.lower() for column in columns}
    while name.lower() in taken:
        name = "_" + name
    return name


def _tag_columns(config: DatasetConfig, source: SourceFile) -> list[tuple[str, SourceFile]]:
    """Return (column, file) pairs of boolean tag columns: named ones, or ``tag_*`` booleans by default."""
    if config.tag_columns is not None:
        found = []
        for name in config.tag_columns:
            column = find_column(source.columns, name)
            if column is None:
                raise InputError(
                    _("The tag column '{column}' is not in the {file}.", column=name, file=source.label),
                    _("Its columns are: {columns}. Fix the name under [tags] columns in the dataset file or in --tag-cols.", columns=_column_list(source)),
                )
            found.append((column, source))
        return found
    defaults = [
        (name, source)
        for name in source.columns
        if name.lower().startswith("tag_") and source.types[name].upper() == "BOOLEAN"
    ]
    if defaults:
        log.info("Using boolean columns %s of %s as tags", [n for n, _s in defaults], source.path)
    return defaults


def _list_column_tags(engine: Engine, config: DatasetConfig, source: SourceFile) -> list[str]:
    if config.tag_list_column is None:
        return []
    if not source.has(config.tag_list_column):
        raise InputError(
            _("The tag list column '{column}' is not in the {file}.", column=config.tag_list_column, file=source.label),
            _("Its columns are: {columns}. Fix [tags] list_column in the dataset file or --tag-list-col.", columns=_column_list(source)),
        )
    column = quote_ident(find_column(source.columns, config.tag_list_column))
    rows = engine.rows(
        f"SELECT DISTINCT trim(tag) AS tag FROM (SELECT unnest(string_split(CAST({column} AS VARCHAR), ?)) AS tag "
        f"FROM {source.view}) WHERE trim(tag) <> '' ORDER BY 1",
        [config.tag_separator],
    )
    return [row[0] for row in rows]


def _tags_file(engine: Engine, config: DatasetConfig, id_column: str) -> tuple[list[str], str] | None:
    """Open the long (id, tag) file; return its distinct tags and its id column type."""
    if config.tags_file is None:
        return None
    source = open_source(engine, config.tags_file, _("tags"), "tags_file")
    tags_id = find_column(source.columns, id_column)
    if tags_id is None:
        tags_id = next((find_column(source.columns, a) for a in COLUMN_ALIASES["id"] if source.has(a)), None)
    tag_column = find_column(source.columns, "tag")
    if tags_id is None or tag_column is None:
        raise InputError(
            _("The {file} needs an id column '{id}' and a 'tag' column, one row per (example, tag).", file=source.label, id=id_column),
            _("Its columns are: {columns}.", columns=_column_list(source)),
        )
    if source.file_format == "csv":
        source = open_source(engine, config.tags_file, _("tags"), "tags_file", (tags_id,))
    engine.create_view(
        "tags_long",
        f"SELECT {quote_ident(tags_id)} AS raw_id, trim(CAST({quote_ident(tag_column)} AS VARCHAR)) AS tag "
        f"FROM tags_file WHERE {quote_ident(tag_column)} IS NOT NULL AND trim(CAST({quote_ident(tag_column)} AS VARCHAR)) <> ''",
    )
    names = [row[0] for row in engine.rows("SELECT DISTINCT tag FROM tags_long ORDER BY 1")]
    return names, source.types[tags_id]


def _id_expression(column: str, duckdb_type: str, as_integer: bool) -> str:
    if as_integer:
        return f"CAST({quote_ident(column)} AS BIGINT)"
    return ex.class_text(column, duckdb_type)


def _check_unique_ids(engine: Engine, view: str, view_key: str, source: SourceFile, column: str) -> None:
    """Raise when an id appears more than once in ``view``, naming the file, the column and some of the ids."""
    duplicates = engine.rows(
        f"SELECT {view_key}, count(*) AS n FROM {view} WHERE {view_key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC, 1 LIMIT ?",
        [_SHOWN_VALUES],
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


def _profile_attributes(engine, config, metadata, metadata_id, tag_sources, report) -> list[Attribute]:
    """Choose the attribute columns and how each is sliced (see DESIGN defaults in the README)."""
    if metadata is None:
        candidates: list[tuple[str, str]] = []
    else:
        tag_names = {name.lower() for name, _source in tag_sources}
        skip = {metadata_id.lower(), *tag_names}
        if config.tag_list_column:
            skip.add(config.tag_list_column.lower())
        candidates = [(name, metadata.types[name]) for name in metadata.columns if name.lower() not in skip]

    if config.attributes is not None:
        chosen = []
        for name in config.attributes:
            found = find_column([c for c, _t in candidates], name)
            if found is None and metadata is None:
                raise InputError(
                    _("Slicing by the attribute '{column}' needs a metadata file, but none was given.", column=name),
                    _("Name the metadata file under [files] metadata in the dataset file or with --metadata."),
                )
            if found is None:
                raise InputError(
                    _("The attribute '{column}' is not a metadata column of the {file}.", column=name, file=metadata.label),
                    _("Its columns are: {columns}. The id and tag columns cannot be attributes. Fix the name under [slices] attributes in the dataset file or in --attributes.", columns=_column_list(metadata)),
                )
            chosen.append((found, metadata.types[found]))
        candidates = chosen
    excluded = {name.lower() for name in config.exclude_attributes}
    candidates = [(name, kind) for name, kind in candidates if name.lower() not in excluded]

    sliceable = []
    for name, duckdb_type in candidates:
        upper = duckdb_type.upper()
        if upper.startswith(("STRUCT", "MAP", "LIST", "BLOB")) or upper.endswith("[]"):
            log.info("Not slicing column %r: type %s has no slice values", name, duckdb_type)
            continue
        sliceable.append((name, duckdb_type))
    if not sliceable:
        return []

    counts_sql = ", ".join(
        f"count(DISTINCT {quote_ident(name)}) AS d{i}, count({quote_ident(name)}) AS n{i}" for i, (name, _t) in enumerate(sliceable)
    )
    profile = engine.rows(f"SELECT {counts_sql} FROM m")[0]
    attributes = []
    for index, (name, duckdb_type) in enumerate(sliceable):
        distinct, non_null = profile[2 * index], profile[2 * index + 1]
        alias = f"a{len(attributes)}"
        if ex.is_numeric_type(duckdb_type) and distinct > config.max_numeric_values:
            attributes.append(Attribute(name, alias, "quantile_bins", distinct))
        elif not ex.is_numeric_type(duckdb_type) and distinct > config.max_categories:
            if distinct == non_null and config.attributes is None:
                log.info("Not slicing column %r: every value is unique, like an id", name)
                report.warnings.append(
                    Notice("unique_column_skipped", _("Column '{column}' was not used for slicing: each of its {count} values is unique.", column=name, count=distinct))
                )
                continue
            attributes.append(Attribute(name, alias, "top_values", distinct))
        else:
            attributes.append(Attribute(name, alias, "categorical", distinct))

    _fill_bins(engine, config, attributes)
    for index, attribute in enumerate(attributes):
        if attribute.kind in ("categorical", "top_values") and attribute.distinct_values <= _MAX_RAW_VALUES:
            attribute.raw_alias = f"r{index}"
    return attributes


def _fill_bins(engine: Engine, config: DatasetConfig, attributes: list[Attribute]) -> None:
    """Compute the kept values of wide categorical attributes and the quantile edges of numeric ones."""
    for attribute in attributes:
        column = quote_ident(attribute.name)
        if attribute.kind == "top_values":
            rows = engine.rows(
                f"SELECT CAST({column} AS VARCHAR) AS v, count(*) AS n FROM m WHERE {column} IS NOT NULL "
                f"GROUP BY 1 ORDER BY n DESC, v LIMIT ?",
                [config.top_categories],
            )
            attribute.bins = [row[0] for row in rows]
    numeric = [a for a in attributes if a.kind == "quantile_bins"]
    if not numeric:
        return
    levels = [i / config.numeric_bins for i in range(config.numeric_bins + 1)]
    select = ", ".join(f"quantile_cont(CAST({quote_ident(a.name)} AS DOUBLE), ?) AS q{i}" for i, a in enumerate(numeric))
    row = engine.rows(f"SELECT {select} FROM m", [levels] * len(numeric))[0]
    for attribute, quantiles in zip(numeric, row):
        edges = sorted({float(q) for q in quantiles if q is not None and not math.isnan(q)})
        # Interpolating between values of opposite sign can give 1e-15 where 0 is meant.
        scale = max((abs(edge) for edge in edges), default=0.0)
        edges = sorted({0.0 if abs(edge) < 1e-12 * scale else edge for edge in edges})
        if len(edges) < 2:
            attribute.kind = "categorical"
            continue
        attribute.edges = edges


def _assign_tag_aliases(tag_sources, list_tags, long_tags) -> list[Tag]:
    """Number the tags ``t0, t1, ...``; a name found in several forms is one tag."""
    tags: dict[str, Tag] = {}
    for name, _source in tag_sources:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "column"))
    for name in list_tags:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "list_column"))
    for name in long_tags[0] if long_tags else []:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "file"))
    return list(tags.values())


def _check_flag_values(engine: Engine, flag_columns: list[tuple[str, SourceFile]], view: str | None) -> None:
    """Reject text flag columns holding values that are neither true nor false."""
    for name, source in flag_columns:
        if source.types[name].upper() == "BOOLEAN" or ex.is_numeric_type(source.types[name]):
            continue
        rows = engine.rows(
            f"SELECT DISTINCT CAST({quote_ident(name)} AS VARCHAR) FROM {view or source.view} WHERE {ex.unrecognised_flag_filter(name)} LIMIT ?",
            [_SHOWN_VALUES],
        )
        if rows:
            raise InputError(
                _("The column '{column}' of the {file} holds values that are not true or false, for example {values}.", column=name, file=source.label, values=", ".join(repr(r[0]) for r in rows)),
                _("Write flags as true/false, yes/no or 1/0 (empty means false)."),
            )


def _check_numeric_values(engine: Engine, name: str, source: SourceFile) -> None:
    """Reject a score column containing text that is not a number, because TRY_CAST would silently make it missing."""
    if ex.is_numeric_type(source.types[name]):
        return
    column = quote_ident(name)
    rows = engine.rows(
        f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {source.view} "
        f"WHERE trim(CAST({column} AS VARCHAR)) <> '' AND TRY_CAST({column} AS DOUBLE) IS NULL LIMIT ?",
        [_SHOWN_VALUES],
    )
    if rows:
        raise InputError(
            _("The column '{column}' of the {file} holds values that are not numbers, for example {values}.", column=name, file=source.label, values=", ".join(repr(r[0]) for r in rows)),
            _("Name the column with the per-example score in [columns] score or --score-col."),
        )


# Attributes with at most this many values are counted per raw value and folded
# into slices afterwards, which is cheaper than folding every row in SQL.
_MAX_RAW_VALUES = 5_000
# A class column with more distinct values than this is normalised row by row.
_MAX_CLASSES_CHECKED = 10_000
# Up to this many classes, labels and predictions are carried as small integer codes.
_MAX_CODED_CLASSES = 64


def _class_expression(engine: Engine, column: str, duckdb_type: str) -> tuple[str, set[str] | None]:
    """Return the class-text expression of ``column`` and its distinct classes (None when there are too many).

    Trimming and rewriting "1.0" as "1" costs a regular expression per row,
    which dominates a 10-million-row summary. Text columns usually hold a
    handful of distinct values that are already clean, so those values are
    checked once and the column is used as it is when none would change.
    """
    expression = ex.class_text(column, duckdb_type)
    ident = quote_ident(column)
    pairs = engine.rows(
        f"SELECT {ident}, {expression} FROM (SELECT DISTINCT {ident} FROM predictions_file LIMIT ?) AS distinct_values",
        [_MAX_CLASSES_CHECKED + 1],
    )
    if len(pairs) > _MAX_CLASSES_CHECKED:
        return expression, None
    classes = {normalised for _raw, normalised in pairs if normalised is not None}
    if duckdb_type.upper() == "VARCHAR" and all(raw == normalised for raw, normalised in pairs):
        return ident, classes
    return expression, classes


def _define_keyed_views(
    engine: Engine,
    config: DatasetConfig,
    mode: str,
    predictions: SourceFile,
    columns: dict[str, str | None],
    metadata: SourceFile | None,
    metadata_id: str | None,
    as_integer: bool,
    long_tags: tuple[list[str], str] | None,
    key: str,
) -> list[str] | None:
    """Define ``p`` (outcome per example), ``m`` (metadata) and ``tl`` (long tags), keyed by the normalised id.

    Return the classes when ``p`` carries class codes, else None.

    ``p`` and ``tl`` name the key ``_id``. ``m`` keeps every column of its file,
    so its key is named ``key``, which no column of that file uses.

    ``p.is_error`` is NULL where the outcome is undefined (a missing label,
    prediction, score or correct flag); such rows are counted, then dropped.
    """
    id_column = columns["id"]
    inner = [f"{_id_expression(id_column, predictions.types[id_column], as_integer)} AS _id"]
    classes = None
    code_params: list[object] = []
    if mode == MODE_CLASSIFICATION:
        label, label_classes = _class_expression(engine, columns["label"], predictions.types[columns["label"]])
        prediction, prediction_classes = _class_expression(engine, columns["prediction"], predictions.types[columns["prediction"]])
        inner += [f"{label} AS label", f"{prediction} AS prediction"]
        if label_classes is not None and prediction_classes is not None:
            union = label_classes | prediction_classes
            if len(union) <= _MAX_CODED_CLASSES:
                classes = sort_classes(union)
    else:
        inner += ["CAST(NULL AS VARCHAR) AS label", "CAST(NULL AS VARCHAR) AS prediction"]
    if classes is not None:
        # Codes keep the join's hash table and the group keys small: 1-byte
        # integers in place of strings. Equal codes mean equal class texts.
        codes = "CAST(list_position(?, label) AS UTINYINT) AS label_code, CAST(list_position(?, prediction) AS UTINYINT) AS prediction_code"
        code_params = [classes, classes]
    else:
        codes = "CAST(NULL AS UTINYINT) AS label_code, CAST(NULL AS UTINYINT) AS prediction_code"
    score_column = columns["score"]
    inner.append(f"TRY_CAST({quote_ident(score_column)} AS DOUBLE) AS score" if score_column else "CAST(NULL AS DOUBLE) AS score")
    correct_column = columns["correct"]
    if correct_column:
        flag = ex.flag(correct_column, predictions.types[correct_column])
        inner.append(f"CASE WHEN {quote_ident(correct_column)} IS NULL THEN NULL ELSE {flag} END AS correct")
    else:
        inner.append("CAST(NULL AS BOOLEAN) AS correct")

    if mode == MODE_CLASSIFICATION:
        is_error = "label <> prediction"
    elif mode == MODE_CORRECT_FLAG:
        is_error = "NOT correct"
    else:
        comparison = ">" if config.error_when == "above" else "<"
        is_error = f"score {comparison} {float(config.error_threshold)!r}"
    engine.create_view(
        "p",
        f"SELECT _id, label, prediction, {codes}, score, {is_error} AS is_error, true AS in_predictions "
        f"FROM (SELECT {', '.join(inner)} FROM predictions_file)",
        code_params,
    )

    if metadata is not None:
        engine.create_view(
            "m", f"SELECT {_id_expression(metadata_id, metadata.types[metadata_id], as_integer)} AS {quote_ident(key)}, * FROM metadata_file"
        )
    else:
        # Without a metadata file, tag columns may sit in the predictions file.
        engine.create_view(
            "m", f"SELECT {_id_expression(id_column, predictions.types[id_column], as_integer)} AS {quote_ident(key)}, * FROM predictions_file"
        )
    if long_tags is not None:
        engine.create_view(
            "tl",
            f"SELECT {_id_expression('raw_id', long_tags[1], as_integer)} AS _id, list(DISTINCT tag) AS tags "
            f"FROM tags_long GROUP BY 1",
        )
    return classes


def _define_examples_view(
    engine: Engine,
    config: DatasetConfig,
    tag_file: SourceFile,
    attributes: list[Attribute],
    tags: list[Tag],
    tag_sources: list[tuple[str, SourceFile]],
    key: str,
    mode: str,
    coded: bool,
) -> None:
    """Define ``example_rows`` (both files, fully outer-joined) and ``examples`` (analysed rows only)."""
    params: list[object] = []
    metadata_select = [f"{quote_ident(key)} AS _id"]
    for attribute in attributes:
        metadata_select.append(f"{_attribute_expression(attribute, params)} AS {attribute.alias}")

    column_tags = {name: source for name, source in tag_sources}
    list_column = find_column(tag_file.columns, config.tag_list_column) if config.tag_list_column else None
    for tag in tags:
        parts = []
        if tag.name in column_tags:
            parts.append(ex.flag(tag.name, column_tags[tag.name].types[tag.name]))
        if list_column is not None:
            parts.append(
                f"coalesce(list_contains(list_transform(string_split(CAST({quote_ident(list_column)} AS VARCHAR), ?), lambda x: trim(x)), ?), false)"
            )
            params += [config.tag_separator, tag.name]
        metadata_select.append(f"({' OR '.join(parts) or 'false'}) AS {tag.alias}")

    tag_select = []
    file_params: list[object] = []
    for tag in tags:
        if tag.origin == "file" or config.tags_file is not None:
            tag_select.append(f"(md.{tag.alias} OR coalesce(list_contains(tl.tags, ?), false)) AS {tag.alias}")
            file_params.append(tag.name)
        else:
            tag_select.append(f"md.{tag.alias}")

    for attribute in attributes:
        if attribute.raw_alias is not None:
            metadata_select.append(f"CAST({quote_ident(attribute.name)} AS VARCHAR) AS {attribute.raw_alias}")

    metadata_select.append("true AS in_metadata")

    columns = ["id", "label", "prediction", "label_code", "prediction_code", "score", "is_error"]
    columns += [a.alias for a in attributes]
    columns += [a.raw_alias for a in attributes if a.raw_alias is not None]
    columns += [t.alias for t in tags]
    select = ["p._id AS id", "p.label", "p.prediction", "p.label_code", "p.prediction_code", "p.score", "p.is_error"]
    select += [f"md.{a.alias}" for a in attributes]
    select += [f"md.{a.raw_alias}" for a in attributes if a.raw_alias is not None]
    select += tag_select
    missing_label = ("p.label_code IS NULL" if coded else "p.label IS NULL") if mode == MODE_CLASSIFICATION else "false"
    select.append(
        f"""CASE
            WHEN p.in_predictions IS NULL THEN '{STATUS_METADATA_ONLY}'
            WHEN p._id IS NULL THEN '{STATUS_MISSING_ID}'
            WHEN md.in_metadata IS NULL THEN '{STATUS_PREDICTIONS_ONLY}'
            WHEN {missing_label} THEN '{STATUS_MISSING_LABEL}'
            WHEN p.is_error IS NULL THEN '{STATUS_MISSING_PREDICTION}'
            ELSE '{STATUS_ANALYSED}'
        END AS row_status"""
    )
    join = f"FROM p FULL OUTER JOIN (SELECT {', '.join(metadata_select)} FROM m) AS md ON p._id = md._id"
    if config.tags_file is not None:
        join += " LEFT JOIN tl ON p._id = tl._id"
    # Every row of both files once, with the reason it is or is not analysed, so
    # one pass counts the examples and what was dropped.
    engine.create_view("example_rows", f"SELECT {', '.join(select)} {join}", params + file_params)
    engine.create_view("examples", f"SELECT {', '.join(columns)} FROM example_rows WHERE row_status = '{STATUS_ANALYSED}'")


def _attribute_expression(attribute: Attribute, params: list[object]) -> str:
    if attribute.kind == "top_values":
        params.extend(attribute.bins)
        return ex.top_values(attribute.name, len(attribute.bins))
    if attribute.kind == "quantile_bins":
        expression, labels = ex.quantile_bins(attribute.name, attribute.edges)
        attribute.bins = labels
        return expression
    return ex.attribute_text(attribute.name)


def _fill_report(
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
    exact search run, to name the duplicated ids. A duplicated id found in
    one file only is not detected; its rows are counted as unmatched.
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
        _check_unique_ids(engine, "p", "_id", predictions, id_column)
        if metadata is not None:
            _check_unique_ids(engine, "m", quote_ident(key), metadata, metadata_id)
    if metadata is None:
        # Without a metadata file the predictions file is joined with itself.
        report.metadata_rows = None
        report.unmatched_metadata = 0


def _read_hlp(engine: Engine, config: DatasetConfig, tags: list[Tag], report: LoadReport) -> dict[str, float]:
    """Read the ``tag,hlp`` file; HLP values are accuracies between 0 and 1."""
    if config.hlp_file is None:
        return {}
    source = open_source(engine, config.hlp_file, _("HLP"), "hlp_file", ("tag",))
    tag_column = find_column(source.columns, "tag")
    hlp_column = find_column(source.columns, "hlp")
    if tag_column is None or hlp_column is None:
        raise InputError(
            _("The {file} needs the columns 'tag' and 'hlp'.", file=source.label),
            _("Its columns are: {columns}. Write one row per tag with its human-level accuracy, for example car_noise,0.93.", columns=_column_list(source)),
        )
    rows = engine.rows(
        f"SELECT CAST({quote_ident(tag_column)} AS VARCHAR), CAST({quote_ident(hlp_column)} AS VARCHAR) FROM hlp_file"
    )
    hlp: dict[str, float] = {}
    for tag, text in rows:
        if tag is None or text is None:
            continue
        tag = tag.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 <= value <= 1:
            raise InputError(
                _("The {file} gives HLP {value!r} for tag '{tag}', which is not an accuracy between 0 and 1.", file=source.label, value=text, tag=tag),
                _("Write HLP as a fraction, for example 0.95 for 95%."),
            )
        if tag in hlp:
            raise InputError(
                _("The {file} lists tag '{tag}' more than once.", file=source.label, tag=tag),
                _("Keep one HLP row per tag."),
            )
        hlp[tag] = value

    known = {t.name for t in tags} | {UNTAGGED, OVERALL}
    unknown = sorted(set(hlp) - known)
    if unknown:
        report.warnings.append(
            Notice("hlp_unknown_tags", _("The {file} names tags that are not tags of this dataset: {tags}.", file=source.label, tags=", ".join(unknown)))
        )
    return hlp


def _warn_about_drops(dataset: Dataset) -> None:
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


def _check_any_match(engine: Engine, config: DatasetConfig, report: LoadReport, key: str, outcome_columns: list[str]) -> None:
    """Raise when no example is left to analyse, saying whether the ids or the outcomes are at fault."""
    if report.matched > 0:
        return
    if config.metadata is not None and report.unmatched_predictions == report.rows - report.missing_id:
        shown_predictions = engine.rows("SELECT DISTINCT _id FROM p WHERE _id IS NOT NULL ORDER BY 1 LIMIT ?", [3])
        shown_metadata = engine.rows(
            f"SELECT DISTINCT {quote_ident(key)} FROM m WHERE {quote_ident(key)} IS NOT NULL ORDER BY 1 LIMIT ?", [3]
        )
        raise InputError(
            _(
                "No id of the predictions file {predictions} matches an id of the metadata file {metadata}: for example {predictions_ids} against {metadata_ids}.",
                predictions=config.predictions,
                metadata=config.metadata,
                predictions_ids=", ".join(repr(row[0]) for row in shown_predictions) or _("none"),
                metadata_ids=", ".join(repr(row[0]) for row in shown_metadata) or _("none"),
            ),
            _("Use the same ids in both files (ids are compared as text, so '007' and '7' differ), or name the id column with [columns] id or --id-col."),
        )
    columns = ", ".join(repr(c) for c in outcome_columns)
    if config.metadata is None:
        message = _("No example is left to analyse: every row of the predictions file {file} has an empty value in one of the columns {columns}.", file=config.predictions, columns=columns)
    else:
        message = _("No example is left to analyse: every row of the predictions file {file} has an empty value in one of the columns {columns}, or an id that is not in the metadata file {metadata}.", file=config.predictions, columns=columns, metadata=config.metadata)
    raise InputError(message, _("Fill those columns, or name the right ones in the dataset file or with the command-line options."))
