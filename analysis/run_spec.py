"""The ``[runs]`` section of the dataset file: run files read beside the dataset, and what is known about each run.

A run file contains the predictions of one run (the run is named after the
file name without its extension) or of several runs, distinguished by a run
column.
``[runs.details.NAME]`` gives a run's time, code version, hyperparameters and
notes, which a file of predictions cannot carry::

    [runs]
    files = ["runs.parquet"]
    run_column = "run"          # default "run"
    reference = "baseline"      # run compared against by default

    [runs.details.baseline]
    time = 2024-05-02T09:30:00Z
    code_version = "4f2c1ab"
    dirty = false
    params = { learning_rate = 0.001, augment = "none" }
    notes = "First model."

The keys are checked here, when the dataset file is read. Whether the files,
columns and run names exist is checked when the runs are read
(:mod:`analysis.runs`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import ConfigError
from analysis.i18n import _

DEFAULT_RUN_COLUMN = "run"

RUNS_KEYS = ("files", "run_column", "reference", "details")
DETAIL_KEYS = ("time", "code_version", "dirty", "params", "notes")


@dataclass(frozen=True)
class RunDetails:
    """The details of one run given in the dataset file: time (ISO 8601), code version, dirty flag, hyperparameters and notes."""

    time: str | None = None
    code_version: str | None = None
    dirty: bool | None = None
    params: dict[str, str] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class RunsSpec:
    """The ``[runs]`` section: run files, the run column, the default reference run and per-run details."""

    files: tuple[Path, ...] = ()
    run_column: str = DEFAULT_RUN_COLUMN
    reference: str | None = None
    details: dict[str, RunDetails] = field(default_factory=dict)


def parse_runs(section: Any, path: Path) -> RunsSpec:
    """Check the ``[runs]`` table of the dataset file at ``path`` and return it, with paths resolved against the file's folder."""
    if not isinstance(section, dict):
        raise _invalid(path, "runs", _("a table ([runs])"), section)
    _check_keys(section, RUNS_KEYS, "runs", path)
    files = section.get("files", [])
    if not isinstance(files, list) or not all(isinstance(name, str) and name.strip() for name in files):
        raise _invalid(path, "runs.files", _("a list of file names"), files)
    run_column = section.get("run_column", DEFAULT_RUN_COLUMN)
    if not isinstance(run_column, str) or not run_column.strip():
        raise _invalid(path, "runs.run_column", _("a column name"), run_column)
    reference = section.get("reference")
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        raise _invalid(path, "runs.reference", _("a run name"), reference)
    details_table = section.get("details", {})
    if not isinstance(details_table, dict):
        raise _invalid(path, "runs.details", _("a table of runs ([runs.details.NAME])"), details_table)
    details = {name: _parse_details(value, f"runs.details.{name}", path) for name, value in details_table.items()}
    folder = path.parent
    resolved = tuple(Path(name) if Path(name).is_absolute() else folder / name for name in files)
    return RunsSpec(files=resolved, run_column=run_column, reference=reference, details=details)


def _parse_details(table: Any, key: str, path: Path) -> RunDetails:
    if not isinstance(table, dict):
        raise _invalid(path, key, _("a table"), table)
    _check_keys(table, DETAIL_KEYS, key, path)
    time = table.get("time")
    if isinstance(time, dt.datetime):
        time = (time if time.tzinfo else time.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    elif isinstance(time, dt.date):
        time = dt.datetime(time.year, time.month, time.day, tzinfo=dt.UTC).isoformat(timespec="seconds")
    elif time is not None:
        raise _invalid(path, f"{key}.time", _("a TOML date-time such as 2024-05-02T09:30:00Z"), time)
    code_version = table.get("code_version")
    if code_version is not None and not isinstance(code_version, str):
        raise _invalid(path, f"{key}.code_version", _("a string"), code_version)
    dirty = table.get("dirty")
    if dirty is not None and not isinstance(dirty, bool):
        raise _invalid(path, f"{key}.dirty", _("true or false"), dirty)
    params = table.get("params", {})
    if not isinstance(params, dict) or any(isinstance(value, (dict, list)) for value in params.values()):
        raise _invalid(path, f"{key}.params", _("a table of single values, such as { learning_rate = 0.001 }"), params)
    notes = table.get("notes", "")
    if not isinstance(notes, str):
        raise _invalid(path, f"{key}.notes", _("a string"), notes)
    return RunDetails(
        time=time,
        code_version=code_version,
        dirty=dirty,
        params={str(name): param_text(value) for name, value in params.items()},
        notes=notes,
    )


def param_text(value: Any) -> str:
    """Return a hyperparameter value as stored: TOML's spelling for booleans, the text of numbers and strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_keys(table: dict, allowed: tuple[str, ...], section: str, path: Path) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                _("In {file}, unknown key '{key}' in section [{section}].", file=path, key=key, section=section),
                _("Allowed keys: {allowed}.", allowed=", ".join(allowed)),
            )


def _invalid(path: Path, key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(
        _("In {file}, key '{key}' must be {expected}, got {value!r}.", file=path, key=key, expected=expected, value=value),
        _("Fix the value in the dataset file; the README's section on runs shows an example."),
    )
