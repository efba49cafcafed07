"""The same command on DuckDB and on Spark gives the same numbers and the same messages.

Every test runs a CLI command in this process twice, once with the default
DuckDB engine and once with ``--engine spark``, and compares the JSON output
(floats within 1e-9) or the one-line error. Spark runs in one local session
per test session (``local[1]``, 512 MB driver memory, UI disabled, bound to
127.0.0.1); the engine reuses that active session.

Skipped when pyspark or a Java runtime is missing; CI installs both.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from streamlit.testing.v1 import AppTest

from analysis.cli import main
from oracle import REAL_DATA_DIR, REPO_ROOT, SAMPLE_DATA_DIR, SAMPLE_DATASETS
from test_bad_input import CASES, prepare
from test_hostile_names import ID, LABEL, PREDICTION, TAG_COLUMNS, TAG_LIST, write_frames
from ui.data import DATA_ROOT_VARIABLE

pytestmark = pytest.mark.spark

TOLERANCE = 1e-9


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """Start the one local Spark session of the test run, and stop it at the end."""
    pytest.importorskip("pyspark")
    pytest.importorskip("sqlglot")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: install openjdk-17-jre-headless to run the Spark tests")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("error-analysis-tests")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("FATAL")
    yield session
    session.stop()


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_both(capsys, argv: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """Run ``argv`` on DuckDB, then on Spark; return (exit code, stdout, stderr) of each."""
    return run_cli(capsys, argv), run_cli(capsys, [*argv, "--engine", "spark"])


def differences(duckdb_value, spark_value, path: str = "") -> list[str]:
    """List the paths where two JSON values differ, floats compared within :data:`TOLERANCE`."""
    if isinstance(duckdb_value, dict) and isinstance(spark_value, dict):
        found = []
        for key in sorted(set(duckdb_value) | set(spark_value)):
            if key not in duckdb_value or key not in spark_value:
                found.append(f"{path}.{key}: only on {'Spark' if key in spark_value else 'DuckDB'}")
            else:
                found += differences(duckdb_value[key], spark_value[key], f"{path}.{key}")
        return found
    if isinstance(duckdb_value, list) and isinstance(spark_value, list):
        if len(duckdb_value) != len(spark_value):
            return [f"{path}: {len(duckdb_value)} items on DuckDB, {len(spark_value)} on Spark"]
        found = []
        for index, (left, right) in enumerate(zip(duckdb_value, spark_value)):
            found += differences(left, right, f"{path}[{index}]")
        return found
    both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (duckdb_value, spark_value))
    if both_numbers and (isinstance(duckdb_value, float) or isinstance(spark_value, float)):
        if math.isclose(duckdb_value, spark_value, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            return []
        return [f"{path}: {duckdb_value!r} on DuckDB, {spark_value!r} on Spark"]
    if duckdb_value != spark_value:
        return [f"{path}: {duckdb_value!r} on DuckDB, {spark_value!r} on Spark"]
    return []


def assert_same_json(capsys, argv: list[str]) -> dict:
    """Run ``argv`` with --format json on both engines and check every value matches; return the DuckDB output."""
    (duck_code, duck_out, duck_err), (spark_code, spark_out, spark_err) = run_both(capsys, [*argv, "--format", "json"])
    assert duck_code in (0, 1), duck_err
    assert spark_code == duck_code, spark_err
    duckdb_result, spark_result = json.loads(duck_out), json.loads(spark_out)
    found = differences(duckdb_result, spark_result)
    assert found == [], "\n".join(found[:20])
    return duckdb_result


# ---------------------------------------------------------------- sample datasets


@pytest.mark.parametrize("name", SAMPLE_DATASETS)
def test_summary_same_on_spark(spark_session, capsys, name):
    summary = assert_same_json(capsys, ["summary", "--config", str(SAMPLE_DATA_DIR / name)])

    assert summary["overall"]["examples"] > 0


@pytest.mark.parametrize("name", SAMPLE_DATASETS)
def test_discovery_same_on_spark(spark_session, capsys, name):
    result = assert_same_json(capsys, ["slices", "--config", str(SAMPLE_DATA_DIR / name), "--discover"])

    assert "slices" in result


@pytest.mark.parametrize("name", ["speech_commands", "diabetes_regression"])
def test_slices_same_on_spark(spark_session, capsys, name):
    assert_same_json(capsys, ["slices", "--config", str(SAMPLE_DATA_DIR / name)])


def test_audit_screening_same_on_spark(spark_session, capsys):
    result = assert_same_json(capsys, ["audit", "--config", str(SAMPLE_DATA_DIR / "screening")])

    assert result["checks"]


def test_report_same_on_spark(spark_session, capsys, tmp_path):
    duck_path, spark_path = tmp_path / "duckdb.html", tmp_path / "spark.html"
    config = str(SAMPLE_DATA_DIR / "speech_commands")

    duck_code, duck_out, duck_err = run_cli(capsys, ["report", "--config", config, "--out", str(duck_path), "--format", "json"])
    spark_code, spark_out, spark_err = run_cli(
        capsys, ["report", "--config", config, "--out", str(spark_path), "--format", "json", "--engine", "spark"]
    )

    assert duck_code == 0, duck_err
    assert spark_code == 0, spark_err
    duckdb_result, spark_result = json.loads(duck_out), json.loads(spark_out)
    for result in (duckdb_result, spark_result):
        del result["file"]
    assert differences(duckdb_result, spark_result) == []
    assert duck_path.read_text(encoding="utf-8") == spark_path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- generated data


@pytest.fixture(params=["csv", "parquet"])
def hostile_dataset(request, tmp_path) -> Path:
    """A dataset file over the hostile-name files, in CSV or Parquet."""
    predictions, metadata = write_frames(tmp_path, request.param)
    document = {
        "schema": 1,
        "files": {"predictions": predictions.name, "metadata": metadata.name},
        "columns": {"id": ID, "label": LABEL, "prediction": PREDICTION},
        "tags": {"columns": list(TAG_COLUMNS)},
        "statistics": {"min_support": 5},
    }
    path = tmp_path / "dataset.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def hostile_list_dataset(tmp_path) -> Path:
    """The hostile-name files with the tags in a delimited list column, in CSV."""
    predictions, metadata = write_frames(tmp_path, "csv")
    document = {
        "schema": 1,
        "files": {"predictions": predictions.name, "metadata": metadata.name},
        "columns": {"id": ID, "label": LABEL, "prediction": PREDICTION},
        "tags": {"list_column": TAG_LIST, "separator": "|"},
        "statistics": {"min_support": 5},
    }
    path = tmp_path / "dataset.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def test_hostile_summary_same_on_spark(spark_session, capsys, hostile_dataset):
    summary = assert_same_json(capsys, ["summary", "--config", str(hostile_dataset)])

    assert summary["overall"]["examples"] == 48


def test_hostile_discovery_same_on_spark(spark_session, capsys, hostile_dataset):
    assert_same_json(capsys, ["slices", "--config", str(hostile_dataset), "--discover", "--tag-absent"])


def test_hostile_tag_list_same_on_spark(spark_session, capsys, hostile_list_dataset):
    summary = assert_same_json(capsys, ["summary", "--config", str(hostile_list_dataset)])

    assert len(summary["tags"]) > 1


@pytest.fixture
def audited_dataset(tmp_path) -> Path:
    """A binary dataset of 600 examples with numeric and categorical attributes, a tag and an [audit] section."""
    rng = np.random.default_rng(7)
    count = 600
    group = rng.choice(["north", "south", "east"], size=count, p=[0.5, 0.3, 0.2])
    age = rng.integers(18, 90, size=count)
    noisy = rng.random(count) < 0.25
    label = rng.integers(0, 2, size=count)
    # Errors are likelier in the south and on noisy examples, so slices and checks differ.
    error_chance = 0.1 + 0.15 * (group == "south") + 0.2 * noisy
    wrong = rng.random(count) < error_chance
    prediction = np.where(wrong, 1 - label, label)
    ids = [f"ex{index:04d}" for index in range(count)]
    pd.DataFrame({"id": ids, "label": label, "prediction": prediction, "score": rng.random(count).round(4)}).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    pd.DataFrame({"id": ids, "group": group, "age": age, "tag_noisy": noisy}).to_parquet(tmp_path / "metadata.parquet", index=False)
    (tmp_path / "dataset.toml").write_text(
        """schema = 1
