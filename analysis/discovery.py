"""Slice discovery: find the conjunctions of attribute values and tags where the model fails most.

The search follows SliceLine (Sagadeeva and Boehm, "SliceLine: Fast,
Linear-Algebra-based Slice Finding for ML Model Debugging", SIGMOD 2021). A
candidate slice is a conjunction of up to three predicates, each
``attribute = value``, ``tag present`` or (optionally) ``tag absent``, with at
most one predicate per attribute or tag. Each slice gets the score

    score = alpha * (slice errors / slice support / overall rate - 1)
            - (1 - alpha) * (support of all data / slice support - 1)

which trades how much worse the slice is (its lift) against how small it is:
``alpha`` near 1 favours lift, lower values favour large slices. Slices below
the minimum support, or with a score of 0 or less, are never reported.

The search goes level by level (one predicate, two, three) and prunes as
SliceLine does, which keeps it exact:

- a candidate at level k is formed only when all of its k parents at level
  k - 1 reached the minimum support and have at least one error. A
  conjunction never has more examples or more errors than its parents;
- a candidate is dropped before it is counted when the upper bound of its
  score, computed from its parents' supports and errors, is below the score
  of the current K-th best slice.

One pass over ``examples`` writes a table with one row per example and,
per attribute or tag, the integer id of the predicate the example satisfies.
Level 1 is one GROUPING SETS query over that table. Each later level is
counted in DuckDB either with a UNION ALL of GROUP BYs, one per column
combination of its candidates, or with one bitmap of the examples per valid
predicate, whichever a cost estimate prefers. Only the counts of candidates
reach pandas.

With a metric other than the error rate, the support is the metric's
denominator: for the false-positive rate, the examples whose label is not the
positive class, with a false positive as the "error".

Each reported slice has a two-sided p-value against the rest of the data
(:func:`analysis.significance.compare_to_rest`), adjusted with
Benjamini-Hochberg over every candidate counted in the search (the whole
family the search looked at, not only the reported slices), and the flag of
:func:`analysis.significance.is_flagged`. Reported slices whose examples
overlap strongly are grouped under the best-scoring one. By default two
slices overlap when more than half of the smaller one's examples lie in the
larger one (containment). The refinements of one bad slice (``tag
low_bandwidth and gender = male``) then do not crowd out other findings. The
Jaccard index is the other measure. Both are computed in DuckDB.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import ConfigError, InputError
from analysis.filters import ExampleFilter
from analysis.i18n import N_, _
from analysis.model import MODE_CLASSIFICATION, Dataset
from analysis.significance import adjust_p_values, compare_to_rest, is_flagged
from analysis.slice_analysis import to_json
from analysis.slice_metrics import ERROR_RATE, FALSE_NEGATIVE_RATE, FALSE_POSITIVE_RATE, positive_class
from analysis.stats import ratio, wilson_interval

METRICS = (ERROR_RATE, FALSE_POSITIVE_RATE, FALSE_NEGATIVE_RATE)
METRIC_NAMES = {
    ERROR_RATE: N_("error rate"),
    FALSE_POSITIVE_RATE: N_("false-positive rate"),
    FALSE_NEGATIVE_RATE: N_("false-negative rate"),
}

DEFAULT_ALPHA = 0.95
DEFAULT_MAX_PREDICATES = 3
MAX_PREDICATES = 3
DEFAULT_TOP = 10
MAX_TOP = 50
# Two slices overlap when this share of their examples is common: by default,
# when more than half of the smaller slice lies in the larger one
# (containment), else when their Jaccard index is above it.
DEFAULT_OVERLAP = 0.5
CONTAINMENT = "containment"
JACCARD = "jaccard"
OVERLAP_MEASURES = (CONTAINMENT, JACCARD)

# The search keeps this many best slices (64, the bits of one integer in the
# overlap query), so that grouping the refinements of a bad slice under it
# still leaves ``top`` groups to report.
POOL = 64

# Predicate ids of one candidate are packed into one integer, this many bits each.
_ID_BITS = 20

# Estimated costs of the two ways of counting a level's candidates, in
# milliseconds, measured once with DuckDB 2.0.1 on a 2-core machine at one
# and ten million examples. Bitmaps cost about one AND per candidate over every
# example; a GROUP BY costs a fixed part plus one pass per column combination.
BITMAP_MS_PER_CANDIDATE_PER_MILLION = 2.7
GROUP_BY_MS_PER_SET = 5.0
GROUP_BY_MS_PER_SET_PER_MILLION = 6.0
# Bitmaps of all valid predicates (one bit per example each) beyond this size fall back to GROUP BYs.
MAX_BITMAP_BYTES = 512 * 1024 * 1024
# Bitmaps one counting query may join, so that its memory stays near this many bytes.
BITMAP_BATCH_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Predicate:
    """One condition of a slice: ``attribute = value``, a tag present, or a tag absent."""

    kind: str  # "attribute" or "tag"
    name: str
    value: str | None = None  # the slice value of an attribute; None for a tag
    present: bool = True  # for a tag: True when the tag is carried

    def describe(self) -> str:
        if self.kind == "attribute":
            return _("{attribute} = {value}", attribute=self.name, value=self.value)
        if self.present:
            return _("tag {tag}", tag=self.name)
        return _("no tag {tag}", tag=self.name)

    def as_dict(self) -> dict:
        """Return the predicate in the form the ``slices`` command uses: ``{attribute, value}`` or ``{tag, value}``."""
        if self.kind == "attribute":
            return {"attribute": self.name, "value": self.value}
        return {"tag": self.name, "value": self.present}


@dataclass
class DiscoverySettings:
    """Settings of one search. Every field has a default."""

    metric: str = ERROR_RATE
    max_predicates: int = DEFAULT_MAX_PREDICATES
    min_support: int | None = None  # None: the dataset's statistics.min_support
    top: int = DEFAULT_TOP
    alpha: float = DEFAULT_ALPHA
    tag_absent: bool = False
    overlap: float = DEFAULT_OVERLAP
    overlap_measure: str = CONTAINMENT


@dataclass
class Candidate:
    """A counted conjunction of predicates."""

    predicates: tuple[Predicate, ...]
    support: int
    errors: int
    score: float

    def describe(self) -> str:
        return _(" and ").join(predicate.describe() for predicate in self.predicates)


@dataclass
class LevelStats:
    """Counts of the candidates that one level of the search formed, pruned and counted."""

    level: int
    formed: int
    pruned_by_score: int
    evaluated: int
    above_min_support: int

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "formed": self.formed,
            "pruned_by_score": self.pruned_by_score,
            "evaluated": self.evaluated,
            "above_min_support": self.above_min_support,
        }


@dataclass
class DiscoveryResult:
    """The ranked slices of a search, grouped by overlap, and what the search did."""

    metric: str
    settings: DiscoverySettings
    min_support: int
    support: int
    errors: int
    ranked: list[Candidate]  # the best slices before grouping, best first
    slices: list[dict]  # the reported groups, best first
    levels: list[LevelStats] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    example_filter: ExampleFilter = field(default_factory=ExampleFilter)

    @property
    def candidates_evaluated(self) -> int:
        return sum(level.evaluated for level in self.levels)

    def as_dict(self) -> dict:
        """Return the result as JSON-ready data; undefined numbers (NaN) become None."""
        return to_json(self._as_raw_dict())

    def _as_raw_dict(self) -> dict:
        return {
            "metric": self.metric,
            "overall": {"support": self.support, "errors": self.errors, "metric_value": ratio(self.errors, self.support)},
            "settings": {
                "max_predicates": self.settings.max_predicates,
                "min_support": self.min_support,
                "top": self.settings.top,
                "alpha": self.settings.alpha,
                "tag_absent": self.settings.tag_absent,
                "overlap": self.settings.overlap,
                "overlap_measure": self.settings.overlap_measure,
            },
            "filter": {**self.example_filter.as_dict(), "description": self.example_filter.describe()},
            "candidates_evaluated": self.candidates_evaluated,
            "levels": [level.as_dict() for level in self.levels],
            "slices": self.slices,
            "notices": list(self.notices),
        }


@dataclass
class _Column:
    """An attribute or tag column of ``examples`` that predicates test."""

    alias: str
    kind: str  # "attribute" or "tag"
    name: str


def discover_slices(
    dataset: Dataset,
    settings: DiscoverySettings | None = None,
    example_filter: ExampleFilter | None = None,
) -> DiscoveryResult:
    """Search the slices of ``dataset`` (under ``example_filter``) where ``settings.metric`` is worst.

    Raises :class:`~analysis.ConfigError` for invalid settings and
    :class:`~analysis.InputError` when the dataset has nothing to search.
    """
    settings = settings or DiscoverySettings()
    example_filter = example_filter or ExampleFilter()
    min_support = settings.min_support if settings.min_support is not None else _dataset_min_support(dataset)
    _check_settings(dataset, settings, min_support)

    columns = [_Column(a.alias, "attribute", a.name) for a in dataset.attributes]
    columns += [_Column(t.alias, "tag", t.name) for t in dataset.tags]
    if not columns:
        raise InputError(
            _("Slice discovery needs attributes or tags, but this dataset has neither."),
            _("Add a metadata file with attribute columns, or tags, to the dataset file."),
        )

    where, params = _base_condition(dataset, settings.metric, example_filter)
    search = _Search(dataset, settings, min_support, columns, where, params)
    try:
        return search.run(example_filter)
    finally:
        search.drop_table()


def _dataset_min_support(dataset: Dataset) -> int:
    return int(dataset.config.min_support)


def _check_settings(dataset: Dataset, settings: DiscoverySettings, min_support: int) -> None:
    if settings.metric not in METRICS:
        raise ConfigError(
            _("Unknown metric '{metric}' for slice discovery.", metric=settings.metric),
            _("Use one of: {names}.", names=", ".join(METRICS)),
        )
    if settings.metric != ERROR_RATE and (dataset.mode != MODE_CLASSIFICATION or dataset.config.positive_class is None):
        raise ConfigError(
            _("The metric '{metric}' needs a binary task with a positive class.", metric=settings.metric),
            _("Set [task] positive_class in the dataset file or pass --positive-class, or use the error rate."),
        )
    if settings.metric != ERROR_RATE:
        # Rejects more than two classes, as the slices command does.
        positive_class(dataset)
    if not 1 <= settings.max_predicates <= MAX_PREDICATES:
        raise ConfigError(
            _("The maximum number of predicates must be 1, 2 or 3, got {value}.", value=settings.max_predicates),
            _("Longer conjunctions are rarely actionable and the search grows fast with each level."),
        )
    if min_support < 1:
        raise ConfigError(
            _("The minimum support must be at least 1, got {value}.", value=min_support),
            _("Use a whole number of examples, for example 30."),
        )
    if not 1 <= settings.top <= MAX_TOP:
        raise ConfigError(
            _("The number of slices to report must be between 1 and {maximum}, got {value}.", maximum=MAX_TOP, value=settings.top),
            _("Ask for fewer slices, for example 10."),
        )
    if not 0 < settings.alpha <= 1:
        raise ConfigError(
            _("The score weight alpha must be above 0 and at most 1, got {value}.", value=settings.alpha),
            _("Use for example 0.95: values near 1 favour slices much worse than overall, lower values favour large slices."),
        )
    if not 0 < settings.overlap <= 1:
        raise ConfigError(
            _("The overlap threshold must be above 0 and at most 1, got {value}.", value=settings.overlap),
            _("Use for example 0.5: slices sharing more than half of their examples are grouped."),
        )
    if settings.overlap_measure not in OVERLAP_MEASURES:
        raise ConfigError(
            _("Unknown overlap measure '{measure}'.", measure=settings.overlap_measure),
            _("Use one of: {names}.", names=", ".join(OVERLAP_MEASURES)),
        )


def _base_condition(dataset: Dataset, metric: str, example_filter: ExampleFilter) -> tuple[str, tuple]:
    """Return the condition selecting the metric's support under the filter, and its parameters.

    The metric's numerator is written as ``err`` in the queries; see :func:`_error_expression`.
    """
    where, params = example_filter.where(dataset)
    if metric == FALSE_POSITIVE_RATE:
        return f"({where}) AND label <> ?", (*params, dataset.config.positive_class)
    if metric == FALSE_NEGATIVE_RATE:
        return f"({where}) AND label = ?", (*params, dataset.config.positive_class)
    return where, params


def _error_expression(dataset: Dataset, metric: str) -> tuple[str, tuple]:
    if metric == FALSE_POSITIVE_RATE:
        return "coalesce(prediction = ?, false)", (dataset.config.positive_class,)
    if metric == FALSE_NEGATIVE_RATE:
        return "coalesce(prediction <> ?, true)", (dataset.config.positive_class,)
    return "is_error", ()


def slice_score(errors, support, total_errors: int, total: int, alpha: float):
    """Return SliceLine's score of slices with ``errors`` of ``support`` examples (scalars or arrays)."""
    overall_rate = total_errors / total
    return alpha * (errors / support / overall_rate - 1) - (1 - alpha) * (total / support - 1)


