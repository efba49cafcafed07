"""Reading one input file (CSV, Parquet, JSON) into a DuckDB view.

The file is never loaded into pandas: DuckDB reads it where it lies. This
module checks what DuckDB would otherwise accept silently or report in its own
terms: missing or empty files, unknown formats, duplicate column names.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from analysis.engine import Engine
from analysis.errors import InputError
from analysis.i18n import _

log = logging.getLogger(__name__)

_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_COMPRESSED = (".gz", ".zst")


@dataclass
class SourceFile:
    """One input file registered as a view, with its columns as DuckDB sees them."""

    role: str
    path: Path
    view: str
    file_format: str
    columns: list[str]
    types: dict[str, str]

    @property
    def label(self) -> str:
        """The file as messages name it, for example "predictions file data/preds.csv"."""
        return _("{role} file {path}", role=self.role, path=self.path)

    def has(self, column: str) -> bool:
        return find_column(self.columns, column) is not None


def find_column(columns: list[str], name: str) -> str | None:
    """Return the column matching ``name``, exactly or else ignoring case as DuckDB does."""
    if name in columns:
        return name
    lowered = [c for c in columns if c.lower() == name.lower()]
    return lowered[0] if len(lowered) == 1 else None


def detect_format(path: Path, role: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    file_format = _FORMATS.get(suffixes[-1]) if suffixes else None
    if file_format is None:
        raise InputError(
            _("The {role} file {path} has an unsupported format.", role=role, path=path),
            _("Use CSV (.csv, .tsv, optionally .gz), Parquet (.parquet) or JSON (.json, .jsonl)."),
        )
    return file_format


def open_source(engine: Engine, path: Path, role: str, view: str, text_columns: tuple[str, ...] = ()) -> SourceFile:
    """Register ``path`` as ``view`` after checking it exists, is readable and has unique column names.

    ``text_columns`` are read as text from CSV files, so that ids and labels
    such as "007" keep their leading zeros instead of being parsed as numbers.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            _("The {role} file {path} was not found.", role=role, path=path),
            _("Check the path in the dataset file or on the command line."),
        )
    if path.is_dir():
        raise InputError(
            _("The {role} path {path} is a folder, not a file.", role=role, path=path),
            _("Name the file inside the folder."),
        )
    if path.stat().st_size == 0:
        raise InputError(
            _("The {role} file {path} is empty.", role=role, path=path),
            _("Export the file again; it has no header and no rows."),
        )

    file_format = detect_format(path, role)
    header = _raw_header(engine, path, file_format, role)
    _check_duplicate_names(header, path, role)

    options: dict[str, object] = {}
    if file_format == "csv" and text_columns:
        options["dtype"] = {name: "VARCHAR" for name in text_columns if name in header}
    try:
        engine.read_file(view, path, file_format, **options)
        described = engine.columns(view)
        has_rows = engine.rows(f"SELECT 1 FROM {view} LIMIT 1")
    except duckdb.Error as error:
        raise _unreadable(path, role, file_format, error) from error

    if not has_rows:
        raise InputError(
            _("The {role} file {path} has a header but no rows.", role=role, path=path),
            _("Export the file again with its data."),
        )
    columns = [name for name, _type in described]
    return SourceFile(role, path, view, file_format, columns, dict(described))


def _raw_header(engine: Engine, path: Path, file_format: str, role: str) -> list[str]:
    """Return the column names as written in the file, before DuckDB renames duplicates."""
    try:
        if file_format == "parquet":
            return list(pq.read_schema(path).names)
        if file_format == "csv":
            engine.read_file("_header_probe", path, "csv", header=False, all_varchar=True)
            first = engine.rows("SELECT * FROM _header_probe LIMIT 1")
            return [str(v) for v in first[0]] if first else []
        engine.read_file("_header_probe", path, "json")
        return [name for name, _type in engine.columns("_header_probe")]
    except (duckdb.Error, OSError, ValueError) as error:
        raise _unreadable(path, role, file_format, error) from error


def _check_duplicate_names(header: list[str], path: Path, role: str) -> None:
    # DuckDB matches names case-insensitively, so "Label" and "label" collide.
    counts = Counter(name.lower() for name in header)
    duplicates = sorted({name for name in header if counts[name.lower()] > 1})
    if duplicates:
        raise InputError(
            _("The {role} file {path} has duplicate column names: {names}.", role=role, path=path, names=", ".join(repr(n) for n in duplicates)),
            _("Rename the columns so each name appears once (names are compared ignoring case)."),
        )


def _unreadable(path: Path, role: str, file_format: str, error: Exception) -> InputError:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(
        _("The {role} file {path} could not be read as {format}: {reason}", role=role, path=path, format=file_format.upper(), reason=first_line),
        _("Check that the file is complete and that its extension matches its content."),
    )
