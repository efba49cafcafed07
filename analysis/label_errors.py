"""Suspected label errors: examples whose given label is probably wrong, found by confident learning.

The method is confident learning (Northcutt, Jiang and Chuang, "Confident
Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021), with the
rules of the cleanlab library (checked against cleanlab 2.9, whose
``count.compute_confident_joint`` and ``rank.get_label_quality_scores`` the
tests use as the reference). It reads the model's per-class probabilities
from the ``prob_<class>`` columns of the predictions file:

1. Each class k gets a threshold t_k, the mean probability of k over the
   examples labelled k. A threshold is never below 2e-6. A class that labels
   no example gets no threshold, and no example is confidently in it.
2. An example is confidently in class k when p_k >= t_k - 1e-6; the small
   margin absorbs rounding. With one such class, that class is the example's
   confident label. With several, the confident label is the class with the
   example's highest probability over all classes, even when that class is
   under its own threshold. With none, the example has no confident label.
3. An example is flagged when it has a confident label and that label differs
   from its given label, that is when it counts in an off-diagonal cell of
   the confident joint (examples per given label and confident label).
4. Every example gets a label quality score, the normalized margin
   ``(p_label - max_other + 1) / 2``, where ``p_label`` is the probability of
   the given label and ``max_other`` the highest probability of any other
   class. It lies between 0 and 1, and the lower it is, the more the model
   prefers another class.

The ranking orders the examples by label quality, lowest first, and ties by
id. Each ranked example carries its flag, its confident label, and the
suggested label: the most probable class other than the given label, whose
probability is ``max_other``. Ties between classes go to the class whose
probability column comes first in the predictions file, as numpy's argmax
does over columns in that order.

The global filter applies first. Thresholds are means over the examples that
the filter keeps, so the flags are those of confident learning run on that
subset alone.

An example whose probabilities are not all numbers between 0 and 1 (a
missing value, text, NaN, or a value more than 1e-6 outside that range) is
left out of the thresholds and of the ranking, and the result counts it in a
note. Probabilities need not sum to 1. They should be out-of-sample
(cross-validated, or from a model that never trained on these examples),
because a model that memorised its training labels agrees with every label.

All per-example work is SQL over ``dataset.view`` in DuckDB. Only the
thresholds (one row per label), the confident joint (at most one row per pair
of classes) and one page of ranked examples reach pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.errors import SHOWN_VALUES, InputError
from analysis.filters import ExampleFilter, check_keeps_examples
from analysis.i18n import _, ngettext
from analysis.model import Dataset
from analysis.slice_metrics import dataset_classes

# Margin under a threshold that still counts as confident, as in cleanlab.
CONFIDENCE_MARGIN = 1e-6

# Smallest threshold, as in cleanlab: it keeps "p >= t - margin" from holding for every example.
MIN_THRESHOLD = 2e-6

# How far outside [0, 1] a probability may lie and still be used: float32 softmax outputs can round to just above 1.
PROBABILITY_TOLERANCE = 1e-6

DEFAULT_LIMIT = 300

# Columns of the ranked page, in order.
RANKING_COLUMNS = (
    "rank",
    "id",
    "label",
    "prediction",
    "suggested_label",
    "label_probability",
    "suggested_probability",
    "label_quality",
    "flagged",
    "confident_label",
)


@dataclass
class SuspectedLabelErrors:
    """One page of the ranking of suspected label errors, with totals over every ranked example.

    ``examples`` has the columns of :data:`RANKING_COLUMNS`; ``rank`` is the
    1-based position in the ranking, or among flagged examples when
    ``flagged_only`` is set. ``confident_label`` is None for an example that
    is confidently in no class. ``thresholds`` maps each class, in the order of
    the probability columns, to its threshold, or to None when no ranked
    example has that label. ``flagged_pairs`` has one row per off-diagonal
    cell of the confident joint (``label``, ``confident_label``, ``examples``),
    largest first.
    """

    examples: pd.DataFrame
    ranked: int
    flagged: int
    thresholds: dict[str, float | None]
    flagged_pairs: pd.DataFrame
    missing_probabilities: int
    out_of_range_probabilities: int
    notes: list[str]
    limit: int
    offset: int
    flagged_only: bool = False

    @property
    def total(self) -> int:
        """Number of examples the pages run through: every ranked example, or only the flagged ones."""
        return self.flagged if self.flagged_only else self.ranked

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready values."""
        examples = [
            {
                "rank": int(row.rank),
                "id": _plain(row.id),
                "label": row.label,
                "prediction": row.prediction,
                "suggested_label": row.suggested_label,
                "label_probability": float(row.label_probability),
                "suggested_probability": float(row.suggested_probability),
                "label_quality": float(row.label_quality),
                "flagged": bool(row.flagged),
                "confident_label": None if pd.isna(row.confident_label) else row.confident_label,
            }
            for row in self.examples.itertuples(index=False)
        ]
        return {
            "method": "confident_learning",
            "score": "normalized_margin",
            "examples_ranked": self.ranked,
            "flagged": self.flagged,
            "left_out": {
                "missing_probability": self.missing_probabilities,
                "probability_out_of_range": self.out_of_range_probabilities,
            },
            "thresholds": self.thresholds,
            "flagged_pairs": [
                {"label": row.label, "confident_label": row.confident_label, "examples": int(row.examples)}
                for row in self.flagged_pairs.itertuples(index=False)
            ],
            "notes": self.notes,
            "limit": self.limit,
            "offset": self.offset,
            "flagged_only": self.flagged_only,
            "examples": examples,
        }


