"""The one pass over ``examples`` that every number of the summary comes from.

A single GROUPING SETS query returns, in a few hundred rows at most:

- counts per (label, prediction) pair: the confusion matrix;
- counts and errors per (attribute value, label): slices and their label mix;
- counts and errors per combination of tags present: the tag table, the
  untagged group and any what-if over a set of tags.

Scanning the joined files once keeps a 10-million-row summary within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.dataset import Dataset


@dataclass
class Counts:
    """Small count tables; every summary number is computed from these."""

    confusion: pd.DataFrame  # label, prediction, n, errors
    slices: dict[str, pd.DataFrame]  # attribute alias -> value, label, n, errors
    tag_combinations: pd.DataFrame  # t0, t1, ..., n, errors

    @property
    def total(self) -> int:
        return int(self.confusion["n"].sum())

    @property
    def errors(self) -> int:
        return int(self.confusion["errors"].sum())


def count_examples(dataset: Dataset, where: str = "true", params: tuple = ()) -> Counts:
    """Run the single counting query, optionally restricted by a filter condition on ``examples``.

    ``where`` is SQL built by the caller from generated aliases only, with its
    values in ``params``.
    """
    attribute_aliases = [a.alias for a in dataset.attributes]
    tag_aliases = [t.alias for t in dataset.tags]
    group_columns = ["label", "prediction", *attribute_aliases, *tag_aliases]

    sets = ["(label, prediction)"]
    sets += [f"({alias}, label)" for alias in attribute_aliases]
    if tag_aliases:
        sets.append(f"({', '.join(tag_aliases)})")
    grouping = [f"GROUPING({column}) AS g_{column}" for column in group_columns]

    frame = dataset.engine.query(
        f"""
        SELECT {', '.join(group_columns)}, {', '.join(grouping)},
            CAST(count(*) AS BIGINT) AS n,
            CAST(count(*) FILTER (WHERE is_error) AS BIGINT) AS errors
        FROM examples
        WHERE {where}
        GROUP BY GROUPING SETS ({', '.join(sets)})
        """,
        params,
    )

    confusion_rows = frame[(frame["g_label"] == 0) & (frame["g_prediction"] == 0)]
    confusion = confusion_rows[["label", "prediction", "n", "errors"]].reset_index(drop=True)
    slices = {}
    for alias in attribute_aliases:
        rows = frame[(frame[f"g_{alias}"] == 0) & (frame["g_prediction"] == 1)]
        slices[alias] = rows[[alias, "label", "n", "errors"]].rename(columns={alias: "value"}).reset_index(drop=True)
    if tag_aliases:
        rows = frame[frame[f"g_{tag_aliases[0]}"] == 0]
        tag_combinations = rows[[*tag_aliases, "n", "errors"]].astype({alias: bool for alias in tag_aliases}).reset_index(drop=True)
    else:
        tag_combinations = pd.DataFrame({"n": [int(confusion["n"].sum())], "errors": [int(confusion["errors"].sum())]})
    return Counts(confusion, slices, tag_combinations)
