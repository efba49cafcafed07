"""Opening the user's own files: uploaders, a column-mapping form and the dataset file written from it.

The uploaded files are saved in a folder of their own outside the data root
(see :func:`ui.data.new_upload_folder`), and the form's choices become a
``dataset.toml`` beside them, so the engine opens an upload exactly like a
dataset of the data root. Only the session that made an upload stores its
folder: it is never listed for another session, opening new files removes the
previous upload, and the address has no ``dataset`` parameter for it, so it
cannot be shared by link.

The column lists come from the engine (:func:`analysis.sources.open_source`),
so an upload shows the same names, and fails with the same messages, as a file
named in a dataset file. In demo mode each file is limited to
:data:`DEMO_UPLOAD_LIMIT_MB`, below Streamlit's ``server.maxUploadSize``.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
import tomli_w

from analysis import AnalysisError, ConfigError, load_config
from analysis.config import (
    COLUMN_ALIASES,
    DATASET_FILE_NAME,
    SCHEMA_VERSION,
    SCORE_KIND_CONFIDENCE,
    SCORE_KIND_POSITIVE_CLASS,
)
from analysis.engine import Engine
from analysis.expressions import class_text
from analysis.i18n import N_, _
from analysis.metrics import sort_classes
from analysis.model import (
    MODE_CLASSIFICATION,
    MODE_CORRECT_FLAG,
    MODE_PER_EXAMPLE_SCORE,
)
from analysis.sources import COMPRESSED_SUFFIXES, FILE_FORMATS, SourceFile, find_column, open_source
from ui.data import (
    new_upload_folder,
    open_dataset,
    remove_stale_uploads,
    remove_upload_folder,
    touch_upload_session,
    upload_root,
)
from ui.errors import escape_markdown

PREDICTIONS = "predictions"
METADATA = "metadata"

# The extensions the engine reads (analysis.sources), so the browser offers only those.
UPLOAD_TYPES = sorted({suffix.lstrip(".") for suffix in (*FILE_FORMATS, *COMPRESSED_SUFFIXES)})

# A demo server is shared by everyone holding its link, and Streamlit keeps each
# uploaded file in memory for as long as the uploader shows it. 20 MB per file
# bounds that cost and still takes a predictions CSV of roughly 700,000 rows
# (an estimate from the samples' 21 to 28 bytes per row).
DEMO_UPLOAD_LIMIT_MB = 20

MODE_LABELS = {
    MODE_CLASSIFICATION: N_("Classification: label and prediction columns"),
    MODE_PER_EXAMPLE_SCORE: N_("Per-example score with a threshold"),
    MODE_CORRECT_FLAG: N_("Correct flag column"),
}
TAGS_NONE = "none"
TAGS_COLUMNS = "columns"
TAGS_LIST = "list"
TAG_FORM_LABELS = {
    TAGS_NONE: N_("No tags"),
    TAGS_COLUMNS: N_("Boolean tag columns"),
    TAGS_LIST: N_("One column with a list of tags"),
}
SCORE_KIND_LABELS = {
    SCORE_KIND_CONFIDENCE: N_("Probability of the predicted class"),
    SCORE_KIND_POSITIVE_CLASS: N_("Probability of the positive class"),
}

ERROR_WHEN_LABELS = {
    "above": N_("A score above the threshold is an error"),
    "below": N_("A score below the threshold is an error"),
}

# Class texts read as true when guessing the positive class of a binary task.
_POSITIVE_GUESSES = ("1", "true", "yes", "positive")



@dataclass
class ColumnMapping:
    """The meaning of each column of the uploaded files: the keys of a dataset file's [columns], [tags] and [task]."""

    id: str
    mode: str = MODE_CLASSIFICATION
    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    correct: str | None = None
    error_threshold: float | None = None
    error_when: str = "above"
    tag_columns: list[str] = field(default_factory=list)
    tag_list_column: str | None = None
    tag_separator: str = ";"
    positive_class: str | None = None
    score_kind: str = SCORE_KIND_CONFIDENCE


# The dataset file ------------------------------------------------------------------------


