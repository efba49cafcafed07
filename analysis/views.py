"""The DuckDB views of an opened dataset: ``p``, ``m``, ``tl``, ``example_rows`` and ``examples``."""

from __future__ import annotations

import logging

from analysis import expressions as ex
from analysis.attributes import attribute_expression
from analysis.config import DatasetConfig
from analysis.engine import Engine
from analysis.metrics import sort_classes
from analysis.model import (
    MODE_CLASSIFICATION,
    MODE_CORRECT_FLAG,
    STATUS_ANALYSED,
    STATUS_METADATA_ONLY,
    STATUS_MISSING_ID,
    STATUS_MISSING_LABEL,
    STATUS_MISSING_PREDICTION,
    STATUS_PREDICTIONS_ONLY,
    Attribute,
    Tag,
)
from analysis.sources import SourceFile, find_column
from analysis.sqltext import quote_ident

log = logging.getLogger(__name__)


# A class column with more distinct values than this is normalised row by row.
_MAX_CLASSES_CHECKED = 10_000


# Up to this many classes, labels and predictions are carried as small integer codes.
_MAX_CODED_CLASSES = 64


# Prefix of the per-class probability columns of a predictions file: ``prob_cat`` is the probability of class "cat".
PROBABILITY_PREFIX = "prob_"


def probability_columns(columns: list[str]) -> dict[str, str]:
    """Map each class named by a ``prob_<class>`` column (prefix in any case) to that column, in file order."""
    found: dict[str, str] = {}
    for column in columns:
        if column[: len(PROBABILITY_PREFIX)].lower() == PROBABILITY_PREFIX and len(column) > len(PROBABILITY_PREFIX):
            found.setdefault(column[len(PROBABILITY_PREFIX) :], column)
    return found


def probability_alias(index: int) -> str:
    """Return the generated column name of ``examples`` holding the ``index``-th per-class probability."""
    return f"pr{index}"


def _id_expression(column: str, duckdb_type: str, as_integer: bool) -> str:
    if as_integer:
        return f"CAST({quote_ident(column)} AS BIGINT)"
    return ex.class_text(column, duckdb_type)


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


def define_keyed_views(
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
    probabilities: list[str] = (),
) -> list[str] | None:
    """Define ``p`` (outcome per example), ``m`` (metadata) and ``tl`` (long tags), keyed by the normalised id.

    Return the classes when ``p`` carries class codes, else None.

    ``p`` and ``tl`` name the key ``_id``. ``m`` keeps every column of its file,
    so its key is named ``key``, which no column of that file uses.

    ``p.is_error`` is NULL where the outcome is undefined (a missing label,
    prediction, score or correct flag); such rows are counted, then dropped.

    ``probabilities`` names the per-class probability columns of the
    predictions file; ``p`` carries them as numbers (NULL where a value is not
    a number) under :func:`probability_alias` names.
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
    for index, column in enumerate(probabilities):
        inner.append(f"TRY_CAST({quote_ident(column)} AS DOUBLE) AS {probability_alias(index)}")
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
    carried = "".join(f"{probability_alias(index)}, " for index in range(len(probabilities)))
    engine.create_view(
        "p",
        f"SELECT _id, label, prediction, {codes}, score, {carried}{is_error} AS is_error, true AS in_predictions "
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


def define_examples_view(
    engine: Engine,
    config: DatasetConfig,
    tag_file: SourceFile,
    attributes: list[Attribute],
    tags: list[Tag],
    tag_sources: list[tuple[str, SourceFile]],
    key: str,
    mode: str,
    coded: bool,
    probability_count: int = 0,
) -> None:
    """Define ``example_rows`` (both files, fully outer-joined) and ``examples`` (analysed rows only).

    ``probability_count`` is the number of per-class probability columns that
    :func:`define_keyed_views` put in ``p``; ``examples`` carries them too.
    """
    params: list[object] = []
    metadata_select = [f"{quote_ident(key)} AS _id"]
    for attribute in attributes:
        metadata_select.append(f"{attribute_expression(attribute, params)} AS {attribute.alias}")

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
        if config.tags_file is not None:
            tag_select.append(f"(md.{tag.alias} OR coalesce(list_contains(tl.tags, ?), false)) AS {tag.alias}")
            file_params.append(tag.name)
        else:
            tag_select.append(f"md.{tag.alias}")

    for attribute in attributes:
        if attribute.raw_alias is not None:
            metadata_select.append(f"CAST({quote_ident(attribute.name)} AS VARCHAR) AS {attribute.raw_alias}")

    metadata_select.append("true AS in_metadata")

    probability_aliases = [probability_alias(index) for index in range(probability_count)]
    columns = ["id", "label", "prediction", "label_code", "prediction_code", "score", *probability_aliases, "is_error"]
    columns += [a.alias for a in attributes]
    columns += [a.raw_alias for a in attributes if a.raw_alias is not None]
    columns += [t.alias for t in tags]
    select = ["p._id AS id", "p.label", "p.prediction", "p.label_code", "p.prediction_code", "p.score"]
    select += [f"p.{alias}" for alias in probability_aliases]
    select.append("p.is_error")
    select += [f"md.{a.alias}" for a in attributes]
    select += [f"md.{a.raw_alias}" for a in attributes if a.raw_alias is not None]
    select += tag_select
    if mode != MODE_CLASSIFICATION:
        missing_label = "false"
    elif coded:
        missing_label = "p.label_code IS NULL"
    else:
        missing_label = "p.label IS NULL"
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
    # one pass counts the examples and what was dropped. Placeholders bind in
    # the order of the text: the long-tag names of the select list come before
    # the attribute and list-column values of the metadata subquery in the join.
    engine.create_view("example_rows", f"SELECT {', '.join(select)} {join}", file_params + params)
    engine.create_view("examples", f"SELECT {', '.join(columns)} FROM example_rows WHERE row_status = '{STATUS_ANALYSED}'")
