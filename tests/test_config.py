"""The dataset file: parsing, defaults, relative paths and every validation error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis import ConfigError, load_config, load_dataset
from analysis.cli import _build_parser, config_from_arguments, main

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "sample_data"

PREDICTIONS = "id,label,human_label,prediction,score\n1,a,a,a,0.9\n2,b,a,a,0.6\n3,a,b,b,0.7\n4,b,b,b,0.8\n"
METADATA = "id,group,device,tag_noise\n1,x,phone,true\n2,y,laptop,false\n3,x,phone,false\n4,y,phone,true\n"
MINIMAL = 'schema = 1\n[files]\npredictions = "predictions.csv"\n'


def write_dataset(folder: Path, toml_text: str, name: str = "dataset.toml") -> Path:
    """Write the data files and the dataset file ``name`` into ``folder``."""
    (folder / "predictions.csv").write_text(PREDICTIONS, encoding="utf-8")
    (folder / "metadata.csv").write_text(METADATA, encoding="utf-8")
    path = folder / name
    path.write_text(textwrap.dedent(toml_text), encoding="utf-8")
    return path


def test_minimal_file_defaults(tmp_path):
    path = write_dataset(tmp_path, MINIMAL)

    config = load_config(path)

    assert config.predictions == tmp_path / "predictions.csv"
    assert config.metadata is None
    assert config.id_column is None
    assert config.tag_columns is None
    assert config.tag_separator == ";"
    assert config.attributes is None
    assert config.max_categories == 50
    assert config.confidence_level == 0.95
    assert config.error_when == "above"
    assert config.display_name == tmp_path.name
    assert config.source == path


def test_full_file_parsed(tmp_path):
    path = write_dataset(
        tmp_path,
        """\
        schema = 1
        name = "Full"
        description = "Every key once."

        [files]
        predictions = "predictions.csv"
        metadata = "metadata.csv"
        tags = "tags.csv"
        hlp = "sub/hlp.csv"

        [columns]
        id = "id"
        label = "human_label"
        prediction = "prediction"
        score = "score"

        [tags]
        list_column = "tags"
        separator = "|"

        [slices]
        attributes = ["group", "device"]
        exclude = ["device"]
        sensitive = ["group"]
        max_categories = 10
        top_categories = 5
        numeric_bins = 4
        max_numeric_values = 12

        [task]
        positive_class = 1

        [statistics]
        confidence_level = 0.9
        """,
    )

    config = load_config(path)

    assert config.name == "Full"
    assert config.description == "Every key once."
    assert config.metadata == tmp_path / "metadata.csv"
    assert config.tags_file == tmp_path / "tags.csv"
    assert config.hlp_file == tmp_path / "sub" / "hlp.csv"
    assert config.label_column == "human_label"
    assert config.tag_list_column == "tags"
    assert config.tag_separator == "|"
    assert config.attributes == ["group", "device"]
    assert config.exclude_attributes == ["device"]
    assert config.sensitive == ["group"]
    assert (config.max_categories, config.top_categories, config.numeric_bins, config.max_numeric_values) == (10, 5, 4, 12)
    assert config.positive_class == "1"
    assert config.confidence_level == 0.9
    assert config.display_name == "Full"


def test_score_mode_keys(tmp_path):
    path = write_dataset(
        tmp_path,
        """\
        schema = 1
        [files]
        predictions = "predictions.csv"
        [columns]
        score = "score"
        [task]
        error_threshold = 1
        error_when = "below"
        """,
    )

    config = load_config(path)

    assert config.error_threshold == 1.0
    assert config.error_when == "below"
    assert config.per_example_score_mode


def test_paths_relative_to_file(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "eval"
    folder.mkdir(parents=True)
    write_dataset(folder, MINIMAL.replace("predictions.csv", "../eval/predictions.csv"))
    monkeypatch.chdir(tmp_path)

    config = load_config(Path("project/eval"))
    dataset = load_dataset(config)

    assert dataset.report.matched == 4


def test_absolute_path_kept(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_dataset(data, MINIMAL)
    elsewhere = tmp_path / "configs"
    elsewhere.mkdir()
    path = elsewhere / "run.toml"
    path.write_text(f'schema = 1\n[files]\npredictions = "{(data / "predictions.csv").as_posix()}"\n', encoding="utf-8")

    config = load_config(path)

    assert config.predictions == data / "predictions.csv"


def test_folder_with_one_toml(tmp_path):
    write_dataset(tmp_path, MINIMAL, name="speech.toml")

    assert load_config(tmp_path).source == tmp_path / "speech.toml"


def test_folder_prefers_dataset_toml(tmp_path):
    write_dataset(tmp_path, MINIMAL, name="other.toml")
    write_dataset(tmp_path, MINIMAL)

    assert load_config(tmp_path).source == tmp_path / "dataset.toml"


def test_byte_order_mark_accepted(tmp_path):
    path = tmp_path / "dataset.toml"
    write_dataset(tmp_path, MINIMAL)
    path.write_text("\ufeff" + MINIMAL, encoding="utf-8")

    assert load_config(path).predictions == tmp_path / "predictions.csv"


def test_column_names_from_file_used(tmp_path):
    path = write_dataset(
        tmp_path,
        """\
        schema = 1
        [files]
        predictions = "predictions.csv"
        metadata = "metadata.csv"
        [columns]
        label = "human_label"
        [slices]
        attributes = ["device"]
        """,
    )

    dataset = load_dataset(load_config(path))

    assert dataset.label_column == "human_label"
    assert [a.name for a in dataset.attributes] == ["device"]
    assert [t.name for t in dataset.tags] == ["tag_noise"]
    errors = dataset.engine.rows("SELECT count(*) FILTER (WHERE is_error) FROM examples")[0][0]
    assert errors == 0


def test_sample_datasets_load():
    for folder in sorted(p for p in SAMPLE_DATA.iterdir() if (p / "dataset.toml").is_file()):
        config = load_config(folder)
        assert config.predictions.is_file(), folder
        assert config.name, folder


# Invalid dataset files: (TOML text, fragments the message must contain).
# {file} stands for the dataset file's path.
INVALID = {
    "bad_syntax": ('schema = 1\n[files\npredictions = "predictions.csv"\n', ["{file}", "not valid TOML", "line 2"]),
    "missing_schema": ('[files]\npredictions = "predictions.csv"\n', ["{file}", "no 'schema' key", "schema = 1"]),
    "schema_two": ('schema = 2\n[files]\npredictions = "predictions.csv"\n', ["{file}", "schema = 2", "schema = 1 only"]),
    "schema_text": ('schema = "1"\n[files]\npredictions = "predictions.csv"\n', ["{file}", "schema = '1'"]),
    "schema_boolean": ('schema = true\n[files]\npredictions = "predictions.csv"\n', ["{file}", "schema = true"]),
    "unknown_top_key": (MINIMAL + 'colour = "red"\n', ["{file}", "'colour'", "Allowed"]),
    "unknown_top_key_before_table": ('schema = 1\ncolour = "red"\n[files]\npredictions = "predictions.csv"\n', ["{file}", "'colour'"]),
    "unknown_section": (MINIMAL + "[plots]\nwidth = 3\n", ["{file}", "'plots'"]),
    "unknown_key_in_section": (MINIMAL + 'predicitons = "x.csv"\n', ["{file}", "'predicitons'", "[files]", "predictions"]),
    "section_not_table": ('schema = 1\nfiles = "predictions.csv"\n', ["{file}", "'files'", "table"]),
    "path_not_string": ("schema = 1\n[files]\npredictions = 3\n", ["{file}", "'files.predictions'", "a string", "got 3"]),
    "count_not_integer": (MINIMAL + '[slices]\nmax_categories = "ten"\n', ["{file}", "'slices.max_categories'", "an integer", "'ten'"]),
    "count_is_float": (MINIMAL + "[slices]\nnumeric_bins = 2.5\n", ["{file}", "'slices.numeric_bins'", "2.5"]),
    "attributes_not_list": (MINIMAL + '[slices]\nattributes = "group"\n', ["{file}", "'slices.attributes'", "a list", "'group'"]),
    "attributes_not_strings": (MINIMAL + "[slices]\nattributes = [1, 2]\n", ["{file}", "'slices.attributes'", "[1, 2]"]),
    "tag_columns_not_strings": (MINIMAL + "[tags]\ncolumns = [true]\n", ["{file}", "'tags.columns'"]),
    "threshold_boolean": (MINIMAL + "[task]\nerror_threshold = true\n", ["{file}", "'task.error_threshold'", "a number", "got true"]),
    "unknown_error_when": (MINIMAL + '[task]\nerror_threshold = 0.5\nerror_when = "sideways"\n', ["{file}", "error_when", "'sideways'", "above", "below"]),
    "error_when_without_threshold": (MINIMAL + '[task]\nerror_when = "over"\n', ["{file}", "'over'"]),
    "confidence_one": (MINIMAL + "[statistics]\nconfidence_level = 1\n", ["{file}", "confidence_level = 1", "between 0 and 1"]),
    "confidence_percent": (MINIMAL + "[statistics]\nconfidence_level = 95.0\n", ["{file}", "95.0", "between 0 and 1"]),
    "empty_separator": (MINIMAL + '[tags]\nlist_column = "tags"\nseparator = ""\n', ["{file}", "separator", "empty"]),
    "tag_columns_and_list": (MINIMAL + '[tags]\ncolumns = ["a"]\nlist_column = "tags"\n', ["{file}", "'columns'", "'list_column'"]),
    "max_categories_too_small": (MINIMAL + "[slices]\nmax_categories = 1\n", ["{file}", "max_categories = 1", "at least 2"]),
    "correct_and_threshold": (MINIMAL + '[columns]\ncorrect = "ok"\n[task]\nerror_threshold = 0.5\n', ["{file}", "correct", "error_threshold"]),
    "no_predictions": ('schema = 1\n[files]\nmetadata = "metadata.csv"\n', ["{file}", "predictions"]),
    "unknown_engine": (MINIMAL + '[engine]\nkind = "polars"\n', ["{file}", "engine.kind", "'polars'", "duckdb", "spark"]),
    "engine_config_not_table": (MINIMAL + '[engine]\nkind = "spark"\nconfig = "x"\n', ["{file}", "'engine.config'", "a table"]),
    "engine_config_value_list": (
        MINIMAL + '[engine]\nkind = "spark"\n[engine.config]\n"spark.jars" = ["a", "b"]\n',
        ["{file}", "engine.config.spark.jars", "a string or a number"],
    ),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_file_raises(tmp_path, name):
    text, fragments = INVALID[name]
    path = write_dataset(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    message = str(raised.value)
    for fragment in fragments:
        assert fragment.replace("{file}", str(path)) in message, f"{fragment!r} not in {message!r}"
    assert raised.value.hint


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_file_cli_exit(tmp_path, capsys, name):
    text, fragments = INVALID[name]
    path = write_dataset(tmp_path, text)

    code = main(["summary", "--config", str(path)])
    captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]


def test_not_utf8(tmp_path):
    path = tmp_path / "dataset.toml"
    path.write_bytes('schema = 1\nname = "Gr\xf6\xdfe"\n'.encode("latin-1"))

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert str(path) in raised.value.message
    assert "UTF-8" in raised.value.message


def test_missing_dataset_file(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "nowhere.toml")

    assert str(tmp_path / "nowhere.toml") in raised.value.message
    assert "--predictions" in raised.value.hint


def test_folder_without_toml(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)

    assert str(tmp_path) in raised.value.message
    assert "dataset.toml" in raised.value.hint


def test_folder_with_several_toml(tmp_path):
    write_dataset(tmp_path, MINIMAL, name="a.toml")
    write_dataset(tmp_path, MINIMAL, name="b.toml")

    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)

    assert "a.toml, b.toml" in raised.value.message
    assert "dataset.toml" in raised.value.hint


def test_missing_data_file_named_in_toml(tmp_path, capsys):
    path = write_dataset(tmp_path, 'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "meta.parquet"\n')

    code = main(["summary", "--config", str(path)])
    captured = capsys.readouterr()

    assert code == 2
    assert str(tmp_path / "meta.parquet") in captured.err
    assert "not found" in captured.err


def test_engine_section_parsed(tmp_path):
    path = write_dataset(
        tmp_path,
        MINIMAL + '[engine]\nkind = "spark"\nmaster = "spark://cluster:7077"\n[engine.config]\n"spark.executor.memory" = "4g"\n"spark.executor.cores" = 2\n',
    )

    engine = load_config(path).engine

    assert engine.kind == "spark"
    assert engine.master == "spark://cluster:7077"
    assert engine.remote is None
    assert engine.config == {"spark.executor.memory": "4g", "spark.executor.cores": "2"}
    assert engine.description == "Spark (spark://cluster:7077)"


def test_engine_defaults_to_duckdb(tmp_path):
    engine = load_config(write_dataset(tmp_path, MINIMAL)).engine

    assert engine.kind == "duckdb"
    assert engine.description == "DuckDB"


def engine_from_command_line(path: Path, *options: str):
    arguments = _build_parser().parse_args(["summary", "--config", str(path), *options])
    return config_from_arguments(arguments).engine


def test_engine_options_override_file(tmp_path):
    path = write_dataset(tmp_path, MINIMAL + '[engine]\nkind = "spark"\nremote = "sc://connect:15002"\n')

    assert engine_from_command_line(path, "--engine", "duckdb").kind == "duckdb"
    master = engine_from_command_line(path, "--spark-master", "local[2]")
    assert master.kind == "spark"
    assert master.master == "local[2]"
    assert master.remote is None
    assert engine_from_command_line(path).remote == "sc://connect:15002"


def test_spark_master_implies_spark(tmp_path):
    engine = engine_from_command_line(write_dataset(tmp_path, MINIMAL), "--spark-master", "local[1]")

    assert engine.kind == "spark"
    assert engine.master == "local[1]"


def test_spark_master_with_duckdb_rejected(tmp_path, capsys):
    path = write_dataset(tmp_path, MINIMAL)

    code = main(["summary", "--config", str(path), "--engine", "duckdb", "--spark-master", "local[1]"])
    captured = capsys.readouterr()

    assert code == 2
    assert "--spark-master and --spark-remote apply to the Spark engine" in captured.err
    assert "--engine duckdb" in captured.err
