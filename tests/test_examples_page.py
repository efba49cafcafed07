"""The Examples page (pages/4_Examples.py) run with Streamlit's AppTest.

Rows and counts are checked against pandas on the same files (the Oracle of
test_examples_query.py); the export against the same pandas filter.
"""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import pandas as pd
import pytest
from oracle import SAMPLE_DATASETS, read_expected
from streamlit.testing.v1 import AppTest
from test_examples_query import Oracle

from analysis import load_config, load_dataset
from analysis.examples import ExampleQuery
from ui.data import DATA_ROOT_VARIABLE
from ui.examples_views import export_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
PAGE = "pages/4_Examples.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
PAGE_SIZE = 50
PNG_BYTES = (SAMPLE_DATA / "digits" / "images" / "0000.png").read_bytes()

_POSITION = re.compile(r"Examples ([\d,]+) to ([\d,]+) of ([\d,]+), page ([\d,]+) of ([\d,]+)\.")


@pytest.fixture(autouse=True)
def default_data_root(monkeypatch):
    """Start every test from the default data root, whatever the shell exports."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)


def run_page(**parameters: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in parameters.items():
        at.query_params[name] = value
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def oracle_for(name: str) -> Oracle:
    config = load_config(SAMPLE_DATA / name)
    return Oracle(config, read_expected(config))


def table_ids(at: AppTest) -> list[str]:
    return [str(value) for value in at.dataframe[0].value["id"]]


def position(at: AppTest) -> tuple[int, ...]:
    for caption in at.caption:
        found = _POSITION.search(caption.value)
        if found:
            return tuple(int(group.replace(",", "")) for group in found.groups())
    raise AssertionError("no position caption on the page")


def notices(at: AppTest) -> list[str]:
    return [element.value.replace("\\", "") for element in at.info]


def is_numeric(name: str) -> bool:
    dataset = load_dataset(load_config(SAMPLE_DATA / name))
    return pd.api.types.is_integer_dtype(dataset.engine.query(f"SELECT id FROM {dataset.view} LIMIT 1")["id"])


# Rows -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_DATASETS)
def test_first_page_matches_pandas(name):
    oracle = oracle_for(name)
    mask = oracle.mask(ExampleQuery())

    at = run_page(dataset=name)

    assert position(at) == (1, min(PAGE_SIZE, oracle.expected.total), oracle.expected.total, 1, -(-oracle.expected.total // PAGE_SIZE))
    assert table_ids(at) == oracle.ordered_ids(mask, "default", is_numeric(name))[:PAGE_SIZE]


URL_CASES = [
    ({"outcome": "errors", "tag": "car_noise", "tagged": "0"}, ExampleQuery(outcome="errors", tag="car_noise", tag_carried=False)),
    ({"label": "yes", "prediction": "no"}, ExampleQuery(label="yes", prediction="no")),
    ({"attribute": "accent", "value": "irish", "sort": "score_desc"}, ExampleQuery(attribute="accent", value="irish", sort="score_desc")),
    ({"outcome": "correct", "score_min": "0.3", "score_max": "0.8", "sort": "score_asc"}, ExampleQuery(outcome="correct", score_min=0.3, score_max=0.8, sort="score_asc")),
    ({"prediction": "unknown", "page": "2"}, ExampleQuery(prediction="unknown", page=2)),
]


@pytest.mark.parametrize(("parameters", "query"), URL_CASES)
def test_url_filters_match_pandas(parameters, query):
    oracle = oracle_for("speech_commands")
    mask = oracle.mask(query)
    order = oracle.ordered_ids(mask, query.sort, numeric_ids=False)

    at = run_page(dataset="speech_commands", **parameters)

    start = (query.page - 1) * PAGE_SIZE
    assert position(at)[2] == int(mask.sum())
    assert table_ids(at) == order[start : start + PAGE_SIZE]
    assert not notices(at)
    for name, value in parameters.items():
        assert at.query_params[name] == value


def test_outcome_widget_changes_rows_and_url():
    oracle = oracle_for("screening")
    at = run_page(dataset="screening")

    at.radio(key="examples_outcome").set_value("errors").run()

    mask = oracle.mask(ExampleQuery(outcome="errors"))
    assert position(at)[2] == int(mask.sum())
    assert table_ids(at) == oracle.ordered_ids(mask, "default", numeric_ids=is_numeric("screening"))[:PAGE_SIZE]
    assert at.query_params["outcome"] == "errors"


def test_label_widget_changes_rows():
    oracle = oracle_for("screening")
    at = run_page(dataset="screening", page="2")

    at.selectbox(key="examples_label").set_value("covid").run()

    mask = oracle.mask(ExampleQuery(label="covid"))
    assert position(at)[2] == int(mask.sum())
    # A new filter goes back to page 1.
    assert "page" not in at.query_params
    assert at.query_params["label"] == "covid"


def test_columns_from_url():
    at = run_page(dataset="digits", columns=["id", "image", "ink_level"])

    assert list(at.dataframe[0].value.columns) == ["id", "image", "ink_level"]
    assert at.multiselect(key="examples_columns").value == ["id", "image", "ink_level"]


# Invalid parameters ----------------------------------------------------------------------------

INVALID = [
    ("outcome", "wrong", "use one of all, errors, correct."),
    ("label", "cat", "no example has this class."),
    ("tag", "nope", "no tag of this dataset has that name."),
    ("sort", "random", "use one of default, score_asc, score_desc."),
    ("score_min", "abc", "a score bound is a number such as 0.5."),
    ("page", "0", "a page number is a whole number of at least 1."),
    ("page", "9999", "this selection has 400 pages."),
    ("columns", "no such column", "the dataset has no column with that name."),
    ("attribute", "planet", "no attribute of this dataset has that name."),
]


@pytest.mark.parametrize(("name", "value", "reason"), INVALID)
def test_invalid_parameter_notice(name, value, reason):
    at = run_page(dataset="speech_commands", **{name: value})

    assert f"The address sets {name} to '{value}', which was ignored: {reason}" in notices(at)
    # The page falls back to its default and still lists examples.
    assert position(at)[0] == 1


def test_value_without_attribute_notice():
    at = run_page(dataset="speech_commands", value="irish")

    assert "The address sets value to 'irish', which was ignored: a slice value needs an attribute." in notices(at)


def test_reversed_score_range_notice():
    at = run_page(dataset="speech_commands", score_min="0.8", score_max="0.2")

    assert "The address sets score_max to '0.2', which was ignored: it is below the minimum score 0.8." in notices(at)
    assert at.query_params["score_min"] == "0.8"
    assert "score_max" not in at.query_params


# Media and the detail panel --------------------------------------------------------------------


def test_digits_images_in_table_and_detail():
    at = run_page(dataset="digits")

    thumbnails = at.dataframe[0].value["image"].tolist()
    assert all(isinstance(url, str) and url.startswith("data:image/png;base64,") for url in thumbnails)
    images = at.get("image")
    assert len(images) == 1
    assert images[0].proto.imgs[0].caption == f"image: images/{int(table_ids(at)[0]):04d}.png"
    first_id = table_ids(at)[0]
    assert at.subheader[0].value == f"Example {first_id}"


def write_media_dataset(root: Path) -> Path:
    """Write a dataset whose image column contains a valid path, paths leaving the folder and a missing file."""
    folder = root / "media"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "ok.png").write_bytes(PNG_BYTES)
    (root / "outside.png").write_bytes(PNG_BYTES)
    ids = ["1", "2", "3", "4"]
    pd.DataFrame({"id": ids, "label": ["a", "a", "b", "b"], "prediction": ["b", "a", "b", "b"]}).to_csv(folder / "predictions.csv", index=False)
    pd.DataFrame({"id": ids, "picture": ["../outside.png", "images/ok.png", "/etc/hosts.png", "images/missing.png"]}).to_csv(
        folder / "metadata.csv", index=False
    )
    (folder / "dataset.toml").write_text('schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n', encoding="utf-8")
    return folder


def test_media_outside_folder_rejected(tmp_path, monkeypatch):
    write_media_dataset(tmp_path)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    # Example 1 is the only error, so it comes first and fills the detail panel.
    at = run_page(dataset="media")

    warnings = [element.value.replace("\\", "") for element in at.warning]
    assert any("The media path '../outside.png' leaves the dataset folder through '..'." in text for text in warnings), warnings
    assert not at.get("image")
    thumbnails = at.dataframe[0].value["picture"].tolist()
    assert pd.isna(thumbnails[0])
    assert thumbnails[1].startswith("data:image/png;base64,")
    assert pd.isna(thumbnails[2])
    assert pd.isna(thumbnails[3])


def test_media_absolute_path_rejected(tmp_path, monkeypatch):
    write_media_dataset(tmp_path)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    at = run_page(dataset="media", outcome="correct", label="b")

    warnings = [element.value.replace("\\", "") for element in at.warning]
    assert any("The media path '/etc/hosts.png' is absolute, so it may point outside the dataset folder." in text for text in warnings), warnings


def test_score_parameter_without_score(tmp_path, monkeypatch):
    write_media_dataset(tmp_path)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    at = run_page(dataset="media", score_min="0.5", sort="score_desc")

    assert "The address sets score_min to '0.5', which was ignored: this dataset has no score column." in notices(at)
    assert "The address sets sort to 'score_desc', which was ignored: use one of default." in notices(at)
    assert position(at)[2] == 4


# Export ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_equals_pandas_filter(file_format):
    oracle = oracle_for("speech_commands")
    dataset = load_dataset(load_config(SAMPLE_DATA / "speech_commands"))
    query = ExampleQuery(outcome="errors", tag="people_noise", sort="score_asc")
    columns = ["id", "label", "prediction", "score", "accent"]

    content = export_bytes(dataset, None, query, columns, file_format)

    written = pd.read_csv(io.BytesIO(content), dtype=str) if file_format == "csv" else pd.read_parquet(io.BytesIO(content))
    expected_ids = oracle.ordered_ids(oracle.mask(query), "score_asc", numeric_ids=False)
    assert written["id"].tolist() == expected_ids
    assert list(written.columns) == columns
    accents = oracle.metadata.frame.set_index("example_id").loc[expected_ids, "accent"]
    assert written["accent"].tolist() == accents.tolist()


def test_export_buttons_shown():
    at = run_page(dataset="speech_commands", outcome="errors")

    buttons = at.get("download_button")
    assert [button.proto.label for button in buttons] == ["Download CSV", "Download Parquet"]


# Links from other pages --------------------------------------------------------------------------


def page_links(at: AppTest) -> dict[str, str]:
    return {link.proto.label: link.proto.query_string for link in at.get("page_link") if link.proto.page == "Examples"}


def test_slices_page_links_to_examples():
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in {"dataset": "speech_commands", "attribute": "accent", "value": "irish", "errors": "1"}.items():
        at.query_params[name] = value
    at.switch_page("pages/1_Slices.py")
    at.run()

    links = page_links(at)
    assert links["Open these in Examples"] == "dataset=speech_commands&outcome=errors&attribute=accent&value=irish"


def test_overview_links_confused_pairs():
    oracle = oracle_for("digits")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["dataset"] = "digits"
    at.run()

    links = page_links(at)
    top = oracle.expected.confused_pairs()[0]
    text = f"{top['label']} predicted as {top['prediction']}"
    assert links[text] == f"dataset=digits&label={top['label']}&prediction={top['prediction']}"


def test_overview_pair_links_carry_filter():
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["dataset"] = "digits"
    at.query_params["exclude"] = "tag:faint"
    at.run()

    links = page_links(at)
    pair_links = {text: query for text, query in links.items() if " predicted as " in text}
    assert len(pair_links) == 5
    assert all(query.startswith("dataset=digits&exclude=tag%3Afaint&label=") for query in pair_links.values())


def test_audio_and_text_in_detail(tmp_path, monkeypatch):
    folder = tmp_path / "clips"
    (folder / "audio").mkdir(parents=True)
    with wave.open(str(folder / "audio" / "1.wav"), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(8000)
        clip.writeframes(bytes(1600))
    transcript = "the quick brown fox jumps over the lazy dog " * 3
    pd.DataFrame({"id": ["1", "2"], "label": ["yes", "no"], "prediction": ["no", "no"]}).to_csv(folder / "predictions.csv", index=False)
    pd.DataFrame({"id": ["1", "2"], "clip": ["audio/1.wav", "audio/2.wav"], "transcript": [transcript, transcript]}).to_csv(
        folder / "metadata.csv", index=False
    )
    (folder / "dataset.toml").write_text('schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n', encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))

    # Example 1, the only error, fills the detail panel.
    at = run_page(dataset="clips")

    assert len(at.get("audio")) == 1
    assert any(element.value.replace("\\", "") == transcript.strip() for element in at.markdown)

    at = run_page(dataset="clips", outcome="correct")

    assert not at.get("audio")
    warnings = [element.value.replace("\\", "") for element in at.warning]
    assert any("The media file 'audio/2.wav' was not found in the dataset folder." in text for text in warnings), warnings
