"""The performance audit: the checks of ``[audit]`` run on the opened dataset.

Every check gives one outcome per checked group (an attribute value, a
slice, or all examples under the audit's filter), or, for a fairness measure,
one outcome per class. An outcome is ``pass``, ``fail`` or
``not_enough_data``: a group whose support (the metric's denominator) is
below ``min_support`` is never passed or failed. A check fails when any of
its outcomes fails.

Rates are compared by their point value; the Wilson interval is reported as
evidence. F1, which is not a proportion, gets the bootstrap interval of
:mod:`analysis.slice_metrics`.

When a ``ratio_to_reference`` check names no reference group, the group
with the most examples is the reference, as in Aequitas
(``Bias.get_disparity_major_group``). A tie goes to the value first in text
order.

Fairness measures follow Fairlearn's definitions over the groups with enough
support. The demographic parity difference is the largest minus the smallest
selection rate, and its ratio the smallest over the largest. The equalized
odds difference is the larger of the true-positive-rate and
false-positive-rate differences, and its ratio the smaller of the two ratios. A binary task measures them for its
positive class; a multi-class task one class against the rest, for the class
named by ``class`` or for every class.

All counting is one GROUP BY GROUPING SETS query of
:func:`analysis.slice_metrics.count_confusion`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.audit_spec import (
    AT_LEAST,
    AT_LEAST_OVERALL_MINUS,
    AT_MOST_OVERALL_PLUS,
    BLOCKING,
    CLASS_METRICS,
    FAIRNESS_MEASURES,
    MIN_MAX_RATIO,
    RATIO_TO_REFERENCE,
    AuditCheck,
    AuditSpec,
)
from analysis.errors import AnalysisError, ConfigError
from analysis.filters import ExampleFilter, check_keeps_examples, parse_condition, parse_filter
from analysis.i18n import _, fill, format_percent, ngettext
from analysis.model import Dataset
from analysis.slice_metrics import (
    GroupCounts,
    MetricSpec,
    binary_confusion,
    bootstrap_interval,
    count_confusion,
    dataset_classes,
    empty_counts,
    f1_scores,
    group_counts,
    metric_counts,
)
from analysis.stats import ratio, wilson_interval

PASS = "pass"
FAIL = "fail"
NOT_ENOUGH_DATA = "not_enough_data"

# Outcome group of a check measured on all examples under the audit's filter.
ALL_EXAMPLES = "(all)"


@dataclass
class Outcome:
    """One compared value of a check: a group's metric, or a class's fairness measure."""

    group: str | None
    class_name: str | None
    status: str
    value: float
    ci_low: float
    ci_high: float
    support: int
    # The bound compared with: a number, or [low, high] for ratio_to_reference.
    threshold: float | list[float] | None
    # For ratio rules, the compared value: the group's value over the reference (or largest) value.
    ratio: float | None = None
    # How far inside the threshold the compared value lies, negative outside it, None without enough data.
    margin: float | None = None
    # Fairness measures: the rates of every group the measure is computed from.
    groups: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "class": self.class_name,
            "status": self.status,
            "value": _finite(self.value),
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "support": self.support,
            "threshold": self.threshold,
            "ratio": _finite(self.ratio),
            "margin": _finite(self.margin),
            **({"groups": self.groups} if self.groups else {}),
        }


@dataclass
class CheckResult:
    check: AuditCheck
    outcomes: list[Outcome]
    reference: str | None = None
    reference_value: float | None = None

    @property
    def status(self) -> str:
        statuses = {outcome.status for outcome in self.outcomes}
        if FAIL in statuses:
            return FAIL
        return PASS if PASS in statuses else NOT_ENOUGH_DATA

    @property
    def worst(self) -> Outcome | None:
        """Return the outcome furthest outside (or closest to) its threshold, or the first when none was compared."""
        compared = [outcome for outcome in self.outcomes if outcome.margin is not None]
        if compared:
            return min(compared, key=lambda outcome: outcome.margin)
        return self.outcomes[0] if self.outcomes else None

    def as_dict(self) -> dict:
        worst = self.worst
        return {
            "index": self.check.index,
            "name": self.check.name,
            "metric": self.check.metric,
            "rule": self.check.rule,
            "attribute": self.check.attribute,
            "slice": self.check.slice,
            "class": self.check.class_name,
            "reference": self.reference,
            "reference_value": _finite(self.reference_value),
            "severity": self.check.severity,
            "status": self.status,
            "worst": worst.as_dict() if worst is not None else None,
            "outcomes": [outcome.as_dict() for outcome in self.outcomes],
        }


@dataclass
class AuditResult:
    checks: list[CheckResult]
    min_support: int
    example_filter: ExampleFilter
    examples: int

    @property
    def passed(self) -> bool:
        """True when no blocking check fails, whatever the warnings."""
        return not any(result.status == FAIL and result.check.severity == BLOCKING for result in self.checks)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "min_support": self.min_support,
            "examples": self.examples,
            "filter": {**self.example_filter.as_dict(), "description": self.example_filter.describe()},
            "checks": [result.as_dict() for result in self.checks],
        }


def _finite(value: float | None) -> float | None:
    """Return ``value``, or None where JSON has no number (undefined or infinite)."""
    return None if value is None or not math.isfinite(value) else float(value)


# ---------------------------------------------------------------- running


def run_audit(dataset: Dataset, spec: AuditSpec, keep: Sequence[str] = (), exclude: Sequence[str] = ()) -> AuditResult:
    """Run every check of ``spec`` on ``dataset`` under the spec's filter plus ``keep`` and ``exclude``."""
    origin = dataset.config.source or _("the dataset file")
    example_filter = parse_filter(dataset, [*spec.keep, *keep], [*spec.exclude, *exclude])
    min_support = spec.min_support if spec.min_support is not None else dataset.config.min_support
    classes = dataset_classes(dataset)

    context = _Context(dataset, classes, min_support, origin)
    for check in spec.checks:
        context.check_metric_fits(check)

    # Every attribute a check needs, counted in one scan together with all examples.
    needed = [_attribute_of(check, dataset, origin) for check in spec.checks]
    attributes = list(dict.fromkeys(name for name in needed if name is not None))
    aliases = [dataset.attribute(name).alias for name in attributes]
    where, params = example_filter.where(dataset)
    frames = count_confusion(dataset, [[], *[[alias] for alias in aliases]], where, params)
    context.overall = group_counts(frames[0], classes, []).get((), empty_counts(classes))
    context.by_attribute = {
        name: {values[0]: counts for values, counts in group_counts(frame, classes, ["g0"]).items() if values[0] is not None}
        for name, frame in zip(attributes, frames[1:])
    }
    check_keeps_examples(example_filter, context.overall.n)
    results = [context.run(check) for check in spec.checks]
    return AuditResult(results, min_support, example_filter, context.overall.n)


