"""The data root, the datasets in it, and cached calls into :mod:`analysis`.

The data root is a folder whose sub-folders are datasets, each with its own
dataset file (``dataset.toml``). It comes from, in order of precedence:

1. the ``--data-root PATH`` argument after ``--`` on the command line
   (``streamlit run dashboard.py -- --data-root PATH``);
2. the environment variable ``ERROR_ANALYSIS_DATA_ROOT``;
3. ``sample_data/`` in the repository.

An opened :class:`~analysis.Dataset` is cached per folder and per fingerprint of
its files (paths, sizes and modification times), so editing a file on disk
opens the dataset again on the next rerun.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from analysis import ConfigError, Dataset, load_config, load_dataset, summarize
from analysis.config import find_dataset_file
from analysis.engine import ENGINE_DUCKDB
from analysis.filters import ExampleFilter, parse_filter
from analysis.file_uri import FileURI
from analysis.i18n import _, current_language
from analysis.tag_overlay import apply_tag_edits
from analysis.workspace import DEFAULT_WORKSPACE_NAME, WORKSPACE_VARIABLE, TagEdits

DATA_ROOT_ARGUMENT = "--data-root"
DATA_ROOT_VARIABLE = "ERROR_ANALYSIS_DATA_ROOT"
DEMO_ARGUMENT = "--demo"
DEMO_VARIABLE = "ERROR_ANALYSIS_DEMO"
WORKSPACE_ARGUMENT = "--workspace"
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent / "sample_data"

# Each cached dataset keeps a DuckDB connection whose views read the files on
# demand, so an entry costs little memory. The bound drops datasets replaced by
# newer file versions.
_CACHED_DATASETS = 16
_CACHED_SUMMARIES = 64

# Uploaded files live in a folder created in the system temp folder. The
# leading "." keeps list_datasets from listing it even when the data root
# contains the temp folder.
UPLOAD_FOLDER_PREFIX = ".error-analysis-uploads-"

# A session folder of uploads untouched for this long most likely belongs to a
# closed browser tab, because every run of a session that shows an upload
# touches it. Streamlit has no public hook for a session's end.
STALE_UPLOAD_SECONDS = 24 * 60 * 60

LANGUAGE_KEY = "language:"

# A (path, size in bytes, modification time in ns) triple per file; size and
# time are None for a file that does not exist. The last triple names the
# language of the messages, so no cache hands text in one language to a
# session reading another.
Fingerprint = tuple[tuple[str, int | None, int | None], ...]


def data_root(argv: list[str] | None = None, environment: Mapping[str, str] | None = None) -> Path:
    """Return the data root: the command-line argument, else the environment variable, else the samples.

    ``argv`` defaults to ``sys.argv[1:]``, which contains the arguments written
    after ``--`` in ``streamlit run``. Other arguments are ignored because the
    same script also runs under test runners with arguments of their own.
    Raises :class:`~analysis.ConfigError` when the argument has no value.
    """
    argv = sys.argv[1:] if argv is None else argv
    environment = os.environ if environment is None else environment
    value = _argument_value(argv, DATA_ROOT_ARGUMENT)
    if value is None:
        value = environment.get(DATA_ROOT_VARIABLE) or None
    if value is None:
        return DEFAULT_DATA_ROOT
    return Path(value).expanduser().resolve()


def demo_mode(argv: list[str] | None = None, environment: Mapping[str, str] | None = None) -> bool:
    """Return True when the dashboard runs as a read-only demo.

    Demo mode is on with the ``--demo`` argument after ``--``, or when the
    environment variable ``ERROR_ANALYSIS_DEMO`` is ``1``, ``true`` or ``yes``.
    In demo mode nothing is written: no workspace edits, no file saves, and
    uploads stay in the session that made them.
    """
    argv = sys.argv[1:] if argv is None else argv
    environment = os.environ if environment is None else environment
    if DEMO_ARGUMENT in argv:
        return True
    return environment.get(DEMO_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def workspace_folder(argv: list[str] | None = None, environment: Mapping[str, str] | None = None) -> Path:
    """Return the workspace folder: the argument, else the environment variable, else ``.workspace/`` in the data root.

    The argument is ``--workspace PATH`` after ``--``; the variable is
    ``ERROR_ANALYSIS_WORKSPACE``. A separate folder suits read-only data or a
    shared demo. Raises :class:`~analysis.ConfigError` when the argument has
    no value.
    """
    argv = sys.argv[1:] if argv is None else argv
    environment = os.environ if environment is None else environment
    value = _argument_value(argv, WORKSPACE_ARGUMENT)
    if value is None:
        value = environment.get(WORKSPACE_VARIABLE) or None
    if value is None:
        return data_root(argv, environment) / DEFAULT_WORKSPACE_NAME
    return Path(value).expanduser().resolve()


def _argument_value(argv: list[str], name: str) -> str | None:
    """Return the value of the last ``name VALUE`` or ``name=VALUE`` in ``argv``, or None if absent.

    A hand-written scan rather than argparse, because argparse exits the
    process on a malformed argument and matches abbreviations of the name.
    """
    value = None
    for index, argument in enumerate(argv):
        if argument.startswith(name + "="):
            value = argument[len(name) + 1 :]
        elif argument == name:
            if index + 1 >= len(argv) or argv[index + 1].startswith("--"):
                raise ConfigError(
                    _("The argument {name} needs a folder path.", name=name),
                    _("Write it after --, for example: streamlit run dashboard.py -- {name} PATH", name=name),
                )
            value = argv[index + 1]
    if value == "":
        raise ConfigError(
            _("The argument {name} needs a folder path, got an empty value.", name=name),
            _("Write it after --, for example: streamlit run dashboard.py -- {name} PATH", name=name),
        )
    return value


def list_datasets(root: Path) -> list[str]:
    """Return the names of the sub-folders of ``root`` that hold a dataset file, sorted.

    A sub-folder counts when it has a ``*.toml`` file. Which file is used, and
    the error when several files compete, is up to
    :func:`analysis.config.find_dataset_file`, so a folder with a broken or
    ambiguous dataset file is still listed and its error is shown when chosen.
    Hidden folders (starting with ".") are skipped. A missing root has no
    datasets.
    """
    if not root.is_dir():
        return []
    names = [
        folder.name
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and any(folder.glob("*.toml"))
    ]
    return sorted(names, key=lambda name: (name.casefold(), name))


def dataset_fingerprint(folder: Path) -> Fingerprint:
    """Return the fingerprint of the dataset file of ``folder`` and of every file it names.

    Raises :class:`~analysis.AnalysisError` when the dataset file is missing
    or invalid, which the page shows like any other load error.
    """
    config_file = find_dataset_file(folder)
    config = load_config(config_file)
    paths = [config_file, config.predictions, config.metadata, config.tags_file, config.hlp_file]
    return tuple(_file_state(path) for path in paths if path is not None)


def _file_state(path: Path) -> tuple[str, int | None, int | None]:
    # A file named by a URI lies where Spark reads it, so no change of it can be seen from here.
    if isinstance(path, FileURI):
        return str(path), None, None
    try:
        status = path.stat()
    except OSError:
        return str(path), None, None
    return str(path), status.st_size, status.st_mtime_ns


def open_dataset(folder: Path) -> tuple[Dataset, Fingerprint]:
    """Open the dataset in ``folder`` and return it with the fingerprint of its files and of the current language.

    The dataset is cached while the files are unchanged. Raises
    :class:`~analysis.AnalysisError` on invalid input. Errors are not cached,
    so a fixed file is picked up on the next rerun.
    """
    fingerprint = (*dataset_fingerprint(folder), (LANGUAGE_KEY + current_language(), None, None))
    engine = load_config(folder).engine
    if engine.kind == ENGINE_DUCKDB:
        message = _("Opening the dataset {name}…", name=folder.name)
    else:
        message = _("Opening the dataset {name} on {engine}; the queries run there and only counts come back…", name=folder.name, engine=engine.description)
    with st.spinner(message):
        dataset = _open_dataset(str(folder), fingerprint)
    return dataset, fingerprint


def with_tag_edits(folder: Path, fingerprint: Fingerprint, dataset: Dataset, edits: TagEdits) -> tuple[Dataset, Fingerprint]:
    """Return the dataset with the workspace's tag edits laid over its file tags, and the fingerprint to cache it by.

    Without edits both are returned unchanged, so pages share the caches of
    the plain dataset. With edits, the fingerprint gains the edits' digest,
    so every cached result computed on the tags changes with them.
    """
    if not edits:
        return dataset, fingerprint
    digest = edits.digest()
    overlaid = _overlaid_dataset(str(folder), fingerprint, digest, dataset, edits)
    if not overlaid.engine.has_relation(overlaid.view):
        # Undo can bring back edits whose cached overlay was dropped since: build it again.
        _overlaid_dataset.clear()
        overlaid = _overlaid_dataset(str(folder), fingerprint, digest, dataset, edits)
    return overlaid, (*fingerprint, (f"workspace tags {digest}", None, None))


def filter_key(example_filter: ExampleFilter) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the kept and excluded conditions as text, the form the filter takes in cache keys."""
    return tuple(c.as_text() for c in example_filter.keep), tuple(c.as_text() for c in example_filter.exclude)


