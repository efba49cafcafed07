"""The overview page (dashboard.py) run with Streamlit's AppTest, and the data-root helpers of ui.data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from streamlit.testing.v1 import AppTest

from analysis import load_config, load_dataset, summarize
from ui.data import DATA_ROOT_VARIABLE, DEMO_VARIABLE, DEFAULT_DATA_ROOT, data_root, dataset_fingerprint, list_datasets
from ui.formatting import PERCENT_FORMAT

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
SAMPLE_NAMES = sorted(path.parent.name for path in SAMPLE_DATA.glob("*/dataset.toml"))
REAL_DATA = REPO_ROOT.parent / "shared" / "data"
COMPAS = REAL_DATA / "compas"
CIFAR10 = REAL_DATA / "cifar10"

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


def run_page(dataset: str | None = None, **parameters: str | list[str]) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    if dataset is not None:
        app.query_params["dataset"] = dataset
    for name, value in parameters.items():
        app.query_params[name] = value
    return app.run()


def engine_summary(folder: Path) -> dict:
    return summarize(load_dataset(load_config(folder)))


THRESHOLD_METRICS = ("Precision", "Recall", "F1", "Accuracy at this threshold", "False-positive rate")


def metric_values(app: AppTest) -> dict[str, str]:
    """Return the value of each metric by label; the first one wins, so "Accuracy" is the headline metric."""
    values: dict[str, str] = {}
    for metric in app.metric:
        values.setdefault(metric.label, metric.value)
    return values


def threshold_metric_values(app: AppTest) -> dict[str, str]:
    """Return the metrics of the score section: the run of metrics starting at "Precision"."""
    metrics = list(app.metric)
    start = next(index for index, metric in enumerate(metrics) if metric.label == "Precision")
    found = {metric.label: metric.value for metric in metrics[start : start + len(THRESHOLD_METRICS)]}
    assert tuple(found) == THRESHOLD_METRICS
    return found


def write_classification_dataset(folder: Path, pairs: list[tuple[str, str]], name: str = "tiny") -> None:
    """Write a dataset of (label, prediction) pairs with ids 1, 2, ... and no metadata; "" leaves a cell empty."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,label,prediction"] + [f"{index},{label},{prediction}" for index, (label, prediction) in enumerate(pairs, 1)]
    (folder / "predictions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "dataset.toml").write_text(CLASSIFICATION_TOML.format(name=name), encoding="utf-8")


def table_index(app: AppTest, column: str) -> int:
    """Return the position of the first table on the page with a column named ``column``."""
    for index, table in enumerate(app.dataframe):
        if column in table.value.columns:
            return index
    raise AssertionError(f"no table with a column {column!r}")


def table(app: AppTest, column: str) -> pd.DataFrame:
    return app.dataframe[table_index(app, column)].value


def column_formats(app: AppTest, column: str) -> dict[str, str]:
    """Return the display format per column of the first table with ``column``, as the page configured it."""
    config = json.loads(app.dataframe[table_index(app, column)].proto.columns)
    return {name: settings.get("type_config", {}).get("format") for name, settings in config.items()}


def chart(app: AppTest, key: str) -> dict:
    """Return the Plotly figure of the chart with ``key`` as a dict."""
    for element in app.get("plotly_chart"):
        if element.proto.id.endswith("-" + key):
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart with key {key!r}")


def info_texts(app: AppTest) -> list[str]:
    return [element.value.replace("\\", "") for element in app.info]


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
    tag_rows = table(app, "potential_gain")
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

    callouts = [warning.value.replace("\\", "") for warning in app.warning]
    assert len(callouts) == len(codes)
    majority = next(callout for callout in callouts if "always answering" in callout)
    assert majority.startswith("**Accuracy 98.0% is no better than always answering 'negative' (98.0%)**")
    assert "It finds only 5 of the 100 'covid' examples (5.0%)." in majority


def test_tables_show_rates_as_percentages():
    app = run_page("speech_commands")

    classes, slices, tags = (column_formats(app, column) for column in ("precision", "gap_to_overall", "potential_gain"))
    assert classes["precision"] == PERCENT_FORMAT
    assert classes["recall"] == PERCENT_FORMAT
    assert slices["share"] == PERCENT_FORMAT
    assert slices["error_rate"] == PERCENT_FORMAT
    assert slices["accuracy"] == PERCENT_FORMAT
    assert tags["share_of_data"] == PERCENT_FORMAT
    assert tags["share_of_errors"] == PERCENT_FORMAT
    assert tags["hlp"] == PERCENT_FORMAT


def worst_slices(summary: dict) -> list[dict]:
    """Return the ten slices of at least 30 examples with the largest positive gap to overall, ranked with pandas."""
    frame = pd.DataFrame(summary["slices"])
    frame = frame[(frame["count"] >= 30) & (frame["gap_to_overall"] > 0)]
    return frame.sort_values("gap_to_overall", ascending=False, kind="stable").head(10).to_dict("records")


def test_worst_slices_match_summary():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")
    expected = worst_slices(summary)

    app = run_page("speech_commands")
    table = app.dataframe[table_index(app, "gap_to_overall")].value

    assert not app.exception
    assert list(table["column"]) == [row["column"] for row in expected]
    assert list(table["value"]) == [row["value"] for row in expected]
    assert list(table["count"]) == [row["count"] for row in expected]
    assert list(table["error_rate"]) == pytest.approx([100 * row["error_rate"] for row in expected])
    assert list(table["gap_to_overall"]) == pytest.approx([100 * row["gap_to_overall"] for row in expected])


def test_worst_slices_link_to_slices_page():
    app = run_page("speech_commands")
    links = [element for element in app.get("page_link") if "Slices page" in element.proto.label]

    assert len(links) == 1
    assert links[0].proto.page.endswith("Slices")


def test_tag_table_includes_untagged_group():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")

    app = run_page("speech_commands")
    table = app.dataframe[table_index(app, "potential_gain")].value

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


# Class balance, confusion matrix and scores --------------------------------------------------------


def screening_frame() -> pd.DataFrame:
    folder = SAMPLE_DATA / "screening"
    return pd.read_parquet(folder / "predictions.parquet").merge(pd.read_parquet(folder / "metadata.parquet"), on="example_id")


def threshold_expectations(truth: np.ndarray, predicted: np.ndarray) -> dict[str, str]:
    """Return the threshold metrics as the page should show them, computed by scikit-learn."""
    tn, fp, _fn, _tp = confusion_matrix(truth, predicted, labels=[False, True]).ravel()
    return {
        "Precision": f"{100 * precision_score(truth, predicted):.1f}%",
        "Recall": f"{100 * recall_score(truth, predicted):.1f}%",
        "F1": f"{f1_score(truth, predicted):.3f}",
        "Accuracy at this threshold": f"{100 * accuracy_score(truth, predicted):.1f}%",
        "False-positive rate": f"{100 * fp / (fp + tn):.1f}%",
    }


def test_threshold_from_url_matches_sklearn():
    frame = screening_frame()
    truth = (frame["true_label"] == "covid").to_numpy()
    predicted = frame["prob_covid"].to_numpy() >= 0.2

    app = run_page("screening", threshold="0.2")
    metrics = threshold_metric_values(app)

    assert not app.exception
    assert app.slider(key="overview_threshold").value == 0.2
    for label, value in threshold_expectations(truth, predicted).items():
        assert metrics[label] == value, label
    matrix = chart(app, "overview_threshold_matrix")["data"][0]["z"]
    tn, fp, fn, tp = confusion_matrix(truth, predicted).ravel()
    assert matrix == [[tp, fn], [fp, tn]]


def test_threshold_with_filter_matches_sklearn():
    frame = screening_frame()
    kept = frame[frame["sex"] == "female"]
    truth = (kept["true_label"] == "covid").to_numpy()
    predicted = kept["prob_covid"].to_numpy() >= 0.15

    app = run_page("screening", threshold="0.15", keep="attr:sex=female")
    metrics = threshold_metric_values(app)

    assert not app.exception
    for label, value in threshold_expectations(truth, predicted).items():
        assert metrics[label] == value, label
    auc = roc_auc_score(truth, kept["prob_covid"])
    assert chart(app, "overview_roc")["layout"]["title"]["text"] == f"ROC curve (AUC {auc:.3f})"


def test_default_threshold_reproduces_predictions():
    frame = screening_frame()
    truth = (frame["true_label"] == "covid").to_numpy()
    predicted = (frame["pred_label"] == "covid").to_numpy()

    app = run_page("screening")

    assert app.slider(key="overview_threshold").value == 0.5
    assert "threshold" not in app.query_params
    assert threshold_metric_values(app)["Recall"] == f"{100 * recall_score(truth, predicted):.1f}%"


def test_curve_areas_match_sklearn():
    frame = screening_frame()
    truth = frame["true_label"] == "covid"

    app = run_page("screening")

    auc = roc_auc_score(truth, frame["prob_covid"])
    precision = average_precision_score(truth, frame["prob_covid"])
    assert chart(app, "overview_roc")["layout"]["title"]["text"] == f"ROC curve (AUC {auc:.3f})"
    title = chart(app, "overview_precision_recall")["layout"]["title"]["text"]
    assert title == f"Precision-recall curve (average precision {precision:.3f})"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("high", "it is not a number."),
        ("1.5", "a threshold must be between 0 and 1."),
        ("0.355", "the threshold takes at most two decimals, such as 0.35."),
    ],
)
def test_bad_threshold_falls_back_with_notice(value, reason):
    app = run_page("screening", threshold=value)

    assert not app.exception
    assert app.slider(key="overview_threshold").value == 0.5
    assert "threshold" not in app.query_params
    assert f"The address sets threshold to '{value}', which was ignored: {reason}" in info_texts(app)


