"""The Tags page (pages/2_Tags.py) under AppTest: the tag table against the oracle, sorting, typed HLP values."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
from workspace_pages import (
    SAMPLE_DATA,
    SAMPLE_NAMES,
    TAGS_PAGE,
    WHAT_IF_PAGE,
    dataset_folder,
    isolate_settings,
    percent_text,
    run,
    shown_points,
)

from analysis import load_config
from analysis.workspace import Workspace
from ui.data import DATA_ROOT_VARIABLE, DEMO_VARIABLE

UNTAGGED = "(untagged)"


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    return folder


NUMBER_COLUMNS = ("share_of_data", "error_rate", "share_of_errors", "accuracy", "hlp", "file_hlp", "room_for_improvement", "potential_gain")


def table_by_tag(app) -> pd.DataFrame:
    """Return the tag table indexed by tag; an all-undefined column arrives as None values, made NaN here."""
    table = app.dataframe[0].value.set_index("tag")
    return table.astype({column: "float64" for column in NUMBER_COLUMNS})


def type_hlp(app, tag: str, percent: float | None):
    """Type ``percent`` into the HLP input of ``tag`` and press the store button."""
    label = f"HLP of {tag} (%)"
    field = next(number for number in app.number_input if number.label == label)
    field.set_value(percent)
    next(button for button in app.button if button.label == "Store typed values").click()
    return app.run()


def copy_speech(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "speech_commands"
    shutil.copytree(SAMPLE_DATA / "speech_commands", folder)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    return folder


# The table against the oracle ------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SAMPLE_NAMES, "compas"])
def test_table_matches_oracle(name, tmp_path, monkeypatch, expected_from_files):
    folder = dataset_folder(name, tmp_path, monkeypatch)
    expected = expected_from_files(load_config(folder))

    app = run(TAGS_PAGE, name)

    assert not app.exception
    assert not app.error
    table = table_by_tag(app)
    rows = expected.tag_rows()
    assert set(table.index) == {row["tag"] for row in rows}
    assert UNTAGGED in table.index
    for row in rows:
        shown = table.loc[row["tag"]]
        assert shown["count"] == row["count"]
        assert shown["share_of_data"] == pytest.approx(100 * row["share_of_data"], abs=1e-9)
        assert shown["share_of_errors"] == pytest.approx(100 * row["share_of_errors"], abs=1e-9, nan_ok=True)
        assert shown["error_rate"] == pytest.approx(100 * row["error_rate"], abs=1e-9, nan_ok=True)
        assert shown["accuracy"] == pytest.approx(100 * row["accuracy"], abs=1e-9, nan_ok=True)
        assert shown["hlp"] == pytest.approx(100 * row["hlp"], abs=1e-9, nan_ok=True)
        assert shown["room_for_improvement"] == pytest.approx(shown_points(row["room_for_improvement"]), abs=1e-9, nan_ok=True)
        assert shown["potential_gain"] == pytest.approx(shown_points(row["potential_gain"]), abs=1e-9, nan_ok=True)
        if row["count"]:
            assert shown["interval"] == f"{percent_text(row['ci_low'])} to {percent_text(row['ci_high'])}"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_page_draws_charts(name):
    app = run(TAGS_PAGE, name)

    assert not app.exception
    assert app.title[0].value == "Tags"
    assert len(app.get("plotly_chart")) == 2


def test_no_tags_explained():
    app = run(TAGS_PAGE, "screening")

    assert list(table_by_tag(app).index) == [UNTAGGED]
    assert any("defines no tags" in info.value for info in app.info)


def test_file_values_marked_as_file():
    table = table_by_tag(run(TAGS_PAGE, "speech_commands"))

    assert set(table["hlp_source"]) == {"HLP file"}
    assert list(table["file_hlp"]) == list(table["hlp"])


# Sorting and the URL ------------------------------------------------------------------------------


def test_default_sort_is_potential_gain_descending():
    app = run(TAGS_PAGE, "speech_commands")

    gains = list(app.dataframe[0].value["potential_gain"])
    assert gains == sorted(gains, reverse=True)
    assert app.query_params["sort"] == "potential_gain"
    assert app.query_params["order"] == "desc"


def test_sort_restored_from_url():
    app = run(TAGS_PAGE, "speech_commands", sort="error_rate", order="asc")

    rates = list(app.dataframe[0].value["error_rate"])
    assert rates == sorted(rates)
    assert app.selectbox(key="tags_sort").value == "error_rate"
    assert app.radio(key="tags_order").value == "asc"


def test_sort_by_tag_name():
    app = run(TAGS_PAGE, "speech_commands", sort="tag", order="asc")

    assert list(app.dataframe[0].value["tag"]) == ["(untagged)", "car_noise", "low_bandwidth", "people_noise"]


def test_sort_widget_writes_url():
    app = run(TAGS_PAGE, "speech_commands")

    app.selectbox(key="tags_sort").set_value("count").run()
    app.radio(key="tags_order").set_value("asc").run()

    assert app.query_params["sort"] == "count"
    assert app.query_params["order"] == "asc"
    counts = list(app.dataframe[0].value["count"])
    assert counts == sorted(counts)


def test_invalid_sort_falls_back_with_notice():
    app = run(TAGS_PAGE, "speech_commands", sort="drop table", order="sideways")

    notices = [info.value for info in app.info]
    assert any("drop table" in notice and "ignored" in notice for notice in notices), notices
    assert any("sideways" in notice for notice in notices), notices
    assert app.query_params["sort"] == "potential_gain"
    assert app.query_params["order"] == "desc"


def test_undefined_values_sort_last(tmp_path, monkeypatch):
    # digits has no HLP file, so every HLP is undefined: the order stays the table order in both directions.
    ascending = run(TAGS_PAGE, "digits", sort="hlp", order="asc")
    descending = run(TAGS_PAGE, "digits", sort="hlp", order="desc")

    assert list(ascending.dataframe[0].value["tag"]) == list(descending.dataframe[0].value["tag"])


# Typed HLP values -----------------------------------------------------------------------------------


def test_typed_hlp_changes_room_and_gain(expected_from_files):
    expected = expected_from_files(load_config(SAMPLE_DATA / "speech_commands"))
    car = next(row for row in expected.tag_rows() if row["tag"] == "car_noise")

    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.0)

    assert not app.exception
    table = table_by_tag(app)
    assert table.loc["car_noise", "hlp"] == pytest.approx(97.0)
    assert table.loc["car_noise", "file_hlp"] == pytest.approx(93.0)
    assert table.loc["car_noise", "hlp_source"] == "edited here"
    assert table.loc["people_noise", "hlp_source"] == "HLP file"
    assert table.loc["car_noise", "room_for_improvement"] == pytest.approx(100 * (0.97 - car["accuracy"]))
    assert table.loc["car_noise", "potential_gain"] == pytest.approx(100 * car["share_of_data"] * (0.97 - car["accuracy"]))
    assert any("Stored HLP values for car" in message.value for message in app.success)


def test_typed_hlp_survives_restart_and_reaches_what_if(workspace_folder, expected_from_files):
    type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 99.0)
    expected = expected_from_files(load_config(SAMPLE_DATA / "speech_commands"))
    targets = {"car_noise": 0.99, "people_noise": 0.89, "low_bandwidth": 0.7}

    tags = run(TAGS_PAGE, "speech_commands")
    what_if = run(WHAT_IF_PAGE, "speech_commands")

    assert table_by_tag(tags).loc["car_noise", "hlp"] == pytest.approx(99.0)
    assert table_by_tag(tags).loc["car_noise", "hlp_source"] == "edited here"
    assert what_if.slider(key="what_if_target:car_noise").value == pytest.approx(99.0)
    metrics = {metric.label: metric.value for metric in what_if.metric}
    assert metrics["Accuracy after"] == percent_text(expected.what_if(targets)["accuracy_after"])
    assert Workspace(workspace_folder).hlp_values("speech_commands")["car_noise"].value == pytest.approx(0.99)


def test_typed_hlp_for_tag_without_file_value(expected_from_files):
    expected = expected_from_files(load_config(SAMPLE_DATA / "digits"))
    faint = next(row for row in expected.tag_rows() if row["tag"] == "faint")

    app = type_hlp(run(TAGS_PAGE, "digits"), "faint", 100.0)

    table = table_by_tag(app)
    assert table.loc["faint", "hlp_source"] == "edited here"
    assert math.isnan(table.loc["faint", "file_hlp"])
    assert table.loc["faint", "room_for_improvement"] == pytest.approx(100 * (1 - faint["accuracy"]))


def test_file_value_again_goes_back_to_file(workspace_folder):
    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.0)

    app = type_hlp(app, "car_noise", 93.0)

    table = table_by_tag(app)
    assert table.loc["car_noise", "hlp"] == pytest.approx(93.0)
    assert table.loc["car_noise", "hlp_source"] == "HLP file"
    assert Workspace(workspace_folder).hlp_values("speech_commands") == {}


def test_reset_button_uses_file_values(workspace_folder):
    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.0)
    app = type_hlp(app, "people_noise", 80.0)

    app.button(key="tags_reset").click().run()

    assert set(table_by_tag(app)["hlp_source"]) == {"HLP file"}
    assert Workspace(workspace_folder).hlp_values("speech_commands") == {}
    assert app.button(key="tags_reset").disabled


def test_undo_button_restores_file_value():
    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.0)

    app.button(key="tags_undo").click().run()

    assert table_by_tag(app).loc["car_noise", "hlp"] == pytest.approx(93.0)
    assert any("Undid the edit" in message.value for message in app.success)


def test_history_lists_edits():
    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.0)

    history = [expander for expander in app.expander if expander.label.startswith("History of edits")]

    assert len(history) == 1
    assert "car\\_noise from the file value to 97\\.0%" in history[0].markdown[0].value


def test_invalid_workspace_file_shows_error(workspace_folder):
    workspace_folder.mkdir()
    (workspace_folder / "workspace.sqlite").write_text("this is not a database", encoding="utf-8")

    app = run(TAGS_PAGE, "speech_commands")

    assert not app.exception
    assert len(app.error) == 1
    assert "could not be read" in app.error[0].value


# Saving to the HLP file --------------------------------------------------------------------------------


def test_save_writes_hlp_file(tmp_path, monkeypatch):
    folder = copy_speech(tmp_path, monkeypatch)
    app = type_hlp(run(TAGS_PAGE, "speech_commands"), "car_noise", 97.5)

    app.button(key="tags_save").click().run()

    saved = pd.read_csv(folder / "hlp.csv").set_index("tag")["hlp"].to_dict()
    assert saved == {"(untagged)": 0.95, "car_noise": 0.975, "people_noise": 0.89, "low_bandwidth": 0.7}
    table = table_by_tag(app)
    assert table.loc["car_noise", "hlp_source"] == "HLP file"
    assert table.loc["car_noise", "file_hlp"] == pytest.approx(97.5)
    assert any("Wrote 4 HLP values" in message.value for message in app.success)


def test_save_without_hlp_file_names_key(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "digits"
    shutil.copytree(SAMPLE_DATA / "digits", folder)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    app = type_hlp(run(TAGS_PAGE, "digits"), "faint", 90.0)

    app.button(key="tags_save").click().run()

    assert (folder / "hlp.csv").read_text(encoding="utf-8") == "tag,hlp\nfaint,0.9\n"
    warnings = [warning.value for warning in app.warning]
    assert any('hlp = "hlp\\.csv"' in warning for warning in warnings), warnings
    assert table_by_tag(app).loc["faint", "hlp_source"] == "edited here"


def test_save_disabled_without_typed_values():
    app = run(TAGS_PAGE, "speech_commands")

    assert app.button(key="tags_save").disabled


# Demo mode --------------------------------------------------------------------------------------------------


def test_demo_disables_edits_and_says_why(monkeypatch, workspace_folder):
    Workspace(workspace_folder).set_hlp("speech_commands", {"car_noise": 0.96})
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = run(TAGS_PAGE, "speech_commands")

    assert not app.exception
    assert all(number.disabled for number in app.number_input)
    assert all(button.disabled for button in app.button)
    assert any("Read-only demo: typed HLP values cannot be stored" in caption.value for caption in app.caption)
    # Values typed before stay visible, read-only.
    assert table_by_tag(app).loc["car_noise", "hlp"] == pytest.approx(96.0)


def test_demo_refuses_save(tmp_path, monkeypatch, workspace_folder):
    folder = copy_speech(tmp_path, monkeypatch)
    before = (folder / "hlp.csv").read_bytes()
    Workspace(workspace_folder).set_hlp("speech_commands", {"car_noise": 0.96})
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = run(TAGS_PAGE, "speech_commands")

    # AppTest, like a browser, cannot press a disabled button; the workspace itself also rejects the save.
    assert app.button(key="tags_save").disabled
    assert (folder / "hlp.csv").read_bytes() == before
    assert Workspace(workspace_folder).change_counter() == 1


def test_demo_without_workspace_creates_nothing(monkeypatch, workspace_folder):
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = run(TAGS_PAGE, "speech_commands")

    assert not app.exception
    assert not workspace_folder.exists()
