"""The stakeholder report: one self-contained HTML file with the findings of an opened dataset.

The report has six sections, each opening with one plain-language sentence
of what its numbers mean for the product (see :mod:`analysis.report_text`):

1. overall: examples, accuracy with its interval, errors, majority-class
   accuracy and the imbalance warnings;
2. classes: precision, recall and F1 per class and the confusion matrix;
3. worst slices: the slices furthest above the overall error rate, with
   interval and significance;
4. tags: the error-analysis tag table;
5. what-if: the potential gain of reaching HLP on each tag, ranked;
6. audit: the checklist of the dataset file's ``[audit]`` section and its verdict.

A section that does not apply (no classes, no attributes, no tags, no HLP
value, no ``[audit]`` section) keeps its title and one sentence saying why.
Every number comes from :func:`analysis.summarize`,
:func:`analysis.priority.priority_list` and :func:`analysis.audit.run_audit`
under the same filter and HLP values. The file contains aggregates only,
never one row per example.
"""

from __future__ import annotations

import datetime
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from analysis.audit import FAIL, NOT_ENOUGH_DATA, PASS, CheckResult, run_audit
from analysis.audit_spec import (
    AT_LEAST,
    AT_LEAST_OVERALL_MINUS,
    BLOCKING,
    DIFFERENCE_MEASURES,
    FAIRNESS_MEASURES,
    MIN_MAX_RATIO,
    RATIO_TO_REFERENCE,
    AuditSpec,
)
from analysis.charts import confusion_matrix_figure, slice_error_rate_figure, tag_accuracy_hlp_figure, tag_share_figure
from analysis.errors import AnalysisError
from analysis.filters import ExampleFilter
from analysis.i18n import N_, SOURCE_LANGUAGE, _, ngettext
from analysis.model import MODE_CORRECT_FLAG, MODE_PER_EXAMPLE_SCORE, UNTAGGED, Dataset
from analysis.priority import priority_list
from analysis.report_html import (
    Headline,
    Section,
    Table,
    bullet_list,
    escape,
    figure_html,
    headline,
    number_cell,
    page,
    paragraph,
    text_cell,
)
from analysis.report_text import (
    audit_sentence,
    classes_sentence,
    count,
    decimal,
    interval,
    overall_sentence,
    p_value,
    percent,
    points,
    slices_sentence,
    tags_sentence,
    what_if_sentence,
)
from analysis.stats import wilson_interval
from analysis.summary import summarize

logger = logging.getLogger(__name__)

# Slices listed in the worst-slices section.
WORST_SLICES = 5
# Above this many classes the confusion matrix chart is left out: its cells
# grow with the square of the classes and would dominate the file.
CONFUSION_CHART_MAX_CLASSES = 50

# Section keys: the id of each <section> in the file.
OVERALL_SECTION = "overall"
CLASSES_SECTION = "classes"
SLICES_SECTION = "slices"
TAGS_SECTION = "tags"
WHAT_IF_SECTION = "what-if"
AUDIT_SECTION = "audit"

STATUS_LABELS = {PASS: N_("pass"), FAIL: N_("fail"), NOT_ENOUGH_DATA: N_("not enough data")}


@dataclass
class Report:
    """The report's HTML and its sections, with the problems met while building it."""

    html: str
    sections: list[Section]
    # Messages about parts that could not be computed, such as an audit check
    # that does not fit the dataset. Each is also written in its section.
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sections": [{"key": section.key, "applies": section.applies} for section in self.sections],
            "warnings": self.warnings,
        }