[files]
predictions = "predictions.csv"
metadata = "metadata.parquet"
[task]
positive_class = "1"
[slices]
sensitive = ["group"]
[audit]
[[audit.checks]]
metric = "accuracy"
at_least = 0.7
[[audit.checks]]
metric = "recall"
attribute = "group"
at_least_overall_minus = 0.05
[[audit.checks]]
metric = "fpr"
attribute = "group"
at_most = 0.3
[[audit.checks]]
metric = "error_rate"
attribute = "age"
at_most = 0.35
severity = "warning"
""",
        encoding="utf-8",
    )
    return tmp_path / "dataset.toml"


def test_generated_audit_same_on_spark(spark_session, capsys, audited_dataset):
    result = assert_same_json(capsys, ["audit", "--config", str(audited_dataset)])

    assert len(result["checks"]) == 4


def test_generated_summary_same_on_spark(spark_session, capsys, audited_dataset):
    summary = assert_same_json(capsys, ["summary", "--config", str(audited_dataset)])

    assert summary["overall"]["examples"] == 600


def test_generated_discovery_same_on_spark(spark_session, capsys, audited_dataset):
    assert_same_json(capsys, ["slices", "--config", str(audited_dataset), "--discover", "--metric", "fpr"])


# ---------------------------------------------------------------- real evaluation data


@pytest.mark.parametrize("name", ["compas", "cifar10"])
def test_real_data_same_on_spark(spark_session, capsys, name):
    folder = REAL_DATA_DIR / name
    if not (folder / "predictions.csv").is_file() or not (folder / "metadata.csv").is_file():
        pytest.skip(f"real data folder {folder} is not present")
    argv = ["--predictions", str(folder / "predictions.csv"), "--metadata", str(folder / "metadata.csv")]

    summary = assert_same_json(capsys, ["summary", *argv])
    assert_same_json(capsys, ["slices", *argv, "--discover"])

    assert summary["overall"]["examples"] > 0


# ---------------------------------------------------------------- bad input

# Cases whose message comes from the analysis's own checks, so it must be the same text on both engines.
SAME_MESSAGE_CASES = [
    "missing_file",
    "missing_metadata_file",
    "folder_not_file",
    "spreadsheet",
    "empty_file",
    "header_only",
    "missing_id_column",
    "missing_label_column",
    "named_column_missing",
    "metadata_without_id",
    "duplicate_column_names",
    "duplicate_names_by_case",
    "duplicate_ids",
    "duplicate_ids_in_metadata",
    "no_id_matches",
    "leading_zero_ids_do_not_match",
    "every_label_missing",
    "positive_class_not_a_class",
    "hlp_above_one",
    "tag_column_not_boolean",
    "tag_list_column_missing",
    "attribute_missing",
    "correct_flag_not_boolean",
    "score_not_numeric",
    "target_not_a_tag",
]

# Files the reader rejects: the message names the file and the format on both
# engines, but the reason after the colon is each engine's own.
UNREADABLE_CASES = ["random_bytes_parquet", "random_bytes_json", "truncated_json"]


@pytest.mark.parametrize("name", SAME_MESSAGE_CASES)
def test_bad_input_same_message_on_spark(spark_session, tmp_path, capsys, name):
    argv, expected = prepare(CASES[name], tmp_path)

    (duck_code, duck_out, duck_err), (spark_code, spark_out, spark_err) = run_both(capsys, ["summary", *argv])

    assert duck_code == 2
    assert spark_code == 2, spark_err
    assert spark_out == ""
    assert spark_err == duck_err
    for fragment in expected:
        assert fragment in spark_err


@pytest.mark.parametrize("name", UNREADABLE_CASES)
def test_unreadable_file_message_on_spark(spark_session, tmp_path, capsys, name):
    argv, expected = prepare(CASES[name], tmp_path)

    code, out, err = run_cli(capsys, ["summary", *argv, "--engine", "spark"])

    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in err


def test_duckdb_only_command_rejects_spark(spark_session, tmp_path, capsys):
    shutil.copytree(SAMPLE_DATA_DIR / "speech_commands", tmp_path / "speech")
    path = tmp_path / "speech" / "dataset.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[engine]\nkind = "spark"\n', encoding="utf-8")

    code, out, err = run_cli(capsys, ["label-errors", "--config", str(path)])

    assert code == 2
    assert out == ""
    assert "'label-errors' command runs on DuckDB only" in err
    assert "[engine]" in err


def test_workspace_rejected_on_spark(spark_session, tmp_path, capsys):
    code, out, err = run_cli(
        capsys, ["summary", "--config", str(SAMPLE_DATA_DIR / "screening"), "--engine", "spark", "--workspace", str(tmp_path)]
    )

    assert code == 2
    assert "--workspace works with the DuckDB engine only" in err


# ---------------------------------------------------------------- dashboard


def spark_data_root(tmp_path: Path) -> Path:
    """Return a data root holding the speech sample twice: as it is, and with a dataset file that selects Spark."""
    root = tmp_path / "root"
    shutil.copytree(SAMPLE_DATA_DIR / "speech_commands", root / "speech_duckdb")
    shutil.copytree(SAMPLE_DATA_DIR / "speech_commands", root / "speech_spark")
    path = root / "speech_spark" / "dataset.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[engine]\nkind = "spark"\n', encoding="utf-8")
    return root


def run_app(page: str | None, dataset: str) -> AppTest:
    """Run the overview, or with ``page`` (for example "pages/4_Examples.py") that page, on ``dataset``."""
    app = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=300)
    app.query_params["dataset"] = dataset
    if page is not None:
        app.switch_page(page)
    return app.run()


def test_dashboard_overview_same_on_spark(spark_session, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(spark_data_root(tmp_path)))

    on_duckdb = run_app(None, "speech_duckdb")
    on_spark = run_app(None, "speech_spark")

    assert not on_duckdb.exception
    assert not on_spark.exception, on_spark.exception
    assert [metric.value for metric in on_spark.metric] == [metric.value for metric in on_duckdb.metric]
    assert len(on_spark.metric) > 0


def test_dashboard_examples_page_explains_spark(spark_session, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(spark_data_root(tmp_path)))

    app = run_app("pages/4_Examples.py", "speech_spark")

    assert not app.exception, app.exception
    messages = [element.value for element in app.info]
    assert any("returns only aggregates" in message for message in messages), messages


# ---------------------------------------------------------------- missing pyspark or Java


def run_without(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process from the repository root, with ``env`` as its environment."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


SPARK_SUMMARY = (
    "import sys\n"
    "{setup}"
    "from analysis.cli import main\n"
    f"sys.exit(main(['summary', '--config', {str(SAMPLE_DATA_DIR / 'screening')!r}, '--engine', 'spark']))\n"
)


def test_missing_pyspark_message():
    # None in sys.modules makes every import of pyspark raise ImportError, as when it is not installed.
    completed = run_without(SPARK_SUMMARY.format(setup="sys.modules['pyspark'] = None\n"), dict(os.environ))

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert "needs the Python packages pyspark and sqlglot" in completed.stderr
    assert "pip install pyspark sqlglot" in completed.stderr


def test_missing_java_message(tmp_path):
    pytest.importorskip("pyspark")
    environment = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    # A PATH with no java command on it; the interpreter is started by its full path.
    environment["PATH"] = str(tmp_path)

    completed = run_without(SPARK_SUMMARY.format(setup=""), environment)

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert "needs a Java runtime" in completed.stderr
    assert "openjdk-17-jre-headless" in completed.stderr


# ---------------------------------------------------------------- inputs named by a URI


def uri_dataset(tmp_path: Path) -> Path:
    """Copy the screening sample with its files named by file:// URIs, which Spark reads like s3a:// or hdfs:// ones."""
    folder = tmp_path / "screening_uri"
    shutil.copytree(SAMPLE_DATA_DIR / "screening", folder)
    text = (folder / "dataset.toml").read_text(encoding="utf-8")
    for name in ("predictions.parquet", "metadata.parquet"):
        text = text.replace(f'"{name}"', f'"{(folder / name).as_uri()}"')
    (folder / "dataset.toml").write_text(text, encoding="utf-8")
    return folder