def _attribute_of(check: AuditCheck, dataset: Dataset, origin) -> str | None:
    """Return the attribute whose groups the check compares or whose value it slices, after checking it exists."""
    if check.slice is not None:
        condition = _slice_condition(check, dataset, origin)
        return condition.name
    if check.attribute is not None and not any(attribute.name == check.attribute for attribute in dataset.attributes):
        raise _check_error(
            check,
            origin,
            "attribute",
            check.attribute,
            _("Use one of: {names}.", names=", ".join(a.name for a in dataset.attributes) or _("none")),
        )
    return check.attribute


def _slice_condition(check: AuditCheck, dataset: Dataset, origin):
    try:
        return parse_condition(dataset, check.slice)
    except AnalysisError as error:  # The message names the check that the slice belongs to.
        raise _check_error(check, origin, "slice", check.slice, str(error)) from error


def _check_error(check: AuditCheck, origin, key: str, value: str, hint: str) -> ConfigError:
    return ConfigError(
        _("In {file}, audit {check}: {key} = {value!r} does not fit this dataset.", file=origin, check=check.label, key=key, value=value),
        hint,
    )


def _missing_class(check: AuditCheck, origin, hint: str) -> ConfigError:
    return ConfigError(_("In {file}, audit {check}: the key 'class' is missing.", file=origin, check=check.label), hint)


