"""The error-analysis tag table and what-if estimates.

Per tag: how common it is, how often the model fails on it, what share of all
errors carries it, and how much overall accuracy would rise if the model
reached human-level performance (HLP) on it. Examples carrying no tag form the
untagged group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.counting import Counts
from analysis.errors import InputError
from analysis.i18n import _
from analysis.model import UNTAGGED, Dataset
from analysis.stats import ratio, wilson_interval


def tag_table(dataset: Dataset, counts: Counts, hlp: dict[str, float] | None = None) -> list[dict]:
    """Return one row per tag and one for the untagged group."""
    hlp = dataset.hlp if hlp is None else hlp
    combinations = counts.tag_combinations
    total = int(combinations["n"].sum())
    total_errors = int(combinations["errors"].sum())

    groups = [(tag.name, combinations[tag.alias]) for tag in dataset.tags]
    if dataset.tags:
        no_tag = ~combinations[[t.alias for t in dataset.tags]].any(axis=1)
    else:
        no_tag = pd.Series(True, index=combinations.index)
    groups.append((UNTAGGED, no_tag))

    rows = []
    for name, mask in groups:
        n = int(combinations.loc[mask, "n"].sum())
        errors = int(combinations.loc[mask, "errors"].sum())
        accuracy = 1 - ratio(errors, n)
        target = hlp.get(name, math.nan)
        room = target - accuracy
        share = ratio(n, total)
        low, high = wilson_interval(errors, n, dataset.config.confidence_level)
        rows.append(
            {
                "tag": name,
                "count": n,
                "share_of_data": share,
                "errors": errors,
                "error_rate": ratio(errors, n),
                "ci_low": low,
                "ci_high": high,
                "share_of_errors": ratio(errors, total_errors),
                "accuracy": accuracy,
                "hlp": target,
                "room_for_improvement": room,
                "potential_gain": share * max(room, 0.0) if not math.isnan(room) else math.nan,
            }
        )
    return rows


# Column of the tag combinations marking the untagged group; tag aliases are t0, t1, ...
_UNTAGGED_COLUMN = "untagged"


@dataclass
class WhatIf:
    """Overall accuracy before and after the selected tags reach their target accuracies."""

    targets: dict[str, float]
    examples_affected: int
    accuracy_before: float
    accuracy_after: float

    @property
    def gain(self) -> float:
        return self.accuracy_after - self.accuracy_before


def what_if(dataset: Dataset, counts: Counts, targets: dict[str, float]) -> WhatIf:
    """Estimate overall accuracy if each tag in ``targets`` reached its target accuracy.

    The estimate works on the union of the selected tags' examples, so an
    example with two selected tags counts once. Examples are grouped by which
    selected tags they carry. Each group is raised to the highest target among
    its tags, but never lowered below its current accuracy. The untagged group
    can be given a target under the name ``(untagged)``.
    """
    for name, target in targets.items():
        if name != UNTAGGED:
            dataset.tag(name)
        if not 0 <= target <= 1:
            raise InputError(
                _("The target accuracy {value} for tag '{tag}' is not between 0 and 1.", value=target, tag=name),
                _("Give targets as fractions, for example 0.93."),
            )
    combinations = counts.tag_combinations.copy()
    tag_aliases = [tag.alias for tag in dataset.tags]
    combinations[_UNTAGGED_COLUMN] = ~combinations[tag_aliases].any(axis=1) if tag_aliases else True
    total = int(combinations["n"].sum())
    correct_before = total - int(combinations["errors"].sum())
    if not targets:
        accuracy = ratio(correct_before, total)
        return WhatIf({}, 0, accuracy, accuracy)

    aliases = {
        (_UNTAGGED_COLUMN if name == UNTAGGED else dataset.tag(name).alias): target for name, target in targets.items()
    }
    columns = list(aliases)
    affected = combinations[combinations[columns].any(axis=1)]
    groups = affected.groupby(columns, as_index=False)[["n", "errors"]].sum()
    targets_per_group = groups[columns].apply(
        lambda row: max(aliases[alias] for alias in columns if row[alias]), axis=1
    )
    correct = groups["n"] - groups["errors"]
    raised = pd.concat([correct.astype(float), targets_per_group * groups["n"]], axis=1).max(axis=1)
    correct_after = correct_before - int(correct.sum()) + float(raised.sum())
    return WhatIf(
        targets=dict(targets),
        examples_affected=int(groups["n"].sum()),
        accuracy_before=ratio(correct_before, total),
        accuracy_after=ratio(correct_after, total),
    )
