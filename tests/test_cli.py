"""The command line: ``python -m analysis summary`` in JSON and text, flags over the dataset file, real data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_dataset, summarize
from analysis.cli import main
from analysis.filters import parse_filter
from analysis.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEECH = REPO_ROOT / "sample_data" / "speech_commands"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

OVERALL_KEYS = {"accuracy", "error_rate", "balanced_accuracy", "macro_f1", "weighted_f1"}
DROPPED_KEYS = {"unmatched_predictions", "unmatched_metadata", "missing_label", "missing_prediction"}
CLASS_KEYS = {"label", "support", "precision", "recall", "f1"}
PAIR_KEYS = {"label", "prediction", "count"}
IMBALANCE_KEYS = {"majority_class", "majority_share", "majority_class_accuracy", "warnings"}
SLICE_KEYS = {"column", "value", "count", "share", "accuracy", "error_rate", "ci_low", "ci_high", "gap_to_overall"}
TAG_KEYS = {"tag", "count", "share_of_data", "error_rate", "share_of_errors", "accuracy", "hlp", "room_for_improvement", "potential_gain"}


def run_process(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m analysis`` from the repository root, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_json(capsys, argv: list[str]) -> dict:
    code = main(["summary", *argv, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture(scope="module")
def speech_json() -> dict:
    completed = run_process("summary", "--config", "sample_data/speech_commands", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return json.loads(completed.stdout)


def test_json_top_level_keys(speech_json):
    expected = {"rows", "matched", "dropped", "overall", "classes", "confused_pairs", "imbalance", "slices", "tags", "notes"}

    assert expected <= set(speech_json)
    assert isinstance(speech_json["rows"], int)
    assert isinstance(speech_json["matched"], int)
    assert isinstance(speech_json["notes"], dict)


def test_json_nested_keys(speech_json):
    assert DROPPED_KEYS <= set(speech_json["dropped"])
    assert OVERALL_KEYS <= set(speech_json["overall"])
    assert IMBALANCE_KEYS <= set(speech_json["imbalance"])
    assert isinstance(speech_json["imbalance"]["warnings"], list)
    for row in speech_json["classes"]:
        assert CLASS_KEYS <= set(row)
    for row in speech_json["confused_pairs"]:
        assert PAIR_KEYS <= set(row)
    for row in speech_json["slices"]:
        assert SLICE_KEYS <= set(row)
    for row in speech_json["tags"]:
        assert TAG_KEYS <= set(row)


def test_json_matches_pandas(speech_json):
    predictions = pd.read_csv(SPEECH / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SPEECH / "metadata.csv", dtype={"example_id": str})
    errors = predictions["true_label"] != predictions["pred_label"]

    assert speech_json["rows"] == len(predictions)
    assert speech_json["matched"] == len(predictions)
    assert speech_json["overall"]["error_rate"] == pytest.approx(errors.mean())
    supports = {row["label"]: row["support"] for row in speech_json["classes"]}
    assert supports == predictions["true_label"].value_counts().to_dict()
    joined = predictions.assign(is_error=errors).merge(metadata, on="example_id")
    devices = {row["value"]: row for row in speech_json["slices"] if row["column"] == "device"}
    for device, group in joined.groupby("device"):
        assert devices[device]["count"] == len(group)
        assert devices[device]["error_rate"] == pytest.approx(group["is_error"].mean())
    tags = {row["tag"]: row for row in speech_json["tags"]}
    assert tags["car_noise"]["count"] == int(joined["car_noise"].sum())
    assert tags["car_noise"]["hlp"] == pytest.approx(0.93)


def test_json_confused_pairs_sorted(speech_json):
    counts = [pair["count"] for pair in speech_json["confused_pairs"]]

    assert counts == sorted(counts, reverse=True)
    assert all(pair["label"] != pair["prediction"] for pair in speech_json["confused_pairs"])


def test_text_output_process():
    completed = run_process("summary", "--config", "sample_data/speech_commands")

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    text = completed.stdout
    for heading in ("Dataset: Speech commands (sample)", "Overall", "Per class", "Most confused pairs", "Slices by device", "Tags", "What-if"):
        assert heading in text, heading
    assert "accuracy 90.8%" in text


def test_text_output_every_sample():
    for folder in ("digits", "screening", "diabetes_regression"):
        completed = run_process("summary", "--config", f"sample_data/{folder}")
        assert completed.returncode == 0, (folder, completed.stderr)
        assert completed.stdout.startswith("Dataset: "), folder


def test_score_mode_json_nulls(capsys):
    summary = run_json(capsys, ["--config", "sample_data/diabetes_regression"])

    assert summary["mode"] == "per_example_score"
    assert summary["classes"] is None
    assert summary["overall"]["balanced_accuracy"] is None
    assert "overall.balanced_accuracy" in summary["notes"]


def write_two_labels(folder: Path) -> Path:
    """Write a dataset whose file names one label column while a flag can choose the other."""
    (folder / "predictions.csv").write_text(
        "id,label,reviewed,prediction,alt_prediction\n1,a,b,a,b\n2,a,b,a,b\n3,b,b,b,b\n4,b,a,a,a\n",
        encoding="utf-8",
    )
    (folder / "metadata.csv").write_text("id,group,device\n1,x,p\n2,y,q\n3,x,p\n4,y,q\n", encoding="utf-8")
    (folder / "other_metadata.csv").write_text("id,site\n1,s1\n2,s1\n3,s2\n4,s2\n", encoding="utf-8")
    path = folder / "dataset.toml"
    path.write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n'
        '[columns]\nlabel = "reviewed"\n[slices]\nattributes = ["group"]\n',
        encoding="utf-8",
    )
    return path


def test_file_columns_used(tmp_path, capsys):
    path = write_two_labels(tmp_path)

    summary = run_json(capsys, ["--config", str(path)])

    assert summary["overall"]["errors"] == 2
    assert {row["column"] for row in summary["slices"]} == {"group"}


def test_flags_override_file(tmp_path, capsys):
    path = write_two_labels(tmp_path)

    summary = run_json(capsys, ["--config", str(path), "--label-col", "label", "--prediction-col", "alt_prediction", "--attributes", "device"])

    assert summary["overall"]["errors"] == 3
    assert {row["column"] for row in summary["slices"]} == {"device"}


def test_flag_overrides_file_path(tmp_path, capsys):
    path = write_two_labels(tmp_path)

    summary = run_json(capsys, ["--config", str(path), "--metadata", str(tmp_path / "other_metadata.csv"), "--attributes", "site"])

    assert {row["value"] for row in summary["slices"]} == {"s1", "s2"}


def test_flags_only_input(tmp_path, capsys):
    write_two_labels(tmp_path)

    summary = run_json(
        capsys,
        ["--predictions", str(tmp_path / "predictions.csv"), "--metadata", str(tmp_path / "metadata.csv"), "--label-col", "reviewed"],
    )

    assert summary["overall"]["errors"] == 2
    assert {row["column"] for row in summary["slices"]} == {"group", "device"}


def test_target_flag_what_if(capsys):
    summary = run_json(capsys, ["--config", str(SPEECH), "--target", "low_bandwidth=0.9"])

    assert summary["what_if"]["targets"] == {"low_bandwidth": 0.9}
    assert summary["what_if"]["accuracy_after"] > summary["what_if"]["accuracy_before"]


def test_target_out_of_range(capsys):
    code = main(["summary", "--config", str(SPEECH), "--target", "low_bandwidth=93"])
    captured = capsys.readouterr()

    assert code == 2
    assert "'low_bandwidth'" in captured.err
    assert "93" in captured.err


def test_unknown_lang_rejected(tmp_path, capsys):
    write_two_labels(tmp_path)

    with pytest.raises(SystemExit) as exited:
        main(["summary", "--predictions", str(tmp_path / "predictions.csv"), "--lang", "xx"])
    captured = capsys.readouterr()

    assert exited.value.code == 2
    assert "--lang" in captured.err
    assert "'xx'" in captured.err
    assert "vi" in captured.err


def test_usage_error_exit_code():
    completed = run_process("summary", "--format", "yaml")

    assert completed.returncode == 2
    assert "--format" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_help_lists_options():
    completed = run_process("summary", "--help")

    assert completed.returncode == 0
    for option in ("--config", "--predictions", "--metadata", "--id-col", "--label-col", "--prediction-col", "--tag-cols", "--format"):
        assert option in completed.stdout


# Real evaluation data kept outside the repository, run with flags only.


def shared_folder(name: str) -> Path:
    folder = SHARED_DATA / name
    if not (folder / "predictions.csv").is_file() or not (folder / "metadata.csv").is_file():
        pytest.skip(f"real data folder {folder} is not present")
    return folder


def run_shared(folder: Path) -> dict:
    completed = run_process(
        "summary",
        "--predictions", str(folder / "predictions.csv"),
        "--metadata", str(folder / "metadata.csv"),
        "--format", "json",
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def load_shared(folder: Path) -> pd.DataFrame:
    predictions = pd.read_csv(folder / "predictions.csv", dtype={"example_id": str, "true_label": str, "pred_label": str})
    metadata = pd.read_csv(folder / "metadata.csv", dtype={"example_id": str})
    joined = predictions.merge(metadata, on="example_id")
    joined["is_error"] = joined["true_label"] != joined["pred_label"]
    return joined


def assert_tags_match(summary: dict, joined: pd.DataFrame) -> None:
    tag_columns = [c for c in joined.columns if c.startswith("tag_")]
    rows = {row["tag"]: row for row in summary["tags"]}
    assert set(rows) == {*tag_columns, "(untagged)"}
    for name in tag_columns:
        mask = joined[name].astype(bool)
        assert rows[name]["count"] == int(mask.sum()), name
        assert rows[name]["errors"] == int(joined.loc[mask, "is_error"].sum()), name
    untagged = ~joined[tag_columns].astype(bool).any(axis=1)
    assert rows["(untagged)"]["count"] == int(untagged.sum())


def test_compas_flags_only():
    folder = shared_folder("compas")
    joined = load_shared(folder)

    summary = run_shared(folder)

    assert summary["matched"] == len(joined)
    assert sum(summary["dropped"].values()) == 0
    assert summary["overall"]["error_rate"] == pytest.approx(joined["is_error"].mean())
    assert [row["label"] for row in summary["classes"]] == ["0", "1"]
    races = {row["value"]: row for row in summary["slices"] if row["column"] == "race"}
    for race, group in joined.groupby("race"):
        assert races[race]["count"] == len(group), race
        assert races[race]["error_rate"] == pytest.approx(group["is_error"].mean()), race
    assert_tags_match(summary, joined)


def test_compas_wide_text_column_folded():
    folder = shared_folder("compas")
    joined = load_shared(folder)

    summary = run_shared(folder)

    charges = {row["value"]: row["count"] for row in summary["slices"] if row["column"] == "c_charge_desc"}
    top = joined["c_charge_desc"].value_counts().head(5)
    for value, count in top.items():
        assert charges[value] == count, value
    assert "(other)" in charges
    assert sum(charges.values()) == len(joined)


def test_cifar10_flags_only():
    folder = shared_folder("cifar10")
    joined = load_shared(folder)

    summary = run_shared(folder)

    assert summary["matched"] == len(joined)
    assert summary["overall"]["accuracy"] == pytest.approx(1 - joined["is_error"].mean())
    supports = {row["label"]: row["support"] for row in summary["classes"]}
    assert supports == joined["true_label"].value_counts().to_dict()
    assert_tags_match(summary, joined)
    zero_tag = next(row for row in summary["tags"] if row["tag"] == "tag_multi_label")
    assert zero_tag["count"] == 0
    assert zero_tag["error_rate"] is None


def test_cifar10_text_output():
    folder = shared_folder("cifar10")

    completed = run_process("summary", "--predictions", str(folder / "predictions.csv"), "--metadata", str(folder / "metadata.csv"))

    assert completed.returncode == 0, completed.stderr
    assert "Slices by cifar10h_majority_label" in completed.stdout
    assert "tag_label_error_confirmed" in completed.stdout


def test_filter_options_match_engine(capsys, dataset_config):
    argv = ["--config", str(SPEECH), "--keep", "attr:accent=irish", "--exclude", "tag:car_noise"]
    result = run_json(capsys, argv)
    dataset = load_dataset(dataset_config("speech_commands"))
    expected = summarize(dataset, example_filter=parse_filter(dataset, ["attr:accent=irish"], ["tag:car_noise"]))
    assert result["filter"]["keep"] == ["attr:accent=irish"]
    assert result["filter"]["exclude"] == ["tag:car_noise"]
    assert result["overall"] == expected["overall"]
    assert result["overall"]["examples"] < dataset.counts.total


def test_filter_text_output_names_filter(capsys):
    assert main(["summary", "--config", str(SPEECH), "--exclude", "tag:car_noise"]) == 0
    output = capsys.readouterr().out
    assert "Filter: without examples with tag car_noise (" in output


def test_unknown_filter_tag_exits_2(capsys):
    assert main(["summary", "--config", str(SPEECH), "--exclude", "tag:nope"]) == 2
    error = capsys.readouterr().err
    assert error.strip() == "error: The filter 'tag:nope' names no tag of this dataset. Known tags: car_noise, people_noise, low_bandwidth."


def test_workspace_hlp_used_by_summary(capsys, tmp_path):
    Workspace(tmp_path).set_hlp("speech_commands", {"car_noise": 0.99})
    result = run_json(capsys, ["--config", str(SPEECH), "--workspace", str(tmp_path)])
    rows = {row["tag"]: row for row in result["tags"]}
    assert rows["car_noise"]["hlp"] == 0.99
    assert rows["car_noise"]["room_for_improvement"] == pytest.approx(0.99 - rows["car_noise"]["accuracy"], abs=1e-12)
    plain = run_json(capsys, ["--config", str(SPEECH)])
    plain_rows = {row["tag"]: row for row in plain["tags"]}
    assert plain_rows["car_noise"]["hlp"] != 0.99
    assert rows["people_noise"]["hlp"] == plain_rows["people_noise"]["hlp"]


def test_workspace_missing_folder_exits_2(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    assert main(["summary", "--config", str(SPEECH), "--workspace", str(missing)]) == 2
    assert f"The workspace folder {missing} does not exist." in capsys.readouterr().err


def test_workspace_needs_config_exits_2(capsys, tmp_path):
    predictions = SPEECH / "predictions.csv"
    assert main(["summary", "--predictions", str(predictions), "--workspace", str(tmp_path)]) == 2
    assert "--workspace needs --config" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["summary"], ["slices"], ["slices", "--discover"]])
def test_filter_keeping_nothing_exits_2(capsys, command):
    argv = [*command, "--config", str(SPEECH), "--keep", "attr:accent=irish", "--keep", "attr:gender=(missing)", "--keep", "tag:car_noise", "--keep", "tag:low_bandwidth", "--keep", "tag:people_noise"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert "filter" in error
    assert len(error.strip().splitlines()) == 1
