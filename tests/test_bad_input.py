"""Bad input: each case stops with a message naming the file, the column and the value or count.

Problems that leave examples to analyse (ids in one file only, missing labels,
one class) only warn, and the analysis goes on with what is left.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from analysis import AnalysisError, InputError, load_dataset, summarize
from analysis.cli import main
from analysis.config import DatasetConfig

REPO_ROOT = Path(__file__).resolve().parents[1]

GOOD_PREDICTIONS = "id,label,prediction\n1,a,a\n2,b,a\n3,a,b\n4,b,b\n"
GOOD_METADATA = "id,group\n1,x\n2,y\n3,x\n4,y\n"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in this process and return its exit code, stdout and stderr."""
    code = main(["summary", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str) -> str:
    """Check the CLI's bad-input contract and return the message line."""
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


@dataclass
class Case:
    """A bad input: the files to write, the CLI arguments, and text the message must contain."""

    files: dict[str, str | bytes]
    argv: list[str]
    expected: list[str]


# {dir} in arguments and expected text stands for the test's folder.
CASES = {
    "missing_file": Case(
        {},
        ["--predictions", "{dir}/nowhere.csv"],
        ["{dir}/nowhere.csv", "not found", "predictions"],
    ),
    "missing_metadata_file": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/nowhere.parquet"],
        ["{dir}/nowhere.parquet", "not found", "metadata"],
    ),
    "folder_not_file": Case(
        {},
        ["--predictions", "{dir}"],
        ["{dir}", "folder"],
    ),
    "random_bytes_parquet": Case(
        {"p.parquet": bytes(range(256)) * 4},
        ["--predictions", "{dir}/p.parquet"],
        ["{dir}/p.parquet", "could not be read as PARQUET"],
    ),
    "random_bytes_json": Case(
        {"p.json": bytes(range(256)) * 4},
        ["--predictions", "{dir}/p.json"],
        ["{dir}/p.json", "could not be read as JSON"],
    ),
    "truncated_json": Case(
        {"p.json": '[{"id": 1, "label": "a", "prediction": '},
        ["--predictions", "{dir}/p.json"],
        ["{dir}/p.json", "could not be read as JSON"],
    ),
    "not_gzip": Case(
        {"p.csv.gz": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv.gz"],
        ["{dir}/p.csv.gz", "could not be read as CSV", "GZIP"],
    ),
    "spreadsheet": Case(
        {"p.xlsx": b"PK\x03\x04 not really a workbook"},
        ["--predictions", "{dir}/p.xlsx"],
        ["{dir}/p.xlsx", "unsupported format", ".parquet"],
    ),
    "empty_file": Case(
        {"p.csv": ""},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "is empty"],
    ),
    "header_only": Case(
        {"p.csv": "id,label,prediction\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "header but no data rows"],
    ),
    "empty_json_array": Case(
        {"p.json": "[]"},
        ["--predictions", "{dir}/p.json"],
        ["{dir}/p.json", "contains no rows"],
    ),
    "ragged_rows": Case(
        {"p.csv": "id,label,prediction\n1,a,a\n2,b,a\n3,a,b,extra\n4,b\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "line 4", "','"],
    ),
    "ragged_rows_semicolon": Case(
        {"p.csv": "id;label;prediction\n1;a;a\n2;b;a;extra\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "line 3", "';'"],
    ),
    "missing_id_column": Case(
        {"p.csv": "key,label,prediction\n1,a,a\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "no id column", "'key', 'label', 'prediction'", "--id-col"],
    ),
    "missing_label_column": Case(
        {"p.csv": "id,truth,prediction\n1,a,a\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "no label column", "y_true", "'id', 'truth', 'prediction'", "--label-col"],
    ),
    "missing_prediction_column": Case(
        {"p.csv": "id,label,guess\n1,a,a\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "no prediction column", "y_pred", "'id', 'label', 'guess'", "--prediction-col"],
    ),
    "named_column_missing": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--label-col", "truth"],
        ["{dir}/p.csv", "'truth'", "label column", "'id', 'label', 'prediction'"],
    ),
    "metadata_without_id": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "key,group\n1,x\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv"],
        ["{dir}/m.csv", "'id'", "'key', 'group'"],
    ),
    "duplicate_column_names": Case(
        {"p.csv": "id,label,label,prediction\n1,a,a,a\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "duplicate column names", "'label'"],
    ),
    "duplicate_names_by_case": Case(
        {"p.csv": "id,Label,label,prediction\n1,a,a,a\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "duplicate column names", "'Label'", "'label'", "ignoring case"],
    ),
    "duplicate_names_in_metadata": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "id,Group,GROUP\n1,x,y\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv"],
        ["{dir}/m.csv", "'GROUP'", "'Group'"],
    ),
    "duplicate_ids": Case(
        {"p.csv": "id,label,prediction\ne1,a,a\ne1,a,b\ne1,b,b\ne2,a,a\ne2,a,a\ne3,b,b\ne4,a,a\ne4,a,b\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "3 ids", "column 'id'", "'e1' (3x)", "'e2' (2x)", "'e4' (2x)"],
    ),
    "positive_class_not_a_class": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--positive-class", "yes"],
        ["'yes'", "{dir}/p.csv", "one of: a, b"],
    ),
    "duplicate_ids_in_metadata": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "id,group\n1,x\n2,y\n2,z\n3,x\n4,y\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv"],
        ["{dir}/m.csv", "1 id that appears", "'2' (2x)"],
    ),
    "duplicate_ids_after_normalising": Case(
        {"p.json": '[{"id": 1, "label": "a", "prediction": "a"}, {"id": "1", "label": "b", "prediction": "b"}]'},
        ["--predictions", "{dir}/p.json"],
        ["{dir}/p.json", "'1' (2x)"],
    ),
    "no_id_matches": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "id,group\nu1,x\nu2,y\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv"],
        ["{dir}/p.csv", "{dir}/m.csv", "'1', '2', '3'", "'u1', 'u2'"],
    ),
    "leading_zero_ids_do_not_match": Case(
        {"p.csv": "id,label,prediction\n007,a,a\n008,b,b\n", "m.parquet": b""},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.parquet"],
        ["'007', '008'", "'7', '8'", "'007' and '7' differ"],
    ),
    "every_label_missing": Case(
        {"p.csv": "id,label,prediction\n1,,a\n2,,b\n"},
        ["--predictions", "{dir}/p.csv"],
        ["{dir}/p.csv", "'id', 'label', 'prediction'"],
    ),
    "hlp_above_one": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "id,group,tag_noise\n1,x,true\n2,y,false\n3,x,true\n4,y,false\n", "h.csv": "tag,hlp\ntag_noise,1.5\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv", "--hlp", "{dir}/h.csv"],
        ["{dir}/h.csv", "'1.5'", "'tag_noise'", "between 0 and 1"],
    ),
    "hlp_negative": Case(
        {"p.csv": GOOD_PREDICTIONS, "h.csv": "tag,hlp\n(untagged),-0.1\n"},
        ["--predictions", "{dir}/p.csv", "--hlp", "{dir}/h.csv"],
        ["{dir}/h.csv", "'-0.1'", "'(untagged)'"],
    ),
    "hlp_percent_text": Case(
        {"p.csv": GOOD_PREDICTIONS, "h.csv": "tag,hlp\n(untagged),95%\n"},
        ["--predictions", "{dir}/p.csv", "--hlp", "{dir}/h.csv"],
        ["{dir}/h.csv", "'95%'", "0.95"],
    ),
    "hlp_missing_columns": Case(
        {"p.csv": GOOD_PREDICTIONS, "h.csv": "name,accuracy\ncar,0.9\n"},
        ["--predictions", "{dir}/p.csv", "--hlp", "{dir}/h.csv"],
        ["{dir}/h.csv", "'tag' and 'hlp'", "'name', 'accuracy'"],
    ),
    "hlp_tag_twice": Case(
        {"p.csv": GOOD_PREDICTIONS, "h.csv": "tag,hlp\n(untagged),0.9\n (untagged),0.8\n"},
        ["--predictions", "{dir}/p.csv", "--hlp", "{dir}/h.csv"],
        ["{dir}/h.csv", "'(untagged)'", "more than once"],
    ),
    "tag_column_not_boolean": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": "id,group,noise\n1,x,true\n2,y,maybe\n3,x,loud\n4,y,\n"},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv", "--tag-cols", "noise"],
        ["{dir}/m.csv", "'noise'", "'maybe'", "'loud'", "true/false"],
    ),
    "tag_column_missing": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": GOOD_METADATA},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv", "--tag-cols", "noise"],
        ["{dir}/m.csv", "'noise'", "'id', 'group'", "--tag-cols"],
    ),
    "tag_list_column_missing": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": GOOD_METADATA},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv", "--tag-list-col", "tags"],
        ["{dir}/m.csv", "'tags'", "'id', 'group'"],
    ),
    "tags_file_without_tag_column": Case(
        {"p.csv": GOOD_PREDICTIONS, "t.csv": "id,label\n1,noise\n"},
        ["--predictions", "{dir}/p.csv", "--tags-file", "{dir}/t.csv"],
        ["{dir}/t.csv", "'tag'", "'id', 'label'"],
    ),
    "attribute_missing": Case(
        {"p.csv": GOOD_PREDICTIONS, "m.csv": GOOD_METADATA},
        ["--predictions", "{dir}/p.csv", "--metadata", "{dir}/m.csv", "--attributes", "group,colour"],
        ["{dir}/m.csv", "'colour'", "'id', 'group'", "--attributes"],
    ),
    "attribute_without_metadata": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--attributes", "group"],
        ["'group'", "metadata file", "--metadata"],
    ),
    "correct_flag_not_boolean": Case(
        {"p.csv": "id,correct\n1,yes\n2,sometimes\n"},
        ["--predictions", "{dir}/p.csv", "--correct-col", "correct"],
        ["{dir}/p.csv", "'correct'", "'sometimes'"],
    ),
    "score_not_numeric": Case(
        {"p.csv": "id,loss\n1,0.2\n2,high\n3,0.9\n"},
        ["--predictions", "{dir}/p.csv", "--score-col", "loss", "--error-threshold", "0.5"],
        ["{dir}/p.csv", "'loss'", "'high'", "not numbers"],
    ),
    "target_not_a_tag": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--target", "noise=0.9"],
        ["'noise'", "Known tags"],
    ),
    "target_malformed": Case(
        {"p.csv": GOOD_PREDICTIONS},
        ["--predictions", "{dir}/p.csv", "--target", "noise"],
        ["'noise'", "TAG=ACCURACY"],
    ),
    "no_input": Case(
        {},
        [],
        ["No input given", "--predictions"],
    ),
}


