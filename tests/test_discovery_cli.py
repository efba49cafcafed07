"""The command line of slice discovery: ``python -m analysis slices --discover``."""

from __future__ import annotations

import json

import pytest

from analysis import load_config, load_dataset
from analysis.cli import main
from analysis.discovery import DiscoverySettings, discover_slices
from analysis.filters import parse_filter

SPEECH = "sample_data/speech_commands"

TOP_LEVEL_KEYS = {"dataset", "metric", "overall", "settings", "filter", "candidates_evaluated", "levels", "slices", "notices"}
SLICE_KEYS = {
    "rank",
    "predicates",
    "description",
    "support",
    "errors",
    "metric_value",
    "ci_low",
    "ci_high",
    "gap_to_overall",
    "score",
    "p_value",
    "test",
    "adjusted_p_value",
    "flagged",
    "overlapping",
}
MEMBER_KEYS = {"predicates", "description", "support", "errors", "metric_value", "score", "jaccard", "containment"}


def run_discover(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["slices", "--discover", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_keys_and_planted_slice(capsys):
    code, out, err = run_discover(capsys, "--config", SPEECH, "--alpha", "0.99", "--top", "5", "--format", "json")
    result = json.loads(out)

    assert code == 0, err
    assert set(result) == TOP_LEVEL_KEYS
    assert set(result["slices"][0]) == SLICE_KEYS
    assert all(set(member) == MEMBER_KEYS for row in result["slices"] for member in row["overlapping"])
    descriptions = [row["description"] for row in result["slices"]]
    assert "accent = irish and device = smart_speaker" in descriptions[:3]


def test_json_equals_engine_with_filter(capsys):
    code, out, err = run_discover(
        capsys, "--config", SPEECH, "--max-predicates", "2", "--min-support", "50", "--top", "4", "--exclude", "tag:low_bandwidth", "--format", "json"
    )
    dataset = load_dataset(load_config(SPEECH))
    expected = discover_slices(
        dataset, DiscoverySettings(max_predicates=2, min_support=50, top=4), parse_filter(dataset, [], ["tag:low_bandwidth"])
    ).as_dict()

    assert code == 0, err
    assert {key: value for key, value in json.loads(out).items() if key != "dataset"} == expected
    assert expected["filter"]["exclude"] == ["tag:low_bandwidth"]


def test_text_output(capsys):
    code, out, err = run_discover(capsys, "--config", SPEECH, "--alpha", "0.99", "--top", "3")

    assert code == 0, err
    assert out.startswith("Slice discovery by error rate: overall 9.2% (1840 of 20000 examples)")
    assert "accent = irish and device = smart_speaker" in out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--max-predicates", "4"], "error: argument --max-predicates: expected a whole number from 1 to 3, got '4'."),
        (["--max-predicates", "two"], "error: argument --max-predicates: expected a whole number, got 'two'."),
        (["--min-support", "-1"], "error: argument --min-support: expected a whole number of at least 0, got '-1'."),
        (["--top", "0"], "error: argument --top: expected a whole number of at least 1, got '0'."),
        (["--alpha", "1.5"], "error: argument --alpha: expected a number above 0 and at most 1, got '1.5'."),
        (["--metric", "precision:yes"], "error: --discover searches by error_rate, fpr, fnr, not 'precision:yes'."),
        (["--attribute", "accent"], "error: --attribute does not apply to --discover, which searches every attribute and tag."),
        (["--by", "device"], "error: --by does not apply to --discover, which searches every attribute and tag."),
    ],
)
def test_invalid_option_one_line(capsys, arguments, message):
    with pytest.raises(SystemExit) as stopped:
        main(["slices", "--discover", "--config", SPEECH, *arguments])
    err = capsys.readouterr().err

    assert stopped.value.code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--min-support", "30000"], "error: The minimum support (30000) is larger than the 20000 examples the search covers."),
        (["--min-support", "0"], "error: The minimum support must be at least 1, got 0."),
        (["--top", "51"], "error: The number of slices to report must be between 1 and 50, got 51."),
        (["--metric", "fpr"], "error: The metric 'fpr' needs a binary task with a positive class."),
    ],
)
def test_bad_setting_exit_code(capsys, arguments, message):
    code, out, err = run_discover(capsys, "--config", SPEECH, *arguments)

    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


@pytest.mark.parametrize("option", ["--max-predicates=2", "--alpha=0.9", "--tag-absent", "--overlap=0.3", "--overlap-measure=jaccard"])
def test_discovery_option_needs_discover(capsys, option):
    with pytest.raises(SystemExit) as stopped:
        main(["slices", "--config", SPEECH, option])
    err = capsys.readouterr().err

    assert stopped.value.code == 2
    assert err.startswith(f"error: {option.split('=')[0]} applies only with --discover.")