def suspected_label_errors(
    dataset: Dataset,
    example_filter: ExampleFilter | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    flagged_only: bool = False,
) -> SuspectedLabelErrors:
    """Rank the examples kept by ``example_filter`` by label quality and return one page with the totals.

    ``limit`` and ``offset`` select the page (``limit`` 0 gives totals only);
    ``flagged_only`` ranks the flagged examples alone. Raises
    :class:`~analysis.InputError` when the dataset is not a classification
    task with a probability column for every class, when the filter keeps no
    example, or when no kept example has valid probabilities.
    """
    _check_page(limit, offset)
    ranking = _Ranking.prepare(dataset, example_filter)

    sql, params = ranking.scored_sql()
    pairs = dataset.engine.query(
        f"{sql} SELECT label_position, confident_position, CAST(count(*) AS BIGINT) AS examples FROM judged GROUP BY ALL",
        params,
    )
    ranked = int(pairs["examples"].sum())
    off_diagonal = pairs[pairs["confident_position"].notna() & (pairs["confident_position"] != pairs["label_position"])]
    flagged = int(off_diagonal["examples"].sum())

    page = ranking.page(limit, offset, flagged_only)
    page.insert(0, "rank", range(offset + 1, offset + 1 + len(page)))

    flagged_pairs = pd.DataFrame(
        {
            "label": [ranking.classes[int(code) - 1] for code in off_diagonal["label_position"]],
            "confident_label": [ranking.classes[int(code) - 1] for code in off_diagonal["confident_position"]],
            "examples": off_diagonal["examples"].astype("int64").to_numpy(),
        }
    )
    flagged_pairs = flagged_pairs.sort_values(["examples", "label", "confident_label"], ascending=[False, True, True], ignore_index=True)

    return SuspectedLabelErrors(
        examples=page,
        ranked=ranked,
        flagged=flagged,
        thresholds=dict(zip(ranking.classes, ranking.thresholds)),
        flagged_pairs=flagged_pairs,
        missing_probabilities=ranking.missing,
        out_of_range_probabilities=ranking.out_of_range,
        notes=ranking.notes(),
        limit=limit,
        offset=offset,
        flagged_only=flagged_only,
    )


def suspected_label_error_ids(
    dataset: Dataset,
    top: int,
    example_filter: ExampleFilter | None = None,
    flagged_only: bool = False,
) -> list:
    """Return the ids of the first ``top`` examples of the ranking (only flagged ones with ``flagged_only``), in rank order.

    The ids have the type of the ``id`` column of ``dataset.view``: integers
    when every file has integer ids, else text. Raises as
    :func:`suspected_label_errors` does.
    """
    _check_page(top, 0)
    ranking = _Ranking.prepare(dataset, example_filter)
    return [_plain(value) for value in ranking.page(top, 0, flagged_only)["id"]]


def _check_page(limit: int, offset: int) -> None:
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be at least 0, got limit={limit} and offset={offset}")


def _plain(value: Any) -> Any:
    """Turn a numpy scalar id into the Python int or str it holds."""
    return value.item() if hasattr(value, "item") else value


