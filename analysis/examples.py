"""Pages of examples for browsing: the rows behind a slice, one page at a time.

:func:`example_page` returns the examples kept by the global filter, narrowed
to one slice and to errors when asked, in a stable order: errors first, then
by id. Only generated column aliases (``a0``, ``t1``) reach the SQL text;
slice values, limits and offsets are bound parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import SHOWN_VALUES, InputError
from analysis.filters import ExampleFilter
from analysis.i18n import _
from analysis.metrics import sort_classes
from analysis.model import Dataset
from analysis.slices import ordered_values
from analysis.sqltext import quote_ident
from analysis.workspace import TAG_SEPARATOR

DEFAULT_PAGE_SIZE = 50

# Columns of every page, before the attribute columns.
EXAMPLE_COLUMNS = ("id", "label", "prediction", "score", "is_error", "tags")


@dataclass
class ExamplePage:
    """One page of examples and the number of examples that match in total.

    ``frame`` has the columns of :data:`EXAMPLE_COLUMNS` (``tags`` contains the
    list of tag names each example carries) followed by one column per
    attribute, named by its alias; ``attribute_names`` maps each alias to the
    attribute's name.
    """

    frame: pd.DataFrame
    total: int
    page: int
    page_size: int
    attribute_names: dict[str, str]

    @property
    def pages(self) -> int:
        """Number of pages. An empty selection still has one (empty) page."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first_position(self) -> int:
        """1-based position of the page's first example among all matches, or 0 when the page is empty."""
        return (self.page - 1) * self.page_size + 1 if len(self.frame) else 0

    @property
    def last_position(self) -> int:
        return (self.page - 1) * self.page_size + len(self.frame)


def example_conditions(
    dataset: Dataset,
    example_filter: ExampleFilter | None = None,
    attribute: str | None = None,
    value: str | None = None,
    errors_only: bool = False,
) -> tuple[str, tuple]:
    """Return the condition on the ``examples`` view for the filter, a slice and errors only, with its bound values.

    ``attribute`` and ``value`` go together: the slice ``attribute = value``.
    Raises :class:`~analysis.InputError` for an unknown attribute, or when only
    one of the two is given.
    """
    if (attribute is None) != (value is None):
        raise InputError(
            _("A slice needs both an attribute and a value, got attribute {attribute!r} and value {value!r}.", attribute=attribute, value=value),
            _("Give both, or neither to browse every example."),
        )
    condition, params = (example_filter or ExampleFilter()).where(dataset)
    clauses = [f"({condition})"]
    values = list(params)
    if attribute is not None:
        clauses.append(f"{dataset.attribute(attribute).alias} = ?")
        values.append(value)
    if errors_only:
        clauses.append("is_error")
    return " AND ".join(clauses), tuple(values)


