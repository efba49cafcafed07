"""Numbers as the HTML report shows them, and the one plain-language sentence of each report section.

Each sentence function reads rows of the summary (:func:`analysis.summarize`),
of :func:`analysis.priority.priority_list` or of an audit result, and states
what the numbers mean for the product. Nothing here computes a metric: the
sentences only compare numbers the engine computed (a rate with the overall
rate, a gain with the other gains).
"""

from __future__ import annotations

import math
from typing import Any

from analysis.audit import FAIL, NOT_ENOUGH_DATA, AuditResult
from analysis.audit_spec import BLOCKING
from analysis.i18n import _, format_percent, ngettext, percentage_points, pgettext
from analysis.metrics import MAJORITY_MARGIN

# Above this error rate "1 in N" rounds too coarsely, so the sentence gives a percentage.
_ONE_IN_LIMIT = 0.5


# ---------------------------------------------------------------- numbers


def undefined() -> str:
    return _("undefined (n = 0)")


def percent(value: float | None) -> str:
    return undefined() if _missing(value) else format_percent(value)


def count(value: int) -> str:
    return _("{count:,}", count=value)


def points(value: float | None) -> str:
    """Format a difference of fractions in percentage points, with its sign."""
    return undefined() if _missing(value) else _("{value:+.1f} points", value=percentage_points(value))


def interval(low: float | None, high: float | None) -> str:
    if _missing(low) or _missing(high):
        return undefined()
    return _("{low} to {high}", low=format_percent(low), high=format_percent(high))


def p_value(value: float | None) -> str:
    if _missing(value):
        return _("not tested")
    return _("< {value}", value=0.001) if value < 0.001 else _("{value:.3f}", value=value)


def decimal(value: float | None) -> str:
    return undefined() if _missing(value) else _("{value:.3f}", value=value)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def how_often(rate: float, examples: str) -> str:
    """Say how often an event with ``rate`` happens among ``examples``: "1 in 5 examples with car_noise".

    ``examples`` is the translated noun phrase. Rates above one half read as
    a percentage ("62.0% of ..."), because "1 in 2" would hide the difference
    between 50% and 70%.
    """
    if rate <= 0:
        return _("none of the {examples}", examples=examples)
    if rate > _ONE_IN_LIMIT:
        return _("{percent} of the {examples}", percent=format_percent(rate), examples=examples)
    return _("1 in {n:,} {examples}", n=round(1 / rate), examples=examples)


def times_rate(rate: float, overall: float) -> str:
    """Compare ``rate`` with the overall rate: "twice the overall rate", "3.4 times the overall rate"."""
    if overall <= 0:
        return _("while the overall rate is 0")
    factor = rate / overall
    if round(factor, 1) == 2.0:
        return _("twice the overall rate")
    return _("{factor:.1f} times the overall rate", factor=factor)


# ---------------------------------------------------------------- sentences


def overall_sentence(summary: dict[str, Any]) -> str:
    """Say how often the model is wrong and, with classes, how it compares with always answering the majority class."""
    overall = summary["overall"]
    examples = overall["examples"]
    if overall["errors"] == 0:
        return ngettext(
            "The model makes no error on the {count} example analysed.",
            "The model makes no error on the {count} examples analysed.",
            examples,
            count=count(examples),
        )
    # Its own message, because "examples" as a column header reads differently in Vietnamese.
    noun = pgettext("noun in a sentence", "examples")
    wrong = _(
        "The model is wrong on {frequency} ({rate} of {count})",
        frequency=how_often(overall["error_rate"], noun),
        rate=format_percent(overall["error_rate"]),
        count=count(examples),
    )
    imbalance = summary.get("imbalance")
    if imbalance is None:
        return _("{wrong}.", wrong=wrong)
    baseline = imbalance["majority_class_accuracy"]
    gap = overall["accuracy"] - baseline
    if gap <= MAJORITY_MARGIN:
        return _(
            "{wrong}, no better than always answering '{label}' ({baseline}), so accuracy alone hides how poorly it does.",
            wrong=wrong,
            label=imbalance["majority_class"],
            baseline=format_percent(baseline),
        )
    return _(
        "{wrong}, {gap:.1f} points more accurate than always answering '{label}' ({baseline}).",
        wrong=wrong,
        gap=percentage_points(gap),
        label=imbalance["majority_class"],
        baseline=format_percent(baseline),
    )


