"""The priority list (analysis.priority) against a pandas computation from the raw files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import InputError, load_dataset, summarize
from analysis.priority import default_target, priority_list

UNTAGGED = "(untagged)"


@pytest.fixture(scope="module")
def speech(dataset_config, expected_from_files):
    """The speech_commands summary's tag rows and the oracle built from the files."""
    config = dataset_config("speech_commands")
    return summarize(load_dataset(config))["tags"], expected_from_files(config)


def expected_priorities(expected, targets: dict[str, float], ease: dict[str, float], importance: dict[str, float]) -> pd.DataFrame:
    """Score each tag from the examples with pandas: share x max(target - accuracy, 0) x ease x importance."""
    flags = expected.tag_flags.copy()
    flags[UNTAGGED] = ~expected.tag_flags.any(axis=1)
    errors = expected.frame["is_error"].to_numpy()
    records = []
    for tag in flags.columns:
        carried = flags[tag].to_numpy()
        accuracy = 1 - errors[carried].mean()
        target = targets.get(tag, expected.hlp.get(tag, accuracy))
        gain = carried.mean() * max(target - accuracy, 0.0)
        records.append(
            {
                "tag": tag,
                "gain": gain,
                "score": gain * ease.get(tag, 1.0) * importance.get(tag, 1.0),
                "points_per_effort": 100 * gain * ease.get(tag, 1.0),
            }
        )
    return pd.DataFrame(records).set_index("tag")


def test_default_weights_rank_by_potential_gain(speech):
    rows, expected = speech

    ranked = priority_list(rows)

    oracle = expected_priorities(expected, {}, {}, {})
    assert [row["tag"] for row in ranked] == list(oracle["score"].sort_values(ascending=False, kind="stable").index)
    for row in ranked:
        assert row["score"] == pytest.approx(oracle.loc[row["tag"], "score"], abs=1e-12)
        assert row["potential_gain"] == pytest.approx(oracle.loc[row["tag"], "gain"], abs=1e-12)


def test_weights_and_targets_change_scores(speech):
    rows, expected = speech
    targets = {"car_noise": 0.99, "low_bandwidth": 0.9}
    ease = {"car_noise": 2.0, "people_noise": 0.5}
    importance = {"low_bandwidth": 1.5, UNTAGGED: 0.5}

    ranked = priority_list(rows, targets, ease, importance)

    oracle = expected_priorities(expected, targets, ease, importance)
    assert [row["rank"] for row in ranked] == [1, 2, 3, 4]
    assert [row["tag"] for row in ranked] == list(oracle["score"].sort_values(ascending=False).index)
    for row in ranked:
        assert row["score"] == pytest.approx(oracle.loc[row["tag"], "score"], abs=1e-12)
        assert row["points_per_effort"] == pytest.approx(oracle.loc[row["tag"], "points_per_effort"], abs=1e-10)
        assert row["ease"] == ease.get(row["tag"], 1.0)
        assert row["importance"] == importance.get(row["tag"], 1.0)


def test_target_below_accuracy_gives_zero(speech):
    rows, _expected = speech

    ranked = {row["tag"]: row for row in priority_list(rows, {"car_noise": 0.0})}

    assert ranked["car_noise"]["room_for_improvement"] < 0
    assert ranked["car_noise"]["potential_gain"] == 0
    assert ranked["car_noise"]["score"] == 0


def test_default_target_is_hlp_else_accuracy():
    assert default_target({"hlp": 0.9, "accuracy": 0.8}) == 0.9
    assert default_target({"hlp": None, "accuracy": 0.8}) == 0.8
    assert default_target({"hlp": math.nan, "accuracy": 0.8}) == 0.8
    assert default_target({"hlp": None, "accuracy": None}) is None


def test_tags_without_hlp_score_zero(dataset_config):
    rows = summarize(load_dataset(dataset_config("digits")))["tags"]

    ranked = priority_list(rows, ease={"faint": 2.0})

    assert all(row["score"] == 0 for row in ranked)
    assert all(row["target"] == row["accuracy"] for row in ranked)
    # Equal scores keep the table order.
    assert [row["tag"] for row in ranked] == [row["tag"] for row in rows]


def test_tag_without_examples_comes_last():
    rows = [
        {"tag": "empty", "count": 0, "share_of_data": 0.0, "accuracy": None, "hlp": 0.9},
        {"tag": "full", "count": 10, "share_of_data": 1.0, "accuracy": 0.5, "hlp": 0.6},
    ]

    ranked = priority_list(rows)

    assert [row["tag"] for row in ranked] == ["full", "empty"]
    assert ranked[1]["score"] is None
    assert ranked[1]["potential_gain"] is None
    assert ranked[0]["score"] == pytest.approx(0.1)


def test_ease_doubles_points_per_effort():
    rows = [{"tag": "a", "count": 4, "share_of_data": 0.5, "accuracy": 0.5, "hlp": 0.9}]

    plain = priority_list(rows)[0]
    easy = priority_list(rows, ease={"a": 2.0})[0]

    assert plain["points_per_effort"] == pytest.approx(20.0)
    assert easy["points_per_effort"] == pytest.approx(40.0)
    assert easy["score"] == pytest.approx(2 * plain["score"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"targets": {"car_noise": 1.2}}, "target accuracy 1.2 for tag 'car_noise' is not between 0 and 1"),
        ({"targets": {"car_noise": np.nan}}, "is not between 0 and 1"),
        ({"ease": {"car_noise": 0.4}}, "ease 0.4 for tag 'car_noise' is not between 0.5 and 2.0"),
        ({"importance": {"car_noise": 3}}, "importance 3 for tag 'car_noise' is not between 0.5 and 2.0"),
        ({"ease": {"no_such_tag": 1.0}}, "Unknown tag 'no_such_tag'"),
    ],
)
def test_invalid_selection_rejected(speech, arguments, message):
    rows, _expected = speech

    with pytest.raises(InputError) as raised:
        priority_list(rows, **arguments)

    assert message in raised.value.message
