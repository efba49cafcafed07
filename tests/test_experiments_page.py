"""The Experiments page (pages/7_Experiments.py) and its links into the Examples page, run with Streamlit's AppTest.

Numbers are checked against pandas on the sample's files.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from workspace_pages import isolate_settings

from analysis.cli import main
from analysis.runs import MAJORITY_CLASS

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
PAGE = "pages/7_Experiments.py"
SPEECH = REPO_ROOT / "sample_data" / "speech_commands"

_POSITION = re.compile(r"Examples ([\d,]+) to ([\d,]+) of ([\d,]+)")


@pytest.fixture(autouse=True)
def settings(monkeypatch, tmp_path) -> Path:
    """Run every test on the sample data with an empty workspace of its own."""
    workspace = tmp_path / "workspace"
    isolate_settings(monkeypatch, workspace)
    return workspace


def run_page(page: str = PAGE, **parameters: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = "speech_commands"
    for name, value in parameters.items():
        app.query_params[name] = value
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def run_table(app: AppTest) -> pd.DataFrame:
    return app.dataframe[0].value.set_index("name")


def table_with(app: AppTest, column: str, value: str) -> pd.DataFrame:
    for frame in app.dataframe:
        table = frame.value
        if column in table.columns and value in set(table[column]):
            return table.set_index(column)
    raise AssertionError(f"no table with {value!r} in its column {column!r}")


def sample_accuracy() -> pd.Series:
    runs = pd.read_parquet(SPEECH / "runs.parquet")
    labels = pd.read_csv(SPEECH / "predictions.csv", dtype=str)[["example_id", "true_label"]]
    merged = runs.merge(labels, on="example_id")
    return (merged["pred_label"] == merged["true_label"]).groupby(merged["run"]).mean()


def test_run_table_lists_runs_with_pandas_accuracy():
    app = run_page()
    table = run_table(app)
    expected = sample_accuracy()

    assert list(table.index) == ["baseline", "more_data", "car_noise_augment", MAJORITY_CLASS]
    for run in ("baseline", "more_data", "car_noise_augment"):
        assert table.at[run, "accuracy"] == pytest.approx(100 * expected[run])
    assert table.at["car_noise_augment", "param:augment"] == "car_noise"
    assert table.at["car_noise_augment", "code_version"] == "c51d8aa (uncommitted changes)"


def test_default_comparison_is_reference_against_newest():
    app = run_page()
    assert app.selectbox(key="experiments_run_a").value == "baseline"
    assert app.selectbox(key="experiments_run_b").value == "car_noise_augment"


def test_sample_tag_changes_significant():
    app = run_page(run_a="more_data", run_b="car_noise_augment")
    tags = table_with(app, "group", "car_noise")

    assert tags.at["car_noise", "significant"] == "✔"
    assert tags.at["low_bandwidth", "significant"] == "✔"
    assert tags.at["people_noise", "significant"] == ""
    assert tags.at["car_noise", "fixed"] == 57
    assert tags.at["car_noise", "broken"] == 4
    assert tags.at["low_bandwidth", "broken"] == 50
    assert tags.at["car_noise", "delta"] > 0 > tags.at["low_bandwidth", "delta"]
    assert not app.warning


def test_tag_links_open_examples_of_the_change():
    app = run_page(run_a="more_data", run_b="car_noise_augment")
    links = {link.proto.label: parse_qs(link.proto.query_string) for link in app.get("page_link") if link.proto.page == "Examples"}

    assert links["57 fixed"] == {"dataset": ["speech_commands"], "tag": ["car_noise"], "run_a": ["more_data"], "run_b": ["car_noise_augment"], "change": ["fixed"]}
    assert links["50 broken"]["tag"] == ["low_bandwidth"]
    assert links["50 broken"]["change"] == ["broken"]


@pytest.mark.parametrize(("tag", "change", "expected", "verb"), [("car_noise", "fixed", 57, "fixed"), ("low_bandwidth", "broken", 50, "broke")])
def test_examples_page_lists_changed_examples(tag, change, expected, verb):
    app = run_page("pages/4_Examples.py", tag=tag, run_a="more_data", run_b="car_noise_augment", change=change)
    totals = [int(found.group(3).replace(",", "")) for caption in app.caption if (found := _POSITION.search(caption.value))]

    assert totals == [expected]
    assert any(f"Run car\\_noise\\_augment {verb} " in element.value for element in app.info)


def test_examples_page_ignores_unknown_run():
    app = run_page("pages/4_Examples.py", run_a="nope", run_b="car_noise_augment", change="fixed")
    notices = [element.value.replace("\\", "") for element in app.info]

    assert any("run_a to 'nope', which was ignored: the dataset has no run with that name." in notice for notice in notices)
    assert "run_b" not in app.query_params


def test_unknown_run_in_address_falls_back():
    app = run_page(run_b="missing")
    notices = [element.value.replace("\\", "") for element in app.info]

    assert any("run_b to 'missing', which was ignored" in notice for notice in notices)
    assert app.selectbox(key="experiments_run_b").value == "car_noise_augment"


def test_sort_by_hyperparameter_as_number():
    app = run_page(sort="param:train_hours", order="asc")
    order = list(run_table(app).index)

    assert order[0] == "baseline"
    assert order[-1] == MAJORITY_CLASS


def test_picking_run_writes_address():
    app = run_page()
    app.selectbox(key="experiments_run_a").set_value(MAJORITY_CLASS).run()

    assert app.query_params["run_a"] == MAJORITY_CLASS
    overall = [metric for metric in app.metric if metric.label == "Accuracy of B"]
    assert overall[0].value == f"{100 * sample_accuracy()['car_noise_augment']:.1f}%"


def test_run_logged_from_command_line_appears_on_rerun(settings, tmp_path):
    app = run_page()
    assert "cli_run" not in run_table(app).index

    runs = pd.read_parquet(SPEECH / "runs.parquet")
    path = tmp_path / "cli_run.csv"
    runs[runs["run"] == "more_data"][["example_id", "pred_label"]].to_csv(path, index=False)
    arguments = ["log-run", "--config", str(SPEECH), "--workspace", str(settings), "--predictions", str(path), "--name", "cli_run", "--param", "lr=0.5"]
    assert main(arguments) == 0
    app.run()

    table = run_table(app)
    assert "cli_run" in table.index
    assert table.at["cli_run", "param:lr"] == "0.5"
    assert table.at["cli_run", "accuracy"] == pytest.approx(100 * sample_accuracy()["more_data"])


def test_demo_mode_disables_log_form(monkeypatch):
    monkeypatch.setenv("ERROR_ANALYSIS_DEMO", "1")
    app = run_page()
    names = [element for element in app.text_input if element.label == "Run name"]
    assert names[0].disabled


def test_changed_examples_show_both_runs():
    app = run_page("pages/4_Examples.py", tag="car_noise", run_a="more_data", run_b="car_noise_augment", change="fixed")
    table = next(frame.value for frame in app.dataframe if "run_b_prediction" in frame.value.columns)
    runs = pd.read_parquet(SPEECH / "runs.parquet").astype({"example_id": str})
    labels = pd.read_csv(SPEECH / "predictions.csv", dtype=str).set_index("example_id")["true_label"]
    by_run = {name: group.set_index("example_id")["pred_label"] for name, group in runs.groupby("run")}

    assert len(table) > 0
    for example_id, before, after in zip(table["id"].astype(str), table["run_a_prediction"], table["run_b_prediction"]):
        assert before == by_run["more_data"][example_id]
        assert after == by_run["car_noise_augment"][example_id]
        assert before != labels[example_id]
        assert after == labels[example_id]