def dataset_toml(mapping: ColumnMapping, name: str, predictions_file: str, metadata_file: str | None = None) -> str:
    """Return the text of a dataset file (``schema = 1``) for uploaded files and their column mapping.

    File names are relative to the dataset file. tomli-w quotes every
    string, so a column name may contain quotes, spaces, ``=`` or non-ASCII
    letters. Choosing no tags writes ``columns = []``, which turns off the
    engine's default of using boolean ``tag_*`` columns.
    """
    files = {"predictions": predictions_file}
    if metadata_file is not None:
        files["metadata"] = metadata_file

    columns = {"id": mapping.id, "score": mapping.score}
    if mapping.mode == MODE_CLASSIFICATION:
        columns.update(label=mapping.label, prediction=mapping.prediction)
    elif mapping.mode == MODE_CORRECT_FLAG:
        columns["correct"] = mapping.correct

    if mapping.tag_list_column is not None:
        tags = {"list_column": mapping.tag_list_column, "separator": mapping.tag_separator}
    else:
        tags = {"columns": list(mapping.tag_columns)}

    task: dict[str, object] = {}
    if mapping.mode == MODE_CLASSIFICATION and mapping.positive_class is not None:
        task["positive_class"] = mapping.positive_class
    if mapping.mode == MODE_CLASSIFICATION and mapping.score is not None and mapping.score_kind != SCORE_KIND_CONFIDENCE:
        task["score_kind"] = mapping.score_kind
    if mapping.mode == MODE_PER_EXAMPLE_SCORE:
        if mapping.error_threshold is None or not math.isfinite(mapping.error_threshold):
            raise ValueError(f"per-example score mode needs a finite threshold, got {mapping.error_threshold!r}")
        task["error_threshold"] = float(mapping.error_threshold)
        task["error_when"] = mapping.error_when

    document: dict[str, object] = {
        "schema": SCHEMA_VERSION,
        "name": name,
        "files": files,
        "columns": {key: value for key, value in columns.items() if value is not None},
        "tags": tags,
    }
    if task:
        document["task"] = task
    return tomli_w.dumps(document)


# Files on disk ---------------------------------------------------------------------------


def safe_file_name(name: str, role: str, taken: set[str]) -> str:
    """Return a name to save an uploaded file under: its base name, printable, not hidden, not in ``taken``.

    The browser's file name is untrusted: any folder part is dropped, and a
    name already used by the other file gets the role as a prefix.
    """
    base = Path(name.replace("\\", "/")).name
    base = "".join(character for character in base if character.isprintable()).strip()
    if not base or base.startswith(".") or base == DATASET_FILE_NAME:
        base = role + base
    while base.casefold() in {other.casefold() for other in taken}:
        base = f"{role}_{base}"
    return base


def save_files(folder: Path, uploads: dict[str, tuple[str, bytes | memoryview]]) -> dict[str, str]:
    """Write each (role: (uploaded name, content)) into ``folder`` and return the saved name per role."""
    saved: dict[str, str] = {}
    for role, (name, content) in uploads.items():
        file_name = safe_file_name(name, role, set(saved.values()))
        (folder / file_name).write_bytes(content)
        saved[role] = file_name
    return saved


def read_columns(path: Path, role: str) -> SourceFile:
    """Read the header of an uploaded file through the engine; raise :class:`~analysis.InputError` when unreadable."""
    return open_source(Engine(), path, role, f"{role}_upload")


def role_label(role: str) -> str:
    return {PREDICTIONS: _("predictions"), METADATA: _("metadata")}[role]


