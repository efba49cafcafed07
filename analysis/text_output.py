"""Plain-text rendering of a summary for the terminal."""

from __future__ import annotations

from typing import Any

from analysis.i18n import _, fill, format_percent, ngettext, percentage_points

# Slices shown per attribute in text output; JSON output has them all.
_SLICE_ROWS_PER_ATTRIBUTE = 25

# Overlapping slices named per discovered slice in text output; JSON output has them all.
_GROUPED_SHOWN = 3


def _percent(value: float | None) -> str:
    return _("undefined") if value is None else format_percent(value)


def _number(value: float | None, digits: int = 3) -> str:
    return _("undefined") if value is None else fill("{value:." + str(digits) + "f}", value=value)


def _signed_points(value: float | None) -> str:
    return _("undefined") if value is None else _("{value:+.1f} pts", value=percentage_points(value))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return lines


def render_summary(summary: dict[str, Any]) -> str:
    """Render the summary as sections of short tables."""
    lines: list[str] = []
    overall = summary["overall"]
    lines.append(_("Dataset: {name}", name=summary["dataset"]))
    lines.append(
        _("Examples analysed: {matched} of {rows} prediction rows", matched=summary["matched"], rows=summary["rows"])
    )
    for warning in summary["load_warnings"]:
        lines.append(_("  warning: {message}", message=warning["message"]))
    if summary["filter"]["description"]:
        lines.append(
            ngettext(
                "Filter: {description} ({count} example kept)",
                "Filter: {description} ({count} examples kept)",
                overall["examples"],
                description=summary["filter"]["description"],
            )
        )
    lines.append("")
    lines.append(_("Overall"))
    lines.append(
        ngettext(
            "  accuracy {accuracy}, error rate {error_rate} ({count} error)",
            "  accuracy {accuracy}, error rate {error_rate} ({count} errors)",
            overall["errors"], accuracy=_percent(overall["accuracy"]), error_rate=_percent(overall["error_rate"]),
        )
    )
    if summary["classes"] is not None:
        lines.append(
            _("  balanced accuracy {balanced}, macro F1 {macro}, weighted F1 {weighted}", balanced=_percent(overall["balanced_accuracy"]), macro=_number(overall["macro_f1"]), weighted=_number(overall["weighted_f1"]))
        )
        lines += _imbalance_lines(summary["imbalance"])
        lines += _class_lines(summary)
    lines += _slice_lines(summary["slices"])
    lines += _tag_lines(summary)
    return "\n".join(lines) + "\n"


def _imbalance_lines(imbalance: dict[str, Any]) -> list[str]:
    lines = [
        _("  majority class '{label}' is {share} of the labels; always predicting it gives accuracy {share}", label=imbalance["majority_class"], share=_percent(imbalance["majority_share"])),
        _("  imbalance ratio (largest / smallest class): {ratio:.1f}", ratio=imbalance["imbalance_ratio"]),
    ]
    for warning in imbalance["warnings"]:
        lines.append(_("  warning: {message}", message=warning["message"]))
    return lines


def _class_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["", _("Per class")]
    rows = [
        [c["label"], str(c["support"]), _number(c["precision"]), _number(c["recall"]), _number(c["f1"])]
        for c in summary["classes"]
    ]
    lines += _table([_("class"), _("support"), _("precision"), _("recall"), _("F1")], rows)
    if summary["confused_pairs"]:
        lines += ["", _("Most confused pairs (label -> prediction)")]
        lines += _table(
            [_("label"), _("prediction"), _("count")],
            [[p["label"], p["prediction"], str(p["count"])] for p in summary["confused_pairs"]],
        )
    return lines