def test_slider_change_goes_to_url():
    app = run_page("screening")

    app.slider(key="overview_threshold").set_value(0.3).run()

    assert not app.exception
    assert app.query_params["threshold"] == "0.30"
    assert any(markdown.value.startswith("At threshold 0\\.30") for markdown in app.markdown)


def test_matrix_view_restored_from_url():
    summary = engine_summary(SAMPLE_DATA / "digits")
    frame = pd.read_csv(SAMPLE_DATA / "digits" / "predictions.csv", dtype=str)
    classes = summary["confusion_matrix"]["classes"]
    expected = confusion_matrix(frame["true_label"], frame["pred_label"], labels=classes, normalize="true")

    app = run_page("digits", matrix="normalised")

    assert not app.exception
    assert app.button_group(key="overview_matrix_view").value == "normalised"
    heatmap = chart(app, "confusion_matrix:" + summary["dataset"])["data"][0]
    assert np.array(heatmap["z"], dtype=float) == pytest.approx(expected)


def test_matrix_toggle_goes_to_url():
    summary = engine_summary(SAMPLE_DATA / "digits")
    app = run_page("digits")
    heatmap = chart(app, "confusion_matrix:" + summary["dataset"])["data"][0]
    assert heatmap["z"] == summary["confusion_matrix"]["counts"]

    app.button_group(key="overview_matrix_view").set_value("normalised").run()

    assert app.query_params["matrix"] == "normalised"
    assert chart(app, "confusion_matrix:" + summary["dataset"])["layout"]["title"]["text"] == "Confusion matrix, share of each label"


