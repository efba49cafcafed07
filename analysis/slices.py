"""Slice metrics: error rate per attribute value, with a Wilson interval and the gap to overall."""

from __future__ import annotations

import pandas as pd

from analysis.counting import Counts
from analysis.expressions import MISSING, OTHER
from analysis.metrics import sort_classes
from analysis.model import Attribute, Dataset
from analysis.stats import ratio, wilson_interval


def slice_table(dataset: Dataset, counts: Counts) -> list[dict]:
    """Return one row per (attribute, value) with count, share, accuracy, error rate and interval."""
    total = counts.total
    overall_error_rate = ratio(counts.errors, total)
    rows = []
    for attribute in dataset.attributes:
        frame = counts.slices[attribute.alias]
        totals = frame.groupby("value", sort=False)[["n", "errors"]].sum()
        labelled = frame[frame["label"].notna()]
        distributions = {
            value: dict(zip(part["label"], part["n"])) for value, part in labelled.groupby("value", sort=False)
        }
        for value in ordered_values(attribute, frame):
            n = int(totals.at[value, "n"])
            errors = int(totals.at[value, "errors"])
            error_rate = ratio(errors, n)
            low, high = wilson_interval(errors, n, dataset.config.confidence_level)
            distribution = distributions.get(value, {})
            rows.append(
                {
                    "column": attribute.name,
                    "value": value,
                    "count": n,
                    "share": ratio(n, total),
                    "errors": errors,
                    "accuracy": 1 - error_rate,
                    "error_rate": error_rate,
                    "ci_low": low,
                    "ci_high": high,
                    "gap_to_overall": error_rate - overall_error_rate,
                    "label_distribution": {label: int(distribution[label]) for label in sort_classes(distribution)},
                }
            )
    return rows


def ordered_values(attribute: Attribute, frame: pd.DataFrame) -> list[str]:
    """Order slice values: bins in numeric order, kept top values by size, others naturally; (other) and (missing) last."""
    present = set(frame["value"])
    special = [v for v in (OTHER, MISSING) if v in present]
    if attribute.kind in ("quantile_bins", "top_values"):
        ordered = [v for v in attribute.bins if v in present]
    else:
        ordered = sort_classes(present - {OTHER, MISSING})
    return ordered + special
