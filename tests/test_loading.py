"""Loading every supported input form, tag form, label spelling and column alias."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import InputError, load_dataset, summarize
from analysis.config import DatasetConfig

CLASSES = ["cat", "dog", "bird"]
# Region values contain commas and semicolons, so every delimiter needs quoting.
REGIONS = ["north, east", "south; west", "centre"]


def make_examples(count: int = 60) -> pd.DataFrame:
    """Return a deterministic table of examples with one mistake in every few rows."""
    rows = []
    for index in range(count):
        label = CLASSES[index % 3]
        prediction = CLASSES[(index + 1) % 3] if index % 4 == 0 or index % 7 == 0 else label
        rows.append(
            {
                "id": f"e{index:03d}",
                "label": label,
                "prediction": prediction,
                "score": round(0.5 + (index % 10) / 20, 2),
                "region": REGIONS[index % 3 if index % 5 else 0],
                "age": 20 + (index * 7) % 50,
            }
        )
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path, delimiter: str = ",", bom: bool = False, line_end: str = "\n") -> Path:
    """Write ``frame`` with the standard library's csv writer, which quotes fields containing the delimiter."""
    encoding = "utf-8-sig" if bom else "utf-8"
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator=line_end)
        writer.writerow(frame.columns)
        for row in frame.itertuples(index=False):
            writer.writerow(["" if pd.isna(value) else value for value in row])
    return path


# CSV variants: (suffix, delimiter, byte order mark, line end).
CSV_FORMS = {
    "csv_comma": (".csv", ",", False, "\n"),
    "csv_semicolon": (".csv", ";", False, "\n"),
    "tsv_tab": (".tsv", "\t", False, "\n"),
    "csv_bom": (".csv", ",", True, "\n"),
    "csv_crlf": (".csv", ",", False, "\r\n"),
    "csv_bom_crlf_semicolon": (".csv", ";", True, "\r\n"),
}


def write_form(frame: pd.DataFrame, folder: Path, stem: str, form: str) -> Path:
    """Write ``frame`` in the input form ``form`` and return the file's path."""
    folder.mkdir(parents=True, exist_ok=True)

    if form in CSV_FORMS:
        suffix, delimiter, bom, line_end = CSV_FORMS[form]
        return write_csv(frame, folder / f"{stem}{suffix}", delimiter=delimiter, bom=bom, line_end=line_end)

    if form == "csv_gzip":
        plain = write_csv(frame, folder / f"{stem}.plain.csv")
        path = folder / f"{stem}.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
        return path

    records = frame.to_dict(orient="records")
    if form == "parquet":
        path = folder / f"{stem}.parquet"
        frame.to_parquet(path, index=False)
    elif form == "json_array":
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(records), encoding="utf-8")
    elif form == "json_lines":
        path = folder / f"{stem}.jsonl"
        path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    else:
        raise ValueError(f"unknown input form {form!r}")
    return path


FORMS = [*CSV_FORMS, "csv_gzip", "parquet", "json_array", "json_lines"]


def summary_of(config: DatasetConfig) -> dict:
    return summarize(load_dataset(config))


def summary_without_name(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "dataset"}


