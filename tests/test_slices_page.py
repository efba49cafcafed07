"""The Slices page (pages/1_Slices.py) run with Streamlit's AppTest on every sample dataset and a COMPAS copy.

Slice numbers are checked against the engine's summary and the pandas oracle
of oracle.py; the example table against the oracle's examples.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from oracle import SAMPLE_DATASETS, read_expected
from streamlit.testing.v1 import AppTest

from analysis import load_config, load_dataset, summarize
from analysis.charts import (
    SLICE_COLOR,
    SMALL_SLICE_COLOR,
    SMALL_SLICE_PATTERN,
    slice_error_rate_figure,
)
from ui.data import DATA_ROOT_VARIABLE
from ui.errors import escape_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
PAGE = "pages/1_Slices.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"
ALL_DATASETS = [*SAMPLE_DATASETS, "compas"]
PAGE_SIZE = 50

COMPAS_TOML = """\
schema = 1
name = "COMPAS two-year recidivism"

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[task]
positive_class = "1"
"""

_POSITION = re.compile(r"Examples ([\d,]+) to ([\d,]+) of ([\d,]+), page ([\d,]+) of ([\d,]+)\.")


@pytest.fixture(scope="module")
def compas_root(tmp_path_factory) -> Path:
    """Return a data root holding a copy of the COMPAS files with a dataset file; skip when the files are absent."""
    if not (COMPAS / "predictions.csv").is_file() or not (COMPAS / "metadata.csv").is_file():
        pytest.skip(f"the COMPAS files are not in {COMPAS}")
    root = tmp_path_factory.mktemp("data_root")
    folder = root / "compas"
    folder.mkdir()
    shutil.copy(COMPAS / "predictions.csv", folder)
    shutil.copy(COMPAS / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(COMPAS_TOML, encoding="utf-8")
    return root


@pytest.fixture
def dataset_folder(request, monkeypatch) -> Path:
    """Point the dashboard at the data root of the parametrized dataset name and return the dataset's folder."""
    name = request.param
    if name == "compas":
        root = request.getfixturevalue("compas_root")
        monkeypatch.setenv(DATA_ROOT_VARIABLE, str(root))
    else:
        root = SAMPLE_DATA
        monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)
    return root / name


@pytest.fixture(autouse=True)
def default_data_root(monkeypatch):
    """Start every test from the default data root, whatever the shell exports."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)


def run_slices(dataset: str, **parameters: str | list[str]) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["dataset"] = dataset
    for name, value in parameters.items():
        app.query_params[name] = value
    app.switch_page(PAGE)
    return app.run()


def slice_table(app: AppTest) -> pd.DataFrame:
    return app.dataframe[0].value


def example_table(app: AppTest) -> pd.DataFrame:
    return app.dataframe[1].value


def position(app: AppTest) -> tuple[int, int, int, int, int]:
    """Return (first, last, total, page, pages) from the caption under the example table."""
    for caption in app.caption:
        found = _POSITION.fullmatch(caption.value)
        if found:
            return tuple(int(group.replace(",", "")) for group in found.groups())
    raise AssertionError(f"no example position caption among {[c.value for c in app.caption]}")


def url_value(app: AppTest, name: str) -> str:
    """Return the last value of a query parameter, which AppTest keeps as a string or a list of strings."""
    value = app.query_params[name]
    return value[-1] if isinstance(value, list) else value


def notices(app: AppTest) -> list[str]:
    return [element.value for element in app.info]


def expected_ids(expected, mask: pd.Series, numeric_ids: bool) -> list[str]:
    """Return the ids under ``mask`` in the page's order: errors first, then by id."""
    frame = expected.frame[mask].copy()
    frame["key"] = frame["id"].astype(int) if numeric_ids else frame["id"]
    return frame.sort_values(["is_error", "key"], ascending=[False, True])["id"].tolist()


def shown_ids(app: AppTest) -> list[str]:
    return [str(value) for value in example_table(app)["id"]]


def numeric_ids(app: AppTest) -> bool:
    return pd.api.types.is_integer_dtype(example_table(app)["id"])


# Every dataset ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset_folder", ALL_DATASETS, indirect=True)
def test_every_attribute_matches_summary(dataset_folder):
    summary = summarize(load_dataset(load_config(dataset_folder)))
    expected = read_expected(load_config(dataset_folder))
    attributes = list(dict.fromkeys(row["column"] for row in summary["slices"]))

    for attribute in attributes:
        app = run_slices(dataset_folder.name, attribute=attribute)
        rows = [row for row in summary["slices"] if row["column"] == attribute]
        table = slice_table(app)
        oracle_counts = expected.slice_values[attribute].value_counts()

        assert not app.exception, attribute
        assert not app.error, attribute
        assert table["value"].tolist() == [row["value"] for row in rows]
        assert table["count"].tolist() == [row["count"] for row in rows]
        assert table["count"].tolist() == [int(oracle_counts[row["value"]]) for row in rows]
        assert table["errors"].tolist() == [row["errors"] for row in rows]
        assert table["metric_value"].tolist() == pytest.approx([100 * row["error_rate"] for row in rows])
        assert table["ci_low"].tolist() == pytest.approx([100 * row["ci_low"] for row in rows])
        assert table["ci_high"].tolist() == pytest.approx([100 * row["ci_high"] for row in rows])
        # Gaps under 0.05 points are shown as exactly 0, so they never print as "-0.0".
        assert table["gap_to_overall"].tolist() == pytest.approx([100 * row["gap_to_overall"] for row in rows], abs=0.05)