@dataclass
class _Context:
    dataset: Dataset
    classes: list[str]
    min_support: int
    origin: object
    # Counts under the audit's filter: all examples, and per value of each attribute a check needs.
    overall: GroupCounts | None = None
    by_attribute: dict[str, dict[str, GroupCounts]] = field(default_factory=dict)

    def run(self, check: AuditCheck) -> CheckResult:
        if check.metric in FAIRNESS_MEASURES:
            groups = self.by_attribute[check.attribute]
            return CheckResult(check, [self._fairness(check, class_name, groups) for class_name in self._fairness_classes(check)])
        class_name = self._metric_class(check)
        if check.attribute is not None:
            groups = self.by_attribute[check.attribute]
        elif check.slice is not None:
            condition = _slice_condition(check, self.dataset, self.origin)
            groups = {check.slice: self.by_attribute[condition.name].get(condition.value, empty_counts(self.classes))}
        else:
            groups = {ALL_EXAMPLES: self.overall}
        measured = {name: self._measure(check.metric, counts, class_name) for name, counts in sorted(groups.items())}
        outcomes, reference = self._compare(check, measured, groups, class_name)
        return CheckResult(check, outcomes, reference, measured[reference][0] if reference is not None else None)

    # ---------------------------------------------------------------- classes

    def check_metric_fits(self, check: AuditCheck) -> None:
        if not self.dataset.has_classes and check.metric not in ("accuracy", "error_rate"):
            raise _check_error(
                check,
                self.origin,
                "metric",
                check.metric,
                _("This dataset is in {mode} mode, without labels and predictions: use accuracy or error_rate.", mode=self.dataset.mode),
            )
        if check.class_name is not None and check.class_name not in self.classes:
            raise _check_error(check, self.origin, "class", check.class_name, _("Use one of: {classes}.", classes=", ".join(self.classes)))

    def _metric_class(self, check: AuditCheck) -> str | None:
        """Return the class of a per-class metric: the one named, else the positive class of a binary task."""
        if check.metric not in CLASS_METRICS:
            return None
        if check.class_name is not None:
            return check.class_name
        return self._positive_class(check)

    def _positive_class(self, check: AuditCheck) -> str:
        positive = self.dataset.config.positive_class
        if len(self.classes) > 2:
            raise _missing_class(
                check,
                self.origin,
                _("{metric} of a task with {count} classes needs class = \"NAME\"; classes: {classes}.", metric=check.metric, count=len(self.classes), classes=", ".join(self.classes)),
            )
        if positive is None or positive not in self.classes:
            raise _missing_class(
                check,
                self.origin,
                _("Set positive_class under [task], or class = \"NAME\" in the check; classes: {classes}.", classes=", ".join(self.classes)),
            )
        return positive

    def _fairness_classes(self, check: AuditCheck) -> list[str]:
        if check.class_name is not None:
            return [check.class_name]
        if len(self.classes) <= 2:
            return [self._positive_class(check)]
        return list(self.classes)

    # ---------------------------------------------------------------- one group's value

    def _measure(self, metric: str, counts: GroupCounts, class_name: str | None) -> tuple[float, float, float, int]:
        """Return value, interval bounds and support of ``metric`` in one group."""
        level = self.dataset.config.confidence_level
        if metric == "f1":
            position = counts.classes.index(class_name)
            true_positives = int(counts.matrix[position, position])
            support = int(counts.matrix[position, :].sum() + counts.matrix[:, position].sum())
            config = self.dataset.config
            low, high = bootstrap_interval(counts.matrix, lambda draws: f1_scores(draws, position), config.bootstrap_samples, config.seed, level)
            return ratio(2 * true_positives, support), low, high, support
        hits, support = self._hits(metric, counts, class_name)
        low, high = wilson_interval(hits, support, level)
        return ratio(hits, support), low, high, support

    @staticmethod
    def _hits(metric: str, counts: GroupCounts, class_name: str | None) -> tuple[int, int]:
        if metric == "accuracy":
            return counts.n - counts.errors, counts.n
        if metric == "error_rate":
            return counts.errors, counts.n
        if metric == "selection_rate":
            confusion = binary_confusion(counts, class_name)
            return confusion["tp"] + confusion["fp"], counts.n
        # recall, precision, fpr, fnr: one class against the rest.
        found = metric_counts(MetricSpec(metric, class_name), counts, positive=class_name)
        return found.hits, found.support

    # ---------------------------------------------------------------- rules

    def _compare(self, check: AuditCheck, measured: dict, groups: dict, class_name: str | None) -> tuple[list[Outcome], str | None]:
        enough = {name for name, (_value, _low, _high, support) in measured.items() if support >= self.min_support}
        reference = None
        if check.rule == RATIO_TO_REFERENCE:
            reference = self._reference(check, groups)
            base = measured[reference][0] if reference in enough else math.nan
        elif check.rule == MIN_MAX_RATIO:
            base = max((measured[name][0] for name in enough), default=math.nan)
        elif check.rule in (AT_LEAST_OVERALL_MINUS, AT_MOST_OVERALL_PLUS):
            overall_value = self._measure(check.metric, self.overall, class_name)[0]
            base = overall_value - check.threshold if check.rule == AT_LEAST_OVERALL_MINUS else overall_value + check.threshold
        else:
            base = check.threshold

        outcomes = []
        for name, (value, low, high, support) in measured.items():
            outcome = Outcome(name, class_name, NOT_ENOUGH_DATA, value, low, high, support, None)
            if check.rule in (RATIO_TO_REFERENCE, MIN_MAX_RATIO):
                outcome.threshold = list(check.threshold) if check.rule == RATIO_TO_REFERENCE else check.threshold
                if name in enough and not math.isnan(base):
                    outcome.ratio = _ratio_of(value, base)
                    outcome.margin = _band_margin(outcome.ratio, check.threshold) if check.rule == RATIO_TO_REFERENCE else outcome.ratio - check.threshold
            else:
                outcome.threshold = base
                if name in enough:
                    at_least = check.rule in (AT_LEAST, AT_LEAST_OVERALL_MINUS)
                    outcome.margin = value - base if at_least else base - value
            if outcome.margin is not None:
                outcome.status = PASS if outcome.margin >= -1e-12 else FAIL
            outcomes.append(outcome)
        return outcomes, reference

    def _reference(self, check: AuditCheck, groups: dict[str, GroupCounts]) -> str:
        if check.reference is not None:
            if check.reference not in groups:
                raise _check_error(
                    check,
                    self.origin,
                    "reference",
                    check.reference,
                    _("Use a value of '{attribute}' with examples under the audit's filter: {values}.", attribute=check.attribute, values=", ".join(sorted(groups))),
                )
            return check.reference
        # The largest group, and on a tie the value first in text order.
        return min(groups, key=lambda name: (-groups[name].n, name))

    # ---------------------------------------------------------------- fairness measures

    def _fairness(self, check: AuditCheck, class_name: str, groups: dict[str, GroupCounts]) -> Outcome:
        level = self.dataset.config.confidence_level
        demographic = check.metric.startswith("demographic_parity")
        rows = []
        for name, counts in sorted(groups.items()):
            confusion = binary_confusion(counts, class_name)
            if demographic:
                rates = {"selection_rate": (confusion["tp"] + confusion["fp"], counts.n)}
            else:
                rates = {
                    "tpr": (confusion["tp"], confusion["tp"] + confusion["fn"]),
                    "fpr": (confusion["fp"], confusion["fp"] + confusion["tn"]),
                }
            row = {"group": name}
            for rate, (hits, support) in rates.items():
                low, high = wilson_interval(hits, support, level)
                row[rate] = {"value": _finite(ratio(hits, support)), "ci_low": _finite(low), "ci_high": _finite(high), "support": support}
            row["included"] = all(support >= self.min_support for _hits, support in rates.values())
            rows.append(row)

        included = [row for row in rows if row["included"]]
        names = ["selection_rate"] if demographic else ["tpr", "fpr"]
        support = min((row[name]["support"] for row in included for name in names), default=0)
        outcome = Outcome(None, class_name, NOT_ENOUGH_DATA, math.nan, math.nan, math.nan, support, check.threshold, groups=rows)
        if len(included) < 2:
            return outcome
        differences, ratios = [], []
        for name in names:
            values = [row[name]["value"] for row in included]
            differences.append(max(values) - min(values))
            ratios.append(_ratio_of(min(values), max(values)))
        if check.metric.endswith("difference"):
            outcome.value = max(differences)
            outcome.margin = check.threshold - outcome.value
        else:
            outcome.value = min(ratios)
            outcome.margin = outcome.value - check.threshold
        outcome.status = PASS if outcome.margin >= -1e-12 else FAIL
        return outcome


