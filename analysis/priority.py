"""The priority list: which tag to work on first.

Each tag (and the untagged group) is scored as

    score = potential gain x ease x importance

where potential gain = share of data x max(target - accuracy, 0) is the rise
in overall accuracy if the model reached the target accuracy on the tag. The
target is the tag's HLP unless the user chose another one. Ease (how cheap the
tag is to improve, for example by collecting or relabelling data) and
importance (how much the tag matters to the product) are set per tag between
0.5 and 2, with 1 as neutral.

Effort is taken as 1 / ease, so the accuracy points gained per unit of effort
are potential gain x ease: where the next point of accuracy is cheapest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.errors import InputError
from analysis.i18n import _

WEIGHT_MIN = 0.5
WEIGHT_MAX = 2.0
WEIGHT_DEFAULT = 1.0


def default_target(row: Mapping[str, Any]) -> float | None:
    """Return a tag's default target: its HLP, else its current accuracy (None when it has no examples)."""
    if row.get("hlp") is not None and not _is_nan(row["hlp"]):
        return float(row["hlp"])
    if row.get("accuracy") is None or _is_nan(row["accuracy"]):
        return None
    return float(row["accuracy"])


def priority_list(
    tags: list[Mapping[str, Any]],
    targets: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Rank the rows of a tag table (the summary's ``tags`` list) by score, highest first.

    ``targets`` maps tags to target accuracies (default: :func:`default_target`),
    ``ease`` and ``importance`` map tags to weights between 0.5 and 2 (default 1).
    A tag without examples has no accuracy, so its gain and score are None and
    it comes last. Ties keep the order of ``tags``. Raises
    :class:`~analysis.InputError` for a target outside 0..1, a weight outside
    0.5..2, or a tag that is not in ``tags``.
    """
    targets = dict(targets or {})
    ease = dict(ease or {})
    importance = dict(importance or {})
    names = [row["tag"] for row in tags]
    _check_known(names, targets, ease, importance)
    for tag, value in targets.items():
        if _is_nan(value) or not 0 <= value <= 1:
            raise InputError(
                _("The target accuracy {value} for tag '{tag}' is not between 0 and 1.", value=value, tag=tag),
                _("Give targets as fractions, for example 0.93."),
            )
    for label, weights in ((_("ease"), ease), (_("importance"), importance)):
        for tag, value in weights.items():
            if _is_nan(value) or not WEIGHT_MIN <= value <= WEIGHT_MAX:
                raise InputError(
                    _("The {weight} {value} for tag '{tag}' is not between {low} and {high}.", weight=label, value=value, tag=tag, low=WEIGHT_MIN, high=WEIGHT_MAX),
                    _("Use 1 for an average tag, up to {high} for one twice as easy or important, down to {low} for half.", low=WEIGHT_MIN, high=WEIGHT_MAX),
                )

    rows = []
    for position, row in enumerate(tags):
        name = row["tag"]
        accuracy = row.get("accuracy")
        defined = accuracy is not None and not _is_nan(accuracy)
        target = targets.get(name, default_target(row))
        tag_ease = float(ease.get(name, WEIGHT_DEFAULT))
        tag_importance = float(importance.get(name, WEIGHT_DEFAULT))
        if defined and target is not None:
            room = target - accuracy
            gain = row["share_of_data"] * max(room, 0.0)
            score = gain * tag_ease * tag_importance
            points_per_effort = 100 * gain * tag_ease
        else:
            room = gain = score = points_per_effort = None
        rows.append(
            {
                "tag": name,
                "count": row["count"],
                "share_of_data": row["share_of_data"],
                "accuracy": accuracy if defined else None,
                "target": target,
                "room_for_improvement": room,
                "potential_gain": gain,
                "ease": tag_ease,
                "importance": tag_importance,
                "score": score,
                "points_per_effort": points_per_effort,
                "_position": position,
            }
        )
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["_position"]))
    for rank, row in enumerate(rows, 1):
        del row["_position"]
        row["rank"] = rank
    return rows


def _check_known(names: list[str], *selections: Mapping[str, float]) -> None:
    known = set(names)
    for selection in selections:
        for tag in selection:
            if tag not in known:
                raise InputError(
                    _("Unknown tag '{tag}'.", tag=tag),
                    _("Known tags: {names}.", names=", ".join(names) or _("none")),
                )


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
