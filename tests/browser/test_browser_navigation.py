"""The dashboard in headless Chromium: deep links, the dataset picker, navigation, the global filter and the Overview charts.

Expected names and counts are read from the sample files with pandas, not
from the engine. The sample data is read-only here, so every test can share
one server.
"""

from __future__ import annotations

import re

import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip("playwright", reason="playwright is not installed: pip install -r requirements-dev.txt")

from dashboard_ui import (
    BAR,
    EXCLUDE_FILTER,
    KEEP_FILTER,
    choose_dataset,
    dataset_picker,
    filter_chips,
    navigation_link,
    open_page,
    page_heading,
    query_parameters,
    url_path,
    wait_for_chart,
    wait_until_idle,
)
from playwright.sync_api import Page, expect
from sample_tables import SAMPLE_DATA, SPEECH, SPEECH_TAGS, speech_examples

from analysis.config import load_config

UNTAGGED = "(untagged)"


def dataset_names() -> list[str]:
    """Sample dataset folders in the picker's order: sorted by name, ignoring case."""
    names = [path.parent.name for path in SAMPLE_DATA.glob("*/dataset.toml")]
    return sorted(names, key=lambda name: (name.casefold(), name))


def display_name(folder: str) -> str:
    return load_config(SAMPLE_DATA / folder).name


# ---------------------------------------------------------------- Overview


def test_overview_shows_title_and_charts(page: Page, dashboard):
    open_page(page, dashboard.url(f"/?dataset={SPEECH}"))

    expect(page_heading(page)).to_have_text(display_name(SPEECH))
    wait_for_chart(page, 0)
    # The tag chart draws share of data and share of errors for each tag and the untagged group.
    tag_chart = page.locator(".js-plotly-plot").filter(has_text="Share of data and share of errors by tag")
    expect(tag_chart.locator(".main-svg").first).to_be_visible()
    expect(tag_chart.locator(BAR)).to_have_count(2 * (len(SPEECH_TAGS) + 1))


def test_overview_without_dataset_opens_first(page: Page, dashboard):
    first = dataset_names()[0]

    open_page(page, dashboard.url("/"))

    expect(page_heading(page)).to_have_text(display_name(first))
    expect(dataset_picker(page)).to_have_value(first)
    expect(page).to_have_url(re.compile(rf"[?&]dataset={first}(&|$)"))


def test_filter_banner_counts_kept_examples(page: Page, dashboard):
    examples = speech_examples()
    kept_examples = int((~examples["car_noise"]).sum())

    open_page(page, dashboard.url(f"/?dataset={SPEECH}&exclude=tag:car_noise"))

    banner = page.get_by_test_id("stMain").get_by_text("Global filter on:")
    expect(banner).to_contain_text("car_noise")
    expect(banner).to_contain_text(f"computed on {kept_examples:,} of {len(examples):,} examples")


# ---------------------------------------------------------------- deep links and navigation


def test_deep_link_opens_tags_page(page: Page, dashboard):
    open_page(page, dashboard.url(f"/Tags?dataset={SPEECH}&exclude=tag:car_noise"))

    expect(page_heading(page)).to_have_text("Tags")
    expect(dataset_picker(page)).to_have_value(SPEECH)
    expect(filter_chips(page, EXCLUDE_FILTER)).to_have_text(["tag car_noise"])
    expect(filter_chips(page, KEEP_FILTER)).to_have_count(0)
    # A deep link into a page of pages/ must not open Streamlit's "Page not found" dialog.
    expect(page.get_by_role("dialog")).to_have_count(0)
    # The page may add parameters of its own (a sort order, say); the shared ones must stay as linked.
    parameters = query_parameters(page.url)
    assert url_path(page.url) == "/Tags"
    assert parameters["dataset"] == [SPEECH]
    assert parameters["exclude"] == ["tag:car_noise"]
    assert "keep" not in parameters


def test_dataset_picker_changes_url_and_page(page: Page, dashboard):
    other = "screening"
    open_page(page, dashboard.url(f"/?dataset={SPEECH}"))

    choose_dataset(page, other)

    expect(page).to_have_url(re.compile(rf"[?&]dataset={other}(&|$)"))
    expect(page_heading(page)).to_have_text(display_name(other))
    wait_until_idle(page)
    assert url_path(page.url) == "/"
    assert query_parameters(page.url)["dataset"] == [other]


@pytest.mark.parametrize(("label", "path"), [("Slices", "/Slices"), ("Tags", "/Tags"), ("What-if", "/What_if")])
def test_navigation_link_keeps_dataset_and_filter(page: Page, dashboard, label, path):
    open_page(page, dashboard.url(f"/?dataset={SPEECH}&exclude=tag:car_noise&keep=tag:people_noise"))

    navigation_link(page, label).click()

    expect(page).to_have_url(re.compile(rf"{re.escape(path)}\?"))
    expect(page_heading(page)).to_have_text(label)
    wait_until_idle(page)
    expect(filter_chips(page, EXCLUDE_FILTER)).to_have_text(["tag car_noise"])
    expect(filter_chips(page, KEEP_FILTER)).to_have_text(["tag people_noise"])
    parameters = query_parameters(page.url)
    assert parameters["dataset"] == [SPEECH]
    assert parameters["exclude"] == ["tag:car_noise"]
    assert parameters["keep"] == ["tag:people_noise"]


def test_navigation_link_back_to_overview(page: Page, dashboard):
    open_page(page, dashboard.url(f"/Slices?dataset={SPEECH}&exclude=tag:car_noise"))

    navigation_link(page, "Overview").click()

    expect(page_heading(page)).to_have_text(display_name(SPEECH))
    expect(page.get_by_test_id("stMain").get_by_text("Global filter on:")).to_contain_text("car_noise")
    parameters = query_parameters(page.url)
    assert url_path(page.url) == "/"
    assert parameters["dataset"] == [SPEECH]
    assert parameters["exclude"] == ["tag:car_noise"]


def test_unknown_dataset_shows_fallback_notice(page: Page, dashboard):
    first = dataset_names()[0]

    open_page(page, dashboard.url("/Tags?dataset=no_such_dataset"))

    notice = page.get_by_test_id("stMain").get_by_text("The address asks for the dataset")
    expect(notice).to_contain_text("no_such_dataset")
    expect(notice).to_contain_text(f"shows '{first}' instead")
    expect(page_heading(page)).to_have_text("Tags")
    expect(dataset_picker(page)).to_have_value(first)
    assert query_parameters(page.url)["dataset"] == [first]
