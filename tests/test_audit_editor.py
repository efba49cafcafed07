"""Editing the audit checks: the [audit] section written back to the dataset file, and the Audit page's editor under AppTest."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from workspace_pages import REPO_ROOT, SAMPLE_DATA, isolate_settings, run

from analysis import AnalysisError, InputError
from analysis.audit_file import audit_section_text, file_digest, save_audit_section
from analysis.audit_spec import AuditCheck, AuditSpec
from analysis.config import load_config
from ui.data import DATA_ROOT_VARIABLE, DEMO_VARIABLE

PAGE = "pages/6_Audit.py"

COMMENTED_FILE = """\
# Screening model, audited before each release.
schema = 1
name = "screening copy"

[files]
predictions = "predictions.parquet"  # written by the nightly evaluation
metadata = "metadata.parquet"

[columns]
id = "example_id"
label = "true_label"
prediction = "pred_label"
score = "score"

[audit]
min_support = 30

[[audit.checks]]
name = "covid recall"
metric = "recall"
class = "covid"
at_least = 0.8

[task]
# The class a screening test looks for.
positive_class = "covid"
"""


@pytest.fixture
def screening(tmp_path) -> Path:
    """Return a copy of the screening sample that the tests may write to."""
    folder = tmp_path / "data" / "screening"
    shutil.copytree(SAMPLE_DATA / "screening", folder)
    return folder


@pytest.fixture
def data_root(tmp_path, monkeypatch, screening) -> Path:
    """Serve the pages from the folder holding the writable copies."""
    isolate_settings(monkeypatch, tmp_path / "workspace")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(screening.parent))
    return screening.parent


def fpr_parity_check(index: int) -> AuditCheck:
    return AuditCheck(
        index=index,
        name="fpr parity by sex",
        metric="fpr",
        rule="ratio_to_reference",
        threshold=(0.8, 1.25),
        attribute="sex",
        reference="female",
        severity="warning",
    )


def screening_rates() -> pd.DataFrame:
    """Recall of covid and the examples, from the sample's files with pandas."""
    predictions = pd.read_parquet(SAMPLE_DATA / "screening" / "predictions.parquet")
    metadata = pd.read_parquet(SAMPLE_DATA / "screening" / "metadata.parquet")
    return predictions.merge(metadata, on="example_id")


def recall(frame: pd.DataFrame) -> float:
    positives = frame[frame["true_label"] == "covid"]
    return float((positives["pred_label"] == "covid").mean())


def checks_of(folder: Path) -> list[dict]:
    return tomllib.loads((folder / "dataset.toml").read_text(encoding="utf-8"))["audit"]["checks"]


def edit_checks(app, edits: dict | None = None, added: list | None = None, deleted: list | None = None):
    """Apply cell edits to the checks editor as the browser sends them, and rerun the page."""
    editor = app.data_editor[0]
    app.session_state[editor.key] = {"edited_rows": edits or {}, "added_rows": added or [], "deleted_rows": deleted or []}
    return app.run()


def button(app, label: str):
    return next(widget for widget in app.button if widget.label.startswith(label))


def checklist(app) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if frame.editing_mode == "read_only" and "check" in frame.value.columns).set_index("check")


# Writing the section ----------------------------------------------------------------------


def test_save_keeps_other_sections_and_comments(screening):
    path = screening / "dataset.toml"
    path.write_text(COMMENTED_FILE, encoding="utf-8")
    spec = load_config(path).audit
    edited = dataclasses.replace(spec, keep=("attr:sex=female",), checks=(*spec.checks, fpr_parity_check(2)))

    save_audit_section(path, edited, file_digest(path))

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Screening model, audited before each release.\n")
    assert 'predictions = "predictions.parquet"  # written by the nightly evaluation' in text
    assert "# The class a screening test looks for." in text
    assert load_config(path).audit == edited
    before = tomllib.loads(COMMENTED_FILE)
    after = tomllib.loads(text)
    for section in ("files", "columns", "task", "name", "schema"):
        assert after[section] == before[section]


def test_save_writes_ratio_as_pair(screening):
    path = screening / "dataset.toml"
    spec = AuditSpec(checks=(fpr_parity_check(1),))

    save_audit_section(path, spec, file_digest(path))

    check = checks_of(screening)[0]
    assert check["ratio_to_reference"] == [0.8, 1.25]
    assert check["reference"] == "female"
    assert check["severity"] == "warning"
    assert "at_least" not in check


def test_save_creates_section(tmp_path):
    folder = tmp_path / "speech"
    shutil.copytree(SAMPLE_DATA / "speech_commands", folder)
    path = folder / "dataset.toml"
    assert load_config(path).audit is None
    spec = AuditSpec(min_support=50, checks=(AuditCheck(index=1, name="accuracy", metric="accuracy", rule="at_least", threshold=0.9),))

    save_audit_section(path, spec, file_digest(path))

    assert load_config(path).audit == spec


