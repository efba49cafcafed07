"""Tag editing on the Tags page under AppTest: the manager table, create, rename, delete with confirmation, export."""

from __future__ import annotations

import pandas as pd
import pytest
from workspace_pages import SAMPLE_DATA, TAGS_PAGE, WHAT_IF_PAGE, isolate_settings, run

from analysis.workspace import Workspace
from ui.data import DEMO_VARIABLE

SPEECH = SAMPLE_DATA / "speech_commands"
FILE_TAGS = ("car_noise", "people_noise", "low_bandwidth")


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    return folder


def file_tag_counts() -> dict[str, int]:
    """Count each tag of the speech sample with pandas, over the examples that have a prediction."""
    predictions = pd.read_csv(SPEECH / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SPEECH / "metadata.csv", dtype={"example_id": str})
    joined = predictions.merge(metadata, on="example_id")
    joined = joined[joined["true_label"].notna() & joined["pred_label"].notna()]
    return {tag: int(joined[tag].astype(str).str.lower().isin(["true", "1"]).sum()) for tag in FILE_TAGS}


def manager_table(app) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if "origin" in frame.value.columns).set_index("tag")


def tag_table(app) -> pd.DataFrame:
    return app.dataframe[0].value.set_index("tag")


def test_manager_lists_file_tags_with_origin():
    app = run(TAGS_PAGE, "speech_commands")

    assert not app.exception
    table = manager_table(app)
    assert list(table.index) == list(FILE_TAGS)
    assert set(table["origin"]) == {"file: boolean column"}
    assert table["count"].to_dict() == file_tag_counts()
    assert table["added"].sum() == 0


def test_create_tag_appears_empty_everywhere(workspace_folder):
    app = run(TAGS_PAGE, "speech_commands")
    app.text_input(key="tagging_create_name").set_value("blurry")
    app.button(key="tagging_create").click().run()

    assert not app.exception
    assert manager_table(app).loc["blurry", "origin"] == "created here"
    assert tag_table(app).loc["blurry", "count"] == 0
    assert "blurry" in Workspace(workspace_folder).tag_edits("speech_commands").names
    assert any("created tag blurry" in message.value for message in app.success)


def test_create_taken_name_is_refused():
    app = run(TAGS_PAGE, "speech_commands")
    app.text_input(key="tagging_create_name").set_value("car_noise")
    app.button(key="tagging_create").click().run()

    assert any("There is already a tag named 'car\\_noise'" in message.value for message in app.error)


def test_rename_needs_confirmation_then_moves_counts(workspace_folder):
    counts = file_tag_counts()
    app = run(TAGS_PAGE, "speech_commands")
    app.selectbox(key="tagging_rename_old").set_value("people_noise")
    app.text_input(key="tagging_rename_new").set_value("crowd")
    app.button(key="tagging_rename").click().run()

    # Asked, not done yet.
    assert any("Rename the tag people\\_noise" in warning.value for warning in app.warning)
    assert "people_noise" in tag_table(app).index
    assert Workspace(workspace_folder).tag_edits("speech_commands").names == {}

    app.button(key="tagging_confirm").click().run()

    table = tag_table(app)
    assert "people_noise" not in table.index
    assert table.loc["crowd", "count"] == counts["people_noise"]
    assert manager_table(app).loc["crowd", "origin"] == "file: boolean column, renamed here from people_noise"
    # The HLP file's value follows the renamed tag.
    assert table.loc["crowd", "hlp"] == pytest.approx(89.0)


def test_delete_cancelled_changes_nothing(workspace_folder):
    app = run(TAGS_PAGE, "speech_commands")
    app.selectbox(key="tagging_delete_tag").set_value("car_noise")
    app.button(key="tagging_delete").click().run()
    app.button(key="tagging_cancel").click().run()

    assert "car_noise" in tag_table(app).index
    assert not app.warning
    assert not (workspace_folder / "workspace.sqlite").exists()


def test_delete_then_undo_restores_tag():
    counts = file_tag_counts()
    app = run(TAGS_PAGE, "speech_commands")
    app.selectbox(key="tagging_delete_tag").set_value("car_noise")
    app.button(key="tagging_delete").click().run()
    app.button(key="tagging_confirm").click().run()

    assert "car_noise" not in tag_table(app).index
    what_if = run(WHAT_IF_PAGE, "speech_commands")
    assert not any(slider.key == "what_if_target:car_noise" for slider in what_if.slider)

    app.button(key="tags_undo").click().run()

    assert tag_table(app).loc["car_noise", "count"] == counts["car_noise"]


def test_tags_edited_from_workspace_reach_the_table(workspace_folder):
    ids = ["utt_00001", "utt_00002", "utt_00003"]
    Workspace(workspace_folder, user="alice").set_tag("speech_commands", "blurry", ids, True, FILE_TAGS)

    app = run(TAGS_PAGE, "speech_commands")

    assert tag_table(app).loc["blurry", "count"] == 3
    assert manager_table(app).loc["blurry", "added"] == 3


