"""The execution seam: every query of the analysis goes through :class:`Engine`.

DuckDB is the embedded engine. The analysis sends plain SQL with bound
parameters, kept close to standard SQL (GROUP BY, GROUPING SETS, FILTER) so
that another engine can take this class's place without touching the metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd


class Engine:
    """A DuckDB connection that hands each query its own cursor.

    A cursor per query keeps Streamlit's session threads from sharing one
    connection state, and always fetching the result avoids DuckDB's
    "connection has an unfinished result" error.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None, threads: int | None = None):
        self._connection = connection or duckdb.connect(":memory:")
        if threads is not None:
            self._connection.execute("SET threads = ?", [threads]).fetchall()
        self._lock = threading.Lock()

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run ``sql`` with bound ``params`` and return the (small) result as a DataFrame."""
        cursor = self._cursor()
        try:
            return cursor.execute(sql, list(params)).df()
        finally:
            cursor.close()

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Run ``sql`` and return its rows as tuples."""
        cursor = self._cursor()
        try:
            return cursor.execute(sql, list(params)).fetchall()
        finally:
            cursor.close()

    def create_view(self, name: str, sql: str, params: Sequence[object] = ()) -> None:
        """Define the view ``name`` (a name chosen by the code, never by a user).

        DuckDB cannot prepare ``CREATE VIEW`` with parameters. So the select is
        built as a relation with its parameters bound, and the relation becomes
        the view. Values are bound by DuckDB and never pasted into SQL by this code.
        """
        with self._lock:
            self._connection.sql(sql, params=list(params) if params else None).create_view(name, replace=True)

    def create_table(self, name: str, frame: pd.DataFrame) -> None:
        """Store the rows of ``frame`` as the table ``name`` (a name chosen by the code), replacing any table of that name."""
        with self._lock:
            self._connection.from_df(frame).create_view("_incoming_frame", replace=True)
            try:
                self._connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming_frame")
            finally:
                self._connection.execute("DROP VIEW IF EXISTS _incoming_frame")

    def create_table_as(self, name: str, sql: str, params: Sequence[object] = ()) -> None:
        """Store the result of ``sql`` as the new table ``name`` (a name chosen by the code, not yet taken)."""
        with self._lock:
            self._connection.sql(sql, params=list(params) if params else None).create(name)

    def append_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame``, whose columns match the table's in order, to the table ``name``."""
        with self._lock:
            self._connection.from_df(frame).insert_into(name)

    def write(self, sql: str, params: Sequence[object], path: Path, file_format: str) -> None:
        """Write the result of ``sql`` to ``path`` as CSV (with a header) or Parquet, without the path in SQL text.

        Raises :class:`OSError` when the file cannot be written.
        """
        # A cursor of its own, so that a large export does not hold the lock other queries need.
        cursor = self._cursor()
        try:
            relation = cursor.sql(sql, params=list(params) if params else None)
            if file_format == "parquet":
                relation.write_parquet(str(path))
            else:
                relation.write_csv(str(path), header=True)
        except duckdb.IOException as error:
            raise OSError(str(error)) from error
        finally:
            cursor.close()

    def drop(self, name: str, kind: str) -> None:
        """Drop the view or table ``name`` (a name chosen by the code) if it exists; ``kind`` is VIEW or TABLE."""
        if kind not in ("VIEW", "TABLE"):
            raise ValueError(f"kind must be VIEW or TABLE, not {kind!r}")
        with self._lock:
            self._connection.execute(f"DROP {kind} IF EXISTS {name}")

    def has_relation(self, name: str) -> bool:
        """Return True when a table or view named ``name`` exists."""
        return bool(self.rows("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name])[0][0]) or bool(
            self.rows("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name])[0][0]
        )

    def read_file(self, name: str, path: Path, file_format: str, **options: object) -> None:
        """Register the file at ``path`` as the view ``name`` without putting the path in SQL text."""
        readers = {
            "csv": self._connection.read_csv,
            "parquet": self._connection.read_parquet,
            "json": self._connection.read_json,
        }
        with self._lock:
            relation = readers[file_format](str(path), **options)
            relation.create_view(name, replace=True)

    def columns(self, name: str) -> list[tuple[str, str]]:
        """Return (column name, DuckDB type) pairs of the view ``name``."""
        cursor = self._cursor()
        try:
            return [(row[0], row[1]) for row in cursor.execute(f"DESCRIBE {name}").fetchall()]
        finally:
            cursor.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._connection.cursor()
