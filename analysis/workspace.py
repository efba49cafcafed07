"""The workspace: what users create in the dashboard, kept in one SQLite file.

Typed HLP values are stored per dataset (the dataset's folder name) and tag,
with who typed them (the OS user) and when. Every change is an *edit*: one
transaction that changes one or more values and records each old and new
value, so the last edit of a dataset can be undone. A change counter rises
with every edit and every undo. Callers put it in their cache keys, so a
cached result never outlives the values it was computed from.

Tag edits are laid over the tags read from files, which are never changed:

- ``tag_assignments`` holds, per dataset, tag and example id, whether the
  example carries the tag (1) or not (0), overriding the files;
- ``tag_names`` holds the tags named here: a tag created here (``file_tag``
  NULL) or a file tag shown under a new name (``file_tag`` its file name);
- ``hidden_file_tags`` holds file tags that were renamed or deleted here.

:mod:`analysis.tag_overlay` turns these into the tag columns every page
counts. The history tables name each change by a ``kind`` (``"hlp"`` or
``"tags"``) and a key, so every kind of user state shares one history and
undo. A tag change's key is a JSON list naming the row it changes, for
example ``["assignment", "blurry", "17"]``.

Logged runs are kept in the ``runs`` tables with their predictions, and
``dataset_version_examples`` keeps the per-example hashes of each dataset
version a run was logged on (:mod:`analysis.run_store`). Logging a run
raises the change counter but is not an edit: it has no undo.

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
import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import DatasetConfig
from analysis.errors import ConfigError, InputError
from analysis.file_writes import replace_file
from analysis.i18n import _, ngettext

log = logging.getLogger(__name__)

WORKSPACE_FILE_NAME = "workspace.sqlite"
# Folder of the workspace under the data root (the folder containing the dataset
# folders) when none is given. Its name starts with a dot, so it is not listed as a dataset.
DEFAULT_WORKSPACE_NAME = ".workspace"
# Environment variable naming the workspace folder, read by the dashboard and the command line.
WORKSPACE_VARIABLE = "ERROR_ANALYSIS_WORKSPACE"
# File written beside the dataset file when a dataset has no HLP file yet.
NEW_HLP_FILE_NAME = "hlp.csv"

KIND_HLP = "hlp"
KIND_TAGS = "tags"

# First element of a tag change's key: which table the change is a row of.
_ASSIGNMENT = "assignment"
_NAME = "name"
_HIDDEN = "hidden"
# A typed HLP value, moved or removed with its tag by a rename or delete.
_TYPED_HLP = "hlp"

# Edit items loaded per edit for the history; undo always reads them all.
_HISTORY_ITEMS = 20

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
CREATE TABLE IF NOT EXISTS tag_assignments (
    dataset TEXT NOT NULL,
    tag TEXT NOT NULL,
    example_id TEXT NOT NULL,
    present INTEGER NOT NULL CHECK (present IN (0, 1)),
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, tag, example_id)
);
CREATE TABLE IF NOT EXISTS tag_names (
    dataset TEXT NOT NULL,
    tag TEXT NOT NULL,
    file_tag TEXT,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, tag)
);
CREATE TABLE IF NOT EXISTS hidden_file_tags (
    dataset TEXT NOT NULL,
    tag TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, tag)
);
CREATE INDEX IF NOT EXISTS edit_items_by_edit ON edit_items (edit_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    name TEXT NOT NULL,
    logged_by TEXT NOT NULL,
    logged_at TEXT NOT NULL,
    code_version TEXT,
    code_dirty INTEGER CHECK (code_dirty IN (0, 1)),
    dataset_version TEXT NOT NULL,
    predictions_fingerprint TEXT NOT NULL,
    examples INTEGER NOT NULL,
    source TEXT,
    notes TEXT NOT NULL DEFAULT '',
    UNIQUE (dataset, name)
);
CREATE TABLE IF NOT EXISTS run_params (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS run_predictions (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    example_id TEXT NOT NULL,
    prediction TEXT NOT NULL,
    PRIMARY KEY (run_id, example_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dataset_versions (
    dataset TEXT NOT NULL,
    version TEXT NOT NULL,
    labels TEXT NOT NULL,
    metadata TEXT NOT NULL,
    tags TEXT NOT NULL,
    examples INTEGER NOT NULL,
    metadata_columns TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (dataset, version)
);
CREATE TABLE IF NOT EXISTS dataset_version_examples (
    dataset TEXT NOT NULL,
    version TEXT NOT NULL,
    example_id TEXT NOT NULL,
    label_hash INTEGER NOT NULL,
    metadata_hash INTEGER NOT NULL,
    tags_hash INTEGER NOT NULL,
    PRIMARY KEY (dataset, version, example_id)
) WITHOUT ROWID;
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

    ``changes`` maps each key (a tag for HLP edits, a JSON list for tag
    edits) to its (old, new) values; None means no value. The history holds
    only the first changes of a large edit; ``change_count`` counts them all.
    """

    id: int
    dataset: str
    kind: str
    description: str
    changed_by: str
    changed_at: str
    changes: dict[str, tuple[Any, Any]]
    undone_by: str | None = None
    undone_at: str | None = None
    change_count: int = 0


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

    def as_user(self, user: str | None) -> Workspace:
        """Return this workspace with edits recorded under ``user`` (this one when ``user`` is empty or the same)."""
        name = (user or "").strip()
        if not name or name == self.user:
            return self
        other = Workspace(self.folder, read_only=self.read_only, user=name)
        other._ready = self._ready
        return other

    # ------------------------------------------------------------ connections

    def _create(self) -> None:
        """Create the folder, the file and the tables unless this object did so already."""
        if self._ready and self.path.is_file():
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not self.path.is_file():
                self._create_file()
            with contextlib.closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)) as connection:
                # Adds the tables a file made by an earlier version lacks; waits for other writers.
                connection.executescript(_SCHEMA)
                connection.commit()
            self._ready = True
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(
                _("The workspace {file} could not be opened: {reason}.", file=self.path, reason=error),
                _("Check that the folder exists and that you may write to it, or start the dashboard with another workspace folder (--workspace PATH)."),
            ) from error

    def _create_file(self) -> None:
        """Build the database under a temporary name and link it into place, complete, unless another writer was first.

        A file made in place is visible before its tables, so a reader
        fails with "no such table". Also, when two connections switched a new
        file to WAL at once, one failed with "database is locked" without
        waiting for the busy timeout (seen with SQLite 3.40.1).
        """
        temporary = self.folder / f".{WORKSPACE_FILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with contextlib.closing(sqlite3.connect(temporary)) as connection:
                # WAL is a property of the file: set once, every later connection uses it.
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SCHEMA)
                connection.commit()
            try:
                # A hard link fails when the name exists, so the first writer's file is kept.
                os.link(temporary, self.path)
            except FileExistsError:
                pass
            except OSError:
                # NOTE: without hard links (some network or FAT file systems) the file is
                # made in place, where two first writers at once can still collide.
                log.info("Workspace %s: no hard links here, creating the file in place", self.path)
                with contextlib.closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT)) as connection:
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.executescript(_SCHEMA)
                    connection.commit()
        finally:
            for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
                leftover.unlink(missing_ok=True)

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

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Return a context manager yielding a connection inside one write transaction (BEGIN IMMEDIATE), for stores built on this file.

        Raises :class:`WorkspaceReadOnlyError` in a read-only workspace.
        """
        return self._writing()

    def reading(self) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
        """Return a context manager yielding a reading connection, or None when the workspace has no file yet."""
        return self._reading()

    def count_change(self, connection: sqlite3.Connection) -> None:
        """Raise the change counter inside the caller's transaction, so cached results computed before it expire."""
        self._count(connection)

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
                    "SELECT key, old_value, new_value FROM edit_items WHERE edit_id = ? ORDER BY rowid LIMIT ?",
                    (row[0], _HISTORY_ITEMS),
                ).fetchall()
                total = connection.execute("SELECT count(*) FROM edit_items WHERE edit_id = ?", (row[0],)).fetchone()[0]
                changes = {key: (_decode(old), _decode(new)) for key, old, new in items}
                result.append(Edit(row[0], row[1], row[2], row[3], row[4], row[5], changes, row[6], row[7], int(total)))
        return result

    def tag_edits(self, dataset: str) -> TagEdits:
        """Return the tag edits of ``dataset``: assignments, tags named here and hidden file tags."""
        with self._reading() as connection:
            if connection is None or not _has_table(connection, "tag_assignments"):
                return TagEdits.empty()
            assignments = pd.read_sql_query(
                "SELECT tag, example_id, present, changed_by, changed_at FROM tag_assignments "
                "WHERE dataset = ? ORDER BY tag, example_id",
                connection,
                params=(dataset,),
            )
            names = dict(connection.execute("SELECT tag, file_tag FROM tag_names WHERE dataset = ? ORDER BY tag", (dataset,)).fetchall())
            hidden = {row[0] for row in connection.execute("SELECT tag FROM hidden_file_tags WHERE dataset = ?", (dataset,))}
        assignments["present"] = assignments["present"].astype(bool)
        return TagEdits(assignments, names, frozenset(hidden))

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
        self._check_writable()
        if not self.path.is_file():
            # Nothing was saved yet: no edit to undo, and no reason to create the file.
            return None
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
            restored = {key: old for key, (old, _new) in changes.items()}
            if kind == KIND_HLP:
                self._apply_hlp(connection, dataset, restored, self.user, when)
            elif kind == KIND_TAGS:
                _apply_tag_changes(connection, dataset, restored, self.user, when)
            connection.execute("UPDATE edits SET undone_by = ?, undone_at = ? WHERE id = ?", (self.user, when, edit_id))
            self._count(connection)
        log.info("Workspace %s: %s undid edit %d of %s", self.path, self.user, edit_id, dataset)
        return Edit(edit_id, dataset, kind, description, changed_by, changed_at, changes, self.user, when, len(changes))

    def _record(
        self,
        connection: sqlite3.Connection,
        dataset: str,
        kind: str,
        description: str,
        changes: dict[str, tuple[Any, Any]],
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
        return Edit(edit_id, dataset, kind, description, self.user, when, changes, change_count=len(changes))

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

    # ------------------------------------------------------------ tags

    def set_tag(
        self,
        dataset: str,
        tag: str,
        example_ids: Iterable[object],
        present: bool,
        file_tags: Collection[str],
        description: str = "",
    ) -> Edit | None:
        """Add ``tag`` to the examples (``present`` True) or remove it from them, as one edit.

        Ids are stored as text. Adding a tag that does not exist yet creates it
        in the same edit, so a tag typed on the fly is one undo step.
        ``file_tags`` are the tag names read from the dataset's files, which
        decide whether a name is a known tag. Examples whose stored state
        already matches are skipped; returns None when nothing changed.
        """
        self._check_writable()
        requested = tag
        tag = tag.strip() if isinstance(tag, str) else tag
        ids = list(dict.fromkeys(_id_text(example_id) for example_id in example_ids))
        with self._writing() as connection:
            names, hidden = _tag_definitions(connection, dataset)
            changes: dict[str, tuple[Any, Any]] = {}
            existing = _effective_tags(file_tags, names, hidden)
            if tag not in existing:
                # Only a new name is checked: a tag read from a file keeps the name the file gives it.
                tag = check_new_tag_name(requested, existing)
                if not present:
                    raise _unknown_tag(tag, existing)
                changes[_key(_NAME, tag)] = (None, {"file": None})
            current = _assignments(connection, dataset, tag)
            for example_id in ids:
                if current.get(example_id) != present:
                    changes[_key(_ASSIGNMENT, tag, example_id)] = (current.get(example_id), present)
            if not changes:
                return None
            count = sum(1 for key in changes if key.startswith(f'["{_ASSIGNMENT}"'))
            if not description:
                if present:
                    description = ngettext("added tag {tag} to {count} example", "added tag {tag} to {count} examples", count, tag=tag)
                else:
                    description = ngettext("removed tag {tag} from {count} example", "removed tag {tag} from {count} examples", count, tag=tag)
            edit = self._record(connection, dataset, KIND_TAGS, description, changes)
            _apply_tag_changes(connection, dataset, {key: new for key, (_old, new) in changes.items()}, edit.changed_by, edit.changed_at)
        log.info("Workspace %s: %s %s", self.path, self.user, description)
        return edit

    def create_tag(self, dataset: str, tag: str, file_tags: Collection[str]) -> Edit:
        """Create an empty tag named ``tag``; raises :class:`~analysis.InputError` when the name is taken."""
        self._check_writable()
        tag = _check_tag_name(tag)
        with self._writing() as connection:
            names, hidden = _tag_definitions(connection, dataset)
            _check_free(tag, _effective_tags(file_tags, names, hidden))
            changes = {_key(_NAME, tag): (None, {"file": None})}
            edit = self._record(connection, dataset, KIND_TAGS, _("created tag {tag}", tag=tag), changes)
            _apply_tag_changes(connection, dataset, {_key(_NAME, tag): {"file": None}}, edit.changed_by, edit.changed_at)
        log.info("Workspace %s: %s created tag %s of %s", self.path, self.user, tag, dataset)
        return edit

    def rename_tag(self, dataset: str, old: str, new: str, file_tags: Collection[str]) -> Edit:
        """Show the tag ``old`` under the name ``new``, with its examples and typed HLP value, as one edit.

        A file tag is not changed in its file: it is hidden here and shown
        under the new name. Raises :class:`~analysis.InputError` for an
        unknown tag or a name that is taken.
        """
        self._check_writable()
        new = _check_tag_name(new)
        with self._writing() as connection:
            names, hidden = _tag_definitions(connection, dataset)
            existing = _effective_tags(file_tags, names, hidden)
            if old not in existing:
                raise _unknown_tag(old, existing)
            # The tag itself does not count: renaming "Blurry" to "blurry" is allowed.
            _check_free(new, [name for name in existing if name != old])
            changes: dict[str, tuple[Any, Any]] = {}
            if old in names:
                source = names[old]
                changes[_key(_NAME, old)] = ({"file": source}, None)
            else:
                source = old
                changes[_key(_HIDDEN, old)] = (None, True)
            changes[_key(_NAME, new)] = (None, {"file": source})
            for example_id, present in _assignments(connection, dataset, old).items():
                changes[_key(_ASSIGNMENT, old, example_id)] = (present, None)
                changes[_key(_ASSIGNMENT, new, example_id)] = (None, present)
            # A typed HLP value follows its tag, as the file's value does.
            typed = _typed_hlp(connection, dataset, (old, new))
            if typed.get(old) is not None:
                changes[_key(_TYPED_HLP, old)] = (typed[old], None)
            if typed.get(new) != typed.get(old):
                changes[_key(_TYPED_HLP, new)] = (typed.get(new), typed.get(old))
            edit = self._record(connection, dataset, KIND_TAGS, _("renamed tag {old} to {new}", old=old, new=new), changes)
            _apply_tag_changes(connection, dataset, {key: value for key, (_old, value) in changes.items()}, edit.changed_by, edit.changed_at)
        log.info("Workspace %s: %s renamed tag %s to %s in %s", self.path, self.user, old, new, dataset)
        return edit

    def delete_tag(self, dataset: str, tag: str, file_tags: Collection[str]) -> Edit:
        """Remove the tag ``tag``, its assignments and its typed HLP value here, as one edit (a file tag is hidden, its file kept)."""
        self._check_writable()
        with self._writing() as connection:
            names, hidden = _tag_definitions(connection, dataset)
            existing = _effective_tags(file_tags, names, hidden)
            if tag not in existing:
                raise _unknown_tag(tag, existing)
            changes: dict[str, tuple[Any, Any]] = {}
            if tag in names:
                changes[_key(_NAME, tag)] = ({"file": names[tag]}, None)
            else:
                changes[_key(_HIDDEN, tag)] = (None, True)
            for example_id, present in _assignments(connection, dataset, tag).items():
                changes[_key(_ASSIGNMENT, tag, example_id)] = (present, None)
            # Else a tag created later under this name would take the deleted tag's typed HLP.
            typed = _typed_hlp(connection, dataset, (tag,))
            if tag in typed:
                changes[_key(_TYPED_HLP, tag)] = (typed[tag], None)
            edit = self._record(connection, dataset, KIND_TAGS, _("deleted tag {tag}", tag=tag), changes)
            _apply_tag_changes(connection, dataset, {key: value for key, (_old, value) in changes.items()}, edit.changed_by, edit.changed_at)
        log.info("Workspace %s: %s deleted tag %s of %s", self.path, self.user, tag, dataset)
        return edit

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
    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["tag", "hlp"])
            for tag, value in values.items():
                writer.writerow([tag, repr(float(value))])

    try:
        replace_file(path, write)
    except OSError as error:
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


