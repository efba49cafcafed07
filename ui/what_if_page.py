"""The What-if page: target accuracies per tag, the estimate for a set of tags, and the priority list.

URL parameters, each validated with a notice when a value cannot be used:

- ``tags``: the tags whose examples are raised, repeated; an empty value
  means none, and without the parameter every tag with an HLP is chosen;
- ``target=TAG:VALUE``: target accuracy as a fraction between 0 and 1,
  repeated; a tag without one uses its HLP, or its current accuracy when it
  has no HLP;
- ``ease=TAG:VALUE`` and ``importance=TAG:VALUE``: weights between 0.5 and 2,
  repeated; a tag without one uses 1.

Only values that differ from the defaults are written to the URL.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from analysis.charts import points_per_effort_figure
from analysis.i18n import _
from analysis.priority import (
    WEIGHT_DEFAULT,
    WEIGHT_MAX,
    WEIGHT_MIN,
    default_target,
    priority_list,
)
from ui.data import filter_key
from ui.errors import escape_markdown, stop_on_analysis_error
from ui.formatting import (
    count,
    percent,
    percent_column,
    points,
    points_column,
    show_table,
    signed_points,
)
from ui.page import PageContext
from ui.url_state import notice_ignored, read_values, write_values
from ui.workspace import WorkspaceState

TAGS = "tags"
TARGET = "target"
EASE = "ease"
IMPORTANCE = "importance"

_TAGS_KEY = "what_if_tags"
# Widget keys per tag: one slider of each kind.
_SLIDER_PREFIX = {TARGET: "what_if_target:", EASE: "what_if_ease:", IMPORTANCE: "what_if_importance:"}
_CACHED_PRIORITIES = 64


class Selection:
    """The page's choices: selected tags, and per tag a target accuracy, an ease and an importance."""

    def __init__(self, tags: list[str], targets: dict[str, float], ease: dict[str, float], importance: dict[str, float]):
        self.tags = tags
        self.targets = targets
        self.ease = ease
        self.importance = importance

    def chosen_targets(self) -> dict[str, float]:
        """Return the targets of the selected tags, as the what-if estimate takes them."""
        return {tag: self.targets[tag] for tag in self.tags if tag in self.targets}


# Reading the URL ---------------------------------------------------------------------


def read_selection(summary: dict[str, Any], dataset_tags: list[str]) -> tuple[Selection, dict[str, float]]:
    """Read the selection from the URL, dropping invalid values with a notice; return it with the default targets.

    ``summary`` gives the tag rows (for the defaults) and ``dataset_tags`` the
    tags with an HLP chosen when the URL names none.
    """
    rows = summary["tags"]
    names = [row["tag"] for row in rows]
    defaults = {row["tag"]: default_target(row) for row in rows}
    defaults = {tag: value for tag, value in defaults.items() if value is not None}

    raw = read_values(TAGS)
    if not raw:
        tags = [row["tag"] for row in rows if row["tag"] in dataset_tags and row["hlp"] is not None]
    else:
        tags = []
        for name in dict.fromkeys(value for value in raw if value != ""):
            if name in names:
                tags.append(name)
            else:
                notice_ignored(TAGS, name, _("the dataset has no tag of that name."))
    targets = {**defaults, **_read_pairs(TARGET, names, 0.0, 1.0, _("a target is an accuracy between 0 and 1, for example 0.95."))}
    ease = _read_pairs(EASE, names, WEIGHT_MIN, WEIGHT_MAX, _weight_reason())
    importance = _read_pairs(IMPORTANCE, names, WEIGHT_MIN, WEIGHT_MAX, _weight_reason())
    selection = Selection(tags, targets, ease, importance)
    write_selection(selection, defaults, raw_tags_given=bool(raw))
    return selection, defaults


def _weight_reason() -> str:
    return _("a weight is a number between {low} and {high}, for example 1.5.", low=WEIGHT_MIN, high=WEIGHT_MAX)


def _read_pairs(name: str, tags: list[str], low: float, high: float, range_reason: str) -> dict[str, float]:
    """Read repeated ``TAG:VALUE`` parameters; the last valid value per tag wins."""
    values: dict[str, float] = {}
    for text in read_values(name):
        tag, separator, number = text.rpartition(":")
        if not separator:
            notice_ignored(name, text, _("write it as TAG:VALUE, for example car_noise:0.95."))
            continue
        if tag not in tags:
            notice_ignored(name, text, _("the dataset has no tag '{tag}'.", tag=tag))
            continue
        try:
            value = float(number)
        except ValueError:
            notice_ignored(name, text, _("'{number}' is not a number.", number=number))
            continue
        if math.isnan(value) or not low <= value <= high:
            notice_ignored(name, text, range_reason)
            continue
        values[tag] = value
    return values


