"""The Audit page's editor in headless Chromium: type a threshold into the grid, see the checklist change, save it to the file."""

from __future__ import annotations

import shutil
import tomllib

import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from conftest import SAMPLE_DATA
from dashboard_server import running_dashboard
from dashboard_ui import open_page
from playwright.sync_api import Page, expect

# Position of the threshold column among the editor's columns (name is column 0).
THRESHOLD_COLUMN = 7
HEADER_HEIGHT = ROW_HEIGHT = 35


def test_typed_threshold_runs_and_saves(page: Page, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(SAMPLE_DATA / "screening", root / "screening")
    dataset_file = root / "screening" / "dataset.toml"

    with running_dashboard(tmp_path, root) as server:
        open_page(page, server.url("/Audit?dataset=screening"))
        main = page.get_by_test_id("stMain")
        expect(main.get_by_text("The audit fails: 1 check of 3 fails")).to_be_visible()
        main.get_by_text("Edit the checks").click()

        # The grid is a canvas: select the first row's name cell, move to its threshold, open the cell editor and type.
        grid = main.get_by_test_id("stDataFrame").last
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 40, box["y"] + HEADER_HEIGHT + ROW_HEIGHT / 2)
        for _column in range(THRESHOLD_COLUMN):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        page.keyboard.press("Control+a")
        page.keyboard.type("0.04", delay=50)
        page.keyboard.press("Enter")

        expect(main.get_by_text("Every check passes on 5,000 examples.")).to_be_visible()
        expect(main.get_by_text("Unsaved: the checklist above shows the edited checks")).to_be_visible()
        assert tomllib.loads(dataset_file.read_text(encoding="utf-8"))["audit"]["checks"][0]["at_least"] == 0.8

        main.get_by_role("button", name="Save to dataset.toml").click()
        expect(main.get_by_text("Saved 3 checks to")).to_be_visible()

    saved = tomllib.loads(dataset_file.read_text(encoding="utf-8"))
    assert saved["audit"]["checks"][0]["at_least"] == 0.04
    assert saved["task"]["positive_class"] == "covid"