@dataclass(frozen=True)
class TagEdits:
    """The tag edits of one dataset, as stored in the workspace.

    ``assignments`` has one row per (tag, example) set here: ``tag``,
    ``example_id`` (text), ``present`` (bool), ``changed_by`` and
    ``changed_at``. ``names`` maps each tag named here to the file tag it
    shows (None for a tag created here); ``hidden`` contains the file tags
    renamed or deleted here.
    """

    assignments: pd.DataFrame
    names: dict[str, str | None]
    hidden: frozenset[str]

    @classmethod
    def empty(cls) -> TagEdits:
        frame = pd.DataFrame({"tag": [], "example_id": [], "present": [], "changed_by": [], "changed_at": []})
        return cls(frame.astype({"tag": str, "example_id": str, "present": bool}), {}, frozenset())

    def __bool__(self) -> bool:
        return bool(len(self.assignments) or self.names or self.hidden)

    def digest(self) -> str:
        """Return a short digest of the edits' content: equal edits, equal digest."""
        content = hashlib.sha256()
        content.update(json.dumps([sorted(self.names.items(), key=str), sorted(self.hidden)]).encode())
        if len(self.assignments):
            rows = self.assignments[["tag", "example_id", "present"]]
            content.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
        return content.hexdigest()[:16]


