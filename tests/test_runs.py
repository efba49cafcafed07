"""Runs: fingerprints, logging, comparisons against pandas, scikit-learn and statsmodels, and the log-run and compare commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_recall_fscore_support
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from analysis import load_config, load_dataset
from analysis.cli import main
from analysis.fingerprints import dataset_version, predictions_fingerprint
from analysis.run_compare import EXACT_BELOW, compare_runs, mcnemar_test, run_metrics
from analysis.runs import MAJORITY_CLASS, load_runs, log_run, open_run_file
from analysis.tag_overlay import apply_tag_edits
from analysis.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEECH = REPO_ROOT / "sample_data" / "speech_commands"
TAGS = ["car_noise", "people_noise", "low_bandwidth"]
ATTRIBUTES = ["gender", "age_group", "accent", "device"]


@pytest.fixture
def speech(tmp_path) -> Path:
    """Copy the speech sample to ``data/speech_commands`` under tmp_path and return the folder."""
    folder = tmp_path / "data" / "speech_commands"
    shutil.copytree(SPEECH, folder)
    return folder


@pytest.fixture
def workspace_folder(tmp_path) -> Path:
    return tmp_path / "workspace"


def sample_runs() -> pd.DataFrame:
    return pd.read_parquet(SPEECH / "runs.parquet")


def write_run(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def run_frame(run: str) -> pd.DataFrame:
    runs = sample_runs()
    return runs[runs["run"] == run][["example_id", "pred_label"]].reset_index(drop=True)


def truth() -> pd.DataFrame:
    """Return the speech examples with labels, attributes and tags, read with pandas."""
    predictions = pd.read_csv(SPEECH / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SPEECH / "metadata.csv", dtype={"example_id": str})
    return predictions[["example_id", "true_label"]].merge(metadata, on="example_id")


# ---------------------------------------------------------------- fingerprints


def test_version_same_across_formats_and_order(speech):
    before = dataset_version(load_dataset(load_config(speech)))

    predictions = pd.read_csv(speech / "predictions.csv", dtype={"example_id": str, "true_label": str, "pred_label": str})
    metadata = pd.read_csv(speech / "metadata.csv", dtype={"example_id": str})
    predictions.sample(frac=1, random_state=3).to_parquet(speech / "predictions.parquet", index=False)
    metadata.sample(frac=1, random_state=4)[list(reversed(metadata.columns))].to_parquet(speech / "metadata.parquet", index=False)
    toml = (speech / "dataset.toml").read_text(encoding="utf-8")
    toml = toml.replace('"predictions.csv"', '"predictions.parquet"').replace('"metadata.csv"', '"metadata.parquet"')
    (speech / "dataset.toml").write_text(toml, encoding="utf-8")
    after = dataset_version(load_dataset(load_config(speech)))

    assert after == before
    assert before.examples == 20_000


def test_version_independent_of_predictions(speech):
    before = dataset_version(load_dataset(load_config(speech)))
    predictions = pd.read_csv(speech / "predictions.csv", dtype=str)
    predictions["pred_label"] = "unknown"
    predictions.to_csv(speech / "predictions.csv", index=False)

    assert dataset_version(load_dataset(load_config(speech))) == before


@pytest.mark.parametrize("row", [0, 7_345, 19_999])
def test_label_edit_changes_version(speech, row):
    before = dataset_version(load_dataset(load_config(speech)))
    predictions = pd.read_csv(speech / "predictions.csv", dtype=str)
    predictions.loc[row, "true_label"] = "yes" if predictions.loc[row, "true_label"] != "yes" else "no"
    predictions.to_csv(speech / "predictions.csv", index=False)
    after = dataset_version(load_dataset(load_config(speech)))

    assert after.version != before.version
    assert after.labels != before.labels
    assert after.metadata == before.metadata
    assert after.tags == before.tags


def test_metadata_edit_changes_only_metadata_part(speech):
    before = dataset_version(load_dataset(load_config(speech)))
    metadata = pd.read_csv(speech / "metadata.csv", dtype={"example_id": str})
    metadata.loc[5, "device"] = "car_kit"
    metadata.to_csv(speech / "metadata.csv", index=False)
    after = dataset_version(load_dataset(load_config(speech)))

    assert after.version != before.version
    assert after.metadata != before.metadata
    assert after.labels == before.labels
    assert after.tags == before.tags


def test_workspace_tag_edit_changes_tags_part(speech, workspace_folder):
    dataset = load_dataset(load_config(speech))
    before = dataset_version(dataset)
    workspace = Workspace(workspace_folder)
    workspace.set_tag("speech_commands", "car_noise", ["utt_00002"], True, dataset.file_tag_names)
    after = dataset_version(apply_tag_edits(dataset, workspace.tag_edits("speech_commands")))

    assert after.version != before.version
    assert after.tags != before.tags
    assert after.labels == before.labels
    assert after.metadata == before.metadata


def test_predictions_fingerprint_same_across_formats_and_order(speech):
    dataset = load_dataset(load_config(speech))
    frame = run_frame("more_data")
    csv_file = open_run_file(dataset, write_run(speech, "more_data.csv", frame))
    parquet_file = open_run_file(dataset, write_run(speech, "more_data.parquet", frame.sample(frac=1, random_state=1)))

    csv_fingerprint = predictions_fingerprint(dataset.engine, f"({csv_file.select})", list(csv_file.params))
    parquet_fingerprint = predictions_fingerprint(dataset.engine, f"({parquet_file.select})", list(parquet_file.params))
    assert csv_fingerprint == parquet_fingerprint


def test_predictions_fingerprint_changed_by_one_prediction(speech):
    dataset = load_dataset(load_config(speech))
    frame = run_frame("more_data")
    first = open_run_file(dataset, write_run(speech, "first.csv", frame))
    frame.loc[10, "pred_label"] = "go" if frame.loc[10, "pred_label"] != "go" else "no"
    second = open_run_file(dataset, write_run(speech, "second.csv", frame))

    fingerprints = [predictions_fingerprint(dataset.engine, f"({run.select})", list(run.params)) for run in (first, second)]
    assert fingerprints[0] != fingerprints[1]


def test_logged_run_matches_file_run(speech, workspace_folder):
    dataset = load_dataset(load_config(speech))
    workspace = Workspace(workspace_folder)
    path = write_run(speech.parent, "augment.csv", run_frame("car_noise_augment"))
    logged = log_run(dataset, workspace, "speech_commands", path, "augment_again", {"lr": "0.1"}, "notes")
    catalog = load_runs(dataset, workspace, "speech_commands")

    from_file = catalog.run("car_noise_augment")
    assert logged.record.predictions_fingerprint == from_file.predictions_fingerprint
    assert logged.record.dataset_version == from_file.dataset_version == catalog.current.version
    assert logged.covered == 20_000
    assert catalog.run("augment_again").params == {"lr": "0.1"}
    assert catalog.names[0] == MAJORITY_CLASS


# ---------------------------------------------------------------- comparisons against independent computations


@pytest.mark.parametrize(("fixed", "broken"), [(0, 0), (3, 9), (12, 12), (57, 4), (200, 150)])
def test_mcnemar_matches_statsmodels(fixed, broken):
    p_value, test = mcnemar_test(fixed, broken)
    exact = fixed + broken < EXACT_BELOW
    expected = mcnemar(np.array([[40, broken], [fixed, 30]]), exact=exact, correction=True).pvalue

    assert p_value == pytest.approx(expected, rel=1e-12)
    assert test == ("mcnemar_exact" if exact else "mcnemar_chi_square")


@pytest.fixture(scope="module")
def sample_comparison():
    dataset = load_dataset(load_config(SPEECH))
    catalog = load_runs(dataset, None, None)
    return catalog, compare_runs(catalog, "more_data", "car_noise_augment")


def paired_truth() -> pd.DataFrame:
    runs = sample_runs().pivot(index="example_id", columns="run", values="pred_label")
    frame = truth().set_index("example_id").join(runs)
    frame["ok_a"] = frame["more_data"] == frame["true_label"]
    frame["ok_b"] = frame["car_noise_augment"] == frame["true_label"]
    return frame


def expected_group(frame: pd.DataFrame) -> dict:
    return {
        "examples": len(frame),
        "accuracy_a": frame["ok_a"].mean(),
        "accuracy_b": frame["ok_b"].mean(),
        "fixed": int((~frame["ok_a"] & frame["ok_b"]).sum()),
        "broken": int((frame["ok_a"] & ~frame["ok_b"]).sum()),
    }


def assert_group(group, expected: dict) -> None:
    assert group.examples == expected["examples"]
    assert group.accuracy_a == pytest.approx(expected["accuracy_a"])
    assert group.accuracy_b == pytest.approx(expected["accuracy_b"])
    assert group.delta == pytest.approx(expected["accuracy_b"] - expected["accuracy_a"])
    assert group.fixed == expected["fixed"]
    assert group.broken == expected["broken"]


def test_overall_delta_matches_pandas(sample_comparison):
    _catalog, comparison = sample_comparison
    frame = paired_truth()
    assert_group(comparison.overall, expected_group(frame))
    assert comparison.macro_f1_a == pytest.approx(f1_score(frame["true_label"], frame["more_data"], average="macro"))
    assert comparison.macro_f1_b == pytest.approx(f1_score(frame["true_label"], frame["car_noise_augment"], average="macro"))
    assert comparison.balanced_accuracy_b == pytest.approx(balanced_accuracy_score(frame["true_label"], frame["car_noise_augment"]))


def test_class_deltas_match_scikit_learn(sample_comparison):
    _catalog, comparison = sample_comparison
    frame = paired_truth()
    classes = sorted(frame["true_label"].unique())
    precision_b, recall_b, f1_b, _support = precision_recall_fscore_support(
        frame["true_label"], frame["car_noise_augment"], labels=classes, zero_division=np.nan
    )
    by_class = {group.group: group for group in comparison.classes}

    assert sorted(by_class) == classes
    for index, name in enumerate(classes):
        group = by_class[name]
        assert_group(group, expected_group(frame[frame["true_label"] == name]))
        assert group.accuracy_b == pytest.approx(recall_b[index])
        assert group.precision_b == pytest.approx(precision_b[index])
        assert group.f1_b == pytest.approx(f1_b[index])


def test_slice_and_tag_deltas_match_pandas(sample_comparison):
    _catalog, comparison = sample_comparison
    frame = paired_truth()
    slices = {(group.attribute, group.value): group for group in comparison.slices}
    for attribute in ATTRIBUTES:
        values = frame[attribute].fillna("(missing)")
        for value in values.unique():
            assert_group(slices[(attribute, value)], expected_group(frame[values == value]))
    tags = {group.group: group for group in comparison.tags}
    for tag in TAGS:
        assert_group(tags[tag], expected_group(frame[frame[tag]]))


def test_p_values_match_statsmodels_with_holm(sample_comparison):
    _catalog, comparison = sample_comparison
    groups = comparison.groups
    expected = []
    for group in groups:
        table = [[group.correct_a - group.broken, group.broken], [group.fixed, group.examples - group.correct_a - group.fixed]]
        expected.append(mcnemar(np.array(table), exact=group.fixed + group.broken < EXACT_BELOW, correction=True).pvalue)
    reject, adjusted, _sidak, _bonferroni = multipletests(expected, alpha=0.05, method="holm")

    assert [group.p_value for group in groups] == pytest.approx(expected)
    assert [group.p_adjusted for group in groups] == pytest.approx(list(adjusted))
    assert [group.significant for group in groups] == list(reject)


def test_sample_shows_car_noise_fixed_low_bandwidth_broken(sample_comparison):
    _catalog, comparison = sample_comparison
    tags = {group.group: group for group in comparison.tags}

    assert tags["car_noise"].significant
    assert tags["car_noise"].fixed > 10 * tags["car_noise"].broken
    assert tags["low_bandwidth"].significant
    assert tags["low_bandwidth"].broken > 3 * tags["low_bandwidth"].fixed
    assert not tags["people_noise"].significant
    assert not comparison.overall.significant
    assert comparison.versions == []


def test_run_metrics_match_scikit_learn(sample_comparison):
    catalog, _comparison = sample_comparison
    metrics = run_metrics(catalog).set_index("run")
    frame = paired_truth()

    for run in ("more_data", "car_noise_augment"):
        assert metrics.at[run, "examples"] == 20_000
        assert metrics.at[run, "accuracy"] == pytest.approx((frame[run] == frame["true_label"]).mean())
        assert metrics.at[run, "macro_f1"] == pytest.approx(f1_score(frame["true_label"], frame[run], average="macro"))
    majority = frame["true_label"].value_counts().idxmax()
    assert metrics.at[MAJORITY_CLASS, "accuracy"] == pytest.approx((frame["true_label"] == majority).mean())


# ---------------------------------------------------------------- dataset versions that differ


def test_label_edit_between_runs_is_named(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "run.csv", run_frame("more_data"))
    assert main(["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "before"]) == 0
    predictions = pd.read_csv(speech / "predictions.csv", dtype=str)
    for row in (3, 4):
        predictions.loc[row, "true_label"] = "yes" if predictions.loc[row, "true_label"] != "yes" else "no"
    predictions.to_csv(speech / "predictions.csv", index=False)
    metadata = pd.read_csv(speech / "metadata.csv", dtype={"example_id": str})
    metadata.loc[9, "car_noise"] = not metadata.loc[9, "car_noise"]
    metadata.to_csv(speech / "metadata.csv", index=False)
    assert main(["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "after"]) == 0
    capsys.readouterr()

    assert main(["compare", "--config", str(speech), "--workspace", str(workspace_folder), "--runs", "before", "after", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    between = [note for note in report["dataset_versions"] if note["subject"] == "runs"]

    assert len(between) == 1
    assert between[0]["changes"]["labels_changed"] == 2
    assert between[0]["changes"]["tags_changed"] == 1
    assert between[0]["changes"]["metadata_changed"] == 0
    assert between[0]["changes"]["examples_added"] == 0
    assert "2 labels changed" in between[0]["message"]
    assert "1 example's tags changed" in between[0]["message"]
    assert [note["subject"] for note in report["dataset_versions"]] == ["runs", "before"]


# ---------------------------------------------------------------- the commands


def test_compare_text_names_runs_and_tags(capsys):
    assert main(["compare", "--config", str(SPEECH), "--workspace", str(REPO_ROOT / "tests"), "--runs", "baseline", "car_noise_augment"]) == 0
    output = capsys.readouterr().out

    assert output.startswith("Run car_noise_augment compared with run baseline on 20000 examples")
    assert "Per tag" in output
    assert "car_noise" in output


def test_compare_json_against_majority_class(capsys):
    assert main(["compare", "--config", str(SPEECH), "--runs", MAJORITY_CLASS, "more_data", "--format", "json", "--keep", "tag:car_noise"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["run_a"] == MAJORITY_CLASS
    assert report["examples"] == 800
    assert report["overall"]["accuracy_b"] == pytest.approx(0.89)
    assert report["adjustment"] == "holm"
    assert report["filter"]["keep"] == ["tag:car_noise"]
    assert report["filter"]["description"] == "only examples with tag car_noise"


def test_log_run_prints_versions(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "run.parquet", run_frame("baseline"))
    code = main(
        ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "again",
         "--param", "lr=0.01", "--param", "note=a=b", "--notes", "rerun", "--code-version", "abc1234", "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert report["run"]["params"] == {"lr": "0.01", "note": "a=b"}
    assert report["run"]["code_version"] == "abc1234"
    assert report["run"]["notes"] == "rerun"
    assert report["examples_predicted"] == 20_000


def test_parallel_log_runs_lose_nothing(speech, workspace_folder):
    path = write_run(speech.parent, "run.csv", run_frame("more_data"))
    commands = [
        [sys.executable, "-m", "analysis", "log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", f"run {number}"]
        for number in range(3)
    ]
    children = [subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    outputs = [child.communicate(timeout=300) for child in children]

    for child, (stdout, stderr) in zip(children, outputs):
        assert child.returncode == 0, stderr
        assert "locked" not in stderr
        assert stdout.startswith("Logged run ")
    workspace = Workspace(workspace_folder)
    dataset = load_dataset(load_config(speech))
    catalog = load_runs(dataset, workspace, "speech_commands")
    assert {f"run {number}" for number in range(3)} <= set(catalog.names)
    assert workspace.change_counter() == 3
    counts = run_metrics(catalog).set_index("run")["examples"]
    assert [counts[f"run {number}"] for number in range(3)] == [20_000] * 3


# ---------------------------------------------------------------- bad input


def error_output(capsys, arguments: list[str]) -> str:
    capsys.readouterr()
    code = main(arguments)
    output = capsys.readouterr()
    assert code == 2
    assert output.out == ""
    return output.err


def test_unknown_run_name_rejected(capsys):
    message = error_output(capsys, ["compare", "--config", str(SPEECH), "--runs", "baseline", "nope"])
    assert "Unknown run 'nope'" in message
    assert "Known runs: (majority class), baseline, more_data, car_noise_augment" in message


def test_ids_not_in_dataset_rejected(capsys, speech, workspace_folder):
    frame = run_frame("baseline")
    frame.loc[0, "example_id"] = "utt_99999"
    path = write_run(speech.parent, "stray.csv", frame)
    message = error_output(capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "stray"])

    assert "stray.csv" in message
    assert "1 id that is not an example of Speech commands (sample): utt_99999" in message
    assert not (workspace_folder / "workspace.sqlite").exists()


def test_duplicate_id_within_run_rejected(capsys, speech, workspace_folder):
    frame = run_frame("baseline")
    frame = pd.concat([frame, frame.iloc[[4]]])
    path = write_run(speech.parent, "twice.csv", frame)
    message = error_output(capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "twice"])

    assert "twice.csv has duplicate ids within one run: utt_00005 (2 times in run twice)" in message
    assert "Each id may appear once per run" in message


@pytest.mark.parametrize(("param", "expected"), [("lr", "Invalid --param 'lr'"), ("=3", "Invalid --param '=3'")])
def test_bad_param_rejected(capsys, speech, workspace_folder, param, expected):
    path = write_run(speech.parent, "run.csv", run_frame("baseline"))
    message = error_output(
        capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "x", "--param", param]
    )
    assert expected in message
    assert "Write it as KEY=VALUE" in message


def test_repeated_param_rejected(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "run.csv", run_frame("baseline"))
    message = error_output(
        capsys,
        ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "x", "--param", "a=1", "--param", "a=2"],
    )
    assert "The hyperparameter 'a' is given twice" in message


def test_taken_run_name_rejected(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "run.csv", run_frame("baseline"))
    message = error_output(capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "baseline"])
    assert "The run name 'baseline' is taken by a run of the dataset file's [runs] section" in message


def test_missing_prediction_column_rejected(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "bare.csv", run_frame("baseline").rename(columns={"pred_label": "guess"}))
    message = error_output(capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "bare"])
    assert "bare.csv has no prediction column" in message
    assert "'guess'" in message


def test_reserved_run_name_rejected(capsys, speech, workspace_folder):
    path = write_run(speech.parent, "run.csv", run_frame("baseline"))
    message = error_output(capsys, ["log-run", "--config", str(speech), "--workspace", str(workspace_folder), "--predictions", str(path), "--name", "(mine)"])
    assert "'(mine)' cannot be a run name" in message


def test_unknown_runs_key_rejected(capsys, speech):
    toml = (speech / "dataset.toml").read_text(encoding="utf-8").replace('run_column = "run"', 'run_col = "run"')
    (speech / "dataset.toml").write_text(toml, encoding="utf-8")
    message = error_output(capsys, ["compare", "--config", str(speech), "--runs", "baseline", "more_data"])
    assert "unknown key 'run_col' in section [runs]" in message


def test_nested_run_param_rejected(capsys, speech):
    toml = (speech / "dataset.toml").read_text(encoding="utf-8").replace("epochs = 20,", "epochs = [20],")
    (speech / "dataset.toml").write_text(toml, encoding="utf-8")
    message = error_output(capsys, ["compare", "--config", str(speech), "--runs", "baseline", "more_data"])
    assert "key 'runs.details.baseline.params' must be a table of single values, such as { learning_rate = 0.001 }" in message