def guess_mapping(predictions: SourceFile, metadata: SourceFile | None) -> ColumnMapping:
    """Guess the column mapping from the common column names the engine recognises (COLUMN_ALIASES).

    The task mode is classification when a label and a prediction column are
    found, else correct flag or per-example score when such a column is found.
    Tags default to the engine's choice: boolean columns named ``tag_*``.
    """

    def alias(role: str) -> str | None:
        for name in COLUMN_ALIASES[role]:
            found = find_column(predictions.columns, name)
            if found is not None:
                return found
        return None

    label, prediction, score, correct = alias("label"), alias("prediction"), alias("score"), alias("correct")
    if label is not None and prediction is not None:
        mode = MODE_CLASSIFICATION
    elif correct is not None:
        mode = MODE_CORRECT_FLAG
    elif score is not None:
        mode = MODE_PER_EXAMPLE_SCORE
    else:
        mode = MODE_CLASSIFICATION
    tag_file = metadata or predictions
    tags = [name for name in tag_file.columns if name.lower().startswith("tag_") and tag_file.types[name].upper() == "BOOLEAN"]
    return ColumnMapping(
        id=alias("id") or predictions.columns[0],
        mode=mode,
        label=label or predictions.columns[0],
        prediction=prediction or predictions.columns[0],
        score=score,
        correct=correct or predictions.columns[0],
        error_threshold=None,
        tag_columns=tags,
    )


def class_values(predictions: Path, label: str, prediction: str, limit: int = 3) -> list[str]:
    """Return up to ``limit`` distinct classes among the label and prediction columns, as the engine compares them.

    CSV columns are read as text, as the engine reads them, so "007" stays "007".
    """
    engine = Engine()
    source = open_source(engine, predictions, _("predictions"), "classes_upload", (label, prediction))
    found = [find_column(source.columns, name) for name in (label, prediction)]
    if None in found:
        return []
    texts = [class_text(name, source.types[name]) for name in found]
    rows = engine.rows(
        f"SELECT DISTINCT class FROM (SELECT {texts[0]} AS class FROM classes_upload "
        f"UNION SELECT {texts[1]} FROM classes_upload) WHERE class IS NOT NULL LIMIT ?",
        [limit],
    )
    return sort_classes(row[0] for row in rows)


def prepare_dataset_folder(files_folder: Path, saved: dict[str, str], mapping: ColumnMapping, name: str, session_token: str) -> Path:
    """Create a new upload folder holding the saved files and a dataset file written from ``mapping``.

    The files are hard links to those in ``files_folder`` where the file system
    allows it, else copies, so each attempt gets a folder of its own and a
    failed attempt never changes the dataset already open. Raises
    :class:`~analysis.ConfigError` when the written file does not load, and
    removes the new folder then.
    """
    folder = new_upload_folder(session_token)
    try:
        for file_name in saved.values():
            _link_or_copy(files_folder / file_name, folder / file_name)
        text = dataset_toml(mapping, name, saved[PREDICTIONS], saved.get(METADATA))
        (folder / DATASET_FILE_NAME).write_text(text, encoding="utf-8")
        load_config(folder)
    except BaseException:
        remove_upload_folder(folder)
        raise
    return folder


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def shown_text(text: str) -> str:
    """Return an engine message with the server's upload folders left out, so it names each file as uploaded."""
    folders = re.escape(str(upload_root()) + os.sep) + r"[0-9a-f]+" + re.escape(os.sep) + r"[0-9a-f]+" + re.escape(os.sep)
    return re.sub(folders, "", text)


# The sidebar form ------------------------------------------------------------------------

_TOKEN_KEY = "upload_session_token"
_STAGED_KEY = "upload_staged"
_OPENED_KEY = "upload_opened"
_SUBMIT_ERROR_KEY = "upload_submit_error"
# The user's choices per widget, kept outside the widgets' own state, because
# Streamlit drops the state of a widget that a run does not draw (the threshold
# while another task mode is chosen).
_CHOICES_KEY = "upload_choices"

