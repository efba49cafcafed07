"""Comparing two runs on the same examples: deltas overall, per class, per slice and per tag, with McNemar's test.

Run A is the reference and run B the run compared with it; every delta is
B minus A. Both runs are scored against the dataset as it is now (its labels,
metadata and tags, with the global filter), over the analysed examples that
both runs predict. An example is **fixed** when A gets it wrong and B right,
and **broken** when A gets it right and B wrong.

Accuracy differences are tested with McNemar's test on the paired
predictions of each group (the whole data, the examples of one label, one
slice, one tag). Only the discordant examples count: with ``fixed + broken``
under :data:`EXACT_BELOW` the exact binomial test is used, else the
chi-square test with continuity correction (statsmodels'
``contingency_tables.mcnemar``). The p-values of every group of one
comparison are adjusted together with Holm's method, and a difference is
significant when its adjusted p-value is below ``[statistics] alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from analysis.filters import ExampleFilter
from analysis.fingerprints import SNAPSHOT_COLUMNS, VersionChange, compare_snapshots, snapshot_sql
from analysis.i18n import _, ngettext
from analysis.metrics import class_metrics
from analysis.run_store import ORIGIN_BASELINE, stored_version
from analysis.runs import RunCatalog, run_relation
from analysis.slices import ordered_values
from analysis.workspace import Workspace

# McNemar's exact test is used when fewer discordant examples than this.
EXACT_BELOW = 25

MCNEMAR_EXACT = "mcnemar_exact"
MCNEMAR_CHI_SQUARE = "mcnemar_chi_square"

KIND_OVERALL = "overall"
KIND_CLASS = "class"
KIND_SLICE = "slice"
KIND_TAG = "tag"

# Aggregates of the paired examples of one group, in the column order of :class:`GroupDelta`'s counts.
_COUNTS = (
    "count(*) AS n, count(*) FILTER (WHERE ok_a) AS correct_a, count(*) FILTER (WHERE ok_b) AS correct_b, "
    "count(*) FILTER (WHERE NOT ok_a AND ok_b) AS fixed, count(*) FILTER (WHERE ok_a AND NOT ok_b) AS broken"
)


def mcnemar_test(fixed: int, broken: int) -> tuple[float, str]:
    """Return the two-sided p-value of McNemar's test on the discordant counts and the test's name."""
    exact = fixed + broken < EXACT_BELOW
    result = mcnemar([[0, broken], [fixed, 0]], exact=exact, correction=True)
    return float(result.pvalue), MCNEMAR_EXACT if exact else MCNEMAR_CHI_SQUARE


@dataclass
class GroupDelta:
    """Accuracy of runs A and B on one group of paired examples, the fixed and broken counts and the test of the difference."""

    kind: str
    group: str
    examples: int
    correct_a: int
    correct_b: int
    fixed: int
    broken: int
    attribute: str | None = None
    value: str | None = None
    p_value: float = math.nan
    test: str | None = None
    p_adjusted: float = math.nan
    significant: bool = False
    # Per class only: precision and F1 of each run (NaN when undefined).
    precision_a: float | None = None
    precision_b: float | None = None
    f1_a: float | None = None
    f1_b: float | None = None

    @property
    def accuracy_a(self) -> float:
        return self.correct_a / self.examples if self.examples else math.nan

    @property
    def accuracy_b(self) -> float:
        return self.correct_b / self.examples if self.examples else math.nan

    @property
    def delta(self) -> float:
        """Accuracy of B minus accuracy of A (positive: B is better)."""
        return self.accuracy_b - self.accuracy_a

    def as_dict(self) -> dict[str, object]:
        row: dict[str, object] = {"kind": self.kind, "group": self.group}
        if self.kind == KIND_SLICE:
            row.update(attribute=self.attribute, value=self.value)
        row.update(
            examples=self.examples,
            accuracy_a=_number(self.accuracy_a),
            accuracy_b=_number(self.accuracy_b),
            delta=_number(self.delta),
            fixed=self.fixed,
            broken=self.broken,
            p_value=_number(self.p_value),
            test=self.test,
            p_adjusted=_number(self.p_adjusted),
            significant=self.significant,
        )
        if self.kind == KIND_CLASS:
            row.update(
                precision_a=_number(self.precision_a),
                precision_b=_number(self.precision_b),
                f1_a=_number(self.f1_a),
                f1_b=_number(self.f1_b),
            )
        return row


@dataclass
class VersionNote:
    """A difference of dataset versions behind a comparison: between the two runs, or between a run and the dataset now.

    ``change`` is None when the workspace no longer contains the older
    version's per-example hashes, so the changes cannot be counted.
    """

    subject: str
    version_from: str
    version_to: str
    change: VersionChange | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "version_from": self.version_from,
            "version_to": self.version_to,
            "changes": None if self.change is None else self.change.as_dict(),
            "message": self.message,
        }


@dataclass
class Comparison:
    """Run B against run A: the overall, per-class, per-slice and per-tag deltas and the dataset-version notes."""

    run_a: str
    run_b: str
    examples: int
    only_a: int
    only_b: int
    overall: GroupDelta
    macro_f1_a: float
    macro_f1_b: float
    balanced_accuracy_a: float
    balanced_accuracy_b: float
    classes: list[GroupDelta]
    slices: list[GroupDelta]
    tags: list[GroupDelta]
    alpha: float
    versions: list[VersionNote] = field(default_factory=list)
    filter_description: str | None = None

    @property
    def groups(self) -> list[GroupDelta]:
        return [self.overall, *self.classes, *self.slices, *self.tags]

    def as_dict(self) -> dict[str, object]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "examples": self.examples,
            "examples_only_in_a": self.only_a,
            "examples_only_in_b": self.only_b,
            "filter": self.filter_description,
            "alpha": self.alpha,
            "adjustment": "holm",
            "comparisons": len(self.groups),
            "overall": {
                **self.overall.as_dict(),
                "macro_f1_a": _number(self.macro_f1_a),
                "macro_f1_b": _number(self.macro_f1_b),
                "balanced_accuracy_a": _number(self.balanced_accuracy_a),
                "balanced_accuracy_b": _number(self.balanced_accuracy_b),
            },
            "classes": [group.as_dict() for group in self.classes],
            "slices": [group.as_dict() for group in self.slices],
            "tags": [group.as_dict() for group in self.tags],
            "dataset_versions": [note.as_dict() for note in self.versions],
        }


def _number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


# Computing a comparison ------------------------------------------------------------------------------


def _pairs(catalog: RunCatalog, run_a: str, run_b: str, example_filter: ExampleFilter | None, with_id: bool = False) -> tuple[str, list[object]]:
    """Return the query of the paired examples (``label``, ``pred_a``, ``pred_b``, ``ok_a``, ``ok_b`` and the attribute and tag columns) and its parameters.

    ``with_id`` adds the id as text, ``example_id``.
    """
    dataset = catalog.dataset
    relation_a, params_a = run_relation(catalog, run_a)
    relation_b, params_b = run_relation(catalog, run_b)
    where, filter_params = (example_filter or ExampleFilter()).where(dataset)
    columns = [f"e.{attribute.alias}" for attribute in dataset.attributes] + [f"e.{tag.alias}" for tag in dataset.tags]
    leading = ["CAST(e.id AS VARCHAR) AS example_id"] if with_id else []
    selected = ", ".join([*leading, "e.label", "a.prediction AS pred_a", "b.prediction AS pred_b", "a.prediction = e.label AS ok_a", "b.prediction = e.label AS ok_b", *columns])
    sql = (
        f"SELECT {selected} FROM (SELECT * FROM {dataset.view} WHERE {where}) AS e "
        f"JOIN {relation_a} AS a ON CAST(e.id AS VARCHAR) = a.id JOIN {relation_b} AS b ON CAST(e.id AS VARCHAR) = b.id"
    )
    return sql, [*filter_params, *params_a, *params_b]


def compare_runs(
    catalog: RunCatalog,
    run_a: str,
    run_b: str,
    example_filter: ExampleFilter | None = None,
    workspace: Workspace | None = None,
    key: str | None = None,
) -> Comparison:
    """Compare run ``run_b`` with the reference ``run_a`` on the examples both predict (see the module docstring).

    ``workspace`` and ``key`` let the comparison count what changed between
    the dataset versions of logged runs. Raises :class:`~analysis.InputError`
    for an unknown run name.
    """
    dataset = catalog.dataset
    record_a, record_b = catalog.run(run_a), catalog.run(run_b)
    pairs, params = _pairs(catalog, run_a, run_b, example_filter)
    engine = dataset.engine

    overall_row = engine.query(f"SELECT {_COUNTS} FROM ({pairs})", params).iloc[0]
    overall = _group(KIND_OVERALL, _("all examples"), overall_row)
    confusion = engine.query(
        f"SELECT label, pred_a, pred_b, count(*) AS n FROM ({pairs}) GROUP BY label, pred_a, pred_b", params
    )
    classes, metrics_a, metrics_b = _class_deltas(engine, pairs, params, confusion)
    slices = _slice_deltas(catalog, pairs, params)
    tags = _tag_deltas(catalog, pairs, params)

    comparison = Comparison(
        run_a=run_a,
        run_b=run_b,
        examples=overall.examples,
        only_a=_only_in(catalog, run_a, run_b, example_filter),
        only_b=_only_in(catalog, run_b, run_a, example_filter),
        overall=overall,
        macro_f1_a=metrics_a[0],
        macro_f1_b=metrics_b[0],
        balanced_accuracy_a=metrics_a[1],
        balanced_accuracy_b=metrics_b[1],
        classes=classes,
        slices=slices,
        tags=tags,
        alpha=dataset.config.alpha,
        filter_description=example_filter.describe() if example_filter else None,
    )
    _test_groups(comparison.groups, dataset.config.alpha)
    comparison.versions = version_notes(catalog, [record_a, record_b], workspace, key)
    return comparison


def _group(kind: str, group: str, row: pd.Series, **extra: object) -> GroupDelta:
    return GroupDelta(
        kind=kind,
        group=group,
        examples=int(row["n"]),
        correct_a=int(row["correct_a"]),
        correct_b=int(row["correct_b"]),
        fixed=int(row["fixed"]),
        broken=int(row["broken"]),
        **extra,
    )


def _class_deltas(engine, pairs: str, params: list[object], confusion: pd.DataFrame) -> tuple[list[GroupDelta], tuple[float, float], tuple[float, float]]:
    """Return one delta per class (on the examples with that label) and each run's (macro F1, balanced accuracy)."""
    frame = engine.query(f"SELECT label, {_COUNTS} FROM ({pairs}) GROUP BY label", params)
    if confusion.empty:
        return [], (math.nan, math.nan), (math.nan, math.nan)

    confusion_a = confusion.groupby(["label", "pred_a"], as_index=False)["n"].sum().rename(columns={"pred_a": "prediction"})
    confusion_b = confusion.groupby(["label", "pred_b"], as_index=False)["n"].sum().rename(columns={"pred_b": "prediction"})
    classes = sorted(set(confusion_a["label"]) | set(confusion_a["prediction"]) | set(confusion_b["prediction"]))
    # Both runs share one class list, so a class only one run predicts still has a row for the other.
    padding = pd.DataFrame({"label": classes, "prediction": classes, "n": 0})
    metrics_a = class_metrics(pd.concat([confusion_a, padding]))
    metrics_b = class_metrics(pd.concat([confusion_b, padding]))

    by_label = frame.set_index("label")
    deltas = []
    for index, name in enumerate(metrics_a.classes):
        if name not in by_label.index:
            continue
        deltas.append(
            _group(
                KIND_CLASS,
                name,
                by_label.loc[name],
                precision_a=float(metrics_a.precision[index]),
                precision_b=float(metrics_b.precision[index]),
                f1_a=float(metrics_a.f1[index]),
                f1_b=float(metrics_b.f1[index]),
            )
        )
    return (
        deltas,
        (metrics_a.macro(metrics_a.f1), metrics_a.balanced_accuracy),
        (metrics_b.macro(metrics_b.f1), metrics_b.balanced_accuracy),
    )