def _key(*parts: str) -> str:
    return json.dumps(list(parts), ensure_ascii=False)


def _id_text(example_id: object) -> str:
    """Return an example id as stored: integral numbers without a decimal part, everything else as text."""
    if isinstance(example_id, float) and example_id.is_integer():
        return str(int(example_id))
    if hasattr(example_id, "item"):
        # numpy scalars from a DataFrame.
        return _id_text(example_id.item())
    return str(example_id)


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _tag_definitions(connection: sqlite3.Connection, dataset: str) -> tuple[dict[str, str | None], set[str]]:
    names = dict(connection.execute("SELECT tag, file_tag FROM tag_names WHERE dataset = ?", (dataset,)).fetchall())
    hidden = {row[0] for row in connection.execute("SELECT tag FROM hidden_file_tags WHERE dataset = ?", (dataset,))}
    return names, hidden


def _effective_tags(file_tags: Collection[str], names: Mapping[str, str | None], hidden: Collection[str]) -> list[str]:
    """Return the tags shown: file tags not hidden, then the tags named here."""
    shown = [tag for tag in file_tags if tag not in hidden]
    return shown + [tag for tag in sorted(names) if tag not in shown]


def _assignments(connection: sqlite3.Connection, dataset: str, tag: str) -> dict[str, bool]:
    rows = connection.execute(
        "SELECT example_id, present FROM tag_assignments WHERE dataset = ? AND tag = ?", (dataset, tag)
    ).fetchall()
    return {example_id: bool(present) for example_id, present in rows}