@pytest.fixture(scope="module")
def reference_summary(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("reference")
    examples = make_examples()
    predictions = write_form(examples[["id", "label", "prediction", "score"]], folder, "predictions", "csv_comma")
    metadata = write_form(examples[["id", "region", "age"]], folder, "metadata", "csv_comma")
    return summary_of(DatasetConfig(predictions=predictions, metadata=metadata))


def test_reference_matches_pandas(reference_summary):
    examples = make_examples()
    errors = examples["label"] != examples["prediction"]

    assert reference_summary["rows"] == len(examples)
    assert reference_summary["matched"] == len(examples)
    assert reference_summary["overall"]["error_rate"] == pytest.approx(errors.mean())
    regions = {row["value"]: row for row in reference_summary["slices"] if row["column"] == "region"}
    assert set(regions) == set(REGIONS)
    for region, group in examples.groupby("region"):
        assert regions[region]["count"] == len(group)
        assert regions[region]["error_rate"] == pytest.approx(errors[group.index].mean())


@pytest.mark.parametrize("form", FORMS)
def test_input_form_same_summary(tmp_path, reference_summary, form):
    examples = make_examples()
    predictions = write_form(examples[["id", "label", "prediction", "score"]], tmp_path, "predictions", form)
    metadata = write_form(examples[["id", "region", "age"]], tmp_path, "metadata", form)

    summary = summary_of(DatasetConfig(predictions=predictions, metadata=metadata))

    assert summary_without_name(summary) == summary_without_name(reference_summary)


def test_mixed_forms_same_summary(tmp_path, reference_summary):
    examples = make_examples()
    predictions = write_form(examples[["id", "label", "prediction", "score"]], tmp_path, "predictions", "json_lines")
    metadata = write_form(examples[["id", "region", "age"]], tmp_path, "metadata", "parquet")

    summary = summary_of(DatasetConfig(predictions=predictions, metadata=metadata))

    assert summary_without_name(summary) == summary_without_name(reference_summary)


def test_quoted_delimiter_stays_in_field(tmp_path):
    examples = make_examples()
    predictions = write_form(examples[["id", "label", "prediction"]], tmp_path, "predictions", "csv_comma")
    metadata = write_form(examples[["id", "region"]], tmp_path, "metadata", "csv_semicolon")

    dataset = load_dataset(DatasetConfig(predictions=predictions, metadata=metadata))

    assert [a.name for a in dataset.attributes] == ["region"]
    values = {row[0] for row in dataset.engine.rows("SELECT a0 FROM examples")}
    assert values == set(REGIONS)


# Tags: the same two tags written in every supported form.
TAG_A = [index % 3 == 0 for index in range(60)]
TAG_B = [index % 4 == 1 or index % 9 == 0 for index in range(60)]


def tag_names(index: int) -> list[str]:
    """Return the tags that example ``index`` carries, tag_a first."""
    names = []
    if TAG_A[index]:
        names.append("tag_a")
    if TAG_B[index]:
        names.append("tag_b")
    return names


def write_tag_forms(folder: Path) -> dict[str, DatasetConfig]:
    """Write one predictions file and one metadata file per tag form; return a configuration for each."""
    examples = make_examples()
    predictions = write_form(examples[["id", "label", "prediction"]], folder, "predictions", "csv_comma")
    base = examples[["id", "region"]].copy()

    boolean = base.assign(tag_a=TAG_A, tag_b=TAG_B)
    write_form(boolean, folder, "metadata_boolean", "csv_comma")
    write_form(boolean, folder, "metadata_boolean_parquet", "parquet")
    as_integers = base.assign(tag_a=[int(v) for v in TAG_A], tag_b=[int(v) for v in TAG_B])
    write_form(as_integers, folder, "metadata_integer", "csv_comma")
    as_words = base.assign(tag_a=["yes" if v else "no" for v in TAG_A], tag_b=["Yes" if v else "" for v in TAG_B])
    write_form(as_words, folder, "metadata_words", "csv_comma")

    lists = [";".join(tag_names(index)) for index in range(len(base))]
    write_form(base.assign(tags=lists), folder, "metadata_list", "csv_comma")
    piped = [" | ".join(reversed(tag_names(index))) for index in range(len(base))]
    write_form(base.assign(tags=piped), folder, "metadata_list_pipe", "json_lines")

    write_form(base, folder, "metadata_plain", "csv_comma")
    long_rows = [(examples["id"][index], name) for index in range(len(base)) for name in tag_names(index)]
    write_form(pd.DataFrame(long_rows, columns=["id", "tag"]), folder, "tags_long", "csv_comma")

    return {
        "default_boolean_columns": DatasetConfig(predictions=predictions, metadata=folder / "metadata_boolean.csv"),
        "default_boolean_parquet": DatasetConfig(predictions=predictions, metadata=folder / "metadata_boolean_parquet.parquet"),
        "named_boolean_columns": DatasetConfig(
            predictions=predictions, metadata=folder / "metadata_boolean.csv", tag_columns=["tag_a", "tag_b"]
        ),
        "named_integer_columns": DatasetConfig(
            predictions=predictions, metadata=folder / "metadata_integer.csv", tag_columns=["tag_a", "tag_b"]
        ),
        "named_word_columns": DatasetConfig(
            predictions=predictions, metadata=folder / "metadata_words.csv", tag_columns=["tag_a", "tag_b"]
        ),
        "list_column": DatasetConfig(predictions=predictions, metadata=folder / "metadata_list.csv", tag_list_column="tags"),
        "list_column_pipe": DatasetConfig(
            predictions=predictions, metadata=folder / "metadata_list_pipe.jsonl", tag_list_column="tags", tag_separator="|"
        ),
        "long_file": DatasetConfig(
            predictions=predictions, metadata=folder / "metadata_plain.csv", tags_file=folder / "tags_long.csv"
        ),
    }


def tag_rows_by_name(summary: dict) -> dict[str, dict]:
    return {row["tag"]: row for row in summary["tags"]}


def expected_tag_counts() -> dict[str, tuple[int, int]]:
    examples = make_examples()
    errors = (examples["label"] != examples["prediction"]).tolist()
    untagged = [not a and not b for a, b in zip(TAG_A, TAG_B)]
    counts = {}
    for name, mask in (("tag_a", TAG_A), ("tag_b", TAG_B), ("(untagged)", untagged)):
        counts[name] = (sum(mask), sum(e for e, on in zip(errors, mask) if on))
    return counts


@pytest.fixture(scope="module")
def tag_forms(tmp_path_factory) -> dict[str, DatasetConfig]:
    return write_tag_forms(tmp_path_factory.mktemp("tags"))


@pytest.mark.parametrize(
    "form",
    [
        "default_boolean_columns",
        "default_boolean_parquet",
        "named_boolean_columns",
        "named_integer_columns",
        "named_word_columns",
        "list_column",
        "list_column_pipe",
        "long_file",
    ],
)
def test_tag_form_same_table(tag_forms, form):
    summary = summary_of(tag_forms[form])
    reference = summary_of(tag_forms["default_boolean_columns"])

    rows = tag_rows_by_name(summary)
    assert set(rows) == {"tag_a", "tag_b", "(untagged)"}
    assert rows == tag_rows_by_name(reference)
    for name, (count, errors) in expected_tag_counts().items():
        assert rows[name]["count"] == count, name
        assert rows[name]["errors"] == errors, name


def test_tag_columns_not_used_as_slices(tag_forms):
    summary = summary_of(tag_forms["default_boolean_columns"])

    assert {row["column"] for row in summary["slices"]} == {"region"}


def test_list_column_not_used_as_slice(tag_forms):
    summary = summary_of(tag_forms["list_column"])

    assert {row["column"] for row in summary["slices"]} == {"region"}


def test_default_tags_in_predictions_file(tmp_path):
    examples = make_examples()
    predictions = write_form(
        examples[["id", "label", "prediction"]].assign(tag_a=TAG_A, tag_b=TAG_B), tmp_path, "predictions", "parquet"
    )

    summary = summary_of(DatasetConfig(predictions=predictions))

    rows = tag_rows_by_name(summary)
    for name, (count, errors) in expected_tag_counts().items():
        assert rows[name]["count"] == count, name
        assert rows[name]["errors"] == errors, name


def test_list_column_in_predictions_file(tmp_path):
    examples = make_examples()
    lists = [";".join(tag_names(index)) for index in range(len(examples))]
    predictions = write_form(examples[["id", "label", "prediction"]].assign(tags=lists), tmp_path, "predictions", "csv_comma")

    summary = summary_of(DatasetConfig(predictions=predictions, tag_list_column="tags"))

    rows = tag_rows_by_name(summary)
    for name, (count, errors) in expected_tag_counts().items():
        assert rows[name]["count"] == count, name


def test_long_tags_file_with_integer_ids(tmp_path):
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "b", "a", "b"], "prediction": ["a", "a", "a", "b"]})
    predictions = write_form(frame, tmp_path, "predictions", "parquet")
    write_csv(pd.DataFrame({"id": ["2", "3", "3"], "tag": ["noisy", "noisy", "dark"]}), tmp_path / "tags.csv")

    summary = summary_of(DatasetConfig(predictions=predictions, tags_file=tmp_path / "tags.csv"))

    rows = tag_rows_by_name(summary)
    assert rows["noisy"]["count"] == 2
    assert rows["noisy"]["errors"] == 1
    assert rows["dark"]["count"] == 1
    assert rows["(untagged)"]["count"] == 2