def build_report(
    dataset: Dataset,
    example_filter: ExampleFilter | None = None,
    hlp: dict[str, float] | None = None,
    generated_at: datetime.datetime | None = None,
    language: str = SOURCE_LANGUAGE,
    audit: AuditSpec | None = None,
) -> Report:
    """Build the report of ``dataset`` under ``example_filter``.

    ``hlp`` replaces the HLP values of the dataset's HLP file (values typed
    in the dashboard's workspace), as for :func:`analysis.summarize`.
    ``generated_at`` is the time printed in the header (default: now, UTC).
    ``language`` is the page's ``lang`` attribute; the text itself is in the
    language active in :mod:`analysis.i18n`. Raises
    :class:`~analysis.AnalysisError` when the filter keeps no example or the
    HLP values are invalid. A broken ``[audit]`` section does not raise: its
    message goes into the audit section and :attr:`Report.warnings`.
    ``audit`` replaces the dataset file's ``[audit]`` section, for checks
    edited on the Audit page and not saved yet.
    """
    example_filter = example_filter or ExampleFilter()
    summary = summarize(dataset, _hlp_targets(dataset, hlp), example_filter, hlp)
    warnings: list[str] = []
    sections = [
        _overall_section(dataset, summary),
        _classes_section(dataset, summary),
        _slices_section(dataset, summary),
        _tags_section(dataset, summary),
        _what_if_section(summary),
        _audit_section(dataset, example_filter, warnings, audit if audit is not None else dataset.config.audit),
    ]
    when = generated_at or datetime.datetime.now(datetime.timezone.utc)
    title = _("Error analysis report: {name}", name=summary["dataset"])
    document = page(language, title, _header(dataset, summary, title, when), sections)
    return Report(document, sections, warnings)


def _level_text(confidence_level: float) -> str:
    """Format a confidence level as people write it: "95%", not "95.0%"."""
    return _("{value:g}%", value=round(100 * confidence_level, 4))


def _hlp_targets(dataset: Dataset, hlp: dict[str, float] | None) -> dict[str, float] | None:
    """Return the what-if targets: the HLP of every tag that has one, the untagged group included.

    The summary's default leaves the untagged group out, while the priority
    list ranks it with the tags, so the report's estimate takes it in too.
    """
    values = dataset.hlp if hlp is None else hlp
    names = {tag.name for tag in dataset.tags} | {UNTAGGED}
    targets = {name: value for name, value in values.items() if name in names}
    return targets or None


# ---------------------------------------------------------------- header


def _header(dataset: Dataset, summary: dict[str, Any], title: str, when: datetime.datetime) -> str:
    parts = [f"<header><h1>{escape(title)}</h1>"]
    if dataset.config.description:
        parts.append(paragraph(dataset.config.description))
    parts.append(
        paragraph(
            _(
                "Computed on {date} from {matched} examples of {rows} prediction rows.",
                date=when.strftime("%Y-%m-%d %H:%M %Z").strip(),
                matched=count(summary["matched"]),
                rows=count(summary["rows"]),
            ),
            "context",
        )
    )
    description = summary["filter"]["description"]
    if description:
        parts.append(
            paragraph(
                _(
                    "Filter: {description}. Every number is computed on the {kept} examples it keeps.",
                    description=description,
                    kept=count(summary["overall"]["examples"]),
                ),
                "context",
            )
        )
    if summary["load_warnings"]:
        parts.append(bullet_list([warning["message"] for warning in summary["load_warnings"]], "warnings"))
    level = _level_text(dataset.config.confidence_level)
    parts.append(paragraph(_("Intervals are Wilson score intervals at {level} confidence.", level=level), "context"))
    parts.append("</header>")
    return "".join(parts)


# ---------------------------------------------------------------- overall and classes


def _overall_section(dataset: Dataset, summary: dict[str, Any]) -> Section:
    overall = summary["overall"]
    examples, errors = overall["examples"], overall["errors"]
    low, high = wilson_interval(examples - errors, examples, dataset.config.confidence_level)
    level = _level_text(dataset.config.confidence_level)
    numbers = [
        Headline("examples", _("Examples"), count(examples), value=examples),
        Headline("accuracy", _("Accuracy"), percent(overall["accuracy"]), _("{level} interval {range}", level=level, range=interval(low, high)), overall["accuracy"], (low, high)),
        Headline("errors", _("Errors"), count(errors), _("error rate {rate}", rate=percent(overall["error_rate"])), errors),
    ]
    imbalance = summary["imbalance"]
    if imbalance is not None:
        numbers.append(
            Headline(
                "majority_class_accuracy",
                _("Majority-class accuracy"),
                percent(imbalance["majority_class_accuracy"]),
                _("always answering '{label}'", label=imbalance["majority_class"]),
                imbalance["majority_class_accuracy"],
            )
        )
        numbers.append(
            Headline("balanced_accuracy", _("Balanced accuracy"), percent(overall["balanced_accuracy"]), _("mean recall of the classes"), overall["balanced_accuracy"])
        )
    body = headline(numbers)
    if imbalance is not None and imbalance["warnings"]:
        body += bullet_list([warning["message"] for warning in imbalance["warnings"]], "warnings")
    return Section(OVERALL_SECTION, _("Overall"), overall_sentence(summary), body)


