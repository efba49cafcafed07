"""Media columns of the metadata: image and audio paths, long text, and the check that keeps file reads inside the dataset folder.

:func:`detect_media` reads a sample of each text column and returns which
contain image paths, audio paths or long text. :func:`resolve_media_path` turns a
value into a file to read only when it is a relative path to an existing file
inside the dataset's folder. Anything else (an absolute path, a ``..`` that
leaves the folder, a symbolic link pointing outside, a URL, a missing file)
raises :class:`~analysis.InputError`, and the file is never opened.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from analysis.errors import InputError
from analysis.i18n import _
from analysis.model import Dataset
from analysis.sqltext import quote_ident

IMAGE = "image"
AUDIO = "audio"
TEXT = "text"

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac", ".m4a")

# Values read from each column to guess its kind, and the share of them that
# must end with a media extension for the column to count as media paths.
SAMPLE_SIZE = 200
MEDIA_SHARE = 0.8
# Mean length, in characters, from which a text column is shown as wrapped text.
LONG_TEXT_LENGTH = 80

# Images up to this size are embedded in the table as thumbnails. Larger ones
# are shown only in the detail panel, so a page of 50 rows stays light.
THUMBNAIL_MAX_BYTES = 256 * 1024

# A URL scheme: two letters or more before the colon, so "C:" stays a drive letter.
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def dataset_folder(dataset: Dataset) -> Path:
    """Return the folder media paths are relative to: the dataset file's folder, else the predictions file's folder."""
    source = dataset.config.source
    return (source.parent if source is not None else dataset.config.predictions.parent).resolve()


def detect_media(dataset: Dataset) -> dict[str, str]:
    """Return the kind (:data:`IMAGE`, :data:`AUDIO` or :data:`TEXT`) of each metadata column that contains media paths or long text.

    The guess reads the text columns of the first :data:`SAMPLE_SIZE` rows of
    the metadata view ``m`` in one query, so a wide file costs one scan.
    NOTE: a column that is empty in those rows is not detected.
    """
    text_columns = [
        name for name, column_type in dataset.engine.columns("m") if column_type == "VARCHAR" and name != dataset.metadata_key
    ]
    if not text_columns:
        return {}
    selected = ", ".join(f"{quote_ident(name)} AS c{index}" for index, name in enumerate(text_columns))
    sample = dataset.engine.query(f"SELECT {selected} FROM m LIMIT ?", (SAMPLE_SIZE,))
    kinds: dict[str, str] = {}
    for index, name in enumerate(text_columns):
        values = sample[f"c{index}"].dropna()
        kind = classify_values(values[values.astype(str).str.strip() != ""])
        if kind is not None:
            kinds[name] = kind
    return kinds


def classify_values(values: pd.Series) -> str | None:
    """Return the kind of a column from a sample of its non-empty values, or None for plain values."""
    if values.empty:
        return None
    texts = values.astype(str).str.strip()
    lowered = texts.str.lower()
    for kind, extensions in ((IMAGE, IMAGE_EXTENSIONS), (AUDIO, AUDIO_EXTENSIONS)):
        if lowered.str.endswith(extensions).mean() >= MEDIA_SHARE:
            return kind
    if texts.str.len().mean() >= LONG_TEXT_LENGTH or texts.str.contains("\n").any():
        return TEXT
    return None


def resolve_media_path(folder: Path, value: str) -> Path:
    """Return the file that ``value`` names inside ``folder``; raise :class:`~analysis.InputError` for anything that is not such a file.

    ``value`` must be a relative path. The check is made on the resolved path
    (symbolic links followed), so a link inside the folder that points
    outside it is rejected too. ``folder`` must be resolved already.
    """
    text = value.strip()
    # The hint does not name the server's folder, which a shared demo keeps from its visitors.
    hint = _("Media paths must be relative to the folder of the dataset file and stay inside it.")
    if not text or "\x00" in text:
        raise InputError(_("The media path '{value}' is empty or invalid.", value=value), hint)
    if _URL_SCHEME.match(text):
        raise InputError(_("The media path '{value}' is a URL, which the dashboard does not fetch.", value=value), hint)
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive or text.startswith("~"):
        raise InputError(_("The media path '{value}' is absolute, so it may point outside the dataset folder.", value=value), hint)

    # The written path, before links are followed, must stay in the folder ...
    lexical = Path(os.path.normpath(folder / text))
    if not lexical.is_relative_to(folder):
        raise InputError(_("The media path '{value}' leaves the dataset folder through '..'.", value=value), hint)
    if not lexical.exists():
        raise InputError(_("The media file '{value}' was not found in the dataset folder.", value=value), hint)
    # ... and so must the file it reaches once symbolic links are followed.
    resolved = lexical.resolve()
    if not resolved.is_relative_to(folder):
        raise InputError(_("The media path '{value}' is a symbolic link to a file outside the dataset folder.", value=value), hint)
    if not resolved.is_file():
        raise InputError(_("The media path '{value}' is not a file.", value=value), hint)
    return resolved


def thumbnail_url(folder: Path, value: object) -> str | None:
    """Return the image that ``value`` names as a ``data:`` URL for a table cell, or None when it is rejected, missing or too large."""
    if not isinstance(value, str):
        return None
    try:
        path = resolve_media_path(folder, value)
    except InputError:
        return None
    if path.stat().st_size > THUMBNAIL_MAX_BYTES:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
