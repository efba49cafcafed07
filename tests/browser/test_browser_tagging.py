"""Tagging in headless Chromium: tag a selected example on the Examples page, see the Tags table change, restart, find it again."""

from __future__ import annotations

import re

import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from conftest import SAMPLE_DATA
from dashboard_server import running_dashboard
from dashboard_ui import open_page, page_heading, table_cell
from playwright.sync_api import Page, expect

TAG = "browser_checked"


def select_second_row(page: Page) -> str:
    """Click the selection box of the table's second row and return that example's id."""
    main = page.get_by_test_id("stMain")
    table = main.get_by_test_id("stDataFrame").first
    grid = table.locator('table[role="grid"]')
    headers = grid.locator('th[role="columnheader"]')
    id_column = headers.filter(has_text=re.compile("^id$")).get_attribute("aria-colindex")
    example_id = grid.locator('tr[role="row"]').nth(2).locator(f'td[aria-colindex="{id_column}"]').text_content().strip()

    # The grid is a canvas: click the selection box of the second row, left of its id.
    box = table.locator("canvas").first.bounding_box()
    header_height = row_height = 35
    page.mouse.click(box["x"] + 15, box["y"] + header_height + row_height * 1.5)
    expect(main.get_by_role("heading", name=f"Example {example_id}")).to_be_visible()
    return example_id


def test_tagging_counts_and_survives_restart(page: Page, tmp_path):
    with running_dashboard(tmp_path, SAMPLE_DATA) as server:
        open_page(page, server.url("/Examples?dataset=speech_commands&columns=id&columns=label&columns=prediction"))
        expect(page_heading(page)).to_have_text("Examples")
        example_id = select_second_row(page)

        main = page.get_by_test_id("stMain")
        # The tag filter above the table is also labelled "Tag"; the tagging controls come after it.
        tag_box = main.get_by_role("combobox", name="Tag", exact=True).last
        tag_box.click()
        # A click right after the selection's rerun focuses the box without opening it; the arrow key opens it.
        tag_box.press("ArrowDown")
        page.get_by_role("option", name="New tag…").click()
        main.get_by_label("Name of the new tag").fill(TAG)
        main.get_by_label("Name of the new tag").press("Enter")
        main.get_by_role("button", name="Add tag").click()
        expect(main.get_by_text(f"added tag {TAG} to 1 example", exact=False)).to_be_visible()
        expect(main.get_by_text(f"{TAG} (added here)")).to_be_visible()

        open_page(page, server.url("/Tags?dataset=speech_commands&sort=tag&order=asc"))
        expect(table_cell(page, TAG, "count")).to_have_text("1")

    # A new server on the same workspace folder: the edit is still there.
    with running_dashboard(tmp_path, SAMPLE_DATA) as server:
        open_page(page, server.url("/Tags?dataset=speech_commands&sort=tag&order=asc"))
        expect(table_cell(page, TAG, "count")).to_have_text("1")
        open_page(page, server.url(f"/Examples?dataset=speech_commands&tag={TAG}"))
        expect(page.get_by_test_id("stMain").get_by_role("heading", name=f"Example {example_id}")).to_be_visible()
