"""The summary of a dataset: every number of the first analysis, as a JSON-ready dict.

Undefined numbers are ``None`` in the result, and ``notes`` maps the path of
each one (``classes[3].precision``) to the reason, so a reader never takes a
missing value for zero.
"""

from __future__ import annotations

import math
from typing import Any

from analysis.counting import Counts, count_examples
from analysis.filters import ExampleFilter, check_keeps_examples
from analysis.i18n import _, format_percent
from analysis.metrics import MAJORITY_MARGIN, RARE_CLASS_SHARE, class_metrics, imbalance
from analysis.model import OVERALL, Dataset
from analysis.significance import compare_groups
from analysis.slices import slice_table
from analysis.stats import ratio
from analysis.tags import tag_table, what_if

# How many (label, prediction) pairs the summary lists.
CONFUSED_PAIRS = 10


def summarize(
    dataset: Dataset,
    targets: dict[str, float] | None = None,
    example_filter: ExampleFilter | None = None,
    hlp: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Compute the summary of ``dataset``.

    ``targets`` maps tags to target accuracies for the what-if estimate; by
    default every tag with an HLP value is raised to its HLP.
    ``example_filter`` restricts every number to the examples it keeps.
    ``hlp`` replaces the HLP values read from the dataset's HLP file, for
    values typed in the dashboard.
    """
    example_filter = example_filter or ExampleFilter()
    hlp = dataset.hlp if hlp is None else hlp
    counts = count_examples(dataset, *example_filter.where(dataset))
    check_keeps_examples(example_filter, counts.total)
    notes: dict[str, str] = {}
    result: dict[str, Any] = {
        "dataset": dataset.config.display_name,
        "mode": dataset.mode,
        "rows": dataset.report.rows,
        "matched": dataset.report.matched,
        "dropped": dataset.report.dropped(),
        "load_warnings": [notice.as_dict() for notice in dataset.report.warnings],
        "filter": {**example_filter.as_dict(), "description": example_filter.describe()},
    }
    result["overall"] = _overall(dataset, counts, hlp, notes)
    if dataset.has_classes:
        metrics = class_metrics(counts.confusion)
        result["classes"] = _classes(metrics, notes)
        result["confusion_matrix"] = {"classes": metrics.classes, "counts": metrics.matrix.tolist()}
        result["confused_pairs"] = [
            {"label": label, "prediction": prediction, "count": count}
            for label, prediction, count in metrics.most_confused(CONFUSED_PAIRS)
        ]
        result["imbalance"] = _imbalance(metrics)
    else:
        for key in ("classes", "confusion_matrix", "confused_pairs", "imbalance"):
            result[key] = None
            notes[key] = _("Not defined in {mode} mode: examples have no classes.", mode=dataset.mode)

    result["slices"] = slice_table(dataset, counts)
    result["tags"] = tag_table(dataset, counts, hlp)
    _note_tags(result["tags"], notes)
    _add_significance(dataset, counts, result, notes)
    chosen = targets if targets is not None else {t.name: hlp[t.name] for t in dataset.tags if t.name in hlp}
    estimate = what_if(dataset, counts, chosen)
    result["what_if"] = {
        "targets": estimate.targets,
        "examples_affected": estimate.examples_affected,
        "accuracy_before": estimate.accuracy_before,
        "accuracy_after": estimate.accuracy_after,
        "gain": estimate.gain,
    }
    if not chosen:
        notes["what_if"] = _("No tag has an HLP value or a target, so nothing changes.")
    result["notes"] = notes
    return _nulls(result, notes)


def _overall(dataset: Dataset, counts: Counts, hlp: dict[str, float], notes: dict[str, str]) -> dict[str, Any]:
    total = counts.total
    error_rate = ratio(counts.errors, total)
    overall: dict[str, Any] = {
        "examples": total,
        "errors": counts.errors,
        "accuracy": 1 - error_rate,
        "error_rate": error_rate,
        "hlp": hlp.get(OVERALL, math.nan),
    }
    if OVERALL not in hlp and dataset.config.hlp_file is None:
        notes["overall.hlp"] = _("No HLP file was given ([files] hlp or --hlp).")
    elif OVERALL not in hlp:
        notes["overall.hlp"] = _("No HLP value for '{name}' in the HLP file.", name=OVERALL)
    if dataset.has_classes:
        metrics = class_metrics(counts.confusion)
        overall.update(
            balanced_accuracy=metrics.balanced_accuracy,
            macro_precision=metrics.macro(metrics.precision),
            macro_recall=metrics.macro(metrics.recall),
            macro_f1=metrics.macro(metrics.f1),
            weighted_precision=metrics.weighted(metrics.precision),
            weighted_recall=metrics.weighted(metrics.recall),
            weighted_f1=metrics.weighted(metrics.f1),
        )
    else:
        for key in ("balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision", "weighted_recall", "weighted_f1"):
            overall[key] = None
            notes[f"overall.{key}"] = _("Not defined in {mode} mode: examples have no classes.", mode=dataset.mode)
    return overall


def _classes(metrics, notes: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for index, name in enumerate(metrics.classes):
        support = int(metrics.support[index])
        predicted = int(metrics.predicted[index])
        if predicted == 0:
            notes[f"classes[{index}].precision"] = _("Undefined (n = 0): no example was predicted as '{label}'.", label=name)
        if support == 0:
            notes[f"classes[{index}].recall"] = _("Undefined (n = 0): no example has the label '{label}'.", label=name)
        if support + predicted == 0:
            notes[f"classes[{index}].f1"] = _("Undefined (n = 0): the class is neither a label nor a prediction.")
        rows.append(
            {
                "label": name,
                "support": support,
                "predicted": predicted,
                "precision": float(metrics.precision[index]),
                "recall": float(metrics.recall[index]),
                "f1": float(metrics.f1[index]),
            }
        )
    return rows


def _imbalance(metrics) -> dict[str, Any]:
    found = imbalance(metrics)
    warnings = []
    for label in found.rare_classes:
        warnings.append(
            {
                "code": "rare_class",
                "label": label,
                "message": _(
                    "Class '{label}' is only {share} of the labels (under {limit}): its metrics rest on few examples.",
                    label=label, share=format_percent(found.shares[label]), limit=format_percent(RARE_CLASS_SHARE),
                ),
            }
        )
    if found.accuracy_near_majority:
        warnings.append(
            {
                "code": "accuracy_near_majority",
                "label": found.majority_class,
                "message": _majority_message(metrics.accuracy, found),
            }
        )
    for label in found.never_predicted:
        warnings.append(
            {
                "code": "never_predicted",
                "label": label,
                "message": _("Class '{label}' is never predicted, so every example of it is an error.", label=label),
            }
        )
    for label in found.zero_recall:
        if label in found.never_predicted:
            continue
        warnings.append(
            {
                "code": "zero_recall",
                "label": label,
                "message": _("Recall of class '{label}' is 0: the model finds none of its examples.", label=label),
            }
        )
    if len(found.shares) == 1:
        warnings.append(
            {
                "code": "single_class",
                "label": found.majority_class,
                "message": _("Every label is '{label}': per-class metrics and balanced accuracy say little with one class.", label=found.majority_class),
            }
        )
    return {
        "class_shares": found.shares,
        "majority_class": found.majority_class,
        "majority_share": found.majority_share,
        "majority_class_accuracy": found.majority_share,
        "imbalance_ratio": found.imbalance_ratio,
        "warnings": warnings,
    }


def _majority_message(accuracy: float, found) -> str:
    """Explain that accuracy is no better than, or at most one point above, the majority-class accuracy."""
    if accuracy < found.majority_share:
        return _(
            "Accuracy {accuracy} is below the {baseline} of always answering '{label}': accuracy alone is misleading here.",
            accuracy=format_percent(accuracy), label=found.majority_class, baseline=format_percent(found.majority_share),
        )
    return _(
        "Accuracy {accuracy} is within {margin} of always answering '{label}' ({baseline}): accuracy alone is misleading here.",
        accuracy=format_percent(accuracy), margin=_points(MAJORITY_MARGIN), label=found.majority_class, baseline=format_percent(found.majority_share),
    )


def _note_tags(rows: list[dict[str, Any]], notes: dict[str, str]) -> None:
    for index, row in enumerate(rows):
        if row["count"] == 0:
            notes[f"tags[{index}].error_rate"] = _("Undefined (n = 0): no example carries '{tag}'.", tag=row["tag"])
        if math.isnan(row["hlp"]):
            reason = _("No HLP value for '{tag}': room for improvement and potential gain are undefined.", tag=row["tag"])
            for key in ("hlp", "room_for_improvement", "potential_gain"):
                notes[f"tags[{index}].{key}"] = reason


def _add_significance(dataset: Dataset, counts: Counts, result: dict[str, Any], notes: dict[str, str]) -> None:
    """Add p_value, test, p_adjusted and flagged to every slice and tag row.

    Slices and tags form one family for the Benjamini-Hochberg adjustment, as
    they are all tested in this one analysis.
    """
    keys = [("slices", index) for index in range(len(result["slices"]))]
    keys += [("tags", index) for index in range(len(result["tags"]))]
    groups = [(result[table][index]["errors"], result[table][index]["count"]) for table, index in keys]
    found = compare_groups(groups, counts.errors, counts.total, dataset.config)
    for (table, index), significance in zip(keys, found):
        result[table][index].update(significance.as_dict())
        if significance.reason is not None:
            for key in ("p_value", "test", "p_adjusted"):
                notes[f"{table}[{index}].{key}"] = significance.reason


def _points(value: float) -> str:
    return _("{value:.0f} point", value=100 * value) if round(100 * value) == 1 else _("{value:.0f} points", value=100 * value)


def _nulls(value: Any, notes: dict[str, str], path: str = "") -> Any:
    """Replace NaN with None, adding a generic note where no specific reason was recorded."""
    if isinstance(value, dict):
        return {key: _nulls(item, notes, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item, notes, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, float) and math.isnan(value):
        if path not in notes:
            notes[path] = _("Undefined (n = 0): no example to compute it on.")
        return None
    return value
