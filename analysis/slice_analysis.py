"""Slices and intersections ranked by one chosen metric, each tested against the rest of the data.

A slice is the set of examples matching its predicates: one attribute value
(``race = Caucasian``), or, for an intersection, an attribute value and a
second attribute value or a tag (``race = Caucasian`` and ``sex = Male``).
For each slice the analysis reports the metric with its interval, the gap to
overall, the comparison with the rest of the data (p-value, Benjamini-Hochberg
adjusted p-value over every slice of the analysis, flag; see
:mod:`analysis.significance`) and the smallest gap its support can detect
(:mod:`analysis.power`), with the support a slice would need to detect a gap
of ``[statistics] min_gap`` if more data came in the current proportions.

The gap to overall is measured so that a positive gap means worse: the
slice's error rate, false-positive or false-negative rate minus the overall
one, or the overall recall or precision minus the slice's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from analysis.errors import InputError
from analysis.filters import ExampleFilter, check_keeps_examples
from analysis.i18n import _
from analysis.model import Dataset
from analysis.power import detectable_gap, detectable_gap_sentence, required_support, required_support_sentence
from analysis.slices import ordered_values
from analysis.significance import compare_groups
from analysis.slice_metrics import (
    FALSE_NEGATIVE_RATE,
    FALSE_POSITIVE_RATE,
    GroupCounts,
    MetricSpec,
    count_confusion,
    dataset_classes,
    empty_counts,
    group_counts,
    group_metrics,
    metric_counts,
    positive_class,
)
from analysis.stats import ratio, wilson_interval

ATTRIBUTE = "attribute"
TAG = "tag"
TAG_PREFIX = "tag:"


@dataclass(frozen=True)
class Dimension:
    """An attribute or a tag that splits the examples into slices."""

    kind: str  # ATTRIBUTE or TAG
    name: str
    alias: str

    def predicate(self, value: Any) -> dict[str, Any]:
        if self.kind == TAG:
            return {"tag": self.name, "value": bool(value)}
        return {"attribute": self.name, "value": value}


def resolve_dimension(dataset: Dataset, text: str) -> Dimension:
    """Return the attribute named ``text``, or the tag named ``text`` or ``tag:NAME``; raise InputError for neither."""
    if text.startswith(TAG_PREFIX):
        tag = dataset.tag(text[len(TAG_PREFIX):])
        return Dimension(TAG, tag.name, tag.alias)
    if any(attribute.name == text for attribute in dataset.attributes) or not any(tag.name == text for tag in dataset.tags):
        attribute = dataset.attribute(text)
        return Dimension(ATTRIBUTE, attribute.name, attribute.alias)
    tag = dataset.tag(text)
    return Dimension(TAG, tag.name, tag.alias)


def attribute_dimensions(dataset: Dataset, names: list[str] | None = None) -> list[Dimension]:
    """Return the named attributes, each once (all when ``names`` is empty or None, in the dataset's order)."""
    if names:
        return [Dimension(ATTRIBUTE, a.name, a.alias) for a in (dataset.attribute(name) for name in dict.fromkeys(names))]
    return [Dimension(ATTRIBUTE, a.name, a.alias) for a in dataset.attributes]


@dataclass
class SliceAnalysis:
    """The slices of one analysis, with the overall value of the metric they are compared with."""

    metric: str
    overall: dict[str, Any]
    slices: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "overall": self.overall, "slices": self.slices}


