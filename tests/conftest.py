"""Shared fixtures: dataset paths, a writer of small datasets, and an oracle.

The oracle (:func:`read_expected` and :class:`ExpectedData`) reads the raw
input files with pandas and recomputes every number of the summary with pandas
group-bys, scikit-learn (``zero_division=np.nan``) and SciPy. It imports
nothing from ``analysis`` except the configuration (which files, which
columns, which limits) and the list of recognised column names, so a mistake
in the engine's SQL cannot also hide in the expected values.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, false_discovery_control, fisher_exact, norm
from scipy.stats.contingency import expected_freq
from sklearn.dummy import DummyClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from analysis.config import COLUMN_ALIASES, DatasetConfig, load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA_DIR = REPO_ROOT / "sample_data"
# Real evaluation data sits beside the clone, not inside it, and may be absent.
REAL_DATA_DIR = REPO_ROOT.parent / "shared" / "data"

SAMPLE_DATASETS = ("speech_commands", "screening", "digits", "diabetes_regression")
REAL_DATASETS = ("compas", "cifar10")

MISSING = "(missing)"
OTHER = "(other)"
UNTAGGED = "(untagged)"
OVERALL = "(overall)"

CLASSIFICATION = "classification"
CORRECT_FLAG = "correct_flag"
PER_EXAMPLE_SCORE = "per_example_score"

# Flag spellings accepted as true, compared after trimming and lower-casing.
TRUE_FLAGS = {"true", "t", "yes", "y", "1", "1.0"}

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_INTEGER_WITH_ZERO_FRACTION = re.compile(r"([+-]?[0-9]+)\.0+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_dataset_dirs() -> dict[str, Path]:
    """Folders of the sample datasets, each holding a dataset.toml."""
    return {name: SAMPLE_DATA_DIR / name for name in SAMPLE_DATASETS}


@pytest.fixture(scope="session")
def dataset_config():
    """Return a function giving the DatasetConfig of a sample or real dataset by name.

    Real datasets have no dataset file: their columns are found by the common
    names. The test is skipped when a real dataset's folder is missing.
    """

    def config_for(name: str) -> DatasetConfig:
        if name in SAMPLE_DATASETS:
            return load_config(SAMPLE_DATA_DIR / name)
        folder = REAL_DATA_DIR / name
        if not folder.is_dir():
            pytest.skip(f"real dataset folder {folder} not found beside the repository clone")
        return DatasetConfig(predictions=folder / "predictions.csv", metadata=folder / "metadata.csv")

    return config_for


@pytest.fixture
def write_dataset(tmp_path):
    """Return a function writing a predictions/metadata pair under tmp_path.

    The function takes the arguments of :func:`write_dataset_files` after ``folder``.
    """
    numbers = itertools.count()

    def write(predictions: pd.DataFrame, metadata: pd.DataFrame | None = None, **options) -> DatasetConfig:
        return write_dataset_files(tmp_path / f"dataset{next(numbers)}", predictions, metadata, **options)

    return write


@pytest.fixture(scope="session")
def write_generated_dataset(tmp_path_factory):
    """Like write_dataset, but session-scoped with a new folder per call, as hypothesis tests need."""

    def write(predictions: pd.DataFrame, metadata: pd.DataFrame | None = None, **options) -> DatasetConfig:
        return write_dataset_files(tmp_path_factory.mktemp("generated"), predictions, metadata, **options)

    return write


@pytest.fixture(scope="session")
def expected_from_files():
    """Return :func:`read_expected`, the oracle's entry point."""
    return read_expected


# ---------------------------------------------------------------- writing


