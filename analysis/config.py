"""The dataset file (TOML, ``schema = 1``) and the options that override it.

A dataset file sits beside its data and names paths relative to itself, so a
team can commit it next to their evaluation files. Every key is optional except
``schema`` and ``files.predictions``; columns left out are found by their
common names (see :data:`COLUMN_ALIASES`).
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.audit_spec import AuditSpec, parse_audit
from analysis.engine import ENGINE_KINDS, ENGINE_SPARK, EngineSettings
from analysis.errors import ConfigError
from analysis.file_uri import FileURI, is_uri
from analysis.i18n import _
from analysis.run_spec import RunsSpec, parse_runs

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DATASET_FILE_NAME = "dataset.toml"

# Column names tried in order when the dataset file does not name the column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "example_id"),
    "label": ("label", "y_true", "target", "ground_truth", "true_label"),
    "prediction": ("prediction", "y_pred", "pred", "pred_label", "predicted_label"),
    "score": ("score",),
    "correct": ("correct",),
}

ERROR_WHEN_VALUES = ("above", "below")

# Meaning of the score column of a classification task ([task] score_kind):
# the probability the model gives its own prediction (the default, as most
# models export), or the probability of the positive class of a binary task.
SCORE_KIND_CONFIDENCE = "confidence"
SCORE_KIND_POSITIVE_CLASS = "positive_class"
SCORE_KIND_VALUES = (SCORE_KIND_CONFIDENCE, SCORE_KIND_POSITIVE_CLASS)

# Allowed keys per section, with the type each value must have.
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "": {"schema": int, "name": str, "description": str},
    "files": {"predictions": str, "metadata": str, "tags": str, "hlp": str},
    "columns": {
        "id": str,
        "label": str,
        "prediction": str,
        "score": str,
        "correct": str,
    },
    "tags": {"columns": list, "list_column": str, "separator": str},
    "slices": {
        "attributes": list,
        "exclude": list,
        "sensitive": list,
        "max_categories": int,
        "top_categories": int,
        "numeric_bins": int,
        "max_numeric_values": int,
    },
    "task": {
        "positive_class": (str, int),
        "error_threshold": float,
        "error_when": str,
        "score_kind": str,
    },
    "statistics": {
        "confidence_level": float,
        "fdr_q": float,
        "min_gap": float,
        "min_support": int,
        "alpha": float,
        "power": float,
        "bootstrap_samples": int,
        "seed": int,
    },
    "engine": {"kind": str, "master": str, "remote": str, "config": dict},
}


@dataclass
class DatasetConfig:
    """Locations of a dataset's files and the settings for reading and slicing them.

    Column fields left as ``None`` are resolved from :data:`COLUMN_ALIASES`
    when the files are opened.
    """

    predictions: Path
    metadata: Path | None = None
    tags_file: Path | None = None
    hlp_file: Path | None = None
    name: str = ""
    description: str = ""
    source: Path | None = None

    id_column: str | None = None
    label_column: str | None = None
    prediction_column: str | None = None
    score_column: str | None = None
    correct_column: str | None = None

    tag_columns: list[str] | None = None
    tag_list_column: str | None = None
    tag_separator: str = ";"

    attributes: list[str] | None = None
    exclude_attributes: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    max_categories: int = 50
    top_categories: int = 20
    numeric_bins: int = 5
    max_numeric_values: int = 20

    positive_class: str | None = None
    error_threshold: float | None = None
    error_when: str = "above"
    score_kind: str = SCORE_KIND_CONFIDENCE

    # Statistics settings, documented in analysis.significance.
    confidence_level: float = 0.95
    fdr_q: float = 0.05
    min_gap: float = 0.02
    min_support: int = 30
    alpha: float = 0.05
    power: float = 0.8
    bootstrap_samples: int = 1000
    seed: int = 0

    # The [audit] section: checks a model must pass (analysis.audit).
    audit: AuditSpec | None = None

    # The [runs] section: run files and what is known about each run (analysis.runs).
    runs: RunsSpec | None = None

    # The [engine] section: DuckDB (the default) or Spark (analysis.engine).
    engine: EngineSettings = field(default_factory=EngineSettings)

    @property
    def display_name(self) -> str:
        return self.name or self.predictions.parent.name

    @property
    def per_example_score_mode(self) -> bool:
        """True when errors come from a per-example score and threshold."""
        return self.error_threshold is not None

    def replace(self, **changes: Any) -> "DatasetConfig":
        """Return a copy with ``changes`` applied, skipping ``None`` values."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _check_type(value: Any, expected: type | tuple[type, ...], key: str, path: Path) -> None:
    types = expected if isinstance(expected, tuple) else (expected,)
    # TOML writes a whole number without a decimal point as an integer, and 1 is a valid number.
    accepted = types + (int,) if float in types else types
    # bool is a subclass of int in Python, but `schema = true` is not a number.
    if isinstance(value, bool) or not isinstance(value, accepted):
        names = " or ".join(_type_name(t) for t in types)
        raise ConfigError(
            _("In {file}, key '{key}' must be {expected}, got {value}.", file=path, key=key, expected=names, value=_toml_text(value)),
            _("Fix the value in the dataset file."),
        )


