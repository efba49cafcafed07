"""The command line ``python -m analysis slices``: JSON keys, options, exit codes and messages, real data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from analysis import load_dataset, summarize
from analysis.cli import main
from analysis.slice_analysis import analyse_slices, slice_groupings
from analysis.slice_metrics import parse_metric

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEECH = REPO_ROOT / "sample_data" / "speech_commands"
SCREENING = REPO_ROOT / "sample_data" / "screening"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

REPORT_KEYS = {"dataset", "metric", "filter", "settings", "overall", "slices_tested", "slices"}
SETTINGS_KEYS = {"confidence_level", "fdr_q", "min_gap", "min_support", "alpha", "power", "bootstrap_samples", "seed"}
SLICE_KEYS = {
    "predicates",
    "support",
    "examples",
    "value",
    "ci_low",
    "ci_high",
    "gap_to_overall",
    "p_value",
    "test",
    "p_adjusted",
    "flagged",
    "below_min_support",
    "detectable_gap",
    "support_needed",
    "guidance",
    "metrics",
    "notes",
}


def run_slices(capsys, argv: list[str]) -> dict:
    code = main(["slices", *argv, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def run_failing(capsys, argv: list[str]) -> str:
    """Run the slices command expecting exit code 2, and return its one-line message."""
    with pytest.raises(SystemExit) as raised:
        main(["slices", *argv])
    assert raised.value.code == 2
    return capsys.readouterr().err


def test_json_keys(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH)])

    assert set(report) == REPORT_KEYS
    assert set(report["settings"]) == SETTINGS_KEYS
    assert report["slices_tested"] == len(report["slices"])
    for row in report["slices"]:
        assert set(row) == SLICE_KEYS
        assert len(row["predicates"]) == 1


def test_json_strict_and_sorted(capsys):
    report = run_slices(capsys, ["--config", str(SCREENING), "--metric", "recall:covid"])

    json.dumps(report, allow_nan=False)
    flags = [row["flagged"] for row in report["slices"]]
    assert flags == sorted(flags, reverse=True)
    gaps = [row["gap_to_overall"] for row in report["slices"] if not row["flagged"] and row["gap_to_overall"] is not None]
    assert gaps == sorted(gaps, reverse=True)


def test_json_matches_summary_error_rates(capsys):
    slices = run_slices(capsys, ["--config", str(SPEECH)])["slices"]
    main(["summary", "--config", str(SPEECH), "--format", "json"])
    summary = json.loads(capsys.readouterr().out)

    expected = {(row["column"], row["value"]): row for row in summary["slices"]}
    for row in slices:
        predicate = row["predicates"][0]
        match = expected[(predicate["attribute"], predicate["value"])]
        assert row["support"] == match["count"]
        assert row["value"] == pytest.approx(match["error_rate"])
        assert row["ci_low"] == pytest.approx(match["ci_low"])


def test_top_keeps_worst(capsys):
    everything = run_slices(capsys, ["--config", str(SPEECH)])
    top = run_slices(capsys, ["--config", str(SPEECH), "--top", "3"])

    assert len(top["slices"]) == 3
    assert top["slices_tested"] == everything["slices_tested"]
    assert top["slices"] == everything["slices"][:3]


def test_attribute_repeatable(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH), "--attribute", "accent", "--attribute", "device"])

    names = {row["predicates"][0]["attribute"] for row in report["slices"]}
    assert names == {"accent", "device"}


def test_attribute_named_twice_counted_once(capsys):
    once = run_slices(capsys, ["--config", str(SPEECH), "--attribute", "accent"])
    twice = run_slices(capsys, ["--config", str(SPEECH), "--attribute", "accent", "--attribute", "accent"])

    assert twice["slices"] == once["slices"]


def test_min_support_overrides_setting(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH), "--min-support", "5000"])

    assert report["settings"]["min_support"] == 5000
    for row in report["slices"]:
        assert row["below_min_support"] == (row["support"] < 5000)
        if row["below_min_support"]:
            assert not row["flagged"]


def test_by_tag_gives_pairs(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH), "--attribute", "accent", "--by", "tag:car_noise"])

    for row in report["slices"]:
        assert [set(p) for p in row["predicates"]] == [{"attribute", "value"}, {"tag", "value"}]
    assert sum(row["examples"] for row in report["slices"]) == report["overall"]["support"]


def test_by_attribute_skips_itself(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH), "--by", "accent"])

    for row in report["slices"]:
        assert row["predicates"][1]["attribute"] == "accent"
        assert row["predicates"][0]["attribute"] != "accent"


def test_filter_recorded(capsys):
    report = run_slices(capsys, ["--config", str(SPEECH), "--exclude", "tag:car_noise"])

    assert report["filter"]["exclude"] == ["tag:car_noise"]
    assert "car_noise" in report["filter"]["description"]


def test_text_output(capsys):
    code = main(["slices", "--config", str(SCREENING), "--metric", "fnr"])
    out = capsys.readouterr().out

    assert code == 0
    assert "Metric: fnr" in out
    assert "Too small to judge" in out
    assert "can be told apart from noise" in out


def test_text_output_process():
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "slices", "--config", "sample_data/speech_commands", "--top", "5"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert "more slices tested" in completed.stdout


# ---------------------------------------------------------------- bad input: exit code 2 and a message


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--config", str(SPEECH), "--metric", "accuracy"], ["Unknown metric 'accuracy'", "recall:CLASS"]),
        (["--config", str(SPEECH), "--metric", "fpr"], ["binary tasks", "recall:CLASS"]),
        (["--config", str(SPEECH), "--metric", "recall:bird"], ["'bird'", "not a class"]),
        (["--config", str(SPEECH), "--attribute", "colour"], ["Unknown attribute 'colour'", "Known attributes"]),
        (["--config", str(SPEECH), "--by", "loudness"], ["Unknown attribute 'loudness'"]),
        (["--config", str(SPEECH), "--by", "tag:loud"], ["Unknown tag 'loud'"]),
        (["--config", str(SPEECH), "--attribute", "accent", "--by", "accent"], ["No attribute to cross with 'accent'"]),
        (["--config", str(SPEECH), "--exclude", "tag:nope"], ["nope"]),
        ([], ["No input given", "--config"]),
    ],
)
def test_bad_input_exit_2(capsys, argv, fragments):
    code = main(["slices", *argv])
    err = capsys.readouterr().err

    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


@pytest.mark.parametrize(
    "option, value, fragment",
    [
        ("--top", "0", "at least 1"),
        ("--top", "many", "whole number"),
        ("--min-support", "-1", "at least 0"),
        ("--format", "yaml", "invalid choice"),
    ],
)
def test_bad_option_usage_exit_2(capsys, option, value, fragment):
    err = run_failing(capsys, ["--config", str(SPEECH), option, value])

    assert fragment in err
    assert err.count("\n") == 1


def test_bad_statistics_setting_exit_2(tmp_path, capsys):
    text = (SPEECH / "dataset.toml").read_text(encoding="utf-8") + "\n[statistics]\nfdr_q = 5\n"
    for path in SPEECH.iterdir():
        if path.is_file() and path.name != "dataset.toml":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "dataset.toml").write_text(text, encoding="utf-8")

    code = main(["slices", "--config", str(tmp_path)])
    err = capsys.readouterr().err

    assert code == 2
    assert "statistics.fdr_q = 5.0" in err


# ---------------------------------------------------------------- real data


def test_compas_fpr_by_race(capsys):
    folder = SHARED_DATA / "compas"
    if not folder.is_dir():
        pytest.skip(f"real dataset folder {folder} not found beside the repository clone")
    argv = [
        "--predictions", str(folder / "predictions.csv"),
        "--metadata", str(folder / "metadata.csv"),
        "--label-col", "true_label",
        "--prediction-col", "pred_label",
        "--positive-class", "1",
        "--metric", "fpr",
        "--exclude", "tag:tag_propublica_filtered_out",
        "--attribute", "race",
    ]

    report = run_slices(capsys, argv)

    predictions = pd.read_csv(folder / "predictions.csv", dtype=str)
    metadata = pd.read_csv(folder / "metadata.csv", dtype=str)
    joined = predictions.merge(metadata, on="example_id")
    joined = joined[joined["tag_propublica_filtered_out"] != "True"]
    rows = {row["predicates"][0]["value"]: row for row in report["slices"]}
    for race, part in joined.groupby("race"):
        tn, fp, _fn, _tp = confusion_matrix(part["true_label"], part["pred_label"], labels=["0", "1"]).ravel()
        assert rows[race]["support"] == tn + fp, race
        assert rows[race]["value"] == pytest.approx(fp / (tn + fp)), race
    assert rows["African-American"]["value"] == pytest.approx(0.42, abs=0.01)
    assert rows["Caucasian"]["value"] == pytest.approx(0.22, abs=0.01)
    assert rows["African-American"]["flagged"]
    assert rows["Asian"]["below_min_support"]
    assert rows["Native American"]["below_min_support"]


def test_slice_order_matches_summary(write_dataset):
    predictions = pd.DataFrame({"id": range(8), "label": list("abababab"), "prediction": list("aabbabba")})
    metadata = pd.DataFrame({"id": range(8), "group": ["10", "2", "9", None, "10", "2", "9", None]})
    dataset = load_dataset(write_dataset(predictions, metadata))

    analysed = analyse_slices(dataset, parse_metric("error_rate", dataset), slice_groupings(dataset, ["group"], None))
    summary_values = [row["value"] for row in summarize(dataset)["slices"] if row["column"] == "group"]

    assert [row["predicates"][0]["value"] for row in analysed.slices] == summary_values
    assert summary_values == ["2", "9", "10", "(missing)"]