_FILE_KEYS = {PREDICTIONS: "upload_file_predictions", METADATA: "upload_file_metadata"}
_NAME = "upload_name"
_ID = "upload_id"
_MODE = "upload_mode"
_LABEL = "upload_label"
_PREDICTION = "upload_prediction"
_SCORE = "upload_score"
_EXAMPLE_SCORE = "upload_example_score"
_THRESHOLD = "upload_threshold"
_ERROR_WHEN = "upload_error_when"
_CORRECT = "upload_correct"
_TAG_FORM = "upload_tag_form"
_TAG_COLUMNS = "upload_tag_columns"
_TAG_LIST = "upload_tag_list"
_SEPARATOR = "upload_separator"
_POSITIVE = "upload_positive_class"
_SCORE_KIND = "upload_score_kind"
_WIDGET_KEYS = (_NAME, _ID, _MODE, _LABEL, _PREDICTION, _SCORE, _EXAMPLE_SCORE, _THRESHOLD, _ERROR_WHEN, _CORRECT, _TAG_FORM, _TAG_COLUMNS, _TAG_LIST, _SEPARATOR, _POSITIVE, _SCORE_KIND)

_BYTES_PER_MB = 1024 * 1024


@dataclass
class StagedFiles:
    """Files picked in the uploaders, saved in a folder, with their columns as the engine reads them."""

    file_ids: tuple[tuple[str, str], ...]
    folder: Path
    uploaded_names: dict[str, str]
    saved: dict[str, str]
    sources: dict[str, SourceFile]
    guess: ColumnMapping | None
    error: AnalysisError | None = None
    classes: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def session_token() -> str:
    """Return the random token naming this session's upload folder, created on first use."""
    if _TOKEN_KEY not in st.session_state:
        st.session_state[_TOKEN_KEY] = secrets.token_hex(16)
    return st.session_state[_TOKEN_KEY]


def current_upload() -> tuple[Path, str] | None:
    """Return the folder and name of the dataset this session opened from uploads, or None."""
    opened = st.session_state.get(_OPENED_KEY)
    if opened is None or not (opened[0] / DATASET_FILE_NAME).is_file():
        return None
    # Each run marks the session as alive, so remove_stale_uploads keeps its files.
    touch_upload_session(opened[0])
    return opened


def upload_limit_mb(demo: bool) -> int:
    """Return the size limit per uploaded file in MB: Streamlit's server.maxUploadSize, lower in demo mode."""
    server_limit = int(st.get_option("server.maxUploadSize"))
    return min(server_limit, DEMO_UPLOAD_LIMIT_MB) if demo else server_limit


def draw_upload_form(demo: bool, on_open: Callable[[], None]) -> None:
    """Draw the "Open your own files" expander in the sidebar; ``on_open`` runs once an upload opens.

    Errors in the files or the mapping are shown inside the expander with the
    engine's message and hint, and the form keeps every choice.
    """
    picked = st.session_state.get(_FILE_KEYS[PREDICTIONS]) is not None
    with st.sidebar.expander(_("Open your own files"), expanded=picked, icon=":material/upload_file:"):
        limit = upload_limit_mb(demo)
        file_help = _("CSV (optionally gzip-compressed), Parquet, JSON or JSON Lines, at most {limit} MB per file.", limit=limit)
        if demo:
            st.caption(_("Demo: your files are seen only in this browser session, are removed when you open other files, and may be at most {limit} MB each.", limit=limit))
        else:
            st.caption(_("Your files are seen only in this browser session and are removed when you open other files or the server stops."))
        files = {
            PREDICTIONS: st.file_uploader(_("Predictions file"), type=UPLOAD_TYPES, key=_FILE_KEYS[PREDICTIONS], help=file_help),
            METADATA: st.file_uploader(_("Metadata file (optional)"), type=UPLOAD_TYPES, key=_FILE_KEYS[METADATA], help=file_help),
        }
        if files[PREDICTIONS] is None:
            _discard_staged()
            return
        staged = _stage(files, limit)
        if staged is None:
            return
        _draw_mapping(staged)
        st.button(_("Open these files"), key="upload_open", type="primary", on_click=_submit, args=(on_open,))
        error = st.session_state.get(_SUBMIT_ERROR_KEY)
        if error is not None:
            _show_error(*error)


def _discard_staged() -> None:
    """Remove the saved copies of files no longer in the uploaders; an opened upload keeps its own copies."""
    staged = st.session_state.pop(_STAGED_KEY, None)
    if staged is not None:
        remove_upload_folder(staged.folder)
        st.session_state.pop(_SUBMIT_ERROR_KEY, None)


