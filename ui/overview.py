"""Sections of the overview page, each drawing one part of a dataset's summary."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis import Dataset
from analysis.charts import (
    class_distribution_figure,
    confusion_matrix_figure,
    tag_share_figure,
)
from analysis.i18n import _
from analysis.model import MODE_CORRECT_FLAG, MODE_PER_EXAMPLE_SCORE
from ui.errors import escape_markdown
from ui.examples_page import examples_link
from ui.formatting import (
    count,
    interval,
    percent,
    percent_column,
    points,
    points_column,
    score,
    show_notes,
    show_table,
    signed_points,
)
from ui.url_state import notice_ignored, read_value, shared_parameters, write_value

# The confusion matrix view in the URL: ?matrix=counts (default) or ?matrix=normalised.
MATRIX = "matrix"
MATRIX_COUNTS = "counts"
MATRIX_NORMALISED = "normalised"
_MATRIX_KEY = "overview_matrix_view"

# Headline metrics shown side by side.
_METRICS_PER_ROW = 3


# Header and load report --------------------------------------------------------


def show_header(dataset: Dataset, summary: dict[str, Any]) -> None:
    st.title(escape_markdown(summary["dataset"]))
    if dataset.config.description:
        st.markdown(escape_markdown(dataset.config.description))


def show_load_report(summary: dict[str, Any]) -> None:
    """Show how many rows were analysed, every load warning, and the rows left out by reason."""
    st.caption(
        _(
            "Analysed {matched} examples from {rows} prediction rows.",
            matched=count(summary["matched"]),
            rows=count(summary["rows"]),
        )
    )
    for warning in summary["load_warnings"]:
        st.warning(escape_markdown(warning["message"]), icon=":material/warning:")

    dropped = summary["dropped"]
    total = sum(dropped.values())
    if total == 0:
        return
    reasons = {
        "missing_id": _("prediction rows without an id"),
        "unmatched_predictions": _("predictions with no row in the metadata file"),
        "unmatched_metadata": _("metadata rows with no prediction"),
        "missing_label": _("examples without a label"),
        "missing_prediction": _("examples without a prediction or outcome"),
    }
    with st.expander(_("Rows left out of the analysis: {count}", count=count(total))):
        frame = pd.DataFrame(
            {"reason": [reasons.get(code, code) for code in dropped], "rows": list(dropped.values())}
        )
        show_table(frame, {"reason": _("reason"), "rows": st.column_config.NumberColumn(_("rows"), format="localized")})


# Headline metrics --------------------------------------------------------------


def show_headline_metrics(dataset: Dataset, summary: dict[str, Any]) -> None:
    """Show the headline metrics; an undefined one reads "undefined (n = 0)" and its help gives the reason."""
    overall = summary["overall"]
    # Each metric: summary path (for its note), label, shown value, help text.
    metrics = [
        ("overall.examples", _("Examples"), count(overall["examples"]), _("Examples analysed, after the rows left out.")),
        ("overall.accuracy", _("Accuracy"), percent(overall["accuracy"]), _("Share of examples without an error.")),
        ("overall.error_rate", _("Error rate"), percent(overall["error_rate"]), _("Share of examples with an error: 1 - accuracy.")),
    ]
    if dataset.has_classes:
        imbalance = summary["imbalance"]
        metrics += [
            (
                "overall.balanced_accuracy",
                _("Balanced accuracy"),
                percent(overall["balanced_accuracy"]),
                _("Mean of the per-class recalls, so every class counts the same however rare it is."),
            ),
            (
                "overall.macro_f1",
                _("Macro F1"),
                score(overall["macro_f1"]),
                _("Mean of the per-class F1 scores, between 0 and 1."),
            ),
            (
                "imbalance.majority_class_accuracy",
                _("Majority-class accuracy"),
                percent(imbalance["majority_class_accuracy"]),
                _(
                    "Accuracy of a model that always answers '{label}', the most common label. "
                    "A useful model must do clearly better.",
                    label=imbalance["majority_class"],
                ),
            ),
        ]
    # Rows of three keep values such as "20,000" whole in a laptop-wide window; six in a row cut them off.
    columns = [column for start in range(0, len(metrics), _METRICS_PER_ROW) for column in st.columns(_METRICS_PER_ROW)]
    for column, (path, label, value, help_text) in zip(columns, metrics):
        note = summary["notes"].get(path)
        if note:
            help_text = f"{help_text}\n\n{note}"
        column.metric(label, value, help=escape_markdown(help_text), border=True)


# Classes -------------------------------------------------------------------------


def show_no_classes(dataset: Dataset) -> None:
    """Explain in one line why class sections are missing in per-example score and correct-flag modes."""
    if dataset.mode == MODE_PER_EXAMPLE_SCORE:
        direction = _("above") if dataset.config.error_when == "above" else _("below")
        text = _(
            "This dataset has no classes: an example is an error when its score in column '{column}' is {direction} {threshold:g}, "
            "so per-class metrics and class balance do not apply.",
            column=dataset.score_column,
            direction=direction,
            threshold=dataset.config.error_threshold,
        )
    elif dataset.mode == MODE_CORRECT_FLAG:
        text = _(
            "This dataset has no classes: column '{column}' marks each example as correct or not, "
            "so per-class metrics and class balance do not apply.",
            column=dataset.correct_column,
        )
    else:
        text = _("This dataset has no classes, so per-class metrics and class balance do not apply.")
    st.info(escape_markdown(text), icon=":material/info:")


def _worst_recall_sentence(summary: dict[str, Any]) -> str:
    """Say how many examples of the class with the lowest recall the model finds, as counts a reader can picture."""
    classes = summary["classes"]
    matrix = summary["confusion_matrix"]["counts"]
    measured = [(row["recall"], index) for index, row in enumerate(classes) if row["recall"] is not None]
    if not measured:
        return ""
    recall, index = min(measured)
    row = classes[index]
    return _(
        "It finds only {found} of the {support} '{label}' examples ({recall}).",
        found=count(matrix[index][index]),
        support=count(row["support"]),
        label=row["label"],
        recall=percent(recall),
    )


def _imbalance_headline(code: str, label: str, summary: dict[str, Any]) -> tuple[str, str]:
    """Return a plain-language title and explanation for an imbalance warning code."""
    if code == "accuracy_near_majority":
        accuracy = summary["overall"]["accuracy"]
        baseline = summary["imbalance"]["majority_class_accuracy"]
        title = _(
            "Accuracy {accuracy} is no better than always answering '{label}' ({baseline})",
            accuracy=percent(accuracy),
            label=label,
            baseline=percent(baseline),
        )
        explanation = _(
            "Most examples are '{label}', so a model that never looks at the input would score about the same.",
            label=label,
        )
        worst = _worst_recall_sentence(summary)
        if worst:
            explanation += " " + worst
        explanation += " " + _("Judge the model by balanced accuracy and by the recall of each class in the table below.")
        return title, explanation
    texts = {
        "rare_class": (
            _("Class '{label}' is rare", label=label),
            _("With so few examples, a handful of predictions can move its precision and recall a lot. Read them together with the support."),
        ),
        "never_predicted": (
            _("The model never predicts '{label}'", label=label),
            _("Every example of this class is counted as an error, whatever else the model gets right."),
        ),
        "zero_recall": (
            _("The model misses every '{label}' example", label=label),
            _("The model does predict '{label}' sometimes, but never for an example that really is '{label}'.", label=label),
        ),
        "single_class": (
            _("All labels are '{label}'", label=label),
            _("With a single class there is nothing to tell apart, so the per-class metrics say little."),
        ),
    }
    return texts.get(code, (_("Class balance"), ""))


def show_imbalance(summary: dict[str, Any]) -> None:
    """Show each imbalance warning as a callout: a plain title, the summary's message and what it means."""
    imbalance = summary["imbalance"]
    for warning in imbalance["warnings"]:
        title, explanation = _imbalance_headline(warning["code"], warning["label"], summary)
        body = f"**{escape_markdown(title)}**\n\n{escape_markdown(warning['message'])}"
        if explanation:
            body += " " + escape_markdown(explanation)
        st.warning(body, icon=":material/balance:")


