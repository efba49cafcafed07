"""Runs of a dataset: reading run files, logging a run, and the catalog of every run.

A run is one set of predictions for the dataset's examples. Labels, metadata
and tags always come from the dataset, so a run file needs only the id and
the prediction columns. They are named as in the dataset's predictions file
or by their common names, and a label column in a run file is not read. A
file contains one run, named after the file, or several runs distinguished
by the run column (``[runs] run_column``, default ``run``), with ids unique
within each run.

The :class:`RunCatalog` gathers the runs of the ``[runs]`` files, the runs
logged in the workspace and the majority-class predictor, and keeps every
prediction in one DuckDB table (columns ``run``, ``id``, ``prediction``,
all text) beside the dataset's views.
"""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analysis.config import COLUMN_ALIASES
from analysis.errors import SHOWN_VALUES, ConfigError, InputError
from analysis.expressions import class_text
from analysis.fingerprints import DatasetVersion, dataset_version, predictions_fingerprint, snapshot_frame
from analysis.i18n import _, ngettext
from analysis.metrics import class_metrics, imbalance
from analysis.model import MODE_CLASSIFICATION, Dataset
from analysis.run_spec import DEFAULT_RUN_COLUMN, RunDetails
from analysis.run_store import ORIGIN_BASELINE, ORIGIN_FILE, RunRecord, save_run, stored_predictions, stored_runs
from analysis.sources import SourceFile, column_list, find_column, open_source
from analysis.workspace import Workspace

log = logging.getLogger(__name__)

# The reference run that always exists: every example predicted as the most frequent label.
MAJORITY_CLASS = "(majority class)"

# Maximum length of a run name: longer names break tables and charts.
MAX_RUN_NAME = 100

# Seconds to wait for git when detecting the code version.
_GIT_TIMEOUT = 10

_table_numbers = itertools.count(1)


# Checking names and parameters -----------------------------------------------------------------


def check_run_name(name: object) -> str:
    """Return ``name`` without surrounding spaces if it can name a run; raise :class:`~analysis.InputError` if not.

    Names starting with "(" are kept for built-in runs such as the majority-class predictor.
    """
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_RUN_NAME or text.startswith("(") or any(ord(character) < 32 for character in text):
        raise InputError(
            _("{name!r} cannot be a run name.", name=name),
            _("Give a name of 1 to {limit} characters without line breaks that does not start with '(', for example baseline or lr_0.01.", limit=MAX_RUN_NAME),
        )
    return text


