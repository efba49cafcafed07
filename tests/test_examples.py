"""Pages of examples (analysis.examples) against pandas, and the statistics.min_support setting.

The expected rows come from the oracle in oracle.py: the analysed examples
read with pandas, with each example's slice values and tag flags.
"""

from __future__ import annotations

import pandas as pd
import pytest
from oracle import REAL_DATASETS, SAMPLE_DATASETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_summary_generated import (
    classification_datasets,
    correct_flag_datasets,
    score_datasets,
)

from analysis import ConfigError, InputError, load_config, load_dataset
from analysis.engine import Engine
from analysis.examples import EXAMPLE_COLUMNS, example_page
from analysis.filters import parse_filter

# Each example writes and opens a dataset, and the summary tests already cover the loading rules at more examples.
GENERATED = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Large enough that one page contains every example of the sample datasets.
WHOLE = 100_000


@pytest.fixture(scope="module", params=[*SAMPLE_DATASETS, REAL_DATASETS[0]])
def opened(request, dataset_config, expected_from_files):
    config = dataset_config(request.param)
    return load_dataset(config), expected_from_files(config)


def expected_order(expected, mask: pd.Series, numeric_ids: bool) -> list[str]:
    """Return the ids under ``mask`` as the page orders them: errors first, then by id."""
    frame = expected.frame[mask].copy()
    frame["key"] = frame["id"].astype(int) if numeric_ids else frame["id"]
    return frame.sort_values(["is_error", "key"], ascending=[False, True])["id"].tolist()


def page_ids(page) -> list[str]:
    return [str(value) for value in page.frame["id"]]


def has_numeric_ids(dataset) -> bool:
    return pd.api.types.is_integer_dtype(example_page(dataset, page_size=1).frame["id"])


def everything(expected) -> pd.Series:
    return pd.Series(True, index=expected.frame.index)


# Sample and real datasets ------------------------------------------------------------


def test_all_examples_in_stable_order(opened):
    dataset, expected = opened

    page = example_page(dataset, page_size=WHOLE)

    assert page.total == expected.total
    assert page_ids(page) == expected_order(expected, everything(expected), has_numeric_ids(dataset))
    assert list(page.frame.columns[: len(EXAMPLE_COLUMNS)]) == list(EXAMPLE_COLUMNS)