def _ratio_of(value: float, base: float) -> float:
    """Return value / base, with 0 / 0 as 1 (equal rates) and a positive value over 0 as infinity."""
    if base == 0:
        return 1.0 if value == 0 else math.inf
    return value / base


def _band_margin(value: float, band: tuple[float, float]) -> float:
    low, high = band
    return min(value - low, high - value)


# ---------------------------------------------------------------- text


def render_audit(report: dict) -> str:
    """Render the audit as one line per check, then the verdict."""
    lines = []
    if report["filter"]["description"]:
        lines.append(
            ngettext(
                "Filter: {description} ({count} example kept)",
                "Filter: {description} ({count} examples kept)",
                report["examples"],
                description=report["filter"]["description"],
            )
        )
    lines.append(_("Smallest support for a verdict: {count}", count=report["min_support"]))
    lines.append("")
    for check in report["checks"]:
        status = {PASS: _("PASS"), FAIL: _("FAIL"), NOT_ENOUGH_DATA: _("UNDECIDED")}[check["status"]]
        severity = _("blocking") if check["severity"] == BLOCKING else _("warning")
        lines.append(_("{status:<9} [{severity}] {name}: {evidence}", status=status, severity=severity, name=check["name"], evidence=_evidence(check)))
    lines.append("")
    failed = [check for check in report["checks"] if check["status"] == FAIL]
    lines.append(
        _("Audit passed: no blocking check failed ({failed} of {total} checks failed).", failed=len(failed), total=len(report["checks"]))
        if report["passed"]
        else _("Audit failed: {failed} of {total} checks failed, at least one of them blocking.", failed=len(failed), total=len(report["checks"]))
    )
    return "\n".join(lines) + "\n"


