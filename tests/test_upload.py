"""Opening uploaded files: the dataset file written from a column mapping, and the sidebar form under AppTest.

Streamlit 1.67's AppTest drives ``st.file_uploader`` (``set_value`` with
(name, bytes, MIME type) tuples), so the page tests upload real bytes through
the widget and click the form's button, as a user does.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from analysis import load_config, load_dataset, summarize
from analysis.model import (
    MODE_CLASSIFICATION,
    MODE_CORRECT_FLAG,
    MODE_PER_EXAMPLE_SCORE,
)
from ui.data import (
    DATA_ROOT_VARIABLE,
    DEMO_VARIABLE,
    new_upload_folder,
    remove_stale_uploads,
    upload_root,
)
from ui.sidebar import PAGES, UPLOAD_CHOICE
from ui.upload import (
    DEMO_UPLOAD_LIMIT_MB,
    ColumnMapping,
    dataset_toml,
    safe_file_name,
    shown_text,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"

PREDICTIONS_KEY = "upload_file_predictions"
METADATA_KEY = "upload_file_metadata"
PICKER_KEY = "sidebar_dataset_picker"
UPLOAD_NOTICE = "cannot be shared by link"

HOSTILE_NAMES = ['ex "id"', "label = truth", "préd ü", "sc'ore", "tag \"noisy\"=1", "back\\slash", "group [a] # b", "tab\tcol"]


@pytest.fixture(autouse=True)
def default_server(monkeypatch):
    """Start every test from the sample data root, outside demo mode, whatever the shell exports."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)
    monkeypatch.delenv(DEMO_VARIABLE, raising=False)


# The dataset file written from a mapping ------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE_NAMES, "", "'''", '"""', "line\nbreak", "bell\x07", "delete\x7f", "日本語 列", "emoji 🙂"])
def test_dataset_file_keeps_hostile_names(text):
    mapping = ColumnMapping(id=text, label=text + "l", prediction=text + "p", tag_columns=[text, text + "t"], positive_class=text)
    document = tomllib.loads(dataset_toml(mapping, text, "predictions.csv"))

    assert document["name"] == text
    assert document["columns"] == {"id": text, "label": text + "l", "prediction": text + "p"}
    assert document["tags"] == {"columns": [text, text + "t"]}
    assert document["task"] == {"positive_class": text}


@given(st.text(), st.text())
def test_dataset_file_keeps_any_text(name, column):
    document = tomllib.loads(dataset_toml(ColumnMapping(id=column), name, "p.csv"))
    assert document["name"] == name
    assert document["columns"]["id"] == column


