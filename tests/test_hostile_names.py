"""Column names and values that would break SQL built from text load as plain data.

Every name reaches SQL as a quoted identifier and every value as a bound
parameter, so the numbers must match a pandas computation, and a table named in
an injected ``DROP TABLE`` must survive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_config, load_dataset, summarize
from analysis.cli import main
from analysis.config import DatasetConfig
from analysis.engine import Engine

ID = "my id; \"key\""
LABEL = 'true "label"'
PREDICTION = "order"
INJECTION = 'x"; DROP TABLE sentinel; --'
ATTRIBUTES = [
    "group",
    "value",
    "select",
    "with space",
    "it's",
    'say "what"',
    "a;b",
    "giới_tính",
    "Größe",
    INJECTION,
    "'); DROP TABLE sentinel; --",
]
TAG_COLUMNS = ['tag "loud"; --', "tag_größe"]
TAG_LIST = "tags; list"
HOSTILE_VALUES = ["it's", '"quoted"', "'); DROP TABLE sentinel; --", "ünïcödé", "a\"b'c", "plain"]
# Tag names found in the list column; none contains the "|" separator.
LIST_TAGS = ["it's", '"quoted"', "'); DROP TABLE sentinel; --", "ünïcödé"]
COUNT = 48


def make_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return predictions and metadata with hostile names and values, 48 examples."""
    ids = [f"id '{index}\"" for index in range(COUNT)]
    labels = ["yes" if index % 3 else "no" for index in range(COUNT)]
    flipped = {"yes": "no", "no": "yes"}
    # Every fifth prediction is wrong.
    predictions = [flipped[label] if index % 5 == 0 else label for index, label in enumerate(labels)]
    predictions_frame = pd.DataFrame({ID: ids, LABEL: labels, PREDICTION: predictions})

    metadata = {ID: ids}
    for offset, name in enumerate(ATTRIBUTES):
        metadata[name] = [HOSTILE_VALUES[(index + offset) % len(HOSTILE_VALUES)] for index in range(COUNT)]
    metadata["Größe"] = [["klein", "groß", "mittelgroß"][index % 3] for index in range(COUNT)]
    metadata[TAG_COLUMNS[0]] = [index % 4 == 0 for index in range(COUNT)]
    metadata[TAG_COLUMNS[1]] = [index % 6 == 1 for index in range(COUNT)]
    metadata[TAG_LIST] = [
        " | ".join(tag for position, tag in enumerate(LIST_TAGS) if (index + position) % 3 == 0) for index in range(COUNT)
    ]
    return predictions_frame, pd.DataFrame(metadata)


def write_frames(folder: Path, form: str) -> tuple[Path, Path]:
    predictions, metadata = make_frames()
    if form == "csv":
        predictions_path, metadata_path = folder / "predictions.csv", folder / "metadata.csv"
        predictions.to_csv(predictions_path, index=False)
        metadata.to_csv(metadata_path, index=False)
    else:
        predictions_path, metadata_path = folder / "predictions.parquet", folder / "metadata.parquet"
        predictions.to_parquet(predictions_path, index=False)
        metadata.to_parquet(metadata_path, index=False)
    return predictions_path, metadata_path


def hostile_config(predictions: Path, metadata: Path) -> DatasetConfig:
    return DatasetConfig(
        predictions=predictions,
        metadata=metadata,
        id_column=ID,
        label_column=LABEL,
        prediction_column=PREDICTION,
        tag_columns=list(TAG_COLUMNS),
        tag_list_column=TAG_LIST,
        tag_separator="|",
    )


def engine_with_sentinel() -> Engine:
    engine = Engine()
    engine.rows("CREATE TABLE sentinel AS SELECT 42 AS answer")
    return engine


def assert_sentinel_intact(engine: Engine) -> None:
    assert engine.rows("SELECT answer FROM sentinel") == [(42,)]


@pytest.fixture(params=["csv", "parquet"])
def hostile_files(request, tmp_path) -> tuple[Path, Path]:
    return write_frames(tmp_path, request.param)


def expected_frame() -> pd.DataFrame:
    predictions, metadata = make_frames()
    joined = predictions.merge(metadata, on=ID)
    joined["is_error"] = joined[LABEL] != joined[PREDICTION]
    return joined


