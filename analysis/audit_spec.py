"""The ``[audit]`` section of the dataset file: the checks a model must pass before it ships.

Each ``[[audit.checks]]`` entry names one metric, where it is measured (the
whole filtered data, every value of one ``attribute``, or one ``slice``) and
one rule. The keys are checked here, when the dataset file is read. Whether
the attribute, slice, class and reference exist is checked when the audit
runs on the opened dataset (:mod:`analysis.audit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import ConfigError
from analysis.i18n import _

BLOCKING = "blocking"
WARNING = "warning"
SEVERITIES = (BLOCKING, WARNING)

# Metrics measured per group: the rates of analysis.slice_metrics, accuracy,
# F1 and the selection rate (share of examples predicted as the class).
GROUP_METRICS = ("accuracy", "error_rate", "recall", "precision", "f1", "fpr", "fnr", "selection_rate")
# Metrics that compare the groups of one attribute in one number.
DIFFERENCE_MEASURES = ("demographic_parity_difference", "equalized_odds_difference")
RATIO_MEASURES = ("demographic_parity_ratio", "equalized_odds_ratio")
FAIRNESS_MEASURES = DIFFERENCE_MEASURES + RATIO_MEASURES
METRICS = GROUP_METRICS + FAIRNESS_MEASURES
# Group metrics that need a class: the positive class of a binary task unless `class` names one.
CLASS_METRICS = ("recall", "precision", "f1", "fpr", "fnr", "selection_rate")

# The rules, of which each check has exactly one.
AT_LEAST = "at_least"
AT_MOST = "at_most"
AT_LEAST_OVERALL_MINUS = "at_least_overall_minus"
AT_MOST_OVERALL_PLUS = "at_most_overall_plus"
RATIO_TO_REFERENCE = "ratio_to_reference"
MIN_MAX_RATIO = "min_max_ratio"
RULES = (AT_LEAST, AT_MOST, AT_LEAST_OVERALL_MINUS, AT_MOST_OVERALL_PLUS, RATIO_TO_REFERENCE, MIN_MAX_RATIO)
# Rules that compare the groups of an attribute with each other.
ATTRIBUTE_RULES = (RATIO_TO_REFERENCE, MIN_MAX_RATIO)

CHECK_KEYS = ("name", "metric", "attribute", "slice", "class", "severity", "reference", *RULES)
AUDIT_KEYS = ("keep", "exclude", "min_support", "checks")


@dataclass(frozen=True)
class AuditCheck:
    """One check of the audit, as written in the dataset file (validated)."""

    index: int
    name: str
    metric: str
    rule: str
    # A number, or (low, high) for ratio_to_reference.
    threshold: float | tuple[float, float]
    attribute: str | None = None
    slice: str | None = None
    class_name: str | None = None
    reference: str | None = None
    severity: str = BLOCKING

    @property
    def label(self) -> str:
        """Return how messages name the check: its position (from 1) and name."""
        return _("check {index} ({name})", index=self.index, name=self.name)


@dataclass(frozen=True)
class AuditSpec:
    """The ``[audit]`` section: a filter on the examples, the smallest support and the checks."""

    keep: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # None: [statistics] min_support.
    min_support: int | None = None
    checks: tuple[AuditCheck, ...] = field(default_factory=tuple)


def parse_audit(section: Any, path: Path) -> AuditSpec:
    """Validate the ``[audit]`` table of the dataset file at ``path`` and return its spec."""
    if not isinstance(section, dict):
        raise ConfigError(
            _("In {file}, 'audit' must be a table ([audit]), got {value!r}.", file=path, value=section),
            _("Write it as a section header followed by its keys."),
        )
    for key in section:
        if key not in AUDIT_KEYS:
            raise ConfigError(
                _("In {file}, unknown key '{key}' in section [audit].", file=path, key=key),
                _("Allowed keys: {allowed}.", allowed=", ".join(sorted(AUDIT_KEYS))),
            )
    filters = {}
    for key in ("keep", "exclude"):
        values = section.get(key, [])
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ConfigError(
                _("In {file}, audit.{key} must be a list of conditions, got {value!r}.", file=path, key=key, value=values),
                _("Write it as a list of strings such as [\"tag:NAME\", \"attr:NAME=VALUE\"], as --keep and --exclude take."),
            )
        filters[key] = tuple(values)
    min_support = section.get("min_support")
    if min_support is not None and (isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 1):
        raise ConfigError(
            _("In {file}, audit.min_support = {value!r} is not allowed.", file=path, value=min_support),
            _("Use a whole number of at least 1, or leave it out to use [statistics] min_support."),
        )
    checks = section.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(check, dict) for check in checks):
        raise ConfigError(
            _("In {file}, audit.checks must be a list of tables, got {value!r}.", file=path, value=checks),
            _("Write each check under its own [[audit.checks]] header."),
        )
    parsed = tuple(_parse_check(check, position, path) for position, check in enumerate(checks, start=1))
    return AuditSpec(keep=filters["keep"], exclude=filters["exclude"], min_support=min_support, checks=parsed)


def _parse_check(table: dict[str, Any], index: int, path: Path) -> AuditCheck:
    given_name = table.get("name")
    name = given_name if isinstance(given_name, str) and given_name else _default_name(table)
    where = _("In {file}, audit check {index} ({name})", file=path, index=index, name=name)

    def fail(key: str, hint: str) -> ConfigError:
        return ConfigError(_("{where}: {key} = {value} is not allowed.", where=where, key=key, value=_toml(table.get(key))), hint)

    for key in table:
        if key not in CHECK_KEYS:
            raise ConfigError(
                _("{where}: unknown key '{key}'.", where=where, key=key),
                _("Allowed keys: {allowed}.", allowed=", ".join(CHECK_KEYS)),
            )
    for key in ("name", "attribute", "slice", "class", "reference"):
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise fail(key, _("Write it as a non-empty string in quotes."))

    metric = table.get("metric")
    if metric not in METRICS:
        if "metric" not in table:
            raise ConfigError(_("{where}: the key 'metric' is missing.", where=where), _("Add metric = one of: {choices}.", choices=", ".join(METRICS)))
        raise fail("metric", _("Use one of: {choices}.", choices=", ".join(METRICS)))

    severity = table.get("severity", BLOCKING)
    if severity not in SEVERITIES:
        raise fail("severity", _("Use \"blocking\" (a failure fails the audit) or \"warning\" (reported only)."))

    if "attribute" in table and "slice" in table:
        raise ConfigError(
            _("{where}: both 'attribute' and 'slice' are set.", where=where),
            _("Use attribute = \"NAME\" to check every value of an attribute, or slice = \"attr:NAME=VALUE\" for one value."),
        )
    if "slice" in table and not table["slice"].startswith("attr:"):
        raise fail("slice", _("Write it as attr:NAME=VALUE, for example slice = \"attr:sex=Female\"."))
    if "class" in table and metric not in CLASS_METRICS + FAIRNESS_MEASURES:
        raise fail("class", _("Leave 'class' out: {metric} is measured over every class.", metric=metric))

    rules = [rule for rule in RULES if rule in table]
    if len(rules) != 1:
        raise ConfigError(
            _("{where}: {count} rules are set ({rules}), but a check has exactly one.", where=where, count=len(rules), rules=", ".join(rules) or _("none")),
            _("Use one of: {choices}.", choices=", ".join(RULES)),
        )
    rule = rules[0]
    threshold = _parse_threshold(table, rule, metric, fail)

    needs_attribute = rule in ATTRIBUTE_RULES or metric in FAIRNESS_MEASURES
    if needs_attribute and "attribute" not in table:
        comparison = metric if metric in FAIRNESS_MEASURES else rule
        raise ConfigError(
            _("{where}: {comparison} compares the groups of an attribute, but no attribute is set.", where=where, comparison=comparison),
            _("Add attribute = \"NAME\", the attribute whose values are the groups."),
        )
    if "reference" in table and rule != RATIO_TO_REFERENCE:
        raise fail("reference", _("Leave 'reference' out, or use it with ratio_to_reference."))

    return AuditCheck(
        index=index,
        name=name,
        metric=metric,
        rule=rule,
        threshold=threshold,
        attribute=table.get("attribute"),
        slice=table.get("slice"),
        class_name=table.get("class"),
        reference=table.get("reference"),
        severity=severity,
    )


def _parse_threshold(table: dict[str, Any], rule: str, metric: str, fail) -> float | tuple[float, float]:
    value = table[rule]
    if metric in FAIRNESS_MEASURES:
        allowed = AT_MOST if metric in DIFFERENCE_MEASURES else AT_LEAST
        if rule != allowed:
            raise fail(rule, _("{metric} takes {allowed} only.", metric=metric, allowed=allowed))
    if rule == RATIO_TO_REFERENCE:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(_is_number(bound) for bound in value)
            or not 0 < value[0] <= value[1]
            or math.isinf(value[1])
        ):
            raise fail(rule, _("Write the lowest and highest allowed ratio, for example [0.8, 1.25]."))
        return (float(value[0]), float(value[1]))
    if not _is_number(value):
        raise fail(rule, _("Write a number, for example 0.8."))
    value = float(value)
    if rule == MIN_MAX_RATIO and not 0 < value <= 1:
        raise fail(rule, _("Use a number above 0 and at most 1, for example 0.8."))
    if rule in (AT_LEAST, AT_MOST) and not 0 <= value <= 1:
        raise fail(rule, _("Write it as a fraction between 0 and 1: 0.8 means 80%."))
    if rule in (AT_LEAST_OVERALL_MINUS, AT_MOST_OVERALL_PLUS) and not 0 <= value < 1:
        raise fail(rule, _("Write the gap as a fraction at least 0 and below 1: 0.05 means 5 points."))
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _default_name(table: dict[str, Any]) -> str:
    """Name a check from its metric, class and groups, as in 'recall of covid by sex'."""
    name = str(table.get("metric", "?"))
    if isinstance(table.get("class"), str):
        name += " " + _("of {label}", label=table["class"])
    if isinstance(table.get("attribute"), str):
        name += " " + _("by {attribute}", attribute=table["attribute"])
    elif isinstance(table.get("slice"), str):
        name += " " + _("on {slice}", slice=table["slice"])
    return name
