"""The global filter (analysis.filters) against pandas masks over the oracle's examples."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from analysis import InputError, load_dataset, summarize
from analysis.filters import ExampleFilter, filter_choices, parse_condition, parse_filter
from summary_keys import TAG_NUMBERS


@pytest.fixture(scope="module")
def speech(dataset_config, expected_from_files):
    config = dataset_config("speech_commands")
    return load_dataset(config), expected_from_files(config)


def restrict(expected, mask):
    """Return the oracle's data for the examples where ``mask`` is true."""
    return dataclasses.replace(
        expected,
        frame=expected.frame[mask],
        slice_values=expected.slice_values[mask],
        tag_flags=expected.tag_flags[mask],
    )


CASES = [
    ([], ["tag:car_noise"], lambda s, t: ~t["car_noise"]),
    (["tag:car_noise"], [], lambda s, t: t["car_noise"]),
    (["tag:car_noise", "tag:people_noise"], [], lambda s, t: t["car_noise"] & t["people_noise"]),
    (["attr:accent=irish", "attr:accent=american"], [], lambda s, t: s["accent"].isin(["irish", "american"])),
    (["attr:accent=irish"], ["tag:low_bandwidth", "attr:gender=(missing)"], lambda s, t: (s["accent"] == "irish") & ~t["low_bandwidth"] & (s["gender"] != "(missing)")),
]


@pytest.mark.parametrize(("keep", "exclude", "select"), CASES)
def test_filtered_summary_matches_pandas(speech, keep, exclude, select):
    dataset, expected = speech
    kept = restrict(expected, select(expected.slice_values, expected.tag_flags))
    summary = summarize(dataset, example_filter=parse_filter(dataset, keep, exclude))

    assert summary["overall"]["examples"] == kept.total
    assert summary["overall"]["errors"] == kept.errors
    frame = kept.frame
    assert summary["overall"]["accuracy"] == pytest.approx(accuracy_score(frame["label"], frame["prediction"]), abs=1e-12)
    classes = summary["confusion_matrix"]["classes"]
    assert summary["confusion_matrix"]["counts"] == confusion_matrix(frame["label"], frame["prediction"], labels=classes).tolist()
    for row, oracle in zip(summary["tags"], kept.tag_rows()):
        assert row["tag"] == oracle["tag"]
        for key in TAG_NUMBERS:
            value = math.nan if row[key] is None else row[key]
            assert value == pytest.approx(oracle[key], abs=1e-12, nan_ok=True), (row["tag"], key)
    assert summary["filter"]["keep"] == keep
    assert summary["filter"]["exclude"] == exclude


def test_empty_filter_keeps_everything(speech):
    dataset, expected = speech
    assert not ExampleFilter()
    assert ExampleFilter().where(dataset) == ("true", ())
    assert summarize(dataset, example_filter=ExampleFilter())["overall"]["examples"] == expected.total


def test_choices_cover_tags_and_values(speech):
    dataset, expected = speech
    texts = {choice.as_text() for choice in filter_choices(dataset)}
    for tag in expected.tags:
        assert f"tag:{tag}" in texts
    for value in expected.slice_values["accent"].unique():
        assert f"attr:accent={value}" in texts


def test_condition_text_round_trip(speech):
    dataset, _expected = speech
    for choice in filter_choices(dataset):
        assert parse_condition(dataset, choice.as_text()) == choice


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tag:no_such_tag", "The filter 'tag:no_such_tag' names no tag of this dataset."),
        ("attr:accent=martian", "The filter 'attr:accent=martian' names no value of the attribute 'accent'."),
        ("attr:planet=mars", "The filter 'attr:planet=mars' names no attribute of this dataset."),
        ("car_noise", "The filter 'car_noise' is not understood."),
    ],
)
def test_invalid_condition_message(speech, text, message):
    dataset, _expected = speech
    with pytest.raises(InputError) as raised:
        parse_condition(dataset, text)
    assert raised.value.message == message
    assert raised.value.hint


def test_attribute_name_with_equals_sign(write_dataset):
    predictions = pd.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "b", "b"], "prediction": ["a", "b", "b", "b"]})
    metadata = pd.DataFrame({"id": [1, 2, 3, 4], "x=y": ["p", "q=r", "p", "q=r"], "x": ["q", "q", "s", "s"]})
    dataset = load_dataset(write_dataset(predictions, metadata))
    condition = parse_condition(dataset, "attr:x=y=q=r")
    assert (condition.name, condition.value) == ("x=y", "q=r")
    summary = summarize(dataset, example_filter=parse_filter(dataset, ["attr:x=y=q=r"], []))
    assert summary["overall"]["examples"] == 2
    assert summary["overall"]["errors"] == 1


def test_filter_keeping_nothing_rejected(speech):
    dataset, _expected = speech
    empty = parse_filter(dataset, [], ["attr:gender=female", "attr:gender=male", "attr:gender=(missing)"])

    with pytest.raises(InputError) as raised:
        summarize(dataset, example_filter=empty)

    assert raised.value.message.startswith("The filter keeps no example: without examples with gender = female")
    assert "Remove a condition" in raised.value.hint