def _classes_section(dataset: Dataset, summary: dict[str, Any]) -> Section:
    title = _("Classes")
    if summary["classes"] is None:
        return Section(CLASSES_SECTION, title, _no_classes_sentence(dataset), applies=False)
    table = Table(
        "classes",
        [
            ("label", _("class")),
            ("support", _("support")),
            ("predicted", _("predicted")),
            ("precision", _("precision")),
            ("recall", _("recall")),
            ("f1", _("F1")),
        ],
    )
    for row in summary["classes"]:
        table.rows.append(
            {
                "label": text_cell(row["label"]),
                "support": number_cell(count(row["support"]), row["support"]),
                "predicted": number_cell(count(row["predicted"]), row["predicted"]),
                "precision": number_cell(percent(row["precision"]), row["precision"]),
                "recall": number_cell(percent(row["recall"]), row["recall"]),
                "f1": number_cell(decimal(row["f1"]), row["f1"]),
            }
        )
    body = paragraph(_("Support is the number of examples with the label. An undefined value has no example to be computed on."), "caption")
    body += table.render()
    matrix = summary["confusion_matrix"]
    if len(matrix["classes"]) <= CONFUSION_CHART_MAX_CLASSES:
        body += figure_html(confusion_matrix_figure(matrix["classes"], matrix["counts"]), "confusion-matrix")
    else:
        body += paragraph(
            _(
                "The confusion matrix chart is left out: with {count} classes it would have {cells} cells.",
                count=count(len(matrix["classes"])),
                cells=count(len(matrix["classes"]) ** 2),
            ),
            "caption",
        )
    return Section(CLASSES_SECTION, title, classes_sentence(summary), body)


def _no_classes_sentence(dataset: Dataset) -> str:
    if dataset.mode == MODE_PER_EXAMPLE_SCORE:
        direction = _("above") if dataset.config.error_when == "above" else _("below")
        return _(
            "This dataset has no classes, because an example is an error when its score in column '{column}' is {direction} {threshold:g}, so per-class metrics and the confusion matrix do not apply.",
            column=dataset.score_column,
            direction=direction,
            threshold=dataset.config.error_threshold,
        )
    if dataset.mode == MODE_CORRECT_FLAG:
        return _(
            "This dataset has no classes, because column '{column}' marks each example as correct or not, so per-class metrics and the confusion matrix do not apply.",
            column=dataset.correct_column,
        )
    return _("This dataset has no classes, so per-class metrics and the confusion matrix do not apply.")


# ---------------------------------------------------------------- slices


