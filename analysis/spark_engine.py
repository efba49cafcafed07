"""The Spark engine: the analysis's DuckDB SQL, transpiled by SQLGlot, run by Spark SQL.

:class:`SparkEngine` has the methods of :class:`analysis.engine.Engine` that
the summary, slices, discovery, audit and report use. Each statement is
parsed as DuckDB SQL, a few functions that SQLGlot (30.x) leaves as they are
are rewritten for Spark (see :func:`to_spark_sql`), and the result runs with
its ``?`` markers bound by ``spark.sql(sql, args=[...])``. Views and tables
are temporary views of one Spark session, so nothing is written to a
warehouse folder.

Only small results come back to Python: counts per class, slice or tag,
never one row per example.

This module imports pyspark and sqlglot at the top. :mod:`analysis.engine`
imports it only when Spark is selected, so DuckDB users need neither.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import sqlglot

# pyspark 4.3 warns on import that it does not fully support pandas 3. This
# engine never converts through pyspark.pandas or Arrow: it collects rows and
# builds the small frames itself (:func:`_to_pandas`), so the warning does not apply.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

from pyspark.errors import PySparkException  # noqa: E402
from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import types as spark_types  # noqa: E402
from py4j.protocol import Py4JError  # noqa: E402
from sqlglot import exp  # noqa: E402

from analysis.errors import QueryError  # noqa: E402
from analysis.i18n import _  # noqa: E402

log = logging.getLogger(__name__)

# Delimiters tried, in this order on ties, when the header line of a CSV file is sniffed.
_CSV_DELIMITERS = (",", ";", "\t", "|")

# Spark error text looks like "[PATH_NOT_FOUND] Path does not exist: ... SQLSTATE: 42K03".
_ERROR_CLASS = re.compile(r"^\s*\[[A-Z0-9_.]+\]\s*")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+.*$", re.DOTALL)

# DuckDB's names of Spark's simple types, because the loading code decides by DuckDB type names.
_DUCKDB_TYPE_NAMES = {
    spark_types.StringType: "VARCHAR",
    spark_types.VarcharType: "VARCHAR",
    spark_types.CharType: "VARCHAR",
    spark_types.BooleanType: "BOOLEAN",
    spark_types.ByteType: "TINYINT",
    spark_types.ShortType: "SMALLINT",
    spark_types.IntegerType: "INTEGER",
    spark_types.LongType: "BIGINT",
    spark_types.FloatType: "FLOAT",
    spark_types.DoubleType: "DOUBLE",
    spark_types.DateType: "DATE",
    spark_types.TimestampType: "TIMESTAMP WITH TIME ZONE",
    spark_types.TimestampNTZType: "TIMESTAMP",
    spark_types.BinaryType: "BLOB",
    spark_types.NullType: "VARCHAR",
}

# DuckDB type names that the loading code requests from a file reader, as Spark types.
_SPARK_TYPES = {
    "VARCHAR": spark_types.StringType(),
    "BOOLEAN": spark_types.BooleanType(),
    "BIGINT": spark_types.LongType(),
    "INTEGER": spark_types.IntegerType(),
    "DOUBLE": spark_types.DoubleType(),
}


# The settings a local session gets unless the caller's Spark configuration sets them.
LOCAL_DEFAULTS = {
    # A local session talks only to itself, so its driver listens on the loopback interface.
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Aggregates are combined per partition before the shuffle, so what is shuffled
    # is a few hundred rows: one partition avoids scheduling hundreds of empty tasks.
    "spark.sql.shuffle.partitions": "1",
    # No table is ever saved, but Spark creates its warehouse folder at start;
    # this keeps it out of the folder the command runs in.
    "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "error-analysis-spark-warehouse"),
}

# Session settings the transpiled SQL relies on, set on every session this engine uses.
SESSION_SETTINGS = {
    # DuckDB ignores case in column names, and so do the analysis's look-ups.
    "spark.sql.caseSensitive": "false",
    # An invalid cast or a division by zero gives NULL, as the analysis's CASE guards
    # expect. With ANSI mode, Spark 4 would raise on branches that DuckDB never evaluates.
    "spark.sql.ansi.enabled": "false",
}


def start_session(master: str | None, remote: str | None, settings: dict[str, str]) -> SparkSession:
    """Return the Spark session for ``master`` (a local or cluster master) or ``remote`` (a Spark Connect URL).

    An active session of this process is reused. Without a master, the
    session takes the one that spark-submit passes, or else ``local[*]``.
    """
    builder = SparkSession.builder.appName("error-analysis")
    if remote:
        # NOTE: no test starts a Spark Connect server, so this path has only been
        # read against the pyspark 4.3 API, never run.
        builder = builder.remote(remote)
    else:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        # spark-submit starts Python with the address of its JVM in this variable,
        # and passes its own master; otherwise a missing master means a local session.
        if not master and "PYSPARK_GATEWAY_PORT" not in os.environ:
            master = "local[*]"
        if master:
            builder = builder.master(master)
        # Only a local master gets these defaults: under spark-submit (no master
        # here) they would override the settings passed with --conf.
        if master and master.startswith("local"):
            for key, value in LOCAL_DEFAULTS.items():
                if key not in settings:
                    builder = builder.config(key, value)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not remote:
        # A failed query is reported to the user as one message, so Spark's own
        # ERROR lines (a JSON stack trace per query) would only repeat it.
        session.sparkContext.setLogLevel("FATAL")
    return session


def to_spark_sql(sql: str) -> str:
    """Transpile one DuckDB statement to Spark SQL, keeping its ``?`` markers in place.

    SQLGlot translates FILTER clauses, GROUPING SETS, casts and most
    functions. These are rewritten here because SQLGlot leaves them as
    DuckDB wrote them:

    - ``list_position(list, value)`` becomes ``nullif(array_position(list, value), 0)``,
      since Spark returns 0 where DuckDB returns NULL for a value not in the list;
    - ``quantile_cont(x, levels)`` becomes ``percentile(x, levels)``, which
      interpolates linearly between the closest ranks as DuckDB does;
    - the unsigned integer types become the signed type of the same width or wider.
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(_rewrite_node)
    return tree.sql(dialect="spark")