def classes_sentence(summary: dict[str, Any]) -> str:
    """Name the class with the lowest recall, how many of its examples the model finds, and what it takes them for."""
    classes = summary["classes"]
    matrix = summary["confusion_matrix"]["counts"]
    measured = [(row["recall"], index) for index, row in enumerate(classes) if row["recall"] is not None]
    if not measured:
        return _("No class has a defined recall, because no example carries a label.")
    recall, index = min(measured)
    row = classes[index]
    if recall >= 1:
        return _("The model finds every example of every class.")
    found = matrix[index][index]
    missed = [(value, column) for column, value in enumerate(matrix[index]) if column != index]
    _largest, column = max(missed)
    return _(
        "The weakest class is '{label}', of whose {support} examples the model finds only {found} ({recall}), most often predicting '{other}' instead.",
        label=row["label"],
        support=count(row["support"]),
        found=count(found),
        recall=format_percent(recall),
        other=classes[column]["label"],
    )


def slices_sentence(worst: dict[str, Any], overall_error_rate: float, fdr_q: float, min_gap: float) -> str:
    """Describe the slice furthest above the overall error rate and whether its gap is flagged as real.

    ``fdr_q`` and ``min_gap`` are the flag's settings, used to say why a slice is not flagged.
    """
    where = _("{attribute} = {value}", attribute=worst["column"], value=worst["value"])
    adjusted = p_value(worst["p_adjusted"])
    if worst["flagged"]:
        significance = _("a gap that stays significant after adjusting for every slice and tag tested (adjusted p {p})", p=adjusted)
    elif worst["p_adjusted"] is not None and worst["p_adjusted"] < fdr_q:
        significance = _("a gap unlikely to be chance but smaller than the {gap:.1f} points that count as a finding (adjusted p {p})", gap=100 * min_gap, p=adjusted)
    else:
        significance = _("a gap that may be chance (adjusted p {p})", p=adjusted)
    # Built before the sentence, because the catalog extractor skips a message nested in another's arguments.
    examples = _("examples with {slice}", slice=where)
    return _(
        "The model is wrong on {frequency}, {comparison}, {significance}.",
        frequency=how_often(worst["error_rate"], examples),
        comparison=times_rate(worst["error_rate"], overall_error_rate),
        significance=significance,
    )


def tags_sentence(worst: dict[str, Any], overall_error_rate: float) -> str:
    """Describe the tag with the highest error rate and its share of all errors."""
    examples = _("examples with {tag}", tag=worst["tag"])
    return _(
        "The model is wrong on {frequency}, {comparison}, and these examples carry {errors} of all errors while making up {data} of the data.",
        frequency=how_often(worst["error_rate"], examples),
        comparison=times_rate(worst["error_rate"], overall_error_rate),
        errors=format_percent(worst["share_of_errors"]),
        data=format_percent(worst["share_of_data"]),
    )


def what_if_sentence(best: dict[str, Any], estimate: dict[str, Any], untagged: str) -> str:
    """Name the tag whose fix gains the most and the overall accuracy if every tag reached its HLP.

    ``untagged`` is the name of the group of examples without a tag, which reads as such.
    """
    if best["potential_gain"] is None or best["potential_gain"] <= 0:
        return _("The model already reaches human-level accuracy on every tag with an HLP value, so fixing a tag would add no accuracy.")
    name = _("the untagged examples") if best["tag"] == untagged else best["tag"]
    return _(
        "Bringing {tag} to human-level accuracy ({target}) would add {gain:.1f} points of overall accuracy, the most of any tag, and reaching HLP wherever it is known would raise accuracy from {before} to {after}.",
        tag=name,
        target=format_percent(best["target"]),
        gain=percentage_points(best["potential_gain"]),
        before=format_percent(estimate["accuracy_before"]),
        after=format_percent(estimate["accuracy_after"]),
    )


def audit_sentence(result: AuditResult) -> str:
    """State the audit's verdict and, when it fails, the blocking checks behind it."""
    checks = result.checks
    if all(check.status == NOT_ENOUGH_DATA for check in checks):
        return _(
            "No audit check could be judged, because no checked group reaches the smallest support of {count} examples.",
            count=count(result.min_support),
        )
    blocking = [check.check.name for check in checks if check.status == FAIL and check.check.severity == BLOCKING]
    if blocking:
        return ngettext(
            "The model fails the audit because the blocking check {names} fails.",
            "The model fails the audit because {count} blocking checks fail: {names}.",
            len(blocking),
            names=_quoted(blocking),
        )
    warnings = [check.check.name for check in checks if check.status == FAIL]
    if warnings:
        return ngettext(
            "The model passes the audit, but the warning check {names} fails.",
            "The model passes the audit, but {count} warning checks fail: {names}.",
            len(warnings),
            names=_quoted(warnings),
        )
    return ngettext(
        "The model passes the audit's {count} check on {examples} examples.",
        "The model passes all {count} audit checks on {examples} examples.",
        len(checks),
        examples=count(result.examples),
    )


def _quoted(names: list[str]) -> str:
    return ", ".join(_("'{name}'", name=name) for name in names)