def _slices_section(dataset: Dataset, summary: dict[str, Any]) -> Section:
    title = _("Worst slices")
    rows = summary["slices"]
    if not rows:
        return Section(SLICES_SECTION, title, _("The dataset has no attribute to slice by, so no slice is compared with the rest."), applies=False)
    config = dataset.config
    overall_rate = summary["overall"]["error_rate"]
    # Tiny slices have the most extreme rates by chance, so they would crowd out the real findings.
    worse = [row for row in rows if row["count"] >= config.min_support and row["gap_to_overall"] is not None and row["gap_to_overall"] > 0]
    shown = sorted(worse, key=lambda row: -row["gap_to_overall"])[:WORST_SLICES]
    if not shown:
        sentence = _("No slice of at least {count} examples has an error rate above the overall rate of {rate}.", count=count(config.min_support), rate=percent(overall_rate))
        return Section(SLICES_SECTION, title, sentence)

    level = _level_text(config.confidence_level)
    table = Table(
        "slices",
        [
            ("attribute", _("attribute")),
            ("value", _("value")),
            ("count", _("examples")),
            ("error_rate", _("error rate")),
            ("interval", _("{level} interval", level=level)),
            ("gap_to_overall", _("gap to overall")),
            ("p_adjusted", _("adjusted p-value")),
            ("flagged", _("flagged as worse")),
        ],
    )
    for row in shown:
        table.rows.append(
            {
                "attribute": text_cell(row["column"]),
                "value": text_cell(row["value"]),
                "count": number_cell(count(row["count"]), row["count"]),
                "error_rate": number_cell(percent(row["error_rate"]), row["error_rate"]),
                "interval": text_cell(interval(row["ci_low"], row["ci_high"])),
                "gap_to_overall": number_cell(points(row["gap_to_overall"]), row["gap_to_overall"]),
                "p_adjusted": number_cell(p_value(row["p_adjusted"]), row["p_adjusted"]),
                "flagged": text_cell(_("yes") if row["flagged"] else _("no")),
            }
        )
    caption = ngettext(
        "The slice of at least {min_support} examples whose error rate is furthest above the overall error rate ({rate}), over every attribute.",
        "The {count} slices of at least {min_support} examples whose error rate is furthest above the overall error rate ({rate}), over every attribute.",
        len(shown),
        min_support=count(config.min_support),
        rate=percent(overall_rate),
    )
    caption += " " + _(
        "A slice is flagged as worse when its Benjamini-Hochberg adjusted p-value, over every slice and tag tested, is below {q}, its gap is at least {gap:.1f} points and its support at least {support}.",
        q=config.fdr_q,
        gap=100 * config.min_gap,
        support=count(config.min_support),
    )
    worst = shown[0]
    figure = slice_error_rate_figure(rows, worst["column"], overall_rate, config.min_support)
    body = paragraph(caption, "caption") + table.render() + figure_html(figure, "slice-error-rates")
    return Section(SLICES_SECTION, title, slices_sentence(worst, overall_rate, config.fdr_q, config.min_gap), body)


# ---------------------------------------------------------------- tags and what-if


def _has_tags(summary: dict[str, Any]) -> bool:
    return any(row["tag"] != UNTAGGED for row in summary["tags"])


def _tags_section(dataset: Dataset, summary: dict[str, Any]) -> Section:
    title = _("Tags")
    rows = summary["tags"]
    if not _has_tags(summary):
        return Section(TAGS_SECTION, title, _("The dataset defines no tags, so there is no tag table."), applies=False)
    level = _level_text(dataset.config.confidence_level)
    table = Table(
        "tags",
        [
            ("tag", _("tag")),
            ("count", _("examples")),
            ("share_of_data", _("share of data")),
            ("error_rate", _("error rate")),
            ("interval", _("{level} interval", level=level)),
            ("share_of_errors", _("share of errors")),
            ("accuracy", _("accuracy")),
            ("hlp", _("HLP")),
            ("room_for_improvement", _("room for improvement")),
        ],
    )
    for row in rows:
        table.rows.append(
            {
                "tag": text_cell(row["tag"]),
                "count": number_cell(count(row["count"]), row["count"]),
                "share_of_data": number_cell(percent(row["share_of_data"]), row["share_of_data"]),
                "error_rate": number_cell(percent(row["error_rate"]), row["error_rate"]),
                "interval": text_cell(interval(row["ci_low"], row["ci_high"])),
                "share_of_errors": number_cell(percent(row["share_of_errors"]), row["share_of_errors"]),
                "accuracy": number_cell(percent(row["accuracy"]), row["accuracy"]),
                "hlp": number_cell(_("none") if row["hlp"] is None else percent(row["hlp"]), row["hlp"]),
                "room_for_improvement": number_cell(
                    _("none") if row["room_for_improvement"] is None else points(row["room_for_improvement"]), row["room_for_improvement"]
                ),
            }
        )
    caption = _(
        "Share of errors is the share of all errors made on examples with the tag. HLP is human-level accuracy on the tag, and room for improvement is HLP minus the model's accuracy. {untagged} is the group of examples without any tag.",
        untagged=UNTAGGED,
    )
    body = paragraph(caption, "caption") + table.render() + figure_html(tag_share_figure(rows), "tag-shares")
    return Section(TAGS_SECTION, title, _tags_sentence(dataset, summary), body)