def prepare(case: Case, folder: Path) -> tuple[list[str], list[str]]:
    """Write the case's files into ``folder`` and return its arguments and expected fragments."""
    for name, content in case.files.items():
        if name == "m.parquet":
            pd.DataFrame({"id": [7, 8], "group": ["x", "y"]}).to_parquet(folder / name)
        else:
            write(folder, name, content)
    argv = [argument.replace("{dir}", str(folder)) for argument in case.argv]
    expected = [fragment.replace("{dir}", str(folder)) for fragment in case.expected]
    return argv, expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_cli_message(tmp_path, capsys, name):
    argv, expected = prepare(CASES[name], tmp_path)

    code, out, err = run_cli(capsys, argv)

    line = assert_one_line_error(code, out, err)
    for fragment in expected:
        assert fragment in line, f"{fragment!r} not in {line!r}"


@pytest.mark.parametrize("name", ["missing_file", "random_bytes_parquet", "duplicate_ids", "missing_label_column", "no_id_matches"])
def test_bad_input_process_exit(tmp_path, name):
    argv, expected = prepare(CASES[name], tmp_path)

    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "summary", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    for fragment in expected:
        assert fragment in lines[0]


def test_bad_input_raises_input_error(tmp_path):
    write(tmp_path, "p.csv", "id,label,prediction\ne1,a,a\ne1,a,b\n")

    with pytest.raises(InputError) as raised:
        load_dataset(DatasetConfig(predictions=tmp_path / "p.csv"))

    assert "'e1' (2x)" in raised.value.message
    assert raised.value.hint
    assert isinstance(raised.value, AnalysisError)


