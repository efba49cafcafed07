"""Reading one input file (CSV, Parquet, JSON) into a DuckDB view.

The file is never loaded into pandas: DuckDB reads it where it lies. This
module checks what DuckDB would otherwise accept silently or report in its own
terms: missing or empty files, unknown formats, duplicate column names.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from analysis.engine import Engine
from analysis.errors import InputError
from analysis.file_uri import FileURI
from analysis.i18n import _

log = logging.getLogger(__name__)

FILE_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
COMPRESSED_SUFFIXES = (".gz", ".zst")

# CSV delimiters looked for when DuckDB could not split a file into columns.
_DELIMITERS = (",", ";", "\t", "|")

# DuckDB's names for the columns of a CSV file read without a header.
_GENERATED_NAME = re.compile(r"column[0-9]+")


@dataclass
class SourceFile:
    """One input file registered as a view, with its columns as DuckDB reads them."""

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
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    file_format = FILE_FORMATS.get(suffixes[-1]) if suffixes else None
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
    A :class:`~analysis.file_uri.FileURI` is read by the Spark engine only,
    without the checks that need the file on this machine.
    """
    if isinstance(path, FileURI):
        if engine.kind != "spark":
            raise InputError(
                _("The {role} file {path} is a URI, which only the Spark engine reads.", role=role, path=path),
                _("Run with --engine spark (or [engine] kind = \"spark\"), or copy the file to a local path."),
            )
    else:
        path = Path(path)
        _check_local_file(path, role)

    file_format = detect_format(path, role)
    header = _raw_header(engine, path, file_format, role)
    _check_duplicate_names(header, path, role)

    options: dict[str, object] = {}
    if file_format == "csv" and text_columns:
        # DuckDB strips spaces around header names, and rejects a type for a column it lacks.
        present = {name.strip() for name in header}
        options["dtype"] = {name: "VARCHAR" for name in text_columns if name in present}
    try:
        engine.read_file(view, path, file_format, **options)
        described = engine.columns(view)
        if file_format == "json" and any(kind.upper() == "JSON" for _name, kind in described):
            # A column mixing strings and numbers reads as JSON text, which keeps the quotes
            # around strings ('"1"'). Read as VARCHAR, 1 and "1" become the same text.
            types = {name: "VARCHAR" if kind.upper() == "JSON" else kind for name, kind in described}
            engine.read_file(view, path, file_format, columns=types)
            described = engine.columns(view)
        has_rows = engine.rows(f"SELECT 1 FROM {view} LIMIT 1")
    except engine.errors as error:
        raise _unreadable(engine, path, role, file_format, error) from error

    columns = [name for name, _type in described]
    if not has_rows:
        raise _no_rows(path, role, file_format, header)
    # NOTE: a ragged CSV file behind a URI is not looked for line by line, because this process cannot open it.
    if file_format == "csv" and not isinstance(path, FileURI):
        _check_split_into_columns(path, role, columns)
    return SourceFile(role, path, view, file_format, columns, dict(described))


def _check_local_file(path: Path, role: str) -> None:
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


def _raw_header(engine: Engine, path: Path, file_format: str, role: str) -> list[str]:
    """Return the column names as written in the file, before DuckDB renames duplicates."""
    try:
        if file_format == "parquet" and engine.kind == "duckdb":
            return list(pq.read_schema(path).names)
        if file_format == "parquet":
            # Spark renames no column of a Parquet file, so its schema has the names as written.
            engine.read_file("_header_probe", path, "parquet")
            return [name for name, _type in engine.columns("_header_probe")]
        if file_format == "csv":
            engine.read_file("_header_probe", path, "csv", header=False, all_varchar=True)
            first = engine.rows("SELECT * FROM _header_probe LIMIT 1")
            if not first:
                return []
            # An empty header cell reads as NULL, and DuckDB names that column itself.
            return ["" if value is None else str(value) for value in first[0]]
        engine.read_file("_header_probe", path, "json")
        return [name for name, _type in engine.columns("_header_probe")]
    except (*engine.errors, OSError, ValueError) as error:
        raise _unreadable(engine, path, role, file_format, error) from error


def _check_duplicate_names(header: list[str], path: Path, role: str) -> None:
    # DuckDB matches names case-insensitively, so "Label" and "label" collide.
    # Empty names are left out because DuckDB gives each such column a distinct name.
    counts = Counter(name.lower() for name in header if name)
    duplicates = sorted({name for name in header if name and counts[name.lower()] > 1})
    if duplicates:
        raise InputError(
            _("The {role} file {path} has duplicate column names: {names}.", role=role, path=path, names=", ".join(repr(n) for n in duplicates)),
            _("Rename the columns so each name appears once (names are compared ignoring case)."),
        )


def _no_rows(path: Path, role: str, file_format: str, header: list[str]) -> InputError:
    if file_format == "csv" and any(name.strip() for name in header):
        return InputError(
            _("The {role} file {path} has a header but no data rows.", role=role, path=path),
            _("Export the file again with its data."),
        )
    return InputError(
        _("The {role} file {path} contains no rows.", role=role, path=path),
        _("Export the file again with its data."),
    )


def _check_split_into_columns(path: Path, role: str, columns: list[str]) -> None:
    """Reject a CSV file whose rows have different numbers of fields.

    DuckDB reads such a file as one column named after the whole header line,
    or as a file without a header, with columns ``column0``, ``column1`` and so
    on. Either way, a later message would wrongly report a missing id column.
    """
    one_column = len(columns) == 1 and any(d in columns[0] for d in _DELIMITERS)
    headerless = all(_GENERATED_NAME.fullmatch(name) for name in columns)
    if not (one_column or headerless):
        return
    found = _first_ragged_line(path)
    if found is None:
        return
    delimiter, line = found
    raise InputError(
        _("The {role} file {path} could not be split into columns at {delimiter!r}: line {line} has a different number of fields than the header.", role=role, path=path, delimiter=delimiter, line=line),
        _("Make every row have as many fields as the header, and quote fields that contain the delimiter."),
    )


def _first_ragged_line(path: Path) -> tuple[str, int] | None:
    """Return the delimiter of the header line and the 1-based number of the first line with another field count."""
    suffix = path.suffix.lower()
    if suffix == ".zst":
        return None  # NOTE: the standard library has no zstd reader before Python 3.14.
    opener = gzip.open if suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
            header_line = handle.readline()
            delimiter = max(_DELIMITERS, key=header_line.count)
            if delimiter not in header_line:
                return None
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            expected = len(next(reader, []))
            for fields in reader:
                if fields and len(fields) != expected:
                    return delimiter, reader.line_num
    except (OSError, csv.Error):
        return None
    return None


def _unreadable(engine: Engine, path: Path, role: str, file_format: str, error: Exception) -> InputError:
    if isinstance(error, engine.errors):
        first_line = engine.error_text(error)
    else:
        text = str(error).strip()
        first_line = text.splitlines()[0] if text else type(error).__name__
    return InputError(
        _("The {role} file {path} could not be read as {format}: {reason}.", role=role, path=path, format=file_format.upper(), reason=first_line.rstrip(".")),
        _("Check that the file is complete and that its extension matches its content."),
    )


def column_list(source: SourceFile) -> str:
    shown = source.columns[:30]
    text = ", ".join(repr(c) for c in shown)
    return text + (_(" and {count} more", count=len(source.columns) - 30) if len(source.columns) > 30 else "")
