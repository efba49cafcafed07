"""Input files named by a URI (``s3a://bucket/preds.parquet``, ``hdfs://...``, ``file:///...``).

Spark reads such addresses where the data lies; DuckDB and this process do
not. A :class:`FileURI` keeps the address exactly as written, where
:class:`pathlib.Path` would fold ``//`` into ``/``, and offers the few path
properties the loading code reads (name and suffixes for the file format).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

# A scheme followed by "://", as in s3a://, hdfs://, gs://, abfss:// or file://.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class FileURI(str):
    """The address of an input file that only the Spark engine reads, kept as written."""

    @property
    def _path(self) -> PurePosixPath:
        return PurePosixPath(urlsplit(str(self)).path)

    @property
    def name(self) -> str:
        return self._path.name

    @property
    def suffix(self) -> str:
        return self._path.suffix

    @property
    def suffixes(self) -> list[str]:
        return self._path.suffixes


def is_uri(value: str | Path) -> bool:
    return isinstance(value, str) and _URI.match(value) is not None


def input_path(value: str) -> Path | FileURI:
    """Return ``value`` as a :class:`FileURI` when it has a scheme, else as a local path (the type of the input options)."""
    return FileURI(value) if is_uri(value) else Path(value)
