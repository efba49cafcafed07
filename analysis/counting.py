"""The one pass over ``examples`` that every number of the summary comes from.

A single GROUPING SETS query returns, in a few hundred rows at most:

- counts per (label, prediction) pair: the confusion matrix;
- counts and errors per (attribute value, label): slices and their label mix;
- counts and errors per combination of tags present: the tag table, the
  untagged group and any what-if over a set of tags.

Scanning the joined files once keeps a 10-million-row summary within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.expressions import MISSING, OTHER
from analysis.model import STATUS_ANALYSED, Attribute, Dataset


@dataclass
class Counts:
    """Small count tables; every summary number is computed from these."""

    confusion: pd.DataFrame  # label, prediction, n, errors
    slices: dict[str, pd.DataFrame]  # attribute alias -> value, label, n, errors
    tag_combinations: pd.DataFrame  # t0, t1, ..., n, errors
    # Rows of both files per status (analysed, unmatched_metadata, ...), when counted over example_rows.
    row_statuses: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(self.confusion["n"].sum())

    @property
    def errors(self) -> int:
        return int(self.confusion["errors"].sum())


def count_examples(dataset: Dataset, where: str = "true", params: tuple = ()) -> Counts:
    """Count the analysed examples, optionally restricted by a filter condition on ``examples``.

    ``where`` is SQL built by the caller from generated aliases only, with its
    values in ``params``. Without a filter, the counts made when the dataset
    was opened are returned.
    """
    if where == "true" and not params and dataset.counts is not None:
        return dataset.counts
    return _count(dataset, dataset.view, where, params, with_statuses=False)


def count_rows(dataset: Dataset) -> Counts:
    """Count every row of both files by status, and the analysed examples, in one pass over ``example_rows``."""
    return _count(dataset, "example_rows", "true", (), with_statuses=True)


def _count(dataset: Dataset, view: str, where: str, params: tuple, with_statuses: bool) -> Counts:
    coded = dataset.classes is not None
    label, prediction = ("label_code", "prediction_code") if coded else ("label", "prediction")
    attribute_columns = [attribute.raw_alias or attribute.alias for attribute in dataset.attributes]
    tag_aliases = [t.alias for t in dataset.tags]
    group_columns = [label, prediction, *attribute_columns, *tag_aliases]

    sets = [f"({label}, {prediction})"]
    sets += [f"({column}, {label})" for column in attribute_columns]
    if tag_aliases:
        sets.append(f"({', '.join(tag_aliases)})")
    analysed = "true"
    if with_statuses:
        group_columns.append("row_status")
        sets.append("(row_status)")
        analysed = f"row_status = '{STATUS_ANALYSED}'"
    grouping = [f"GROUPING({column}) AS g_{column}" for column in group_columns]

    frame = dataset.engine.query(
        f"""
        SELECT {', '.join(group_columns)}, {', '.join(grouping)},
            CAST(count(*) AS BIGINT) AS rows,
            CAST(count(*) FILTER (WHERE {analysed}) AS BIGINT) AS n,
            CAST(count(*) FILTER (WHERE {analysed} AND is_error) AS BIGINT) AS errors
        FROM {view}
        WHERE {where}
        GROUP BY GROUPING SETS ({', '.join(sets)})
        """,
        params,
    )
    row_statuses = {}
    if with_statuses:
        status_rows = frame[frame["g_row_status"] == 0]
        row_statuses = {status: int(rows) for status, rows in zip(status_rows["row_status"], status_rows["rows"])}
        # Groups made only of rows that are not analysed count nothing.
        frame = frame[(frame["g_row_status"] == 1) & (frame["n"] > 0)]
    if coded:
        # Codes are 1-based positions in the class list.
        decode = dict(enumerate(dataset.classes, start=1))
        frame = frame.assign(
            label=frame[label].map(decode),
            prediction=frame[prediction].map(decode),
            g_label=frame[f"g_{label}"],
            g_prediction=frame[f"g_{prediction}"],
        )

    confusion_rows = frame[(frame["g_label"] == 0) & (frame["g_prediction"] == 0)]
    confusion = confusion_rows[["label", "prediction", "n", "errors"]].reset_index(drop=True)
    slices = {}
    for attribute, column in zip(dataset.attributes, attribute_columns):
        rows = frame[(frame[f"g_{column}"] == 0) & (frame["g_prediction"] == 1)]
        part = rows[[column, "label", "n", "errors"]].rename(columns={column: "value"})
        if attribute.raw_alias is not None:
            part = _fold_raw_values(attribute, part)
        slices[attribute.alias] = part.reset_index(drop=True)
    if tag_aliases:
        rows = frame[frame[f"g_{tag_aliases[0]}"] == 0]
        tag_combinations = rows[[*tag_aliases, "n", "errors"]].astype({alias: bool for alias in tag_aliases}).reset_index(drop=True)
    else:
        tag_combinations = pd.DataFrame({"n": [int(confusion["n"].sum())], "errors": [int(confusion["errors"].sum())]})
    return Counts(confusion, slices, tag_combinations, row_statuses)


def _fold_raw_values(attribute: Attribute, part: pd.DataFrame) -> pd.DataFrame:
    """Turn counts per raw value into counts per slice: missing values and values outside the kept ones get their own slice."""
    values = part["value"].astype(object)
    values = values.where(values.notna(), MISSING)
    if attribute.kind == "top_values":
        values = values.where(values.isin(attribute.bins) | (values == MISSING), OTHER)
    folded = part.assign(value=values, label=part["label"].astype(object))
    return folded.groupby(["value", "label"], dropna=False, as_index=False, sort=False)[["n", "errors"]].sum()