@dataclass
class _Ranking:
    """Inputs of the per-example query: classes and aliases in column order, the filter condition and the thresholds."""

    dataset: Dataset
    classes: list[str]
    aliases: list[str]
    where: str
    where_params: tuple
    thresholds: list[float | None]
    missing: int
    out_of_range: int

    @classmethod
    def prepare(cls, dataset: Dataset, example_filter: ExampleFilter | None) -> _Ranking:
        """Check the dataset and compute the thresholds over the filtered examples (one GROUP BY label)."""
        check_probabilities(dataset)
        classes = list(dataset.probabilities)
        aliases = list(dataset.probabilities.values())
        where, where_params = (example_filter or ExampleFilter()).where(dataset)

        rows = dataset.engine.query(
            f"""
            SELECT label,
                CAST(count(*) AS BIGINT) AS examples,
                CAST(count(*) FILTER (WHERE missing) AS BIGINT) AS missing,
                CAST(count(*) FILTER (WHERE valid) AS BIGINT) AS valid,
                avg(label_probability) FILTER (WHERE valid) AS mean_probability
            FROM (
                SELECT label, {_missing_condition(aliases)} AS missing, {_valid_condition(aliases)} AS valid,
                    {_probability_of('list_position(?, label)', aliases)} AS label_probability
                FROM {dataset.view}
                WHERE {where}
            ) AS checked
            GROUP BY label
            """,
            [classes, *where_params],
        )
        kept = int(rows["examples"].sum())
        check_keeps_examples(example_filter or ExampleFilter(), kept)
        missing = int(rows["missing"].sum())
        valid = int(rows["valid"].sum())
        if valid == 0:
            raise InputError(
                ngettext(
                    "The example has no valid probability for every class: {missing} with a missing or non-numeric value, {out_of_range} with a value outside 0 to 1.",
                    "None of the {count} examples has a valid probability for every class: {missing} with a missing or non-numeric value, {out_of_range} with a value outside 0 to 1.",
                    kept,
                    missing=missing,
                    out_of_range=kept - missing,
                ),
                _("Export the model's probabilities after the softmax, between 0 and 1, not logits or percentages, with a number in every prob_<class> column."),
            )

        means = {row.label: row.mean_probability for row in rows.itertuples(index=False) if row.valid > 0}
        thresholds = [max(float(means[name]), MIN_THRESHOLD) if name in means else None for name in classes]
        return cls(dataset, classes, aliases, where, tuple(where_params), thresholds, missing, kept - valid - missing)

    def scored_sql(self) -> tuple[str, list]:
        """Return the ``WITH`` clauses defining ``judged`` (one row per ranked example) and their parameters.

        ``judged`` has id, label, prediction, label_position (1-based position
        of the label among the classes), label_probability, max_other,
        suggested_position, confident_position (NULL when no class is
        confident), flagged and label_quality.
        """
        aliases = self.aliases
        numbered = list(enumerate(aliases, start=1))
        confident_columns = []
        cutoffs = []
        for index, (alias, threshold) in enumerate(zip(aliases, self.thresholds)):
            if threshold is None:
                confident_columns.append(f"false AS c{index}")
            else:
                confident_columns.append(f"{alias} >= ? AS c{index}")
                # Subtracted in Python, as cleanlab subtracts in numpy, so the cutoff is the same double.
                cutoffs.append(threshold - CONFIDENCE_MARGIN)
        confident_flags = [f"c{index}" for index in range(len(aliases))]

        sql = f"""
            WITH chosen AS (
                SELECT id, label, prediction, list_position(?, label) AS label_position, {', '.join(aliases)}
                FROM {self.dataset.view}
                WHERE ({self.where}) AND {_valid_condition(aliases)}
            ), margins AS (
                SELECT *,
                    {_probability_of('label_position', aliases)} AS label_probability,
                    greatest({', '.join(f'CASE WHEN label_position = {position} THEN -1.0 ELSE {alias} END' for position, alias in numbered)}) AS max_other,
                    greatest({', '.join(aliases)}) AS max_probability,
                    {', '.join(confident_columns)}
                FROM chosen
            ), positions AS (
                SELECT *,
                    {' + '.join(f'CAST({flag} AS INTEGER)' for flag in confident_flags)} AS confident_count,
                    CASE {' '.join(f'WHEN {flag} THEN {position}' for position, flag in enumerate(confident_flags, start=1))} END AS first_confident,
                    CASE {' '.join(f'WHEN {alias} = max_probability THEN {position}' for position, alias in numbered)} END AS most_probable,
                    CASE {' '.join(f'WHEN label_position <> {position} AND {alias} = max_other THEN {position}' for position, alias in numbered)} END AS suggested_position
                FROM margins
            ), judged AS (
                SELECT id, label, prediction, label_position, label_probability, max_other, suggested_position, confident_position,
                    coalesce(confident_position <> label_position, false) AS flagged,
                    (label_probability - max_other + 1) / 2 AS label_quality
                FROM (
                    SELECT *,
                        CASE WHEN confident_count = 1 THEN first_confident WHEN confident_count > 1 THEN most_probable END AS confident_position
                    FROM positions
                ) AS chosen_class
            )
        """
        return sql, [self.classes, *self.where_params, *cutoffs]

    def page(self, limit: int, offset: int, flagged_only: bool) -> pd.DataFrame:
        """Return ``limit`` ranked examples from ``offset`` on, with class texts in place of positions."""
        sql, params = self.scored_sql()
        frame = self.dataset.engine.query(
            f"""{sql}
            SELECT id, label, prediction, suggested_position, label_probability, max_other, label_quality, flagged, confident_position
            FROM judged
            {'WHERE flagged' if flagged_only else ''}
            ORDER BY label_quality, id
            LIMIT ? OFFSET ?
            """,
            [*params, limit, offset],
        )
        return pd.DataFrame(
            {
                "id": frame["id"],
                "label": frame["label"],
                "prediction": frame["prediction"],
                "suggested_label": [self.classes[int(code) - 1] for code in frame["suggested_position"]],
                "label_probability": frame["label_probability"].astype(float),
                "suggested_probability": frame["max_other"].astype(float),
                "label_quality": frame["label_quality"].astype(float),
                "flagged": frame["flagged"].astype(bool),
                "confident_label": [None if pd.isna(code) else self.classes[int(code) - 1] for code in frame["confident_position"]],
            }
        )

    def notes(self) -> list[str]:
        notes = []
        if self.missing:
            notes.append(
                ngettext(
                    "{count} example is left out of the ranking because one of its probabilities is missing or not a number.",
                    "{count} examples are left out of the ranking because one of their probabilities is missing or not a number.",
                    self.missing,
                )
            )
        if self.out_of_range:
            notes.append(
                ngettext(
                    "{count} example is left out of the ranking because one of its probabilities is outside 0 to 1.",
                    "{count} examples are left out of the ranking because one of their probabilities is outside 0 to 1.",
                    self.out_of_range,
                )
            )
        unlabelled = [name for name, threshold in zip(self.classes, self.thresholds) if threshold is None]
        if unlabelled:
            notes.append(
                _(
                    "No ranked example is labelled {classes}, so these classes have no threshold and no example is confidently in them.",
                    classes=", ".join(f"'{name}'" for name in unlabelled),
                )
            )
        return notes


