"""Pages of examples for browsing: the rows behind a slice, one page at a time.

:func:`example_page` returns the examples kept by the global filter, narrowed
to one slice and to errors when asked, in a stable order: errors first, then
by id. Only generated column aliases (``a0``, ``t1``) reach the SQL text;
slice values, limits and offsets are bound parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.errors import InputError
from analysis.filters import ExampleFilter
from analysis.i18n import _
from analysis.model import Dataset

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
        if number < 1:
            raise InputError(
                _("The {name} must be a whole number of at least 1, got {value}.", name=name, value=number),
                _("Start counting pages at 1."),
            )
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