def _slice_deltas(catalog: RunCatalog, pairs: str, params: list[object]) -> list[GroupDelta]:
    deltas = []
    for attribute in catalog.dataset.attributes:
        frame = catalog.dataset.engine.query(f"SELECT {attribute.alias} AS value, {_COUNTS} FROM ({pairs}) GROUP BY 1", params)
        frame["value"] = frame["value"].astype(str)
        by_value = frame.set_index("value")
        for value in ordered_values(attribute, frame):
            group = _("{attribute} = {value}", attribute=attribute.name, value=value)
            deltas.append(_group(KIND_SLICE, group, by_value.loc[value], attribute=attribute.name, value=value))
    return deltas


def _tag_deltas(catalog: RunCatalog, pairs: str, params: list[object]) -> list[GroupDelta]:
    tags = catalog.dataset.tags
    if not tags:
        return []
    parts = []
    for index, tag in enumerate(tags):
        condition = f"{tag.alias}"
        parts.append(
            f"count(*) FILTER (WHERE {condition}) AS n{index}, count(*) FILTER (WHERE {condition} AND ok_a) AS correct_a{index}, "
            f"count(*) FILTER (WHERE {condition} AND ok_b) AS correct_b{index}, count(*) FILTER (WHERE {condition} AND NOT ok_a AND ok_b) AS fixed{index}, "
            f"count(*) FILTER (WHERE {condition} AND ok_a AND NOT ok_b) AS broken{index}"
        )
    row = catalog.dataset.engine.query(f"SELECT {', '.join(parts)} FROM ({pairs})", params).iloc[0]
    deltas = []
    for index, tag in enumerate(tags):
        counts = pd.Series({name: row[f"{name}{index}"] for name in ("n", "correct_a", "correct_b", "fixed", "broken")})
        if int(counts["n"]) == 0:
            continue
        deltas.append(_group(KIND_TAG, tag.name, counts))
    return deltas


