"""Choosing the attribute columns and how each becomes slices: values, top values or quantile bins."""

from __future__ import annotations

import logging
import math

from analysis import expressions as ex
from analysis.config import DatasetConfig
from analysis.engine import Engine
from analysis.errors import InputError
from analysis.i18n import _
from analysis.model import (
    Attribute,
    Notice,
)
from analysis.sources import column_list, find_column
from analysis.sqltext import quote_ident

log = logging.getLogger(__name__)


# Attributes with at most this many values are counted per raw value and folded
# into slices afterwards, which is cheaper than folding every row in SQL.
_MAX_RAW_VALUES = 5_000


def profile_attributes(engine, config, metadata, metadata_id, tag_sources, report) -> list[Attribute]:
    """Choose the attribute columns and how each is sliced (defaults in the README, section "The dataset file")."""
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
                    _("Its columns are: {columns}. The id and tag columns cannot be attributes. Fix the name under [slices] attributes in the dataset file or in --attributes.", columns=column_list(metadata)),
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


def attribute_expression(attribute: Attribute, params: list[object]) -> str:
    if attribute.kind == "top_values":
        params.extend(attribute.bins)
        return ex.top_values(attribute.name, len(attribute.bins))
    if attribute.kind == "quantile_bins":
        expression, labels = ex.quantile_bins(attribute.name, attribute.edges)
        attribute.bins = labels
        return expression
    return ex.attribute_text(attribute.name)