@pytest.mark.parametrize("dataset_folder", ALL_DATASETS, indirect=True)
def test_first_example_page_matches_oracle(dataset_folder):
    expected = read_expected(load_config(dataset_folder))

    app = run_slices(dataset_folder.name)

    assert not app.exception
    all_examples = pd.Series(True, index=expected.frame.index)
    assert shown_ids(app) == expected_ids(expected, all_examples, numeric_ids(app))[:PAGE_SIZE]
    assert position(app) == (1, min(PAGE_SIZE, expected.total), expected.total, 1, -(-expected.total // PAGE_SIZE))


@pytest.mark.parametrize("dataset_folder", ALL_DATASETS, indirect=True)
def test_choosing_value_filters_examples(dataset_folder):
    dataset = load_dataset(load_config(dataset_folder))
    expected = read_expected(load_config(dataset_folder))
    attribute = dataset.attributes[-1]
    values = expected.slice_values[attribute.name]
    value = values.value_counts().index[-1]
    in_slice = values == value

    app = run_slices(dataset_folder.name, attribute=attribute.name)
    app.selectbox(key="slices_value").set_value(value).run()

    assert not app.exception
    assert url_value(app, "value") == value
    assert position(app)[2] == int(in_slice.sum())
    assert set(example_table(app)[attribute.alias]) == {value}
    assert shown_ids(app) == expected_ids(expected, in_slice, numeric_ids(app))[:PAGE_SIZE]

    app.toggle(key="slices_errors_only").set_value(True).run()

    errors = in_slice & expected.frame["is_error"]
    assert url_value(app, "errors") == "1"
    if errors.any():
        assert position(app)[2] == int(errors.sum())
        assert shown_ids(app) == expected_ids(expected, errors, numeric_ids(app))[:PAGE_SIZE]
    else:
        assert "No example matches this selection." in notices(app)


# URL state ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech_expected():
    return read_expected(load_config(SAMPLE_DATA / "speech_commands"))


def test_url_restores_selection(speech_expected):
    app = run_slices("speech_commands", attribute="accent", value="irish", errors="1", page="3")
    errors_in_slice = (speech_expected.slice_values["accent"] == "irish") & speech_expected.frame["is_error"]

    assert not app.exception
    assert not notices(app)
    assert app.selectbox(key="slices_attribute").value == "accent"
    assert app.selectbox(key="slices_value").value == "irish"
    assert app.toggle(key="slices_errors_only").value is True
    assert app.number_input(key="slices_page").value == 3
    assert shown_ids(app) == expected_ids(speech_expected, errors_in_slice, False)[2 * PAGE_SIZE : 3 * PAGE_SIZE]
    assert position(app)[:4] == (101, min(150, int(errors_in_slice.sum())), int(errors_in_slice.sum()), 3)


def test_paging_writes_url(speech_expected):
    app = run_slices("speech_commands", attribute="gender", value="female")
    in_slice = speech_expected.slice_values["gender"] == "female"

    app.number_input(key="slices_page").set_value(4).run()

    assert url_value(app, "page") == "4"
    assert shown_ids(app) == expected_ids(speech_expected, in_slice, False)[3 * PAGE_SIZE : 4 * PAGE_SIZE]


def test_new_attribute_clears_value_and_page():
    app = run_slices("speech_commands", attribute="accent", value="irish", page="2")

    app.selectbox(key="slices_attribute").set_value("gender").run()

    assert url_value(app, "attribute") == "gender"
    assert "value" not in app.query_params
    assert "page" not in app.query_params
    assert app.selectbox(key="slices_value").value is None


def test_invalid_attribute_notice_and_default():
    app = run_slices("speech_commands", attribute="no_such_attribute")

    assert not app.exception
    assert any("no\\_such\\_attribute" in text and "no attribute of this dataset has that name" in text for text in notices(app))
    assert app.selectbox(key="slices_attribute").value == "gender"
    assert url_value(app, "attribute") == "gender"
    assert slice_table(app)["value"].tolist()[:2] == ["female", "male"]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("value", "martian", "the attribute accent has no such value here."),
        ("page", "0", "a page number is a whole number of at least 1."),
        ("page", "two", "a page number is a whole number of at least 1."),
        ("page", "99999", "this selection has 39 pages."),
        ("errors", "yes", "use 1 to list errors only, or leave it out."),
        ("sort", "random", "use one of order, error_rate, gap, count."),
    ],
)
def test_invalid_parameter_notice(speech_expected, name, value, reason):
    parameters = {"attribute": "accent", name: value}
    if name == "page":
        parameters["value"] = "irish"

    app = run_slices("speech_commands", **parameters)

    assert not app.exception
    shown = [text for text in notices(app) if text.startswith(f"The address sets {name} to")]
    assert len(shown) == 1
    assert shown[0].endswith(escape_markdown(reason))
    assert name not in app.query_params
    assert position(app)[0] == 1