def test_export_buttons_give_long_tags(workspace_folder):
    Workspace(workspace_folder).set_tag("speech_commands", "blurry", ["utt_00001"], True, FILE_TAGS)
    app = run(TAGS_PAGE, "speech_commands")

    buttons = {button.key for button in app.get("download_button")}

    assert {"tagging_export_csv", "tagging_export_parquet"} <= buttons


def test_demo_disables_tag_editing(monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = run(TAGS_PAGE, "speech_commands")

    assert app.button(key="tagging_create").disabled
    assert app.button(key="tagging_rename").disabled
    assert app.button(key="tagging_delete").disabled


def test_name_typed_in_sidebar_is_recorded(workspace_folder):
    app = run(TAGS_PAGE, "speech_commands")
    app.sidebar.text_input(key="editor_name_input").set_value("Lan").run()
    app.text_input(key="tagging_create_name").set_value("blurry")
    app.button(key="tagging_create").click().run()

    edit = Workspace(workspace_folder).history("speech_commands")[0]

    assert edit.changed_by == "Lan"
    assert app.sidebar.text_input(key="editor_name_input").value == "Lan"


EXAMPLES_PAGE = "pages/4_Examples.py"


def speech_pair_ids(label: str, prediction: str) -> set[str]:
    predictions = pd.read_csv(SPEECH / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SPEECH / "metadata.csv", dtype={"example_id": str})
    joined = predictions.merge(metadata, on="example_id")
    chosen = joined[(joined["true_label"] == label) & (joined["pred_label"] == prediction)]
    return set(chosen["example_id"])


def tag_all_matching(app, tag: str, new: bool = True):
    app.radio(key="tagging_target").set_value("matching").run()
    if new:
        app.selectbox(key="tagging_tag").set_value("\u0000new").run()
        app.text_input(key="tagging_new_name").set_value(tag).run()
    else:
        app.selectbox(key="tagging_tag").set_value(tag).run()
    return app


def test_examples_page_tags_all_matching_and_recounts(workspace_folder):
    expected = speech_pair_ids("yes", "no")
    app = run(EXAMPLES_PAGE, "speech_commands", label="yes", prediction="no")

    tag_all_matching(app, "yes_heard_as_no")
    app.button(key="tagging_add").click().run()

    assert not app.exception
    stored = Workspace(workspace_folder).tag_edits("speech_commands").assignments
    assert set(stored["example_id"]) == expected
    table = tag_table(run(TAGS_PAGE, "speech_commands"))
    assert table.loc["yes_heard_as_no", "count"] == len(expected)
    assert table.loc["yes_heard_as_no", "error_rate"] == pytest.approx(100.0)
    assert any("yes\\_heard\\_as\\_no (added here)" in block.value for block in app.markdown)


def test_examples_page_removes_file_tag_and_marks_it(workspace_folder):
    counts = file_tag_counts()
    app = run(EXAMPLES_PAGE, "speech_commands", tag="car_noise", outcome="errors")
    matching = int(app.caption[0].value.split(" of ")[1].split(",")[0].replace(",", ""))

    tag_all_matching(app, "car_noise", new=False)
    app.button(key="tagging_remove").click().run()

    assert tag_table(run(TAGS_PAGE, "speech_commands")).loc["car_noise", "count"] == counts["car_noise"] - matching
    # The page now lists no example: every error with car_noise lost it.
    assert app.caption[0].value.startswith("No example") or " 0 " in app.caption[0].value or "of 0" in app.caption[0].value


def test_examples_page_with_nothing_selected_cannot_tag_selection():
    app = run(EXAMPLES_PAGE, "speech_commands")

    assert app.button(key="tagging_add").disabled
    assert any("Select rows in the table" in caption.value for caption in app.caption)


def test_add_needs_a_chosen_tag():
    app = run(EXAMPLES_PAGE, "speech_commands", label="yes", prediction="no")
    app.radio(key="tagging_target").set_value("matching").run()

    assert app.selectbox(key="tagging_tag").value is None
    assert app.button(key="tagging_add").disabled

    app.selectbox(key="tagging_tag").set_value("car_noise").run()

    assert not app.button(key="tagging_add").disabled
    assert app.radio(key="tagging_target").value == "matching"


def test_rename_to_taken_name_is_refused_before_confirmation(workspace_folder):
    app = run(TAGS_PAGE, "speech_commands")
    app.selectbox(key="tagging_rename_old").set_value("people_noise")
    app.text_input(key="tagging_rename_new").set_value("CAR_NOISE")
    app.button(key="tagging_rename").click().run()

    assert not app.warning
    assert any("differs from the existing tag 'car\\_noise' only in case" in message.value for message in app.error)
    assert not (workspace_folder / "workspace.sqlite").exists()


def test_pending_delete_dropped_when_tag_is_gone(workspace_folder):
    Workspace(workspace_folder).create_tag("speech_commands", "blurry", FILE_TAGS)
    app = run(TAGS_PAGE, "speech_commands")
    app.selectbox(key="tagging_delete_tag").set_value("blurry")
    app.button(key="tagging_delete").click().run()
    assert any("Delete the tag blurry" in warning.value for warning in app.warning)

    # Another tab undoes the creation before this one confirms.
    Workspace(workspace_folder).undo("speech_commands")
    app.run()

    assert not app.warning
    assert "blurry" not in tag_table(app).index
