"""The execution seam: every query of the analysis goes through an engine.

DuckDB (:class:`Engine`) is the embedded default. The analysis sends DuckDB
SQL with bound parameters, kept close to standard SQL (GROUP BY, GROUPING
SETS, FILTER), so that :class:`analysis.spark_engine.SparkEngine` can run the
same statements on Spark without a second implementation of any metric.
:func:`open_engine` builds the engine that the ``[engine]`` section of a
dataset file or the ``--engine`` option selects.

Both engines have these members: ``kind``, ``label``, ``supports_bitstrings``,
``one_scan_per_level``,
``errors`` (the exception classes of a failed query), ``error_text``,
``query``, ``rows``, ``create_view``, ``create_table``, ``create_table_as``,
``append_frame``, ``write``, ``drop``, ``has_relation``, ``read_file`` and
``columns``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analysis.errors import ConfigError
from analysis.i18n import _

log = logging.getLogger(__name__)

ENGINE_DUCKDB = "duckdb"
ENGINE_SPARK = "spark"
ENGINE_KINDS = (ENGINE_DUCKDB, ENGINE_SPARK)

# DuckDB prefixes its messages with the error class, e.g. "Invalid Input Error: ".
_DUCKDB_ERROR_CLASS = re.compile(r"^[A-Z][A-Za-z]*( [A-Z][A-Za-z]*)* Error: ")


@dataclass(frozen=True)
class EngineSettings:
    """The engine that runs the queries, from the ``[engine]`` section of a dataset file or the CLI options."""

    kind: str = ENGINE_DUCKDB
    # A Spark master URL such as local[2] or spark://host:7077; None keeps the
    # master of an active session (spark-submit) or Spark's default.
    master: str | None = None
    # A Spark Connect URL such as sc://host:15002; it takes precedence over master.
    remote: str | None = None
    # Spark configuration, for example {"spark.executor.memory" = "4g"}.
    config: dict[str, str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """Name the engine and where it runs, for progress messages: "Spark (sc://host:15002)"."""
        if self.kind != ENGINE_SPARK:
            return "DuckDB"
        return f"Spark ({self.remote or self.master or 'local'})"


def check_duckdb_only(settings: EngineSettings, command: str) -> None:
    """Raise :class:`ConfigError` when ``settings`` select Spark for ``command``, which needs per-example rows on DuckDB."""
    if settings.kind == ENGINE_DUCKDB:
        return
    raise ConfigError(
        _("The '{command}' command runs on DuckDB only, but the dataset file selects the Spark engine ([engine] kind = \"spark\").", command=command),
        _("Run summary, slices, audit or report on Spark, or use a copy of the dataset file without the [engine] section for this command."),
    )


def open_engine(settings: EngineSettings | None = None):
    """Return a new engine for ``settings``: DuckDB by default, else Spark.

    pyspark is imported only here, when Spark is selected. Raises
    :class:`ConfigError` when pyspark or a Java runtime is missing, or when
    the Spark session cannot start.
    """
    settings = settings or EngineSettings()
    if settings.kind != ENGINE_SPARK:
        return Engine()
    try:
        from analysis import spark_engine
    except ImportError as error:
        raise ConfigError(
            _("The Spark engine needs the Python packages pyspark and sqlglot, which could not be imported: {reason}.", reason=error),
            _("Install them with: pip install pyspark sqlglot. Or choose the DuckDB engine (--engine duckdb)."),
        ) from error
    if not settings.remote and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError(
            _("The Spark engine needs a Java runtime, but no 'java' command was found and JAVA_HOME is not set."),
            _("Install Java 17 or later (on Debian: apt-get install openjdk-17-jre-headless), or choose the DuckDB engine (--engine duckdb)."),
        )
    try:
        session = spark_engine.start_session(settings.master, settings.remote, dict(settings.config))
    except (spark_engine.PySparkException, spark_engine.Py4JError, OSError) as error:
        raise ConfigError(
            _("The Spark session could not start ({engine}): {reason}.", engine=settings.description, reason=spark_engine.SparkEngine.error_text(error)),
            _("Check the master or remote URL in [engine] or on the command line, and that Java and the cluster are reachable."),
        ) from error
    return spark_engine.SparkEngine(session, remote=bool(settings.remote), label=settings.description)


class Engine:
    """A DuckDB connection that hands each query its own cursor.

    A cursor per query keeps Streamlit's session threads from sharing one
    connection state, and always fetching the result avoids DuckDB's
    "connection has an unfinished result" error.
    """

    kind = ENGINE_DUCKDB
    label = "DuckDB"
    # Discovery may count candidates with DuckDB's bit strings (bitstring_agg, bit_count).
    supports_bitstrings = True
    # Discovery counts a level's column sets with one GROUP BY each, joined by
    # UNION ALL, which ran twice as fast on DuckDB as one GROUPING SETS query.
    one_scan_per_level = False
    errors: tuple[type[BaseException], ...] = (duckdb.Error,)

    @staticmethod
    def error_text(error: BaseException) -> str:
        """Return the first line of a DuckDB error without its error class."""
        text = str(error).strip()
        return _DUCKDB_ERROR_CLASS.sub("", text.splitlines()[0]) if text else type(error).__name__

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