def test_bad_matrix_view_falls_back_with_notice():
    app = run_page("digits", matrix="percent")

    assert not app.exception
    assert app.button_group(key="overview_matrix_view").value == "counts"
    assert "matrix" not in app.query_params
    assert "The address sets matrix to 'percent', which was ignored: use counts or normalised." in info_texts(app)


def test_confused_pairs_table():
    summary = engine_summary(SAMPLE_DATA / "speech_commands")
    frame = pd.read_csv(SAMPLE_DATA / "speech_commands" / "predictions.csv", dtype=str)
    errors = frame[frame["true_label"] != frame["pred_label"]]
    expected = errors.groupby(["true_label", "pred_label"]).size().sort_values(ascending=False)

    pairs = table(run_page("speech_commands"), "prediction")

    assert list(pairs["count"]) == list(expected.iloc[: len(pairs)])
    assert list(pairs["label"]) == [pair["label"] for pair in summary["confused_pairs"]]
    assert list(pairs["prediction"]) == [pair["prediction"] for pair in summary["confused_pairs"]]


def test_class_chart_counts():
    frame = pd.read_csv(SAMPLE_DATA / "speech_commands" / "predictions.csv", dtype=str)
    summary = engine_summary(SAMPLE_DATA / "speech_commands")

    labels, predictions = chart(run_page("speech_commands"), "class_chart:" + summary["dataset"])["data"]

    assert labels["y"] == [int(frame["true_label"].value_counts()[name]) for name in labels["x"]]
    assert predictions["y"] == [int(frame["pred_label"].value_counts().get(name, 0)) for name in predictions["x"]]