def test_save_of_empty_spec_removes_section(screening):
    path = screening / "dataset.toml"

    save_audit_section(path, AuditSpec(), file_digest(path))

    assert "audit" not in tomllib.loads(path.read_text(encoding="utf-8"))
    assert load_config(path).audit is None


def test_save_refuses_changed_file(screening):
    path = screening / "dataset.toml"
    digest = file_digest(path)
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited by hand meanwhile\n", encoding="utf-8")
    changed = path.read_text(encoding="utf-8")

    with pytest.raises(InputError) as raised:
        save_audit_section(path, AuditSpec(), digest)

    assert "changed after this page read it" in raised.value.message
    assert str(path) in raised.value.message
    assert "reload the page" in raised.value.hint
    assert path.read_text(encoding="utf-8") == changed


def test_save_refuses_spec_the_file_would_reject(screening):
    path = screening / "dataset.toml"
    original = path.read_text(encoding="utf-8")
    # The editor validates before saving, so such a threshold only arrives from code. The file is checked again anyway.
    broken = AuditSpec(checks=(AuditCheck(index=1, name="recall", metric="recall", rule="at_least", threshold=1.5, class_name="covid"),))

    with pytest.raises(AnalysisError) as raised:
        save_audit_section(path, broken, file_digest(path))

    assert "at_least = 1.5 is not allowed" in raised.value.message
    assert path.read_text(encoding="utf-8") == original


def test_section_text_reads_back():
    spec = AuditSpec(keep=("tag:car_noise",), exclude=("attr:sex=male",), checks=(fpr_parity_check(1),))

    document = tomllib.loads(audit_section_text(spec))

    assert document["audit"]["keep"] == ["tag:car_noise"]
    assert document["audit"]["exclude"] == ["attr:sex=male"]
    assert document["audit"]["checks"][0]["metric"] == "fpr"


# The page's editor ------------------------------------------------------------------------


def test_editor_starts_from_file(data_root):
    app = run(PAGE, "screening")

    assert not app.exception
    rows = app.data_editor[0].value
    assert list(rows["name"]) == ["covid recall", "accuracy by sex", "error rate by device"]
    assert list(rows["rule"]) == ["at_least", "at_least_overall_minus", "at_most_overall_plus"]
    assert list(rows["threshold"]) == ["0.8", "0.05", "0.02"]
    assert button(app, "Save to dataset.toml").disabled
    assert button(app, "Discard edits").disabled


def test_edited_threshold_runs_before_saving(data_root, screening):
    observed = recall(screening_rates())
    original = (screening / "dataset.toml").read_text(encoding="utf-8")
    app = run(PAGE, "screening")

    edit_checks(app, {0: {"threshold": "0.04"}})

    assert not app.exception
    table = checklist(app)
    assert table.loc["covid recall", "status"] == "pass"
    assert table.loc["covid recall", "value"] == f"{observed:.1%}"
    assert table.loc["covid recall", "threshold"] == "4.0%"
    assert any("Unsaved" in caption.value for caption in app.caption)
    assert not button(app, "Save to dataset.toml").disabled
    assert (screening / "dataset.toml").read_text(encoding="utf-8") == original