def _rewrite_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_position":
        position = exp.Anonymous(this="array_position", expressions=list(node.expressions))
        return exp.Nullif(this=position, expression=exp.Literal.number(0))
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    if isinstance(node, exp.DataType):
        signed = {
            exp.DataType.Type.UTINYINT: "SMALLINT",
            exp.DataType.Type.USMALLINT: "INT",
            exp.DataType.Type.UINT: "BIGINT",
            # NOTE: values from 2**63 wrap to negative numbers. The analysis uses
            # unsigned 64-bit integers only as bit sets, where the bits stay the same.
            exp.DataType.Type.UBIGINT: "BIGINT",
        }.get(node.this)
        if signed is not None:
            return exp.DataType.build(signed)
    return node


def _plain(value: object) -> object:
    """Turn numpy scalars, arrays and tuples into the Python values Spark binds as literals."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    return value


def duckdb_type_name(data_type: spark_types.DataType) -> str:
    """Return DuckDB's name of a Spark type, for example VARCHAR for StringType."""
    if isinstance(data_type, spark_types.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    if isinstance(data_type, spark_types.ArrayType):
        return duckdb_type_name(data_type.elementType) + "[]"
    if isinstance(data_type, spark_types.StructType):
        return "STRUCT"
    if isinstance(data_type, spark_types.MapType):
        return "MAP"
    return _DUCKDB_TYPE_NAMES.get(type(data_type), data_type.simpleString().upper())


class SparkEngine:
    """Runs the analysis's queries on a Spark session; the counterpart of :class:`analysis.engine.Engine`.

    Every engine gets a session of its own (``newSession``): the same
    SparkContext, but its own temporary views, so two opened datasets do not
    overwrite each other's ``examples`` view. With Spark Connect the session
    is used as it is, because views of one Connect session are already
    separate from other clients'.
    """

    kind = "spark"
    # Discovery counts candidates with DuckDB bit strings only where this is true.
    supports_bitstrings = False
    # Discovery counts all column sets of a level in one scan of exploded keys,
    # because each branch of a UNION ALL costs Spark a scan and a stage.
    one_scan_per_level = True
    # Every Spark failure leaves this class as a QueryError (see _reported).
    errors: tuple[type[BaseException], ...] = (QueryError,)

    def __init__(self, session: SparkSession, remote: bool = False, label: str = "local"):
        self._session = session if remote else session.newSession()
        for key, value in SESSION_SETTINGS.items():
            self._session.conf.set(key, value)
        self._lock = threading.Lock()
        self._cached: dict[str, DataFrame] = {}
        self.label = label

    @property
    def session(self) -> SparkSession:
        return self._session

    # ------------------------------------------------------------ queries

    @contextlib.contextmanager
    def _reported(self):
        """Turn a Spark or Py4J failure into a :class:`QueryError` naming the engine and Spark's reason."""
        try:
            yield
        except (PySparkException, Py4JError) as error:
            reason = self.error_text(error)
            log.debug("Spark query failed on %s: %s", self.label, reason)
            raise QueryError(
                _("A query failed on {engine}: {reason}.", engine=self.label, reason=reason.rstrip(".")),
                _("Check that the cluster is running and can read the input files, or run with --engine duckdb."),
                reason=reason,
            ) from error

    def frame(self, sql: str, params: Sequence[object] = ()) -> DataFrame:
        """Return the Spark DataFrame of the DuckDB statement ``sql`` with ``params`` bound."""
        text = to_spark_sql(sql)
        arguments = [_plain(value) for value in params]
        log.debug("Spark SQL: %s", text)
        with self._reported():
            return self._session.sql(text, args=arguments or None)

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run ``sql`` and return its (small) result as a pandas DataFrame, typed as DuckDB would type it."""
        frame = self.frame(sql, params)
        with self._reported():
            return _to_pandas(frame.collect(), frame.schema)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Run ``sql`` and return its rows as tuples."""
        frame = self.frame(sql, params)
        with self._reported():
            return [tuple(row) for row in frame.collect()]

    # ------------------------------------------------------------ views and tables

    def create_view(self, name: str, sql: str, params: Sequence[object] = ()) -> None:
        """Define the temporary view ``name`` (a name chosen by the code); the parameters are bound when it is defined."""
        with self._lock, self._reported():
            self.frame(sql, params).createOrReplaceTempView(name)

    def create_table(self, name: str, frame: pd.DataFrame) -> None:
        """Store the rows of ``frame`` as the cached temporary view ``name``, replacing any of that name."""
        records = frame.astype(object).where(frame.notna(), None).values.tolist()
        with self._lock, self._reported():
            self._remember(name, self._session.createDataFrame(records, schema=[str(column) for column in frame.columns]))

    def create_table_as(self, name: str, sql: str, params: Sequence[object] = ()) -> None:
        """Store the result of ``sql`` as the cached temporary view ``name``, computed once now."""
        with self._lock, self._reported():
            self._remember(name, self.frame(sql, params))

    def _remember(self, name: str, frame: DataFrame) -> None:
        cached = frame.persist()
        cached.count()
        cached.createOrReplaceTempView(name)
        old = self._cached.pop(name, None)
        if old is not None:
            old.unpersist()
        self._cached[name] = cached

    def append_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` to the table ``name``."""
        with self._lock, self._reported():
            records = frame.astype(object).where(frame.notna(), None).values.tolist()
            incoming = self._session.createDataFrame(records, schema=self._session.table(name).schema)
            combined = self._session.table(name).unionByName(incoming)
            self._remember(name, combined.localCheckpoint())

    def drop(self, name: str, kind: str) -> None:
        """Drop the view or table ``name`` (a name chosen by the code) if it exists; ``kind`` is VIEW or TABLE."""
        if kind not in ("VIEW", "TABLE"):
            raise ValueError(f"kind must be VIEW or TABLE, not {kind!r}")
        with self._lock, self._reported():
            self._session.catalog.dropTempView(name)
            cached = self._cached.pop(name, None)
            if cached is not None:
                cached.unpersist()

    def has_relation(self, name: str) -> bool:
        """Return True when a temporary view named ``name`` exists in this engine's session."""
        with self._reported():
            return self._session.catalog.tableExists(name)

    def columns(self, name: str) -> list[tuple[str, str]]:
        """Return (column name, DuckDB type name) pairs of the view ``name``."""
        with self._reported():
            fields = self._session.table(name).schema.fields
        return [(field.name, duckdb_type_name(field.dataType)) for field in fields]

    def write(self, sql: str, params: Sequence[object], path: Path, file_format: str) -> None:
        """Write the result of ``sql`` to one local CSV or Parquet file at ``path``.

        The rows are collected on the driver first, because Spark writes a
        folder of part files where the caller expects one file.
        """
        frame = self.query(sql, params)
        if file_format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)

    # ------------------------------------------------------------ files

    def read_file(self, name: str, path: Path | str, file_format: str, **options: object) -> None:
        """Register the file at ``path`` (a local path or any URI Spark reads) as the view ``name``.

        ``options`` are the DuckDB reader options the loading code passes:
        ``header=False`` with ``all_varchar=True`` reads every line as text,
        ``dtype`` maps CSV columns to read as VARCHAR, and ``columns`` maps
        JSON columns to the DuckDB type to cast them to.
        """
        location = str(path)
        with self._reported():
            if file_format == "csv":
                frame = self._read_csv(location, options)
            elif file_format == "json":
                frame = self._read_json(location, options)
            elif file_format == "parquet":
                frame = self._session.read.parquet(location)
            else:
                raise ValueError(f"unknown file format {file_format!r}")
        with self._lock, self._reported():
            frame.createOrReplaceTempView(name)

    def _first_line(self, location: str) -> str:
        lines = self._session.read.text(location).limit(1).collect()
        return lines[0][0] if lines else ""

    def _read_csv(self, location: str, options: dict[str, object]) -> DataFrame:
        header_line = self._first_line(location).lstrip("\ufeff")
        delimiter = max(_CSV_DELIMITERS, key=header_line.count)
        reader = (
            self._session.read.option("sep", delimiter)
            # Quotes inside a quoted field are doubled ("a ""b"""), as in RFC 4180 and DuckDB.
            .option("escape", '"')
            .option("encoding", "UTF-8")
        )
        if options.get("header") is False:
            return reader.option("header", "false").csv(location)
        inferred = reader.option("header", "true").option("inferSchema", "true").csv(location)
        text_columns = {column.strip() for column in dict(options.get("dtype") or {})}
        if text_columns:
            # Read again with those columns as text, so "007" keeps its zeros.
            fields = [
                spark_types.StructField(field.name, spark_types.StringType() if field.name.strip() in text_columns else field.dataType)
                for field in inferred.schema.fields
            ]
            inferred = reader.option("header", "true").schema(spark_types.StructType(fields)).csv(location)
        # DuckDB drops a byte-order mark and spaces around header names; so does this reader.
        names = [field.name.lstrip("\ufeff").strip() for field in inferred.schema.fields]
        return inferred.toDF(*names)

    def _read_json(self, location: str, options: dict[str, object]) -> DataFrame:
        # A file holding one JSON array needs the multi-line reader; JSON Lines does not.
        multi_line = self._first_line(location).lstrip("\ufeff").lstrip().startswith("[")
        # FAILFAST makes the schema inference, which reads the whole file, reject a
        # malformed record, where the default mode would hide it in a _corrupt_record column.
        reader = self._session.read.option("multiLine", str(multi_line).lower()).option("mode", "FAILFAST")
        frame = reader.json(location)
        wanted = dict(options.get("columns") or {})
        for column, type_name in wanted.items():
            spark_type = _SPARK_TYPES.get(str(type_name).upper())
            if spark_type is not None and column in frame.columns:
                frame = frame.withColumn(column, frame[f"`{column.replace('`', '``')}`"].cast(spark_type))
        return frame

    # ------------------------------------------------------------ errors

    @staticmethod
    def error_text(error: BaseException) -> str:
        """Return the first line of a Spark error without its error class and SQLSTATE."""
        if isinstance(error, QueryError):
            return error.reason
        java_exception = getattr(error, "java_exception", None)
        if java_exception is not None:
            # A Py4JJavaError's own text is "An error occurred while calling o30.json.".
            error = Exception(str(java_exception.getMessage() or java_exception.toString()))
        text = str(error).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        return _SQLSTATE.sub("", _ERROR_CLASS.sub("", first)).strip()


def _to_pandas(rows: list, schema: spark_types.StructType) -> pd.DataFrame:
    """Build a DataFrame of collected rows with the dtypes DuckDB's ``.df()`` gives.

    Integer columns without NULLs are int64, with NULLs float64 (NaN for
    NULL); floating columns are float64; booleans are bool, or object with
    None where a value is NULL; anything else is object.
    """
    names = [field.name for field in schema.fields]
    columns = {}
    for index, field in enumerate(schema.fields):
        values = [row[index] for row in rows]
        data_type = field.dataType
        if isinstance(data_type, (spark_types.ByteType, spark_types.ShortType, spark_types.IntegerType, spark_types.LongType)):
            if any(value is None for value in values):
                series = pd.Series([np.nan if value is None else float(value) for value in values], dtype="float64")
            else:
                series = pd.Series(values, dtype="int64")
        elif isinstance(data_type, (spark_types.FloatType, spark_types.DoubleType)):
            series = pd.Series([np.nan if value is None else value for value in values], dtype="float64")
        elif isinstance(data_type, spark_types.BooleanType) and not any(value is None for value in values):
            series = pd.Series(values, dtype="bool")
        else:
            series = pd.Series(values, dtype="object")
        columns[index] = series
    frame = pd.DataFrame(columns)
    frame.columns = names
    return frame