def test_hlp_file_fills_tag_table(tag_forms, tmp_path):
    hlp = write_csv(pd.DataFrame({"tag": ["tag_a", "(untagged)", "(overall)"], "hlp": [0.9, 0.99, 0.95]}), tmp_path / "hlp.csv")
    config = tag_forms["named_boolean_columns"].replace(hlp_file=hlp)

    summary = summary_of(config)

    rows = tag_rows_by_name(summary)
    tag_a = rows["tag_a"]
    assert tag_a["hlp"] == pytest.approx(0.9)
    assert tag_a["room_for_improvement"] == pytest.approx(0.9 - tag_a["accuracy"])
    assert tag_a["potential_gain"] == pytest.approx(tag_a["share_of_data"] * max(0.9 - tag_a["accuracy"], 0))
    assert rows["(untagged)"]["hlp"] == pytest.approx(0.99)
    assert rows["tag_b"]["hlp"] is None
    assert rows["tag_b"]["potential_gain"] is None
    assert summary["overall"]["hlp"] == pytest.approx(0.95)
    assert summary["load_warnings"] == []


def test_hlp_file_unknown_tag_warns(tag_forms, tmp_path):
    hlp = write_csv(pd.DataFrame({"tag": ["tag_a", "no_such_tag"], "hlp": [0.9, 0.8]}), tmp_path / "hlp.csv")

    summary = summary_of(tag_forms["named_boolean_columns"].replace(hlp_file=hlp))

    codes = [warning["code"] for warning in summary["load_warnings"]]
    assert codes == ["hlp_unknown_tags"]
    assert "no_such_tag" in summary["load_warnings"][0]["message"]
    assert str(hlp) in summary["load_warnings"][0]["message"]