# Problems that only warn.


def summary_json(capsys, argv: list[str]) -> dict:
    code, out, err = run_cli(capsys, [*argv, "--format", "json"])
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def test_ids_in_one_file_counted(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,label,prediction\n1,a,a\n2,b,a\n3,a,b\n4,b,b\n5,a,a\n6,b,a\n")
    metadata = write(tmp_path, "m.csv", "id,group\n1,x\n2,y\n3,x\n4,y\n10,x\n11,y\n12,x\n")

    summary = summary_json(capsys, ["--predictions", str(predictions), "--metadata", str(metadata)])

    assert summary["rows"] == 6
    assert summary["matched"] == 4
    assert summary["dropped"]["unmatched_predictions"] == 2
    assert summary["dropped"]["unmatched_metadata"] == 3
    assert summary["overall"]["errors"] == 2
    assert summary["overall"]["accuracy"] == pytest.approx(0.5)
    messages = {warning["code"]: warning["message"] for warning in summary["load_warnings"]}
    assert set(messages) == {"unmatched_predictions", "unmatched_metadata"}
    assert messages["unmatched_predictions"].startswith("2 ids")
    assert messages["unmatched_metadata"].startswith("3 ids")
    for message in messages.values():
        assert str(predictions) in message
        assert str(metadata) in message


def test_ids_in_one_file_text_warning(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,label,prediction\n1,a,a\n2,b,a\n3,a,b\n")
    metadata = write(tmp_path, "m.csv", "id,group\n1,x\n2,y\n")

    code, out, err = run_cli(capsys, ["--predictions", str(predictions), "--metadata", str(metadata)])

    assert code == 0
    assert err == ""
    assert "warning: 1 id of the predictions file" in out
    assert "Examples analysed: 2 of 3 prediction rows" in out


def test_missing_labels_excluded(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,truth,guess\n1,a,a\n2,,a\n3,a,\n4,b,b\n5,,\n6,b,a\n")

    summary = summary_json(capsys, ["--predictions", str(predictions), "--label-col", "truth", "--prediction-col", "guess"])

    assert summary["rows"] == 6
    assert summary["matched"] == 3
    assert summary["dropped"]["missing_label"] == 2
    assert summary["dropped"]["missing_prediction"] == 1
    assert summary["overall"]["errors"] == 1
    messages = {warning["code"]: warning["message"] for warning in summary["load_warnings"]}
    assert "2 examples" in messages["missing_label"]
    assert "'truth'" in messages["missing_label"]
    assert str(predictions) in messages["missing_label"]
    assert "1 example " in messages["missing_prediction"]
    assert "'guess'" in messages["missing_prediction"]


def test_missing_ids_excluded(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,label,prediction\n1,a,a\n,b,a\n3,a,b\n")

    summary = summary_json(capsys, ["--predictions", str(predictions)])

    assert summary["rows"] == 3
    assert summary["matched"] == 2
    assert summary["dropped"]["missing_id"] == 1
    messages = {warning["code"]: warning["message"] for warning in summary["load_warnings"]}
    assert "'id'" in messages["missing_id"]


def test_missing_outcome_in_score_mode(tmp_path):
    predictions = write(tmp_path, "p.csv", "id,loss\n1,0.2\n2,\n3,0.9\n")

    dataset = load_dataset(DatasetConfig(predictions=predictions, score_column="loss", error_threshold=0.5))

    assert dataset.report.matched == 2
    assert dataset.report.missing_prediction == 1
    assert "'loss'" in dataset.report.warnings[0].message


def test_one_class_warns_and_continues(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,label,prediction\n1,yes,yes\n2,yes,no\n3,yes,yes\n4,yes,yes\n")

    summary = summary_json(capsys, ["--predictions", str(predictions)])

    assert summary["matched"] == 4
    assert summary["overall"]["accuracy"] == pytest.approx(0.75)
    codes = [warning["code"] for warning in summary["imbalance"]["warnings"]]
    assert "single_class" in codes
    single = next(w for w in summary["imbalance"]["warnings"] if w["code"] == "single_class")
    assert "'yes'" in single["message"]


def test_one_class_text_output(tmp_path, capsys):
    predictions = write(tmp_path, "p.csv", "id,label,prediction\n1,yes,yes\n2,yes,no\n3,yes,yes\n")

    code, out, err = run_cli(capsys, ["--predictions", str(predictions)])

    assert code == 0
    assert err == ""
    assert "Every label is 'yes'" in out


def test_unnamed_index_column_loads(tmp_path):
    frame = pd.DataFrame({"id": [1, 2], "label": ["a", "b"], "prediction": ["a", "a"]})
    frame.to_csv(tmp_path / "p.csv")
    write(tmp_path, "q.csv", ",id,,label,prediction\n0,1,x,a,a\n1,2,y,b,a\n")

    first = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "p.csv")))
    second = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "q.csv")))

    assert first["overall"]["errors"] == 1
    assert second["overall"]["errors"] == 1


def test_low_id_match_warns_with_examples(tmp_path):
    (tmp_path / "p.csv").write_text(GOOD_PREDICTIONS, encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,group\n1,x\n002,y\n003,x\n004,y\n", encoding="utf-8")
    config = DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv")

    warnings = {notice.code: notice.message for notice in load_dataset(config).report.warnings}

    assert "low_id_match" in warnings
    assert "Only 1 of 4 prediction rows" in warnings["low_id_match"]
    assert "'2', '3', '4'" in warnings["low_id_match"]
    assert "'002', '003', '004'" in warnings["low_id_match"]