def analyse_slices(
    dataset: Dataset,
    spec: MetricSpec,
    groupings: list[tuple[Dimension, ...]],
    example_filter: ExampleFilter | None = None,
) -> SliceAnalysis:
    """Compute ``spec`` for every slice of every grouping, and test each slice against the rest.

    A grouping of one dimension gives one slice per value; a grouping of two
    gives one slice per pair of values that occurs (an intersection). Every
    slice of every grouping forms one family for the p-value adjustment.
    """
    example_filter = example_filter or ExampleFilter()
    where, params = example_filter.where(dataset)
    classes = dataset_classes(dataset)
    if spec.kind in (FALSE_POSITIVE_RATE, FALSE_NEGATIVE_RATE):
        positive = positive_class(dataset)
    else:
        # Other metrics still report the binary rates of each slice when the task defines them.
        binary = dataset.config.positive_class is not None and len(classes) <= 2
        positive = dataset.config.positive_class if binary else None
    chosen_class = spec.class_name or positive

    found: list[tuple[tuple[Dimension, ...], tuple, GroupCounts]] = []
    overall = empty_counts(classes)
    frames = count_confusion(dataset, [[dimension.alias for dimension in grouping] for grouping in groupings], where, params)
    for index, (grouping, frame) in enumerate(zip(groupings, frames)):
        columns = [f"g{position}" for position in range(len(grouping))]
        per_group = group_counts(frame, classes, columns)
        if index == 0:
            # Each grouping splits the same examples, so the first one's groups add up to all of them.
            for counts in per_group.values():
                overall = overall + counts
        order = _value_order(dataset, grouping)
        found += [(grouping, values, counts) for values, counts in sorted(per_group.items(), key=lambda item: order(item[0]))]

    check_keeps_examples(example_filter, overall.n)
    overall_counts = metric_counts(spec, overall, positive)
    overall_value = ratio(overall_counts.hits, overall_counts.support)
    overall_bad_rate = ratio(overall_counts.bad, overall_counts.support)
    low, high = wilson_interval(overall_counts.hits, overall_counts.support, dataset.config.confidence_level)
    overall_row = {"support": overall_counts.support, "value": overall_value, "ci_low": low, "ci_high": high}

    per_slice = [metric_counts(spec, counts, positive) for _grouping, _values, counts in found]
    tested = compare_groups([(m.bad, m.support) for m in per_slice], overall_counts.bad, overall_counts.support, dataset.config)
    rows = []
    for (grouping, values, counts), measured, significance in zip(found, per_slice, tested):
        rows.append(
            _slice_row(dataset, grouping, values, counts, measured, significance, overall_counts, overall_bad_rate, chosen_class, positive)
        )
    return SliceAnalysis(spec.name, overall_row, rows)


def _value_order(dataset: Dataset, grouping: tuple[Dimension, ...]):
    """Return a sort key for the value tuples of ``grouping``: attribute values in the order of the slice tables.

    Tag values sort with the examples carrying the tag first.
    """
    positions = []
    for dimension in grouping:
        values: list[str] = []
        if dimension.kind == ATTRIBUTE:
            attribute = dataset.attribute(dimension.name)
            values = ordered_values(attribute, dataset.counts.slices[attribute.alias])
        positions.append({value: index for index, value in enumerate(values)})

    def key(values: tuple) -> tuple:
        parts = []
        for dimension, known, value in zip(grouping, positions, values):
            if dimension.kind == TAG:
                parts.append((0, not value, ""))
            else:
                parts.append((known.get(value, len(known)), False, str(value)))
        return tuple(parts)

    return key