def write_selection(selection: Selection, defaults: dict[str, float], raw_tags_given: bool = True) -> None:
    """Write the selection to the URL, leaving out values equal to their defaults."""
    if raw_tags_given or selection.tags:
        # An empty value keeps "no tag chosen" apart from "no parameter", which chooses the tags with HLP.
        write_values(TAGS, selection.tags or [""])
    write_values(TARGET, [f"{tag}:{value:g}" for tag, value in selection.targets.items() if not _same(value, defaults.get(tag))])
    write_values(EASE, [f"{tag}:{value:g}" for tag, value in selection.ease.items() if not _same(value, WEIGHT_DEFAULT)])
    write_values(IMPORTANCE, [f"{tag}:{value:g}" for tag, value in selection.importance.items() if not _same(value, WEIGHT_DEFAULT)])


def _same(value: float, default: float | None) -> bool:
    return default is not None and math.isclose(value, default, abs_tol=1e-9)


# Widgets -----------------------------------------------------------------------------


def select_tags(selection: Selection, names: list[str], defaults: dict[str, float]) -> None:
    st.session_state[_TAGS_KEY] = list(selection.tags)
    st.multiselect(
        _("Tags whose examples reach their target"),
        names,
        key=_TAGS_KEY,
        on_change=_store_widgets,
        args=(names, defaults),
        placeholder=_("Choose tags"),
        help=_("The estimate raises every example that carries at least one chosen tag, once, to the highest target among its tags."),
    )


def select_targets_and_weights(selection: Selection, rows: list[dict[str, Any]], defaults: dict[str, float], names: list[str]) -> None:
    """Draw, per tag, a target accuracy slider and the ease and importance sliders."""
    st.subheader(_("Targets, ease and importance"))
    st.caption(
        _(
            "A target defaults to the tag's HLP, or to its current accuracy when it has no HLP. "
            "Ease and importance run from 0.5 (half) to 2 (double), 1 being an average tag."
        )
    )
    for row in rows:
        tag = row["tag"]
        label, target, ease, importance = st.columns([2, 3, 2, 2])
        label.markdown(f"**{escape_markdown(tag)}**")
        label.caption(
            _("accuracy {accuracy}, HLP {hlp}", accuracy=percent(row["accuracy"]), hlp=percent(row["hlp"]))
        )
        if tag in selection.targets:
            key = _SLIDER_PREFIX[TARGET] + tag
            st.session_state[key] = 100 * selection.targets[tag]
            target.slider(
                _("target accuracy of {tag} (%)", tag=tag),
                min_value=0.0,
                max_value=100.0,
                step=0.1,
                format="%.1f%%",
                key=key,
                on_change=_store_widgets,
                args=(names, defaults),
            )
        else:
            target.caption(_("No examples carry this tag, so it has no target."))
        for column, kind, values in ((ease, EASE, selection.ease), (importance, IMPORTANCE, selection.importance)):
            key = _SLIDER_PREFIX[kind] + tag
            st.session_state[key] = values.get(tag, WEIGHT_DEFAULT)
            column.slider(
                _("ease of {tag}", tag=tag) if kind == EASE else _("importance of {tag}", tag=tag),
                min_value=WEIGHT_MIN,
                max_value=WEIGHT_MAX,
                step=0.1,
                key=key,
                on_change=_store_widgets,
                args=(names, defaults),
            )


def _store_widgets(names: list[str], defaults: dict[str, float]) -> None:
    """Write every widget's value to the URL, so the next run reads the new selection from it."""
    state = st.session_state
    targets = {}
    for tag in names:
        key = _SLIDER_PREFIX[TARGET] + tag
        if key in state:
            value = state[key] / 100
            default = defaults.get(tag)
            # A slider left at its default shows it rounded to 0.1%; keep the exact default then.
            targets[tag] = default if default is not None and abs(100 * default - state[key]) < 0.05 else round(value, 4)
    ease = {tag: state[_SLIDER_PREFIX[EASE] + tag] for tag in names if _SLIDER_PREFIX[EASE] + tag in state}
    importance = {tag: state[_SLIDER_PREFIX[IMPORTANCE] + tag] for tag in names if _SLIDER_PREFIX[IMPORTANCE] + tag in state}
    tags = list(state.get(_TAGS_KEY, []))
    write_selection(Selection(tags, targets, ease, importance), defaults)