def show_classes(summary: dict[str, Any]) -> None:
    st.subheader(_("Per class"))
    imbalance = summary["imbalance"]
    balance = _("The most common label is '{label}' ({share}).", label=imbalance["majority_class"], share=percent(imbalance["majority_share"]))
    if imbalance["imbalance_ratio"] is not None:
        balance += " " + _("The largest class is {ratio:.1f} times the smallest.", ratio=imbalance["imbalance_ratio"])
    st.caption(escape_markdown(balance))
    shares = imbalance["class_shares"]
    frame = pd.DataFrame(
        {
            "label": [row["label"] for row in summary["classes"]],
            "support": [row["support"] for row in summary["classes"]],
            "share": [shares.get(row["label"]) for row in summary["classes"]],
            "predicted": [row["predicted"] for row in summary["classes"]],
            "precision": [row["precision"] for row in summary["classes"]],
            "recall": [row["recall"] for row in summary["classes"]],
            "f1": [row["f1"] for row in summary["classes"]],
        }
    )
    show_table(
        frame,
        {
            "label": _("class"),
            "support": st.column_config.NumberColumn(_("support"), help=_("Examples with this label."), format="localized"),
            "share": percent_column(_("share of labels")),
            "predicted": st.column_config.NumberColumn(_("predicted"), help=_("Examples predicted as this class."), format="localized"),
            "precision": percent_column(_("precision"), _("Of the examples predicted as this class, the share that really are.")),
            "recall": percent_column(_("recall"), _("Of the examples of this class, the share the model finds.")),
            "f1": st.column_config.NumberColumn(_("F1"), help=_("Harmonic mean of precision and recall."), format="%.3f"),
        },
    )
    show_notes(summary, "classes[")
    st.plotly_chart(class_distribution_figure(summary["classes"]), key=f"class_chart:{summary['dataset']}")