def parse_params(pairs: list[str]) -> dict[str, str]:
    """Parse ``key=value`` texts into hyperparameters; raise :class:`~analysis.InputError` naming the first invalid one."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        key = key.strip()
        if not separator or not key or any(ord(character) < 32 for character in pair):
            raise InputError(
                _("Invalid --param {value!r}.", value=pair),
                _("Write it as KEY=VALUE, for example --param learning_rate=0.001."),
            )
        if key in params:
            raise InputError(
                _("The hyperparameter '{key}' is given twice.", key=key),
                _("Give each --param KEY once."),
            )
        params[key] = value.strip()
    return params


# Code version ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeVersion:
    """The git commit of a checkout and whether tracked files differ from it (``dirty``)."""

    commit: str
    dirty: bool


def detect_code_version(folder: Path | None = None) -> CodeVersion | None:
    """Return the git commit of the checkout holding ``folder`` (default: the working directory), or None outside a checkout.

    Untracked files do not make the checkout dirty; changed tracked files do.
    """
    folder = Path.cwd() if folder is None else folder
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.info("No code version: git could not be run in %s (%s)", folder, error)
        return None
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return CodeVersion(commit.stdout.strip(), dirty)


# Reading run files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFile:
    """A run file opened as a DuckDB view: the query of its canonical rows (``run``, ``id``, ``prediction``) and its run names."""

    path: Path
    select: str
    params: tuple[object, ...]
    names: tuple[str, ...]


def open_run_file(dataset: Dataset, path: Path, run_column: str = DEFAULT_RUN_COLUMN, only_run: str | None = None) -> RunFile:
    """Open the run file at ``path`` and check its rows against ``dataset``.

    ``only_run`` keeps the rows of that run when the file has a run column.
    Raises :class:`~analysis.InputError` for a missing id or prediction
    column, a missing id or prediction, an id twice in one run, an id that is
    not an example of the dataset, or an invalid run name.
    """
    _check_classification(dataset)
    view = f"run_file_{next(_table_numbers)}"
    role = _("run")
    source = open_source(dataset.engine, path, role, view)
    id_column = _run_column_for(source, dataset.id_column, "id", "--id-col")
    prediction_column = _run_column_for(source, dataset.prediction_column, "prediction", "--prediction-col")
    name_column = find_column(source.columns, run_column)
    if source.file_format == "csv":
        text = tuple(name for name in (id_column, prediction_column, name_column) if name)
        source = open_source(dataset.engine, path, role, view, text)

    params: list[object] = []
    if name_column is not None:
        run = class_text(name_column, source.types[name_column])
    else:
        run = "?"
        params.append(path.name.split(".")[0])
    select = (
        f"SELECT {run} AS run, {class_text(id_column, source.types[id_column])} AS id, "
        f"{class_text(prediction_column, source.types[prediction_column])} AS prediction FROM {view}"
    )
    if only_run is not None and name_column is not None:
        select = f"SELECT * FROM ({select}) WHERE run = ?"
        params.append(only_run)
    elif only_run is not None:
        params[0] = only_run

    names = tuple(row[0] for row in dataset.engine.rows(f"SELECT DISTINCT run FROM ({select}) ORDER BY 1", params))
    if only_run is not None and not names:
        known = [row[0] for row in dataset.engine.rows(f"SELECT DISTINCT {run} FROM {view} ORDER BY 1", params[:-1])]
        raise InputError(
            _("The {file} has no rows of the run '{name}' in its column '{column}'.", file=source.label, name=only_run, column=name_column),
            _("Its runs are: {names}. Pass one of them with --name, or a file holding one run.", names=", ".join(str(name) for name in known[:SHOWN_VALUES * 4])),
        )
    _check_rows(dataset, source, select, params, name_column)
    for name in names:
        check_run_name(name)
    return RunFile(path, select, tuple(params), names)


def _check_classification(dataset: Dataset) -> None:
    if dataset.mode != MODE_CLASSIFICATION:
        raise ConfigError(
            _("Runs need label and prediction columns, but {dataset} marks errors with a score threshold or a correct flag.", dataset=dataset.config.display_name),
            _("Compare runs on a classification dataset: name [columns] label and prediction in the dataset file."),
        )


def _run_column_for(source: SourceFile, dataset_column: str, role: str, option: str) -> str:
    """Find the run file's id or prediction column: the dataset's column name first, then the common names."""
    for candidate in (dataset_column, *COLUMN_ALIASES[role]):
        found = find_column(source.columns, candidate)
        if found is not None:
            return found
    raise InputError(
        _("The {file} has no {role} column: neither '{column}' (as in the dataset) nor any of {aliases} was found.", file=source.label, role=role, column=dataset_column, aliases=", ".join(COLUMN_ALIASES[role])),
        _("Its columns are: {columns}. Name the {role} column '{column}' in the run file.", columns=column_list(source), role=role, column=dataset_column),
    )


def _check_rows(dataset: Dataset, source: SourceFile, select: str, params: list[object], name_column: str | None) -> None:
    engine = dataset.engine
    missing = engine.rows(
        f"SELECT count(*) FILTER (WHERE id IS NULL), count(*) FILTER (WHERE prediction IS NULL), count(*) FILTER (WHERE run IS NULL) FROM ({select})",
        params,
    )[0]
    for count, column in zip(missing, ("id", "prediction", name_column or "run")):
        if count:
            raise InputError(
                ngettext(
                    "The {file} has {count} row without a value in its column '{column}'.",
                    "The {file} has {count} rows without a value in their column '{column}'.",
                    int(count),
                    file=source.label,
                    column=column,
                ),
                _("Fill in the value, or remove those rows."),
            )
    duplicates = engine.rows(
        f"SELECT run, id, count(*) FROM ({select}) GROUP BY run, id HAVING count(*) > 1 ORDER BY run, id LIMIT ?", [*params, SHOWN_VALUES]
    )
    if duplicates:
        shown = ", ".join(_("{id} ({count} times in run {run})", id=example_id, count=count, run=run) for run, example_id, count in duplicates)
        raise InputError(
            _("The {file} has duplicate ids within one run: {ids}.", file=source.label, ids=shown),
            _("Each id may appear once per run; several runs in one file need a '{column}' column naming each row's run.", column=name_column or DEFAULT_RUN_COLUMN),
        )
    unknown = engine.rows(
        f"SELECT count(DISTINCT id), list(DISTINCT id ORDER BY id)[1:{SHOWN_VALUES}] FROM ({select}) "
        f"WHERE id NOT IN (SELECT CAST(_id AS VARCHAR) FROM p WHERE _id IS NOT NULL)",
        params,
    )[0]
    if unknown[0]:
        raise InputError(
            ngettext(
                "The {file} has {count} id that is not an example of {dataset}: {ids}.",
                "The {file} has {count} ids that are not examples of {dataset}: {ids}.",
                int(unknown[0]),
                file=source.label,
                dataset=dataset.config.display_name,
                ids=", ".join(unknown[1]) + (" …" if unknown[0] > SHOWN_VALUES else ""),
            ),
            _("A run predicts the examples of the dataset's predictions file; check that the run file belongs to this dataset."),
        )


# Logging a run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedRun:
    """A run as logged, and how many of the dataset's analysed examples it predicts."""

    record: RunRecord
    covered: int
    analysed: int