def write_dataset_files(
    folder: Path,
    predictions: pd.DataFrame,
    metadata: pd.DataFrame | None = None,
    *,
    hlp: dict[str, float] | None = None,
    tags: pd.DataFrame | None = None,
    file_format: str = "csv",
    **options,
) -> DatasetConfig:
    """Write the frames to ``folder`` and return a DatasetConfig naming the files.

    ``tags`` is a long (id, tag) frame, ``hlp`` maps tag names to accuracies,
    ``file_format`` is "csv" or "parquet" for the predictions and metadata, and
    ``options`` are further DatasetConfig fields such as ``label_column``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"predictions": _write_table(predictions, folder / "predictions", file_format)}
    if metadata is not None:
        files["metadata"] = _write_table(metadata, folder / "metadata", file_format)
    if tags is not None:
        files["tags_file"] = _write_table(tags, folder / "tags", "csv")
    if hlp is not None:
        files["hlp_file"] = _write_table(pd.DataFrame({"tag": list(hlp), "hlp": list(hlp.values())}), folder / "hlp", "csv")
    return DatasetConfig(**files, **options)


def _write_table(frame: pd.DataFrame, stem: Path, file_format: str) -> Path:
    if file_format == "csv":
        path = stem.with_suffix(".csv")
        frame.to_csv(path, index=False)
    elif file_format == "parquet":
        path = stem.with_suffix(".parquet")
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"unsupported test file format {file_format!r}: use 'csv' or 'parquet'")
    return path


# ---------------------------------------------------------------- reading


@dataclass
class RawTable:
    """One input file as pandas reads it. CSV columns stay text until :meth:`typed` is called."""

    frame: pd.DataFrame
    is_csv: bool

    def find(self, name: str) -> str | None:
        """Return the column called ``name``, exactly or else ignoring case."""
        if name in self.frame.columns:
            return name
        matches = [c for c in self.frame.columns if c.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def resolve(self, role: str, explicit: str | None) -> str | None:
        """Return the configured column for ``role``, else the first recognised name present."""
        if explicit is not None:
            return self.find(explicit)
        for name in COLUMN_ALIASES[role]:
            found = self.find(name)
            if found is not None:
                return found
        return None

    def typed(self, column: str) -> pd.Series:
        """Return a column with the type a CSV reader infers: boolean, integer, float or text."""
        values = self.frame[column]
        return _infer_csv_type(values) if self.is_csv else values


def read_table(path: Path) -> RawTable:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".zst")]
    suffix = suffixes[-1]
    if suffix in (".parquet", ".pq"):
        return RawTable(pd.read_parquet(path, dtype_backend="numpy_nullable"), is_csv=False)
    if suffix in (".json", ".jsonl", ".ndjson"):
        lines = suffix != ".json"
        return RawTable(pd.read_json(path, lines=lines, dtype_backend="numpy_nullable"), is_csv=False)
    separator = "\t" if suffix == ".tsv" else ","
    return RawTable(pd.read_csv(path, dtype=str, keep_default_na=False, sep=separator), is_csv=True)


def _infer_csv_type(text: pd.Series) -> pd.Series:
    """Type a CSV text column: an empty field is missing, and the type must fit every other value."""
    values = text.where(text != "")
    present = values.dropna()
    if present.empty:
        return values
    if present.str.lower().isin(["true", "false"]).all():
        return values.map(lambda v: v.lower() == "true" if isinstance(v, str) else pd.NA).astype("boolean")
    if present.str.fullmatch(_INTEGER_TEXT.pattern).all():
        return pd.to_numeric(values).astype("Int64")
    if present.str.fullmatch(_NUMBER_TEXT.pattern).all():
        return pd.to_numeric(values).astype("Float64")
    return values


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def class_text(values: pd.Series) -> pd.Series:
    """Return classes and ids as text.

    The integer 1, the text "1" and the float 1.0 all become "1", while "007"
    stays "007". Empty text is missing.
    """

    def convert(value):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            return str(int(value)) if float(value).is_integer() else repr(float(value))
        text = str(value).strip()
        if text == "":
            return None
        whole = _INTEGER_WITH_ZERO_FRACTION.fullmatch(text)
        return whole.group(1) if whole else text

    return values.map(convert).astype(object)


def value_text(values: pd.Series) -> pd.Series:
    """Return attribute values as the text of their slice. Missing values become "(missing)"."""

    def convert(value):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            return repr(float(value))
        return str(value)

    return values.map(convert).astype(object)


def flag_values(values: pd.Series, missing_is_false: bool = True) -> pd.Series:
    """Return a tag or correct flag as booleans: text true/yes/1, nonzero numbers, or true booleans."""

    def convert(value):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return False if missing_is_false else None
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, float, np.integer, np.floating)):
            return value != 0
        return str(value).strip().lower() in TRUE_FLAGS

    return values.map(convert).astype(object)


def display_order(classes) -> list[str]:
    """Order class texts numerically when every one is a number, else alphabetically."""
    values = [str(c) for c in classes]
    if values and all(_NUMBER_TEXT.fullmatch(v) for v in values):
        return sorted(values, key=lambda v: (float(v), v))
    return sorted(values)


def wilson_bounds(errors: int, n: int, confidence_level: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    interval = binomtest(errors, n).proportion_ci(confidence_level=confidence_level, method="wilson")
    return float(interval.low), float(interval.high)


def significance_against_rest(errors: int, n: int, total_errors: int, total: int) -> dict:
    """Return the two-sided p-value and test name of a group against the rest of the data; NaN and None when undefined."""
    rest, rest_errors = total - n, total_errors - errors
    if n == 0 or rest == 0:
        return {"p_value": math.nan, "test": None}
    table = np.array([[errors, n - errors], [rest_errors, rest - rest_errors]])
    if (expected_freq(table) < 5).any():
        return {"p_value": float(fisher_exact(table).pvalue), "test": "fisher_exact"}
    pooled = total_errors / total
    z = (errors / n - rest_errors / rest) / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest))
    return {"p_value": float(2 * norm.sf(abs(z))), "test": "z_test"}


def divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


# ---------------------------------------------------------------- the oracle


@dataclass
class ExpectedData:
    """The analysed examples as pandas reads them, and the summary numbers computed from them.

    ``frame`` has one row per analysed example with the columns id, label,
    prediction and is_error. ``slice_values`` and ``tag_flags`` share its
    index, with one column per attribute (the slice each example falls in)
    and one boolean column per tag.
    """

    mode: str
    frame: pd.DataFrame
    slice_values: pd.DataFrame
    tag_flags: pd.DataFrame
    hlp: dict[str, float] = field(default_factory=dict)
    confidence_level: float = 0.95
    fdr_q: float = 0.05
    min_gap: float = 0.02
    min_support: int = 30
    # Per attribute: the top values (largest first) or the bin labels in order, or None for a plain categorical one.
    attribute_bins: dict[str, list[str] | None] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.frame)

    @property
    def errors(self) -> int:
        return int(self.frame["is_error"].sum())

    @property
    def tags(self) -> list[str]:
        return list(self.tag_flags.columns)

    # ------------------------------------------------------------ overall and classes

    def overall(self) -> dict[str, float]:
        """Return the overall block. Class-based averages are added only in classification mode."""
        error_rate = self.frame["is_error"].mean()
        numbers = {
            "examples": self.total,
            "errors": self.errors,
            "accuracy": 1 - error_rate,
            "error_rate": error_rate,
            "hlp": self.hlp.get(OVERALL, math.nan),
        }
        if self.mode != CLASSIFICATION:
            return numbers
        y_true, y_pred = self._labels()
        numbers["accuracy"] = accuracy_score(y_true, y_pred)
        with warnings.catch_warnings():
            # Classes that are only predicted have no recall, so scikit-learn warns and leaves them out.
            warnings.simplefilter("ignore", UserWarning)
            numbers["balanced_accuracy"] = balanced_accuracy_score(y_true, y_pred)
        for average in ("macro", "weighted"):
            precision, recall, f1, _support = precision_recall_fscore_support(
                y_true, y_pred, average=average, zero_division=np.nan
            )
            numbers[f"{average}_precision"] = precision
            numbers[f"{average}_recall"] = recall
            numbers[f"{average}_f1"] = f1
        return numbers

    def class_order(self) -> list[str]:
        y_true, y_pred = self._labels()
        return display_order(set(y_true) | set(y_pred))

    def class_rows(self) -> list[dict]:
        y_true, y_pred = self._labels()
        order = self.class_order()
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=order, average=None, zero_division=np.nan
        )
        predicted = pd.Series(y_pred).value_counts()
        return [
            {
                "label": name,
                "support": int(support[i]),
                "predicted": int(predicted.get(name, 0)),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
            }
            for i, name in enumerate(order)
        ]

    def confusion(self) -> list[list[int]]:
        y_true, y_pred = self._labels()
        with warnings.catch_warnings():
            # scikit-learn warns when only one class occurs, although the labels given fix the shape.
            warnings.simplefilter("ignore", UserWarning)
            return confusion_matrix(y_true, y_pred, labels=self.class_order()).tolist()

    def confused_pairs(self, count: int = 10) -> list[dict]:
        """Return the most frequent off-diagonal (label, prediction) pairs. Ties follow the class order."""
        mistakes = self.frame[self.frame["label"] != self.frame["prediction"]]
        if mistakes.empty:
            return []
        counts = mistakes.value_counts(["label", "prediction"]).reset_index(name="count")
        rank = {name: i for i, name in enumerate(self.class_order())}
        counts["label_rank"] = counts["label"].map(rank)
        counts["prediction_rank"] = counts["prediction"].map(rank)
        counts = counts.sort_values(["count", "label_rank", "prediction_rank"], ascending=[False, True, True])
        return [
            {"label": row.label, "prediction": row.prediction, "count": int(row.count)}
            for row in counts.head(count).itertuples(index=False)
        ]

    def imbalance(self) -> dict:
        """Return the label mix and the warnings, as (code, label) pairs.

        A class under 5% of the labels is rare. Accuracy at most 1 point
        above the majority-class accuracy is near it. A labelled class that is
        never predicted, or predicted but never correctly, gets a warning, and
        so does a dataset with one labelled class. Shares are compared as
        exact fractions, so a value on the limit is not decided by rounding.
        """
        y_true, y_pred = self._labels()
        label_counts = pd.Series(y_true).value_counts()
        predicted = pd.Series(y_pred).value_counts()
        correct_per_class = self.frame.loc[~self.frame["is_error"], "label"].value_counts()
        total = self.total
        top = int(label_counts.max())
        order = self.class_order()
        majority = next(name for name in order if label_counts.get(name, 0) == top)

        features = np.zeros((total, 1))
        baseline = DummyClassifier(strategy="most_frequent").fit(features, y_true)
        correct = total - self.errors

        found = []
        for name in order:
            count = int(label_counts.get(name, 0))
            if count == 0:
                continue
            if 20 * count < total:
                found.append(("rare_class", name))
            if predicted.get(name, 0) == 0:
                found.append(("never_predicted", name))
            elif correct_per_class.get(name, 0) == 0:
                found.append(("zero_recall", name))
        if 100 * (correct - top) <= total:
            found.append(("accuracy_near_majority", majority))
        if len(label_counts) == 1:
            found.append(("single_class", majority))
        return {
            "class_shares": {name: int(c) / total for name, c in label_counts.items()},
            "majority_class": majority,
            "majority_share": top / total,
            "majority_class_accuracy": float(baseline.score(features, y_true)),
            "imbalance_ratio": top / int(label_counts.min()),
            "warnings": sorted(found),
        }

    # ------------------------------------------------------------ slices and tags

    def slice_rows(self) -> list[dict]:
        """Return one row per (attribute, slice value), attributes in order, values in display order."""
        slices, tags = self._slice_rows(), self._tag_rows()
        self._add_significance(slices + tags)
        return slices

    def tag_rows(self) -> list[dict]:
        """Return one row per tag, in tag order, then the untagged group."""
        slices, tags = self._slice_rows(), self._tag_rows()
        self._add_significance(slices + tags)
        return tags

    def _add_significance(self, rows: list[dict]) -> None:
        """Add p_value, test, p_adjusted and flagged, with slices and tags as one family.

        The p-value comes from scipy's Fisher test when an expected count of the
        2x2 table (slice or tag against the rest) is under 5, else from the
        pooled two-proportion z-statistic written out here. Benjamini-Hochberg
        comes from scipy.
        """
        overall_rate = self.errors / self.total
        for row in rows:
            row.update(significance_against_rest(row["errors"], row["count"], self.errors, self.total))
        defined = [i for i, row in enumerate(rows) if not math.isnan(row["p_value"])]
        adjusted = false_discovery_control([rows[i]["p_value"] for i in defined], method="bh") if defined else []
        for row in rows:
            row["p_adjusted"] = math.nan
        for i, value in zip(defined, adjusted):
            rows[i]["p_adjusted"] = float(value)
        for row in rows:
            gap = divide(row["errors"], row["count"]) - overall_rate
            row["flagged"] = bool(
                row["p_adjusted"] < self.fdr_q and gap >= self.min_gap - 1e-12 and row["count"] >= self.min_support
            )

    def _slice_rows(self) -> list[dict]:
        overall_error_rate = self.frame["is_error"].mean()
        rows = []
        for attribute in self.slice_values.columns:
            values = self.slice_values[attribute]
            for value in self._ordered_slice_values(attribute, set(values)):
                part = self.frame[values == value]
                n = len(part)
                errors = int(part["is_error"].sum())
                low, high = wilson_bounds(errors, n, self.confidence_level)
                labels = part["label"].dropna().value_counts()
                rows.append(
                    {
                        "column": attribute,
                        "value": value,
                        "count": n,
                        "share": n / self.total,
                        "errors": errors,
                        "accuracy": 1 - errors / n,
                        "error_rate": errors / n,
                        "ci_low": low,
                        "ci_high": high,
                        "gap_to_overall": errors / n - overall_error_rate,
                        "label_distribution": {name: int(c) for name, c in labels.items()},
                    }
                )
        return rows

    def _ordered_slice_values(self, attribute: str, present: set[str]) -> list[str]:
        bins = self.attribute_bins.get(attribute)
        if bins is None:
            ordered = display_order(present - {OTHER, MISSING})
        else:
            ordered = [value for value in bins if value in present]
        return ordered + [value for value in (OTHER, MISSING) if value in present]

    def _tag_rows(self) -> list[dict]:
        groups = [(name, self.tag_flags[name].astype(bool)) for name in self.tags]
        groups.append((UNTAGGED, ~self.tag_flags.astype(bool).any(axis=1)))
        rows = []
        for name, mask in groups:
            part = self.frame[mask.to_numpy()]
            n = len(part)
            errors = int(part["is_error"].sum())
            error_rate = divide(errors, n)
            accuracy = 1 - error_rate
            share = n / self.total
            target = self.hlp.get(name, math.nan)
            room = target - accuracy
            low, high = wilson_bounds(errors, n, self.confidence_level)
            rows.append(
                {
                    "tag": name,
                    "count": n,
                    "share_of_data": share,
                    "errors": errors,
                    "error_rate": error_rate,
                    "ci_low": low,
                    "ci_high": high,
                    "share_of_errors": divide(errors, self.errors),
                    "accuracy": accuracy,
                    "hlp": target,
                    "room_for_improvement": room,
                    "potential_gain": math.nan if math.isnan(room) else share * max(room, 0.0),
                }
            )
        return rows

    def what_if(self, targets: dict[str, float]) -> dict:
        """Recompute the what-if by brute force over groups of examples sharing the same selected tags.

        Each group's correct count becomes max(current, n x the highest target among its tags).
        """
        correct_before = self.total - self.errors
        correct_after = float(correct_before)
        affected = 0
        if targets:
            selected = self.tag_flags[list(targets)].astype(bool)
            hit = selected.any(axis=1).to_numpy()
            affected = int(hit.sum())
            for key, group in self.frame[hit].groupby([selected.loc[hit, name] for name in targets]):
                key = key if isinstance(key, tuple) else (key,)
                target = max(targets[name] for name, carried in zip(targets, key) if carried)
                correct = int((~group["is_error"]).sum())
                correct_after += max(correct, target * len(group)) - correct
        return {
            "examples_affected": affected,
            "accuracy_before": correct_before / self.total,
            "accuracy_after": correct_after / self.total,
            "gain": (correct_after - correct_before) / self.total,
        }

    def _labels(self) -> tuple[np.ndarray, np.ndarray]:
        return self.frame["label"].to_numpy(dtype=object), self.frame["prediction"].to_numpy(dtype=object)


def read_expected(config: DatasetConfig) -> ExpectedData:
    """Read the files of ``config`` with pandas and return the analysed examples, slices and tags."""
    predictions = read_table(config.predictions)
    id_column = predictions.resolve("id", config.id_column)
    frame, mode = _outcomes(config, predictions, id_column)

    metadata = read_table(config.metadata) if config.metadata is not None else None
    tag_source = metadata if metadata is not None else predictions
    if metadata is not None:
        metadata_id = metadata.find(id_column) or (None if config.id_column else metadata.resolve("id", None))
    else:
        metadata_id = id_column
    source_ids = class_text(tag_source.frame[metadata_id])

    column_tags = _column_tags(config, metadata, tag_source)
    list_tags = _list_tags(config, metadata)
    file_tags = _file_tags(config, id_column)
    names = list(dict.fromkeys(column_tags + sorted(list_tags) + sorted({tag for _id, tag in file_tags})))
    flags = pd.DataFrame(index=tag_source.frame.index)
    for name in names:
        flag = pd.Series(False, index=tag_source.frame.index)
        if name in column_tags:
            flag |= flag_values(tag_source.typed(name)).astype(bool)
        if config.tag_list_column is not None:
            flag |= _list_column_parts(config, metadata).map(lambda parts, name=name: name in parts).astype(bool)
        if file_tags:
            flag |= source_ids.map(lambda example, name=name: (example, name) in file_tags).astype(bool)
        flags[name] = flag

    slices = pd.DataFrame(index=tag_source.frame.index)
    bins: dict[str, list[str] | None] = {}
    if metadata is not None:
        for column in _attribute_columns(config, metadata, metadata_id, column_tags):
            sliced = _slice_attribute(config, metadata, column)
            if sliced is not None:
                slices[column], bins[column] = sliced

    joined = frame.merge(
        pd.concat([source_ids.rename("id"), slices.add_prefix("slice\x00"), flags.add_prefix("tag\x00")], axis=1).dropna(subset=["id"]),
        on="id",
        how="inner",
    ).reset_index(drop=True)
    slice_columns = [c for c in joined.columns if c.startswith("slice\x00")]
    tag_columns = [c for c in joined.columns if c.startswith("tag\x00")]
    return ExpectedData(
        mode=mode,
        frame=joined[["id", "label", "prediction", "is_error"]],
        slice_values=joined[slice_columns].rename(columns=lambda c: c.split("\x00", 1)[1]),
        tag_flags=joined[tag_columns].rename(columns=lambda c: c.split("\x00", 1)[1]).astype(bool),
        hlp=_read_hlp(config),
        confidence_level=config.confidence_level,
        fdr_q=config.fdr_q,
        min_gap=config.min_gap,
        min_support=config.min_support,
        attribute_bins=bins,
    )


def _outcomes(config: DatasetConfig, predictions: RawTable, id_column: str) -> tuple[pd.DataFrame, str]:
    """Return (id, label, prediction, is_error) of each prediction row with an id and a defined outcome."""
    frame = pd.DataFrame({"id": class_text(predictions.frame[id_column])})
    frame["label"] = None
    frame["prediction"] = None
    if config.error_threshold is not None:
        mode = PER_EXAMPLE_SCORE
        score = pd.to_numeric(predictions.frame[predictions.resolve("score", config.score_column)], errors="coerce")
        known = score.notna()
        above = score > config.error_threshold
        below = score < config.error_threshold
        frame["is_error"] = above if config.error_when == "above" else below
    elif config.correct_column is not None:
        mode = CORRECT_FLAG
        correct = flag_values(predictions.typed(predictions.find(config.correct_column)), missing_is_false=False)
        known = correct.notna()
        frame["is_error"] = correct.map(lambda value: None if pd.isna(value) else not value)
    else:
        mode = CLASSIFICATION
        frame["label"] = class_text(predictions.frame[predictions.resolve("label", config.label_column)])
        frame["prediction"] = class_text(predictions.frame[predictions.resolve("prediction", config.prediction_column)])
        known = frame["label"].notna() & frame["prediction"].notna()
        frame["is_error"] = frame["label"] != frame["prediction"]
    analysed = frame[frame["id"].notna() & known.to_numpy(dtype=bool)].copy()
    analysed["is_error"] = analysed["is_error"].astype(bool)
    return analysed, mode


def _column_tags(config: DatasetConfig, metadata: RawTable | None, source: RawTable) -> list[str]:
    if config.tag_columns is not None:
        return [source.find(name) for name in config.tag_columns]
    if metadata is None:
        return []
    return [
        column
        for column in metadata.frame.columns
        if column.lower().startswith("tag_") and pd.api.types.is_bool_dtype(metadata.typed(column))
    ]


def _list_column_parts(config: DatasetConfig, metadata: RawTable) -> pd.Series:
    """Return, per metadata row, the set of trimmed non-empty tags in the list column."""
    column = metadata.frame[metadata.find(config.tag_list_column)]

    def split(value) -> set[str]:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return set()
        return {part.strip() for part in str(value).split(config.tag_separator) if part.strip()}

    return column.map(split)


def _list_tags(config: DatasetConfig, metadata: RawTable | None) -> list[str]:
    if config.tag_list_column is None:
        return []
    return sorted(set().union(*_list_column_parts(config, metadata)))


def _file_tags(config: DatasetConfig, id_column: str) -> set[tuple[str, str]]:
    """Return the (id, tag) pairs of the long tags file."""
    if config.tags_file is None:
        return set()
    table = read_table(config.tags_file)
    ids = class_text(table.frame[table.find(id_column) or table.resolve("id", None)])
    tags = table.frame[table.find("tag")].map(lambda v: None if v is None or v is pd.NA else str(v).strip())
    return {(example, tag) for example, tag in zip(ids, tags) if example is not None and tag}


def _attribute_columns(config: DatasetConfig, metadata: RawTable, metadata_id: str, column_tags: list[str]) -> list[str]:
    skip = {metadata_id.lower(), *(name.lower() for name in column_tags)}
    if config.tag_list_column:
        skip.add(config.tag_list_column.lower())
    candidates = [c for c in metadata.frame.columns if c.lower() not in skip]
    if config.attributes is not None:
        by_name = RawTable(metadata.frame[candidates], metadata.is_csv)
        candidates = [by_name.find(name) for name in config.attributes]
    excluded = {name.lower() for name in config.exclude_attributes}
    return [c for c in candidates if c.lower() not in excluded]


def bin_labels(edges: list[float]) -> list[str]:
    """Label quantile bins "[low, high)", the last closed, with the fewest digits (at least 4) that keep edges apart."""
    for digits in range(4, 18):
        texts = [f"{edge + 0.0:.{digits}g}" for edge in edges]
        if len(set(texts)) == len(edges):
            break
    return [f"[{texts[i]}, {texts[i + 1]}{']' if i == len(edges) - 2 else ')'}" for i in range(len(edges) - 1)]


def _slice_attribute(config: DatasetConfig, metadata: RawTable, column: str) -> tuple[pd.Series, list[str] | None] | None:
    """Return each metadata row's slice value and the ordered bins, or None for a skipped column.

    - A numeric column with more than ``max_numeric_values`` distinct values
      is cut at its quantiles 0, 1/k, ..., 1 (k = ``numeric_bins``, linear
      interpolation) into bins [e_i, e_i+1), the last one closed.
    - A non-numeric column with more than ``max_categories`` values keeps its
      ``top_categories`` most frequent values (ties broken by text) and folds
      the rest into "(other)". When every value is unique and no attribute
      list was given, the column is skipped like an id.
    - Any other column is sliced by its values.

    Distinct counts, quantiles and top values come from the whole metadata file.
    """
    values = metadata.typed(column)
    present = values.dropna()
    distinct = present.nunique()
    if is_numeric(values) and distinct > config.max_numeric_values:
        levels = [i / config.numeric_bins for i in range(config.numeric_bins + 1)]
        edges = sorted(set(present.astype(float).quantile(levels, interpolation="linear")))
        if len(edges) >= 2:
            scale = max(abs(edge) for edge in edges)
            edges = sorted({0.0 if abs(edge) < 1e-12 * scale else edge for edge in edges})
            labels = bin_labels(edges)
            positions = np.searchsorted(np.array(edges[1:-1]), values.astype("Float64").to_numpy(dtype=float, na_value=np.nan), side="right")
            sliced = pd.Series([labels[p] for p in positions], index=values.index, dtype=object)
            sliced[values.isna().to_numpy()] = MISSING
            return sliced, labels
    if not is_numeric(values) and distinct > config.max_categories:
        if distinct == len(present) and config.attributes is None:
            return None
        texts = value_text(present)
        counts = texts.value_counts().reset_index()
        counts.columns = ["value", "n"]
        top_values = counts.sort_values(["n", "value"], ascending=[False, True])["value"].head(config.top_categories).tolist()
        sliced = value_text(values).map(lambda v: v if v == MISSING or v in top_values else OTHER)
        return sliced, top_values
    return value_text(values), None


def _read_hlp(config: DatasetConfig) -> dict[str, float]:
    if config.hlp_file is None:
        return {}
    table = pd.read_csv(config.hlp_file, dtype={"tag": str})
    return {str(tag).strip(): float(value) for tag, value in zip(table["tag"], table["hlp"]) if pd.notna(tag) and pd.notna(value)}
