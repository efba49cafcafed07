"""The overview page (dashboard.py) run with Streamlit's AppTest, and the data-root helpers of ui.data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import load_config, load_dataset, summarize
from ui.data import DATA_ROOT_VARIABLE, DEFAULT_DATA_ROOT, data_root, dataset_fingerprint, list_datasets
from ui.formatting import PERCENT_FORMAT

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
SAMPLE_NAMES = sorted(path.parent.name for path in SAMPLE_DATA.glob("*/dataset.toml"))
COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"

CLASSIFICATION_TOML = """\
schema = 1
name = "{name}"

[files]
predictions = "predictions.csv"
"""


@pytest.fixture(autouse=True)
def default_data_root(monkeypatch):
    """Start every test from the default data root, whatever the shell exports."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)


def run_page(dataset: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    if dataset is not None:
        app.query_params["dataset"] = dataset
    return app.run()


def engine_summary(folder: Path) -> dict:
    return summarize(load_dataset(load_config(folder)))


def metric_values(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def write_classification_dataset(folder: Path, pairs: list[tuple[str, str]], name: str = "tiny") -> None:
    """Write a dataset of (label, prediction) pairs with ids 1, 2, ... and no metadata; "" leaves a cell empty."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,label,prediction"] + [f"{index},{label},{prediction}" for index, (label, prediction) in enumerate(pairs, 1)]
    (folder / "predictions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "dataset.toml").write_text(CLASSIFICATION_TOML.format(name=name), encoding="utf-8")


def column_formats(app: AppTest, index: int) -> dict[str, str]:
    """Return the display format per column of the ``index``-th table, as the page configured it."""
    config = json.loads(app.dataframe[index].proto.columns)
    return {name: settings.get("type_config", {}).get("format") for name, settings in config.items()}


# The page on the bundled and shared datasets --------------------------------------------


def test_sample_datasets_found():
    assert SAMPLE_NAMES, "no sample dataset under sample_data/"
    assert list_datasets(SAMPLE_DATA) == SAMPLE_NAMES


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_page_runs_on_sample(name):
    app = run_page(name)

    assert not app.exception
    assert not app.error
    assert app.query_params["dataset"] == name
    assert app.title[0].value
    assert "Accuracy" in metric_values(app)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_headline_metrics_match_summary(name):
    summary = engine_summary(SAMPLE_DATA / name)
    overall = summary["overall"]

    metrics = metric_values(run_page(name))

    assert metrics["Examples"] == f"{overall['examples']:,}"
    assert metrics["Accuracy"] == f"{100 * overall['accuracy']:.1f}%"
    assert metrics["Error rate"] == f"{100 * overall['error_rate']:.1f}%"
    if summary["classes"] is not None:
        assert metrics["Balanced accuracy"] == f"{100 * overall['balanced_accuracy']:.1f}%"
        assert metrics["Macro F1"] == f"{overall['macro_f1']:.3f}"
        assert metrics["Majority-class accuracy"] == f"{100 * summary['imbalance']['majority_class_accuracy']:.1f}%"


def test_page_runs_on_compas_copy(tmp_path, monkeypatch):
    if not (COMPAS / "predictions.csv").is_file() or not (COMPAS / "metadata.csv").is_file():
        pytest.skip(f"the COMPAS files are not in {COMPAS}")
    folder = tmp_path / "compas"
    folder.mkdir()
    shutil.copy(COMPAS / "predictions.csv", folder)
    shutil.copy(COMPAS / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(
        'schema = 1\nname = "COMPAS two-year recidivism"\n\n'
        '[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n\n'
        '[task]\npositive_class = "1"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    summary = engine_summary(folder)

    app = run_page("compas")

    assert not app.exception
    assert not app.error
    assert app.title[0].value == "COMPAS two\\-year recidivism"
    assert metric_values(app)["Accuracy"] == f"{100 * summary['overall']['accuracy']:.1f}%"
    tag_rows = app.dataframe[-1].value
    assert "(untagged)" in list(tag_rows["tag"])
    assert "tag_juvenile_record" in list(tag_rows["tag"])


# Dataset choice in the URL ------------------------------------------------------------------


def test_unknown_dataset_falls_back_with_notice():
    app = run_page("no_such_dataset")

    assert not app.exception
    assert app.query_params["dataset"] == SAMPLE_NAMES[0]
    assert app.sidebar.selectbox[0].value == SAMPLE_NAMES[0]
    notices = [warning.value for warning in app.warning]
    assert any("no\\_such\\_dataset" in notice for notice in notices), notices


@pytest.mark.parametrize("value", ["../sample_data/digits", str(SAMPLE_DATA / "digits"), ""])
def test_path_in_query_falls_back(value):
    app = run_page(value)

    assert not app.exception
    assert app.query_params["dataset"] == SAMPLE_NAMES[0]
    assert app.warning


def test_no_query_shows_first_dataset():
    app = run_page()

    assert not app.exception
    assert app.query_params["dataset"] == SAMPLE_NAMES[0]
    assert not app.warning or all("address asks" not in warning.value for warning in app.warning)


def test_picker_choice_goes_to_query():
    app = run_page(SAMPLE_NAMES[0])
    other = SAMPLE_NAMES[-1]

    app.sidebar.selectbox[0].set_value(other).run()

    assert not app.exception
    assert app.query_params["dataset"] == other
    expected_title = engine_summary(SAMPLE_DATA / other)["dataset"]
    assert app.title[0].value.replace("\\", "") == expected_title


# Content of the page ----------------------------------------------------------------------------


def test_score_mode_replaces_class_sections():
    app = run_page("diabetes_regression")

    metrics = metric_values(app)
    assert "Balanced accuracy" not in metrics
    assert "Macro F1" not in metrics
    assert all(header.value != "Per class" for header in app.subheader)
    assert any("no classes" in info.value for info in app.info)


def test_imbalance_callouts_on_screening():
    summary = engine_summary(SAMPLE_DATA / "screening")
    codes = [warning["code"] for warning in summary["imbalance"]["warnings"]]
    assert "accuracy_near_majority" in codes

    app = run_page("screening")

    callouts = [warning.value for warning in app.warning]
    assert len(callouts) == len(codes)
    assert any(callout.startswith("**Accuracy looks better than the model is**") for callout in callouts)


def test_tables_show_rates_as_percentages():
    app = run_page("speech_commands")

    classes, slices, tags = (column_formats(app, index) for index in range(3))
    assert classes["precision"] == PERCENT_FORMAT
    assert classes["recall"] == PERCENT_FORMAT
    assert slices["share"] == PERCENT_FORMAT
    assert slices["error_rate"] == PERCENT_FORMAT
    assert slices["accuracy"] == PERCENT_FORMAT
    assert tags["share_of_data"] == PERCENT_FORMAT
    assert tags["share_of_errors"] == PERCENT_FORMAT
    assert tags["hlp"] == PERCENT_FORMAT


def test_slice_table_matches_summary():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")
    first = summary["slices"][0]["column"]
    expected = [row for row in summary["slices"] if row["column"] == first]

    app = run_page("speech_commands")
    table = app.dataframe[1].value

    assert list(table["value"]) == [row["value"] for row in expected]
    assert list(table["count"]) == [row["count"] for row in expected]
    assert list(table["error_rate"]) == pytest.approx([100 * row["error_rate"] for row in expected])
    assert list(table["gap_to_overall"]) == pytest.approx([100 * row["gap_to_overall"] for row in expected])


def test_all_attributes_sorted_by_gap():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")
    app = run_page("speech_commands")
    picker = app.selectbox(key="slice_attribute:" + summary["dataset"])

    picker.select_index(len(picker.options) - 1).run()
    table = app.dataframe[1].value

    assert not app.exception
    assert len(table) == len(summary["slices"])
    assert set(table["column"]) == {row["column"] for row in summary["slices"]}
    gaps = list(table["gap_to_overall"])
    assert gaps == sorted(gaps, reverse=True)


def test_tag_table_includes_untagged_group():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")

    table = run_page("speech_commands").dataframe[2].value

    assert list(table["tag"]) == [row["tag"] for row in summary["tags"]]
    assert "(untagged)" in list(table["tag"])
    assert list(table["potential_gain"]) == pytest.approx([100 * row["potential_gain"] for row in summary["tags"]])


def test_what_if_shows_estimate():
    estimate = engine_summary(SAMPLE_DATA / "speech_commands")["what_if"]

    metrics = metric_values(run_page("speech_commands"))

    assert metrics["Accuracy now"] == f"{100 * estimate['accuracy_before']:.1f}%"
    assert metrics["Accuracy after"] == f"{100 * estimate['accuracy_after']:.1f}%"


def test_load_warnings_and_dropped_rows(tmp_path, monkeypatch):
    folder = tmp_path / "gaps"
    write_classification_dataset(folder, [("a", "a"), ("b", "a"), ("", "b"), ("b", ""), ("a", "a")])
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    app = run_page("gaps")

    assert not app.exception
    assert not app.error
    assert metric_values(app)["Examples"] == "3"
    assert any("no label" in warning.value for warning in app.warning)
    assert any("no prediction" in warning.value for warning in app.warning)
    dropped = app.dataframe[0].value
    assert dict(zip(dropped["reason"], dropped["rows"]))["examples without a label"] == 1


# Broken and empty data roots ------------------------------------------------------------------------


def test_broken_dataset_shows_error_and_sidebar_works(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset.toml").write_text('schema = 1\n\n[files]\npredictions = "missing.csv"\n', encoding="utf-8")
    write_classification_dataset(tmp_path / "working", [("a", "a"), ("b", "a")], name="Working")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    app = run_page("broken")

    assert not app.exception
    assert len(app.error) == 1
    assert "missing\\.csv" in app.error[0].value
    assert not app.metric
    assert app.sidebar.selectbox[0].options == ["broken", "working"]

    app.sidebar.selectbox[0].set_value("working").run()

    assert not app.exception
    assert not app.error
    assert app.title[0].value == "Working"
    assert metric_values(app)["Accuracy"] == "50.0%"


def test_invalid_toml_shows_error(tmp_path, monkeypatch):
    folder = tmp_path / "bad_toml"
    folder.mkdir()
    (folder / "dataset.toml").write_text("schema = 1\n[files\n", encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    app = run_page("bad_toml")

    assert not app.exception
    assert len(app.error) == 1
    assert "not valid TOML" in app.error[0].value


def test_empty_data_root_explains(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    app = run_page()

    assert not app.exception
    assert len(app.warning) == 1
    assert "No dataset found" in app.warning[0].value
    assert "--data-root PATH" in app.warning[0].value
    assert DATA_ROOT_VARIABLE in app.warning[0].value


def test_missing_data_root_explains(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path / "absent"))

    app = run_page()

    assert not app.exception
    assert "does not exist" in app.warning[0].value


def test_changed_file_is_read_again(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    write_classification_dataset(folder, [("a", "a"), ("b", "b")])
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    app = run_page("tiny")
    assert metric_values(app)["Accuracy"] == "100.0%"

    write_classification_dataset(folder, [("a", "a"), ("b", "a"), ("a", "b")])
    app.run()

    assert metric_values(app)["Accuracy"] == "33.3%"


# Data root and discovery helpers ----------------------------------------------------------------------


def test_data_root_argument_wins(tmp_path):
    from_argument = tmp_path / "argument"
    environment = {DATA_ROOT_VARIABLE: str(tmp_path / "environment")}

    assert data_root(["--data-root", str(from_argument)], environment) == from_argument
    assert data_root([f"--data-root={from_argument}"], environment) == from_argument


def test_data_root_from_environment(tmp_path):
    environment = {DATA_ROOT_VARIABLE: str(tmp_path)}

    assert data_root(["--other", "x"], environment) == tmp_path


def test_data_root_default():
    assert data_root([], {}) == DEFAULT_DATA_ROOT
    assert data_root([], {DATA_ROOT_VARIABLE: ""}) == DEFAULT_DATA_ROOT
    assert DEFAULT_DATA_ROOT == SAMPLE_DATA


def test_data_root_relative_path_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert data_root(["--data-root", "datasets"], {}) == tmp_path.resolve() / "datasets"


@pytest.mark.parametrize("argv", [["--data-root"], ["--data-root", "--server.port"], ["--data-root="]])
def test_data_root_argument_without_value(argv):
    from analysis import ConfigError

    with pytest.raises(ConfigError):
        data_root(argv, {})


def test_list_datasets_filters_and_sorts(tmp_path):
    for name in ["beta", "Alpha", "gamma", ".hidden"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "dataset.toml").write_text("schema = 1\n", encoding="utf-8")
    (tmp_path / "no_toml").mkdir()
    (tmp_path / "other_name").mkdir()
    (tmp_path / "other_name" / "run.toml").write_text("schema = 1\n", encoding="utf-8")
    (tmp_path / "loose.toml").write_text("schema = 1\n", encoding="utf-8")

    assert list_datasets(tmp_path) == ["Alpha", "beta", "gamma", "other_name"]
    assert list_datasets(tmp_path / "absent") == []


def test_fingerprint_follows_files(tmp_path):
    write_classification_dataset(tmp_path, [("a", "a")])
    before = dataset_fingerprint(tmp_path)
    paths = [Path(path) for path, _size, _time in before]
    assert paths == [tmp_path / "dataset.toml", tmp_path / "predictions.csv"]

    (tmp_path / "predictions.csv").write_text("id,label,prediction\n1,a,a\n2,b,b\n", encoding="utf-8")
    os.utime(tmp_path / "predictions.csv", ns=(1, 1))

    assert dataset_fingerprint(tmp_path) != before