def _toml_text(value: Any) -> str:
    """Show ``value`` as TOML writes it where that differs from Python (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _type_name(kind: type) -> str:
    return {str: _("a string"), int: _("an integer"), float: _("a number"), list: _("a list"), dict: _("a table")}[kind]


def _check_string_list(values: list, key: str, path: Path) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(
            _("In {file}, key '{key}' must be a list of column names (strings), got {value!r}.", file=path, key=key, value=values),
            _("Write it as a TOML array of strings, for example [\"gender\", \"device\"]."),
        )
    return list(values)


# Sections whose keys are checked by their own parser.
_PARSED_SECTIONS = ("audit", "runs")


def _validate_keys(document: dict[str, Any], path: Path) -> None:
    for key, value in document.items():
        if key in _PARSED_SECTIONS:
            continue
        if key in _SCHEMA and key:
            if not isinstance(value, dict):
                raise ConfigError(
                    _("In {file}, '{key}' must be a table ([{key}]), got {value!r}.", file=path, key=key, value=value),
                    _("Write it as a section header followed by its keys."),
                )
            allowed = _SCHEMA[key]
            for sub_key, sub_value in value.items():
                if sub_key not in allowed:
                    raise ConfigError(
                        _("In {file}, unknown key '{key}' in section [{section}].", file=path, key=sub_key, section=key),
                        _("Allowed keys: {allowed}.", allowed=", ".join(sorted(allowed))),
                    )
                _check_type(sub_value, allowed[sub_key], f"{key}.{sub_key}", path)
        elif key in _SCHEMA[""]:
            _check_type(value, _SCHEMA[""][key], key, path)
        else:
            sections = sorted([k for k in _SCHEMA if k] + list(_PARSED_SECTIONS)) + sorted(_SCHEMA[""])
            raise ConfigError(
                _("In {file}, unknown key or section '{key}'.", file=path, key=key),
                _("Allowed top-level keys and sections: {allowed}.", allowed=", ".join(sections)),
            )


def _resolve_file(folder: Path, value: str | None) -> Path | FileURI | None:
    if value is None:
        return None
    if is_uri(value):
        return FileURI(value)
    path = Path(value)
    return path if path.is_absolute() else (folder / path)


def load_config(path: str | Path) -> DatasetConfig:
    """Read and validate a dataset file; a folder means its ``dataset.toml``."""
    path = Path(path)
    if path.is_dir():
        path = find_dataset_file(path)
    if not path.is_file():
        raise ConfigError(
            _("Dataset file not found: {file}.", file=path),
            _("Pass the path of a TOML dataset file, or give the input files with --predictions and --metadata."),
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            _("The dataset file {file} is not UTF-8 text.", file=path),
            _("Save it as UTF-8."),
        ) from error
    except OSError as error:
        raise ConfigError(
            _("The dataset file {file} could not be read: {reason}.", file=path, reason=error.strerror or error),
            _("Check that the file exists and that you may read it."),
        ) from error
    return parse_config_text(text, path)


def parse_config_text(text: str, path: Path) -> DatasetConfig:
    """Validate the text of a dataset file as if it were the file at ``path``, whose folder relative file paths start from."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            _("The dataset file {file} is not valid TOML: {error}.", file=path, error=error),
            _("Fix the syntax at the line shown."),
        ) from error

    schema = document.get("schema")
    if schema is None:
        raise ConfigError(
            _("The dataset file {file} has no 'schema' key.", file=path),
            _("Add the line: schema = {version}", version=SCHEMA_VERSION),
        )
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise ConfigError(
            _("The dataset file {file} has schema = {value}, but this version reads schema = {version} only.", file=path, value=_toml_text(schema), version=SCHEMA_VERSION),
            _("Set schema = {version} and check the keys against the README.", version=SCHEMA_VERSION),
        )
    _validate_keys(document, path)
    return _build_config(document, path)