def test_one_vs_rest_class_from_url():
    frame = pd.read_csv(SAMPLE_DATA / "digits" / "predictions.csv", dtype={"true_label": str})

    app = run_page("digits", **{"class": "8"})

    assert not app.exception
    assert app.selectbox(key="overview_score_class").value == "8"
    auc = roc_auc_score(frame["true_label"] == "8", frame["prob_8"])
    assert chart(app, "overview_roc")["layout"]["title"]["text"] == f"ROC curve (AUC {auc:.3f})"


def test_bad_one_vs_rest_class_falls_back():
    app = run_page("digits", **{"class": "11"})

    assert not app.exception
    assert app.selectbox(key="overview_score_class").value == "0"
    assert "class" not in app.query_params
    assert "The address sets class to '11', which was ignored: no prob_ column of the predictions file names this class." in info_texts(app)


def test_threshold_on_multiclass_dropped_with_notice():
    app = run_page("digits", threshold="0.3")

    assert not app.exception
    assert "threshold" not in app.query_params
    assert "The address sets threshold to '0.3', which was ignored: the threshold applies to two-class tasks only." in info_texts(app)


def test_class_on_binary_dropped_with_notice():
    app = run_page("screening", **{"class": "covid"})

    assert not app.exception
    assert "class" not in app.query_params
    notice = "The address sets class to 'covid', which was ignored: one-vs-rest curves are for tasks with more than two classes."
    assert notice in info_texts(app)


def test_confidence_reliability_without_prob_columns():
    app = run_page("speech_commands")

    assert not app.exception
    assert chart(app, "overview_confidence_calibration")["layout"]["title"]["text"] == "Reliability of the confidence"
    assert not app.slider


def test_no_score_section_without_classes():
    app = run_page("diabetes_regression")

    assert all(header.value != "Scores" for header in app.subheader)
    assert not app.get("plotly_chart") or all("overview_roc" not in element.proto.id for element in app.get("plotly_chart"))