# Labels and predictions are compared as text.


def examples_rows(config: DatasetConfig) -> dict[str, tuple[str, str, bool]]:
    dataset = load_dataset(config)
    rows = dataset.engine.rows("SELECT CAST(id AS VARCHAR), label, prediction, is_error FROM examples")
    return {row[0]: row[1:] for row in rows}


def test_integer_label_float_prediction_match(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "label": [1, 0, 1, 2], "prediction": [1.0, 0.0, 0.0, 2.0]})
    predictions = write_form(frame, tmp_path, "predictions", "parquet")

    rows = examples_rows(DatasetConfig(predictions=predictions))

    assert rows == {"a": ("1", "1", False), "b": ("0", "0", False), "c": ("1", "0", True), "d": ("2", "2", False)}


def test_csv_float_text_is_integer_class(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("id,label,prediction\na,1.0,1\nb,0,0.0\nc,1,0.0\n", encoding="utf-8")

    rows = examples_rows(DatasetConfig(predictions=path))

    assert rows == {"a": ("1", "1", False), "b": ("0", "0", False), "c": ("1", "0", True)}


def test_json_string_and_number_same_class(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"id": "a", "label": "1", "prediction": 1}\n{"id": "b", "label": "2", "prediction": 1.0}\n', encoding="utf-8")

    rows = examples_rows(DatasetConfig(predictions=path))

    assert rows == {"a": ("1", "1", False), "b": ("2", "1", True)}


def test_json_mixed_types_read_as_text(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text(
        '{"id": 1, "label": 1, "prediction": "1", "group": 5}\n'
        '{"id": "2", "label": "b", "prediction": 1.0, "group": "five"}\n',
        encoding="utf-8",
    )
    metadata = tmp_path / "metadata.json"
    metadata.write_text('[{"id": "1", "group": 5}, {"id": 2, "group": "five"}]', encoding="utf-8")

    rows = examples_rows(DatasetConfig(predictions=path))
    summary = summary_of(DatasetConfig(predictions=path, metadata=metadata))

    assert rows == {"1": ("1", "1", False), "2": ("b", "1", True)}
    assert {row["value"] for row in summary["slices"]} == {"5", "five"}
    assert summary["matched"] == 2


def test_leading_zeros_kept(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("id,label,prediction\n1,007,7\n2,007,007\n3,7,7\n", encoding="utf-8")

    dataset = load_dataset(DatasetConfig(predictions=path))
    summary = summarize(dataset)

    assert examples_rows(DatasetConfig(predictions=path)) == {
        "1": ("007", "7", True),
        "2": ("007", "007", False),
        "3": ("7", "7", False),
    }
    assert [row["label"] for row in summary["classes"]] == ["007", "7"]


def test_padded_header_keeps_text_classes(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("id, label, prediction\n1,1e3,1e3\n2,1e3,7\n", encoding="utf-8")

    rows = examples_rows(DatasetConfig(predictions=path))

    assert rows == {"1": ("1e3", "1e3", False), "2": ("1e3", "7", True)}


def test_leading_zero_ids_kept(tmp_path):
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,label,prediction\n007,a,a\n7,a,b\n", encoding="utf-8")
    metadata = tmp_path / "metadata.csv"
    metadata.write_text("id,group\n007,x\n7,y\n", encoding="utf-8")

    rows = examples_rows(DatasetConfig(predictions=predictions, metadata=metadata))

    assert set(rows) == {"007", "7"}
    assert rows["007"][2] is False
    assert rows["7"][2] is True


@pytest.mark.parametrize(
    ("predictions_form", "metadata_ids"),
    [
        ("parquet", ["1", "2", "3", "4"]),
        ("parquet", [1.0, 2.0, 3.0, 4.0]),
        ("csv_comma", [1, 2, 3, 4]),
        ("json_lines", ["1", "2", "3", "4"]),
    ],
)
def test_integer_and_text_ids_join(tmp_path, predictions_form, metadata_ids):
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "b", "a", "b"], "prediction": ["a", "a", "a", "b"]})
    predictions = write_form(frame, tmp_path, "predictions", predictions_form)
    metadata = write_form(pd.DataFrame({"id": metadata_ids, "group": ["x", "y", "x", "y"]}), tmp_path, "metadata", "parquet")

    summary = summary_of(DatasetConfig(predictions=predictions, metadata=metadata))

    assert summary["matched"] == 4
    assert summary["dropped"]["unmatched_predictions"] == 0
    assert summary["dropped"]["unmatched_metadata"] == 0
    groups = {row["value"]: row["count"] for row in summary["slices"]}
    assert groups == {"x": 2, "y": 2}


# Column aliases.


@pytest.mark.parametrize("label_name", ["label", "y_true", "target", "ground_truth", "true_label", "Y_True"])
@pytest.mark.parametrize("prediction_name", ["prediction", "y_pred", "pred", "pred_label"])
def test_label_prediction_aliases(tmp_path, label_name, prediction_name):
    path = tmp_path / "predictions.csv"
    path.write_text(f"id,{label_name},{prediction_name}\n1,a,a\n2,b,a\n", encoding="utf-8")

    dataset = load_dataset(DatasetConfig(predictions=path))

    assert dataset.label_column == label_name
    assert dataset.prediction_column == prediction_name
    assert dataset.report.matched == 2


@pytest.mark.parametrize("id_name", ["id", "example_id", "ID"])
def test_id_aliases(tmp_path, id_name):
    predictions = tmp_path / "predictions.csv"
    predictions.write_text(f"{id_name},label,prediction\n1,a,a\n2,b,a\n", encoding="utf-8")
    metadata = tmp_path / "metadata.csv"
    metadata.write_text("example_id,group\n1,x\n2,y\n", encoding="utf-8")

    dataset = load_dataset(DatasetConfig(predictions=predictions, metadata=metadata))

    assert dataset.id_column == id_name
    assert dataset.report.matched == 2


def test_first_alias_wins(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("id,target,label,prediction\n1,x,a,a\n2,x,b,a\n", encoding="utf-8")

    dataset = load_dataset(DatasetConfig(predictions=path))

    assert dataset.label_column == "label"


def test_explicit_columns_override_aliases(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("id,row,label,prediction,reviewed\n1,r1,b,a,a\n2,r2,b,a,b\n", encoding="utf-8")

    config = DatasetConfig(predictions=path, id_column="row", label_column="reviewed")
    dataset = load_dataset(config)
    summary = summarize(dataset)

    assert dataset.id_column == "row"
    assert dataset.label_column == "reviewed"
    assert summary["overall"]["errors"] == 1
    assert summary["classes"][0]["label"] == "a"


def test_unmatched_duplicate_prediction_id_rejected(tmp_path):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,a,b\n9,a,a\n9,b,b\n8,a,a\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,group\n1,x\n2,y\n", encoding="utf-8")
    config = DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv")

    with pytest.raises(InputError) as raised:
        load_dataset(config)

    assert "'9' (2x)" in raised.value.message
    assert str(tmp_path / "p.csv") in raised.value.message


def test_unmatched_duplicate_metadata_id_rejected(tmp_path):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,a,b\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,group\n1,x\n2,y\n7,x\n7,y\n", encoding="utf-8")
    config = DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv")

    with pytest.raises(InputError) as raised:
        load_dataset(config)

    assert "'7' (2x)" in raised.value.message
    assert str(tmp_path / "m.csv") in raised.value.message


def test_unmatched_unique_ids_counted(tmp_path):
    (tmp_path / "p.csv").write_text("id,label,prediction\n1,a,a\n2,a,b\n8,a,a\n9,b,b\n", encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,group\n1,x\n2,y\n5,x\n6,y\n", encoding="utf-8")
    config = DatasetConfig(predictions=tmp_path / "p.csv", metadata=tmp_path / "m.csv")

    summary = summarize(load_dataset(config))

    assert summary["matched"] == 2
    assert summary["dropped"]["unmatched_predictions"] == 2
    assert summary["dropped"]["unmatched_metadata"] == 2