def _select_matrix_view() -> str:
    """Draw the counts / row-normalised toggle, kept in step with ``?matrix=``, and return the view."""
    views = [MATRIX_COUNTS, MATRIX_NORMALISED]
    text = read_value(MATRIX)
    chosen = MATRIX_COUNTS
    if text in views:
        chosen = text
    elif text is not None:
        notice_ignored(MATRIX, text, _("use {counts} or {normalised}.", counts=MATRIX_COUNTS, normalised=MATRIX_NORMALISED))
        write_value(MATRIX, None)
    st.session_state[_MATRIX_KEY] = chosen
    labels = {MATRIX_COUNTS: _("Counts"), MATRIX_NORMALISED: _("Share of each label")}
    st.segmented_control(
        _("Show"),
        views,
        format_func=labels.get,
        key=_MATRIX_KEY,
        on_change=_store_matrix_view,
        help=_("Share of each label divides every row by its total, so the diagonal is each class's recall."),
    )
    return chosen


def _store_matrix_view() -> None:
    # A segmented control can be cleared by clicking the chosen option again; that means the default.
    value = st.session_state.get(_MATRIX_KEY) or MATRIX_COUNTS
    write_value(MATRIX, None if value == MATRIX_COUNTS else value)


def show_confusion(summary: dict[str, Any]) -> None:
    """Show the confusion matrix as a heatmap (counts or row shares) and the most-confused pairs."""
    st.subheader(_("Confusion matrix"))
    view = _select_matrix_view()
    matrix = summary["confusion_matrix"]
    st.plotly_chart(
        confusion_matrix_figure(matrix["classes"], matrix["counts"], normalised=view == MATRIX_NORMALISED),
        key=f"confusion_matrix:{summary['dataset']}",
    )

    pairs = summary["confused_pairs"]
    if not pairs:
        st.caption(_("The model confuses no pair of classes."))
        return
    st.markdown(_("**Most-confused pairs**: the label and the class predicted in its place, most frequent first."))
    frame = pd.DataFrame(
        {
            "label": [pair["label"] for pair in pairs],
            "prediction": [pair["prediction"] for pair in pairs],
            "count": [pair["count"] for pair in pairs],
        }
    )
    show_table(
        frame,
        {
            "label": _("label"),
            "prediction": _("predicted as"),
            "count": st.column_config.NumberColumn(_("examples"), format="localized"),
        },
    )
    show_pair_links(pairs)


# Links to the examples of the most-confused pairs, one per pair.
LINKED_PAIRS = 5


def show_pair_links(pairs: list[dict[str, Any]]) -> None:
    """Link the examples of each of the most-confused pairs in the Examples page."""
    st.caption(_("Look at the examples of a pair:"))
    columns = st.columns(min(len(pairs), LINKED_PAIRS))
    for column, pair in zip(columns, pairs[:LINKED_PAIRS]):
        examples_link(
            column,
            _("{label} predicted as {prediction}", label=escape_markdown(str(pair["label"])), prediction=escape_markdown(str(pair["prediction"]))),
            label=str(pair["label"]),
            prediction=str(pair["prediction"]),
        )


# Slices --------------------------------------------------------------------------


# How many slices the Overview lists; the Slices page shows every one.
WORST_SLICES = 10


