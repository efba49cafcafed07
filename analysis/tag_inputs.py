"""Reading tags in their three forms (boolean columns, a list column, a long file), flag checks and the HLP file."""

from __future__ import annotations

import logging
import math

from analysis import expressions as ex
from analysis.config import COLUMN_ALIASES, DatasetConfig
from analysis.engine import Engine
from analysis.errors import SHOWN_VALUES, InputError
from analysis.i18n import _
from analysis.model import (
    OVERALL,
    UNTAGGED,
    LoadReport,
    Notice,
    Tag,
)
from analysis.sources import SourceFile, column_list, find_column, open_source
from analysis.sqltext import quote_ident

log = logging.getLogger(__name__)


def tag_columns(config: DatasetConfig, source: SourceFile) -> list[tuple[str, SourceFile]]:
    """Return (column, file) pairs of boolean tag columns: named ones, or ``tag_*`` booleans by default."""
    if config.tag_columns is not None:
        found = []
        for name in config.tag_columns:
            column = find_column(source.columns, name)
            if column is None:
                raise InputError(
                    _("The tag column '{column}' is not in the {file}.", column=name, file=source.label),
                    _("Its columns are: {columns}. Fix the name under [tags] columns in the dataset file or in --tag-cols.", columns=column_list(source)),
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


def list_column_tags(engine: Engine, config: DatasetConfig, source: SourceFile) -> list[str]:
    if config.tag_list_column is None:
        return []
    if not source.has(config.tag_list_column):
        raise InputError(
            _("The tag list column '{column}' is not in the {file}.", column=config.tag_list_column, file=source.label),
            _("Its columns are: {columns}. Fix [tags] list_column in the dataset file or --tag-list-col.", columns=column_list(source)),
        )
    column = quote_ident(find_column(source.columns, config.tag_list_column))
    rows = engine.rows(
        f"SELECT DISTINCT trim(tag) AS tag FROM (SELECT unnest(string_split(CAST({column} AS VARCHAR), ?)) AS tag "
        f"FROM {source.view}) WHERE trim(tag) <> '' ORDER BY 1",
        [config.tag_separator],
    )
    return [row[0] for row in rows]


def read_tags_file(engine: Engine, config: DatasetConfig, id_column: str) -> tuple[list[str], str] | None:
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
            _("Its columns are: {columns}.", columns=column_list(source)),
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


def assign_tag_aliases(tag_sources, list_tags, long_tags) -> list[Tag]:
    """Number the tags ``t0, t1, ...``; a name found in several forms is one tag."""
    tags: dict[str, Tag] = {}
    for name, _source in tag_sources:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "column"))
    for name in list_tags:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "list_column"))
    for name in long_tags[0] if long_tags else []:
        tags.setdefault(name, Tag(name, f"t{len(tags)}", "file"))
    return list(tags.values())


def check_flag_values(engine: Engine, flag_columns: list[tuple[str, SourceFile]], view: str | None) -> None:
    """Reject text flag columns holding values that are neither true nor false."""
    for name, source in flag_columns:
        if source.types[name].upper() == "BOOLEAN" or ex.is_numeric_type(source.types[name]):
            continue
        rows = engine.rows(
            f"SELECT DISTINCT CAST({quote_ident(name)} AS VARCHAR) FROM {view or source.view} WHERE {ex.unrecognised_flag_filter(name)} LIMIT ?",
            [SHOWN_VALUES],
        )
        if rows:
            raise InputError(
                _("The column '{column}' of the {file} holds values that are not true or false, for example {values}.", column=name, file=source.label, values=", ".join(repr(r[0]) for r in rows)),
                _("Write flags as true/false, yes/no or 1/0 (empty means false)."),
            )


def check_numeric_values(engine: Engine, name: str, source: SourceFile) -> None:
    """Reject a score column containing text that is not a number, because TRY_CAST would silently make it missing."""
    if ex.is_numeric_type(source.types[name]):
        return
    column = quote_ident(name)
    rows = engine.rows(
        f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {source.view} "
        f"WHERE trim(CAST({column} AS VARCHAR)) <> '' AND TRY_CAST({column} AS DOUBLE) IS NULL LIMIT ?",
        [SHOWN_VALUES],
    )
    if rows:
        raise InputError(
            _("The column '{column}' of the {file} holds values that are not numbers, for example {values}.", column=name, file=source.label, values=", ".join(repr(r[0]) for r in rows)),
            _("Name the column with the per-example score in [columns] score or --score-col."),
        )


def read_hlp(engine: Engine, config: DatasetConfig, tags: list[Tag], report: LoadReport) -> dict[str, float]:
    """Read the ``tag,hlp`` file; HLP values are accuracies between 0 and 1."""
    if config.hlp_file is None:
        return {}
    source = open_source(engine, config.hlp_file, _("HLP"), "hlp_file", ("tag",))
    tag_column = find_column(source.columns, "tag")
    hlp_column = find_column(source.columns, "hlp")
    if tag_column is None or hlp_column is None:
        raise InputError(
            _("The {file} needs the columns 'tag' and 'hlp'.", file=source.label),
            _("Its columns are: {columns}. Write one row per tag with its human-level accuracy, for example car_noise,0.93.", columns=column_list(source)),
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
