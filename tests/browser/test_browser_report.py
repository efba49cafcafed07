"""The HTML report in headless Chromium: opened from disk with the network cut off, every chart draws.

Every request other than the report file itself is recorded and aborted,
so a reference to a CDN, a web font or an image would show up as a
recorded request and as a missing chart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Without playwright the helpers below cannot be imported, and conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from conftest import SAMPLE_DATA
from dashboard_ui import open_page
from playwright.sync_api import Page, Route, expect

from analysis import load_config, load_dataset
from analysis.report import build_report

SAMPLES = ("speech_commands", "screening", "digits", "diabetes_regression")


def open_offline(page: Page, report: Path) -> tuple[list[str], list[str]]:
    """Open ``report`` with every other request aborted, and return the requests attempted and the console errors."""
    address = report.as_uri()
    attempted: list[str] = []
    errors: list[str] = []

    def handle(route: Route) -> None:
        if route.request.url == address:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(address)
    return attempted, errors


@pytest.mark.parametrize("name", SAMPLES)
def test_report_draws_offline(page: Page, tmp_path: Path, name: str):
    report = tmp_path / f"{name}.html"
    report.write_text(build_report(load_dataset(load_config(SAMPLE_DATA / name))).html, encoding="utf-8")

    attempted, errors = open_offline(page, report)

    charts = page.locator(".chart")
    expect(charts.first).to_be_attached()
    for index in range(charts.count()):
        expect(charts.nth(index).locator(".main-svg").first).to_be_visible()
    expect(page.locator("section")).to_have_count(6)
    # Requests and errors are read after every chart has drawn, so none can come later unseen.
    assert attempted == []
    assert errors == []


def test_overview_download_serves_report(page: Page, dashboard, tmp_path: Path):
    open_page(page, dashboard.url("/?dataset=screening"))

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the report (HTML)").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    assert download.suggested_filename == "screening_report.html"
    text = saved.read_text(encoding="utf-8")
    assert "Error analysis report: COVID screening (sample)" in text
    assert "The model fails the audit because the blocking check &#x27;covid recall&#x27; fails." in text