def dataset_summary(
    folder: Path,
    fingerprint: Fingerprint,
    dataset: Dataset,
    example_filter: ExampleFilter | None = None,
    hlp: dict[str, float] | None = None,
    targets: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Return the summary (see :func:`analysis.summarize`) of an opened dataset, cached per selection.

    The cache key contains the fingerprint (of the files and of any tag
    edits laid over them), the filter, the HLP values and the what-if
    targets, so a change to any of them computes a new summary.
    """
    keep, exclude = filter_key(example_filter or ExampleFilter())
    if dataset.engine.kind == ENGINE_DUCKDB:
        message = _("Computing the summary of {name}…", name=folder.name)
    else:
        message = _("Computing the summary of {name} on {engine}…", name=folder.name, engine=dataset.engine.label)
    with st.spinner(message):
        return _summary(
            str(folder),
            fingerprint,
            keep,
            exclude,
            None if hlp is None else tuple(sorted(hlp.items())),
            None if targets is None else tuple(sorted(targets.items())),
            dataset,
        )


# The fingerprint argument is unused in the body: it is part of the cache key,
# so a changed file gives a new entry.
@st.cache_resource(max_entries=_CACHED_DATASETS, show_spinner=False)
def _open_dataset(folder: str, fingerprint: Fingerprint) -> Dataset:
    return load_dataset(load_config(Path(folder)))


# The dataset and the edits are not hashed (leading underscore): the folder,
# fingerprint and digest stand for them in the cache key.
@st.cache_resource(max_entries=_CACHED_DATASETS, show_spinner=False)
def _overlaid_dataset(folder: str, fingerprint: Fingerprint, digest: str, _dataset: Dataset, _edits: TagEdits) -> Dataset:
    return apply_tag_edits(_dataset, _edits)


# NOTE: the summary's messages are translated when it is computed. If the
# dashboard ever switches language per session, add the language to this key.
@st.cache_data(max_entries=_CACHED_SUMMARIES, show_spinner=False)
def _summary(
    folder: str,
    fingerprint: Fingerprint,
    keep: tuple[str, ...],
    exclude: tuple[str, ...],
    hlp: tuple[tuple[str, float], ...] | None,
    targets: tuple[tuple[str, float], ...] | None,
    _dataset: Dataset,
) -> dict[str, Any]:
    dataset = _dataset
    example_filter = parse_filter(dataset, list(keep), list(exclude))
    return summarize(
        dataset,
        targets=None if targets is None else dict(targets),
        example_filter=example_filter,
        hlp=None if hlp is None else dict(hlp),
    )


# Upload folders ----------------------------------------------------------------------
#
# Layout: <upload root>/<session token>/<folder per upload>/. Only the session
# holding the token in its state can find its folders, so an upload is never
# listed for another session, and nothing under the data root is written.


@functools.cache
def upload_root() -> Path:
    """Return this process's folder for uploaded files, created on first use and removed at exit."""
    root = Path(tempfile.mkdtemp(prefix=UPLOAD_FOLDER_PREFIX))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def new_upload_folder(session_token: str) -> Path:
    """Create and return an empty folder for one upload of the session with ``session_token``."""
    if not session_token.isalnum():
        raise ValueError(f"invalid session token: {session_token!r}")
    session_folder = upload_root() / session_token
    folder = session_folder / uuid.uuid4().hex
    folder.mkdir(parents=True)
    touch_upload_session(folder)
    return folder


def touch_upload_session(folder: Path) -> None:
    """Mark the session owning the upload ``folder`` as alive, so :func:`remove_stale_uploads` keeps its files."""
    try:
        os.utime(folder.parent)
    except OSError:
        pass


def remove_upload_folder(folder: Path | None) -> None:
    """Delete ``folder`` and its files, when it is an upload folder of this process; do nothing otherwise."""
    if folder is None:
        return
    folder = Path(folder).resolve()
    if folder.parent.parent != upload_root().resolve():
        return
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale_uploads(max_age_seconds: float = STALE_UPLOAD_SECONDS, now: float | None = None) -> list[Path]:
    """Delete the session folders of uploads untouched for ``max_age_seconds`` and return them."""
    now = time.time() if now is None else now
    removed = []
    for session_folder in upload_root().iterdir():
        try:
            age = now - session_folder.stat().st_mtime
        except OSError:
            continue
        if session_folder.is_dir() and age > max_age_seconds:
            shutil.rmtree(session_folder, ignore_errors=True)
            removed.append(session_folder)
    return removed