def _tags_sentence(dataset: Dataset, summary: dict[str, Any]) -> str:
    """Describe the tag with the highest error rate, among tags with at least min_support examples when any has."""
    tagged = [row for row in summary["tags"] if row["tag"] != UNTAGGED and row["count"] > 0]
    if not tagged:
        return _("No analysed example carries a tag.")
    large = [row for row in tagged if row["count"] >= dataset.config.min_support]
    worst = max(large or tagged, key=lambda row: row["error_rate"])
    return tags_sentence(worst, summary["overall"]["error_rate"])


def _what_if_section(summary: dict[str, Any]) -> Section:
    title = _("What-if priorities")
    if not _has_tags(summary):
        return Section(WHAT_IF_SECTION, title, _("The dataset defines no tags, so there is no tag to prioritise."), applies=False)
    estimate = summary["what_if"]
    if not estimate["targets"]:
        sentence = _("No tag has a human-level accuracy (HLP), so the gain of fixing each tag cannot be estimated.")
        return Section(WHAT_IF_SECTION, title, sentence, applies=False)

    with_hlp = {row["tag"] for row in summary["tags"] if row["hlp"] is not None}
    ranked = [row for row in priority_list(summary["tags"]) if row["tag"] in with_hlp]
    table = Table(
        "priorities",
        [
            ("rank", _("rank")),
            ("tag", _("tag")),
            ("share_of_data", _("share of data")),
            ("accuracy", _("accuracy")),
            ("target", _("HLP")),
            ("room_for_improvement", _("room for improvement")),
            ("potential_gain", _("potential gain")),
        ],
    )
    for position, row in enumerate(ranked, start=1):
        table.rows.append(
            {
                "rank": number_cell(str(position), position),
                "tag": text_cell(row["tag"]),
                "share_of_data": number_cell(percent(row["share_of_data"]), row["share_of_data"]),
                "accuracy": number_cell(percent(row["accuracy"]), row["accuracy"]),
                "target": number_cell(percent(row["target"]), row["target"]),
                "room_for_improvement": number_cell(points(row["room_for_improvement"]), row["room_for_improvement"]),
                "potential_gain": number_cell(points(row["potential_gain"]), row["potential_gain"]),
            }
        )
    affected = estimate["examples_affected"]
    numbers = [
        Headline("accuracy_before", _("Accuracy now"), percent(estimate["accuracy_before"]), value=estimate["accuracy_before"]),
        Headline(
            "accuracy_after",
            _("Accuracy at HLP on every tag"),
            percent(estimate["accuracy_after"]),
            ngettext("{count} example affected", "{count} examples affected", affected, count=count(affected)),
            estimate["accuracy_after"],
        ),
        Headline("gain", _("Gain"), points(estimate["gain"]), value=estimate["gain"]),
    ]
    caption = _(
        "Potential gain is share of data times max(HLP minus accuracy, 0): the rise in overall accuracy if the model reached HLP on that tag alone. An example with several tags counts once in the estimate for every tag. Tags without an HLP value are left out."
    )
    figure = tag_accuracy_hlp_figure([row for row in summary["tags"] if row["tag"] in with_hlp])
    body = headline(numbers) + paragraph(caption, "caption") + table.render() + figure_html(figure, "tag-accuracy-hlp")
    return Section(WHAT_IF_SECTION, title, what_if_sentence(ranked[0], estimate, UNTAGGED), body)


# ---------------------------------------------------------------- audit