def _build_config(document: dict[str, Any], path: Path) -> DatasetConfig:
    folder = path.parent
    files = document.get("files", {})
    columns = document.get("columns", {})
    tags = document.get("tags", {})
    slices = document.get("slices", {})
    task = document.get("task", {})
    statistics = document.get("statistics", {})

    if "predictions" not in files:
        raise ConfigError(
            _("The dataset file {file} does not name a predictions file.", file=path),
            _("Add predictions = \"predictions.csv\" under [files]."),
        )
    if "columns" in tags and "list_column" in tags:
        raise ConfigError(
            _("In {file}, [tags] sets both 'columns' and 'list_column'.", file=path),
            _("Use boolean tag columns or one delimited list column, not both."),
        )

    config = DatasetConfig(
        predictions=_resolve_file(folder, files["predictions"]),
        metadata=_resolve_file(folder, files.get("metadata")),
        tags_file=_resolve_file(folder, files.get("tags")),
        hlp_file=_resolve_file(folder, files.get("hlp")),
        name=document.get("name", ""),
        description=document.get("description", ""),
        source=path,
        id_column=columns.get("id"),
        label_column=columns.get("label"),
        prediction_column=columns.get("prediction"),
        score_column=columns.get("score"),
        correct_column=columns.get("correct"),
        tag_columns=_check_string_list(tags["columns"], "tags.columns", path) if "columns" in tags else None,
        tag_list_column=tags.get("list_column"),
        tag_separator=tags.get("separator", ";"),
        attributes=_check_string_list(slices["attributes"], "slices.attributes", path) if "attributes" in slices else None,
        exclude_attributes=_check_string_list(slices.get("exclude", []), "slices.exclude", path),
        sensitive=_check_string_list(slices.get("sensitive", []), "slices.sensitive", path),
        max_categories=slices.get("max_categories", 50),
        top_categories=slices.get("top_categories", 20),
        numeric_bins=slices.get("numeric_bins", 5),
        max_numeric_values=slices.get("max_numeric_values", 20),
        positive_class=str(task["positive_class"]) if "positive_class" in task else None,
        error_threshold=float(task["error_threshold"]) if "error_threshold" in task else None,
        error_when=task.get("error_when", "above"),
        score_kind=task.get("score_kind", SCORE_KIND_CONFIDENCE),
        confidence_level=float(statistics.get("confidence_level", 0.95)),
        fdr_q=float(statistics.get("fdr_q", 0.05)),
        min_gap=float(statistics.get("min_gap", 0.02)),
        min_support=statistics.get("min_support", 30),
        alpha=float(statistics.get("alpha", 0.05)),
        power=float(statistics.get("power", 0.8)),
        bootstrap_samples=statistics.get("bootstrap_samples", 1000),
        seed=statistics.get("seed", 0),
        audit=parse_audit(document["audit"], path) if "audit" in document else None,
        runs=parse_runs(document["runs"], path) if "runs" in document else None,
        engine=_parse_engine(document.get("engine", {}), path),
    )
    validate(config, path)
    return config


def _parse_engine(section: dict[str, Any], path: Path) -> EngineSettings:
    """Build the engine settings of the [engine] section; Spark configuration values (strings or numbers) are kept as text."""
    kind = section.get("kind", "duckdb")
    if kind not in ENGINE_KINDS:
        raise ConfigError(
            _("In {file}, engine.kind = {value!r} is not allowed.", file=path, value=kind),
            _("Use \"duckdb\" (the default) or \"spark\"."),
        )
    spark_config = section.get("config", {})
    for key, value in spark_config.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(
                _("In {file}, engine.config.{key} must be a string or a number, got {value}.", file=path, key=key, value=_toml_text(value)),
                _("Write Spark settings as key = \"value\", for example \"spark.executor.memory\" = \"4g\"."),
            )
    if kind != ENGINE_SPARK and any(key in section for key in ("master", "remote", "config")):
        log.info("Ignoring the Spark settings of [engine] in %s: engine.kind is %s", path, kind)
    return EngineSettings(
        kind=kind,
        master=section.get("master"),
        remote=section.get("remote"),
        config={str(key): str(value) for key, value in spark_config.items()},
    )