def write_hostile_files(folder: Path) -> None:
    """Write a predictions and a metadata CSV whose every column name needs TOML quoting."""
    identifier, label, prediction, score, tag, attribute = 'ex "id"', "label = truth", "préd ü", "sc'ore", 'tag "noisy"=1', "group [a] # b"
    predictions = pd.DataFrame(
        {
            identifier: [f"e{i}" for i in range(40)],
            label: ["yes" if i % 3 else "no" for i in range(40)],
            prediction: ["yes" if i % 4 else "no" for i in range(40)],
            score: [round(0.5 + i / 100, 2) for i in range(40)],
        }
    )
    metadata = pd.DataFrame(
        {
            identifier: [f"e{i}" for i in range(40)],
            attribute: ["a" if i < 25 else "b" for i in range(40)],
            tag: [i % 5 == 0 for i in range(40)],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(folder / "predictions.csv", index=False)
    metadata.to_csv(folder / "metadata.csv", index=False)


# Written by hand: literal strings ('...') where the name has no apostrophe, and
# a basic string ("...") where it has one.
HAND_WRITTEN_TOML = """\
schema = 1
name = "Hostile names"

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[columns]
id = 'ex "id"'
label = 'label = truth'
prediction = 'préd ü'
score = "sc'ore"

[tags]
columns = ['tag "noisy"=1']

[task]
positive_class = 'yes'
"""


def test_hostile_names_match_hand_written_file(tmp_path):
    write_hostile_files(tmp_path)
    mapping = ColumnMapping(
        id='ex "id"',
        label="label = truth",
        prediction="préd ü",
        score="sc'ore",
        tag_columns=['tag "noisy"=1'],
        positive_class="yes",
    )
    (tmp_path / "dataset.toml").write_text(dataset_toml(mapping, "Hostile names", "predictions.csv", "metadata.csv"), encoding="utf-8")
    (tmp_path / "hand.toml").write_text(HAND_WRITTEN_TOML, encoding="utf-8")

    written = load_config(tmp_path / "dataset.toml")
    hand = load_config(tmp_path / "hand.toml")
    written_summary = summarize(load_dataset(written))
    hand_summary = summarize(load_dataset(hand))

    assert written.id_column == 'ex "id"'
    assert written.label_column == "label = truth"
    assert written.prediction_column == "préd ü"
    assert written.score_column == "sc'ore"
    assert written.tag_columns == ['tag "noisy"=1']
    assert written.positive_class == "yes"
    assert written_summary["overall"]["examples"] == 40
    assert [tag["tag"] for tag in written_summary["tags"]][:1] == ['tag "noisy"=1']
    assert json.dumps(written_summary, sort_keys=True, default=str) == json.dumps(hand_summary, sort_keys=True, default=str)


def test_toml_per_example_score_mode():
    mapping = ColumnMapping(id="example_id", mode=MODE_PER_EXAMPLE_SCORE, score="abs error", error_threshold=60, error_when="below")

    document = tomllib.loads(dataset_toml(mapping, "r", "p.jsonl"))

    assert document["columns"] == {"id": "example_id", "score": "abs error"}
    assert document["task"] == {"error_threshold": 60.0, "error_when": "below"}
    assert document["tags"] == {"columns": []}


def test_toml_correct_flag_and_list_tags():
    mapping = ColumnMapping(id="id", mode=MODE_CORRECT_FLAG, correct="ok?", tag_list_column="tags;all", tag_separator="|", positive_class="ignored")

    document = tomllib.loads(dataset_toml(mapping, "r", "p.csv", "m.csv"))

    assert document["columns"] == {"id": "id", "correct": "ok?"}
    assert document["tags"] == {"list_column": "tags;all", "separator": "|"}
    assert "task" not in document
    assert document["files"] == {"predictions": "p.csv", "metadata": "m.csv"}


def test_toml_threshold_must_be_finite():
    mapping = ColumnMapping(id="id", mode=MODE_PER_EXAMPLE_SCORE, score="s", error_threshold=float("nan"))

    with pytest.raises(ValueError, match="finite threshold"):
        dataset_toml(mapping, "r", "p.csv")


def test_default_mode_is_classification():
    assert ColumnMapping(id="id").mode == MODE_CLASSIFICATION


# Upload folders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/preds.csv", "preds.csv"),
        ("C:\\Users\\me\\preds.csv", "preds.csv"),
        (".hidden.csv", "predictions.hidden.csv"),
        ("dataset.toml", "predictionsdataset.toml"),
        ("new\nline.csv", "newline.csv"),
    ],
)
def test_safe_file_name(name, expected):
    assert safe_file_name(name, "predictions", set()) == expected


def test_safe_file_name_avoids_taken_name():
    assert safe_file_name("data.csv", "metadata", {"DATA.csv"}) == "metadata_data.csv"


def test_upload_root_is_hidden_and_outside_data_root():
    root = upload_root()

    assert root.name.startswith(".")
    assert not root.is_relative_to(SAMPLE_DATA)


def test_stale_uploads_removed(tmp_path):
    folder = new_upload_folder("abc123")
    session_folder = folder.parent

    kept = remove_stale_uploads(max_age_seconds=3600)
    removed = remove_stale_uploads(max_age_seconds=3600, now=session_folder.stat().st_mtime + 7200)

    assert session_folder not in kept
    assert session_folder in removed
    assert not session_folder.exists()


def test_session_token_must_be_alphanumeric():
    with pytest.raises(ValueError, match="invalid session token"):
        new_upload_folder("../x")


