"""The Audit page (pages/6_Audit.py) under AppTest: verdict, checklist and evidence against pandas."""

from __future__ import annotations

import pandas as pd
import pytest
from workspace_pages import SAMPLE_DATA, isolate_settings, run

PAGE = "pages/6_Audit.py"


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    return folder


def screening_recall() -> tuple[float, int]:
    """Recall of covid on the screening sample, computed with pandas."""
    predictions = pd.read_parquet(SAMPLE_DATA / "screening" / "predictions.parquet")
    positives = predictions[predictions["true_label"] == "covid"]
    return float((positives["pred_label"] == "covid").mean()), len(positives)


def test_screening_checklist_fails_on_covid_recall():
    recall, support = screening_recall()

    app = run(PAGE, "screening")

    assert not app.exception
    assert any("The audit fails: 1 check of 3 fails, and it is blocking." in message.value for message in app.error)
    table = app.dataframe[0].value.set_index("check")
    assert table.loc["covid recall", "status"] == "fail"
    assert table.loc["covid recall", "severity"] == "blocking"
    assert table.loc["covid recall", "value"] == f"{recall:.1%}"
    assert table.loc["covid recall", "support"] == support
    assert table.loc["covid recall", "threshold"] == "80.0%"
    assert set(table["status"]) == {"fail", "pass"}


def test_failed_check_evidence_is_open():
    app = run(PAGE, "screening")

    expanders = {expander.label: expander for expander in app.expander}

    assert "fail: covid recall" in expanders
    assert "pass: accuracy by sex" in expanders
    by_sex = expanders["pass: accuracy by sex"].dataframe[0].value
    assert set(by_sex["group"]) >= {"female", "male"}


def test_dataset_without_audit_section_explains():
    app = run(PAGE, "speech_commands")

    assert not app.exception
    assert any("no audit checks yet" in message.value for message in app.info)
    assert not [frame for frame in app.dataframe if frame.editing_mode == "read_only"]
    assert app.data_editor[0].value.empty
