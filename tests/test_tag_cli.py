"""The ``tag`` and ``export-tags`` commands: output, exit codes, JSON keys and messages for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from oracle import write_dataset_files

from analysis.cli import main
from analysis.workspace import WORKSPACE_VARIABLE, Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent

DATASET_TOML = """schema = 1
name = "Shop"

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[tags]
columns = ["tag_loud"]
"""

EDIT_KEYS = {"id", "kind", "description", "changed_by", "changed_at", "changes", "undone_by", "undone_at"}


@pytest.fixture
def shop(tmp_path) -> Path:
    """Write a dataset folder ``shop`` (ids s01 to s12, file tag tag_loud on the odd ones) and return its dataset file."""
    ids = [f"s{number:02d}" for number in range(1, 13)]
    predictions = pd.DataFrame({"id": ids, "label": ["a", "b"] * 6, "prediction": ["a"] * 12})
    metadata = pd.DataFrame({"id": ids, "tag_loud": [number % 2 == 1 for number in range(1, 13)]})
    folder = tmp_path / "data" / "shop"
    write_dataset_files(folder, predictions, metadata)
    (folder / "dataset.toml").write_text(DATASET_TOML, encoding="utf-8")
    return folder / "dataset.toml"


@pytest.fixture
def workspace_folder(tmp_path) -> Path:
    return tmp_path / "workspace"


def run_tag(shop: Path, workspace: Path, *arguments: str) -> int:
    return main(["tag", "--config", str(shop), "--workspace", str(workspace), *arguments])


def run_json(capsys, shop: Path, workspace: Path, *arguments: str) -> dict:
    capsys.readouterr()
    code = run_tag(shop, workspace, *arguments, "--format", "json")
    assert code == 0
    return json.loads(capsys.readouterr().out)


def tag_counts(capsys, shop: Path, workspace: Path | None) -> dict[str, int]:
    """Return the examples per tag that ``summary`` counts, with the edits in ``workspace`` unless it is None."""
    capsys.readouterr()
    workspace_option = [] if workspace is None else ["--workspace", str(workspace)]
    assert main(["summary", "--config", str(shop), *workspace_option, "--format", "json"]) == 0
    return {row["tag"]: row["count"] for row in json.loads(capsys.readouterr().out)["tags"]}


# ---------------------------------------------------------------- each command's output


def test_add_prints_saved_edit(capsys, shop, workspace_folder):
    code = run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s02", "s04", "--user", "alice")

    assert code == 0
    assert capsys.readouterr().out == f"Saved edit 1 in {workspace_folder}: added tag blurry to 2 examples (by alice).\n"


def test_same_add_twice_changes_nothing(capsys, shop, workspace_folder):
    run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s02")
    capsys.readouterr()

    code = run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s02")

    assert code == 0
    assert capsys.readouterr().out == f"Nothing changed: the workspace {workspace_folder} already holds this.\n"
    assert Workspace(workspace_folder).change_counter() == 1


def test_each_edit_command_reaches_summary(capsys, shop, workspace_folder):
    assert tag_counts(capsys, shop, None) == {"tag_loud": 6, "(untagged)": 6}

    assert run_tag(shop, workspace_folder, "--remove", "tag_loud", "--ids", "s01") == 0
    assert "removed tag tag_loud from 1 example " in capsys.readouterr().out
    assert tag_counts(capsys, shop, workspace_folder) == {"tag_loud": 5, "(untagged)": 7}

    assert run_tag(shop, workspace_folder, "--add", "café ☕", "--ids", "s02", "s04", "s06") == 0
    assert tag_counts(capsys, shop, workspace_folder) == {"tag_loud": 5, "café ☕": 3, "(untagged)": 4}
    # The files are unchanged: without --workspace the summary counts the file tags.
    assert tag_counts(capsys, shop, None) == {"tag_loud": 6, "(untagged)": 6}

    assert run_tag(shop, workspace_folder, "--rename", "tag_loud", 'x" OR 1=1 --') == 0
    assert "renamed tag tag_loud to x\" OR 1=1 --" in capsys.readouterr().out
    assert tag_counts(capsys, shop, workspace_folder) == {'x" OR 1=1 --': 5, "café ☕": 3, "(untagged)": 4}

    assert run_tag(shop, workspace_folder, "--delete", "café ☕") == 0
    assert "deleted tag café ☕" in capsys.readouterr().out
    assert tag_counts(capsys, shop, workspace_folder) == {'x" OR 1=1 --': 5, "(untagged)": 7}

    assert run_tag(shop, workspace_folder, "--undo") == 0
    assert capsys.readouterr().out == "Undid edit 4: deleted tag café ☕.\n"
    assert tag_counts(capsys, shop, workspace_folder) == {'x" OR 1=1 --': 5, "café ☕": 3, "(untagged)": 4}


def test_undo_with_nothing_to_undo(capsys, shop, workspace_folder):
    code = run_tag(shop, workspace_folder, "--undo")

    assert code == 0
    assert capsys.readouterr().out == "Nothing to undo for shop.\n"
    assert not workspace_folder.exists()


def test_history_lists_who_and_undo(capsys, shop, workspace_folder):
    run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s02", "--user", "alice")
    run_tag(shop, workspace_folder, "--delete", "tag_loud", "--user", "bob")
    run_tag(shop, workspace_folder, "--undo", "--user", "carol")
    capsys.readouterr()

    code = run_tag(shop, workspace_folder, "--history")

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(lines) == 2
    assert lines[0].split()[0] == "2"
    assert "  bob  deleted tag tag_loud  (undone by carol at " in lines[0]
    assert lines[1].split()[0] == "1"
    assert lines[1].endswith("  alice  added tag blurry to 1 example")


def test_history_of_empty_workspace(capsys, shop, workspace_folder):
    code = run_tag(shop, workspace_folder, "--history")

    assert code == 0
    assert capsys.readouterr().out == f"No edits of shop in {workspace_folder}.\n"


def test_default_workspace_beside_dataset_folder(capsys, shop, monkeypatch):
    monkeypatch.delenv(WORKSPACE_VARIABLE, raising=False)

    code = main(["tag", "--config", str(shop), "--add", "blurry", "--ids", "s03"])

    assert code == 0
    default = shop.parent.parent / ".workspace"
    assert "blurry" in Workspace(default).tag_edits("shop").names
    assert capsys.readouterr().out.startswith(f"Saved edit 1 in {default}:")


def test_default_workspace_from_environment(capsys, shop, monkeypatch, tmp_path):
    # The dashboard started with ERROR_ANALYSIS_WORKSPACE: the command edits that workspace too.
    shared = tmp_path / "served"
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(shared))

    code = main(["tag", "--config", str(shop), "--add", "blurry", "--ids", "s03"])

    assert code == 0
    assert "blurry" in Workspace(shared).tag_edits("shop").names
    assert not (shop.parent.parent / ".workspace").exists()
    assert capsys.readouterr().out.startswith(f"Saved edit 1 in {shared}:")


# ---------------------------------------------------------------- JSON output


def test_json_keys_of_each_command(capsys, shop, workspace_folder, tmp_path):
    added = run_json(capsys, shop, workspace_folder, "--add", "blurry", "--ids", "s02", "--user", "alice")
    undone = run_json(capsys, shop, workspace_folder, "--undo")
    history = run_json(capsys, shop, workspace_folder, "--history")
    capsys.readouterr()
    assert main(["export-tags", "--config", str(shop), "--workspace", str(workspace_folder), "--out", str(tmp_path / "t.csv"), "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)

    assert set(added) == {"workspace", "dataset", "edit"}
    assert added["dataset"] == "shop"
    assert set(added["edit"]) == EDIT_KEYS
    assert added["edit"]["changes"] == 2
    assert added["edit"]["changed_by"] == "alice"
    assert set(undone) == {"workspace", "dataset", "undone"}
    assert set(undone["undone"]) == EDIT_KEYS
    assert set(history) == {"workspace", "dataset", "history"}
    assert [set(edit) for edit in history["history"]] == [EDIT_KEYS]
    assert history["history"][0]["undone_by"] is not None
    assert set(exported) == {"file", "rows", "tags", "workspace"}
    assert exported["rows"] == 6
    assert exported["tags"] == ["tag_loud"]


def test_export_writes_long_tags(capsys, shop, workspace_folder, tmp_path):
    run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s02", "s03")
    capsys.readouterr()
    out = tmp_path / "tags.csv"

    code = main(["export-tags", "--config", str(shop), "--workspace", str(workspace_folder), "--out", str(out)])

    assert code == 0
    assert capsys.readouterr().out == f"Wrote 8 (id, tag) rows of 2 tags to {out}.\n"
    rows = pd.read_csv(out, dtype=str)
    assert list(rows.columns) == ["id", "tag"]
    expected = {(f"s{n:02d}", "tag_loud") for n in range(1, 13, 2)} | {("s02", "blurry"), ("s03", "blurry")}
    assert set(rows.itertuples(index=False, name=None)) == expected


# ---------------------------------------------------------------- ids files


def test_ids_file_with_bom_and_blank_lines(capsys, shop, workspace_folder, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes("\ufeffs02\r\n\r\n  s04  \n\ns06\n\n".encode())

    code = run_tag(shop, workspace_folder, "--add", "blurry", "--ids-file", str(ids_file))

    assert code == 0
    assignments = Workspace(workspace_folder).tag_edits("shop").assignments
    assert sorted(assignments["example_id"]) == ["s02", "s04", "s06"]


# ---------------------------------------------------------------- bad input: exit code 2 and a message naming the value


def error_output(capsys, arguments: list[str]) -> str:
    capsys.readouterr()
    code = main(arguments)
    output = capsys.readouterr()
    assert code == 2
    assert output.out == ""
    return output.err


def test_unknown_id_changes_nothing(capsys, shop, workspace_folder):
    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--add", "blurry", "--ids", "s01", "s99"])

    assert "1 id is not an example of shop: s99. Nothing was changed." in message
    assert Workspace(workspace_folder).change_counter() == 0


def test_empty_tag_name_rejected(capsys, shop, workspace_folder):
    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--add", "  ", "--ids", "s01"])

    assert "'  ' cannot be a tag name." in message


def test_rename_to_taken_name_rejected(capsys, shop, workspace_folder):
    run_tag(shop, workspace_folder, "--add", "blurry", "--ids", "s01")

    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--rename", "blurry", "tag_loud"])

    assert "There is already a tag named 'tag_loud'." in message


def test_delete_unknown_tag_rejected(capsys, shop, workspace_folder):
    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--delete", "no such tag"])

    assert "Unknown tag 'no such tag'." in message
    assert "Known tags: tag_loud." in message


def test_unreadable_ids_file_rejected(capsys, shop, workspace_folder, tmp_path):
    missing = tmp_path / "missing.txt"

    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--add", "blurry", "--ids-file", str(missing)])

    assert f"The ids file {missing} could not be read" in message


def test_no_ids_rejected(capsys, shop, workspace_folder, tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n", encoding="utf-8")

    message = error_output(capsys, ["tag", "--config", str(shop), "--workspace", str(workspace_folder), "--add", "blurry", "--ids-file", str(blank)])

    assert "No example ids given." in message


def test_workspace_without_config_rejected(capsys, shop, workspace_folder):
    predictions = str(shop.parent / "predictions.csv")

    summary = error_output(capsys, ["summary", "--predictions", predictions, "--workspace", str(workspace_folder)])
    tag = error_output(capsys, ["tag", "--predictions", predictions, "--workspace", str(workspace_folder), "--add", "blurry", "--ids", "s01"])

    assert "--workspace needs --config" in summary
    assert "tag needs --config" in tag


def test_export_to_txt_rejected(capsys, shop, tmp_path):
    out = tmp_path / "tags.txt"

    message = error_output(capsys, ["export-tags", "--config", str(shop), "--out", str(out)])

    assert f"Cannot write tags as 'txt' to {out}." in message
    assert not out.exists()


def test_export_into_missing_folder_rejected(capsys, shop, tmp_path):
    out = tmp_path / "missing" / "tags.csv"

    message = error_output(capsys, ["export-tags", "--config", str(shop), "--out", str(out)])

    assert f"The tags could not be written to {out}" in message


# ---------------------------------------------------------------- commands in parallel


def test_parallel_commands_lose_no_edit(shop, workspace_folder):
    commands = [
        [sys.executable, "-m", "analysis", "tag", "--config", str(shop), "--workspace", str(workspace_folder), "--add", f"tag {number}", "--ids", "s01", "s02"]
        for number in range(3)
    ]
    children = [subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    outputs = [child.communicate(timeout=120) for child in children]

    for child, (stdout, stderr) in zip(children, outputs):
        assert child.returncode == 0, stderr
        assert "locked" not in stderr
        assert stdout.startswith("Saved edit ")
    workspace = Workspace(workspace_folder)
    assert sorted(edit.description for edit in workspace.history("shop")) == [f"added tag tag {number} to 2 examples" for number in range(3)]
    assert workspace.change_counter() == 3