def _slice_row(dataset, grouping, values, counts, measured, significance, overall_counts, overall_bad_rate, chosen_class, positive) -> dict[str, Any]:
    config = dataset.config
    notes: dict[str, str] = {}
    value = ratio(measured.hits, measured.support)
    low, high = wilson_interval(measured.hits, measured.support, config.confidence_level)
    gap = ratio(measured.bad, measured.support) - overall_bad_rate
    if measured.support == 0:
        reason = _("Undefined (n = 0): the slice has no example in the metric's support.")
        for key in ("value", "ci_low", "ci_high", "gap_to_overall"):
            notes[key] = reason
    if significance.reason is not None:
        for key in ("p_value", "test", "p_adjusted"):
            notes[key] = significance.reason

    rest = overall_counts.support - measured.support
    detectable = detectable_gap(measured.support, rest, overall_bad_rate, config.alpha, config.power)
    if math.isnan(detectable):
        notes["detectable_gap"] = _("No gap of this metric can be detected with this support against the rest of the data.")
    needed = required_support(config.min_gap, ratio(rest, measured.support), overall_bad_rate, config.alpha, config.power)
    if math.isnan(needed):
        notes["support_needed"] = _("Undefined: the slice is empty, or the overall rate plus min_gap goes beyond 100%.")
    metrics, reasons = group_metrics(counts, config, chosen_class, positive)
    for name, reason in reasons.items():
        notes[f"metrics.{name}"] = reason

    return {
        "predicates": [dimension.predicate(item) for dimension, item in zip(grouping, values)],
        "support": measured.support,
        "examples": counts.n,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "gap_to_overall": gap,
        **significance.as_dict(),
        "below_min_support": measured.support < config.min_support,
        "detectable_gap": detectable,
        "support_needed": needed,
        "guidance": [detectable_gap_sentence(measured.support, detectable), required_support_sentence(config.min_gap, needed)],
        "metrics": metrics,
        "notes": notes,
    }


def to_json(value: Any) -> Any:
    """Replace NaN with None, recursively, for strict JSON; each row's ``notes`` gives the reason a value is null."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def slice_groupings(dataset: Dataset, attributes: list[str], by: str | None) -> list[tuple[Dimension, ...]]:
    """Return the groupings of the slices command: each attribute alone, or crossed with ``by``.

    Without ``attributes`` every attribute is used, except ``by`` itself.
    """
    chosen = attribute_dimensions(dataset, attributes)
    if by is None:
        if not chosen:
            raise InputError(_("The dataset has no attribute to slice by."), _("Add a metadata file with attribute columns (--metadata)."))
        return [(dimension,) for dimension in chosen]
    second = resolve_dimension(dataset, by)
    crossed = [dimension for dimension in chosen if dimension != second]
    if not crossed:
        raise InputError(
            _("No attribute to cross with '{name}'.", name=by),
            _("Name a different attribute with --attribute."),
        )
    return [(dimension, second) for dimension in crossed]


def _severity(row: dict[str, Any]) -> tuple:
    """Sort key putting flagged slices first, then larger gaps to overall, undefined gaps last."""
    gap = row["gap_to_overall"]
    return (not row["flagged"], math.isnan(gap), -gap if not math.isnan(gap) else 0.0)


def slices_report(dataset: Dataset, analysis: SliceAnalysis, example_filter: ExampleFilter, top: int | None = None) -> dict[str, Any]:
    """Return the JSON-ready report of the slices command: settings, overall value and slices, worst first."""
    config = dataset.config
    rows = sorted(analysis.slices, key=_severity)
    shown = rows[:top] if top is not None else rows
    return to_json(
        {
            "dataset": config.display_name,
            "metric": analysis.metric,
            "filter": {**example_filter.as_dict(), "description": example_filter.describe()},
            "settings": {
                "confidence_level": config.confidence_level,
                "fdr_q": config.fdr_q,
                "min_gap": config.min_gap,
                "min_support": config.min_support,
                "alpha": config.alpha,
                "power": config.power,
                "bootstrap_samples": config.bootstrap_samples,
                "seed": config.seed,
            },
            "overall": analysis.overall,
            "slices_tested": len(rows),
            "slices": shown,
        }
    )


def intersection_table(
    dataset: Dataset, spec: MetricSpec, first: Dimension, second: Dimension, example_filter: ExampleFilter | None = None
) -> list[dict[str, Any]]:
    """Return one JSON-ready cell per pair of values of ``first`` and ``second`` that occurs, tested against the rest.

    The p-values are adjusted over the cells of this table only.
    """
    analysis = analyse_slices(dataset, spec, [(first, second)], example_filter)
    return to_json(analysis.slices)
