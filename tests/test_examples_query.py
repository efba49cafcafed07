"""The Examples page's query (analysis.examples.ExampleQuery, find_examples, export_examples) against pandas.

The expected rows come from the oracle in oracle.py (outcomes, slice values,
tag flags) and from the raw files read with pandas (scores, metadata columns).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from oracle import class_text, read_table
from test_hostile_names import ID, expected_frame, hostile_config, write_frames

from analysis import InputError, load_dataset
from analysis.examples import (
    METADATA_SUFFIX,
    METADATA_TABLE,
    VIEW_TABLE,
    ColumnSource,
    ExampleQuery,
    column_choices,
    default_columns,
    example_detail,
    export_examples,
    find_examples,
)
from analysis.filters import parse_filter

WHOLE = 100_000


class Oracle:
    """The analysed examples of one dataset as pandas reads them, with a score and metadata per id."""

    def __init__(self, config, expected):
        self.expected = expected
        frame = expected.frame.copy()
        predictions = read_table(config.predictions)
        ids = class_text(predictions.frame[predictions.resolve("id", config.id_column)])
        score_column = predictions.resolve("score", config.score_column)
        if score_column is not None:
            scores = pd.to_numeric(predictions.typed(score_column)).astype(float)
            frame["score"] = frame["id"].map(dict(zip(ids, scores)))
        self.frame = frame
        self.metadata = read_table(config.metadata) if config.metadata is not None else None

    def mask(self, query: ExampleQuery, example_filter=None) -> pd.Series:
        frame, slices, tags = self.frame, self.expected.slice_values, self.expected.tag_flags
        mask = pd.Series(True, index=frame.index)
        if query.outcome == "errors":
            mask &= frame["is_error"]
        elif query.outcome == "correct":
            mask &= ~frame["is_error"]
        if query.label is not None:
            mask &= frame["label"] == query.label
        if query.prediction is not None:
            mask &= frame["prediction"] == query.prediction
        if query.attribute is not None:
            mask &= slices[query.attribute] == query.value
        if query.tag is not None:
            mask &= tags[query.tag] if query.tag_carried else ~tags[query.tag]
        if query.score_min is not None:
            mask &= frame["score"] >= query.score_min
        if query.score_max is not None:
            mask &= frame["score"] <= query.score_max
        return mask

    def ordered_ids(self, mask: pd.Series, sort: str, numeric_ids: bool) -> list[str]:
        frame = self.frame[mask].copy()
        frame["key"] = frame["id"].astype(int) if numeric_ids else frame["id"]
        if sort == "default":
            frame = frame.sort_values(["is_error", "key"], ascending=[False, True], kind="stable")
        else:
            # Missing scores go last in both directions, and ties are broken by id.
            frame["no_score"] = frame["score"].isna()
            ascending = sort == "score_asc"
            frame = frame.sort_values(["no_score", "score", "key"], ascending=[True, ascending, True], kind="stable")
        return frame["id"].tolist()


def ids_of(frame: pd.DataFrame) -> list[str]:
    return [str(value) for value in frame["id"]]


def numeric(dataset) -> bool:
    return pd.api.types.is_integer_dtype(find_examples(dataset, None, ExampleQuery(page_size=1)).frame["id"])


@pytest.fixture(scope="module", params=["speech_commands", "screening", "digits"])
def opened(request, dataset_config, expected_from_files):
    config = dataset_config(request.param)
    return load_dataset(config), Oracle(config, expected_from_files(config))


def sample_queries(dataset, oracle: Oracle) -> list[ExampleQuery]:
    """Queries covering each filter alone and a few together, built from values present in the data."""
    queries = [ExampleQuery(), ExampleQuery(outcome="errors"), ExampleQuery(outcome="correct")]
    pairs = oracle.frame[oracle.frame["is_error"]].groupby(["label", "prediction"]).size().sort_values(ascending=False)
    label, prediction = pairs.index[0]
    queries += [
        ExampleQuery(label=label),
        ExampleQuery(prediction=prediction, outcome="errors"),
        ExampleQuery(label=label, prediction=prediction),
    ]
    attribute = dataset.attributes[0].name
    value = oracle.expected.slice_values[attribute].value_counts().index[0]
    queries.append(ExampleQuery(attribute=attribute, value=value, outcome="errors"))
    for tag in dataset.tags[:2]:
        queries += [ExampleQuery(tag=tag.name), ExampleQuery(tag=tag.name, tag_carried=False, outcome="errors")]
    if dataset.has_score:
        low, high = oracle.frame["score"].quantile([0.25, 0.75])
        queries += [
            ExampleQuery(score_min=float(low)),
            ExampleQuery(score_max=float(high), sort="score_asc"),
            ExampleQuery(score_min=float(low), score_max=float(high), sort="score_desc", outcome="errors"),
            # Inclusive bounds: an exact score taken from the data is kept by both.
            ExampleQuery(score_min=float(oracle.frame["score"].iloc[0]), score_max=float(oracle.frame["score"].iloc[0])),
        ]
    return queries


def test_queries_match_pandas(opened):
    dataset, oracle = opened
    numeric_ids = numeric(dataset)

    for query in sample_queries(dataset, oracle):
        page = find_examples(dataset, None, ExampleQuery(**{**query.__dict__, "page_size": WHOLE}))
        mask = oracle.mask(query)

        assert page.total == int(mask.sum()), query
        assert ids_of(page.frame) == oracle.ordered_ids(mask, query.sort, numeric_ids), query


def test_score_sort_pages_split_order(opened):
    dataset, oracle = opened
    if not dataset.has_score:
        pytest.skip("no score column")
    mask = oracle.mask(ExampleQuery())
    order = oracle.ordered_ids(mask, "score_desc", numeric(dataset))

    for number in (1, 2, 5):
        page = find_examples(dataset, None, ExampleQuery(sort="score_desc", page=number, page_size=40))

        assert ids_of(page.frame) == order[(number - 1) * 40 : number * 40]


def test_query_under_global_filter(dataset_config, expected_from_files):
    config = dataset_config("speech_commands")
    dataset, oracle = load_dataset(config), Oracle(config, expected_from_files(config))
    example_filter = parse_filter(dataset, ["attr:accent=irish"], ["tag:car_noise"])
    query = ExampleQuery(outcome="errors", tag="people_noise", page_size=WHOLE)
    mask = oracle.mask(query) & (oracle.expected.slice_values["accent"] == "irish") & ~oracle.expected.tag_flags["car_noise"]

    page = find_examples(dataset, example_filter, query)

    assert page.total == int(mask.sum())
    assert ids_of(page.frame) == oracle.ordered_ids(mask, "default", numeric_ids=False)


def test_metadata_columns_joined_for_page(dataset_config, expected_from_files):
    config = dataset_config("digits")
    dataset = load_dataset(config)
    oracle = Oracle(config, expected_from_files(config))
    metadata = oracle.metadata.frame.set_index("example_id")

    predictions = pd.read_csv(config.predictions, dtype={"example_id": str}).set_index("example_id")

    page = find_examples(dataset, None, ExampleQuery(outcome="errors", page=2, page_size=20), ["id", "image", "ink_level", "prob_3"])

    ids = ids_of(page.frame)
    assert list(page.frame.columns[-3:]) == ["image", "ink_level", "prob_3"]
    assert page.frame["image"].tolist() == metadata.loc[ids, "image"].tolist()
    assert page.frame["ink_level"].tolist() == metadata.loc[ids, "ink_level"].tolist()
    np.testing.assert_allclose(page.frame["prob_3"].to_numpy(dtype=float), predictions.loc[ids, "prob_3"].to_numpy(dtype=float))


def test_default_columns_lead_with_outcome(dataset_config):
    dataset = load_dataset(dataset_config("digits"))

    columns = default_columns(dataset, leading=["image"])

    assert columns == ["id", "label", "prediction", "score", "is_error", "tags", "image", "ink", "ink_level", "stroke_thickness", "stroke_level"]
    # The metadata file's own tag list column is named like the outcome column "tags".
    assert column_choices(dataset)["tags" + METADATA_SUFFIX] == ColumnSource(METADATA_TABLE, "tags")
    assert column_choices(dataset)["prob_3"] == ColumnSource(VIEW_TABLE, dataset.probabilities["3"])


def test_detail_has_every_column(dataset_config):
    dataset = load_dataset(dataset_config("digits"))
    metadata = pd.read_csv(dataset.config.metadata, dtype=str, keep_default_na=False).set_index("example_id")

    detail = example_detail(dataset, "1729")

    assert detail["label"] == "3"
    assert detail["prediction"] == "5"
    assert bool(detail["is_error"]) is True
    assert list(detail["metadata"]) == list(pd.read_csv(dataset.config.metadata, nrows=0).columns)
    assert detail["metadata"]["image"] == metadata.at["1729", "image"]
    assert example_detail(dataset, "no such id") is None


# Export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_matches_pandas(tmp_path, dataset_config, expected_from_files, file_format):
    config = dataset_config("speech_commands")
    dataset, oracle = load_dataset(config), Oracle(config, expected_from_files(config))
    query = ExampleQuery(outcome="errors", attribute="accent", value="irish", sort="score_desc", page=3, page_size=5)
    columns = ["id", "label", "prediction", "score", "tags", "accent", "device"]
    path = tmp_path / f"export.{file_format}"

    export_examples(dataset, None, query, columns, path, file_format)

    written = pd.read_csv(path, dtype=str, keep_default_na=False) if file_format == "csv" else pd.read_parquet(path)
    mask = oracle.mask(query)
    expected_ids = oracle.ordered_ids(mask, "score_desc", numeric_ids=False)
    metadata = oracle.metadata.frame.set_index("example_id")
    assert list(written.columns) == columns
    assert written["id"].tolist() == expected_ids
    assert written["device"].tolist() == metadata.loc[expected_ids, "device"].tolist()
    tags = oracle.expected.tag_flags.set_index(oracle.frame["id"])
    expected_tags = [";".join(name for name in oracle.expected.tags if tags.at[example, name]) for example in expected_ids]
    assert written["tags"].tolist() == expected_tags
    scores = oracle.frame.set_index("id").loc[expected_ids, "score"].to_numpy()
    np.testing.assert_allclose(written["score"].astype(float).to_numpy(), scores)


def test_export_rejects_unknown_format(tmp_path, dataset_config):
    dataset = load_dataset(dataset_config("digits"))

    with pytest.raises(InputError) as raised:
        export_examples(dataset, None, ExampleQuery(), ["id"], tmp_path / "x.xlsx", "xlsx")

    assert raised.value.message == "Unknown export format 'xlsx'."


# Hostile column names -------------------------------------------------------------------


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_hostile_names_query_and_export(tmp_path, form):
    predictions, metadata = write_frames(tmp_path, form)
    dataset = load_dataset(hostile_config(predictions, metadata))
    frame = expected_frame()
    hostile_columns = [name for name in frame.columns if name not in ("is_error",) and name in column_choices(dataset)]
    assert "Größe" in hostile_columns

    for attribute in dataset.attributes:
        value = frame[attribute.name].astype(str).value_counts().index[0]
        query = ExampleQuery(attribute=attribute.name, value=value, outcome="errors", page_size=WHOLE)
        mask = (frame[attribute.name].astype(str) == value) & frame["is_error"]

        page = find_examples(dataset, None, query, hostile_columns)

        assert page.total == int(mask.sum()), attribute.name
        assert ids_of(page.frame) == sorted(frame.loc[mask, ID]), attribute.name
        for column in hostile_columns:
            if column == ID:
                continue
            expected_values = frame.set_index(ID).loc[ids_of(page.frame), column].astype(str).tolist()
            assert page.frame[column].astype(str).tolist() == expected_values, column

    path = tmp_path / "export.csv"
    export_examples(dataset, None, ExampleQuery(), hostile_columns, path, "csv")
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(written.columns) == hostile_columns


def test_hostile_tag_filter(tmp_path):
    predictions, metadata = write_frames(tmp_path, "csv")
    dataset = load_dataset(hostile_config(predictions, metadata))
    frame = expected_frame()
    tag = dataset.tags[0]

    page = find_examples(dataset, None, ExampleQuery(tag=tag.name, tag_carried=False, page_size=WHOLE))

    carried = frame[tag.name].astype(bool) if tag.name in frame.columns else None
    assert carried is not None
    assert page.total == int((~carried).sum())


# Bad queries --------------------------------------------------------------------------------

BAD_QUERIES = [
    (ExampleQuery(outcome="wrong"), "Unknown outcome 'wrong'.", "Use one of all, errors, correct."),
    (ExampleQuery(sort="random"), "Unknown sort order 'random'.", "Use one of default, score_asc, score_desc."),
    (ExampleQuery(label="cat"), "No example has the class 'cat' (given as the label).", None),
    (ExampleQuery(prediction="cat"), "No example has the class 'cat' (given as the prediction).", None),
    (ExampleQuery(attribute="nowhere", value="x"), "Unknown attribute 'nowhere'.", None),
    (ExampleQuery(attribute="accent", value="martian"), "The attribute accent has no slice 'martian'.", None),
    (ExampleQuery(attribute="accent"), "A slice needs both an attribute and a value, got attribute 'accent' and value None.", None),
    (ExampleQuery(tag="no_tag"), "Unknown tag 'no_tag'.", "Known tags: car_noise, people_noise, low_bandwidth."),
    (ExampleQuery(score_min=0.9, score_max=0.1), "The minimum score 0.9 is above the maximum score 0.1.", "Swap the two bounds, or clear one of them."),
    (ExampleQuery(score_min=float("nan")), "A score bound must be a finite number, got nan.", None),
    (ExampleQuery(page=0), "The page must be a whole number of at least 1, got 0.", None),
]


@pytest.mark.parametrize(("query", "message", "hint"), BAD_QUERIES)
def test_bad_query_message(dataset_config, query, message, hint):
    dataset = load_dataset(dataset_config("speech_commands"))

    with pytest.raises(InputError) as raised:
        find_examples(dataset, None, query)

    assert raised.value.message == message
    if hint is not None:
        assert raised.value.hint == hint


def test_unknown_column_message(dataset_config):
    dataset = load_dataset(dataset_config("speech_commands"))

    with pytest.raises(InputError) as raised:
        find_examples(dataset, None, ExampleQuery(), ["id", "no such column"])

    assert raised.value.message == "The dataset has no column 'no such column'."


def test_score_filter_without_score(write_dataset):
    predictions = pd.DataFrame({"id": ["1", "2"], "label": ["a", "b"], "prediction": ["a", "a"]})
    dataset = load_dataset(write_dataset(predictions))

    for query in (ExampleQuery(score_min=0.5), ExampleQuery(sort="score_desc")):
        with pytest.raises(InputError) as raised:
            find_examples(dataset, None, query)

        assert raised.value.message == "This dataset has no score column, so examples cannot be chosen or sorted by score."


def test_metadata_named_like_outcome_is_not_shadowed(write_dataset):
    # The metadata file has its own "score" and "label" columns, which must not replace the outcome columns in filters.
    predictions = pd.DataFrame({"id": ["1", "2", "3"], "label": ["a", "b", "a"], "prediction": ["a", "a", "b"], "score": [0.9, 0.4, 0.2]})
    metadata = pd.DataFrame({"id": ["1", "2", "3"], "score": [0.0, 0.0, 0.0], "label": ["z", "z", "z"], "group": ["x", "y", "x"]})
    dataset = load_dataset(write_dataset(predictions, metadata))
    columns = list(column_choices(dataset))

    page = find_examples(dataset, None, ExampleQuery(label="a", score_min=0.5), columns)

    assert ids_of(page.frame) == ["1"]
    assert "score" + METADATA_SUFFIX in columns
    assert page.frame["score" + METADATA_SUFFIX].tolist() == [0.0]


def test_all_pages_cover_every_example_once(dataset_config):
    dataset = load_dataset(dataset_config("screening"))
    query = ExampleQuery(sort="score_asc", page_size=97)
    total = find_examples(dataset, None, query).total

    pages = [find_examples(dataset, None, ExampleQuery(sort="score_asc", page=number, page_size=97)) for number in range(1, -(-total // 97) + 1)]

    ids = list(itertools.chain.from_iterable(ids_of(page.frame) for page in pages))
    assert len(ids) == total
    assert len(set(ids)) == total