def test_shown_text_leaves_out_upload_folder():
    folder = new_upload_folder("def456")

    shown = shown_text(f"The predictions file {folder / 'preds.csv'} is empty.")

    assert shown == "The predictions file preds.csv is empty."


# The sidebar form under AppTest ---------------------------------------------------------


def start_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


def upload(app: AppTest, predictions: tuple[str, bytes], metadata: tuple[str, bytes] | None = None) -> AppTest:
    app.file_uploader(key=PREDICTIONS_KEY).set_value((*predictions, "application/octet-stream"))
    if metadata is not None:
        app.file_uploader(key=METADATA_KEY).set_value((*metadata, "application/octet-stream"))
    return app.run()


def open_upload(app: AppTest) -> AppTest:
    app.button(key="upload_open").click()
    return app.run()


def error_texts(app: AppTest) -> list[str]:
    """Return the error boxes' text with the Markdown escapes removed."""
    return [re.sub(r"\\(.)", r"\1", element.value) for element in app.error]


def headline_metrics(app: AppTest) -> dict[str, str]:
    """Return each metric's value by label, the first metric of a label winning.

    A two-class task with scores shows a second Accuracy further down, at the
    chosen threshold; the headline one comes first.
    """
    metrics: dict[str, str] = {}
    for metric in app.metric:
        metrics.setdefault(metric.label, metric.value)
    return metrics