def example_page(
    dataset: Dataset,
    example_filter: ExampleFilter | None = None,
    attribute: str | None = None,
    value: str | None = None,
    errors_only: bool = False,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> ExamplePage:
    """Return page ``page`` (from 1) of the examples matching the filter, the slice and errors only.

    Examples are ordered errors first, then by id: numeric ids as numbers,
    text ids by code point, so "10004" comes before "1001". Ids are unique,
    so the order is total and pages never overlap. A page past the last one is
    empty, and ``total`` still counts every match. Raises
    :class:`~analysis.InputError` when ``page`` or ``page_size`` is below 1.
    """
    for name, number in (("page", page), ("page_size", page_size)):
        _check_page_number(name, number)
    where, params = example_conditions(dataset, example_filter, attribute, value, errors_only)

    total = int(dataset.engine.rows(f"SELECT CAST(count(*) AS BIGINT) FROM {dataset.view} WHERE {where}", params)[0][0])

    attribute_aliases = [a.alias for a in dataset.attributes]
    tag_aliases = [t.alias for t in dataset.tags]
    selected = ", ".join(["id", "label", "prediction", "score", "is_error", *attribute_aliases, *tag_aliases])
    frame = dataset.engine.query(
        f"SELECT {selected} FROM {dataset.view} WHERE {where} ORDER BY is_error DESC, id LIMIT ? OFFSET ?",
        (*params, page_size, (page - 1) * page_size),
    )

    # A page has at most page_size rows, so building the tag lists in pandas stays cheap.
    tag_names = [t.name for t in dataset.tags]
    flags = frame[tag_aliases].to_numpy(dtype=bool) if tag_aliases else None
    frame["tags"] = [
        [name for name, carried in zip(tag_names, flags[row]) if carried] if flags is not None else []
        for row in range(len(frame))
    ]
    frame["is_error"] = frame["is_error"].astype(bool)
    frame = frame[[*EXAMPLE_COLUMNS, *attribute_aliases]]
    return ExamplePage(
        frame=frame,
        total=total,
        page=page,
        page_size=page_size,
        attribute_names={a.alias: a.name for a in dataset.attributes},
    )


# Queries of the Examples page ---------------------------------------------------------

OUTCOMES = ("all", "errors", "correct")
SORTS = ("default", "score_asc", "score_desc")

# Suffix of a metadata column whose name is also the name of an outcome column
# (a metadata file often has its own "id" column), so both can be chosen.
METADATA_SUFFIX = " (metadata)"

# Separator of the tag names in an exported tags column, the same as a tag list
# column's default. No tag created in the workspace may contain it.
EXPORT_TAG_SEPARATOR = TAG_SEPARATOR


@dataclass(frozen=True)
class ExampleQuery:
    """The request of the Examples page: an outcome, a (label, prediction) pair, a slice, a tag, a score range, a set of ids, an order and a page.

    Every field is optional, and the default lists every example, errors
    first, then by id. ``value`` is a slice value as the Slices page shows it
    (``north``, ``[18, 25)``, ``(missing)``). Score bounds are inclusive.
    Call :meth:`check` with the opened dataset before running the query.
    """

    outcome: str = "all"
    label: str | None = None
    prediction: str | None = None
    attribute: str | None = None
    value: str | None = None
    tag: str | None = None
    tag_carried: bool = True
    score_min: float | None = None
    score_max: float | None = None
    sort: str = "default"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    # Only these ids (as text), for example the examples one run fixed
    # compared with another (analysis.run_compare.changed_ids); None: no restriction.
    example_ids: tuple[str, ...] | None = None

    def check(self, dataset: Dataset) -> None:
        """Raise :class:`~analysis.InputError` naming the first field that does not fit ``dataset``, and what to do."""
        _check_choice(self.outcome, OUTCOMES, _("outcome"))
        _check_choice(self.sort, SORTS, _("sort order"))
        for name, number in (("page", self.page), ("page_size", self.page_size)):
            _check_page_number(name, number)
        self._check_classes(dataset)
        if (self.attribute is None) != (self.value is None):
            raise InputError(
                _("A slice needs both an attribute and a value, got attribute {attribute!r} and value {value!r}.", attribute=self.attribute, value=self.value),
                _("Give both, or neither to browse every example."),
            )
        if self.attribute is not None:
            values = slice_values(dataset, self.attribute)
            if self.value not in values:
                raise InputError(
                    _("The attribute {attribute} has no slice '{value}'.", attribute=self.attribute, value=self.value),
                    _("Pick one of its slices: {values}.", values=", ".join(values[:SHOWN_VALUES]) + (", …" if len(values) > SHOWN_VALUES else "")),
                )
        if self.tag is not None:
            dataset.tag(self.tag)
        self._check_scores(dataset)

    def _check_classes(self, dataset: Dataset) -> None:
        if self.label is None and self.prediction is None:
            return
        if not dataset.has_classes:
            raise InputError(
                _("This dataset has no classes, so examples cannot be chosen by label or prediction."),
                _("Leave the label and the prediction empty."),
            )
        known = class_names(dataset)
        for role, chosen in ((_("label"), self.label), (_("prediction"), self.prediction)):
            if chosen is not None and chosen not in known:
                raise InputError(
                    _("No example has the class '{value}' (given as the {role}).", value=chosen, role=role),
                    _("Known classes: {names}.", names=", ".join(known[:SHOWN_VALUES * 4])),
                )

    def _check_scores(self, dataset: Dataset) -> None:
        bounds = [bound for bound in (self.score_min, self.score_max) if bound is not None]
        needs_score = bounds or self.sort != "default"
        if needs_score and not dataset.has_score:
            raise InputError(
                _("This dataset has no score column, so examples cannot be chosen or sorted by score."),
                _("Name the score column in the dataset file ([columns] score = ...), or leave the score range and sort empty."),
            )
        for bound in bounds:
            if not math.isfinite(bound):
                raise InputError(_("A score bound must be a finite number, got {value}.", value=bound), _("Type a number such as 0.5."))
        if len(bounds) == 2 and self.score_min > self.score_max:
            raise InputError(
                _("The minimum score {low} is above the maximum score {high}.", low=self.score_min, high=self.score_max),
                _("Swap the two bounds, or clear one of them."),
            )

    def conditions(self, dataset: Dataset, example_filter: ExampleFilter | None = None) -> tuple[str, tuple]:
        """Return the condition on ``dataset.view`` for the global filter and this query, with its bound values.

        Only generated aliases reach the SQL text; classes, slice values and
        score bounds are bound parameters.
        """
        where, params = example_conditions(dataset, example_filter, self.attribute, self.value, self.outcome == "errors")
        clauses = [where]
        values = list(params)
        if self.outcome == "correct":
            clauses.append("NOT is_error")
        for column, chosen in (("label", self.label), ("prediction", self.prediction)):
            if chosen is not None:
                clauses.append(f"{column} = ?")
                values.append(chosen)
        if self.tag is not None:
            alias = dataset.tag(self.tag).alias
            clauses.append(alias if self.tag_carried else f"NOT {alias}")
        if self.example_ids is not None:
            clauses.append("CAST(id AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))")
            values.append(list(self.example_ids))
        if self.score_min is not None:
            clauses.append("score >= ?")
            values.append(self.score_min)
        if self.score_max is not None:
            clauses.append("score <= ?")
            values.append(self.score_max)
        return " AND ".join(clauses), tuple(values)

    def order(self, table: str = "") -> str:
        """Return the ORDER BY list: the chosen score order, else errors first, then by id. Ties are broken by id, so pages never overlap."""
        prefix = f"{table}." if table else ""
        if self.sort == "score_asc":
            return f"{prefix}score ASC NULLS LAST, {prefix}id"
        if self.sort == "score_desc":
            return f"{prefix}score DESC NULLS LAST, {prefix}id"
        return f"{prefix}is_error DESC, {prefix}id"


def matching_ids(dataset: Dataset, example_filter: ExampleFilter | None, query: ExampleQuery) -> list[object]:
    """Return the ids of every example the global filter and ``query`` match, in the query's order (for tagging them all)."""
    query.check(dataset)
    where, params = query.conditions(dataset, example_filter)
    rows = dataset.engine.rows(f"SELECT id FROM {dataset.view} WHERE {where} ORDER BY {query.order()}", params)
    return [row[0] for row in rows]


def _check_choice(chosen: str, allowed: tuple[str, ...], role: str) -> None:
    if chosen not in allowed:
        raise InputError(
            _("Unknown {role} '{value}'.", role=role, value=chosen),
            _("Use one of {names}.", names=", ".join(allowed)),
        )


def _check_page_number(name: str, number: int) -> None:
    if number < 1:
        raise InputError(
            _("The {name} must be a whole number of at least 1, got {value}.", name=name, value=number),
            _("Start counting pages at 1."),
        )


def class_names(dataset: Dataset) -> list[str]:
    """Return the classes found among labels and predictions, in display order."""
    if dataset.classes is not None:
        return list(dataset.classes)
    if dataset.counts is None:
        return []
    confusion = dataset.counts.confusion
    return sort_classes(set(confusion["label"]) | set(confusion["prediction"]))


def slice_values(dataset: Dataset, attribute: str) -> list[str]:
    """Return the slice values of ``attribute`` in the order of the slice tables."""
    found = dataset.attribute(attribute)
    if dataset.counts is None:
        return []
    return [str(value) for value in ordered_values(found, dataset.counts.slices[found.alias])]


# Columns shown next to the outcome ------------------------------------------------------


def metadata_columns(dataset: Dataset) -> list[str]:
    """Return the columns of the metadata file (or of the predictions file without one), without the join key."""
    return [name for name, _type in dataset.engine.columns("m") if name != dataset.metadata_key]


@dataclass(frozen=True)
class ColumnSource:
    """The origin of a column of the example table: ``table`` is ``view`` (the analysed examples) or ``metadata`` (the view ``m``)."""

    table: str
    column: str

    @property
    def is_outcome(self) -> bool:
        return self.table == VIEW_TABLE and self.column in EXAMPLE_COLUMNS


VIEW_TABLE = "view"
METADATA_TABLE = "metadata"
# Prefix of the per-class probability columns, as in the predictions file.
PROBABILITY_PREFIX = "prob_"


def column_choices(dataset: Dataset) -> dict[str, ColumnSource]:
    """Return every column the example table can show, by its key: outcome columns, per-class probabilities, then metadata columns in file order.

    A metadata column whose name is already a key gets :data:`METADATA_SUFFIX`.
    """
    outcome = ["id"]
    if dataset.has_classes:
        outcome += ["label", "prediction"]
    if dataset.has_score:
        outcome.append("score")
    outcome.append("is_error")
    if dataset.tags:
        outcome.append("tags")
    choices = {key: ColumnSource(VIEW_TABLE, key) for key in outcome}
    for class_name, alias in dataset.probabilities.items():
        choices[PROBABILITY_PREFIX + class_name] = ColumnSource(VIEW_TABLE, alias)
    for name in metadata_columns(dataset):
        key = name + METADATA_SUFFIX if name in choices or name in EXAMPLE_COLUMNS else name
        choices[key] = ColumnSource(METADATA_TABLE, name)
    return choices


def default_columns(dataset: Dataset, leading: list[str] | tuple[str, ...] = (), attributes_shown: int = 4) -> list[str]:
    """Return the columns shown by default: the outcome columns, the metadata columns named in ``leading`` (such as images), then the first few attributes."""
    choices = column_choices(dataset)
    chosen = [key for key, source in choices.items() if source.is_outcome]
    metadata = {key: source.column for key, source in choices.items() if source.table == METADATA_TABLE}
    chosen += [key for key, name in metadata.items() if name in leading]
    attribute_names = {attribute.name for attribute in dataset.attributes}
    attributes = [key for key, name in metadata.items() if name in attribute_names and key not in chosen]
    return chosen + attributes[:attributes_shown]


def _chosen_sources(dataset: Dataset, columns: list[str] | tuple[str, ...]) -> dict[str, ColumnSource]:
    """Return the source of each chosen column; raise :class:`~analysis.InputError` for a key that names no column."""
    choices = column_choices(dataset)
    for key in columns:
        if key not in choices:
            raise InputError(
                _("The dataset has no column '{column}'.", column=key),
                _("Pick columns from the list of the example table."),
            )
    return {key: choices[key] for key in columns}


def _extra_select(dataset: Dataset, columns: list[str] | tuple[str, ...], view: str) -> tuple[list[str], dict[str, str]]:
    """Return the select items reading the chosen columns that are not outcome columns as generated aliases, and each alias's column key.

    ``view`` is the name the query gives the analysed examples; the metadata view is ``m``.
    """
    items = []
    keys = {}
    for key, source in _chosen_sources(dataset, columns).items():
        if source.is_outcome:
            continue
        alias = f"c{len(keys)}"
        # Probability aliases (pr0) are generated names; metadata names are the user's and get quoted.
        reference = f"{view}.{source.column}" if source.table == VIEW_TABLE else f"m.{quote_ident(source.column)}"
        items.append(f"{reference} AS {alias}")
        keys[alias] = key
    return items, keys


def find_examples(
    dataset: Dataset,
    example_filter: ExampleFilter | None,
    query: ExampleQuery,
    columns: list[str] | tuple[str, ...] = (),
) -> ExamplePage:
    """Return the page of examples that ``query`` requests, with the chosen metadata columns, and the number of matches.

    The page has the columns of :data:`EXAMPLE_COLUMNS`, then one column per
    other chosen column, named by its key in :func:`column_choices`.
    Metadata columns are read only for the examples of the page, by a join
    on the id. Raises :class:`~analysis.InputError` when the query or a
    column does not fit the dataset.
    """
    query.check(dataset)
    where, params = query.conditions(dataset, example_filter)
    total = int(dataset.engine.rows(f"SELECT CAST(count(*) AS BIGINT) FROM {dataset.view} WHERE {where}", params)[0][0])

    extra, keys = _extra_select(dataset, columns, "page")
    tag_aliases = [t.alias for t in dataset.tags]
    selected = ", ".join(["id", "label", "prediction", "score", "is_error", *tag_aliases, *dataset.probabilities.values()])
    joined = ", ".join(["page.*", *extra])
    # The page is cut before the join, so the metadata file is read for its rows only.
    frame = dataset.engine.query(
        f"WITH page AS (SELECT {selected} FROM {dataset.view} WHERE {where} ORDER BY {query.order()} LIMIT ? OFFSET ?) "
        f"SELECT {joined} FROM page LEFT JOIN m ON page.id = m.{quote_ident(dataset.metadata_key)} "
        f"ORDER BY {query.order('page')}",
        (*params, query.page_size, (query.page - 1) * query.page_size),
    )
    frame = _with_tag_lists(dataset, frame)
    frame = frame[[*EXAMPLE_COLUMNS, *keys]].rename(columns=keys)
    return ExamplePage(frame=frame, total=total, page=query.page, page_size=query.page_size, attribute_names={})


def _with_tag_lists(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """Replace the tag flag columns by one ``tags`` column with the names each example carries; cheap because a page is small."""
    tag_aliases = [t.alias for t in dataset.tags]
    tag_names = [t.name for t in dataset.tags]
    flags = frame[tag_aliases].fillna(False).to_numpy(dtype=bool) if tag_aliases else None
    frame["tags"] = [
        [name for name, carried in zip(tag_names, flags[row]) if carried] if flags is not None else []
        for row in range(len(frame))
    ]
    frame["is_error"] = frame["is_error"].astype(bool)
    return frame.drop(columns=tag_aliases)


def example_detail(dataset: Dataset, example_id: object) -> dict[str, object] | None:
    """Return every column of one example: its outcome, its tags and each metadata column by name, or None when the id is not analysed."""
    tag_aliases = [t.alias for t in dataset.tags]
    selected = ", ".join(["e.id", "e.label", "e.prediction", "e.score", "e.is_error", *(f"e.{alias}" for alias in tag_aliases)])
    metadata = metadata_columns(dataset)
    extra = [f"m.{quote_ident(name)} AS c{index}" for index, name in enumerate(metadata)]
    frame = dataset.engine.query(
        f"SELECT {', '.join([selected, *extra])} FROM {dataset.view} AS e "
        f"LEFT JOIN m ON e.id = m.{quote_ident(dataset.metadata_key)} WHERE e.id = ?",
        (example_id,),
    )
    if frame.empty:
        return None
    frame = _with_tag_lists(dataset, frame)
    row = frame.iloc[0]
    detail = {column: row[column] for column in EXAMPLE_COLUMNS}
    detail["metadata"] = {name: row[f"c{index}"] for index, name in enumerate(metadata)}
    return detail


def export_examples(
    dataset: Dataset,
    example_filter: ExampleFilter | None,
    query: ExampleQuery,
    columns: list[str] | tuple[str, ...],
    path: Path,
    file_format: str,
) -> None:
    """Write every example matching ``query`` (all pages, in its order) with the chosen columns to ``path``.

    ``file_format`` is ``csv`` or ``parquet``. DuckDB writes the file, so
    the rows never pass through pandas. The tags column contains the carried
    tag names joined by :data:`EXPORT_TAG_SEPARATOR`.
    """
    query.check(dataset)
    if file_format not in ("csv", "parquet"):
        raise InputError(_("Unknown export format '{value}'.", value=file_format), _("Use csv or parquet."))
    if not columns:
        raise InputError(_("No column is chosen for the export."), _("Pick at least one column of the example table."))
    where, params = query.conditions(dataset, example_filter)
    items: list[str] = []
    item_params: list[object] = []
    for key, source in _chosen_sources(dataset, columns).items():
        if source.table == METADATA_TABLE:
            items.append(f"m.{quote_ident(source.column)} AS {quote_ident(key)}")
        elif key == "tags":
            carried = ", ".join(f"CASE WHEN e.{tag.alias} THEN ? END" for tag in dataset.tags)
            items.append(f"concat_ws(?, {carried}) AS tags")
            item_params += [EXPORT_TAG_SEPARATOR, *(tag.name for tag in dataset.tags)]
        else:
            items.append(f"e.{source.column} AS {quote_ident(key)}")
    # The filter runs inside the subquery, where no metadata column can shadow an outcome column of the same name.
    sql = (
        f"WITH e AS (SELECT *, row_number() OVER (ORDER BY {query.order()}) AS position FROM {dataset.view} WHERE {where}) "
        f"SELECT {', '.join(items)} FROM e LEFT JOIN m ON e.id = m.{quote_ident(dataset.metadata_key)} ORDER BY e.position"
    )
    dataset.engine.write(sql, (*params, *item_params), path, file_format)