def test_uri_inputs_same_on_spark(spark_session, capsys, tmp_path):
    folder = uri_dataset(tmp_path)

    code = main(["summary", "--config", str(folder), "--engine", "spark", "--format", "json"])
    on_spark = json.loads(capsys.readouterr().out)
    main(["summary", "--config", str(SAMPLE_DATA_DIR / "screening"), "--format", "json"])
    on_duckdb = json.loads(capsys.readouterr().out)

    assert code == 0
    assert differences(on_duckdb["overall"], on_spark["overall"]) == []
    assert differences(on_duckdb["classes"], on_spark["classes"]) == []


def test_uri_option_kept_whole(spark_session, capsys, tmp_path):
    folder = uri_dataset(tmp_path)
    predictions = (folder / "predictions.parquet").as_uri()

    code = main(["summary", "--config", str(folder), "--predictions", predictions, "--engine", "spark", "--format", "json"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["overall"]["examples"] == 5000


def test_uri_on_duckdb_named(capsys, tmp_path):
    folder = uri_dataset(tmp_path)

    code = main(["summary", "--config", str(folder), "--engine", "duckdb"])
    error = capsys.readouterr().err

    assert code == 2
    assert "file:///" in error
    assert "is a URI, which only the Spark engine reads" in error
    assert "--engine spark" in error