def log_run(
    dataset: Dataset,
    workspace: Workspace,
    key: str,
    path: Path,
    name: str,
    params: Mapping[str, str] | None = None,
    notes: str = "",
    code: CodeVersion | None = None,
) -> LoggedRun:
    """Read the run file at ``path`` and store it in ``workspace`` under ``name`` for the dataset ``key``.

    ``dataset`` is opened with the workspace's tag edits, so the dataset
    version counts the tags as every page does. A file with a run column must
    hold rows of the run ``name``. Raises :class:`~analysis.InputError` for
    invalid input and a name that is taken by a run of the ``[runs]`` files
    or of the workspace.
    """
    name = check_run_name(name)
    spec = dataset.config.runs
    run_column = spec.run_column if spec is not None else DEFAULT_RUN_COLUMN
    if spec is not None and name in spec.details:
        raise InputError(
            _("The run name '{name}' is taken by a run of the dataset file's [runs] section.", name=name),
            _("Give the run another name with --name."),
        )
    run_file = open_run_file(dataset, path, run_column, only_run=name)
    relation = f"({run_file.select})"
    fingerprint = predictions_fingerprint(dataset.engine, relation, list(run_file.params))
    predictions = dataset.engine.query(f"SELECT id, prediction FROM {relation} AS run_rows ORDER BY id", run_file.params)
    covered = int(
        dataset.engine.rows(
            f"SELECT count(*) FROM {dataset.view} WHERE CAST(id AS VARCHAR) IN (SELECT id FROM {relation} AS run_rows)", run_file.params
        )[0][0]
    )
    version = dataset_version(dataset)
    record = RunRecord(
        name=name,
        origin="workspace",
        time=None,
        code_version=None if code is None else code.commit,
        code_dirty=None if code is None else code.dirty,
        dataset_version=version.version,
        predictions_fingerprint=fingerprint,
        examples=len(predictions),
        params=dict(params or {}),
        notes=notes,
        source=str(path),
    )
    stored = save_run(workspace, key, record, predictions, version, snapshot_frame(dataset))
    analysed = dataset.counts.total if dataset.counts is not None else covered
    return LoggedRun(stored, covered, analysed)


# The catalog of runs ------------------------------------------------------------------------------


@dataclass
class RunCatalog:
    """Every run of a dataset, oldest first, with their predictions in the DuckDB table ``table``.

    ``current`` is the version of the dataset as opened now. ``reference``
    is the run that comparisons start from by default: ``[runs] reference``,
    else the oldest run, else the majority-class predictor.
    """

    dataset: Dataset
    runs: list[RunRecord]
    table: str
    current: DatasetVersion
    reference: str
    majority_class: str
    notices: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [run.name for run in self.runs]

    def run(self, name: str) -> RunRecord:
        """Return the run named ``name``; raise :class:`~analysis.InputError` listing the known runs if there is none."""
        for run in self.runs:
            if run.name == name:
                return run
        raise InputError(
            _("Unknown run '{name}'.", name=name),
            _("Known runs: {names}.", names=", ".join(self.names)),
        )

    @property
    def newest(self) -> str:
        """Return the name of the newest run that is not the majority-class predictor (or that predictor when there is none)."""
        recorded = [run for run in self.runs if run.origin != ORIGIN_BASELINE]
        return recorded[-1].name if recorded else MAJORITY_CLASS


