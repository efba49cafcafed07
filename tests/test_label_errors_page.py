"""The Label errors page (pages/5_Label_errors.py) under AppTest: totals, ranking, URL state and the one-click tag."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from workspace_pages import APP, SAMPLE_DATA, TAGS_PAGE, isolate_settings, run

from analysis.workspace import Workspace
from oracle import REAL_DATA_DIR
from ui.data import DATA_ROOT_VARIABLE, DEMO_VARIABLE

PAGE = "pages/5_Label_errors.py"
TAG = "suspected_label_error"


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path, monkeypatch):
    folder = tmp_path / "workspace"
    isolate_settings(monkeypatch, folder)
    return folder


def open_page(dataset: str, **parameters: str):
    """Open the page with query parameters, some of which share names with the arguments of ``run``."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["dataset"] = dataset
    for name, value in parameters.items():
        app.query_params[name] = value
    app.switch_page(PAGE)
    return app.run()


def normalized_margin_ranking(folder) -> pd.DataFrame:
    """Rank the examples of a predictions file by normalized margin with numpy, lowest first, ties by id."""
    predictions = pd.read_csv(folder / "predictions.csv")
    classes = [column[len("prob_") :] for column in predictions.columns if column.startswith("prob_")]
    probabilities = predictions[[f"prob_{name}" for name in classes]].to_numpy()
    given = predictions["true_label"].astype(str).map({name: index for index, name in enumerate(classes)}).to_numpy()
    rows = np.arange(len(predictions))
    own = probabilities[rows, given]
    others = probabilities.copy()
    others[rows, given] = -np.inf
    quality = (own - others.max(axis=1) + 1) / 2
    ranked = pd.DataFrame({"id": predictions["example_id"], "quality": quality})
    return ranked.sort_values(["quality", "id"], kind="stable", ignore_index=True)


def test_digits_totals_and_first_page():
    expected = normalized_margin_ranking(SAMPLE_DATA / "digits")

    app = run(PAGE, "digits")

    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Examples ranked"] == f"{len(expected):,}"
    table = app.dataframe[0].value
    assert len(table) == 50
    assert list(table["id"]) == [str(value) for value in expected["id"][:50]]
    assert table["label_quality"].to_numpy() == pytest.approx(expected["quality"][:50].to_numpy(), abs=1e-9)


def test_page_parameter_shows_later_ranks():
    expected = normalized_margin_ranking(SAMPLE_DATA / "digits")

    app = open_page("digits", page="3")

    table = app.dataframe[0].value
    assert list(table["rank"])[:2] == [101, 102]
    assert list(table["id"]) == [str(value) for value in expected["id"][100:150]]


def test_flagged_only_ranks_flagged():
    app = open_page("digits", flagged="1")

    table = app.dataframe[0].value
    flagged = {metric.label: metric.value for metric in app.metric}["Flagged"]
    assert table["flagged"].all()
    assert len(table) == min(50, int(flagged.replace(",", "")))


@pytest.mark.parametrize(("name", "value"), [("top", "0"), ("top", "many"), ("flagged", "yes"), ("page", "-1")])
def test_invalid_parameters_fall_back_with_notice(name, value):
    app = open_page("digits", **{name: value})

    assert not app.exception
    assert any(f"sets {name} to" in message.value for message in app.info)
    assert len(app.dataframe[0].value) == 50


def test_page_past_the_end_shows_last_page():
    app = open_page("digits", page="999")

    assert any("the ranking has 36 pages" in message.value for message in app.info)
    assert app.dataframe[0].value["rank"].iloc[-1] == 1797


def test_tag_button_tags_the_top_of_the_ranking(workspace_folder):
    expected = normalized_margin_ranking(SAMPLE_DATA / "digits")
    app = run(PAGE, "digits")
    app.number_input(key="label_errors_top").set_value(40).run()
    app.button(key="label_errors_tag").click().run()

    edits = Workspace(workspace_folder).tag_edits("digits").assignments

    assert set(edits.loc[edits["tag"] == TAG, "example_id"]) == {str(value) for value in expected["id"][:40]}
    assert app.query_params["top"] == ["40"] or app.query_params["top"] == "40"
    tags = run(TAGS_PAGE, "digits").dataframe[0].value.set_index("tag")
    assert tags.loc[TAG, "count"] == 40


def test_dataset_without_probabilities_says_what_is_needed():
    app = run(PAGE, "speech_commands")

    assert not app.exception
    assert any("no per\\-class probability columns" in message.value for message in app.info)
    assert not app.dataframe


def test_demo_disables_the_tag_button(monkeypatch):
    monkeypatch.setenv(DEMO_VARIABLE, "1")

    app = run(PAGE, "digits")

    assert app.button(key="label_errors_tag").disabled


def test_cifar10_top_300_holds_the_confirmed_errors(tmp_path, monkeypatch, workspace_folder):
    source = REAL_DATA_DIR / "cifar10"
    if not (source / "predictions.csv").is_file():
        pytest.skip(f"the CIFAR-10 files are not in {source}")
    folder = tmp_path / "data" / "cifar10"
    folder.mkdir(parents=True)
    for name in ("predictions.csv", "metadata.csv"):
        shutil.copy(source / name, folder)
    (folder / "dataset.toml").write_text(
        'schema = 1\nname = "CIFAR-10"\n\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n\n'
        '[columns]\nid = "example_id"\nlabel = "true_label"\nprediction = "pred_label"\nscore = "score"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    confirmed = pd.read_csv(source / "metadata.csv")
    confirmed = set(confirmed.loc[confirmed["tag_label_error_confirmed"], "example_id"])

    app = run(PAGE, "cifar10")
    app.button(key="label_errors_tag").click().run()
    tagged = Workspace(workspace_folder).tag_edits("cifar10").assignments

    assert len(tagged) == 300
    assert len(confirmed & {int(value) for value in tagged["example_id"]}) == 22
    both = run(TAGS_PAGE, "cifar10", keep=[f"tag:{TAG}", "tag:tag_label_error_confirmed"])
    assert any("22 of 10,000 examples" in message.value for message in both.info)


def test_detail_shows_top_example_with_its_image():
    expected = normalized_margin_ranking(SAMPLE_DATA / "digits")
    top = str(expected["id"][0])

    app = run(PAGE, "digits")

    assert any(heading.value == f"Example {top}" for heading in app.subheader)
    images = app.get("image")
    assert len(images) == 1
    assert images[0].proto.imgs[0].caption == f"image: images/{int(top):04d}.png"