def _show_error(message: str, hint: str | None) -> None:
    body = escape_markdown(message) + ("\n\n" + escape_markdown(hint) if hint else "")
    st.error(body, icon=":material/error:")


def _stage(files: dict[str, Any], limit_mb: int) -> StagedFiles | None:
    """Save newly picked files and read their columns; return None after showing why they cannot be used."""
    uploads = {role: file for role, file in files.items() if file is not None}
    for file in uploads.values():
        if file.size > limit_mb * _BYTES_PER_MB:
            _show_error(
                _("The file {name} is {size:.1f} MB, above the limit of {limit} MB per file.", name=file.name, size=file.size / _BYTES_PER_MB, limit=limit_mb),
                _("Upload a smaller file, or ask whoever runs this dashboard to add the data to its data folder."),
            )
            return None

    file_ids = tuple((role, file.file_id) for role, file in uploads.items())
    staged = st.session_state.get(_STAGED_KEY)
    if staged is None or staged.file_ids != file_ids:
        if staged is not None:
            remove_upload_folder(staged.folder)
        staged = stage_uploads(session_token(), {role: (file.name, file.getbuffer()) for role, file in uploads.items()})
        staged.file_ids = file_ids
        st.session_state[_STAGED_KEY] = staged
        st.session_state.pop(_SUBMIT_ERROR_KEY, None)
        # The widgets are drawn again from the remembered choices, each kept
        # only where it fits the new files' columns, so a corrected file keeps
        # the mapping made for the file it replaces.
        for key in _WIDGET_KEYS:
            st.session_state.pop(key, None)
    if staged.error is not None:
        _show_error(shown_text(staged.error.message), staged.error.hint and shown_text(staged.error.hint))
        return None
    return staged


def stage_uploads(token: str, uploads: dict[str, tuple[str, bytes | memoryview]]) -> StagedFiles:
    """Save uploaded (name, content) pairs per role in a new folder of the session and read their headers.

    An unreadable file does not raise: the returned object carries the
    engine's error, naming the file by its uploaded name.
    """
    remove_stale_uploads()
    folder = new_upload_folder(token)
    saved = save_files(folder, uploads)
    staged = StagedFiles((), folder, {role: name for role, (name, _content) in uploads.items()}, saved, {}, None)
    try:
        for role, file_name in saved.items():
            staged.sources[role] = read_columns(folder / file_name, role_label(role))
    except AnalysisError as error:
        staged.error = error
        return staged
    staged.guess = guess_mapping(staged.sources[PREDICTIONS], staged.sources.get(METADATA))
    return staged


def _prepare(key: str, default: Any, valid: Callable[[Any], bool] = lambda value: True) -> None:
    """Give the widget ``key`` the user's last valid choice, else ``default``, before it is drawn."""
    if key in st.session_state and valid(st.session_state[key]):
        return
    remembered = st.session_state.setdefault(_CHOICES_KEY, {}).get(key, default)
    st.session_state[key] = remembered if valid(remembered) else default


def _remember(key: str) -> None:
    st.session_state.setdefault(_CHOICES_KEY, {})[key] = st.session_state[key]


