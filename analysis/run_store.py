"""Logged runs in the workspace database: the run record, its hyperparameters, its predictions and the dataset version it was logged on.

A run is logged in one write transaction (``BEGIN IMMEDIATE``), so two
processes logging at once queue for SQLite's lock instead of failing, and a
run is stored whole or not at all. The per-example hashes of a dataset
version are stored once per version, with the first run logged on it, so the
changes between two versions can be counted later (:mod:`analysis.fingerprints`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from analysis.errors import InputError
from analysis.fingerprints import SNAPSHOT_COLUMNS, DatasetVersion
from analysis.i18n import _
from analysis.workspace import Workspace

log = logging.getLogger(__name__)

ORIGIN_FILE = "file"
ORIGIN_WORKSPACE = "workspace"
ORIGIN_BASELINE = "baseline"


@dataclass(frozen=True)
class RunRecord:
    """One run: its name, where it comes from, when it was made, its code and dataset versions, hyperparameters and notes.

    ``origin`` is ``file`` (a run file named in ``[runs]``), ``workspace`` (a
    logged run) or ``baseline`` (the majority-class predictor). ``time`` is
    ISO 8601 in UTC, or None when unknown. ``examples`` counts its predictions.
    """

    name: str
    origin: str
    time: str | None
    code_version: str | None
    code_dirty: bool | None
    dataset_version: str
    predictions_fingerprint: str
    examples: int
    params: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    source: str | None = None
    logged_by: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "origin": self.origin,
            "time": self.time,
            "code_version": self.code_version,
            "code_dirty": self.code_dirty,
            "dataset_version": self.dataset_version,
            "predictions_fingerprint": self.predictions_fingerprint,
            "examples": self.examples,
            "params": dict(self.params),
            "notes": self.notes,
            "source": self.source,
            "logged_by": self.logged_by,
        }


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_run(
    workspace: Workspace,
    dataset: str,
    record: RunRecord,
    predictions: pd.DataFrame,
    version: DatasetVersion,
    snapshot: pd.DataFrame,
) -> RunRecord:
    """Store ``record`` with its ``predictions`` (columns ``id``, ``prediction``) for ``dataset`` in one transaction.

    ``snapshot`` (the columns of :data:`~analysis.fingerprints.SNAPSHOT_COLUMNS`)
    is stored when ``version`` is new to the workspace. Raises
    :class:`~analysis.InputError` when the dataset already has a run of
    that name, and :class:`~analysis.workspace.WorkspaceReadOnlyError` in a
    read-only workspace. Returns the record as stored, with its time and author.
    """
    stored = RunRecord(**{**record.__dict__, "origin": ORIGIN_WORKSPACE, "time": record.time or now_text(), "logged_by": workspace.user})
    with workspace.transaction() as connection:
        taken = connection.execute("SELECT 1 FROM runs WHERE dataset = ? AND name = ?", (dataset, stored.name)).fetchone()
        if taken is not None:
            raise InputError(
                _("The dataset {dataset} already has a run named '{name}' in the workspace {file}.", dataset=dataset, name=stored.name, file=workspace.path),
                _("Give the run another name with --name."),
            )
        cursor = connection.execute(
            "INSERT INTO runs (dataset, name, logged_by, logged_at, code_version, code_dirty, dataset_version, "
            "predictions_fingerprint, examples, source, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dataset,
                stored.name,
                stored.logged_by,
                stored.time,
                stored.code_version,
                None if stored.code_dirty is None else int(stored.code_dirty),
                stored.dataset_version,
                stored.predictions_fingerprint,
                stored.examples,
                stored.source,
                stored.notes,
            ),
        )
        run_id = int(cursor.lastrowid)
        connection.executemany("INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)", [(run_id, key, value) for key, value in stored.params.items()])
        connection.executemany(
            "INSERT INTO run_predictions (run_id, example_id, prediction) VALUES (?, ?, ?)",
            ((run_id, example_id, prediction) for example_id, prediction in predictions[["id", "prediction"]].itertuples(index=False)),
        )
        _save_version(connection, dataset, version, snapshot)
        workspace.count_change(connection)
    log.info("Workspace %s: %s logged run %s of %s (%d predictions)", workspace.path, stored.logged_by, stored.name, dataset, stored.examples)
    return stored


def _save_version(connection: sqlite3.Connection, dataset: str, version: DatasetVersion, snapshot: pd.DataFrame) -> None:
    known = connection.execute("SELECT 1 FROM dataset_versions WHERE dataset = ? AND version = ?", (dataset, version.version)).fetchone()
    if known is not None:
        return
    connection.execute(
        "INSERT INTO dataset_versions (dataset, version, labels, metadata, tags, examples, metadata_columns, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (dataset, version.version, version.labels, version.metadata, version.tags, version.examples, json.dumps(list(version.metadata_columns)), now_text()),
    )
    rows = snapshot[list(SNAPSHOT_COLUMNS)].itertuples(index=False)
    connection.executemany(
        "INSERT INTO dataset_version_examples (dataset, version, example_id, label_hash, metadata_hash, tags_hash) VALUES (?, ?, ?, ?, ?, ?)",
        ((dataset, version.version, example_id, int(label), int(metadata), int(tags)) for example_id, label, metadata, tags in rows),
    )


def stored_runs(workspace: Workspace, dataset: str) -> list[RunRecord]:
    """Return the runs logged for ``dataset``, oldest first."""
    with workspace.reading() as connection:
        if connection is None or not _has_runs(connection):
            return []
        rows = connection.execute(
            "SELECT id, name, logged_by, logged_at, code_version, code_dirty, dataset_version, predictions_fingerprint, examples, source, notes "
            "FROM runs WHERE dataset = ? ORDER BY logged_at, id",
            (dataset,),
        ).fetchall()
        params: dict[int, dict[str, str]] = {}
        for run_id, key, value in connection.execute(
            "SELECT run_id, key, value FROM run_params WHERE run_id IN (SELECT id FROM runs WHERE dataset = ?) ORDER BY run_id, key", (dataset,)
        ):
            params.setdefault(run_id, {})[key] = value
    return [
        RunRecord(
            name=name,
            origin=ORIGIN_WORKSPACE,
            time=logged_at,
            code_version=code_version,
            code_dirty=None if dirty is None else bool(dirty),
            dataset_version=version,
            predictions_fingerprint=fingerprint,
            examples=int(examples),
            params=params.get(run_id, {}),
            notes=notes,
            source=source,
            logged_by=logged_by,
        )
        for run_id, name, logged_by, logged_at, code_version, dirty, version, fingerprint, examples, source, notes in rows
    ]


def stored_predictions(workspace: Workspace, dataset: str) -> pd.DataFrame:
    """Return the predictions of every run logged for ``dataset``: columns ``run``, ``id``, ``prediction``."""
    with workspace.reading() as connection:
        if connection is None or not _has_runs(connection):
            return pd.DataFrame({"run": pd.Series(dtype=str), "id": pd.Series(dtype=str), "prediction": pd.Series(dtype=str)})
        return pd.read_sql_query(
            "SELECT runs.name AS run, p.example_id AS id, p.prediction AS prediction "
            "FROM run_predictions AS p JOIN runs ON runs.id = p.run_id WHERE runs.dataset = ?",
            connection,
            params=(dataset,),
        )


def stored_version(workspace: Workspace, dataset: str, version: str) -> tuple[DatasetVersion, pd.DataFrame] | None:
    """Return a dataset version logged for ``dataset`` with its per-example hashes, or None when the workspace does not have it."""
    with workspace.reading() as connection:
        if connection is None or not _has_runs(connection):
            return None
        row = connection.execute(
            "SELECT labels, metadata, tags, examples, metadata_columns FROM dataset_versions WHERE dataset = ? AND version = ?", (dataset, version)
        ).fetchone()
        if row is None:
            return None
        frame = pd.read_sql_query(
            "SELECT example_id, label_hash, metadata_hash, tags_hash FROM dataset_version_examples WHERE dataset = ? AND version = ?",
            connection,
            params=(dataset, version),
        )
    labels, metadata, tags, examples, columns = row
    return DatasetVersion(version, labels, metadata, tags, int(examples), tuple(json.loads(columns))), frame


def _has_runs(connection: sqlite3.Connection) -> bool:
    # A workspace file made by an earlier version has no runs tables until its first write.
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone() is not None