def load_runs(dataset: Dataset, workspace: Workspace | None, key: str | None) -> RunCatalog:
    """Gather the runs of ``dataset``: those of its ``[runs]`` files, those logged in ``workspace`` for ``key``, and the majority-class predictor.

    Raises :class:`~analysis.InputError` for an invalid run file, for a run
    name used twice, and for a ``[runs] reference`` that names no run.
    """
    _check_classification(dataset)
    spec = dataset.config.runs
    current = dataset_version(dataset)
    # NOTE: each call makes a new table and older ones stay in the connection, so a
    # dashboard session that sees many logged runs holds each older catalog's copy.
    table = f"run_predictions_{next(_table_numbers)}"
    majority = _majority_class(dataset)
    records: list[RunRecord] = []
    selects: list[str] = ["SELECT ? AS run, CAST(id AS VARCHAR) AS id, ? AS prediction FROM " + dataset.file_view]
    params: list[object] = [MAJORITY_CLASS, majority]
    origins: dict[str, str] = {}

    for path in spec.files if spec is not None else ():
        run_file = open_run_file(dataset, path, spec.run_column)
        selects.append(run_file.select)
        params += run_file.params
        for name in run_file.names:
            _claim(origins, name, str(path))
            details = spec.details.get(name, RunDetails())
            relation = f"(SELECT * FROM ({run_file.select}) WHERE run = ?)"
            rows = int(dataset.engine.rows(f"SELECT count(*) FROM {relation}", [*run_file.params, name])[0][0])
            records.append(
                RunRecord(
                    name=name,
                    origin=ORIGIN_FILE,
                    time=details.time or _modified_time(path),
                    code_version=details.code_version,
                    code_dirty=details.dirty,
                    dataset_version=current.version,
                    predictions_fingerprint=predictions_fingerprint(dataset.engine, relation, [*run_file.params, name]),
                    examples=rows,
                    params=dict(details.params),
                    notes=details.notes,
                    source=str(path),
                )
            )
    dataset.engine.create_table_as(table, " UNION ALL ".join(f"({select})" for select in selects), params)

    notices = []
    if workspace is not None and key is not None:
        logged = stored_runs(workspace, key)
        for record in logged:
            _claim(origins, record.name, str(workspace.path))
        frame = stored_predictions(workspace, key)
        if len(frame):
            dataset.engine.append_frame(table, frame[["run", "id", "prediction"]])
        records += logged
    if spec is not None:
        for name in spec.details:
            if name not in origins:
                notices.append(_("The dataset file describes the run '{name}' under [runs.details], but no run file holds it.", name=name))

    records.sort(key=lambda record: (record.time or "", record.name))
    baseline = RunRecord(
        name=MAJORITY_CLASS,
        origin=ORIGIN_BASELINE,
        time=None,
        code_version=None,
        code_dirty=None,
        dataset_version=current.version,
        predictions_fingerprint=predictions_fingerprint(dataset.engine, f"(SELECT id, prediction FROM {table} WHERE run = ?)", [MAJORITY_CLASS]),
        examples=current.examples,
        notes=_("Predicts the most frequent label, {label}, for every example.", label=majority),
    )
    runs = [baseline, *records]
    reference = _reference(spec.reference if spec is not None else None, records)
    log.info("Read %d runs of %s into %s", len(records), dataset.config.display_name, table)
    return RunCatalog(dataset, runs, table, current, reference, majority, notices)


def _claim(origins: dict[str, str], name: str, source: str) -> None:
    if name in origins:
        raise InputError(
            _("Two runs are named '{name}': one in {first}, one in {second}.", name=name, first=origins[name], second=source),
            _("Rename one of them: run names are unique within a dataset."),
        )
    origins[name] = source


def _reference(configured: str | None, records: list[RunRecord]) -> str:
    if configured is None:
        return records[0].name if records else MAJORITY_CLASS
    if configured == MAJORITY_CLASS or any(record.name == configured for record in records):
        return configured
    raise InputError(
        _("The dataset file's [runs] reference names the run '{name}', which no run file or logged run has.", name=configured),
        _("Known runs: {names}.", names=", ".join([MAJORITY_CLASS, *(record.name for record in records)])),
    )


def _majority_class(dataset: Dataset) -> str:
    """Return the most frequent label among the analysed examples (ties: the class first in display order)."""
    counts = dataset.counts.confusion if dataset.counts is not None else None
    if counts is None or counts.empty:
        raise InputError(_("The dataset {dataset} has no analysed example.", dataset=dataset.config.display_name), _("Check the predictions file."))
    return imbalance(class_metrics(counts)).majority_class


def _modified_time(path: Path) -> str | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return None


def run_relation(catalog: RunCatalog, name: str) -> tuple[str, list[object]]:
    """Return a parenthesised query of the run ``name``'s predictions (``id``, ``prediction``) and its parameters."""
    catalog.run(name)
    return f"(SELECT id, prediction FROM {catalog.table} WHERE run = ?)", [name]


def params_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """Return one row per run and one column per hyperparameter key, values as text (empty where a run lacks the key)."""
    keys = sorted({key for run in runs for key in run.params})
    return pd.DataFrame([{key: run.params.get(key) for key in keys} for run in runs], columns=keys)

