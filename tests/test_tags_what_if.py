"""What-if estimates of analysis.tags.what_if against a brute-force pandas computation.

The brute force (ExpectedData.what_if in oracle.py) groups the examples
carrying any selected tag by which selected tags they carry, raises each
group to the highest target among its tags, and never lowers a group.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import InputError, load_dataset, summarize
from analysis.counting import count_examples
from analysis.engine import Engine
from analysis.tags import tag_table, what_if

SPEECH_TAGS = ("car_noise", "people_noise", "low_bandwidth")


@pytest.fixture(scope="module")
def speech(dataset_config, expected_from_files):
    """The speech_commands dataset, its counts and its oracle, loaded once."""
    config = dataset_config("speech_commands")
    dataset = load_dataset(config)
    return dataset, count_examples(dataset), expected_from_files(config)


@pytest.fixture
def overlapping(write_dataset, expected_from_files):
    """Ten examples with two overlapping tags: e0-e3 noisy, e2-e5 short, e2 and e3 carry both."""
    ids = [f"e{i}" for i in range(10)]
    predictions = pd.DataFrame(
        {
            "id": ids,
            "label": ["a", "a", "a", "b", "b", "b", "a", "b", "a", "b"],
            "prediction": ["b", "a", "b", "a", "b", "a", "a", "b", "a", "a"],
        }
    )
    metadata = pd.DataFrame(
        {
            "id": ids,
            "tag_noisy": [True, True, True, True, False, False, False, False, False, False],
            "tag_short": [False, False, True, True, True, True, False, False, False, False],
            "tag_unused": [False] * 10,
        }
    )
    config = write_dataset(predictions, metadata)
    dataset = load_dataset(config)
    return dataset, count_examples(dataset), expected_from_files(config)


def _assert_matches_brute_force(estimate, expected) -> None:
    assert estimate.examples_affected == expected["examples_affected"]
    assert estimate.accuracy_before == pytest.approx(expected["accuracy_before"], abs=1e-12)
    assert estimate.accuracy_after == pytest.approx(expected["accuracy_after"], abs=1e-12)
    assert estimate.gain == pytest.approx(expected["gain"], abs=1e-12)


# ---------------------------------------------------------------- single tags


@pytest.mark.parametrize("tag", SPEECH_TAGS)
def test_single_tag_gain_is_share_times_room(speech, tag):
    dataset, counts, expected = speech
    carried = expected.tag_flags[tag]
    share = carried.mean()
    accuracy = 1 - expected.frame.loc[carried.to_numpy(), "is_error"].mean()
    target = dataset.hlp[tag]
    estimate = what_if(dataset, counts, {tag: target})
    assert estimate.gain == pytest.approx(share * max(target - accuracy, 0.0), abs=1e-12)


@pytest.mark.parametrize("tag", SPEECH_TAGS)
def test_single_tag_gain_equals_potential_gain(speech, tag):
    dataset, counts, _expected = speech
    rows = {row["tag"]: row for row in summarize(dataset)["tags"]}
    estimate = what_if(dataset, counts, {tag: dataset.hlp[tag]})
    assert estimate.gain == pytest.approx(rows[tag]["potential_gain"], abs=1e-12)


@pytest.mark.parametrize("tag", SPEECH_TAGS)
def test_single_tag_affects_its_examples(speech, tag):
    dataset, counts, expected = speech
    estimate = what_if(dataset, counts, {tag: 1.0})
    assert estimate.examples_affected == int(expected.tag_flags[tag].sum())


# ---------------------------------------------------------------- sets of tags


def test_speech_hlp_targets_match_brute_force(speech):
    dataset, counts, expected = speech
    targets = {tag: dataset.hlp[tag] for tag in SPEECH_TAGS}
    _assert_matches_brute_force(what_if(dataset, counts, targets), expected.what_if(targets))


def test_speech_perfect_targets_match_brute_force(speech):
    dataset, counts, expected = speech
    targets = {"car_noise": 1.0, "low_bandwidth": 0.95}
    _assert_matches_brute_force(what_if(dataset, counts, targets), expected.what_if(targets))


def test_overlapping_tags_match_brute_force(overlapping):
    dataset, counts, expected = overlapping
    targets = {"tag_noisy": 1.0, "tag_short": 0.75}
    _assert_matches_brute_force(what_if(dataset, counts, targets), expected.what_if(targets))


def test_overlapping_tags_count_once(overlapping):
    dataset, counts, _expected = overlapping
    estimate = what_if(dataset, counts, {"tag_noisy": 1.0, "tag_short": 1.0})
    assert estimate.examples_affected == 6


def test_overlapping_gain_below_sum_of_singles(overlapping):
    # The wrong e2 and e3 carry both tags: fixing them counts once, not once per tag.
    dataset, counts, _expected = overlapping
    both = what_if(dataset, counts, {"tag_noisy": 1.0, "tag_short": 1.0}).gain
    noisy = what_if(dataset, counts, {"tag_noisy": 1.0}).gain
    short = what_if(dataset, counts, {"tag_short": 1.0}).gain
    assert both < noisy + short


def test_overlap_takes_highest_target(overlapping):
    # The wrong e0 (noisy only) and e2, e3 (both tags) reach 1.0. With the lower target 0.0, only e0 would.
    dataset, counts, _expected = overlapping
    estimate = what_if(dataset, counts, {"tag_noisy": 1.0, "tag_short": 0.0})
    assert estimate.gain == pytest.approx(3 / 10, abs=1e-12)


def test_tag_without_examples_changes_nothing(overlapping):
    dataset, counts, _expected = overlapping
    estimate = what_if(dataset, counts, {"tag_unused": 1.0})
    assert estimate.examples_affected == 0
    assert estimate.gain == 0


def test_empty_targets_change_nothing(overlapping):
    dataset, counts, _expected = overlapping
    estimate = what_if(dataset, counts, {})
    assert estimate.accuracy_after == estimate.accuracy_before


def test_target_below_accuracy_keeps_accuracy(speech):
    dataset, counts, _expected = speech
    estimate = what_if(dataset, counts, {tag: 0.0 for tag in SPEECH_TAGS})
    assert estimate.accuracy_after == pytest.approx(estimate.accuracy_before, abs=1e-12)


def test_summary_what_if_uses_given_targets(speech):
    dataset, counts, _expected = speech
    targets = {"people_noise": 0.97}
    block = summarize(dataset, targets=targets)["what_if"]
    estimate = what_if(dataset, counts, targets)
    assert block["targets"] == targets
    assert block["accuracy_after"] == pytest.approx(estimate.accuracy_after, abs=1e-12)


# ---------------------------------------------------------------- invalid input


@pytest.mark.parametrize("target", [1.5, -0.1, float("nan")])
def test_target_outside_unit_interval_raises(overlapping, target):
    dataset, counts, _expected = overlapping
    with pytest.raises(InputError) as raised:
        what_if(dataset, counts, {"tag_noisy": target})
    assert "tag_noisy" in raised.value.message
    assert "between 0 and 1" in raised.value.message


def test_target_error_shows_value(overlapping):
    dataset, counts, _expected = overlapping
    with pytest.raises(InputError, match="1.5"):
        what_if(dataset, counts, {"tag_noisy": 1.5})


def test_unknown_tag_raises(overlapping):
    dataset, counts, _expected = overlapping
    with pytest.raises(InputError) as raised:
        what_if(dataset, counts, {"tag_missing": 0.9})
    assert "Unknown tag 'tag_missing'" in raised.value.message
    assert "tag_noisy" in raised.value.hint


# ---------------------------------------------------------------- generated tag sets


@st.composite
def tagged_examples(draw):
    """Return (predictions, metadata, targets) with 1-40 examples, 1-4 overlapping tags and targets for some."""
    n = draw(st.integers(1, 40))
    tag_count = draw(st.integers(1, 4))
    ids = [f"x{i}" for i in range(n)]
    labels = draw(st.lists(st.sampled_from("ab"), min_size=n, max_size=n))
    correct = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    other = {"a": "b", "b": "a"}
    predictions = [label if right else other[label] for label, right in zip(labels, correct)]
    metadata = {"id": ids}
    for index in range(tag_count):
        metadata[f"tag_{index}"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    chosen = draw(st.lists(st.sampled_from([f"tag_{i}" for i in range(tag_count)]), min_size=1, unique=True))
    targets = {name: draw(st.integers(0, 100)) / 100 for name in chosen}
    return (
        pd.DataFrame({"id": ids, "label": labels, "prediction": predictions}),
        pd.DataFrame(metadata),
        targets,
    )


@settings(max_examples=30, deadline=None)
@given(case=tagged_examples())
def test_generated_what_if_matches_brute_force(case, write_generated_dataset, expected_from_files):
    predictions, metadata, targets = case
    config = write_generated_dataset(predictions, metadata)
    dataset = load_dataset(config, Engine(threads=1))
    estimate = what_if(dataset, count_examples(dataset), targets)
    _assert_matches_brute_force(estimate, expected_from_files(config).what_if(targets))


@settings(max_examples=30, deadline=None)
@given(case=tagged_examples())
def test_generated_what_if_never_lowers_accuracy(case, write_generated_dataset):
    predictions, metadata, targets = case
    dataset = load_dataset(write_generated_dataset(predictions, metadata), Engine(threads=1))
    estimate = what_if(dataset, count_examples(dataset), targets)
    assert estimate.accuracy_after >= estimate.accuracy_before


def test_what_if_accepts_untagged_target(speech):
    dataset, counts, _expected = speech
    untagged = next(row for row in tag_table(dataset, counts) if row["tag"] == "(untagged)")

    estimate = what_if(dataset, counts, {"(untagged)": 0.95})

    assert estimate.examples_affected == untagged["count"]
    assert estimate.gain == pytest.approx(untagged["potential_gain"], abs=1e-12)
