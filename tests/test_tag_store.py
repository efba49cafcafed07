"""The workspace keeps every tag edit: overlay semantics, undo, concurrent writers, killed writers, export round trip.

Expected tags come from pandas (:mod:`oracle` reads the files and ORs each
tag's forms per example), with every edit replayed on top by
:class:`ExpectedTags`; the engine's numbers come from DuckDB views over the
SQLite workspace.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle import UNTAGGED, ExpectedData, read_expected, write_dataset_files
from workspace_pages import TAGS_PAGE, isolate_settings, run

import analysis
from analysis.config import DatasetConfig, load_config
from analysis.counting import count_examples
from analysis.dataset import load_dataset
from analysis.model import Dataset
from analysis.tag_export import export_tags
from analysis.tag_overlay import apply_tag_edits
from analysis.errors import InputError
from analysis.workspace import Edit, Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEECH = REPO_ROOT / "sample_data" / "speech_commands"

HOSTILE_NAMES = ("my tag", 'say "hi"', "it's", "café ☕ ünï", 'x" OR 1=1 --')


# ---------------------------------------------------------------- the expected tags


class ExpectedTags:
    """Tag flags per analysed example as pandas computes them, with the workspace edits replayed on top."""

    def __init__(self, expected: ExpectedData):
        self.ids = expected.frame["id"].astype(str).to_numpy()
        self.is_error = expected.frame["is_error"].to_numpy(dtype=bool)
        self.flags = {name: expected.tag_flags[name].to_numpy(dtype=bool).copy() for name in expected.tag_flags.columns}
        # HLP of the file, per tag shown: a renamed tag keeps its file tag's value.
        self.hlp = {name: value for name, value in expected.hlp.items() if name in self.flags}

    def set(self, tag: str, ids, present: bool) -> None:
        if tag not in self.flags:
            self.flags[tag] = np.zeros(len(self.ids), dtype=bool)
        chosen = np.isin(self.ids, [str(example) for example in ids])
        self.flags[tag][chosen] = present

    def create(self, tag: str) -> None:
        self.flags[tag] = np.zeros(len(self.ids), dtype=bool)

    def rename(self, old: str, new: str) -> None:
        self.flags[new] = self.flags.pop(old)
        if old in self.hlp:
            self.hlp[new] = self.hlp.pop(old)

    def delete(self, tag: str) -> None:
        del self.flags[tag]
        self.hlp.pop(tag, None)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Return (examples, errors) per tag and for the untagged examples."""
        result = {tag: (int(flag.sum()), int((flag & self.is_error).sum())) for tag, flag in self.flags.items()}
        untagged = ~np.any(np.column_stack(list(self.flags.values())), axis=1) if self.flags else np.ones(len(self.ids), bool)
        result[UNTAGGED] = (int(untagged.sum()), int((untagged & self.is_error).sum()))
        return result

    def members(self) -> dict[str, set[str]]:
        return {tag: set(self.ids[flag]) for tag, flag in self.flags.items()}


def file_hashes(config: DatasetConfig) -> dict[str, str]:
    paths = [config.predictions, config.metadata, config.tags_file, config.hlp_file, config.source]
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths if path is not None}


def overlaid(dataset: Dataset, workspace: Workspace, key: str) -> Dataset:
    return apply_tag_edits(dataset, workspace.tag_edits(key))


def summary_tags(dataset: Dataset) -> dict[str, dict]:
    return {row["tag"]: row for row in analysis.summarize(dataset)["tags"]}


def view_members(dataset: Dataset) -> dict[str, set[str]]:
    """Return the ids carrying each shown tag, read from the dataset's view."""
    members = {}
    for tag in dataset.tags:
        rows = dataset.engine.rows(f"SELECT CAST(id AS VARCHAR) FROM {dataset.view} WHERE {tag.alias}")
        members[tag.name] = {row[0] for row in rows}
    return members


