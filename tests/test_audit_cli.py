"""The command line ``python -m analysis audit``: exit codes 0/1/2, the checklist, JSON, and every message about a bad [audit] section."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from sklearn.metrics import recall_score

from analysis.cli import main
from oracle import REAL_DATA_DIR, REPO_ROOT, SAMPLE_DATA_DIR

HEADER = 'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n[task]\npositive_class = "1"\n'


@pytest.fixture
def folder(tmp_path):
    """A binary dataset: group A has recall 0.8 and accuracy 0.8, group B recall 0.6 and accuracy 0.6 (100 examples each)."""
    rows = []
    for group, found in (("A", 40), ("B", 30)):
        rows += [(group, 1, 1)] * found + [(group, 1, 0)] * (50 - found) + [(group, 0, 1)] * (50 - found) + [(group, 0, 0)] * found
    frame = pd.DataFrame(rows, columns=["group", "label", "prediction"])
    frame.insert(0, "id", range(len(frame)))
    frame[["id", "label", "prediction"]].to_csv(tmp_path / "predictions.csv", index=False)
    frame[["id", "group"]].to_csv(tmp_path / "metadata.csv", index=False)
    return tmp_path


def write_spec(folder, audit: str) -> str:
    path = folder / "dataset.toml"
    # A top-level key such as `audit = 3` must come before the first table.
    text = audit + HEADER if audit and not audit.startswith("[") else HEADER + audit
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- exit codes and output


def test_passing_audit_exit_0(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nat_least = 0.5\n')

    code, out, err = run(capsys, ["--config", path])

    assert code == 0, err
    assert "PASS" in out
    assert "recall by group" in out
    assert "Audit passed" in out


def test_blocking_failure_exit_1(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nname = "recall per group"\nmetric = "recall"\nattribute = "group"\nat_least = 0.7\n')

    code, out, err = run(capsys, ["--config", path])

    assert code == 1, err
    line = next(line for line in out.splitlines() if "recall per group" in line)
    assert line.startswith("FAIL")
    assert "[blocking]" in line
    assert "worst B 60.0% [" in line
    assert "at least 70.0%" in line
    assert "support 50" in line
    assert "Audit failed" in out


def test_fairness_line_names_extreme_groups(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "equalized_odds_difference"\nattribute = "group"\nat_most = 0.1\n')

    code, out, _err = run(capsys, ["--config", path])

    line = next(line for line in out.splitlines() if "equalized_odds_difference by group" in line)
    assert code == 1
    assert line.startswith("FAIL")
    assert "worst class 1 0.200, at most 0.100" in line
    assert "(TPR 60.0% in B to 80.0% in A, FPR 20.0% in A to 40.0% in B)" in line


def test_failed_warning_exit_0(folder, capsys):
    path = write_spec(
        folder,
        '[audit]\n[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nat_least = 0.7\nseverity = "warning"\n'
        '[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.5\n',
    )

    code, out, err = run(capsys, ["--config", path])

    assert code == 0, err
    assert "FAIL      [warning]" in out
    assert "PASS      [blocking]" in out


def test_json_lists_every_group(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "fpr"\nattribute = "group"\nratio_to_reference = [0.8, 1.25]\nreference = "A"\n')

    code, out, _err = run(capsys, ["--config", path, "--format", "json"])

    report = json.loads(out)
    assert code == 1
    assert report["passed"] is False
    assert report["min_support"] == 30
    assert report["examples"] == 200
    [check] = report["checks"]
    assert check["status"] == "fail"
    assert check["reference"] == "A"
    assert check["reference_value"] == pytest.approx(0.2)
    groups = {outcome["group"]: outcome for outcome in check["outcomes"]}
    assert set(groups) == {"A", "B"}
    assert groups["B"]["value"] == pytest.approx(0.4)
    assert groups["B"]["ratio"] == pytest.approx(2.0)
    assert groups["B"]["support"] == 50
    assert groups["B"]["threshold"] == [0.8, 1.25]
    assert groups["B"]["ci_low"] < 0.4 < groups["B"]["ci_high"]
    assert check["worst"]["group"] == "B"


def test_keep_exclude_add_to_filter(folder, capsys):
    # Accuracy is 0.8 in A, 0.6 in B, 0.7 over both.
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.75\n')

    assert run(capsys, ["--config", path])[0] == 1
    code, out, err = run(capsys, ["--config", path, "--keep", "attr:group=A", "--format", "json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["examples"] == 100
    assert report["filter"]["keep"] == ["attr:group=A"]
    assert report["checks"][0]["outcomes"][0]["value"] == pytest.approx(0.8)
    assert run(capsys, ["--config", path, "--exclude", "attr:group=B"])[0] == 0


def test_process_exit_code(folder):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.9\n')

    completed = subprocess.run([sys.executable, "-m", "analysis", "audit", "--config", path], check=False, cwd=REPO_ROOT, capture_output=True, text=True)

    assert completed.returncode == 1, completed.stderr
    assert "Audit failed" in completed.stdout


# ---------------------------------------------------------------- exit code 2


def test_missing_audit_section_exit_2(folder, capsys):
    path = write_spec(folder, "")

    code, out, err = run(capsys, ["--config", path])

    assert code == 2
    assert out == ""
    assert "error: The dataset file has no checks to audit." in err
    assert "[[audit.checks]]" in err


def test_invalid_filter_option_exit_2(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.5\n')

    code, _out, err = run(capsys, ["--config", path, "--keep", "tag:nothing"])

    assert code == 2
    assert "The filter 'tag:nothing' names no tag of this dataset." in err


def test_missing_workspace_exit_2(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.5\n')

    code, _out, err = run(capsys, ["--config", path, "--workspace", str(folder / "missing")])

    assert code == 2
    assert "does not exist" in err


def test_check_not_fitting_data_exit_2(folder, capsys):
    path = write_spec(folder, '[audit]\n[[audit.checks]]\nmetric = "accuracy"\nattribute = "colour"\nat_least = 0.5\n')

    code, _out, err = run(capsys, ["--config", path])

    assert code == 2
    assert f"In {path}, audit check 1 (accuracy by colour): attribute = 'colour' does not fit this dataset. Use one of: group." in err


CHECK = '[audit]\n[[audit.checks]]\n'

# (text after the dataset's header, what the message says, what the hint says)
SPEC_ERRORS = [
    ("audit = 3\n", "'audit' must be a table ([audit]), got 3.", "section header"),
    ("[audit]\ncolour = 1\n", "unknown key 'colour' in section [audit].", "Allowed keys: checks, exclude, keep, min_support."),
    ('[audit]\nkeep = "tag:x"\n', "audit.keep must be a list of conditions, got 'tag:x'.", "as --keep and --exclude take"),
    ("[audit]\nexclude = [1]\n", "audit.exclude must be a list of conditions, got [1].", "as --keep and --exclude take"),
    ("[audit]\nmin_support = 0\n", "audit.min_support = 0 is not allowed.", "at least 1"),
    ("[audit]\nchecks = [1]\n", "audit.checks must be a list of tables, got [1].", "[[audit.checks]]"),
    (CHECK + 'metric = "accuracy"\nat_least = 0.5\ntreshold = 1\n', "audit check 1 (accuracy): unknown key 'treshold'.", "Allowed keys: name, metric,"),
    (CHECK + 'metric = "accuracy"\nattribute = 3\nat_least = 0.5\n', "audit check 1 (accuracy): attribute = 3 is not allowed.", "non-empty string"),
    (CHECK + 'name = ""\nmetric = "accuracy"\nat_least = 0.5\n', "audit check 1 (accuracy): name = '' is not allowed.", "non-empty string"),
    (CHECK + "at_least = 0.5\n", "audit check 1 (?): the key 'metric' is missing.", "Add metric = one of: accuracy, error_rate,"),
    (CHECK + 'metric = "auc"\nat_least = 0.5\n', "audit check 1 (auc): metric = 'auc' is not allowed.", "demographic_parity_ratio"),
    (CHECK + 'metric = "accuracy"\nat_least = 0.5\nseverity = "fatal"\n', "severity = 'fatal' is not allowed.", "\"warning\""),
    (
        CHECK + 'metric = "accuracy"\nattribute = "group"\nslice = "attr:group=A"\nat_least = 0.5\n',
        "audit check 1 (accuracy by group): both 'attribute' and 'slice' are set.",
        "slice = \"attr:NAME=VALUE\" for one value",
    ),
    (CHECK + 'metric = "accuracy"\nslice = "group=A"\nat_least = 0.5\n', "audit check 1 (accuracy on group=A): slice = 'group=A' is not allowed.", "attr:NAME=VALUE"),
    (CHECK + 'metric = "accuracy"\nclass = "1"\nat_least = 0.5\n', "audit check 1 (accuracy of 1): class = '1' is not allowed.", "accuracy is measured over every class"),
    (CHECK + 'metric = "accuracy"\n', "audit check 1 (accuracy): 0 rules are set (none), but a check has exactly one.", "Use one of: at_least, at_most,"),
    (CHECK + 'metric = "accuracy"\nat_least = 0.5\nat_most = 0.9\n', "2 rules are set (at_least, at_most)", "Use one of:"),
    (CHECK + 'metric = "accuracy"\nat_least = "high"\n', "at_least = 'high' is not allowed.", "Write a number"),
    (CHECK + 'metric = "accuracy"\nat_least = true\n', "at_least = true is not allowed.", "Write a number"),
    (CHECK + 'metric = "accuracy"\nat_least = 80\n', "at_least = 80 is not allowed.", "0.8 means 80%"),
    (CHECK + 'metric = "accuracy"\nat_least_overall_minus = -0.05\n', "at_least_overall_minus = -0.05 is not allowed.", "0.05 means 5 points"),
    (CHECK + 'metric = "accuracy"\nat_most_overall_plus = 1\n', "at_most_overall_plus = 1 is not allowed.", "0.05 means 5 points"),
    (CHECK + 'metric = "fpr"\nattribute = "group"\nmin_max_ratio = 1.5\n', "min_max_ratio = 1.5 is not allowed.", "above 0 and at most 1"),
    (CHECK + 'metric = "fpr"\nattribute = "group"\nratio_to_reference = [1.25, 0.8]\n', "ratio_to_reference = [1.25, 0.8] is not allowed.", "[0.8, 1.25]"),
    (CHECK + 'metric = "fpr"\nattribute = "group"\nratio_to_reference = 0.8\n', "ratio_to_reference = 0.8 is not allowed.", "[0.8, 1.25]"),
    (CHECK + 'metric = "fpr"\nratio_to_reference = [0.8, 1.25]\n', "ratio_to_reference compares the groups of an attribute, but no attribute is set.", "Add attribute"),
    (CHECK + 'metric = "fpr"\nmin_max_ratio = 0.8\n', "min_max_ratio compares the groups of an attribute", "Add attribute"),
    (CHECK + 'metric = "demographic_parity_difference"\nat_most = 0.1\n', "demographic_parity_difference compares the groups of an attribute", "Add attribute"),
    (
        CHECK + 'metric = "demographic_parity_difference"\nattribute = "group"\nat_least = 0.1\n',
        "at_least = 0.1 is not allowed.",
        "demographic_parity_difference takes at_most only.",
    ),
    (
        CHECK + 'metric = "equalized_odds_ratio"\nattribute = "group"\nat_most = 0.8\n',
        "at_most = 0.8 is not allowed.",
        "equalized_odds_ratio takes at_least only.",
    ),
    (
        CHECK + 'metric = "fpr"\nattribute = "group"\nat_most = 0.3\nreference = "A"\n',
        "audit check 1 (fpr by group): reference = 'A' is not allowed.",
        "use it with ratio_to_reference",
    ),
]


@pytest.mark.parametrize(("section", "message", "hint"), SPEC_ERRORS)
def test_invalid_spec_message(folder, capsys, section, message, hint):
    path = write_spec(folder, section)

    code, out, err = run(capsys, ["--config", path])

    assert code == 2
    assert out == ""
    assert err.startswith(f"error: In {path}")
    assert message in err
    assert hint in err
    assert len(err.strip().splitlines()) == 1


def test_second_check_named(folder, capsys):
    path = write_spec(
        folder,
        CHECK + 'metric = "accuracy"\nat_least = 0.5\n[[audit.checks]]\nname = "fpr gate"\nmetric = "fpr"\nat_most = 2\n',
    )

    code, _out, err = run(capsys, ["--config", path])

    assert code == 2
    assert "audit check 2 (fpr gate): at_most = 2 is not allowed." in err


def test_unknown_section_lists_audit(folder, capsys):
    path = write_spec(folder, "[audits]\n")

    code, _out, err = run(capsys, ["--config", path])

    assert code == 2
    assert "unknown key or section 'audits'" in err
    assert "audit, columns, engine, files" in err


# ---------------------------------------------------------------- real and sample data


def test_screening_covid_recall_exit_1(tmp_path, capsys):
    # The sample's own [audit] section: its first check is recall of covid at least 0.8.
    folder = SAMPLE_DATA_DIR / "screening"

    code, out, _err = run(capsys, ["--config", str(folder), "--format", "json"])

    predictions = pd.read_parquet(folder / "predictions.parquet")
    expected = recall_score(predictions["true_label"], predictions["pred_label"], pos_label="covid")
    check = json.loads(out)["checks"][0]
    outcome = check["worst"]
    assert code == 1
    assert (check["metric"], check["class"], check["severity"]) == ("recall", "covid", "blocking")
    assert outcome["group"] == "(all)"
    assert outcome["class"] == "covid"
    assert outcome["value"] == pytest.approx(expected) == pytest.approx(0.05)
    assert outcome["status"] == "fail"


def test_compas_fpr_parity_exit_1(tmp_path, capsys):
    source = REAL_DATA_DIR / "compas"
    if not source.is_dir():
        pytest.skip(f"real dataset folder {source} not found beside the repository clone")
    folder = tmp_path / "compas"
    shutil.copytree(source, folder)
    (folder / "dataset.toml").write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n[task]\npositive_class = "1"\n'
        '[audit]\nexclude = ["tag:tag_propublica_filtered_out"]\n'
        '[[audit.checks]]\nname = "FPR parity across race"\nmetric = "fpr"\nattribute = "race"\nratio_to_reference = [0.8, 1.25]\nreference = "Caucasian"\n',
        encoding="utf-8",
    )

    code, out, _err = run(capsys, ["--config", str(folder)])
    assert code == 1
    line = next(line for line in out.splitlines() if "FPR parity across race" in line)
    assert line.startswith("FAIL")
    assert "worst African-American 42.3%" in line
    assert "ratio to Caucasian (22.0%) 1.923" in line

    code, out, _err = run(capsys, ["--config", str(folder), "--format", "json"])
    check = json.loads(out)["checks"][0]
    groups = {outcome["group"]: outcome for outcome in check["outcomes"]}
    predictions = pd.read_csv(folder / "predictions.csv").merge(pd.read_csv(folder / "metadata.csv"), on="example_id")
    negatives = predictions[~predictions["tag_propublica_filtered_out"] & (predictions["true_label"] == 0)]
    for race, rate in negatives.groupby("race")["pred_label"].mean().items():
        assert groups[race]["value"] == pytest.approx(rate), race
    assert groups["African-American"]["value"] == pytest.approx(0.42, abs=0.01)
    assert groups["Caucasian"]["value"] == pytest.approx(0.22, abs=0.01)