def _slice_lines(slices: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    columns = list(dict.fromkeys(row["column"] for row in slices))
    for column in columns:
        rows = [row for row in slices if row["column"] == column]
        lines += ["", _("Slices by {column}", column=column)]
        shown = rows[:_SLICE_ROWS_PER_ATTRIBUTE]
        lines += _table(
            [_("value"), _("count"), _("share"), _("error rate"), _("95% interval"), _("gap to overall"), _("adjusted p"), _("flag")],
            [
                [
                    row["value"],
                    str(row["count"]),
                    _percent(row["share"]),
                    _percent(row["error_rate"]),
                    f"{_percent(row['ci_low'])} - {_percent(row['ci_high'])}",
                    _signed_points(row["gap_to_overall"]),
                    _p_value(row["p_adjusted"]),
                    _("worse") if row["flagged"] else "",
                ]
                for row in shown
            ],
        )
        if len(rows) > len(shown):
            lines.append(_("  ... {count} more values in the JSON output", count=len(rows) - len(shown)))
    return lines


def _tag_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["", _("Tags")]
    lines += _table(
        [_("tag"), _("count"), _("share of data"), _("error rate"), _("share of errors"), _("accuracy"), _("HLP"), _("room for improvement"), _("potential gain"), _("adjusted p"), _("flag")],
        [
            [
                row["tag"],
                str(row["count"]),
                _percent(row["share_of_data"]),
                _percent(row["error_rate"]),
                _percent(row["share_of_errors"]),
                _percent(row["accuracy"]),
                _percent(row["hlp"]),
                _signed_points(row["room_for_improvement"]),
                _signed_points(row["potential_gain"]),
                _p_value(row["p_adjusted"]),
                _("worse") if row["flagged"] else "",
            ]
            for row in summary["tags"]
        ],
    )
    estimate = summary["what_if"]
    if estimate["targets"]:
        targets = ", ".join(f"{tag} {_percent(value)}" for tag, value in estimate["targets"].items())
        lines += [
            "",
            _("What-if: with {targets}, overall accuracy would go from {before} to {after} ({gain}), over {count} affected examples.", targets=targets, before=_percent(estimate["accuracy_before"]), after=_percent(estimate["accuracy_after"]), gain=_signed_points(estimate["gain"]), count=estimate["examples_affected"]),
        ]
    return lines


def describe_predicates(predicates: list[dict[str, Any]]) -> str:
    """Write a slice's predicates as ``race = Caucasian and tag noisy``."""
    parts = []
    for predicate in predicates:
        if "tag" in predicate:
            parts.append(_("tag {tag}", tag=predicate["tag"]) if predicate["value"] else _("no tag {tag}", tag=predicate["tag"]))
        else:
            parts.append(_("{attribute} = {value}", attribute=predicate["attribute"], value=predicate["value"]))
    return _(" and ").join(parts)


def render_slices(report: dict[str, Any]) -> str:
    """Render the slices report: the overall value, one table row per slice, and the sample-size guidance."""
    settings = report["settings"]
    overall = report["overall"]

    lines = [_("Dataset: {name}", name=report["dataset"])]
    if report["filter"]["description"]:
        lines.append(_("Filter: {description}", description=report["filter"]["description"]))
    lines.append(
        _(
            "Metric: {metric}; overall {value} ({low} - {high}), support {support}",
            metric=report["metric"], value=_percent(overall["value"]), low=_percent(overall["ci_low"]),
            high=_percent(overall["ci_high"]), support=overall["support"],
        )
    )
    lines.append(
        _(
            "A slice is flagged when its adjusted p-value is below {q}, its gap to overall is at least {gap} points and its support at least {support}.",
            q=settings["fdr_q"], gap=format(100 * settings["min_gap"], "g"), support=settings["min_support"],
        )
    )
    lines.append("")

    lines += _table(
        [_("slice"), _("support"), report["metric"], _("interval"), _("gap to overall"), _("p-value"), _("adjusted p"), _("flag")],
        [
            [
                describe_predicates(row["predicates"]),
                str(row["support"]),
                _percent(row["value"]),
                f"{_percent(row['ci_low'])} - {_percent(row['ci_high'])}",
                _signed_points(row["gap_to_overall"]),
                _p_value(row["p_value"]),
                _p_value(row["p_adjusted"]),
                _slice_flag(row),
            ]
            for row in report["slices"]
        ],
    )

    if len(report["slices"]) < report["slices_tested"]:
        lines.append(_("  ... {count} more slices tested; they are in the JSON output without --top", count=report["slices_tested"] - len(report["slices"])))

    small = [row for row in report["slices"] if row["below_min_support"]]
    if small:
        lines += ["", _("Too small to judge")]
        lines += [f"  {describe_predicates(row['predicates'])}: {' '.join(row['guidance'])}" for row in small]
    return "\n".join(lines) + "\n"


def _p_value(value: float | None) -> str:
    if value is None:
        return _("undefined")
    return "< " + fill("{value}", value=0.0001) if value < 0.0001 else fill("{value:.4f}", value=value)


def _slice_flag(row: dict[str, Any]) -> str:
    if row["flagged"]:
        return _("worse")
    if row["below_min_support"]:
        return _("too small")
    return ""


def render_discovery(result: dict[str, Any]) -> str:
    """Render the result of slice discovery: the search settings, then one row per reported slice."""
    from analysis.discovery import METRIC_NAMES

    metric = _(METRIC_NAMES[result["metric"]])
    overall = result["overall"]
    settings = result["settings"]
    lines = [
        _(
            "Slice discovery by {metric}: overall {value} ({errors} of {support} examples)",
            metric=metric,
            value=_percent(overall["metric_value"]),
            errors=overall["errors"],
            support=overall["support"],
        )
    ]
    if result["filter"]["description"]:
        lines.append(_("Filter: {description}", description=result["filter"]["description"]))
    lines.append(
        _(
            "Up to {max_predicates} predicates, minimum support {min_support}, alpha {alpha}; {count} candidates evaluated.",
            max_predicates=settings["max_predicates"],
            min_support=settings["min_support"],
            alpha=settings["alpha"],
            count=result["candidates_evaluated"],
        )
    )
    for notice in result["notices"]:
        lines.append(_("  note: {message}", message=notice))
    if result["slices"]:
        lines.append("")
        headers = [_("rank"), _("slice"), _("support"), metric, _("95% interval"), _("gap"), _("score"), _("adjusted p"), _("flagged")]
        rows = []
        for row in result["slices"]:
            rows.append(
                [
                    str(row["rank"]),
                    row["description"],
                    str(row["support"]),
                    _percent(row["metric_value"]),
                    f"{_percent(row['ci_low'])} - {_percent(row['ci_high'])}",
                    _signed_points(row["gap_to_overall"]),
                    _number(row["score"]),
                    _("undefined") if row["adjusted_p_value"] is None else fill("{value:.2g}", value=row["adjusted_p_value"]),
                    _("yes") if row["flagged"] else _("no"),
                ]
            )
        lines += _table(headers, rows)
        grouped = [row for row in result["slices"] if row["overlapping"]]
        if grouped:
            lines.append("")
            lines.append(_("Overlapping slices grouped under a reported one:"))
            for row in grouped:
                members = row["overlapping"]
                names = "; ".join(member["description"] for member in members[:_GROUPED_SHOWN])
                if len(members) > _GROUPED_SHOWN:
                    names += _(" and {count} more", count=len(members) - _GROUPED_SHOWN)
                lines.append(_("  {rank}. {names}", rank=row["rank"], names=names))
    return "\n".join(lines) + "\n"


# Flagged (label, confident label) pairs named in text output; JSON output has them all.
_FLAGGED_PAIRS_SHOWN = 5


def render_label_errors(report: dict[str, Any]) -> str:
    """Render suspected label errors: the totals and thresholds, the most common flagged pairs, then the ranked examples."""
    lines = [_("Dataset: {name}", name=report["dataset"])]
    if report["filter"]["description"]:
        lines.append(_("Filter: {description}", description=report["filter"]["description"]))
    lines.append(
        ngettext(
            "Suspected label errors by confident learning: {flagged} of {count} ranked example flagged.",
            "Suspected label errors by confident learning: {flagged} of {count} ranked examples flagged.",
            report["examples_ranked"],
            flagged=report["flagged"],
        )
    )
    lines.append(
        _("Examples are ranked by label quality (normalized margin), lowest first: the lower it is, the more the model prefers another class.")
    )
    for note in report["notes"]:
        lines.append(_("  note: {message}", message=note))
    thresholds = ", ".join(
        f"{name} {_number(value)}" for name, value in report["thresholds"].items()
    )
    lines.append(_("Thresholds (mean probability of each class over the examples labelled with it): {thresholds}", thresholds=thresholds))

    pairs = report["flagged_pairs"]
    if pairs:
        lines.append("")
        lines.append(_("Most common flagged pairs (given label -> confident label):"))
        for pair in pairs[:_FLAGGED_PAIRS_SHOWN]:
            lines.append(
                ngettext(
                    "  {label} -> {confident_label}: {count} example",
                    "  {label} -> {confident_label}: {count} examples",
                    pair["examples"],
                    label=pair["label"],
                    confident_label=pair["confident_label"],
                )
            )

    if report["examples"]:
        lines.append("")
        headers = [_("rank"), _("id"), _("label"), _("suggested label"), _("p(label)"), _("p(suggested)"), _("label quality"), _("flagged")]
        rows = [
            [
                str(row["rank"]),
                str(row["id"]),
                row["label"],
                row["suggested_label"],
                _number(row["label_probability"], 4),
                _number(row["suggested_probability"], 4),
                _number(row["label_quality"], 4),
                _("yes") if row["flagged"] else _("no"),
            ]
            for row in report["examples"]
        ]
        lines += _table(headers, rows)
    shown_last = report["offset"] + len(report["examples"])
    total = report["flagged"] if report["flagged_only"] else report["examples_ranked"]
    if shown_last < total:
        lines.append(_("  ... {count} more; raise --top to see them", count=total - shown_last))
    return "\n".join(lines) + "\n"