def score_upper_bound(support_bound, error_bound, min_support: int, total_errors: int, total: int, alpha: float):
    """Return SliceLine's upper bound of the score of any slice of at most ``support_bound`` examples and ``error_bound`` errors.

    For a fixed number of errors the score is monotone in the support. Each
    example adds at most one error, so errors are capped at min(support,
    error_bound). The maximum over supports in [min_support, support_bound]
    therefore lies at one of three sizes: the minimum support, the support
    equal to the error bound, or the support bound.
    """
    support_bound = np.asarray(support_bound, dtype=float)
    error_bound = np.asarray(error_bound, dtype=float)
    best = np.full(support_bound.shape, -np.inf)
    for size in (np.full(support_bound.shape, float(min_support)), np.maximum(error_bound, min_support), support_bound):
        size = np.minimum(size, support_bound)
        errors = np.minimum(size, error_bound)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = slice_score(errors, size, total_errors, total, alpha)
        best = np.fmax(best, score)
    return best


class _Search:
    """One run of the level-wise search, with the names of the tables it creates and drops."""

    def __init__(self, dataset, settings, min_support, columns, where, params):
        self.dataset = dataset
        self.settings = settings
        self.min_support = min_support
        self.columns = columns
        self.where = where
        self.params = params
        self.table: str | None = None
        self.coded_columns: dict[int, str] = {}
        self.bitmaps: str | None = None
        self.levels: list[LevelStats] = []
        # One row per counted candidate: ids (tuple of predicate ids), n, errors, score.
        self.counted: list[pd.DataFrame] = []
        # Predicates that some example satisfies: id -> (column index, Predicate).
        self.predicates: dict[int, tuple[int, Predicate]] = {}
        self.notices: list[str] = []

    # ------------------------------------------------------------ steps

    def run(self, example_filter: ExampleFilter) -> DiscoveryResult:
        settings = self.settings
        level_one = self._count_level_one()
        total, total_errors = self.total, self.total_errors
        if total < self.min_support:
            raise ConfigError(
                _(
                    "The minimum support ({min_support}) is larger than the {total} examples the search covers.",
                    min_support=self.min_support,
                    total=total,
                ),
                _("Lower the minimum support, or widen the filter."),
            )

        pool = POOL
        ranked = pd.DataFrame(columns=["ids", "n", "errors", "score"])
        if total_errors == 0:
            self.notices.append(_("No example counts towards the metric, so no slice can be worse than overall."))
        else:
            ranked = self._rank(level_one, pool)
            parents = level_one
            for level in range(2, settings.max_predicates + 1):
                parents = self._next_level(parents, level, ranked, pool)
                if parents is None:
                    break
                ranked = self._rank(parents, pool, ranked)

        candidates = [self._candidate(row) for row in ranked.itertuples(index=False)]
        slices = self._report(ranked, candidates) if candidates else []
        if total_errors > 0 and not candidates:
            self.notices.append(
                _("No slice of at least {min_support} examples scores above 0.", min_support=self.min_support)
            )
        return DiscoveryResult(
            metric=settings.metric,
            settings=settings,
            min_support=self.min_support,
            support=total,
            errors=total_errors,
            ranked=candidates,
            slices=slices,
            levels=self.levels,
            notices=self.notices,
            example_filter=example_filter,
        )

    def _count_level_one(self) -> pd.DataFrame:
        """Code every example's predicates in a table, then count each predicate in one GROUPING SETS query."""
        self._create_coded_table()
        coded = [self.coded_columns[index] for index in range(len(self.columns))]
        frame = self.dataset.engine.query(
            f"""
            SELECT list_position([{', '.join(f'GROUPING({name})' for name in coded)}], 0) AS position,
                coalesce({', '.join(coded)}) AS predicate,
                CAST(count(*) AS BIGINT) AS n,
                CAST(count_if(err) AS BIGINT) AS errors
            FROM {self.table}
            GROUP BY GROUPING SETS ({', '.join(f'({name})' for name in coded)}, ())
            """
        )
        totals = frame[frame["position"].isna()]
        self.total = int(totals["n"].sum())
        self.total_errors = int(totals["errors"].sum())
        if self.total == 0:
            # Scoring divides by the overall rate, so an empty search space stops here.
            raise ConfigError(
                _("No example counts towards the metric '{metric}' under this filter, so there is nothing to search.", metric=self.settings.metric),
                _("Remove a filter condition, or choose another metric."),
            )

        counted = frame[frame["position"].notna() & frame["predicate"].notna()]
        counted = counted.assign(ids=[(int(i),) for i in counted["predicate"]]).sort_values("predicate").reset_index(drop=True)
        # Predicates that no example satisfies under the filter were never candidates.
        self.predicates = {i: self.predicates[i] for (i,) in counted["ids"]}
        counted["score"] = self._score(counted["errors"], counted["n"])
        self._record(counted[["ids", "n", "errors", "score"]])
        valid = self._valid(counted[["ids", "n", "errors"]])
        self.valid_ids = {ids[0] for ids in valid["ids"]}
        self.levels.append(LevelStats(1, len(counted), 0, len(counted), int((counted["n"] >= self.min_support).sum())))
        return valid

    def _next_level(self, parents: pd.DataFrame, level: int, ranked: pd.DataFrame, pool: int) -> pd.DataFrame | None:
        """Form, prune and count the candidates of ``level`` from the valid ``parents``; None when none is left."""
        formed = self._form_candidates(parents, level)
        if formed.empty:
            self.levels.append(LevelStats(level, 0, 0, 0, 0))
            return None
        # The bar a candidate must reach: the current pool's worst score once the pool is full, else just above 0.
        threshold = ranked["score"].iloc[pool - 1] if len(ranked) >= pool else 0.0
        upper = score_upper_bound(
            formed["n_bound"], formed["errors_bound"], self.min_support, self.total_errors, self.total, self.settings.alpha
        )
        keep = (upper >= threshold) & (upper > 0)
        candidates = formed[keep]
        counted = self._count_candidates(candidates, level) if not candidates.empty else candidates.assign(n=[], errors=[])
        counted = counted.assign(score=self._score(counted["errors"], counted["n"]))
        self._record(counted[["ids", "n", "errors", "score"]])
        self.levels.append(
            LevelStats(level, len(formed), int((~keep).sum()), len(counted), int((counted["n"] >= self.min_support).sum()))
        )
        valid = self._valid(counted[["ids", "n", "errors"]])
        return valid if not valid.empty else None

    def _form_candidates(self, parents: pd.DataFrame, level: int) -> pd.DataFrame:
        """Join parents that share their first ``level - 2`` predicates, apriori style, and bound each candidate.

        A candidate is kept only when every one of its ``level`` parents is
        valid. Its support and error bounds are the minimum over those parents.
        """
        width = level - 1
        ids = np.array(parents["ids"].tolist(), dtype=np.int64).reshape(len(parents), width)
        frame = pd.DataFrame(ids, columns=[f"p{i}" for i in range(width)])
        frame["n"] = parents["n"].to_numpy()
        frame["errors"] = parents["errors"].to_numpy()
        prefix = [f"p{i}" for i in range(width - 1)]
        last = f"p{width - 1}"
        if prefix:
            pairs = frame.merge(frame, on=prefix, suffixes=("", "_right"))
        else:
            pairs = frame.merge(frame, how="cross", suffixes=("", "_right"))
        pairs = pairs[pairs[last] < pairs[f"{last}_right"]]
        column_of = np.zeros(max(self.predicates) + 1, dtype=np.int64)
        for predicate_id, (column, _predicate) in self.predicates.items():
            column_of[predicate_id] = column
        pairs = pairs[column_of[pairs[last].to_numpy()] != column_of[pairs[f"{last}_right"].to_numpy()]]
        candidate_ids = np.column_stack([pairs[p].to_numpy() for p in prefix] + [pairs[last].to_numpy(), pairs[f"{last}_right"].to_numpy()])
        n_bound = np.minimum(pairs["n"].to_numpy(), pairs["n_right"].to_numpy())
        errors_bound = np.minimum(pairs["errors"].to_numpy(), pairs["errors_right"].to_numpy())

        # Parents that drop one of the first level - 2 predicates must be valid too.
        keep = np.ones(len(candidate_ids), dtype=bool)
        if level >= 3 and len(candidate_ids):
            valid = frame.set_index([f"p{i}" for i in range(width)])
            for dropped in range(level - 2):
                rest = np.delete(candidate_ids, dropped, axis=1)
                index = pd.MultiIndex.from_arrays([rest[:, i] for i in range(width)])
                found = valid.reindex(index)
                present = found["n"].notna().to_numpy()
                keep &= present
                n_bound = np.minimum(n_bound, found["n"].fillna(0).to_numpy())
                errors_bound = np.minimum(errors_bound, found["errors"].fillna(0).to_numpy())
        return pd.DataFrame(
            {
                "ids": [tuple(int(i) for i in row) for row in candidate_ids[keep]],
                "n_bound": n_bound[keep],
                "errors_bound": errors_bound[keep],
            }
        )

    def _create_coded_table(self) -> None:
        """Write one row per example of the search, with the id of the predicate it satisfies in each column.

        Ids are numbered column by column, so the ids of a conjunction sorted
        by column are ascending. A tag column contains the id of "present" or,
        with ``tag_absent``, of "absent" (NULL otherwise). The values of an
        attribute come from the counts made when the dataset was opened,
        which cover every analysed example.
        """
        error_sql, error_params = _error_expression(self.dataset, self.settings.metric)
        counts = self.dataset.counts
        selects: list[str] = []
        params: list[object] = []
        next_id = 1
        for index, column in enumerate(self.columns):
            coded = f"c{index}"
            self.coded_columns[index] = coded
            if column.kind == "attribute":
                values = sorted({str(value) for value in counts.slices[column.alias]["value"]})
                for value in values:
                    self.predicates[next_id] = (index, Predicate("attribute", column.name, value))
                    next_id += 1
                selects.append(f"CAST(list_position(?, CAST({column.alias} AS VARCHAR)) + ? AS INTEGER) AS {coded}")
                params += [values, next_id - len(values) - 1]
            else:
                present = next_id
                self.predicates[present] = (index, Predicate("tag", column.name, present=True))
                next_id += 1
                absent = None
                if self.settings.tag_absent:
                    absent = next_id
                    self.predicates[absent] = (index, Predicate("tag", column.name, present=False))
                    next_id += 1
                selects.append(f"CAST(CASE WHEN coalesce({column.alias}, false) THEN ? ELSE ? END AS INTEGER) AS {coded}")
                params += [present, absent]
        self.table = f"discovery_{uuid.uuid4().hex}"
        self.dataset.engine.create_table_as(
            self.table,
            f"SELECT {', '.join(selects)}, {error_sql} AS err FROM {self.dataset.view} WHERE {self.where}",
            (*params, *error_params, *self.params),
        )

    def _count_candidates(self, candidates: pd.DataFrame, level: int) -> pd.DataFrame:
        """Count the candidates of one level with bitmaps or with GROUP BYs, whichever the cost estimate prefers.

        Bitmaps are used only while they fit in :data:`MAX_BITMAP_BYTES`, and
        only on DuckDB, whose bit strings they are.
        """
        column_sets = {tuple(self.predicates[int(i)][0] for i in ids) for ids in candidates["ids"]}
        millions = self.total / 1e6
        bitmap_cost = len(candidates) * BITMAP_MS_PER_CANDIDATE_PER_MILLION * millions
        group_by_cost = len(column_sets) * (GROUP_BY_MS_PER_SET + GROUP_BY_MS_PER_SET_PER_MILLION * millions)
        bitmap_bytes = (len(self.valid_ids) + 1) * (self.total / 8)
        if self.dataset.engine.supports_bitstrings and bitmap_cost < group_by_cost and bitmap_bytes <= MAX_BITMAP_BYTES:
            return self._count_with_bitmaps(candidates, level)
        return self._count_with_group_by(candidates)

    def _count_with_bitmaps(self, candidates: pd.DataFrame, level: int) -> pd.DataFrame:
        """Count each candidate as the bits set in the AND of its predicates' bitmaps (one bit per example).

        The join copies ``level`` bitmaps per candidate, so candidates go in
        batches of about :data:`BITMAP_BATCH_BYTES`.
        """
        if self.bitmaps is None:
            self._create_bitmaps()
        ids = np.array(candidates["ids"].tolist(), dtype=np.int64)
        batch = max(1, int(BITMAP_BATCH_BYTES // (level * max(self.total, 1) / 8)))
        columns = [f"unnest(?::INTEGER[]) AS p{i}" for i in range(level)]
        joins = " ".join(f"JOIN {self.bitmaps} AS b{i} ON b{i}.predicate = candidates.p{i}" for i in range(level))
        conjunction = " & ".join(f"b{i}.bits" for i in range(level))
        n = np.zeros(len(ids), dtype=np.int64)
        errors = np.zeros(len(ids), dtype=np.int64)
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            counts = self.dataset.engine.query(
                f"""
                WITH candidates AS (SELECT unnest(?::INTEGER[]) AS position, {', '.join(columns)})
                SELECT candidates.position,
                    CAST(bit_count({conjunction}) AS BIGINT) AS n,
                    CAST(bit_count({conjunction} & errors.bits) AS BIGINT) AS errors
                FROM candidates {joins}, {self.bitmaps} AS errors
                WHERE errors.predicate = 0
                """,
                (list(range(start, start + len(part))), *(part[:, i].tolist() for i in range(level))),
            )
            positions = counts["position"].to_numpy()
            n[positions] = counts["n"].to_numpy()
            errors[positions] = counts["errors"].to_numpy()
        return pd.DataFrame({"ids": candidates["ids"].tolist(), "n": n, "errors": errors})

    def _create_bitmaps(self) -> None:
        """Write one bitmap of the examples per valid predicate, and one of the errors as predicate 0."""
        # A table freshly created by CREATE TABLE AS numbers its rows 0 to n - 1 in ``rowid``.
        coded = list(self.coded_columns.values())
        last = max(self.total - 1, 0)
        self.bitmaps = f"{self.table}_bitmaps"
        self.dataset.engine.rows(
            f"""
            CREATE TABLE {self.bitmaps} AS
            SELECT predicate, bitstring_agg(example, 0, ?) AS bits
            FROM (
                UNPIVOT (SELECT rowid AS example, {', '.join(coded)} FROM {self.table})
                ON {', '.join(coded)} INTO NAME source VALUE predicate
            )
            WHERE predicate IN (SELECT unnest(?::INTEGER[]))
            GROUP BY predicate
            UNION ALL
            SELECT 0, coalesce(bitstring_agg(rowid, 0, ?) FILTER (WHERE err), bitstring(repeat('0', ?), ?))
            FROM {self.table}
            """,
            (last, sorted(self.valid_ids), last, self.total, self.total),
        )

    def _count_with_group_by(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """Count the candidates of one level in one query, keeping only the candidates' packed keys.

        On DuckDB the query is a UNION ALL of plain GROUP BYs, each on the
        packed key of its columns, which ran about twice as fast as one
        GROUPING SETS query with a set per combination (DuckDB 2.0.1, 200 sets
        of three columns over one million rows). Engines with
        ``one_scan_per_level`` count every set in one scan instead.
        """
        ids = np.array(candidates["ids"].tolist(), dtype=np.int64)
        keys = _pack(ids)
        column_sets = sorted({tuple(self.predicates[int(i)][0] for i in row) for row in ids})
        if self.dataset.engine.one_scan_per_level:
            counts = self._count_in_one_scan(column_sets, [int(key) for key in keys])
        else:
            counts = self._count_column_sets(column_sets, [int(key) for key in keys])
        found = dict(zip(counts["key"].astype(np.int64), zip(counts["n"], counts["errors"])))
        n = [int(found.get(key, (0, 0))[0]) for key in keys]
        errors = [int(found.get(key, (0, 0))[1]) for key in keys]
        return pd.DataFrame({"ids": candidates["ids"].tolist(), "n": n, "errors": errors})

    def _packed_key(self, column_set: tuple[int, ...]) -> str:
        """Return the SQL of the packed key of ``column_set``'s predicate ids, the first column in the highest bits."""
        coded = [self.coded_columns[c] for c in column_set]
        return " + ".join(f"CAST({name} AS BIGINT) * {1 << (_ID_BITS * (MAX_PREDICATES - 1 - i))}" for i, name in enumerate(coded))

    def _count_in_one_scan(self, column_sets: list[tuple[int, ...]], keys: list[int]) -> pd.DataFrame:
        """Count every column set in one scan: each example yields one packed key per set it has values in.

        On Spark this reads the coded table once per level, where a UNION ALL
        reads it once per column set and pays a stage's scheduling for each.
        """
        keyed = []
        for column_set in column_sets:
            present = " AND ".join(f"{self.coded_columns[c]} IS NOT NULL" for c in column_set)
            keyed.append(f"CASE WHEN {present} THEN {self._packed_key(column_set)} END")
        return self.dataset.engine.query(
            f"""
            SELECT keyed.key, CAST(count(*) AS BIGINT) AS n, CAST(count_if(keyed.err) AS BIGINT) AS errors
            FROM (SELECT unnest([{', '.join(keyed)}]) AS key, err FROM {self.table}) AS keyed
            SEMI JOIN (SELECT unnest(CAST(? AS BIGINT[])) AS key) AS wanted ON keyed.key = wanted.key
            GROUP BY keyed.key
            """,
            (keys,),
        )

    def _count_column_sets(self, column_sets: list[tuple[int, ...]], keys: list[int]) -> pd.DataFrame:
        """Count the examples and errors per packed key of each column set with a UNION ALL of GROUP BYs, keeping only ``keys``."""
        branches = []
        for column_set in column_sets:
            present = " AND ".join(f"{self.coded_columns[c]} IS NOT NULL" for c in column_set)
            branches.append(
                f"SELECT {self._packed_key(column_set)} AS key, count(*) AS n, count_if(err) AS errors "
                f"FROM {self.table} WHERE {present} GROUP BY 1"
            )
        return self.dataset.engine.query(
            f"""
            SELECT grouped.key, CAST(grouped.n AS BIGINT) AS n, CAST(grouped.errors AS BIGINT) AS errors
            FROM ({' UNION ALL '.join(branches)}) AS grouped
            SEMI JOIN (SELECT unnest(CAST(? AS BIGINT[])) AS key) AS wanted ON grouped.key = wanted.key
            """,
            (keys,),
        )

    # ------------------------------------------------------------ ranking and report

    def _score(self, errors: pd.Series, n: pd.Series) -> np.ndarray:
        n = np.asarray(n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = slice_score(np.asarray(errors, dtype=float), n, self.total_errors, self.total, self.settings.alpha)
        if self.total_errors == 0:
            return np.full(n.shape, -np.inf)
        return np.where(n > 0, score, -np.inf)

    def _valid(self, counted: pd.DataFrame) -> pd.DataFrame:
        """Keep the slices that may be extended: at least the minimum support and at least one error."""
        return counted[(counted["n"] >= self.min_support) & (counted["errors"] > 0)].reset_index(drop=True)

    def _record(self, counted: pd.DataFrame) -> None:
        self.counted.append(counted.reset_index(drop=True))

    def _rank(self, counted: pd.DataFrame, pool: int, ranked: pd.DataFrame | None = None) -> pd.DataFrame:
        """Merge the eligible slices of ``counted`` into ``ranked`` and keep the ``pool`` best."""
        scored = counted.assign(score=self._score(counted["errors"], counted["n"]))
        eligible = scored[(scored["n"] >= self.min_support) & (scored["score"] > 0)]
        merged = eligible if ranked is None or ranked.empty else pd.concat([ranked, eligible], ignore_index=True)
        return _order(merged, self._description_key).head(pool).reset_index(drop=True)

    def _description_key(self, ids: tuple[int, ...]) -> str:
        return " & ".join(f"{self.predicates[i][1].kind}\x00{self.predicates[i][1].name}\x00{self.predicates[i][1].value}" for i in ids)

    def _candidate(self, row) -> Candidate:
        predicates = tuple(self.predicates[int(i)][1] for i in row.ids)
        return Candidate(predicates, int(row.n), int(row.errors), float(row.score))

    def _report(self, ranked: pd.DataFrame, candidates: list[Candidate]) -> list[dict]:
        """Test every counted candidate, adjust over that family, group overlapping slices and describe the best groups."""
        everything = pd.concat(self.counted, ignore_index=True)
        p_values, tests = self._p_values(everything["errors"].to_numpy(), everything["n"].to_numpy())
        adjusted = adjust_p_values(p_values)
        position = {ids: i for i, ids in enumerate(everything["ids"])}

        jaccard, containment, inside = self._overlaps(ranked)
        measure = jaccard if self.settings.overlap_measure == JACCARD else containment
        groups = _group_by_overlap(measure, inside, self.settings.overlap)
        overall = ratio(self.total_errors, self.total)
        level = self.dataset.config.confidence_level
        rows = []
        for rank, (leader, members) in enumerate(groups[: self.settings.top], start=1):
            candidate = candidates[leader]
            index = position[ranked["ids"].iloc[leader]]
            value = ratio(candidate.errors, candidate.support)
            low, high = wilson_interval(candidate.errors, candidate.support, level)
            gap = value - overall
            rows.append(
                {
                    "rank": rank,
                    "predicates": [p.as_dict() for p in candidate.predicates],
                    "description": candidate.describe(),
                    "support": candidate.support,
                    "errors": candidate.errors,
                    "metric_value": value,
                    "ci_low": low,
                    "ci_high": high,
                    "gap_to_overall": gap,
                    "score": candidate.score,
                    "p_value": p_values[index],
                    "test": tests[index],
                    "adjusted_p_value": adjusted[index],
                    "flagged": is_flagged(adjusted[index], gap, candidate.support, self.dataset.config),
                    "overlapping": [
                        {
                            "predicates": [p.as_dict() for p in candidates[member].predicates],
                            "description": candidates[member].describe(),
                            "support": candidates[member].support,
                            "errors": candidates[member].errors,
                            "metric_value": ratio(candidates[member].errors, candidates[member].support),
                            "score": candidates[member].score,
                            "jaccard": float(jaccard[leader, member]),
                            "containment": float(containment[leader, member]),
                        }
                        for member in members
                    ],
                }
            )
        return rows

    def _p_values(self, errors: np.ndarray, n: np.ndarray) -> tuple[list[float], list[str]]:
        """Compare each candidate with the rest; candidates with the same counts share one test."""
        pairs = np.column_stack([errors, n]).astype(np.int64)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        results = [compare_to_rest(int(e), int(k), self.total_errors, self.total) for e, k in unique]
        inverse = inverse.reshape(-1)
        return [results[i][0] for i in inverse], [results[i][1] for i in inverse]

    def _overlaps(self, ranked: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compute the Jaccard index, the containment and the share inside of every pair of ranked slices.

        Containment is the share of the smaller slice's examples that the
        larger one also holds (the overlap coefficient). Each example gets one
        bit per slice it belongs to; the query counts the examples per bit
        pattern, and numpy sums those counts into the examples shared by each pair.
        """
        count = len(ranked)
        jaccard = np.eye(count)
        containment = np.eye(count)
        if count < 2:
            return jaccard, containment, np.eye(count)
        conditions = []
        params: list[object] = []
        for index, ids in enumerate(ranked["ids"]):
            parts = []
            for predicate_id in ids:
                parts.append(f"{self.coded_columns[self.predicates[predicate_id][0]]} = ?")
                params.append(int(predicate_id))
            conditions.append(f"CASE WHEN {' AND '.join(parts)} THEN CAST(1 AS UBIGINT) << {index} ELSE CAST(0 AS UBIGINT) END")
        sizes = np.array([int(n) for n in ranked["n"]], dtype=float)
        memberships = self.dataset.engine.query(
            f"""
            SELECT bits, CAST(count(*) AS BIGINT) AS n
            FROM (SELECT {' | '.join(conditions)} AS bits FROM {self.table}) AS coded
            WHERE bits <> 0
            GROUP BY bits
            """,
            params,
        )
        # One row per pattern of memberships, so the pairs are counted here rather
        # than in SQL. Spark has no unsigned 64-bit integer, so its bit sets come back
        # as signed numbers with the same bits. The view as uint64 keeps those bits.
        bits = memberships["bits"].to_numpy().astype(np.int64).view(np.uint64)
        member = ((bits[:, np.newaxis] >> np.arange(count, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)
        shared = (member * memberships["n"].to_numpy()[:, np.newaxis]).T @ member
        shared = shared.astype(float)
        np.fill_diagonal(shared, sizes)
        for i in range(count):
            for j in range(i + 1, count):
                jaccard[i, j] = jaccard[j, i] = shared[i, j] / (sizes[i] + sizes[j] - shared[i, j])
                containment[i, j] = containment[j, i] = shared[i, j] / min(sizes[i], sizes[j])
        # inside[i, j]: the share of slice j's examples that slice i also holds.
        inside = shared / sizes[np.newaxis, :]
        return jaccard, containment, inside

    def drop_table(self) -> None:
        if self.bitmaps is not None:
            self.dataset.engine.drop(self.bitmaps, "TABLE")
            self.bitmaps = None
        if self.table is not None:
            self.dataset.engine.drop(self.table, "TABLE")
            self.table = None


def _pack(ids: np.ndarray) -> np.ndarray:
    """Pack each row of up to three predicate ids (ascending) into one integer, the first id in the highest bits."""
    keys = np.zeros(len(ids), dtype=np.int64)
    for i in range(ids.shape[1]):
        keys += ids[:, i].astype(np.int64) << (_ID_BITS * (MAX_PREDICATES - 1 - i))
    return keys


def _order(frame: pd.DataFrame, description_key) -> pd.DataFrame:
    """Sort slices best first: by score, then fewer predicates, then by predicate text, so ties rank the same way every time."""
    if frame.empty:
        return frame
    order = frame.assign(
        _length=[len(ids) for ids in frame["ids"]],
        _text=[description_key(ids) for ids in frame["ids"]],
    ).sort_values(["score", "_length", "_text"], ascending=[False, True, True], kind="stable")
    return order.drop(columns=["_length", "_text"])


def _group_by_overlap(overlap: np.ndarray, inside: np.ndarray, threshold: float) -> list[tuple[int, list[int]]]:
    """Walk slices best first and group each with the first group it overlaps, else start a new group.

    A slice joins a group when its overlap with the group's leader is above
    ``threshold``, or when more than ``threshold`` of its own examples lie in
    a slice already in the group. The second rule keeps the refinements of
    one bad slice together even when the best-scoring refinement is small.
    Only the new slice's share counts there, so a small member shared by two
    large slices does not chain them together.
    """
    groups: list[tuple[int, list[int]]] = []
    for index in range(len(overlap)):
        for leader, members in groups:
            if overlap[leader, index] > threshold or any(inside[other, index] > threshold for other in (leader, *members)):
                members.append(index)
                break
        else:
            groups.append((index, []))
    return groups
