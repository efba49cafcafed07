"""Workspace tag edits laid over the tags of the files.

The files are never changed. :func:`apply_tag_edits` defines a second view
beside ``examples``. In it, each tag column is the file value unless the
workspace sets it for that example. Tags renamed or deleted in the workspace
are renamed or left out, and tags created there are added. The opened
dataset it returns reads that view, so every count, page and command sees
the edits. The file values stay available in ``dataset.file_view``.

The view and the table of assignments are named by a digest of the edits,
so datasets with different edits (sessions a rerun apart) can share one
DuckDB connection.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref

import pandas as pd

from analysis.counting import count_examples
from analysis.engine import Engine
from analysis.model import ORIGIN_WORKSPACE, Dataset, Tag
from analysis.workspace import TagEdits

log = logging.getLogger(__name__)

# Per example and tag: where the tag's state comes from.
MARK_FILE = "file"
MARK_ADDED = "added"
MARK_REMOVED = "removed"


def apply_tag_edits(dataset: Dataset, edits: TagEdits) -> Dataset:
    """Return ``dataset`` with the workspace's tag edits laid over its file tags.

    Returns ``dataset`` itself when there are no edits. Assignments to
    examples the dataset does not analyse are kept in the workspace and
    ignored here.
    """
    if not edits:
        return dataset
    digest = edits.digest()
    file_tags = {tag.name: tag for tag in dataset.tags_from_files}
    next_alias = len(file_tags)

    # The shown tags in display order, and each one's value in the files as an
    # expression over the file view ``e``: its own column, its source's column when renamed, or false.
    tags: list[Tag] = []
    expressions: dict[str, str] = {}
    for tag in file_tags.values():
        if tag.name not in edits.hidden:
            tags.append(tag)
            expressions[tag.alias] = f"e.{tag.alias}"
    for name in sorted(edits.names):
        if name in {tag.name for tag in tags}:
            continue
        source = edits.names[name]
        alias = f"t{next_alias}"
        next_alias += 1
        if source is not None and source in file_tags:
            base = file_tags[source]
            tags.append(Tag(name, alias, base.origin, renamed_from=source))
            expressions[alias] = f"e.{base.alias}"
        else:
            tags.append(Tag(name, alias, ORIGIN_WORKSPACE))
            expressions[alias] = "false"

    aliases = {tag.name: tag.alias for tag in tags}
    overrides = _override_table(dataset, edits.assignments, aliases)
    table = f"tag_edits_{digest}"
    joined = bool(len(overrides))
    if joined:
        dataset.engine.create_table(table, overrides)
    overridden = set(overrides.columns) - {"id"}

    columns = []
    for tag in tags:
        expression = expressions[tag.alias]
        if tag.alias in overridden:
            expression = f"coalesce(o.{tag.alias}, {expression})"
        columns.append((tag.alias, expression))
    in_file_view = _file_columns(dataset)
    replaced = [f"{expression} AS {alias}" for alias, expression in columns if alias in in_file_view]
    added = [f"{expression} AS {alias}" for alias, expression in columns if alias not in in_file_view]
    select = "e.*" + (f" REPLACE ({', '.join(replaced)})" if replaced else "")
    select += "".join(f", {column}" for column in added)
    source = f"{dataset.file_view} AS e" + (f" LEFT JOIN {table} AS o ON e.id = o.id" if joined else "")
    view = f"examples_{digest}"
    dataset.engine.create_view(view, f"SELECT {select} FROM {source}")
    _drop_old_overlays(dataset.engine, view, table if joined else None)

    # The HLP file names tags: a hidden file tag's value leaves with it, so a
    # tag created later under that name starts without one, and a renamed tag
    # takes the value of the file tag it shows.
    hlp = {name: value for name, value in dataset.hlp.items() if name not in edits.hidden}
    for tag in tags:
        if tag.renamed_from is not None and tag.renamed_from in dataset.hlp:
            hlp[tag.name] = dataset.hlp[tag.renamed_from]
    overlaid = dataclasses.replace(
        dataset,
        tags=tags,
        hlp=hlp,
        view=view,
        counts=None,
        file_view=dataset.file_view,
        file_tags=dataset.tags_from_files,
    )
    counts = count_examples(overlaid)
    if dataset.counts is not None:
        counts.row_statuses = dict(dataset.counts.row_statuses)
    overlaid.counts = counts
    log.info("Laid %d tag assignments over %s as view %s", len(edits.assignments), dataset.config.display_name, view)
    return overlaid


# Overlays kept per DuckDB connection. Each edit makes a new one, and older ones
# are dropped so that a long tagging session does not pile up tables.
KEPT_OVERLAYS = 16
_overlays: weakref.WeakKeyDictionary[Engine, list[tuple[str, str | None]]] = weakref.WeakKeyDictionary()
_overlays_lock = threading.Lock()


def _drop_old_overlays(engine: Engine, view: str, table: str | None) -> None:
    """Remember the new overlay of ``engine`` and drop those beyond the newest :data:`KEPT_OVERLAYS`."""
    with _overlays_lock:
        made = _overlays.setdefault(engine, [])
        made[:] = [entry for entry in made if entry[0] != view]
        made.append((view, table))
        dropped, made[:] = made[:-KEPT_OVERLAYS], made[-KEPT_OVERLAYS:]
    for old_view, old_table in dropped:
        engine.drop(old_view, "VIEW")
        if old_table is not None:
            engine.drop(old_table, "TABLE")


def _file_columns(dataset: Dataset) -> set[str]:
    """Return the tag columns of the file view (t0, t1, ...), renamed or hidden ones included."""
    return {tag.alias for tag in dataset.tags_from_files}


def _override_table(dataset: Dataset, assignments: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """Pivot the assignments of shown tags into one row per example id and one nullable column per tag alias."""
    kept = assignments[assignments["tag"].isin(aliases)]
    if kept.empty:
        return pd.DataFrame()
    ids = kept["example_id"]
    if _integer_ids(dataset):
        ids = pd.to_numeric(ids, errors="coerce")
        valid = ids.notna() & (ids == ids.round())
        kept, ids = kept[valid], ids[valid].astype("int64")
    frame = pd.DataFrame({"id": ids.to_numpy(), "alias": kept["tag"].map(aliases).to_numpy(), "present": kept["present"].to_numpy()})
    table = frame.pivot(index="id", columns="alias", values="present")
    table = table.astype("boolean").reset_index()
    table.columns = [str(column) for column in table.columns]
    return table


def _integer_ids(dataset: Dataset) -> bool:
    types = dict(dataset.engine.columns(dataset.file_view))
    return types["id"].upper() in {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT"}


def example_tag_marks(dataset: Dataset, edits: TagEdits, example_ids: list[object]) -> dict[str, dict[str, str]]:
    """Return, per example id (as text), each tag whose state the files give or the workspace changed.

    The mark is ``"file"`` for a tag the files give and the workspace keeps,
    ``"added"`` for a tag the workspace adds, ``"removed"`` for a file tag the
    workspace takes away. Only the given examples are read.
    """
    marks: dict[str, dict[str, str]] = {}
    if not example_ids:
        return marks
    shown = {tag.name: tag for tag in dataset.tags}
    file_aliases = {}
    loaded = {tag.name: tag.alias for tag in dataset.tags_from_files}
    for tag in dataset.tags:
        if tag.from_files:
            file_aliases[tag.name] = loaded[tag.renamed_from or tag.name]
    selected = ", ".join(["CAST(id AS VARCHAR) AS id", *(f"{alias} AS {alias}" for alias in sorted(set(file_aliases.values())))])
    frame = dataset.engine.query(
        f"SELECT {selected} FROM {dataset.file_view} WHERE CAST(id AS VARCHAR) IN (SELECT unnest(?))",
        [[str(example_id) for example_id in example_ids]],
    )
    edited = edits.assignments.set_index(["example_id", "tag"])["present"].to_dict() if len(edits.assignments) else {}
    for row in frame.itertuples(index=False):
        example = row.id
        row_marks = {}
        for name in shown:
            in_file = bool(getattr(row, file_aliases[name])) if name in file_aliases else False
            override = edited.get((example, name))
            if override is None:
                if in_file:
                    row_marks[name] = MARK_FILE
            elif override and not in_file:
                row_marks[name] = MARK_ADDED
            elif override:
                row_marks[name] = MARK_FILE
            elif in_file:
                row_marks[name] = MARK_REMOVED
        marks[example] = row_marks
    return marks



def known_example_ids(dataset: Dataset, example_ids: list[str]) -> set[str]:
    """Return those of ``example_ids`` (as text) that are ids of analysed examples."""
    rows = dataset.engine.rows(
        f"SELECT DISTINCT CAST(id AS VARCHAR) FROM {dataset.file_view} WHERE CAST(id AS VARCHAR) IN (SELECT unnest(?))",
        [[str(example_id) for example_id in example_ids]],
    )
    return {row[0] for row in rows}
