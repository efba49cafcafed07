"""Exporting the current tags in the long form: one (id, tag) row per tag an example carries.

The export contains the tags as every page counts them: the file tags with the
workspace edits on top. It is the input form of a long tags file, so it can
be merged back into a team's files and named under ``[files] tags``. The id
column keeps the predictions file's name for it. Only analysed examples are
written: an id that lacks a prediction or a label has no row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from analysis.errors import InputError
from analysis.i18n import _
from analysis.model import Dataset
from analysis.sqltext import quote_ident

EXPORT_FORMATS = ("csv", "parquet")


def tags_long_query(dataset: Dataset) -> tuple[str, list[object]]:
    """Return the query of the long tags (id column named as in the predictions file, then ``tag``), ordered by id and tag."""
    id_name = quote_ident(dataset.id_column)
    if not dataset.tags:
        return f"SELECT id AS {id_name}, CAST(NULL AS VARCHAR) AS tag FROM {dataset.view} WHERE false", []
    parts = [f"SELECT id, CAST(? AS VARCHAR) AS tag FROM {dataset.view} WHERE {tag.alias}" for tag in dataset.tags]
    params: list[object] = [tag.name for tag in dataset.tags]
    return f"SELECT id AS {id_name}, tag FROM ({' UNION ALL '.join(parts)}) ORDER BY id, tag", params


def export_tags(dataset: Dataset, path: Path, file_format: str | None = None) -> int:
    """Write the long tags to ``path`` (CSV or Parquet, from the suffix unless given) and return the number of rows.

    Raises :class:`~analysis.InputError` for an unknown format or a file
    that cannot be written.
    """
    path = Path(path)
    file_format = (file_format or path.suffix.lstrip(".")).lower()
    if file_format not in EXPORT_FORMATS:
        raise InputError(
            _("Cannot write tags as {format!r} to {file}.", format=file_format, file=path),
            _("Use a file name ending in .csv or .parquet."),
        )
    sql, params = tags_long_query(dataset)
    try:
        dataset.engine.write(sql, params, path, file_format)
    except OSError as error:
        raise InputError(
            _("The tags could not be written to {file}: {reason}.", file=path, reason=error),
            _("Check that the folder exists and that you may write to it."),
        ) from error
    count_sql = f"SELECT count(*) FROM ({sql})"
    return int(dataset.engine.rows(count_sql, params)[0][0])


def export_bytes(dataset: Dataset, sql: str, params: list[object], file_format: str) -> bytes:
    """Return the result of ``sql`` as the bytes of a CSV or Parquet file, for a download button."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{file_format}"
        dataset.engine.write(sql, params, path, file_format)
        return path.read_bytes()
