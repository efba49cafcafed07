"""The workspace: what users create in the dashboard, kept in one SQLite file.

Typed HLP values are stored per dataset (the dataset's folder name) and tag,
with who typed them (the OS user) and when. Every change is an *edit*: one
transaction that changes one or more values and records each old and new
value, so the last edit of a dataset can be undone. A change counter rises
with every edit and every undo. Callers put it in their cache keys, so a
cached result never outlives the values it was computed from.

The history tables name each change by a ``kind`` (``"hlp"`` for now) and a
key, so other kinds of user state (tag edits, runs, notes) can be added with
their own value table and the same history and undo.

The database runs in WAL mode, so readers do not block the writer, and each
method opens its own short-lived connection. One :class:`Workspace` can
therefore be shared by the threads of a server. A read-only workspace (demo
mode) opens the file read-only, or reads as empty when the file does not
exist, and raises :class:`WorkspaceReadOnlyError` on every write.
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analysis.config import DatasetConfig
from analysis.errors import ConfigError, InputError
from analysis.i18n import _

log = logging.getLogger(__name__)

WORKSPACE_FILE_NAME = "workspace.sqlite"
# File written beside the dataset file when a dataset has no HLP file yet.
NEW_HLP_FILE_NAME = "hlp.csv"

KIND_HLP = "hlp"

# Seconds a writer waits for another writer's transaction before giving up.
_BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hlp_values (
    dataset TEXT NOT NULL,
    tag TEXT NOT NULL,
    value REAL NOT NULL CHECK (value >= 0 AND value <= 1),
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, tag)
);
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    undone_by TEXT,
    undone_at TEXT
);
CREATE TABLE IF NOT EXISTS edit_items (
    edit_id INTEGER NOT NULL REFERENCES edits (id),
    key TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('changes', 0);
"""


class WorkspaceReadOnlyError(ConfigError):
    """A write was attempted on a workspace opened read-only."""


@dataclass(frozen=True)
class TypedValue:
    """A value typed in the dashboard, with who typed it and when (ISO 8601, UTC)."""

    value: float
    changed_by: str
    changed_at: str


@dataclass(frozen=True)
class Edit:
    """One entry of the history: what changed, who changed it and whether it was undone.

    ``changes`` maps each key (a tag for HLP edits) to its (old, new) values;
    None means no value.
    """

    id: int
    dataset: str
    kind: str
    description: str
    changed_by: str
    changed_at: str
    changes: dict[str, tuple[float | None, float | None]]
    undone_by: str | None = None
    undone_at: str | None = None


@dataclass(frozen=True)
class SavedHlpFile:
    """The result of saving HLP values: the file written, its values, and whether the dataset file must still name it."""

    path: Path
    values: dict[str, float]
    # True when the dataset file has no [files] hlp key, so the written file is not read yet.
    needs_dataset_key: bool


