"""The opened dataset and what its columns mean: attributes, tags, load report.

These types are shared by the loading steps (:mod:`analysis.dataset` and the
modules it calls) and by the metrics that read a :class:`Dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.config import DatasetConfig
from analysis.engine import Engine
from analysis.errors import InputError
from analysis.i18n import _

if TYPE_CHECKING:
    from analysis.counting import Counts

MODE_CLASSIFICATION = "classification"
MODE_CORRECT_FLAG = "correct_flag"
MODE_PER_EXAMPLE_SCORE = "per_example_score"

UNTAGGED = "(untagged)"
OVERALL = "(overall)"

# Reasons a row of ``example_rows`` is or is not analysed; each row has one.
STATUS_ANALYSED = "analysed"
STATUS_METADATA_ONLY = "unmatched_metadata"
STATUS_MISSING_ID = "missing_id"
STATUS_PREDICTIONS_ONLY = "unmatched_predictions"
STATUS_MISSING_LABEL = "missing_label"
STATUS_MISSING_PREDICTION = "missing_prediction"


@dataclass
class Attribute:
    """A metadata column used for slicing, and how its values become slices."""

    name: str
    alias: str
    kind: str  # "categorical", "top_values" or "quantile_bins"
    distinct_values: int
    bins: list[str] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    # Column of ``examples`` with the raw value as text, when the values are few
    # enough to count each one and fold them into slices afterwards.
    raw_alias: str | None = None


# Origin of a tag created in the workspace; file tags have the origin of their form.
ORIGIN_WORKSPACE = "workspace"


@dataclass
class Tag:
    name: str
    alias: str
    origin: str  # "column", "list_column", "file" (a long tags file) or "workspace"
    # The tag's name in the files when it is shown here under another name.
    renamed_from: str | None = None

    @property
    def from_files(self) -> bool:
        """True when the tag's values come from the dataset's files (with any workspace edits on top)."""
        return self.origin != ORIGIN_WORKSPACE


@dataclass
class Notice:
    """A warning for the user: a stable code for programs and a translated message for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class LoadReport:
    """Counts of the rows read, analysed and dropped, and the warnings about them."""

    rows: int = 0
    metadata_rows: int | None = None
    matched: int = 0
    missing_id: int = 0
    unmatched_predictions: int = 0
    unmatched_metadata: int = 0
    missing_label: int = 0
    missing_prediction: int = 0
    warnings: list[Notice] = field(default_factory=list)

    def dropped(self) -> dict[str, int]:
        return {
            "missing_id": self.missing_id,
            "unmatched_predictions": self.unmatched_predictions,
            "unmatched_metadata": self.unmatched_metadata,
            "missing_label": self.missing_label,
            "missing_prediction": self.missing_prediction,
        }


@dataclass
class Dataset:
    """An opened dataset: the engine holding its views and what the columns mean."""

    config: DatasetConfig
    engine: Engine
    mode: str
    id_column: str
    label_column: str | None
    prediction_column: str | None
    score_column: str | None
    correct_column: str | None
    attributes: list[Attribute]
    tags: list[Tag]
    hlp: dict[str, float]
    report: LoadReport
    # Classes in display order when ``examples`` carries ``label_code`` and
    # ``prediction_code`` (1-based positions in this list), else None.
    classes: list[str] | None = None
    # Counts over all analysed examples, computed once when the files are opened.
    counts: Counts | None = None
    # Per-class probability columns of ``examples``: class text (from a
    # ``prob_<class>`` column name) to the generated column name (``pr0``).
    probabilities: dict[str, str] = field(default_factory=dict)
    # The view of analysed examples that every query reads: ``examples``, or a
    # view with the workspace's tag edits laid over the file tags.
    view: str = "examples"
    # Name of the key column of the metadata view ``m``: the normalised id.
    metadata_key: str = "_id"
    # The view with the tags as the files give them, and those tags' names:
    # equal to ``view`` and ``tags`` until workspace edits are laid over them.
    file_view: str = "examples"
    file_tags: tuple[Tag, ...] | None = None

    @property
    def tags_from_files(self) -> tuple[Tag, ...]:
        """Return the tags as read from the files, with their columns in ``file_view``, before any workspace edit."""
        return self.file_tags if self.file_tags is not None else tuple(self.tags)

    @property
    def file_tag_names(self) -> tuple[str, ...]:
        """Return the names of the tags read from the files."""
        return tuple(tag.name for tag in self.tags_from_files)

    @property
    def has_score(self) -> bool:
        return self.score_column is not None

    @property
    def has_classes(self) -> bool:
        return self.mode == MODE_CLASSIFICATION

    def tag(self, name: str) -> Tag:
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise InputError(
            _("Unknown tag '{tag}'.", tag=name),
            _("Known tags: {names}.", names=", ".join(t.name for t in self.tags) or _("none")),
        )

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise InputError(
            _("Unknown attribute '{attribute}'.", attribute=name),
            _("Known attributes: {names}.", names=", ".join(a.name for a in self.attributes) or _("none")),
        )