def show_slices(dataset: Dataset, summary: dict[str, Any]) -> None:
    """List the slices of at least min_support examples that are furthest above overall, and link to the Slices page."""
    st.subheader(_("Worst slices"))
    rows = summary["slices"]
    if not rows:
        st.info(_("No attribute to slice by: add a metadata file, or list its columns under [slices] attributes."))
        return

    # Tiny slices have the most extreme rates by chance, so they would crowd out the real findings.
    min_support = dataset.config.min_support
    worse = [row for row in rows if row["count"] >= min_support and (row["gap_to_overall"] or 0) > 0]
    table_rows = sorted(worse, key=lambda row: -row["gap_to_overall"])[:WORST_SLICES]
    if not table_rows:
        st.info(_("No slice of at least {count} examples has an error rate above the overall error rate.", count=min_support))
        _link_slices_page()
        return
    st.caption(
        _(
            "The slices of at least {count} examples whose error rate is furthest above the overall error rate, over every attribute.",
            count=min_support,
        )
    )
    level = _("{level:.0%} interval", level=dataset.config.confidence_level)
    frame = pd.DataFrame(
        {
            "column": [row["column"] for row in table_rows],
            "value": [row["value"] for row in table_rows],
            "count": [row["count"] for row in table_rows],
            "share": [row["share"] for row in table_rows],
            "accuracy": [row["accuracy"] for row in table_rows],
            "error_rate": [row["error_rate"] for row in table_rows],
            "interval": [interval(row["ci_low"], row["ci_high"]) for row in table_rows],
            "gap_to_overall": [points(row["gap_to_overall"]) for row in table_rows],
        }
    )
    show_table(
        frame,
        {
            "column": _("attribute"),
            "value": st.column_config.TextColumn(_("value"), width="medium"),
            "count": st.column_config.NumberColumn(_("count"), format="localized"),
            "share": percent_column(_("share"), _("Share of all examples in this slice.")),
            "accuracy": percent_column(_("accuracy")),
            "error_rate": percent_column(_("error rate")),
            "interval": st.column_config.TextColumn(level, help=_("Wilson score interval of the error rate.")),
            "gap_to_overall": points_column(
                _("gap to overall"), _("Slice error rate minus overall error rate; positive means the slice is worse.")
            ),
        },
    )
    _link_slices_page()


def _link_slices_page() -> None:
    st.page_link(
        "pages/1_Slices.py",
        label=_("See every slice, with charts and examples, on the Slices page"),
        icon=":material/segment:",
        query_params=shared_parameters(),
    )


# Tags and what-if ---------------------------------------------------------------------


def show_tags(summary: dict[str, Any]) -> None:
    st.subheader(_("Tags"))
    rows = summary["tags"]
    if len(rows) == 1:
        st.caption(
            escape_markdown(
                _(
                    "The dataset defines no tags, so every example is in the untagged group. "
                    "Tags come from boolean tag_* columns of the metadata file, or from the [tags] section of the dataset file."
                )
            )
        )
    frame = pd.DataFrame(
        {
            "tag": [row["tag"] for row in rows],
            "count": [row["count"] for row in rows],
            "share_of_data": [row["share_of_data"] for row in rows],
            "error_rate": [row["error_rate"] for row in rows],
            "share_of_errors": [row["share_of_errors"] for row in rows],
            "accuracy": [row["accuracy"] for row in rows],
            "hlp": [row["hlp"] for row in rows],
            "room_for_improvement": [points(row["room_for_improvement"]) for row in rows],
            "potential_gain": [points(row["potential_gain"]) for row in rows],
        }
    )
    show_table(
        frame,
        {
            "tag": _("tag"),
            "count": st.column_config.NumberColumn(_("count"), format="localized"),
            "share_of_data": percent_column(_("share of data")),
            "error_rate": percent_column(_("error rate")),
            "share_of_errors": percent_column(_("share of errors"), _("Share of all errors that carry this tag.")),
            "accuracy": percent_column(_("accuracy")),
            # Wide enough that "undefined" is not cut when no HLP is given.
            "hlp": percent_column(_("HLP"), _("Human-level accuracy on this tag, from the HLP file."), width="medium"),
            "room_for_improvement": points_column(_("room for improvement"), _("HLP minus the model's accuracy on this tag.")),
            "potential_gain": points_column(
                _("potential gain"),
                _("Overall accuracy gained if the model reached HLP on this tag: share of data times room for improvement."),
            ),
        },
    )
    show_notes(summary, "tags[")
    if len(rows) > 1:
        st.plotly_chart(tag_share_figure(rows), key=f"tag_chart:{summary['dataset']}")


def show_what_if(summary: dict[str, Any]) -> None:
    st.subheader(_("What if"))
    estimate = summary["what_if"]
    if not estimate["targets"]:
        note = summary["notes"].get("what_if", "")
        st.info(
            escape_markdown(note + " " + _("To get an estimate, add an HLP file with one tag,hlp row per tag and name it under [files] hlp.")),
            icon=":material/info:",
        )
        return
    targets = ", ".join(
        _("{tag} at {accuracy}", tag=escape_markdown(tag), accuracy=percent(value)) for tag, value in estimate["targets"].items()
    )
    st.markdown(
        _(
            "If the model reached its target accuracy on each tag ({targets}), overall accuracy would change as below. "
            "{count} examples carry at least one of these tags.",
            targets=targets,
            count=count(estimate["examples_affected"]),
        )
    )
    before, after = st.columns(2)
    before.metric(_("Accuracy now"), percent(estimate["accuracy_before"]), border=True)
    after.metric(
        _("Accuracy after"),
        percent(estimate["accuracy_after"]),
        delta=signed_points(estimate["gain"]),
        border=True,
    )