def current_user() -> str:
    """Return the OS user name, or "unknown" when the system cannot tell."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        # getpass raises when no user variable is set and the uid has no passwd entry (common in containers).
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Workspace:
    """The workspace database in ``folder``.

    Nothing is created until the first write, so viewing a dataset leaves no
    file behind, and a folder that cannot be written is reported when an edit
    is saved.
    """

    def __init__(self, folder: Path, read_only: bool = False, user: str | None = None):
        self.folder = Path(folder)
        self.path = self.folder / WORKSPACE_FILE_NAME
        self.read_only = read_only
        self.user = user or current_user()
        self._ready = False

    # ------------------------------------------------------------ connections

    def _create(self) -> None:
        """Create the folder, the file and the tables unless this object did so already."""
        if self._ready and self.path.is_file():
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)) as connection:
                # WAL is a property of the file: set once, every later connection uses it.
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SCHEMA)
                connection.commit()
            self._ready = True
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(
                _("The workspace {file} could not be opened: {reason}.", file=self.path, reason=error),
                _("Check that the folder exists and that you may write to it, or start the dashboard with another workspace folder (--workspace PATH)."),
            ) from error

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """Yield a connection for reading, or None when the workspace has no file yet."""
        if not self.path.is_file():
            yield None
            return
        if self.read_only:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            connection = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT)
        else:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)
        try:
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside one write transaction, committed at the end or rolled back on error."""
        self._check_writable()
        self._create()
        # isolation_level=None leaves transactions to us: BEGIN IMMEDIATE takes the write
        # lock at the start, so two writers queue instead of failing halfway.
        connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise WorkspaceReadOnlyError(
                _("The dashboard runs as a read-only demo, so nothing is saved: the workspace {file} is not changed.", file=self.path),
                _("Run the dashboard without --demo (and without ERROR_ANALYSIS_DEMO) to keep edits."),
            )

    # ------------------------------------------------------------ reading

    def change_counter(self) -> int:
        """Return the number of edits and undos so far; it only rises."""
        with self._reading() as connection:
            if connection is None:
                return 0
            row = connection.execute("SELECT value FROM counters WHERE name = 'changes'").fetchone()
        return int(row[0]) if row else 0

    def hlp_values(self, dataset: str) -> dict[str, TypedValue]:
        """Return the HLP values typed for ``dataset``, by tag."""
        with self._reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(
                "SELECT tag, value, changed_by, changed_at FROM hlp_values WHERE dataset = ? ORDER BY tag", (dataset,)
            ).fetchall()
        return {tag: TypedValue(value, who, when) for tag, value, who, when in rows}

    def history(self, dataset: str, limit: int = 20) -> list[Edit]:
        """Return the last ``limit`` edits of ``dataset``, newest first, undone ones included."""
        with self._reading() as connection:
            if connection is None:
                return []
            edits = connection.execute(
                "SELECT id, dataset, kind, description, changed_by, changed_at, undone_by, undone_at "
                "FROM edits WHERE dataset = ? ORDER BY id DESC LIMIT ?",
                (dataset, limit),
            ).fetchall()
            result = []
            for row in edits:
                items = connection.execute(
                    "SELECT key, old_value, new_value FROM edit_items WHERE edit_id = ? ORDER BY rowid", (row[0],)
                ).fetchall()
                changes = {key: (_decode(old), _decode(new)) for key, old, new in items}
                result.append(Edit(row[0], row[1], row[2], row[3], row[4], row[5], changes, row[6], row[7]))
        return result

    # ------------------------------------------------------------ writing

    def set_hlp(self, dataset: str, values: Mapping[str, float | None], description: str = "") -> Edit | None:
        """Store typed HLP values for ``dataset`` as one edit; None removes a tag's typed value.

        Values equal to the stored ones are skipped; returns None when nothing
        changed. Raises :class:`~analysis.InputError` for a value outside
        0..1 and :class:`WorkspaceReadOnlyError` in a read-only workspace.
        """
        self._check_writable()
        for tag, value in values.items():
            _check_hlp(tag, value)
        with self._writing() as connection:
            current = {
                tag: value
                for tag, value in connection.execute("SELECT tag, value FROM hlp_values WHERE dataset = ?", (dataset,))
            }
            changes = {
                tag: (current.get(tag), None if value is None else float(value))
                for tag, value in values.items()
                if current.get(tag) != (None if value is None else float(value))
            }
            if not changes:
                return None
            edit = self._record(connection, dataset, KIND_HLP, description, changes)
            self._apply_hlp(connection, dataset, {tag: new for tag, (_old, new) in changes.items()}, edit.changed_by, edit.changed_at)
        log.info("Workspace %s: %s set HLP of %s for %s", self.path, self.user, ", ".join(changes), dataset)
        return edit

    def undo(self, dataset: str) -> Edit | None:
        """Undo the newest edit of ``dataset`` not yet undone, and return it (None when there is none)."""
        with self._writing() as connection:
            row = connection.execute(
                "SELECT id, kind, description, changed_by, changed_at FROM edits "
                "WHERE dataset = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (dataset,),
            ).fetchone()
            if row is None:
                return None
            edit_id, kind, description, changed_by, changed_at = row
            items = connection.execute(
                "SELECT key, old_value, new_value FROM edit_items WHERE edit_id = ? ORDER BY rowid", (edit_id,)
            ).fetchall()
            changes = {key: (_decode(old), _decode(new)) for key, old, new in items}
            when = _now()
            if kind == KIND_HLP:
                self._apply_hlp(connection, dataset, {key: old for key, (old, _new) in changes.items()}, self.user, when)
            connection.execute("UPDATE edits SET undone_by = ?, undone_at = ? WHERE id = ?", (self.user, when, edit_id))
            self._count(connection)
        log.info("Workspace %s: %s undid edit %d of %s", self.path, self.user, edit_id, dataset)
        return Edit(edit_id, dataset, kind, description, changed_by, changed_at, changes, self.user, when)

    def _record(
        self,
        connection: sqlite3.Connection,
        dataset: str,
        kind: str,
        description: str,
        changes: dict[str, tuple[float | None, float | None]],
    ) -> Edit:
        when = _now()
        cursor = connection.execute(
            "INSERT INTO edits (dataset, kind, description, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)",
            (dataset, kind, description, self.user, when),
        )
        edit_id = int(cursor.lastrowid)
        connection.executemany(
            "INSERT INTO edit_items (edit_id, key, old_value, new_value) VALUES (?, ?, ?, ?)",
            [(edit_id, key, _encode(old), _encode(new)) for key, (old, new) in changes.items()],
        )
        self._count(connection)
        return Edit(edit_id, dataset, kind, description, self.user, when, changes)

    @staticmethod
    def _count(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE counters SET value = value + 1 WHERE name = 'changes'")

    @staticmethod
    def _apply_hlp(connection: sqlite3.Connection, dataset: str, values: dict[str, float | None], who: str, when: str) -> None:
        for tag, value in values.items():
            if value is None:
                connection.execute("DELETE FROM hlp_values WHERE dataset = ? AND tag = ?", (dataset, tag))
            else:
                connection.execute(
                    "INSERT INTO hlp_values (dataset, tag, value, changed_by, changed_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (dataset, tag) DO UPDATE SET value = excluded.value, "
                    "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                    (dataset, tag, value, who, when),
                )

    # ------------------------------------------------------------ saving to the HLP file

    def save_hlp_file(self, dataset: str, config: DatasetConfig, file_values: Mapping[str, float]) -> SavedHlpFile:
        """Write the file HLP values with the typed ones on top to the dataset's HLP file.

        The file is ``[files] hlp`` of the dataset file. A dataset without one
        gets ``hlp.csv`` beside its dataset file, which it reads only once the
        dataset file names it. The typed values then stay in the workspace, so
        the numbers do not change in between. When the configured file was
        written, the typed values are cleared in one edit (undoable), because
        the file now holds them.

        Raises :class:`WorkspaceReadOnlyError` in a read-only workspace, and
        :class:`~analysis.InputError` when there is nothing typed to save, when
        ``hlp.csv`` exists but is not named by the dataset file (it is not
        overwritten), or when the file cannot be written.
        """
        self._check_writable()
        typed = {tag: typed.value for tag, typed in self.hlp_values(dataset).items()}
        if not typed:
            raise InputError(
                _("There are no typed HLP values for {dataset} to save.", dataset=dataset),
                _("Type HLP values in the table first."),
            )
        if config.hlp_file is not None:
            path, needs_key = config.hlp_file, False
        else:
            folder = config.source.parent if config.source is not None else config.predictions.parent
            path, needs_key = folder / NEW_HLP_FILE_NAME, True
            if path.exists():
                raise InputError(
                    _("The file {file} exists but the dataset file does not name it, so it was not overwritten.", file=path),
                    _("Add hlp = \"{name}\" under [files] in the dataset file to use it, or move it away and save again.", name=NEW_HLP_FILE_NAME),
                )
        values = {**dict(file_values), **typed}
        write_hlp_file(path, values)
        log.info("Workspace %s: %s wrote %d HLP values of %s to %s", self.path, self.user, len(values), dataset, path)
        if not needs_key:
            self.set_hlp(dataset, {tag: None for tag in typed}, _("saved to {file}", file=path.name))
        return SavedHlpFile(path, values, needs_key)


def write_hlp_file(path: Path, values: Mapping[str, float]) -> None:
    """Write ``values`` as a ``tag,hlp`` CSV file, replacing ``path`` in one step.

    The rows are written to a temporary file in the same folder and renamed
    over ``path``, so a reader never sees a half-written file. Raises
    :class:`~analysis.InputError` when the folder is not writable.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["tag", "hlp"])
            for tag, value in values.items():
                writer.writerow([tag, repr(float(value))])
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(
            _("The HLP file {file} could not be written: {reason}.", file=path, reason=error.strerror or error),
            _("Check that you may write to its folder."),
        ) from error


def _check_hlp(tag: str, value: float | None) -> None:
    if not isinstance(tag, str) or not tag.strip():
        raise InputError(
            _("An HLP value needs a tag name, got {tag!r}.", tag=tag),
            _("Give the name of a tag of the dataset."),
        )
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= 1:
        raise InputError(
            _("The HLP value {value!r} for tag '{tag}' is not an accuracy between 0 and 1.", value=value, tag=tag),
            _("Give HLP as a fraction, for example 0.95 for 95%."),
        )


def _encode(value: float | None) -> str | None:
    return None if value is None else json.dumps(value)


def _decode(text: str | None) -> float | None:
    return None if text is None else json.loads(text)
