"""Content fingerprints: the dataset version and a run's predictions fingerprint, computed in DuckDB.

Each row gets a 60-bit hash: the first 15 hex digits of the MD5 of the row's
canonical values written as a JSON list, the id included. A fingerprint is
the MD5 of the row count and the sum of the row hashes. A sum does not depend
on row order, and equal rows do not cancel out as they would in an XOR. MD5
is used because its output is fixed by its standard, unlike DuckDB's
``hash()``, which may change between DuckDB versions.

Values are canonicalised before hashing, so the same content read from CSV,
Parquet or JSON gives the same fingerprint. Ids, labels, predictions and
metadata values become the class text of :func:`analysis.expressions.class_text`:
the integer 1, the string "1" and the float 1.0 are all "1", and an empty
string is missing. Each example's tags become the sorted list of its tag names.

The **dataset version** covers the labels, the metadata and the tags of the
analysed examples, never the predictions, so every run on the same examples
shares it. It is made of three parts, one per kind of content, so that a
change can be named. The **predictions fingerprint** covers a run's
(id, prediction) pairs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pandas as pd

from analysis.config import COLUMN_ALIASES
from analysis.engine import Engine
from analysis.expressions import class_text
from analysis.model import MODE_CLASSIFICATION, Dataset
from analysis.sources import find_column
from analysis.sqltext import quote_ident

# Hex digits of the MD5 kept per row: 60 bits fit a signed 64-bit integer (SQLite's
# INTEGER), and a HUGEINT sum of them cannot overflow.
_ROW_HASH_DIGITS = 15

# Characters of the MD5 shown as a fingerprint.
FINGERPRINT_LENGTH = 16

# Columns of a version snapshot: one row per analysed example.
SNAPSHOT_COLUMNS = ("example_id", "label_hash", "metadata_hash", "tags_hash")


def row_hash(json_list: str) -> str:
    """Return the SQL of the 60-bit hash of the text ``json_list`` (a SQL expression)."""
    return f"CAST(('0x' || substr(md5({json_list}), 1, {_ROW_HASH_DIGITS})) AS BIGINT)"


def fingerprint_text(*parts: object) -> str:
    """Return the fingerprint of ``parts`` (counts, hash sums, names) as hex text."""
    return hashlib.md5(json.dumps([str(part) for part in parts]).encode()).hexdigest()[:FINGERPRINT_LENGTH]


@dataclass(frozen=True)
class DatasetVersion:
    """The content fingerprint of a dataset's labels, metadata and tags, and of each of the three.

    ``metadata_columns`` are the metadata columns covered, in name order.
    """

    version: str
    labels: str
    metadata: str
    tags: str
    examples: int
    metadata_columns: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "labels": self.labels,
            "metadata": self.metadata,
            "tags": self.tags,
            "examples": self.examples,
            "metadata_columns": list(self.metadata_columns),
        }


@dataclass(frozen=True)
class VersionChange:
    """The differences between two dataset versions, counted in examples and in metadata columns."""

    added: int
    removed: int
    labels: int
    metadata: int
    tags: int
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.labels or self.metadata or self.tags or self.columns_added or self.columns_removed)

    def as_dict(self) -> dict[str, object]:
        return {
            "examples_added": self.added,
            "examples_removed": self.removed,
            "labels_changed": self.labels,
            "metadata_changed": self.metadata,
            "tags_changed": self.tags,
            "metadata_columns_added": list(self.columns_added),
            "metadata_columns_removed": list(self.columns_removed),
        }


def metadata_columns(dataset: Dataset) -> list[str]:
    """Return the metadata columns a dataset version covers, in name order.

    With a metadata file: every column except the id and the tag columns
    (tags are covered by their own part). Without one, the metadata are the
    attributes read from the predictions file, so its labels, predictions and
    scores stay out of the version.
    """
    columns = [name for name, _type in dataset.engine.columns("m") if name != dataset.metadata_key]
    if dataset.config.metadata is None:
        chosen = [attribute.name for attribute in dataset.attributes]
        return sorted(name for name in chosen if name in columns)
    excluded = {_metadata_id(dataset, columns)}
    excluded |= {tag.name for tag in dataset.tags_from_files if tag.origin == "column"}
    if dataset.config.tag_list_column:
        excluded.add(find_column(columns, dataset.config.tag_list_column))
    return sorted(name for name in columns if name not in excluded)


def _metadata_id(dataset: Dataset, columns: list[str]) -> str | None:
    candidates = [dataset.id_column]
    if dataset.config.id_column is None:
        candidates += list(COLUMN_ALIASES["id"])
    for candidate in candidates:
        found = find_column(columns, candidate)
        if found is not None:
            return found
    return None


def snapshot_sql(dataset: Dataset) -> tuple[str, list[object], list[str]]:
    """Return the query of the per-example hashes of labels, metadata and tags, its parameters and the metadata columns covered.

    The query has the columns of :data:`SNAPSHOT_COLUMNS`, one row per analysed example.
    """
    columns = metadata_columns(dataset)
    types = dict(dataset.engine.columns("m"))
    example_id = "CAST(e.id AS VARCHAR)"
    label = "e.label" if dataset.mode == MODE_CLASSIFICATION else "CAST(NULL AS VARCHAR)"
    # NOTE: a date or time column is canonicalised as DuckDB reads it, so a CSV column
    # detected as TIMESTAMP and the same values stored as text in Parquet can hash differently.
    values = [f"md.v{index}" for index in range(len(columns))]
    canonical = [f"{class_text(name, types[name])} AS v{index}" for index, name in enumerate(columns)]
    metadata = f"(SELECT {', '.join([f'{quote_ident(dataset.metadata_key)} AS snapshot_key', *canonical])} FROM m) AS md"
    carried = [f"CASE WHEN e.{tag.alias} THEN ? END" for tag in dataset.tags]
    params: list[object] = [tag.name for tag in dataset.tags]
    tag_list = f"list_sort(list_filter([{', '.join(carried)}]::VARCHAR[], lambda x: x IS NOT NULL))" if carried else "[]::VARCHAR[]"
    sql = (
        f"SELECT {example_id} AS example_id, "
        f"{row_hash(f'to_json([{example_id}, {label}])')} AS label_hash, "
        f"{row_hash(f'to_json([{example_id}, ' + ', '.join(values or ['NULL']) + ']::VARCHAR[])')} AS metadata_hash, "
        f"{row_hash(f'to_json(list_value({example_id}, CAST(to_json({tag_list}) AS VARCHAR)))')} AS tags_hash "
        f"FROM {dataset.view} AS e LEFT JOIN {metadata} ON e.id = md.snapshot_key"
    )
    return sql, params, columns


def dataset_version(dataset: Dataset) -> DatasetVersion:
    """Compute the dataset version of ``dataset`` (its view, with any workspace tag edits) in one DuckDB pass."""
    sql, params, columns = snapshot_sql(dataset)
    return version_of(dataset.engine, f"({sql})", params, columns)


def version_of(engine: Engine, relation: str, params: list[object], columns: list[str] | tuple[str, ...]) -> DatasetVersion:
    """Return the dataset version of a snapshot ``relation`` (a table name or a parenthesised query with ``params``)."""
    examples, labels, metadata, tags = engine.rows(
        f"SELECT count(*), coalesce(sum(label_hash), 0), coalesce(sum(metadata_hash), 0), coalesce(sum(tags_hash), 0) FROM {relation} AS snapshot",
        params,
    )[0]
    return DatasetVersion(
        version=fingerprint_text("dataset", examples, labels, metadata, tags, *columns),
        labels=fingerprint_text("labels", examples, labels),
        metadata=fingerprint_text("metadata", examples, metadata, *columns),
        tags=fingerprint_text("tags", examples, tags),
        examples=int(examples),
        metadata_columns=tuple(columns),
    )


def snapshot_frame(dataset: Dataset) -> pd.DataFrame:
    """Return the per-example hashes of ``dataset`` (one row per example, to store with a logged run)."""
    sql, params, _columns = snapshot_sql(dataset)
    return dataset.engine.query(sql, params)


def predictions_fingerprint(engine: Engine, relation: str, params: list[object] = ()) -> str:
    """Return the fingerprint of the (id, prediction) text rows of ``relation`` (columns ``id`` and ``prediction``)."""
    rows, total = engine.rows(
        f"SELECT count(*), coalesce(sum({row_hash('to_json([id, prediction])')}), 0) FROM {relation} AS run_rows",
        list(params),
    )[0]
    return fingerprint_text("predictions", rows, total)


def compare_snapshots(engine: Engine, before: str, after: str, columns_before: tuple[str, ...], columns_after: tuple[str, ...]) -> VersionChange:
    """Count the examples added, removed and changed from snapshot ``before`` to ``after`` (table names chosen by the code)."""
    added, removed, labels, metadata, tags = engine.rows(
        f"""SELECT
            count(*) FILTER (WHERE a.example_id IS NULL),
            count(*) FILTER (WHERE b.example_id IS NULL),
            count(*) FILTER (WHERE a.label_hash <> b.label_hash),
            count(*) FILTER (WHERE a.metadata_hash <> b.metadata_hash),
            count(*) FILTER (WHERE a.tags_hash <> b.tags_hash)
        FROM {before} AS a FULL OUTER JOIN {after} AS b ON a.example_id = b.example_id"""
    )[0]
    # A column added or removed changes every example's metadata hash; count only value changes then.
    if set(columns_before) != set(columns_after):
        metadata = 0
    return VersionChange(
        added=int(added),
        removed=int(removed),
        labels=int(labels),
        metadata=int(metadata),
        tags=int(tags),
        columns_added=tuple(sorted(set(columns_after) - set(columns_before))),
        columns_removed=tuple(sorted(set(columns_before) - set(columns_after))),
    )
