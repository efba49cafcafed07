"""The global filter: keep or exclude examples by tag or by attribute value.

A filter is a list of conditions, each naming a tag (``tag:NAME``) or a slice
(``attr:NAME=VALUE``, where VALUE is a slice value such as ``north``,
``(missing)`` or a bin label ``[18, 25)``). The examples that remain are those
that

- carry every kept tag,
- for every attribute with kept values, have one of those values,
- and match no excluded condition.

Kept values of one attribute are alternatives because an example has exactly
one value per attribute; kept tags all apply because an example can carry
several.

The text form (``tag:NAME``, ``attr:NAME=VALUE``) is what the dashboard puts in
the URL and what a command-line option can take, so it is parsed here against
the opened dataset's names, never pasted into SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from analysis.errors import InputError
from analysis.i18n import _
from analysis.model import Dataset
from analysis.slices import ordered_values

KEEP = "keep"
EXCLUDE = "exclude"

TAG_PREFIX = "tag:"
ATTRIBUTE_PREFIX = "attr:"


@dataclass(frozen=True)
class Condition:
    """One tag, or one value of one attribute."""

    kind: str  # "tag" or "attribute"
    name: str
    value: str | None = None  # the slice value; None for a tag

    def as_text(self) -> str:
        if self.kind == "tag":
            return TAG_PREFIX + self.name
        return f"{ATTRIBUTE_PREFIX}{self.name}={self.value}"

    def describe(self) -> str:
        """Return the condition as a reader sees it: ``tag car_noise`` or ``region = north``."""
        if self.kind == "tag":
            return _("tag {tag}", tag=self.name)
        return _("{attribute} = {value}", attribute=self.name, value=self.value)


@dataclass(frozen=True)
class ExampleFilter:
    """The conditions of the global filter; an empty filter keeps every example."""

    keep: tuple[Condition, ...] = field(default_factory=tuple)
    exclude: tuple[Condition, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.keep or self.exclude)

    def where(self, dataset: Dataset) -> tuple[str, tuple]:
        """Return a condition on the ``examples`` view and its bound values.

        Only generated column aliases (``t0``, ``a1``) reach the SQL text; the
        slice values are bound parameters.
        """
        clauses: list[str] = []
        params: list[object] = []
        kept_values: dict[str, list[str]] = defaultdict(list)
        for condition in self.keep:
            if condition.kind == "tag":
                clauses.append(f"{dataset.tag(condition.name).alias}")
            else:
                kept_values[dataset.attribute(condition.name).alias].append(condition.value)
        for alias, values in kept_values.items():
            clauses.append(f"{alias} IN ({', '.join('?' for _value in values)})")
            params.extend(values)
        for condition in self.exclude:
            if condition.kind == "tag":
                clauses.append(f"NOT {dataset.tag(condition.name).alias}")
            else:
                clauses.append(f"{dataset.attribute(condition.name).alias} IS DISTINCT FROM ?")
                params.append(condition.value)
        if not clauses:
            return "true", ()
        return " AND ".join(f"({clause})" for clause in clauses), tuple(params)

    def describe(self) -> str:
        """Return the filter as one sentence for captions and reports; empty when there is no condition."""
        parts = []
        if self.keep:
            parts.append(_("only examples with {conditions}", conditions=", ".join(c.describe() for c in self.keep)))
        if self.exclude:
            parts.append(_("without examples with {conditions}", conditions=", ".join(c.describe() for c in self.exclude)))
        return "; ".join(parts)

    def as_dict(self) -> dict[str, list[str]]:
        return {KEEP: [c.as_text() for c in self.keep], EXCLUDE: [c.as_text() for c in self.exclude]}


def check_keeps_examples(example_filter: ExampleFilter, kept: int) -> None:
    """Raise :class:`~analysis.InputError` when ``example_filter`` is on and keeps none of the examples.

    With no example left every metric is undefined, so the reader learns
    which filter emptied the data and what to change, not a table of blanks.
    """
    if example_filter and kept == 0:
        raise InputError(
            _("The filter keeps no example: {description}.", description=example_filter.describe()),
            _("Remove a condition, or keep other values: kept values of one attribute are alternatives, but kept tags must all be present."),
        )


def filter_choices(dataset: Dataset) -> list[Condition]:
    """Return every condition the dataset offers: each tag, then each value of each attribute.

    Values come from the counts made when the dataset was opened, so every
    choice matches at least one example.
    """
    choices = [Condition("tag", tag.name) for tag in dataset.tags]
    if dataset.counts is None:
        return choices
    for attribute in dataset.attributes:
        # The order of the slice tables: bins in numeric order, (other) and (missing) last.
        values = ordered_values(attribute, dataset.counts.slices[attribute.alias])
        choices += [Condition("attribute", attribute.name, str(value)) for value in values]
    return choices


def parse_condition(dataset: Dataset, text: str) -> Condition:
    """Parse ``tag:NAME`` or ``attr:NAME=VALUE`` against the dataset's tags, attributes and slice values.

    Raises :class:`~analysis.InputError` naming the text and the expected form
    when it matches nothing in the dataset.
    """
    if text.startswith(TAG_PREFIX):
        name = text[len(TAG_PREFIX) :]
        if any(tag.name == name for tag in dataset.tags):
            return Condition("tag", name)
        raise InputError(
            _("The filter '{text}' names no tag of this dataset.", text=text),
            _("Known tags: {names}.", names=", ".join(t.name for t in dataset.tags) or _("none")),
        )
    if text.startswith(ATTRIBUTE_PREFIX):
        rest = text[len(ATTRIBUTE_PREFIX) :]
        # Attribute names may contain "=", so the longest known name that the
        # text starts with (followed by "=") wins.
        names = sorted((a.name for a in dataset.attributes if rest.startswith(a.name + "=")), key=len, reverse=True)
        if names:
            name = names[0]
            value = rest[len(name) + 1 :]
            if Condition("attribute", name, value) in filter_choices(dataset):
                return Condition("attribute", name, value)
            raise InputError(
                _("The filter '{text}' names no value of the attribute '{attribute}'.", text=text, attribute=name),
                _("Use one of the slice values the dashboard lists for '{attribute}'.", attribute=name),
            )
        raise InputError(
            _("The filter '{text}' names no attribute of this dataset.", text=text),
            _("Known attributes: {names}.", names=", ".join(a.name for a in dataset.attributes) or _("none")),
        )
    raise InputError(
        _("The filter '{text}' is not understood.", text=text),
        _("Write tag:NAME for a tag or attr:NAME=VALUE for an attribute value."),
    )


def parse_filter(dataset: Dataset, keep: list[str], exclude: list[str]) -> ExampleFilter:
    """Build a filter from text conditions; raises :class:`~analysis.InputError` on the first invalid one."""
    return ExampleFilter(
        keep=tuple(dict.fromkeys(parse_condition(dataset, text) for text in keep)),
        exclude=tuple(dict.fromkeys(parse_condition(dataset, text) for text in exclude)),
    )