def _typed_hlp(connection: sqlite3.Connection, dataset: str, tags: Collection[str]) -> dict[str, float]:
    marks = ", ".join("?" for _tag in tags)
    rows = connection.execute(f"SELECT tag, value FROM hlp_values WHERE dataset = ? AND tag IN ({marks})", (dataset, *tags)).fetchall()
    return dict(rows)


def _apply_tag_changes(connection: sqlite3.Connection, dataset: str, values: Mapping[str, Any], who: str, when: str) -> None:
    """Write each changed row of the tag tables: None deletes the row, any other value sets it."""
    deleted: dict[str, list[tuple]] = {_ASSIGNMENT: [], _NAME: [], _HIDDEN: []}
    written: dict[str, list[tuple]] = {_ASSIGNMENT: [], _NAME: [], _HIDDEN: []}
    typed_hlp: dict[str, float | None] = {}
    for key, value in values.items():
        table, *parts = json.loads(key)
        if table == _TYPED_HLP:
            typed_hlp[parts[0]] = None if value is None else float(value)
        elif value is None:
            deleted[table].append((dataset, *parts))
        elif table == _ASSIGNMENT:
            written[table].append((dataset, *parts, int(bool(value)), who, when))
        elif table == _NAME:
            written[table].append((dataset, *parts, value["file"], who, when))
        else:
            written[table].append((dataset, *parts, who, when))

    # Deletes first: a rename deletes the old rows and writes new ones in the same edit.
    connection.executemany("DELETE FROM tag_assignments WHERE dataset = ? AND tag = ? AND example_id = ?", deleted[_ASSIGNMENT])
    connection.executemany("DELETE FROM tag_names WHERE dataset = ? AND tag = ?", deleted[_NAME])
    connection.executemany("DELETE FROM hidden_file_tags WHERE dataset = ? AND tag = ?", deleted[_HIDDEN])

    connection.executemany(
        "INSERT INTO tag_assignments (dataset, tag, example_id, present, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (dataset, tag, example_id) DO UPDATE SET present = excluded.present, "
        "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        written[_ASSIGNMENT],
    )
    connection.executemany(
        "INSERT INTO tag_names (dataset, tag, file_tag, changed_by, changed_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (dataset, tag) DO UPDATE SET file_tag = excluded.file_tag, "
        "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        written[_NAME],
    )
    connection.executemany(
        "INSERT OR REPLACE INTO hidden_file_tags (dataset, tag, changed_by, changed_at) VALUES (?, ?, ?, ?)",
        written[_HIDDEN],
    )

    # A typed HLP value moves or goes with its tag; HLP edits write it the same way.
    Workspace._apply_hlp(connection, dataset, typed_hlp, who, when)