def check_matches(dataset: Dataset, expected: ExpectedTags) -> None:
    """Assert that the overlaid dataset counts every tag as the pandas replay does."""
    counts = expected.counts()
    rows = summary_tags(dataset)

    assert {tag: (row["count"], row["errors"]) for tag, row in rows.items()} == counts
    assert view_members(dataset) == expected.members()

    combinations = count_examples(dataset).tag_combinations
    for tag in dataset.tags:
        chosen = combinations[combinations[tag.alias]]
        assert int(chosen["n"].sum()) == counts[tag.name][0], tag.name
        assert int(chosen["errors"].sum()) == counts[tag.name][1], tag.name

    shown_hlp = {tag: row["hlp"] for tag, row in rows.items() if tag != UNTAGGED and row["hlp"] is not None}
    assert shown_hlp == pytest.approx(expected.hlp)


# ---------------------------------------------------------------- datasets


@pytest.fixture(scope="module")
def speech() -> tuple[Dataset, ExpectedData]:
    config = load_config(SPEECH)
    return load_dataset(config), read_expected(config)


def generated_frames(count: int = 3000, first_id: int = 1, id_text=str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return predictions, metadata (a boolean tag column and a tag list column) and a long tags file.

    The name "shared" is in the list column and the long file both, so it is
    OR'ed over two forms. The long file has several rows for some examples.
    """
    generator = np.random.default_rng(7)
    ids = [id_text(first_id + index) for index in range(count)]
    labels = generator.choice(["cat", "dog", "owl"], size=count)
    wrong = generator.random(count) < 0.2
    predictions = pd.DataFrame(
        {"id": ids, "label": labels, "prediction": np.where(wrong, np.roll(labels, 1), labels)}
    )
    list_names = np.array(["my tag", 'say "hi"', "it's", "shared"])
    lists = [
        ";".join(list_names[generator.random(len(list_names)) < 0.15]) for _ in range(count)
    ]
    metadata = pd.DataFrame(
        {"id": ids, "colour": generator.choice(["red", "blue"], size=count), "tag_loud": generator.random(count) < 0.3, "labels": lists}
    )
    long_names = np.array(["café ☕ ünï", 'x" OR 1=1 --', "shared", "rare"])
    long_rows = []
    for example in ids:
        for name in long_names[generator.random(len(long_names)) < np.array([0.4, 0.2, 0.1, 0.01])]:
            long_rows.append((example, name))
    long_tags = pd.DataFrame(long_rows, columns=["id", "tag"])
    return predictions, metadata, long_tags


def write_generated(folder: Path, **frame_options) -> DatasetConfig:
    predictions, metadata, long_tags = generated_frames(**frame_options)
    return write_dataset_files(folder, predictions, metadata, tags=long_tags, hlp={"rare": 0.99, "tag_loud": 0.9}, tag_list_column="labels")


# ---------------------------------------------------------------- round trip and overlay semantics


def run_edit_sequence(dataset: Dataset, expected: ExpectedTags, workspace: Workspace, key: str, file_tag: str, second_tag: str) -> None:
    """Apply every kind of edit, checking the overlaid counts against the pandas replay after each one."""
    file_tags = dataset.file_tag_names
    ids = list(expected.ids)
    carrying = [example for example, flag in zip(ids, expected.flags[file_tag]) if flag]

    # Add a file tag to examples without it, and a new tag (created on the fly) to some examples.
    workspace.set_tag(key, file_tag, ids[:40], True, file_tags)
    expected.set(file_tag, ids[:40], True)
    check_matches(overlaid(dataset, workspace, key), expected)

    workspace.set_tag(key, HOSTILE_NAMES[-1] + " new", ids[10:70:3], True, file_tags)
    expected.set(HOSTILE_NAMES[-1] + " new", ids[10:70:3], True)
    check_matches(overlaid(dataset, workspace, key), expected)

    # Remove the file tag from some examples that carry it in the files.
    workspace.set_tag(key, file_tag, carrying[-25:], False, file_tags)
    expected.set(file_tag, carrying[-25:], False)
    check_matches(overlaid(dataset, workspace, key), expected)

    # Create an empty tag with a hostile name, then rename a file tag to a hostile name.
    for name in HOSTILE_NAMES:
        if name not in expected.flags:
            workspace.create_tag(key, name, file_tags)
            expected.create(name)
    check_matches(overlaid(dataset, workspace, key), expected)

    renamed = "renamed ' \" ü --"
    workspace.rename_tag(key, second_tag, renamed, file_tags)
    expected.rename(second_tag, renamed)
    check_matches(overlaid(dataset, workspace, key), expected)

    # Delete the edited file tag: it is hidden, its file is not touched.
    workspace.delete_tag(key, file_tag, file_tags)
    expected.delete(file_tag)
    check_matches(overlaid(dataset, workspace, key), expected)

    # A tag created with the deleted file tag's name starts empty and has no HLP of the file.
    workspace.set_tag(key, file_tag, ids[:5], True, file_tags)
    expected.set(file_tag, ids[:5], True)
    check_matches(overlaid(dataset, workspace, key), expected)

    # Rename back: the file tag's examples and HLP return under its own name.
    workspace.rename_tag(key, renamed, second_tag, file_tags)
    expected.rename(renamed, second_tag)
    check_matches(overlaid(dataset, workspace, key), expected)


def test_speech_edits_match_pandas(tmp_path, speech):
    dataset, expected_data = speech
    before = file_hashes(dataset.config)
    workspace = Workspace(tmp_path / "workspace", user="alice")

    run_edit_sequence(dataset, ExpectedTags(expected_data), workspace, "speech_commands", "car_noise", "people_noise")

    assert file_hashes(dataset.config) == before


def test_generated_integer_ids_match_pandas(tmp_path):
    config = write_generated(tmp_path / "data", id_text=int)
    before = file_hashes(config)
    dataset = load_dataset(config)
    expected = ExpectedTags(read_expected(config))
    # The long file and the list column both give "shared", so it is OR'ed over two forms.
    assert {"tag_loud", "shared", "rare", *HOSTILE_NAMES} <= set(expected.flags)

    run_edit_sequence(dataset, expected, Workspace(tmp_path / "workspace"), "generated", "rare", "tag_loud")

    assert file_hashes(config) == before


def test_renamed_tag_keeps_file_hlp(tmp_path, speech):
    dataset, _expected = speech
    workspace = Workspace(tmp_path)
    workspace.rename_tag("speech_commands", "car_noise", "engine hum", dataset.file_tag_names)

    rows = summary_tags(overlaid(dataset, workspace, "speech_commands"))

    assert rows["engine hum"]["hlp"] == pytest.approx(dataset.hlp["car_noise"])
    assert "car_noise" not in rows


def test_recreated_tag_has_no_file_hlp(tmp_path, speech):
    dataset, _expected = speech
    workspace = Workspace(tmp_path)
    workspace.delete_tag("speech_commands", "car_noise", dataset.file_tag_names)
    workspace.create_tag("speech_commands", "car_noise", dataset.file_tag_names)

    shown = overlaid(dataset, workspace, "speech_commands")
    rows = summary_tags(shown)

    assert rows["car_noise"]["count"] == 0
    assert rows["car_noise"]["hlp"] is None
    assert "car_noise" not in shown.hlp


def test_list_column_and_long_file_together_match_pandas(tmp_path):
    config = write_generated(tmp_path / "data")

    dataset = load_dataset(config)

    check_matches(dataset, ExpectedTags(read_expected(config)))


# ---------------------------------------------------------------- undo and history


def stored_state(workspace: Workspace, key: str) -> tuple[list[tuple], dict, frozenset]:
    """Return the tag edits without who and when: undo writes its own author and time on restored rows."""
    edits = workspace.tag_edits(key)
    rows = sorted(edits.assignments[["tag", "example_id", "present"]].itertuples(index=False, name=None))
    return rows, edits.names, edits.hidden


def shown_counts(dataset: Dataset, workspace: Workspace, key: str) -> dict[str, tuple[int, int]]:
    return {tag: (row["count"], row["errors"]) for tag, row in summary_tags(overlaid(dataset, workspace, key)).items()}


def test_undo_restores_each_edit_kind_newest_first(tmp_path):
    dataset = load_dataset(write_generated(tmp_path / "data", count=600, id_text=lambda number: f"e{number:04d}"))
    key, file_tags = "generated", dataset.file_tag_names
    workspace = Workspace(tmp_path / "workspace", user="alice")
    ids = ["e0001", "e0002", "e0003", "e0004"]
    tagged = [str(row[0]) for row in dataset.engine.rows(f"SELECT id FROM {dataset.view} WHERE {dataset.tag('shared').alias} LIMIT 2")]
    edits = [
        lambda: workspace.set_tag(key, "blurry", ids, True, file_tags),
        lambda: workspace.set_tag(key, "tag_loud", ids[:2], True, file_tags),
        lambda: workspace.set_tag(key, "shared", tagged, False, file_tags),
        lambda: workspace.create_tag(key, 'x" OR 1=1 -- new', file_tags),
        lambda: workspace.rename_tag(key, "shared", "crowd", file_tags),
        lambda: workspace.rename_tag(key, "blurry", "soft focus", file_tags),
        lambda: workspace.delete_tag(key, "tag_loud", file_tags),
        lambda: workspace.delete_tag(key, "soft focus", file_tags),
        lambda: workspace.set_tag(key, "tag_loud", ids[2:], True, file_tags),
    ]
    before: list[tuple] = []
    made: list[Edit] = []
    for edit in edits:
        before.append((stored_state(workspace, key), shown_counts(dataset, workspace, key)))
        made.append(edit())

    for expected_state, edit in zip(reversed(before), reversed(made)):
        undone = Workspace(tmp_path / "workspace", user="bob").undo(key)

        assert undone.id == edit.id
        assert undone.description == edit.description
        assert undone.undone_by == "bob"
        assert stored_state(workspace, key) == expected_state[0]
        assert shown_counts(dataset, workspace, key) == expected_state[1]

    assert workspace.undo(key) is None
    assert not workspace.tag_edits(key)
    assert workspace.change_counter() == 2 * len(edits)


def test_history_records_who_and_when(tmp_path):
    started = datetime.now(UTC).replace(microsecond=0)
    Workspace(tmp_path, user="alice").set_tag("data", "blurry", ["1", "2"], True, ())
    Workspace(tmp_path, user="bob").rename_tag("data", "blurry", "soft", ())
    Workspace(tmp_path, user="carol").undo("data")
    finished = datetime.now(UTC)

    history = Workspace(tmp_path).history("data")

    assert [edit.changed_by for edit in history] == ["bob", "alice"]
    assert [edit.description for edit in history] == ["renamed tag blurry to soft", "added tag blurry to 2 examples"]
    assert history[0].undone_by == "carol"
    assert history[1].undone_by is None
    for moment in (history[0].changed_at, history[1].changed_at, history[0].undone_at):
        assert started <= datetime.fromisoformat(moment) <= finished
    assert history[1].changes == {
        '["name", "blurry"]': (None, {"file": None}),
        '["assignment", "blurry", "1"]': (None, True),
        '["assignment", "blurry", "2"]': (None, True),
    }


# ---------------------------------------------------------------- concurrent writers


def replay_history(workspace: Workspace, key: str) -> dict[str, object]:
    """Replay every edit not undone, oldest first, checking that each edit's old values are the state it found.

    Returns the stored rows, keyed as in the history. They equal the final
    state only if no edit was lost, applied twice or interleaved with another.
    """
    state: dict[str, object] = {}
    history = sorted(workspace.history(key, limit=100_000), key=lambda edit: edit.id)
    for edit in history:
        assert edit.change_count == len(edit.changes), "replay needs every change of an edit"
        for change, (old, new) in edit.changes.items():
            assert state.get(change) == old, (edit.id, change)
            if new is None:
                state.pop(change, None)
            else:
                state[change] = new
    return state


def final_state(workspace: Workspace, key: str) -> dict[str, object]:
    edits = workspace.tag_edits(key)
    state: dict[str, object] = {}
    for tag, example, present in edits.assignments[["tag", "example_id", "present"]].itertuples(index=False, name=None):
        state[json.dumps(["assignment", tag, example], ensure_ascii=False)] = bool(present)
    for tag, source in edits.names.items():
        state[json.dumps(["name", tag], ensure_ascii=False)] = {"file": source}
    for tag in edits.hidden:
        state[json.dumps(["hidden", tag], ensure_ascii=False)] = True
    return state


@pytest.mark.parametrize("overlapping", [False, True], ids=["distinct ids", "overlapping ids"])
def test_threads_lose_no_edit(tmp_path, overlapping):
    writers, edits_each = 8, 25
    barrier = threading.Barrier(writers)
    made: list[list[Edit]] = [[] for _ in range(writers)]
    failures: list[BaseException] = []
    if overlapping:
        # Removing a tag that does not exist yet is an error, so the tag exists first.
        Workspace(tmp_path, user="setup").create_tag("data", "contested", ())

    def write(writer: int) -> None:
        own = Workspace(tmp_path, user=f"writer{writer}")
        try:
            barrier.wait()
            for step in range(edits_each):
                if overlapping:
                    # Every writer flips the same few examples, so most edits find another writer's rows.
                    ids = [str((writer + step + offset) % 6) for offset in range(3)]
                    edit = own.set_tag("data", "contested", ids, (writer + step) % 2 == 0, ())
                else:
                    edit = own.set_tag("data", f"tag {writer}", [f"{writer}-{step}"], True, ())
                if edit is not None:
                    made[writer].append(edit)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    workspace = Workspace(tmp_path)
    edit_ids = [edit.id for edits in made for edit in edits]
    history = workspace.history("data", limit=100_000)
    assert failures == []
    assert len(edit_ids) == len(set(edit_ids))
    setup_edits = 1 if overlapping else 0
    assert sorted(edit.id for edit in history if edit.changed_by != "setup") == sorted(edit_ids)
    assert len(history) == len(edit_ids) + setup_edits
    assert workspace.change_counter() == len(edit_ids) + setup_edits
    assert {edit.changed_by for edit in history} - {"setup"} == {f"writer{writer}" for writer in range(writers) if made[writer]}
    if not overlapping:
        assert len(edit_ids) == writers * edits_each
    assert replay_history(workspace, "data") == final_state(workspace, "data")


def test_first_writers_and_readers_at_once(tmp_path):
    # The race needs a new file each time, so it is tried in several fresh folders.
    trials, threads_each = 15, 8
    failures: list[BaseException] = []

    def use(folder: Path, number: int, barrier: threading.Barrier) -> None:
        own = Workspace(folder, user=f"user{number}")
        try:
            barrier.wait()
            if number % 2:
                own.set_tag("data", "first", [str(number)], True, ())
            else:
                # Readers see no file or a complete one, never a file without its tables.
                for _ in range(20):
                    own.change_counter()
                    own.history("data")
                    own.tag_edits("data")
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    for trial in range(trials):
        folder = tmp_path / f"workspace{trial}"
        barrier = threading.Barrier(threads_each)
        threads = [threading.Thread(target=use, args=(folder, number, barrier)) for number in range(threads_each)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert Workspace(folder).change_counter() == threads_each // 2
        assert integrity(folder) == "ok"
    assert failures == []
    assert not list(tmp_path.glob("*/.workspace.sqlite.*"))


def python_child(script: str, *arguments: str) -> subprocess.Popen:
    """Start a Python process running ``script`` with the repository importable, lines on stdin and stdout."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *arguments],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# Waits for "go" on stdin, then makes COUNT edits of the tag "shared", each on an example of its own and one of 0 to 4.
WRITER_SCRIPT = """
    import sys
    from pathlib import Path
    from analysis.workspace import Workspace

    folder, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    workspace = Workspace(folder, user=name)
    print("ready", flush=True)
    sys.stdin.readline()
    for step in range(count):
        workspace.set_tag("data", "shared", [f"{name}-{step}", str(step % 5)], step % 2 == 0, ())
    print("done", flush=True)
"""


def test_processes_lose_no_edit(tmp_path):
    edits_each = 25
    children = [python_child(WRITER_SCRIPT, str(tmp_path), f"process{number}", str(edits_each)) for number in range(2)]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    # Both start writing once both have imported everything.
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [child.communicate(timeout=120) for child in children]

    workspace = Workspace(tmp_path)
    for child, (stdout, stderr) in zip(children, outputs):
        assert child.returncode == 0, stderr
        assert stdout.strip() == "done"
        assert "locked" not in stderr
    history = workspace.history("data", limit=100_000)
    assert len(history) == workspace.change_counter()
    # Each process's own example is new in every edit, so no edit is empty.
    assert len(history) == 2 * edits_each
    assert replay_history(workspace, "data") == final_state(workspace, "data")


# ---------------------------------------------------------------- killed writers


# Waits for "go", prints "writing" and makes one edit of COUNT examples.
BIG_EDIT_SCRIPT = """
    import sys
    from pathlib import Path
    from analysis.workspace import Workspace

    folder, count = Path(sys.argv[1]), int(sys.argv[2])
    workspace = Workspace(folder, user="killed")
    print("ready", flush=True)
    sys.stdin.readline()
    print("writing", flush=True)
    workspace.set_tag("data", "big", range(count), True, ())
    print("saved", flush=True)
"""

BIG_EDIT = 200_000


def earlier_edits(folder: Path) -> Workspace:
    workspace = Workspace(folder, user="before")
    workspace.set_tag("data", "blurry", ["1", "2", "3"], True, ())
    workspace.set_tag("data", "blurry", ["2"], False, ())
    workspace.rename_tag("data", "blurry", "soft", ())
    return workspace


def wait_for_wal_growth(folder: Path, start: int, growth: int, child: subprocess.Popen) -> None:
    """Return once the WAL file has grown by ``growth`` bytes (the big transaction is writing) or the child has ended."""
    wal = folder / "workspace.sqlite-wal"
    while child.poll() is None and (wal.stat().st_size if wal.exists() else 0) < start + growth:
        time.sleep(0.01)


def integrity(folder: Path) -> str:
    with sqlite3.connect(folder / "workspace.sqlite") as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


# Kill points: seconds after "writing", bytes the WAL has grown (inside the
# transaction), or once the child reports the edit saved.
KILL_POINTS = [("delay", 0.3), ("wal", 3_000_000), ("saved", None)]


def test_kill_during_big_edit_keeps_all_or_nothing(tmp_path):
    folders = [tmp_path / f"workspace{number}" for number in range(len(KILL_POINTS))]
    before = {}
    for folder in folders:
        workspace = earlier_edits(folder)
        before[folder] = (stored_state(workspace, "data"), [edit.id for edit in workspace.history("data")])
    # Started together so that their imports overlap. Each writes once it reads "go".
    children = [python_child(BIG_EDIT_SCRIPT, str(folder), str(BIG_EDIT)) for folder in folders]
    for child in children:
        assert child.stdout.readline().strip() == "ready"

    outcomes = []
    for (kind, point), folder, child in zip(KILL_POINTS, folders, children):
        wal = folder / "workspace.sqlite-wal"
        start = wal.stat().st_size if wal.exists() else 0
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "writing"
        if kind == "delay":
            time.sleep(point)
        elif kind == "wal":
            wait_for_wal_growth(folder, start, point, child)
        else:
            assert child.stdout.readline().strip() == "saved"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)

        workspace = Workspace(folder)
        assert integrity(folder) == "ok"
        history = workspace.history("data", limit=100)
        earlier_state, earlier_ids = before[folder]
        big = [edit for edit in history if edit.changed_by == "killed"]
        assert [edit.id for edit in history if edit.changed_by == "before"] == earlier_ids
        assert all(edit.undone_at is None for edit in history)
        rows, names, hidden = stored_state(workspace, "data")
        if big:
            # The whole edit: the new tag's name and every example, in the history and in the tables.
            assert len(big) == 1
            assert big[0].change_count == BIG_EDIT + 1
            assert names == {**earlier_state[1], "big": None}
            assert sorted(row for row in rows if row[0] != "big") == earlier_state[0]
            assert sum(1 for row in rows if row[0] == "big") == BIG_EDIT
        else:
            assert (rows, names, hidden) == earlier_state
        outcomes.append(bool(big))

        # A read-only reader (the demo dashboard, summary --workspace) reads the same state.
        read_only = Workspace(folder, read_only=True).tag_edits("data")
        assert (read_only.names, read_only.hidden, len(read_only.assignments)) == (names, hidden, len(rows))

        # The next writer is not blocked by the killed one.
        assert workspace.set_tag("data", "after", ["1"], True, ()) is not None
        assert workspace.change_counter() == len(earlier_ids) + len(big) + 1

    # Whether the first kills land before the commit depends on the machine's speed. The last always lands after it.
    assert outcomes[-1] is True