def _evidence(check: dict) -> str:
    worst = check["worst"]
    if worst is None:
        return _("no group to check")
    where = worst["group"] if worst["group"] is not None else _("class {label}", label=worst["class"])
    value = _show(worst["value"], percent=check["metric"] not in FAIRNESS_MEASURES)
    if worst["ci_low"] is not None:
        value += " " + _("[{low}, {high}]", low=format_percent(worst["ci_low"]), high=format_percent(worst["ci_high"]))
    threshold = worst["threshold"]
    if isinstance(threshold, list):
        limit = _("ratio to {reference} ({base}) {ratio}, allowed {low:.2f} to {high:.2f}", reference=check["reference"], base=_show(check["reference_value"], True), ratio=_show(worst["ratio"], False), low=threshold[0], high=threshold[1])
    elif check["rule"] == MIN_MAX_RATIO:
        limit = _("ratio to the largest {ratio}, at least {threshold:.2f}", ratio=_show(worst["ratio"], False), threshold=threshold)
    else:
        at_least = check["rule"] in (AT_LEAST, AT_LEAST_OVERALL_MINUS) or check["metric"].endswith("ratio")
        bound = _show(threshold, percent=check["metric"] not in FAIRNESS_MEASURES)
        limit = _("at least {bound}", bound=bound) if at_least else _("at most {bound}", bound=bound)
    line = _("worst {group} {value}, {limit}, support {support}", group=where, value=value, limit=limit, support=worst["support"])
    spread = _spread(worst.get("groups", []))
    return f"{line} ({spread})" if spread else line


def _spread(rows: list[dict]) -> str:
    """Name the groups with the lowest and highest rate behind a fairness measure, for each rate it compares."""
    parts = []
    for rate, title in (("selection_rate", _("selection rate")), ("tpr", _("TPR")), ("fpr", _("FPR"))):
        included = [row for row in rows if row["included"] and rate in row]
        if len(included) < 2:
            continue
        low = min(included, key=lambda row: row[rate]["value"])
        high = max(included, key=lambda row: row[rate]["value"])
        parts.append(
            _(
                "{rate} {low_value} in {low_group} to {high_value} in {high_group}",
                rate=title,
                low_value=format_percent(low[rate]["value"]),
                low_group=low["group"],
                high_value=format_percent(high[rate]["value"]),
                high_group=high["group"],
            )
        )
    return ", ".join(parts)


def _show(value: float | None, percent: bool) -> str:
    if value is None:
        return _("undefined")
    return format_percent(value) if percent else fill("{value:.3f}", value=value)