def _audit_section(dataset: Dataset, example_filter: ExampleFilter, warnings: list[str], spec: AuditSpec | None) -> Section:
    title = _("Audit")
    if spec is None or not spec.checks:
        return Section(AUDIT_SECTION, title, _("The dataset file has no [audit] section, so no audit checklist was run."), applies=False)
    keep = [condition.as_text() for condition in example_filter.keep]
    exclude = [condition.as_text() for condition in example_filter.exclude]
    try:
        result = run_audit(dataset, spec, keep, exclude)
    except AnalysisError as error:
        message = _("The audit could not run: {reason}", reason=str(error))
        logger.warning("audit section left out of the report: %s", error)
        warnings.append(message)
        return Section(AUDIT_SECTION, title, message, applies=False)

    table = Table(
        "audit",
        [
            ("check", _("check")),
            ("severity", _("severity")),
            ("status", _("status")),
            ("group", _("worst group")),
            ("value", _("value")),
            ("interval", _("interval")),
            ("support", _("support")),
            ("threshold", _("threshold")),
        ],
    )
    for index, check in enumerate(result.checks):
        table.rows.append(_audit_row(check))
        if check.status == FAIL:
            table.failed_rows.add(index)
    failed = sum(check.status == FAIL for check in result.checks)
    numbers = [
        Headline("verdict", _("Verdict"), _("passed") if result.passed else _("failed"), _("no blocking check may fail")),
        Headline("failed_checks", _("Failed checks"), _("{failed} of {total}", failed=failed, total=len(result.checks)), value=failed),
    ]
    description = result.example_filter.describe() if result.example_filter else _("all examples")
    caption = _(
        "Audited examples: {description} ({examples}). Groups with a support under {min_support} are not judged. Each row shows the group furthest outside, or closest to, its threshold.",
        description=description,
        examples=count(result.examples),
        min_support=count(result.min_support),
    )
    body = headline(numbers, {"data-passed": str(result.passed).lower()}) + paragraph(caption, "caption") + table.render()
    return Section(AUDIT_SECTION, title, audit_sentence(result), body)


def _audit_row(check: CheckResult) -> dict:
    worst = check.worst
    metric = check.check.metric
    row = {
        "check": text_cell(check.check.name),
        "severity": text_cell(_("blocking") if check.check.severity == BLOCKING else _("warning")),
        "status": text_cell(_(STATUS_LABELS[check.status])),
    }
    if worst is None:
        empty = text_cell(_("no group to check"))
        return {**row, "group": empty, "value": text_cell(""), "interval": text_cell(""), "support": number_cell("", None), "threshold": text_cell("")}
    as_number = metric in FAIRNESS_MEASURES
    value_text = decimal(_finite(worst.value)) if as_number else percent(_finite(worst.value))
    if as_number:
        range_text = _("{low} to {high}", low=decimal(_finite(worst.ci_low)), high=decimal(_finite(worst.ci_high)))
    else:
        range_text = interval(_finite(worst.ci_low), _finite(worst.ci_high))
    group = worst.group if worst.group is not None else _("class {label}", label=worst.class_name)
    return {
        **row,
        "group": text_cell(group),
        "value": number_cell(value_text, _finite(worst.value)),
        "interval": text_cell(range_text),
        "support": number_cell(count(worst.support), worst.support),
        "threshold": text_cell(_threshold_text(check)),
    }


def _threshold_text(check: CheckResult) -> str:
    """Say what a check requires, as its worst outcome was compared with it."""
    rule = check.check.rule
    threshold = check.worst.threshold
    if rule == RATIO_TO_REFERENCE:
        low, high = threshold
        return _("ratio to {reference} from {low:.2f} to {high:.2f}", reference=check.reference, low=low, high=high)
    if rule == MIN_MAX_RATIO:
        return _("ratio to the group with the highest value at least {value:.2f}", value=threshold)
    if check.check.metric in FAIRNESS_MEASURES:
        if check.check.metric in DIFFERENCE_MEASURES:
            return _("at most {value:.3f}", value=threshold)
        return _("at least {value:.3f}", value=threshold)
    if rule in (AT_LEAST, AT_LEAST_OVERALL_MINUS):
        return _("at least {value}", value=percent(threshold))
    return _("at most {value}", value=percent(threshold))


def _finite(value: float | None) -> float | None:
    """Return ``value``, or None for an undefined or infinite number, which the report shows as undefined."""
    return value if value is not None and math.isfinite(value) else None