def test_hostile_names_load(hostile_files):
    engine = engine_with_sentinel()

    dataset = load_dataset(hostile_config(*hostile_files), engine)

    assert dataset.id_column == ID
    assert dataset.label_column == LABEL
    assert dataset.prediction_column == PREDICTION
    assert [a.name for a in dataset.attributes] == ATTRIBUTES
    assert dataset.report.matched == COUNT
    assert_sentinel_intact(engine)


def test_hostile_overall_matches_pandas(hostile_files):
    expected = expected_frame()

    summary = summarize(load_dataset(hostile_config(*hostile_files)))

    assert summary["overall"]["errors"] == int(expected["is_error"].sum())
    assert summary["overall"]["accuracy"] == pytest.approx(1 - expected["is_error"].mean())
    classes = {row["label"]: row["support"] for row in summary["classes"]}
    assert classes == expected[LABEL].value_counts().to_dict()


def test_hostile_slices_match_pandas(hostile_files):
    expected = expected_frame()

    summary = summarize(load_dataset(hostile_config(*hostile_files)))

    for name in ATTRIBUTES:
        rows = {row["value"]: row for row in summary["slices"] if row["column"] == name}
        groups = expected.groupby(name)["is_error"]
        assert set(rows) == set(groups.groups), name
        for value, errors in groups:
            assert rows[value]["count"] == len(errors), (name, value)
            assert rows[value]["error_rate"] == pytest.approx(errors.mean()), (name, value)


def test_hostile_tags_match_pandas(hostile_files):
    expected = expected_frame()

    summary = summarize(load_dataset(hostile_config(*hostile_files)))

    rows = {row["tag"]: row for row in summary["tags"]}
    assert set(rows) == {*TAG_COLUMNS, *LIST_TAGS, "(untagged)"}
    masks = {name: expected[name] for name in TAG_COLUMNS}
    split_lists = expected[TAG_LIST].map(lambda text: {part.strip() for part in text.split("|")})
    for tag in LIST_TAGS:
        masks[tag] = split_lists.map(lambda tags, tag=tag: tag in tags)
    any_tag = pd.concat(masks.values(), axis=1).any(axis=1)
    masks["(untagged)"] = ~any_tag
    for tag, mask in masks.items():
        assert rows[tag]["count"] == int(mask.sum()), tag
        assert rows[tag]["errors"] == int(expected.loc[mask, "is_error"].sum()), tag


def test_hostile_hlp_and_target(hostile_files, tmp_path):
    hlp = tmp_path / "hlp.csv"
    pd.DataFrame({"tag": [LIST_TAGS[2], TAG_COLUMNS[0]], "hlp": [0.97, 0.9]}).to_csv(hlp, index=False)
    config = hostile_config(*hostile_files).replace(hlp_file=hlp)

    summary = summarize(load_dataset(config), {LIST_TAGS[2]: 1.0})

    rows = {row["tag"]: row for row in summary["tags"]}
    assert rows[LIST_TAGS[2]]["hlp"] == pytest.approx(0.97)
    assert rows[TAG_COLUMNS[0]]["hlp"] == pytest.approx(0.9)
    assert summary["what_if"]["targets"] == {LIST_TAGS[2]: 1.0}
    assert summary["what_if"]["examples_affected"] == rows[LIST_TAGS[2]]["count"]


def test_hostile_values_in_labels(tmp_path):
    labels = ["it's", '"quoted"', "'); DROP TABLE sentinel; --", "ünïcödé", "x"]
    frame = pd.DataFrame(
        {
            "id": [f"{index}" for index in range(10)],
            "label": [labels[index % 5] for index in range(10)],
            "prediction": [labels[(index + (index % 2)) % 5] for index in range(10)],
        }
    )
    frame.to_csv(tmp_path / "predictions.csv", index=False)
    engine = engine_with_sentinel()

    summary = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "predictions.csv"), engine))

    assert {row["label"] for row in summary["classes"]} == set(labels)
    assert summary["overall"]["errors"] == int((frame["label"] != frame["prediction"]).sum())
    assert_sentinel_intact(engine)


