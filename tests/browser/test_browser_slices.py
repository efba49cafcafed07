"""The Slices page in headless Chromium: bar clicks and deep links, including the Intersections and Discover views.

Expected counts come from the sample files with pandas (sample_tables.py).
"""

from __future__ import annotations

import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from dashboard_ui import click_plotly_bar, open_page, query_parameters
from playwright.sync_api import Page, expect
from sample_tables import SPEECH, speech_examples

PAGE_SIZE = 50
ATTRIBUTE = "accent"
# The bars follow the accents in alphabetical order, so the fifth is irish, the accent that fails most often.
IRISH_BAR = 4
# A bar's hover label starts with the slice value, followed by its error rate.
HOVER_VALUE_END = "error rate"


def examples_caption(total: int) -> str:
    return f"Examples 1 to {min(PAGE_SIZE, total):,} of {total:,}, page 1 of"


def test_clicking_bar_filters_examples(page: Page, dashboard):
    examples = speech_examples()
    open_page(page, dashboard.url(f"/Slices?dataset={SPEECH}&attribute={ATTRIBUTE}"))

    label = click_plotly_bar(page, IRISH_BAR)

    value = label.split(HOVER_VALUE_END)[0].strip()
    in_slice = int((examples[ATTRIBUTE] == value).sum())
    assert value == "irish", label
    expect(page.get_by_text(examples_caption(in_slice))).to_be_visible()
    expect(page.get_by_role("combobox", name="Slice", exact=True)).to_have_value(value)
    assert query_parameters(page.url)["value"] == [value]


def test_deep_link_restores_slice(page: Page, dashboard):
    examples = speech_examples()
    irish_errors = int(((examples[ATTRIBUTE] == "irish") & examples["is_error"]).sum())

    open_page(
        page,
        dashboard.url(f"/Slices?dataset={SPEECH}&attribute={ATTRIBUTE}&value=irish&errors=1"),
    )

    expect(page.get_by_role("combobox", name="Attribute", exact=True)).to_have_value(ATTRIBUTE)
    expect(page.get_by_role("combobox", name="Slice", exact=True)).to_have_value("irish")
    expect(page.get_by_role("switch", name="Errors only")).to_be_checked()
    expect(page.get_by_text(examples_caption(irish_errors))).to_be_visible()
    parameters = query_parameters(page.url)
    assert parameters["attribute"] == [ATTRIBUTE]
    assert parameters["value"] == ["irish"]
    assert parameters["errors"] == ["1"]


def test_intersections_link_draws_heatmap(page: Page, dashboard):
    examples = speech_examples()
    cells = examples.groupby(["gender", "device"]).size()

    open_page(page, dashboard.url(f"/Slices?dataset={SPEECH}&view=intersections&attribute=gender&by=device"))

    heatmap = page.locator(".js-plotly-plot").filter(has=page.locator(".heatmaplayer"))
    expect(heatmap.locator(".main-svg").first).to_be_visible()
    # Each cell's text gives its support; the largest cell is checked against pandas.
    largest = int(cells.max())
    expect(heatmap.get_by_text(f"n = {largest}", exact=False).first).to_be_visible()
    parameters = query_parameters(page.url)
    assert parameters["view"] == ["intersections"]
    assert parameters["by"] == ["device"]


def test_discover_link_lists_slices(page: Page, dashboard):
    open_page(page, dashboard.url(f"/Slices?dataset={SPEECH}&view=discover&max_predicates=2"))

    expect(page.get_by_role("radio", name="Discover")).to_be_checked()
    expect(page.get_by_test_id("stMain").get_by_test_id("stDataFrame").first).to_be_visible()
    assert query_parameters(page.url)["max_predicates"] == ["2"]