def _draw_mapping(staged: StagedFiles) -> None:
    """Draw the column-mapping widgets, with defaults guessed from the column names."""
    guess = staged.guess
    columns = staged.sources[PREDICTIONS].columns
    tag_source = staged.sources.get(METADATA) or staged.sources[PREDICTIONS]

    def in_columns(value: Any) -> bool:
        return value in columns

    def widget(draw: Callable[..., Any], label: str, key: str, default: Any, valid: Callable[[Any], bool] = lambda value: True, **options: Any) -> Any:
        _prepare(key, default, valid)
        return draw(label, key=key, on_change=_remember, args=(key,), **options)

    st.markdown(_("**What the columns mean**"))
    widget(st.text_input, _("Dataset name"), _NAME, Path(staged.uploaded_names[PREDICTIONS]).stem)
    widget(
        st.selectbox, _("Id column"), _ID, guess.id, in_columns, options=columns,
        help=_("The example id. The metadata file is joined on a column of the same name."),
    )
    mode = widget(
        st.radio, _("How errors are found"), _MODE, guess.mode, lambda value: value in MODE_LABELS,
        options=list(MODE_LABELS), format_func=lambda value: _(MODE_LABELS[value]),
    )
    if mode == MODE_CLASSIFICATION:
        label = widget(st.selectbox, _("Label column"), _LABEL, guess.label, in_columns, options=columns)
        prediction = widget(st.selectbox, _("Prediction column"), _PREDICTION, guess.prediction, in_columns, options=columns)
        score = widget(
            st.selectbox, _("Score column (optional)"), _SCORE, guess.score, lambda value: value is None or value in columns,
            options=[None, *columns], format_func=_optional_column, help=_("A probability from the model, between 0 and 1."),
        )
        if score is not None:
            widget(
                st.radio, _("The score is"), _SCORE_KIND, SCORE_KIND_CONFIDENCE, lambda value: value in SCORE_KIND_LABELS,
                options=list(SCORE_KIND_LABELS), format_func=lambda value: _(SCORE_KIND_LABELS[value]),
                help=_("A risk score, such as a probability of reoffending or of disease, is the probability of the positive class."),
            )
        _draw_positive_class(staged, label, prediction)
    elif mode == MODE_PER_EXAMPLE_SCORE:
        widget(
            st.selectbox, _("Per-example score column"), _EXAMPLE_SCORE, guess.score or columns[0], in_columns,
            options=columns, help=_("A number per example, such as a word error rate or an absolute error."),
        )
        widget(st.number_input, _("Error threshold"), _THRESHOLD, None, help=_("The score that separates errors from correct examples."))
        widget(
            st.radio, _("Direction"), _ERROR_WHEN, "above", lambda value: value in ERROR_WHEN_LABELS,
            options=list(ERROR_WHEN_LABELS), format_func=lambda value: _(ERROR_WHEN_LABELS[value]),
        )
    else:
        widget(
            st.selectbox, _("Correct flag column"), _CORRECT, guess.correct, in_columns, options=columns,
            help=_("True where the example is right: true/false, yes/no or 1/0."),
        )
    _draw_tags(tag_source, guess)


def _optional_column(value: str | None) -> str:
    return _("(none)") if value is None else value


def _draw_tags(source: SourceFile, guess: ColumnMapping) -> None:
    columns = source.columns
    forms = list(TAG_FORM_LABELS)
    default_form = TAGS_COLUMNS if guess.tag_columns else TAGS_NONE
    _prepare(_TAG_FORM, default_form, lambda value: value in forms)
    form = st.radio(
        _("Tags"), forms, key=_TAG_FORM, format_func=lambda value: _(TAG_FORM_LABELS[value]),
        on_change=_remember, args=(_TAG_FORM,),
        help=_("Tags come from the {role} file.", role=source.role),
    )
    if form == TAGS_COLUMNS:
        _prepare(_TAG_COLUMNS, guess.tag_columns, lambda value: isinstance(value, list) and all(name in columns for name in value))
        st.multiselect(
            _("Tag columns"), columns, key=_TAG_COLUMNS, on_change=_remember, args=(_TAG_COLUMNS,),
            help=_("Columns holding true/false, yes/no or 1/0; empty means false."),
        )
    elif form == TAGS_LIST:
        default_column = find_column(columns, "tags") or columns[-1]
        _prepare(_TAG_LIST, default_column, lambda value: value in columns)
        st.selectbox(_("Tag list column"), columns, key=_TAG_LIST, on_change=_remember, args=(_TAG_LIST,))
        _prepare(_SEPARATOR, ";")
        st.text_input(_("Separator between tags"), key=_SEPARATOR, on_change=_remember, args=(_SEPARATOR,), max_chars=5)