def test_empty_string_values_parquet(tmp_path):
    frame = pd.DataFrame({"id": ["1", "2", "3", "4"], "label": ["a", "b", "a", "b"], "prediction": ["a", "a", "a", "b"]})
    metadata = pd.DataFrame({"id": ["1", "2", "3", "4"], "note": ["", "", None, "x"], "tag_empty": [False, True, False, False]})
    frame.to_parquet(tmp_path / "p.parquet")
    metadata.to_parquet(tmp_path / "m.parquet")

    summary = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "p.parquet", metadata=tmp_path / "m.parquet")))

    counts = {row["value"]: row["count"] for row in summary["slices"] if row["column"] == "note"}
    assert counts == {"": 2, "(missing)": 1, "x": 1}
    tags = {row["tag"]: row["count"] for row in summary["tags"]}
    assert tags == {"tag_empty": 1, "(untagged)": 3}


def test_user_column_named_like_join_key(tmp_path):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,b,a\n3,b,b\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,_id,__id,a0,t0\n1,9,u,p,q\n2,8,v,p,r\n3,7,w,s,q\n", encoding="utf-8")

    summary = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv")))

    values = {}
    for row in summary["slices"]:
        values.setdefault(row["column"], set()).add(row["value"])
    assert values == {"_id": {"7", "8", "9"}, "__id": {"u", "v", "w"}, "a0": {"p", "s"}, "t0": {"q", "r"}}


def test_id_column_named_like_join_key(tmp_path):
    (tmp_path / "p.csv").write_text("_id,label,prediction\n1,a,a\n2,b,a\n3,b,b\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("_id,group\n1,x\n2,y\n3,y\n", encoding="utf-8")

    summary = summarize(load_dataset(DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv", id_column="_id")))

    assert summary["matched"] == 3
    assert {row["value"]: row["errors"] for row in summary["slices"]} == {"x": 0, "y": 1}


def toml_string(text: str) -> str:
    """Write ``text`` as a TOML basic string; JSON string escapes are valid TOML escapes."""
    return json.dumps(text, ensure_ascii=False)


def test_hostile_names_from_dataset_file(tmp_path, capsys):
    predictions, metadata = write_frames(tmp_path, "csv")
    columns = ", ".join(toml_string(name) for name in TAG_COLUMNS)
    attributes = ", ".join(toml_string(name) for name in ATTRIBUTES[:4] + [INJECTION])
    (tmp_path / "dataset.toml").write_text(
        "\n".join(
            [
                "schema = 1",
                f"name = {toml_string(INJECTION)}",
                "[files]",
                f"predictions = {toml_string(predictions.name)}",
                f"metadata = {toml_string(metadata.name)}",
                "[columns]",
                f"id = {toml_string(ID)}",
                f"label = {toml_string(LABEL)}",
                f"prediction = {toml_string(PREDICTION)}",
                "[tags]",
                f"columns = [{columns}]",
                "[slices]",
                f"attributes = [{attributes}]",
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    config = load_config(tmp_path)
    code = main(["summary", "--config", str(tmp_path), "--format", "json"])
    captured = capsys.readouterr()

    assert config.id_column == ID
    assert config.attributes == ATTRIBUTES[:4] + [INJECTION]
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["dataset"] == INJECTION
    assert {row["column"] for row in summary["slices"]} == set(ATTRIBUTES[:4] + [INJECTION])
    assert {row["tag"] for row in summary["tags"]} == {*TAG_COLUMNS, "(untagged)"}


def test_hostile_names_from_flags(tmp_path, capsys):
    predictions, metadata = write_frames(tmp_path, "parquet")

    code = main(
        [
            "summary",
            "--predictions", str(predictions),
            "--metadata", str(metadata),
            "--id-col", ID,
            "--label-col", LABEL,
            "--prediction-col", PREDICTION,
            "--attributes", "group,select,giới_tính",
            "--tag-list-col", TAG_LIST,
            "--tag-separator", "|",
        ]
    )
    captured = capsys.readouterr()

    assert code == 0, captured.err
    assert "Slices by giới_tính" in captured.out
    assert "Slices by select" in captured.out
    for tag in LIST_TAGS:
        assert tag in captured.out


def test_hostile_missing_column_message(tmp_path, capsys):
    predictions, _metadata = write_frames(tmp_path, "csv")

    code = main(["summary", "--predictions", str(predictions), "--id-col", ID, "--label-col", INJECTION])
    captured = capsys.readouterr()

    assert code == 2
    assert f"'{INJECTION}'" in captured.err
    assert len(captured.err.splitlines()) == 1