# Small slices, sorting and the global filter ----------------------------------------------------


def test_small_slices_marked(tmp_path, monkeypatch):
    folder = tmp_path / "speech"
    shutil.copytree(SAMPLE_DATA / "speech_commands", folder)
    toml = (folder / "dataset.toml").read_text(encoding="utf-8")
    (folder / "dataset.toml").write_text(toml + "\n[statistics]\nmin_support = 2000\n", encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    summary = summarize(load_dataset(load_config(folder)))
    rows = [row for row in summary["slices"] if row["column"] == "accent"]

    app = run_slices("speech", attribute="accent")

    table = slice_table(app)
    marked = [bool(note) for note in table["small"]]
    assert marked == [row["count"] < 2000 for row in rows]
    assert any(marked)
    assert not all(marked)
    assert {note for note in table["small"] if note} == {"too small to judge: fewer than 2000"}
    assert any("a support below 2000: the interval is wide, treat the gap with care" in c.value for c in app.caption)


@pytest.mark.parametrize(("sort", "field"), [("gap", "gap_to_overall"), ("error_rate", "error_rate"), ("count", "count")])
def test_sort_orders_rows(sort, field):
    summary = summarize(load_dataset(load_config(SAMPLE_DATA / "speech_commands")))
    rows = [row for row in summary["slices"] if row["column"] == "accent"]

    app = run_slices("speech_commands", attribute="accent", sort=sort)

    expected = [row["value"] for row in sorted(rows, key=lambda row: -row[field])]
    assert slice_table(app)["value"].tolist() == expected


def test_global_filter_and_slice(speech_expected):
    mask = (
        (speech_expected.slice_values["accent"] == "irish")
        & ~speech_expected.tag_flags["car_noise"]
        & (speech_expected.slice_values["gender"] == "female")
    )

    app = run_slices("speech_commands", keep="attr:accent=irish", exclude="tag:car_noise", attribute="gender", value="female")

    assert not app.exception
    assert position(app)[2] == int(mask.sum())
    assert shown_ids(app) == expected_ids(speech_expected, mask, False)[:PAGE_SIZE]
    assert slice_table(app).set_index("value").at["female", "count"] == int(mask.sum())


def test_dataset_without_attributes(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "predictions.csv").write_text("id,label,prediction\n1,a,a\n2,a,b\n", encoding="utf-8")
    (folder / "dataset.toml").write_text('schema = 1\n[files]\npredictions = "predictions.csv"\n', encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    app = run_slices("tiny")

    assert not app.exception
    assert any(text.startswith("No attribute to slice by") for text in notices(app))


# The chart ----------------------------------------------------------------------------------


def chart_rows() -> list[dict]:
    return [
        {"column": "device", "value": "phone", "count": 10, "errors": 2, "error_rate": 0.2, "ci_low": 0.05, "ci_high": 0.5},
        {"column": "device", "value": "laptop", "count": 40, "errors": 4, "error_rate": 0.1, "ci_low": 0.04, "ci_high": 0.23},
    ]


def test_chart_marks_small_slices():
    figure = slice_error_rate_figure(chart_rows(), "device", 0.12, min_support=30)
    bar = figure.data[0]

    assert list(bar.marker.color) == [SMALL_SLICE_COLOR, SLICE_COLOR]
    assert list(bar.marker.pattern.shape) == [SMALL_SLICE_PATTERN, ""]
    assert "fewer than 30 examples" in bar.customdata[0][3]
    assert bar.customdata[1][3] == ""


def test_chart_without_min_support_marks_nothing():
    bar = slice_error_rate_figure(chart_rows(), "device", 0.12).data[0]

    assert list(bar.marker.color) == [SLICE_COLOR, SLICE_COLOR]
    assert bar.selectedpoints is None


def test_chart_selected_bar_stays_bright():
    assert slice_error_rate_figure(chart_rows(), "device", None, selected="laptop").data[0].selectedpoints == (1,)
    assert slice_error_rate_figure(chart_rows(), "device", None, selected="tablet").data[0].selectedpoints is None