def copy_real_dataset(source: Path, tmp_path: Path, toml: str, monkeypatch) -> Path:
    """Copy a real dataset's files into tmp_path with a dataset file, and point the data root there."""
    if not (source / "predictions.csv").is_file() or not (source / "metadata.csv").is_file():
        pytest.skip(f"the real dataset files are not in {source}")
    folder = tmp_path / source.name
    folder.mkdir()
    shutil.copy(source / "predictions.csv", folder)
    shutil.copy(source / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    return folder


COMPAS_SCORED_TOML = """\
schema = 1
name = "COMPAS"

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[task]
positive_class = "1"
score_kind = "positive_class"
"""


def test_compas_threshold_matches_sklearn(tmp_path, monkeypatch):
    copy_real_dataset(COMPAS, tmp_path, COMPAS_SCORED_TOML, monkeypatch)
    frame = pd.read_csv(COMPAS / "predictions.csv")
    truth = (frame["true_label"] == 1).to_numpy()
    predicted = frame["score"].to_numpy() >= 0.45

    app = run_page("compas", threshold="0.45")

    assert not app.exception
    assert not app.error
    metrics = threshold_metric_values(app)
    for label, value in threshold_expectations(truth, predicted).items():
        assert metrics[label] == value, label
    auc = roc_auc_score(truth, frame["score"])
    assert chart(app, "overview_roc")["layout"]["title"]["text"] == f"ROC curve (AUC {auc:.3f})"
    assert not any("below 0.5" in warning.value for warning in app.warning)


def test_compas_confidence_default_warns(tmp_path, monkeypatch):
    toml = COMPAS_SCORED_TOML.replace('score_kind = "positive_class"\n', "")
    copy_real_dataset(COMPAS, tmp_path, toml, monkeypatch)
    below_half = int((pd.read_csv(COMPAS / "predictions.csv")["score"] < 0.5).sum())

    app = run_page("compas")

    assert not app.exception
    warnings = [warning.value.replace("\\", "") for warning in app.warning]
    assert any(warning.startswith(f"{below_half:,} examples have a score below 0.5") for warning in warnings), warnings
    assert any('score_kind = "positive_class"' in warning for warning in warnings)


def test_cifar10_one_vs_rest_and_confidence(tmp_path, monkeypatch):
    toml = 'schema = 1\nname = "CIFAR-10"\n\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n'
    copy_real_dataset(CIFAR10, tmp_path, toml, monkeypatch)
    frame = pd.read_csv(CIFAR10 / "predictions.csv")
    rounded = frame["prob_cat"].round(4)

    app = run_page("cifar10", **{"class": "cat"})

    assert not app.exception
    assert not app.error
    assert app.selectbox(key="overview_score_class").value == "cat"
    # The page ranks scores rounded to four decimals, so compare with the rounded scores.
    auc = roc_auc_score(frame["true_label"] == "cat", rounded)
    assert chart(app, "overview_roc")["layout"]["title"]["text"] == f"ROC curve (AUC {auc:.3f})"
    assert chart(app, "overview_confidence_calibration")["layout"]["title"]["text"] == "Reliability of the confidence"
    assert metric_values(app)["Accuracy"] == f"{100 * (frame['true_label'] == frame['pred_label']).mean():.1f}%"


def test_demo_mode_hides_data_folder(monkeypatch):
    shown = [caption.value for caption in run_page("speech_commands").sidebar.caption]
    assert any(text.startswith("Data folder:") for text in shown)

    monkeypatch.setenv(DEMO_VARIABLE, "1")
    demo = run_page("speech_commands")
    demo_captions = [caption.value for caption in demo.sidebar.caption]

    assert not demo.exception
    assert not any(text.startswith("Data folder:") for text in demo_captions)
    assert "Read-only demo: edits and file writes are turned off." in demo_captions


@pytest.mark.parametrize("page", [None, "pages/1_Slices.py", "pages/2_Tags.py", "pages/3_What_if.py"])
def test_filter_keeping_nothing_shows_message(page):
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["dataset"] = "speech_commands"
    app.query_params["exclude"] = ["attr:gender=female", "attr:gender=male", "attr:gender=(missing)"]
    if page is not None:
        app.switch_page(page)
    app.run()

    assert not app.exception
    assert any("The filter keeps no example" in error.value for error in app.error)
    assert app.sidebar.multiselect[1].value == ["attr:gender=female", "attr:gender=male", "attr:gender=(missing)"]