def test_pages_split_the_order(opened):
    dataset, expected = opened
    order = expected_order(expected, everything(expected), has_numeric_ids(dataset))

    for number in (1, 2, 7):
        page = example_page(dataset, page=number, page_size=50)

        assert page_ids(page) == order[(number - 1) * 50 : number * 50]
        assert page.pages == -(-expected.total // 50)


def test_rows_carry_outcome_slices_and_tags(opened):
    dataset, expected = opened
    page = example_page(dataset, page_size=WHOLE)
    oracle = expected.frame.set_index("id")
    slices = expected.slice_values.set_index(expected.frame["id"])
    tags = expected.tag_flags.set_index(expected.frame["id"])
    ids = page_ids(page)

    assert page.frame["is_error"].tolist() == oracle.loc[ids, "is_error"].tolist()
    if dataset.has_classes:
        assert page.frame["label"].tolist() == oracle.loc[ids, "label"].tolist()
        assert page.frame["prediction"].tolist() == oracle.loc[ids, "prediction"].tolist()
    for alias, name in page.attribute_names.items():
        assert page.frame[alias].tolist() == slices.loc[ids, name].tolist(), name
    expected_tags = [[name for name in expected.tags if tags.at[example, name]] for example in ids]
    assert page.frame["tags"].tolist() == expected_tags


def test_each_slice_matches_pandas(opened):
    dataset, expected = opened
    numeric_ids = has_numeric_ids(dataset)

    for attribute in dataset.attributes:
        values = expected.slice_values[attribute.name]
        # The two largest and two smallest slices: the SQL is the same for every value, and COMPAS has many.
        by_size = values.value_counts().index.tolist()
        for value in dict.fromkeys(by_size[:2] + by_size[-2:]):
            mask = values == value
            errors = mask & expected.frame["is_error"]

            page = example_page(dataset, attribute=attribute.name, value=value, page_size=WHOLE)
            error_page = example_page(dataset, attribute=attribute.name, value=value, errors_only=True, page_size=WHOLE)

            assert page.total == int(mask.sum()), (attribute.name, value)
            assert page_ids(page) == expected_order(expected, mask, numeric_ids)
            assert error_page.total == int(errors.sum()), (attribute.name, value)
            assert page_ids(error_page) == expected_order(expected, errors, numeric_ids)


def test_errors_only_matches_pandas(opened):
    dataset, expected = opened

    page = example_page(dataset, errors_only=True, page_size=WHOLE)

    assert page.total == expected.errors
    assert page.frame["is_error"].all()
    assert page_ids(page) == expected_order(expected, expected.frame["is_error"], has_numeric_ids(dataset))


# The global filter ---------------------------------------------------------------------

FILTER_CASES = [
    ([], ["tag:car_noise"], None, lambda s, t: ~t["car_noise"]),
    (["tag:car_noise", "tag:people_noise"], [], None, lambda s, t: t["car_noise"] & t["people_noise"]),
    (["attr:accent=irish", "attr:accent=american"], [], ("gender", "female"), lambda s, t: s["accent"].isin(["irish", "american"]) & (s["gender"] == "female")),
    (["attr:accent=irish"], ["tag:low_bandwidth"], ("accent", "irish"), lambda s, t: (s["accent"] == "irish") & ~t["low_bandwidth"]),
    (["attr:accent=irish"], [], ("accent", "british"), lambda s, t: s["accent"] == "__none__"),
]


@pytest.fixture(scope="module")
def speech(dataset_config, expected_from_files):
    config = dataset_config("speech_commands")
    return load_dataset(config), expected_from_files(config)


@pytest.mark.parametrize(("keep", "exclude", "chosen", "select"), FILTER_CASES)
@pytest.mark.parametrize("errors_only", [False, True])
def test_filter_and_slice_match_pandas(speech, keep, exclude, chosen, select, errors_only):
    dataset, expected = speech
    mask = select(expected.slice_values, expected.tag_flags)
    if chosen is not None:
        mask &= expected.slice_values[chosen[0]] == chosen[1]
    if errors_only:
        mask &= expected.frame["is_error"]
    attribute, value = chosen if chosen is not None else (None, None)

    page = example_page(dataset, parse_filter(dataset, keep, exclude), attribute, value, errors_only, page_size=WHOLE)

    assert page.total == int(mask.sum())
    assert page_ids(page) == expected_order(expected, mask, numeric_ids=False)


# Generated datasets -----------------------------------------------------------------------


def check_generated(generated, write_generated_dataset, expected_from_files, data) -> None:
    predictions, metadata, options = generated
    config = write_generated_dataset(predictions, metadata, **options)
    dataset = load_dataset(config, Engine(threads=1))
    expected = expected_from_files(config)
    page_size = data.draw(st.integers(1, 7), label="page_size")

    order = expected_order(expected, everything(expected), numeric_ids=False)
    pages = [example_page(dataset, page=number, page_size=page_size) for number in range(1, -(-len(order) // page_size) + 1)]
    assert [example for page in pages for example in page_ids(page)] == order
    assert all(page.total == expected.total for page in pages)

    if dataset.attributes:
        attribute = data.draw(st.sampled_from([a.name for a in dataset.attributes]), label="attribute")
        value = data.draw(st.sampled_from(sorted(expected.slice_values[attribute].unique())), label="value")
        mask = (expected.slice_values[attribute] == value) & expected.frame["is_error"]
        page = example_page(dataset, attribute=attribute, value=value, errors_only=True, page_size=WHOLE)
        assert page.total == int(mask.sum())
        assert page_ids(page) == expected_order(expected, mask, numeric_ids=False)


@GENERATED
@given(generated=classification_datasets(), data=st.data())
def test_generated_classification_pages(generated, data, write_generated_dataset, expected_from_files):
    check_generated(generated, write_generated_dataset, expected_from_files, data)


@GENERATED
@given(generated=score_datasets(), data=st.data())
def test_generated_score_pages(generated, data, write_generated_dataset, expected_from_files):
    check_generated(generated, write_generated_dataset, expected_from_files, data)


@GENERATED
@given(generated=correct_flag_datasets(), data=st.data())
def test_generated_correct_flag_pages(generated, data, write_generated_dataset, expected_from_files):
    check_generated(generated, write_generated_dataset, expected_from_files, data)


# Bad requests ------------------------------------------------------------------------------


def test_page_past_the_end_is_empty(speech):
    dataset, expected = speech

    page = example_page(dataset, attribute="accent", value="irish", page=10_000, page_size=50)

    assert page.frame.empty
    assert page.total == int((expected.slice_values["accent"] == "irish").sum())
    assert page.first_position == 0


@pytest.mark.parametrize(("options", "message"), [
    ({"page": 0}, "The page must be a whole number of at least 1, got 0."),
    ({"page_size": 0}, "The page_size must be a whole number of at least 1, got 0."),
    ({"attribute": "accent"}, "A slice needs both an attribute and a value, got attribute 'accent' and value None."),
    ({"attribute": "no_such", "value": "x"}, "Unknown attribute 'no_such'."),
])
def test_bad_request_message(speech, options, message):
    dataset, _expected = speech

    with pytest.raises(InputError) as raised:
        example_page(dataset, **options)

    assert raised.value.message == message


def test_attribute_name_is_not_sql(write_dataset):
    predictions = pd.DataFrame({"id": ["1", "2", "3"], "label": ["a", "b", "a"], "prediction": ["a", "a", "a"]})
    metadata = pd.DataFrame({"id": ["1", "2", "3"], 'x" OR 1=1 --': ["p", "q", "q"], "group": ["'", "'", "x"]})
    dataset = load_dataset(write_dataset(predictions, metadata))

    quoted = example_page(dataset, attribute='x" OR 1=1 --', value="q")
    quote_value = example_page(dataset, attribute="group", value="'")

    assert page_ids(quoted) == ["2", "3"]
    assert page_ids(quote_value) == ["2", "1"]


# The min_support setting --------------------------------------------------------------------

MINIMAL = 'schema = 1\n[files]\npredictions = "predictions.csv"\n'


def test_min_support_default_and_file(tmp_path):
    (tmp_path / "dataset.toml").write_text(MINIMAL, encoding="utf-8")
    assert load_config(tmp_path).min_support == 30

    (tmp_path / "dataset.toml").write_text(MINIMAL + "[statistics]\nmin_support = 50\n", encoding="utf-8")
    assert load_config(tmp_path).min_support == 50


@pytest.mark.parametrize(("value", "expected"), [
    ("0", "statistics.min_support = 0 is too small."),
    ("2.5", "key 'statistics.min_support' must be an integer, got 2.5."),
])
def test_min_support_invalid_message(tmp_path, value, expected):
    (tmp_path / "dataset.toml").write_text(MINIMAL + f"[statistics]\nmin_support = {value}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)

    assert expected in raised.value.message
