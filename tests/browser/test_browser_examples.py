"""The Examples page in headless Chromium: a deep link opens the digits sample and its images render."""

from __future__ import annotations

import re

import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from dashboard_ui import open_page, page_heading, query_parameters
from playwright.sync_api import Page, expect


def test_examples_deep_link_renders_image(page: Page, dashboard):
    open_page(page, dashboard.url("/Examples?dataset=digits&outcome=errors"))

    expect(page_heading(page)).to_have_text("Examples")
    image = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img").first
    expect(image).to_be_visible()
    # naturalWidth is 0 until the browser has fetched and decoded the file.
    page.wait_for_function("element => element.complete && element.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("element => element.naturalWidth") > 0
    assert query_parameters(page.url)["outcome"] == ["errors"]


def test_selected_row_fills_detail_panel(page: Page, dashboard):
    open_page(page, dashboard.url("/Examples?dataset=digits&columns=id&columns=image"))
    main = page.get_by_test_id("stMain")
    grid = main.get_by_test_id("stDataFrame").first.locator('table[role="grid"]')
    headers = grid.locator('th[role="columnheader"]')
    expect(headers.filter(has_text="image")).to_have_count(1)
    id_column = headers.filter(has_text=re.compile("^id$")).get_attribute("aria-colindex")
    second_id = grid.locator('tr[role="row"]').nth(2).locator(f'td[aria-colindex="{id_column}"]').text_content().strip()

    # The grid is a canvas: click the selection box of the second row, left of its id.
    canvas = main.get_by_test_id("stDataFrame").first.locator("canvas").first
    box = canvas.bounding_box()
    header_height = row_height = 35
    page.mouse.click(box["x"] + 15, box["y"] + header_height + row_height * 1.5)

    expect(main.get_by_role("heading", name=f"Example {second_id}")).to_be_visible()
    expect(main.get_by_text("1 selected.", exact=False)).to_be_visible()
