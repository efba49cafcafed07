"""The What-if page (pages/3_What_if.py) under AppTest: estimates against brute force, URL state, priority list."""

from __future__ import annotations

import pandas as pd
import pytest
from workspace_pages import (
    SAMPLE_DATA,
    SAMPLE_NAMES,
    WHAT_IF_PAGE,
    dataset_folder,
    isolate_settings,
    percent_text,
    run,
)

from analysis import load_config
from analysis.workspace import Workspace
from ui.data import DATA_ROOT_VARIABLE
from ui.errors import escape_markdown

UNTAGGED = "(untagged)"


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    return folder


@pytest.fixture
def overlapping(tmp_path, monkeypatch):
    """Ten examples, tags noisy (e0-e3) and short (e2-e5) overlapping on e2 and e3, as a dataset folder."""
    folder = tmp_path / "data" / "overlap"
    folder.mkdir(parents=True)
    predictions = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(10)],
            "label": ["a", "a", "a", "b", "b", "b", "a", "b", "a", "b"],
            "prediction": ["b", "a", "b", "a", "b", "a", "a", "b", "a", "a"],
        }
    )
    metadata = pd.DataFrame(
        {
            "id": predictions["id"],
            "tag_noisy": [True, True, True, True, False, False, False, False, False, False],
            "tag_short": [False, False, True, True, True, True, False, False, False, False],
        }
    )
    predictions.to_csv(folder / "predictions.csv", index=False)
    metadata.to_csv(folder / "metadata.csv", index=False)
    (folder / "dataset.toml").write_text(
        'schema = 1\nname = "Overlap"\n\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    return folder


def metric_values(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def priority_table(app) -> pd.DataFrame:
    return app.dataframe[0].value.set_index("tag")


def notices(app) -> list[str]:
    return [info.value for info in app.info]


# Every dataset ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SAMPLE_NAMES, "compas"])
def test_page_runs_with_priority_list(name, tmp_path, monkeypatch, expected_from_files):
    folder = dataset_folder(name, tmp_path, monkeypatch)
    expected = expected_from_files(load_config(folder))

    app = run(WHAT_IF_PAGE, name)

    assert not app.exception
    assert not app.error
    table = priority_table(app)
    assert set(table.index) == set(expected.tags) | {UNTAGGED}
    for row in expected.tag_rows():
        if row["count"] == 0:
            continue
        target = row["hlp"] if row["hlp"] == row["hlp"] else row["accuracy"]
        gain = row["share_of_data"] * max(target - row["accuracy"], 0.0)
        assert table.loc[row["tag"], "score"] == pytest.approx(100 * gain, abs=1e-9)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert len(app.get("plotly_chart")) == 1


def test_default_selection_is_tags_with_hlp(expected_from_files):
    expected = expected_from_files(load_config(SAMPLE_DATA / "speech_commands"))
    targets = {tag: expected.hlp[tag] for tag in expected.tags}

    app = run(WHAT_IF_PAGE, "speech_commands")

    assert app.multiselect(key="what_if_tags").value == list(expected.tags)
    metrics = metric_values(app)
    estimate = expected.what_if(targets)
    assert metrics["Accuracy now"] == percent_text(estimate["accuracy_before"])
    assert metrics["Accuracy after"] == percent_text(estimate["accuracy_after"])
    assert metrics["Examples affected"] == f"{estimate['examples_affected']:,}"


def test_dataset_without_hlp_selects_nothing():
    app = run(WHAT_IF_PAGE, "digits")

    assert app.multiselect(key="what_if_tags").value == []
    assert any("Choose one or more tags" in notice for notice in notices(app))


# Overlapping tags against brute force --------------------------------------------------------------


def test_overlapping_tags_match_brute_force(overlapping, expected_from_files):
    expected = expected_from_files(load_config(overlapping))
    targets = {"tag_noisy": 1.0, "tag_short": 0.75}
    estimate = expected.what_if(targets)

    app = run(WHAT_IF_PAGE, "overlap", tags=list(targets), target=[f"{tag}:{value}" for tag, value in targets.items()])

    metrics = metric_values(app)
    assert metrics["Accuracy now"] == percent_text(estimate["accuracy_before"])
    assert metrics["Accuracy after"] == percent_text(estimate["accuracy_after"])
    assert metrics["Examples affected"] == str(estimate["examples_affected"])
    assert app.metric[1].delta == f"{100 * estimate['gain']:+.1f} points"
    # The shared wrong examples count once: the union gains less than the two tags alone.
    singles = sum(expected.what_if({tag: value})["gain"] for tag, value in targets.items())
    assert estimate["gain"] < singles


def test_speech_overlapping_tags_match_brute_force(expected_from_files):
    expected = expected_from_files(load_config(SAMPLE_DATA / "speech_commands"))
    targets = {"car_noise": 0.99, "people_noise": 0.95}
    estimate = expected.what_if(targets)

    app = run(WHAT_IF_PAGE, "speech_commands", tags=list(targets), target=["car_noise:0.99", "people_noise:0.95"])

    metrics = metric_values(app)
    assert metrics["Accuracy after"] == percent_text(estimate["accuracy_after"])
    assert metrics["Examples affected"] == f"{estimate['examples_affected']:,}"


def test_typed_hlp_moves_default_target(workspace_folder, expected_from_files):
    Workspace(workspace_folder).set_hlp("speech_commands", {"low_bandwidth": 0.9})
    expected = expected_from_files(load_config(SAMPLE_DATA / "speech_commands"))
    targets = {"car_noise": 0.93, "people_noise": 0.89, "low_bandwidth": 0.9}

    app = run(WHAT_IF_PAGE, "speech_commands")

    assert app.slider(key="what_if_target:low_bandwidth").value == pytest.approx(90.0)
    assert metric_values(app)["Accuracy after"] == percent_text(expected.what_if(targets)["accuracy_after"])
    assert "target" not in app.query_params


# URL state ------------------------------------------------------------------------------------------


def test_url_restores_every_selection():
    app = run(
        WHAT_IF_PAGE,
        "speech_commands",
        tags=["car_noise"],
        target=["car_noise:0.97"],
        ease=["car_noise:2", "people_noise:0.5"],
        importance=["low_bandwidth:1.5"],
    )

    assert not app.exception
    assert app.multiselect(key="what_if_tags").value == ["car_noise"]
    assert app.slider(key="what_if_target:car_noise").value == pytest.approx(97.0)
    assert app.slider(key="what_if_ease:car_noise").value == pytest.approx(2.0)
    assert app.slider(key="what_if_ease:people_noise").value == pytest.approx(0.5)
    assert app.slider(key="what_if_importance:low_bandwidth").value == pytest.approx(1.5)
    table = priority_table(app)
    assert table.loc["car_noise", "ease"] == 2.0
    assert table.loc["low_bandwidth", "importance"] == 1.5
    assert table.loc["car_noise", "target"] == pytest.approx(97.0)


def test_sliders_write_url():
    app = run(WHAT_IF_PAGE, "speech_commands")

    app.slider(key="what_if_target:car_noise").set_value(98.0).run()
    app.slider(key="what_if_ease:people_noise").set_value(1.5).run()
    app.multiselect(key="what_if_tags").set_value(["car_noise"]).run()

    assert app.query_params["target"] == "car_noise:0.98"
    assert app.query_params["ease"] == "people_noise:1.5"
    assert app.query_params["tags"] == "car_noise"
    assert app.slider(key="what_if_target:car_noise").value == pytest.approx(98.0)


def test_empty_selection_kept_in_url():
    app = run(WHAT_IF_PAGE, "speech_commands")

    app.multiselect(key="what_if_tags").set_value([]).run()
    again = run(WHAT_IF_PAGE, "speech_commands", tags=app.query_params["tags"])

    assert app.query_params["tags"] == ""
    assert again.multiselect(key="what_if_tags").value == []
    assert any("Choose one or more tags" in notice for notice in notices(again))


@pytest.mark.parametrize(
    ("parameter", "value", "reason"),
    [
        ("tags", "no_such_tag", "no tag of that name"),
        ("target", "car_noise:1.5", "between 0 and 1"),
        ("target", "car_noise", "TAG:VALUE"),
        ("target", "no_such_tag:0.5", "no tag 'no_such_tag'"),
        ("ease", "car_noise:abc", "is not a number"),
        ("ease", "car_noise:3", "between 0.5 and 2.0"),
        ("importance", "car_noise:nan", "between 0.5 and 2.0"),
    ],
)
def test_invalid_url_value_noticed(parameter, value, reason):
    app = run(WHAT_IF_PAGE, "speech_commands", **{parameter: value})

    assert not app.exception
    assert not app.error
    found = [notice for notice in notices(app) if "ignored" in notice]
    assert len(found) == 1, notices(app)
    assert escape_markdown(reason) in found[0]


def test_formula_shown():
    app = run(WHAT_IF_PAGE, "speech_commands")

    assert any("score = potential gain × ease × importance" in markdown.value for markdown in app.markdown)