# Makes small edits until killed, printing the number of each edit once it is saved.
LOOP_SCRIPT = """
    import sys
    from pathlib import Path
    from analysis.workspace import Workspace

    workspace = Workspace(Path(sys.argv[1]), user="looper")
    step = 0
    while True:
        workspace.set_tag("data", f"tag {step % 7}", [str(step)], True, ())
        print(step, flush=True)
        step += 1
"""


def test_kill_between_edits_keeps_saved_ones(tmp_path):
    child = python_child(LOOP_SCRIPT, str(tmp_path))
    saved = -1
    while saved < 30:
        saved = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)

    workspace = Workspace(tmp_path)
    history = workspace.history("data", limit=100_000)
    assert integrity(tmp_path) == "ok"
    # Every edit reported saved is there. The one running at the kill is there whole or not at all.
    assert len(history) >= saved + 1
    assert workspace.change_counter() == len(history)
    assert replay_history(workspace, "data") == final_state(workspace, "data")
    assert {row[1] for row in stored_state(workspace, "data")[0]} == {str(step) for step in range(len(history))}


# ---------------------------------------------------------------- a browser tab and a CLI process at once


def manager_table(app) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if "origin" in frame.value.columns).set_index("tag")


def test_tab_and_cli_edit_at_once(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    app = run(TAGS_PAGE, "speech_commands")
    cli = subprocess.Popen(
        [sys.executable, "-m", "analysis", "tag", "--config", str(SPEECH / "dataset.toml"), "--workspace", str(folder),
         "--add", "from cli", "--ids", "utt_00001", "utt_00002", "--user", "terminal"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    # The tab creates and renames tags while the command starts and writes.
    app.text_input(key="tagging_create_name").set_value("from tab")
    app.button(key="tagging_create").click().run()
    app.selectbox(key="tagging_rename_old").set_value("from tab")
    app.text_input(key="tagging_rename_new").set_value("renamed in tab")
    app.button(key="tagging_rename").click().run()
    app.button(key="tagging_confirm").click().run()
    stdout, stderr = cli.communicate(timeout=120)

    assert cli.returncode == 0, stderr
    assert "added tag from cli to 2 examples" in stdout
    edits = Workspace(folder).tag_edits("speech_commands")
    assert edits.names == {"from cli": None, "renamed in tab": None}
    assert sorted(edits.assignments["example_id"]) == ["utt_00001", "utt_00002"]
    app.run()
    table = manager_table(app)
    assert not app.exception
    assert table.loc["from cli", "count"] == 2
    assert table.loc["renamed in tab", "count"] == 0


def test_two_tabs_see_each_others_edits(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    first = run(TAGS_PAGE, "speech_commands")
    second = run(TAGS_PAGE, "speech_commands")

    first.text_input(key="tagging_create_name").set_value("first's tag")
    first.button(key="tagging_create").click().run()
    second.run()

    assert "first's tag" in manager_table(second).index

    second.selectbox(key="tagging_rename_old").set_value("first's tag")
    second.text_input(key="tagging_rename_new").set_value("second's name")
    second.button(key="tagging_rename").click().run()
    second.button(key="tagging_confirm").click().run()
    first.run()

    assert "second's name" in manager_table(first).index
    assert "first's tag" not in manager_table(first).index

    first.selectbox(key="tagging_delete_tag").set_value("car_noise")
    first.button(key="tagging_delete").click().run()
    first.button(key="tagging_confirm").click().run()
    second.run()

    assert "car_noise" not in manager_table(second).index
    assert not first.exception
    assert not second.exception
    assert [edit.description for edit in Workspace(folder).history("speech_commands")] == [
        "deleted tag car_noise",
        "renamed tag first's tag to second's name",
        "created tag first's tag",
    ]


# ---------------------------------------------------------------- export read back as input


def tag_numbers(dataset: Dataset) -> dict[str, tuple[int, int]]:
    """Return (examples, errors) per tag that has examples, and for the untagged ones."""
    return {tag: (row["count"], row["errors"]) for tag, row in summary_tags(dataset).items() if row["count"] or tag == UNTAGGED}


@pytest.mark.parametrize(
    "id_text",
    [lambda number: f"ex {number}", int, lambda number: f"{number:03d}"],
    ids=["text ids", "integer ids", "leading zeros"],
)
def test_export_reads_back_as_tags_file(tmp_path, id_text):
    config = write_generated(tmp_path / "data", count=800, id_text=id_text)
    dataset = load_dataset(config)
    ids = [str(row[0]) for row in dataset.engine.rows(f"SELECT id FROM {dataset.view} ORDER BY id LIMIT 30")]
    workspace = Workspace(tmp_path / "workspace")
    workspace.set_tag("generated", "blurry", ids[:20], True, dataset.file_tag_names)
    workspace.set_tag("generated", "tag_loud", ids, False, dataset.file_tag_names)
    workspace.rename_tag("generated", "rare", 'x" OR 1=1 -- renamed', dataset.file_tag_names)
    workspace.delete_tag("generated", "my tag", dataset.file_tag_names)
    edited = overlaid(dataset, workspace, "generated")
    # With leading zeros the ids are "001" to "020": text, not the numbers 1 to 20.
    assert view_members(edited)["blurry"] == set(ids[:20])

    for suffix in ("csv", "parquet"):
        path = tmp_path / f"tags.{suffix}"
        rows = export_tags(edited, path)
        read_back = load_dataset(dataclasses.replace(config, tags_file=path, tag_columns=[], tag_list_column=None))

        assert rows == sum(len(members) for members in view_members(edited).values())
        assert tag_numbers(read_back) == tag_numbers(edited)
        assert view_members(read_back) == {tag: members for tag, members in view_members(edited).items() if members}


def test_typed_hlp_follows_rename_and_delete(tmp_path, speech):
    dataset, _expected = speech
    key, file_tags = "speech_commands", dataset.file_tag_names
    workspace = Workspace(tmp_path)
    workspace.set_hlp(key, {"car_noise": 0.97, "people_noise": 0.91})

    workspace.rename_tag(key, "car_noise", "engine hum", file_tags)

    assert {tag: typed.value for tag, typed in workspace.hlp_values(key).items()} == {"engine hum": 0.97, "people_noise": 0.91}

    workspace.delete_tag(key, "people_noise", file_tags)
    workspace.create_tag(key, "people_noise", file_tags)

    assert {tag: typed.value for tag, typed in workspace.hlp_values(key).items()} == {"engine hum": 0.97}

    workspace.undo(key)
    workspace.undo(key)

    assert {tag: typed.value for tag, typed in workspace.hlp_values(key).items()} == {"engine hum": 0.97, "people_noise": 0.91}

    workspace.undo(key)

    assert {tag: typed.value for tag, typed in workspace.hlp_values(key).items()} == {"car_noise": 0.97, "people_noise": 0.91}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("CAR_NOISE", "differs from the existing tag 'car_noise' only in case"),
        ("bad;name", "cannot be a tag name"),
        ("car_noise", "There is already a tag named 'car_noise'"),
    ],
)
def test_new_tag_name_rejected(tmp_path, name, message):
    workspace = Workspace(tmp_path)

    with pytest.raises(InputError, match=re.escape(message)):
        workspace.create_tag("speech_commands", name, ("car_noise", "people_noise"))

    assert workspace.change_counter() == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("CAR_NOISE", "differs from the existing tag 'car_noise' only in case"),
        ("bad;name", "cannot be a tag name"),
    ],
)
def test_tagging_with_new_bad_name_rejected(tmp_path, name, message):
    workspace = Workspace(tmp_path)

    with pytest.raises(InputError, match=re.escape(message)):
        workspace.set_tag("speech_commands", name, ["utt_00001"], True, ("car_noise", "people_noise"))

    assert workspace.change_counter() == 0


def test_rename_may_change_case_only(tmp_path):
    workspace = Workspace(tmp_path)

    workspace.rename_tag("speech_commands", "car_noise", "Car_Noise", ("car_noise", "people_noise"))

    assert workspace.tag_edits("speech_commands").names == {"Car_Noise": "car_noise"}