# Maximum length of a tag name: longer names break tables and charts.
MAX_TAG_NAME = 100


# Joins the tags of an example in exported lists and in tag list columns, so no tag name may hold it.
TAG_SEPARATOR = ";"


def check_new_tag_name(tag: object, existing: Collection[str]) -> str:
    """Return ``tag`` without surrounding spaces if it can name a new tag next to ``existing``; raise :class:`~analysis.InputError` if not."""
    name = _check_tag_name(tag)
    _check_free(name, existing)
    return name


def _check_tag_name(tag: object) -> str:
    """Return the tag name without surrounding spaces, or raise when it cannot be a tag name."""
    name = tag.strip() if isinstance(tag, str) else ""
    if not name or len(name) > MAX_TAG_NAME or any(ord(character) < 32 for character in name) or TAG_SEPARATOR in name:
        raise InputError(
            _("{tag!r} cannot be a tag name.", tag=tag),
            _(
                "Give a name of 1 to {limit} characters without line breaks or '{separator}', for example blurry or car_noise.",
                limit=MAX_TAG_NAME,
                separator=TAG_SEPARATOR,
            ),
        )
    return name


def _check_free(tag: str, existing: Collection[str]) -> None:
    """Raise when a tag of ``existing`` has the name ``tag``, ignoring case: tags differing only in case are easily mixed up."""
    taken = next((name for name in existing if name.casefold() == tag.casefold()), None)
    if taken == tag:
        raise InputError(
            _("There is already a tag named '{tag}'.", tag=tag),
            _("Choose another name, or add the examples to the existing tag."),
        )
    if taken is not None:
        raise InputError(
            _("The name '{tag}' differs from the existing tag '{existing}' only in case.", tag=tag, existing=taken),
            _("Use the existing tag, or choose a name that differs in more than case."),
        )


def _unknown_tag(tag: str, existing: Collection[str]) -> InputError:
    return InputError(
        _("Unknown tag '{tag}'.", tag=tag),
        _("Known tags: {names}.", names=", ".join(existing) or _("none")),
    )