def check_probabilities(dataset: Dataset) -> None:
    """Raise :class:`~analysis.InputError` unless ``dataset`` is a classification task with a probability column per class."""
    if not dataset.has_classes:
        raise InputError(
            _("Suspected label errors need labels and per-class probabilities, but this dataset is in {mode} mode.", mode=dataset.mode),
            _("Use a predictions file with label and prediction columns and one prob_<class> column per class."),
        )
    if not dataset.probabilities:
        raise InputError(
            _("The predictions file has no per-class probability columns, which suspected label errors need."),
            _("Add one column per class named prob_<class> (for example prob_cat) holding the model's probability of that class."),
        )
    missing = [name for name in dataset_classes(dataset) if name not in dataset.probabilities]
    if missing:
        shown = ", ".join(f"'{name}'" for name in missing[:SHOWN_VALUES])
        if len(missing) > SHOWN_VALUES:
            shown += _(" and {count} more", count=len(missing) - SHOWN_VALUES)
        raise InputError(
            ngettext(
                "The predictions file has no probability column for {count} class: {classes}.",
                "The predictions file has no probability column for {count} classes: {classes}.",
                len(missing),
                classes=shown,
            ),
            _(
                "Add a prob_<class> column for each, whose name after prob_ is the class exactly as in the label column. Columns were found for: {found}.",
                found=", ".join(f"'{name}'" for name in dataset.probabilities),
            ),
        )
    if len(dataset.probabilities) < 2:
        raise InputError(
            _("Suspected label errors need at least two classes, but the predictions file has probabilities for one class only."),
            _("Add a prob_<class> column for every class the model can predict."),
        )


def _probability_of(position: str, aliases: list[str]) -> str:
    """Return a SQL expression picking the probability column at the 1-based ``position`` (a SQL expression)."""
    return f"CASE {position} {' '.join(f'WHEN {index} THEN {alias}' for index, alias in enumerate(aliases, start=1))} END"


def _missing_condition(aliases: list[str]) -> str:
    # TRY_CAST left NULL where a value is not a number; NaN compares above every number in DuckDB, so it is caught apart.
    return " OR ".join(f"({alias} IS NULL OR isnan({alias}))" for alias in aliases)


def _valid_condition(aliases: list[str]) -> str:
    # NaN fails BETWEEN because DuckDB sorts it above every number; NULL fails through coalesce.
    low = -PROBABILITY_TOLERANCE
    high = 1 + PROBABILITY_TOLERANCE
    return " AND ".join(f"coalesce({alias} BETWEEN {low!r} AND {high!r}, false)" for alias in aliases)