def _only_in(catalog: RunCatalog, name: str, other: str, example_filter: ExampleFilter | None) -> int:
    """Count the analysed examples (under the filter) that run ``name`` predicts and run ``other`` does not."""
    dataset = catalog.dataset
    relation, params = run_relation(catalog, name)
    other_relation, other_params = run_relation(catalog, other)
    where, filter_params = (example_filter or ExampleFilter()).where(dataset)
    sql = (
        f"SELECT count(*) FROM (SELECT CAST(id AS VARCHAR) AS id FROM {dataset.view} WHERE {where}) AS e "
        f"WHERE e.id IN (SELECT id FROM {relation}) AND e.id NOT IN (SELECT id FROM {other_relation})"
    )
    return int(dataset.engine.rows(sql, [*filter_params, *params, *other_params])[0][0])


def _test_groups(groups: list[GroupDelta], alpha: float) -> None:
    """Run McNemar's test on every group and adjust the p-values together with Holm's method."""
    for group in groups:
        if group.examples:
            group.p_value, group.test = mcnemar_test(group.fixed, group.broken)
    tested = [group for group in groups if not math.isnan(group.p_value)]
    if not tested:
        return
    _reject, adjusted, _sidak, _bonferroni = multipletests(np.array([group.p_value for group in tested]), alpha=alpha, method="holm")
    for group, value in zip(tested, adjusted):
        group.p_adjusted = float(value)
        group.significant = bool(value < alpha)