def _draw_positive_class(staged: StagedFiles, label: str, prediction: str) -> None:
    """Offer the positive class when the label and prediction columns hold exactly two classes."""
    pair = (label, prediction)
    if pair not in staged.classes:
        try:
            staged.classes[pair] = class_values(staged.folder / staged.saved[PREDICTIONS], label, prediction)
        except AnalysisError:
            staged.classes[pair] = []
    classes = staged.classes[pair]
    if len(classes) != 2:
        st.session_state.pop(_POSITIVE, None)
        return
    guessed = next((value for value in classes if value.lower() in _POSITIVE_GUESSES), None)
    options = [None, *classes]
    _prepare(_POSITIVE, guessed, lambda value: value in options)
    st.selectbox(
        _("Positive class"), options, key=_POSITIVE, format_func=_optional_column, on_change=_remember, args=(_POSITIVE,),
        help=_("Binary tasks: the class that counts as positive for false-positive and false-negative rates."),
    )


def mapping_from_choices(choices: dict[str, Any]) -> ColumnMapping:
    """Build the mapping from the form's values (widget key: value); raise ConfigError on a missing choice."""
    mode = choices[_MODE]
    mapping = ColumnMapping(id=choices[_ID], mode=mode)
    if mode == MODE_CLASSIFICATION:
        mapping.label = choices[_LABEL]
        mapping.prediction = choices[_PREDICTION]
        mapping.score = choices.get(_SCORE)
        mapping.positive_class = choices.get(_POSITIVE)
        mapping.score_kind = choices.get(_SCORE_KIND, SCORE_KIND_CONFIDENCE)
    elif mode == MODE_PER_EXAMPLE_SCORE:
        mapping.score = choices[_EXAMPLE_SCORE]
        threshold = choices.get(_THRESHOLD)
        if threshold is None or not math.isfinite(threshold):
            raise ConfigError(
                _("The error threshold is missing."),
                _("Type the score above or below which an example counts as an error."),
            )
        mapping.error_threshold = float(threshold)
        mapping.error_when = choices[_ERROR_WHEN]
    else:
        mapping.correct = choices[_CORRECT]

    form = choices.get(_TAG_FORM, TAGS_NONE)
    if form == TAGS_COLUMNS:
        mapping.tag_columns = list(choices.get(_TAG_COLUMNS) or [])
    elif form == TAGS_LIST:
        mapping.tag_list_column = choices[_TAG_LIST]
        mapping.tag_separator = choices.get(_SEPARATOR, ";")
    return mapping


def open_staged(staged: StagedFiles, choices: dict[str, Any]) -> tuple[Path, str]:
    """Write the dataset file for the staged files and open it; return its folder and name.

    This is what the form's button does, without Streamlit's widgets. Raises
    :class:`~analysis.AnalysisError` with the engine's message when the
    files and the mapping do not make a valid dataset. The new folder is
    then removed, and the dataset already open stays as it was.
    """
    mapping = mapping_from_choices(choices)
    name = (choices.get(_NAME) or "").strip() or Path(staged.uploaded_names[PREDICTIONS]).stem
    folder = prepare_dataset_folder(staged.folder, staged.saved, mapping, name, session_token())
    try:
        open_dataset(folder)
    except BaseException:
        remove_upload_folder(folder)
        raise
    return folder, name


def _submit(on_open: Callable[[], None]) -> None:
    staged = st.session_state[_STAGED_KEY]
    choices = {key: st.session_state[key] for key in _WIDGET_KEYS if key in st.session_state}
    try:
        opened = open_staged(staged, choices)
    except AnalysisError as error:
        st.session_state[_SUBMIT_ERROR_KEY] = (shown_text(error.message), error.hint and shown_text(error.hint))
        return
    except OSError as error:
        st.session_state[_SUBMIT_ERROR_KEY] = (
            _("The uploaded files could not be saved on the server: {reason}.", reason=error.strerror or error),
            _("Try again with smaller files, or ask whoever runs this dashboard to free disk space."),
        )
        return

    previous = st.session_state.get(_OPENED_KEY)
    st.session_state[_OPENED_KEY] = opened
    if previous is not None:
        remove_upload_folder(previous[0])
    st.session_state.pop(_SUBMIT_ERROR_KEY, None)
    on_open()