def validate(config: DatasetConfig, origin: Path | str) -> None:
    """Check value ranges that the TOML types alone do not catch."""
    if config.error_when not in ERROR_WHEN_VALUES:
        raise ConfigError(
            _("In {file}, task.error_when = {value!r} is not allowed.", file=origin, value=config.error_when),
            _("Use \"above\" (a score above the threshold is an error) or \"below\"."),
        )
    if config.score_kind not in SCORE_KIND_VALUES:
        raise ConfigError(
            _("In {file}, task.score_kind = {value!r} is not allowed.", file=origin, value=config.score_kind),
            _(
                "Use \"confidence\" when the score is the probability of the predicted class, "
                "or \"positive_class\" when it is the probability of the positive class of a binary task."
            ),
        )
    if not 0 < config.confidence_level < 1:
        raise ConfigError(
            _("In {file}, statistics.confidence_level = {value} must be between 0 and 1.", file=origin, value=config.confidence_level),
            _("Use for example 0.95."),
        )
    _validate_statistics(config, origin)
    if config.tag_separator == "":
        raise ConfigError(
            _("In {file}, the tag separator is empty.", file=origin),
            _("Set separator to the character between tags, for example \";\"."),
        )
    _check_minimums(
        "slices",
        (
            ("max_categories", config.max_categories, 2),
            ("top_categories", config.top_categories, 1),
            ("numeric_bins", config.numeric_bins, 2),
            ("max_numeric_values", config.max_numeric_values, 2),
        ),
        origin,
    )
    if config.per_example_score_mode and config.correct_column:
        raise ConfigError(
            _("In {file}, both a correct-flag column and an error threshold are set.", file=origin),
            _("Use one way of marking errors: columns.correct, or task.error_threshold with columns.score."),
        )


def _validate_statistics(config: DatasetConfig, origin: Path | str) -> None:
    """Check the [statistics] values that must lie strictly between 0 and 1, or be large enough."""
    for key, example in (("fdr_q", "0.05"), ("alpha", "0.05"), ("power", "0.8")):
        value = getattr(config, key)
        if not 0 < value < 1:
            raise ConfigError(
                _("In {file}, statistics.{key} = {value} must be between 0 and 1.", file=origin, key=key, value=value),
                _("Use for example {example}.", example=example),
            )
    if not 0 <= config.min_gap < 1:
        raise ConfigError(
            _("In {file}, statistics.min_gap = {value} must be at least 0 and below 1.", file=origin, value=config.min_gap),
            _("Write the gap as a fraction: 0.02 means 2 points."),
        )
    _check_minimums(
        "statistics",
        (
            ("min_support", config.min_support, 1),
            ("bootstrap_samples", config.bootstrap_samples, 100),
            ("seed", config.seed, 0),
        ),
        origin,
    )


def _check_minimums(section: str, checks: tuple[tuple[str, int, int], ...], origin: Path | str) -> None:
    """Raise ConfigError for the first (key, value, minimum) whose whole-number value is below its minimum."""
    for key, value, minimum in checks:
        if value < minimum:
            raise ConfigError(
                _("In {file}, {section}.{key} = {value} is too small.", file=origin, section=section, key=key, value=value),
                _("Use a whole number of at least {minimum}.", minimum=minimum),
            )


def find_dataset_file(folder: Path) -> Path:
    """Return ``dataset.toml`` in ``folder``, or its only ``*.toml`` file."""
    preferred = folder / DATASET_FILE_NAME
    if preferred.is_file():
        return preferred
    candidates = sorted(folder.glob("*.toml"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ConfigError(
            _("No dataset file (*.toml) in the folder {folder}.", folder=folder),
            _("Write a {name} there (see the README), or give the input files with --predictions and --metadata.", name=DATASET_FILE_NAME),
        )
    raise ConfigError(
        _("Several TOML files in {folder}: {names}.", folder=folder, names=", ".join(p.name for p in candidates)),
        _("Name the one to use, or call it {name}.", name=DATASET_FILE_NAME),
    )