# Results -------------------------------------------------------------------------------


def show_estimate(summary: dict[str, Any], selection: Selection) -> None:
    estimate = summary["what_if"]
    if not selection.tags:
        st.info(_("Choose one or more tags to see how much overall accuracy would rise."), icon=":material/info:")
        return
    targets = ", ".join(
        _("{tag} at {accuracy}", tag=escape_markdown(tag), accuracy=percent(value)) for tag, value in estimate["targets"].items()
    )
    st.markdown(
        _(
            "If the model reached its target accuracy on each chosen tag ({targets}), overall accuracy would change as below. "
            "The estimate works on the union of the chosen tags' examples: an example with several chosen tags counts once, "
            "at the highest of their targets, and no group of examples is lowered.",
            targets=targets,
        )
    )
    before, after, affected = st.columns(3)
    before.metric(_("Accuracy now"), percent(estimate["accuracy_before"]), border=True)
    after.metric(_("Accuracy after"), percent(estimate["accuracy_after"]), delta=signed_points(estimate["gain"]), border=True)
    affected.metric(_("Examples affected"), count(estimate["examples_affected"]), border=True)


def priorities(context: PageContext, state: WorkspaceState, summary: dict[str, Any], selection: Selection) -> list[dict[str, Any]]:
    """Return the priority list, cached per dataset fingerprint, filter, workspace change counter and selection."""
    with st.spinner(_("Ranking the tags of {name} by priority…", name=context.folder.name)), stop_on_analysis_error():
        return _priorities(
            str(context.folder),
            context.fingerprint,
            *filter_key(context.example_filter),
            state.counter,
            tuple(sorted(selection.targets.items())),
            tuple(sorted(selection.ease.items())),
            tuple(sorted(selection.importance.items())),
            summary["tags"],
        )


# Arguments other than _rows are the cache key; _rows follow from them.
@st.cache_data(max_entries=_CACHED_PRIORITIES, show_spinner=False)
def _priorities(folder, fingerprint, keep, exclude, counter, targets, ease, importance, _rows) -> list[dict[str, Any]]:
    return priority_list(_rows, dict(targets), dict(ease), dict(importance))


def show_priorities(rows: list[dict[str, Any]]) -> None:
    st.subheader(_("Priority list"))
    st.markdown(
        _(
            "**score = potential gain × ease × importance**, where potential gain = share of data × max(target − accuracy, 0), "
            "in points of overall accuracy. The highest score is the tag to work on first."
        )
    )
    frame = pd.DataFrame(
        {
            "rank": [row["rank"] for row in rows],
            "tag": [row["tag"] for row in rows],
            "share_of_data": [row["share_of_data"] for row in rows],
            "accuracy": [row["accuracy"] for row in rows],
            "target": [row["target"] for row in rows],
            "room_for_improvement": [points(row["room_for_improvement"]) for row in rows],
            "potential_gain": [points(row["potential_gain"]) for row in rows],
            "ease": [row["ease"] for row in rows],
            "importance": [row["importance"] for row in rows],
            "score": [None if row["score"] is None else 100 * row["score"] for row in rows],
        }
    )
    show_table(
        frame,
        {
            "rank": st.column_config.NumberColumn(_("rank")),
            "tag": _("tag"),
            "share_of_data": percent_column(_("share of data")),
            "accuracy": percent_column(_("accuracy")),
            "target": percent_column(_("target")),
            "room_for_improvement": points_column(_("room for improvement"), _("Target minus the model's accuracy on this tag.")),
            "potential_gain": points_column(_("potential gain"), _("Share of data times the room for improvement, when positive.")),
            "ease": st.column_config.NumberColumn(_("ease"), format="%.1f"),
            "importance": st.column_config.NumberColumn(_("importance"), format="%.1f"),
            "score": st.column_config.NumberColumn(_("score"), help=_("Potential gain in points times ease times importance."), format="%.3f"),
        },
    )
    st.caption(
        _(
            "The chart counts effort as 1 / ease, so each bar is the potential gain in points times ease: "
            "the tallest bar is where the next point of accuracy is cheapest."
        )
    )
    st.plotly_chart(points_per_effort_figure(rows), key="what_if_effort_chart")

