"""SQL expressions that normalise ids, labels, tags and attribute values.

Labels and predictions are compared by their text: the integer 1, the string
"1" and the float 1.0 are all class "1", while "007" stays "007". Names reach
these expressions only through :func:`analysis.sqltext.quote_ident`.
"""

from __future__ import annotations

from analysis.sqltext import quote_ident

MISSING = "(missing)"
OTHER = "(other)"

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}

# Text that true tag flags are written as, compared after lower-casing.
TRUE_TEXT = ("true", "t", "yes", "y", "1", "1.0")
FALSE_TEXT = ("false", "f", "no", "n", "0", "0.0", "")


def is_integer_type(duckdb_type: str) -> bool:
    return duckdb_type.upper() in _INTEGER_TYPES


def is_numeric_type(duckdb_type: str) -> bool:
    upper = duckdb_type.upper()
    return upper in _INTEGER_TYPES or upper in _FLOAT_TYPES or upper.startswith("DECIMAL")


def class_text(column: str, duckdb_type: str) -> str:
    """Return an expression giving the class text of ``column``, NULL when missing."""
    ident = quote_ident(column)
    upper = duckdb_type.upper()
    if upper in _INTEGER_TYPES:
        return f"CAST({ident} AS VARCHAR)"
    if upper in _FLOAT_TYPES or upper.startswith("DECIMAL"):
        # 1.0 -> "1"; 1.5 stays "1.5". Values beyond BIGINT keep DuckDB's text.
        return (
            f"CASE WHEN {ident} = trunc({ident}) AND abs({ident}) < 9e18 "
            f"THEN CAST(CAST({ident} AS BIGINT) AS VARCHAR) ELSE CAST({ident} AS VARCHAR) END"
        )
    text = f"trim(CAST({ident} AS VARCHAR))"
    # "1.0" written by a float column in a CSV is class "1"; "" is missing. An anchored
    # regexp_matches rather than regexp_full_match, because Spark SQL has the former (as RLIKE).
    return (
        f"CASE WHEN {text} = '' THEN NULL "
        f"WHEN regexp_matches({text}, '^[+-]?[0-9]+\\.0+$') THEN regexp_replace({text}, '\\.0+$', '') "
        f"ELSE {text} END"
    )


def flag(column: str, duckdb_type: str) -> str:
    """Return a BOOLEAN expression for a tag or correct-flag column; missing counts as false."""
    ident = quote_ident(column)
    upper = duckdb_type.upper()
    if upper == "BOOLEAN":
        return f"coalesce({ident}, false)"
    if is_numeric_type(upper):
        return f"coalesce({ident} <> 0, false)"
    true_values = ", ".join(f"'{v}'" for v in TRUE_TEXT)
    return f"coalesce(lower(trim(CAST({ident} AS VARCHAR))) IN ({true_values}), false)"


def unrecognised_flag_filter(column: str) -> str:
    """Return a condition true where a text flag column contains neither a true nor a false spelling."""
    ident = quote_ident(column)
    known = ", ".join(f"'{v}'" for v in TRUE_TEXT + FALSE_TEXT)
    return f"{ident} IS NOT NULL AND lower(trim(CAST({ident} AS VARCHAR))) NOT IN ({known})"


def attribute_text(column: str) -> str:
    ident = quote_ident(column)
    return f"coalesce(CAST({ident} AS VARCHAR), '{MISSING}')"


def top_values(column: str, count: int) -> str:
    """Keep the ``count`` values bound as parameters, fold the rest into "(other)"."""
    ident = quote_ident(column)
    markers = ", ".join(["?"] * count)
    return (
        f"CASE WHEN {ident} IS NULL THEN '{MISSING}' "
        f"WHEN CAST({ident} AS VARCHAR) IN ({markers}) THEN CAST({ident} AS VARCHAR) ELSE '{OTHER}' END"
    )


def quantile_bins(column: str, edges: list[float]) -> tuple[str, list[str]]:
    """Return an expression assigning each value to a bin between ``edges``, and the bin labels.

    Bins are [e0, e1), [e1, e2), ..., [e(n-1), en] so every value from the
    minimum to the maximum falls in exactly one bin.
    """
    ident = quote_ident(column)
    labels = bin_labels(edges)
    cases = [f"WHEN {ident} < {float(high)!r} THEN '{label}'" for high, label in zip(edges[1:-1], labels)]
    cases_text = " ".join(cases)
    expression = f"CASE WHEN {ident} IS NULL THEN '{MISSING}' {cases_text} ELSE '{labels[-1]}' END"
    return expression, labels


def bin_labels(edges: list[float]) -> list[str]:
    """Label the bins between ``edges`` as "[low, high)", the last one "[low, high]".

    Edges get the fewest significant digits (at least 4) that keep every
    edge distinct, so two close edges never share a label.
    """
    for digits in range(4, 18):
        texts = [format_number(edge, digits) for edge in edges]
        if len(set(texts)) == len(texts):
            break
    last = len(edges) - 2
    return [f"[{texts[i]}, {texts[i + 1]}{']' if i == last else ')'}" for i in range(len(edges) - 1)]


def format_number(value: float, digits: int = 4) -> str:
    """Format a bin edge compactly (3, 2.5, 0.0123, 1.2e+06); -0.0 prints as 0."""
    return f"{value + 0.0:.{digits}g}"
