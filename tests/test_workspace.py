"""The workspace database (analysis.workspace) and its folder setting (ui.data.workspace_folder)."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from analysis import ConfigError, InputError, load_config, load_dataset
from analysis.workspace import (
    WORKSPACE_FILE_NAME,
    Workspace,
    WorkspaceReadOnlyError,
    write_hlp_file,
)
from ui.data import DATA_ROOT_VARIABLE, WORKSPACE_VARIABLE, workspace_folder

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def read_hlp_csv(path: Path) -> dict[str, float]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["tag"]: float(row["hlp"]) for row in csv.DictReader(handle)}


# Storing and reading -----------------------------------------------------------------------


def test_hlp_round_trip(tmp_path):
    workspace = Workspace(tmp_path, user="alice")

    edit = workspace.set_hlp("speech", {"car_noise": 0.95, "(untagged)": 0.9})
    values = workspace.hlp_values("speech")

    assert edit is not None
    assert {tag: typed.value for tag, typed in values.items()} == {"car_noise": 0.95, "(untagged)": 0.9}
    assert values["car_noise"].changed_by == "alice"
    assert values["car_noise"].changed_at.endswith("+00:00")
    assert workspace.hlp_values("other") == {}


def test_values_survive_new_connection(tmp_path):
    Workspace(tmp_path, user="alice").set_hlp("speech", {"car_noise": 0.97})

    reopened = Workspace(tmp_path, user="bob")

    assert reopened.hlp_values("speech")["car_noise"].value == 0.97
    assert reopened.hlp_values("speech")["car_noise"].changed_by == "alice"
    assert reopened.change_counter() == 1


def test_file_uses_wal_mode(tmp_path):
    Workspace(tmp_path).set_hlp("speech", {"car_noise": 0.9})

    with sqlite3.connect(tmp_path / WORKSPACE_FILE_NAME) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]

    assert mode == "wal"


def test_reading_creates_no_file(tmp_path):
    workspace = Workspace(tmp_path / "absent")

    assert workspace.hlp_values("speech") == {}
    assert workspace.change_counter() == 0
    assert workspace.history("speech") == []
    assert not (tmp_path / "absent").exists()


def test_unchanged_value_is_no_edit(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.set_hlp("speech", {"car_noise": 0.9})

    assert workspace.set_hlp("speech", {"car_noise": 0.9}) is None
    assert workspace.change_counter() == 1
    assert len(workspace.history("speech")) == 1


def test_none_removes_typed_value(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.set_hlp("speech", {"car_noise": 0.9, "people_noise": 0.8})

    workspace.set_hlp("speech", {"car_noise": None})

    assert list(workspace.hlp_values("speech")) == ["people_noise"]


@pytest.mark.parametrize("value", [1.2, -0.01, float("nan"), "0.9", True])
def test_invalid_hlp_rejected(tmp_path, value):
    workspace = Workspace(tmp_path)

    with pytest.raises(InputError) as raised:
        workspace.set_hlp("speech", {"car_noise": value})

    assert "car_noise" in raised.value.message
    assert "between 0 and 1" in raised.value.message
    assert workspace.change_counter() == 0


def test_empty_tag_rejected(tmp_path):
    with pytest.raises(InputError, match="needs a tag name"):
        Workspace(tmp_path).set_hlp("speech", {" ": 0.9})


def test_unwritable_folder_reports_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    workspace = Workspace(blocker / "workspace")

    with pytest.raises(ConfigError) as raised:
        workspace.set_hlp("speech", {"car_noise": 0.9})

    assert "could not be opened" in raised.value.message
    assert "--workspace" in raised.value.hint


# History and undo ------------------------------------------------------------------------------


def test_undo_restores_previous_values(tmp_path):
    workspace = Workspace(tmp_path, user="alice")
    workspace.set_hlp("speech", {"car_noise": 0.9})
    workspace.set_hlp("speech", {"car_noise": 0.95, "people_noise": 0.8})

    undone = workspace.undo("speech")

    assert undone.changes == {"car_noise": (0.9, 0.95), "people_noise": (None, 0.8)}
    assert {tag: typed.value for tag, typed in workspace.hlp_values("speech").items()} == {"car_noise": 0.9}
    assert workspace.change_counter() == 3


def test_undo_walks_back_to_empty(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.set_hlp("speech", {"car_noise": 0.9})
    workspace.set_hlp("speech", {"car_noise": 0.95})

    workspace.undo("speech")
    workspace.undo("speech")

    assert workspace.hlp_values("speech") == {}
    assert workspace.undo("speech") is None


def test_undo_is_per_dataset(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.set_hlp("speech", {"car_noise": 0.9})
    workspace.set_hlp("digits", {"faint": 0.8})

    workspace.undo("speech")

    assert workspace.hlp_values("speech") == {}
    assert workspace.hlp_values("digits")["faint"].value == 0.8


def test_history_newest_first_with_undo_marks(tmp_path):
    workspace = Workspace(tmp_path, user="alice")
    workspace.set_hlp("speech", {"car_noise": 0.9}, "first")
    workspace.set_hlp("speech", {"car_noise": 0.95}, "second")
    workspace.undo("speech")

    history = workspace.history("speech")

    assert [edit.description for edit in history] == ["second", "first"]
    assert history[0].undone_by == "alice"
    assert history[0].undone_at is not None
    assert history[1].undone_at is None
    assert history[1].changes == {"car_noise": (None, 0.9)}


def test_undo_survives_restart(tmp_path):
    Workspace(tmp_path).set_hlp("speech", {"car_noise": 0.9})
    Workspace(tmp_path).set_hlp("speech", {"car_noise": 0.8})

    Workspace(tmp_path).undo("speech")

    assert Workspace(tmp_path).hlp_values("speech")["car_noise"].value == 0.9


# Concurrent writers ----------------------------------------------------------------------------


def test_concurrent_writers_lose_no_edit(tmp_path):
    workspace = Workspace(tmp_path)
    writers, edits_each = 6, 15
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            # A Workspace per thread, as separate server processes would have.
            own = Workspace(tmp_path, user=f"user{writer}")
            for step in range(edits_each):
                own.set_hlp("speech", {f"tag{writer}": (step + 1) / 100})
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert workspace.change_counter() == writers * edits_each
    assert len(workspace.history("speech", limit=1000)) == writers * edits_each
    values = workspace.hlp_values("speech")
    assert {tag: typed.value for tag, typed in values.items()} == {f"tag{w}": edits_each / 100 for w in range(writers)}
    assert {typed.changed_by for typed in values.values()} == {f"user{w}" for w in range(writers)}


def test_shared_workspace_across_threads(tmp_path):
    workspace = Workspace(tmp_path)

    threads = [threading.Thread(target=workspace.set_hlp, args=("speech", {f"tag{i}": 0.5})) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(workspace.hlp_values("speech")) == 8
    assert workspace.change_counter() == 8


# Read-only (demo) mode ----------------------------------------------------------------------------


def test_read_only_rejects_edit_with_message(tmp_path):
    Workspace(tmp_path).set_hlp("speech", {"car_noise": 0.9})
    demo = Workspace(tmp_path, read_only=True)

    with pytest.raises(WorkspaceReadOnlyError) as raised:
        demo.set_hlp("speech", {"car_noise": 0.5})

    assert "read-only demo" in raised.value.message
    assert "--demo" in raised.value.hint
    assert demo.hlp_values("speech")["car_noise"].value == 0.9


def test_read_only_rejects_undo_and_save(tmp_path):
    Workspace(tmp_path).set_hlp("speech", {"car_noise": 0.9})
    demo = Workspace(tmp_path, read_only=True)
    config = load_config(SAMPLE_DATA / "speech_commands")

    with pytest.raises(WorkspaceReadOnlyError, match="nothing is saved"):
        demo.undo("speech")
    with pytest.raises(WorkspaceReadOnlyError, match="nothing is saved"):
        demo.save_hlp_file("speech", config, {})

    assert Workspace(tmp_path).change_counter() == 1


def test_read_only_without_file_reads_empty(tmp_path):
    demo = Workspace(tmp_path / "none", read_only=True)

    assert demo.hlp_values("speech") == {}
    with pytest.raises(WorkspaceReadOnlyError):
        demo.set_hlp("speech", {"car_noise": 0.9})
    assert not (tmp_path / "none").exists()


# Saving to the HLP file -----------------------------------------------------------------------------


@pytest.fixture
def speech_copy(tmp_path) -> Path:
    folder = tmp_path / "data" / "speech_commands"
    shutil.copytree(SAMPLE_DATA / "speech_commands", folder)
    return folder


def test_save_merges_into_configured_file(tmp_path, speech_copy):
    workspace = Workspace(tmp_path / "ws")
    dataset = load_dataset(load_config(speech_copy))
    workspace.set_hlp("speech_commands", {"car_noise": 0.97})

    saved = workspace.save_hlp_file("speech_commands", dataset.config, dataset.hlp)

    expected = {**dataset.hlp, "car_noise": 0.97}
    assert saved.path == speech_copy / "hlp.csv"
    assert not saved.needs_dataset_key
    assert read_hlp_csv(speech_copy / "hlp.csv") == expected
    assert load_dataset(load_config(speech_copy)).hlp == expected
    assert workspace.hlp_values("speech_commands") == {}


def test_undo_after_save_brings_typed_value_back(tmp_path, speech_copy):
    workspace = Workspace(tmp_path / "ws")
    dataset = load_dataset(load_config(speech_copy))
    workspace.set_hlp("speech_commands", {"car_noise": 0.97})
    workspace.save_hlp_file("speech_commands", dataset.config, dataset.hlp)

    workspace.undo("speech_commands")

    assert workspace.hlp_values("speech_commands")["car_noise"].value == 0.97


def test_save_without_hlp_file_writes_beside_dataset_file(tmp_path):
    folder = tmp_path / "digits"
    shutil.copytree(SAMPLE_DATA / "digits", folder)
    workspace = Workspace(tmp_path / "ws")
    dataset = load_dataset(load_config(folder))
    workspace.set_hlp("digits", {"faint": 0.9})

    saved = workspace.save_hlp_file("digits", dataset.config, dataset.hlp)

    assert saved.path == folder / "hlp.csv"
    assert saved.needs_dataset_key
    assert read_hlp_csv(folder / "hlp.csv") == {"faint": 0.9}
    # The dataset file does not read hlp.csv yet, so the typed value stays in force.
    assert workspace.hlp_values("digits")["faint"].value == 0.9


def test_save_refuses_to_overwrite_unnamed_file(tmp_path):
    folder = tmp_path / "digits"
    shutil.copytree(SAMPLE_DATA / "digits", folder)
    (folder / "hlp.csv").write_text("tag,hlp\nfaint,0.5\n", encoding="utf-8")
    workspace = Workspace(tmp_path / "ws")
    dataset = load_dataset(load_config(folder))
    workspace.set_hlp("digits", {"faint": 0.9})

    with pytest.raises(InputError) as raised:
        workspace.save_hlp_file("digits", dataset.config, dataset.hlp)

    assert "not overwritten" in raised.value.message
    assert 'hlp = "hlp.csv"' in raised.value.hint
    assert read_hlp_csv(folder / "hlp.csv") == {"faint": 0.5}


def test_save_with_nothing_typed_rejected(tmp_path, speech_copy):
    dataset = load_dataset(load_config(speech_copy))

    with pytest.raises(InputError, match="no typed HLP values"):
        Workspace(tmp_path / "ws").save_hlp_file("speech_commands", dataset.config, dataset.hlp)


def test_write_hlp_file_keeps_odd_tag_names(tmp_path):
    values = {'say "hi", then': 0.5, "ünïcode;tag": 0.25}

    write_hlp_file(tmp_path / "hlp.csv", values)

    assert read_hlp_csv(tmp_path / "hlp.csv") == values
    assert [path.name for path in tmp_path.iterdir()] == ["hlp.csv"]


# The folder setting -----------------------------------------------------------------------------------


def test_workspace_folder_argument_wins(tmp_path):
    environment = {WORKSPACE_VARIABLE: str(tmp_path / "environment")}

    assert workspace_folder(["--workspace", str(tmp_path / "argument")], environment) == tmp_path / "argument"
    assert workspace_folder([f"--workspace={tmp_path / 'argument'}"], environment) == tmp_path / "argument"


def test_workspace_folder_from_environment(tmp_path):
    assert workspace_folder([], {WORKSPACE_VARIABLE: str(tmp_path)}) == tmp_path


def test_workspace_folder_defaults_under_data_root(tmp_path):
    assert workspace_folder([], {DATA_ROOT_VARIABLE: str(tmp_path)}) == tmp_path / ".workspace"
    assert workspace_folder(["--data-root", str(tmp_path)], {}) == tmp_path / ".workspace"


def test_workspace_argument_without_value():
    with pytest.raises(ConfigError, match="--workspace needs a folder path"):
        workspace_folder(["--workspace"], {})