def sample_pair(name: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    folder = SAMPLE_DATA / name
    return ("predictions.csv", (folder / "predictions.csv").read_bytes()), ("metadata.csv", (folder / "metadata.csv").read_bytes())


def real_pair(folder: Path) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """Return the two files of a real dataset beside the repository, named as a user's upload would be."""
    if not (folder / "predictions.csv").is_file():
        pytest.skip(f"the {folder.name} files are not in {folder}")
    return (
        (f"{folder.name} predictions.csv", (folder / "predictions.csv").read_bytes()),
        (f"{folder.name} metadata.csv", (folder / "metadata.csv").read_bytes()),
    )


def compas_pair() -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    return real_pair(COMPAS)


def test_uploader_help_states_limit():
    app = start_app()

    uploader = app.file_uploader(key=PREDICTIONS_KEY)

    assert not app.exception
    assert "500 MB" in uploader.help
    assert {"csv", "parquet", "json", "jsonl", "gz"} <= {t.lstrip(".") for t in uploader.allowed_type}


def test_compas_upload_opens_on_overview(tmp_path):
    predictions, metadata = compas_pair()
    folder = tmp_path / "compas"
    folder.mkdir()
    shutil.copy(COMPAS / "predictions.csv", folder)
    shutil.copy(COMPAS / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n[task]\npositive_class = "1"\n',
        encoding="utf-8",
    )
    overall = summarize(load_dataset(load_config(folder)))["overall"]

    app = upload(start_app(), predictions, metadata)
    guessed = {
        "id": app.selectbox(key="upload_id").value,
        "label": app.selectbox(key="upload_label").value,
        "prediction": app.selectbox(key="upload_prediction").value,
        "positive": app.selectbox(key="upload_positive_class").value,
    }
    app = open_upload(app)
    metrics = headline_metrics(app)

    assert guessed == {"id": "example_id", "label": "true_label", "prediction": "pred_label", "positive": "1"}
    assert app.multiselect(key="upload_tag_columns").value == [
        "tag_propublica_filtered_out",
        "tag_missing_jail_dates",
        "tag_juvenile_record",
        "tag_missing_charge_desc",
    ]
    assert not app.exception
    assert not error_texts(app)
    assert "dataset" not in app.query_params
    assert app.selectbox(key=PICKER_KEY).value == UPLOAD_CHOICE
    assert any(UPLOAD_NOTICE in info.value for info in app.sidebar.info)
    assert metrics["Examples"] == f"{overall['examples']:,}"
    assert metrics["Accuracy"] == f"{100 * overall['accuracy']:.1f}%"


@pytest.mark.parametrize("pair", ["speech_commands", "compas", "cifar10"])
def test_every_page_runs_on_upload(pair):
    predictions, metadata = real_pair(COMPAS.parent / pair) if pair in ("compas", "cifar10") else sample_pair(pair)
    app = upload(start_app(), predictions, metadata)
    if pair == "speech_commands":
        app.radio(key="upload_tag_form").set_value("columns").run()
        app.multiselect(key="upload_tag_columns").set_value(["car_noise", "people_noise", "low_bandwidth"])
    app = open_upload(app)
    assert not app.exception
    assert not error_texts(app)

    for script, _label, _icon in PAGES:
        app.switch_page(script).run()

        assert not app.exception, script
        assert not error_texts(app), script
        assert "dataset" not in app.query_params, script
        assert app.selectbox(key=PICKER_KEY).value == UPLOAD_CHOICE, script


def test_speech_commands_upload_matches_sample():
    predictions, metadata = sample_pair("speech_commands")
    overall = summarize(load_dataset(load_config(SAMPLE_DATA / "speech_commands")))["overall"]

    app = open_upload(upload(start_app(), predictions, metadata))
    metrics = headline_metrics(app)

    assert metrics["Examples"] == f"{overall['examples']:,}"
    assert metrics["Accuracy"] == f"{100 * overall['accuracy']:.1f}%"
    assert metrics["Error rate"] == f"{100 * overall['error_rate']:.1f}%"


def test_upload_not_listed_in_other_session():
    predictions, metadata = sample_pair("speech_commands")
    open_upload(upload(start_app(), predictions, metadata))

    other = start_app()

    assert UPLOAD_CHOICE not in other.selectbox(key=PICKER_KEY).options
    assert other.selectbox(key=PICKER_KEY).value == other.query_params["dataset"]


def test_link_to_sample_leaves_upload():
    predictions, metadata = sample_pair("speech_commands")
    app = open_upload(upload(start_app(), predictions, metadata))

    app.selectbox(key=PICKER_KEY).set_value("screening").run()

    assert app.query_params["dataset"] == "screening"
    assert not any(UPLOAD_NOTICE in info.value for info in app.sidebar.info)
    assert any(option.startswith("Uploaded:") for option in app.selectbox(key=PICKER_KEY).options)


def test_empty_file_named():
    app = upload(start_app(), ("empty preds.csv", b""))

    assert not app.exception
    assert any("empty preds.csv" in text and "is empty" in text for text in error_texts(app)), error_texts(app)
    assert not app.button


def test_unreadable_format_named():
    app = upload(start_app(), ("preds.parquet", b"id,label,prediction\n1,a,a\n"))

    assert not app.exception
    assert any("preds.parquet" in text and "PARQUET" in text for text in error_texts(app)), error_texts(app)


def test_metadata_without_id_named():
    predictions = ("preds.csv", b"example_id,label,prediction\n1,a,a\n2,b,a\n")
    metadata = ("meta.csv", b"key,group\n1,x\n2,y\n")
    app = upload(start_app(), predictions, metadata)
    app.selectbox(key="upload_label").set_value("prediction").run()

    app = open_upload(app)

    assert not app.exception
    assert any("meta.csv" in text and "'example_id'" in text for text in error_texts(app)), error_texts(app)
    assert app.selectbox(key="upload_label").value == "prediction"
    assert app.selectbox(key=PICKER_KEY).value != UPLOAD_CHOICE


def test_corrected_file_keeps_mapping():
    predictions = ("preds.csv", b"id,truth,guess\n1,a,a\n2,b,a\n")
    app = upload(start_app(), predictions, ("meta.csv", b"key,group\n1,x\n2,y\n"))
    app.selectbox(key="upload_label").set_value("truth").run()
    app.selectbox(key="upload_prediction").set_value("guess").run()
    app = open_upload(app)
    assert any("meta.csv" in text for text in error_texts(app)), error_texts(app)

    app.file_uploader(key=METADATA_KEY).set_value(("meta fixed.csv", b"id,group\n1,x\n2,y\n", "text/csv"))
    app = app.run()

    assert app.selectbox(key="upload_label").value == "truth"
    assert app.selectbox(key="upload_prediction").value == "guess"
    app = open_upload(app)
    assert not error_texts(app)
    assert headline_metrics(app)["Accuracy"] == "50.0%"


def test_flag_column_with_text_named():
    predictions = ("preds.csv", b"id,label,prediction,note\n1,a,a,fine\n2,b,a,bad\n")
    app = upload(start_app(), predictions)
    app.radio(key="upload_mode").set_value(MODE_CORRECT_FLAG).run()
    app.selectbox(key="upload_correct").set_value("note").run()

    app = open_upload(app)

    assert not app.exception
    assert any("note" in text and "preds.csv" in text and "not true or false" in text for text in error_texts(app)), error_texts(app)
    assert app.radio(key="upload_mode").value == MODE_CORRECT_FLAG
    assert app.selectbox(key="upload_correct").value == "note"


def test_missing_threshold_named():
    predictions = ("preds.csv", b"id,score\n1,3.5\n2,70\n")
    app = upload(start_app(), predictions)

    assert app.radio(key="upload_mode").value == MODE_PER_EXAMPLE_SCORE
    app = open_upload(app)
    assert any("threshold is missing" in text for text in error_texts(app)), error_texts(app)

    app.number_input(key="upload_threshold").set_value(60.0).run()
    app = open_upload(app)
    assert not error_texts(app)
    assert headline_metrics(app)["Error rate"] == "50.0%"


# Demo mode --------------------------------------------------------------------------------


def test_demo_help_states_lower_limit(monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = start_app()

    assert f"{DEMO_UPLOAD_LIMIT_MB} MB" in app.file_uploader(key=PREDICTIONS_KEY).help


def test_demo_rejects_large_file(monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")
    rows = (DEMO_UPLOAD_LIMIT_MB + 1) * 1024 * 1024 // 6
    content = b"id,label,prediction\n" + b"1,a,a\n" * rows

    app = upload(start_app(), ("big.csv", content))

    assert not app.exception
    assert any("big.csv" in text and f"limit of {DEMO_UPLOAD_LIMIT_MB} MB" in text for text in error_texts(app)), error_texts(app)
    assert not app.button


def test_demo_replaced_upload_removed(monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")
    app = start_app()
    app = open_upload(upload(app, ("first.csv", b"id,label,prediction\n1,a,a\n2,b,a\n")))
    first = app.session_state["upload_opened"][0]

    app = open_upload(upload(app, ("second.csv", b"id,label,prediction\n1,a,b\n2,b,b\n3,a,a\n")))
    second = app.session_state["upload_opened"][0]

    assert first.is_dir() is False
    assert second.is_dir()
    assert headline_metrics(app)["Examples"] == "3"
    assert [option for option in app.selectbox(key=PICKER_KEY).options if option.startswith("Uploaded:")] == ["Uploaded: second"]


def test_upload_opens_with_empty_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    app = start_app()
    assert any("No dataset found" in warning.value for warning in app.warning)

    app = open_upload(upload(app, ("preds.csv", b"id,label,prediction\n1,a,a\n2,b,a\n")))

    assert not app.exception
    assert not any("No dataset found" in warning.value for warning in app.warning)
    assert headline_metrics(app)["Accuracy"] == "50.0%"


def test_score_kind_written_to_dataset_file(tmp_path):
    mapping = ColumnMapping(id="example_id", label="true_label", prediction="pred_label", score="score", positive_class="1", score_kind="positive_class")
    (tmp_path / "dataset.toml").write_text(dataset_toml(mapping, "compas", "predictions.csv"), encoding="utf-8")
    (tmp_path / "predictions.csv").write_text("example_id,true_label,pred_label,score\n1,0,0,0.1\n2,1,1,0.9\n", encoding="utf-8")

    assert load_config(tmp_path).score_kind == "positive_class"

    mapping.score = None
    assert "score_kind" not in tomllib.loads(dataset_toml(mapping, "compas", "predictions.csv")).get("task", {})