def changed_ids(catalog: RunCatalog, run_a: str, run_b: str, change: str) -> list[str]:
    """Return the ids (as text) of the analysed examples that ``change`` (``fixed`` or ``broken``) describes from run A to run B."""
    if change not in ("fixed", "broken"):
        raise ValueError(f"change must be fixed or broken, not {change!r}")
    pairs, params = _pairs(catalog, run_a, run_b, None, with_id=True)
    condition = "NOT ok_a AND ok_b" if change == "fixed" else "ok_a AND NOT ok_b"
    return [row[0] for row in catalog.dataset.engine.rows(f"SELECT example_id FROM ({pairs}) WHERE {condition} ORDER BY example_id", params)]


def predictions_of_runs(catalog: RunCatalog, run_a: str, run_b: str, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Return the predictions of run A and run B for each of ``ids`` (ids as text), for one page of examples."""
    if not ids:
        return {}
    pairs, params = _pairs(catalog, run_a, run_b, None, with_id=True)
    marks = ", ".join("?" for _id in ids)
    rows = catalog.dataset.engine.rows(f"SELECT example_id, pred_a, pred_b FROM ({pairs}) WHERE example_id IN ({marks})", [*params, *ids])
    return {row[0]: (row[1], row[2]) for row in rows}


# Metrics of every run ---------------------------------------------------------------------------------

RUN_METRICS = ("accuracy", "error_rate", "macro_f1", "balanced_accuracy")


def run_metrics(catalog: RunCatalog, example_filter: ExampleFilter | None = None) -> pd.DataFrame:
    """Return one row per run of the catalog: ``run``, ``examples`` (analysed examples it predicts) and :data:`RUN_METRICS`.

    The metrics are computed on the dataset as it is now, under the filter,
    from one confusion count per (run, label, prediction). A metric without
    examples is NaN.
    """
    dataset = catalog.dataset
    where, params = (example_filter or ExampleFilter()).where(dataset)
    confusion = dataset.engine.query(
        f"SELECT r.run, e.label, r.prediction, count(*) AS n FROM (SELECT * FROM {dataset.view} WHERE {where}) AS e "
        f"JOIN {catalog.table} AS r ON CAST(e.id AS VARCHAR) = r.id GROUP BY ALL",
        params,
    )
    rows = []
    for run in catalog.runs:
        counts = confusion[confusion["run"] == run.name]
        if counts.empty:
            rows.append({"run": run.name, "examples": 0, **{metric: math.nan for metric in RUN_METRICS}})
            continue
        metrics = class_metrics(counts)
        rows.append(
            {
                "run": run.name,
                "examples": metrics.total,
                "accuracy": metrics.accuracy,
                "error_rate": 1 - metrics.accuracy,
                "macro_f1": metrics.macro(metrics.f1),
                "balanced_accuracy": metrics.balanced_accuracy,
            }
        )
    return pd.DataFrame(rows, columns=["run", "examples", *RUN_METRICS])


# Dataset versions -----------------------------------------------------------------------------------


def version_notes(catalog: RunCatalog, records: list, workspace: Workspace | None, key: str | None) -> list[VersionNote]:
    """Say which dataset versions differ among the runs ``records`` and the dataset now, and what changed between them."""
    notes = []
    record_a, record_b = records
    current = catalog.current.version
    if record_a.dataset_version != record_b.dataset_version:
        change = _change(catalog, record_a.dataset_version, record_b.dataset_version, workspace, key)
        subject = _("Runs {a} and {b} were made on different dataset versions ({first} and {second})", a=record_a.name, b=record_b.name, first=record_a.dataset_version, second=record_b.dataset_version)
        notes.append(VersionNote("runs", record_a.dataset_version, record_b.dataset_version, change, _describe(subject, change)))
    for record in records:
        if record.origin == ORIGIN_BASELINE or record.dataset_version == current:
            continue
        change = _change(catalog, record.dataset_version, current, workspace, key)
        subject = _("Run {name} was logged on dataset version {old}; the dataset is now version {new}", name=record.name, old=record.dataset_version, new=current)
        notes.append(VersionNote(record.name, record.dataset_version, current, change, _describe(subject, change)))
    return notes


def _change(catalog: RunCatalog, before: str, after: str, workspace: Workspace | None, key: str | None) -> VersionChange | None:
    tables = []
    columns = []
    for version in (before, after):
        loaded = _snapshot_table(catalog, version, workspace, key)
        if loaded is None:
            return None
        tables.append(loaded[0])
        columns.append(loaded[1])
    return compare_snapshots(catalog.dataset.engine, tables[0], tables[1], columns[0], columns[1])


def _snapshot_table(catalog: RunCatalog, version: str, workspace: Workspace | None, key: str | None) -> tuple[str, tuple[str, ...]] | None:
    """Return a DuckDB table holding the per-example hashes of ``version`` and its metadata columns, or None when they are not known."""
    engine = catalog.dataset.engine
    table = f"version_{version}_{catalog.table}"
    if version == catalog.current.version:
        if not engine.has_relation(table):
            sql, params, _columns = snapshot_sql(catalog.dataset)
            engine.create_table_as(table, sql, params)
        return table, catalog.current.metadata_columns
    if workspace is None or key is None:
        return None
    stored = stored_version(workspace, key, version)
    if stored is None:
        return None
    details, frame = stored
    if not engine.has_relation(table):
        engine.create_table(table, frame[list(SNAPSHOT_COLUMNS)])
    return table, details.metadata_columns


def _describe(subject: str, change: VersionChange | None) -> str:
    if change is None:
        return _("{subject}. The workspace does not hold the older version's contents, so what changed cannot be counted.", subject=subject)
    # Each ngettext call is written out, so the catalog extractor finds both forms.
    counted = (
        (change.labels, lambda count: ngettext("{count} label changed", "{count} labels changed", count)),
        (change.metadata, lambda count: ngettext("{count} example's metadata changed", "{count} examples' metadata changed", count)),
        (change.tags, lambda count: ngettext("{count} example's tags changed", "{count} examples' tags changed", count)),
        (change.added, lambda count: ngettext("{count} example added", "{count} examples added", count)),
        (change.removed, lambda count: ngettext("{count} example removed", "{count} examples removed", count)),
    )
    parts = [describe(count) for count, describe in counted if count]
    if change.columns_added:
        parts.append(_("metadata columns added: {names}", names=", ".join(change.columns_added)))
    if change.columns_removed:
        parts.append(_("metadata columns removed: {names}", names=", ".join(change.columns_removed)))
    if not parts:
        parts.append(_("no example changed"))
    return _("{subject}: {changes}. Both runs are scored on the dataset as it is now.", subject=subject, changes="; ".join(parts))