def test_save_writes_file_and_gate_follows(data_root, screening):
    app = run(PAGE, "screening")
    edit_checks(app, {0: {"threshold": "0.04"}})

    button(app, "Save to dataset.toml").click().run()

    assert not app.exception
    assert any("Saved 3 checks to" in message.value for message in app.success)
    assert checks_of(screening)[0]["at_least"] == 0.04
    assert button(app, "Save to dataset.toml").disabled
    assert not any("Unsaved" in caption.value for caption in app.caption)
    gate = subprocess.run(
        [sys.executable, "-m", "analysis", "audit", "--config", str(screening / "dataset.toml")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_added_check_is_run_and_saved(data_root, screening):
    app = run(PAGE, "screening")
    added = {"name": "fpr parity by sex", "severity": "warning", "metric": "fpr", "attribute": "sex", "rule": "ratio_to_reference", "threshold": "0.8, 1.25"}

    edit_checks(app, added=[added])

    assert not app.exception
    assert "fpr parity by sex" in checklist(app).index
    button(app, "Save to dataset.toml").click().run()
    saved = checks_of(screening)
    assert len(saved) == 4
    assert saved[3]["ratio_to_reference"] == [0.8, 1.25]
    assert saved[3]["attribute"] == "sex"


def test_deleted_check_leaves_checklist(data_root):
    app = run(PAGE, "screening")

    edit_checks(app, deleted=[0])

    assert not app.exception
    assert "covid recall" not in checklist(app).index
    assert len(checklist(app)) == 2


def test_invalid_threshold_named_and_file_checks_shown(data_root, screening):
    app = run(PAGE, "screening")

    edit_checks(app, {0: {"threshold": "eighty percent"}})

    assert not app.exception
    errors = [message.value.replace("\\", "") for message in app.error]
    assert any("audit check 1 (covid recall): at_least = 'eighty percent' is not allowed" in text and "Write a number" in text for text in errors)
    assert checklist(app).loc["covid recall", "status"] == "fail"
    assert button(app, "Save to dataset.toml").disabled


def test_unknown_reference_named(data_root):
    app = run(PAGE, "screening")
    added = {"name": "fpr parity", "metric": "fpr", "attribute": "sex", "rule": "ratio_to_reference", "threshold": "0.8, 1.25", "reference": "martian"}

    edit_checks(app, added=[added])

    assert not app.exception
    errors = " ".join(message.value.replace("\\", "") for message in app.error)
    assert "martian" in errors
    assert app.data_editor


def test_global_filter_copied_into_spec(data_root, screening):
    app = run(PAGE, "screening", keep="attr:sex=female")

    button(app, "Use the sidebar's global filter").click().run()

    assert not app.exception
    captions = " ".join(caption.value.replace("\\", "") for caption in app.caption)
    assert "only examples with sex = female" in captions
    frame = screening_rates()
    female = frame[frame["sex"] == "female"]
    assert checklist(app).loc["covid recall", "support"] == int((female["true_label"] == "covid").sum())
    button(app, "Save to dataset.toml").click().run()
    saved = tomllib.loads((screening / "dataset.toml").read_text(encoding="utf-8"))["audit"]
    assert saved["keep"] == ["attr:sex=female"]
    assert load_config(screening / "dataset.toml").audit.keep == ("attr:sex=female",)


def test_discard_restores_file_checks(data_root):
    app = run(PAGE, "screening")
    edit_checks(app, {0: {"threshold": "0.04"}})

    button(app, "Discard edits").click().run()

    assert not app.exception
    assert checklist(app).loc["covid recall", "status"] == "fail"
    assert list(app.data_editor[0].value["threshold"])[0] == "0.8"
    assert button(app, "Discard edits").disabled


def test_file_changed_meanwhile_not_overwritten(data_root, screening):
    path = screening / "dataset.toml"
    app = run(PAGE, "screening")
    edit_checks(app, {0: {"threshold": "0.04"}})
    changed = path.read_text(encoding="utf-8").replace("at_least = 0.8", "at_least = 0.7")
    path.write_text(changed, encoding="utf-8")

    app.run()
    button(app, "Save to dataset.toml").click().run()

    assert not app.exception
    errors = " ".join(message.value.replace("\\", "") for message in app.error)
    assert "changed after this page read it" in errors
    assert path.read_text(encoding="utf-8") == changed


def test_demo_mode_cannot_save(data_root, monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")
    app = run(PAGE, "screening")

    edit_checks(app, {0: {"threshold": "0.04"}})

    assert not app.exception
    assert checklist(app).loc["covid recall", "status"] == "pass"
    assert button(app, "Save to dataset.toml").disabled
    assert any("cannot be saved" in caption.value for caption in app.caption)


def test_new_section_from_dataset_without_audit(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "speech_commands"
    shutil.copytree(SAMPLE_DATA / "speech_commands", folder)
    isolate_settings(monkeypatch, tmp_path / "workspace")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    app = run(PAGE, "speech_commands")
    assert any("no audit checks yet" in message.value for message in app.info)

    edit_checks(app, added=[{"name": "overall accuracy", "severity": "blocking", "metric": "accuracy", "rule": "at_least", "threshold": "0.5"}])
    button(app, "Save to dataset.toml").click().run()

    assert not app.exception
    assert checklist(app).loc["overall accuracy", "status"] == "pass"
    assert load_config(folder / "dataset.toml").audit.checks[0].threshold == 0.5


def test_ratio_and_fairness_thresholds_shown(data_root):
    from fairlearn.metrics import demographic_parity_difference

    frame = screening_rates()
    expected = demographic_parity_difference(frame["true_label"] == "covid", frame["pred_label"] == "covid", sensitive_features=frame["sex"])
    app = run(PAGE, "screening")
    added = [
        {"name": "parity by sex", "metric": "demographic_parity_difference", "attribute": "sex", "rule": "at_most", "threshold": "0.1"},
        {"name": "accuracy spread by device", "metric": "accuracy", "attribute": "device", "rule": "min_max_ratio", "threshold": "0.8"},
    ]

    edit_checks(app, added=added)

    assert not app.exception
    table = checklist(app)
    assert table.loc["parity by sex", "threshold"] == "at most 0.1"
    assert table.loc["parity by sex", "value"] == f"{expected:.3f}"
    assert table.loc["accuracy spread by device", "threshold"] == "ratio at least 0.8"
