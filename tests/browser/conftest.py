"""Fixtures for the real-browser tests: a dashboard server on 127.0.0.1 and Debian's Chromium.

Every test in this folder gets the ``browser`` mark and is skipped, with the
reason, when ``/usr/bin/chromium``, playwright or pytest-playwright is missing.
Run only these tests with ``pytest tests/browser``; leave them out with
``pytest -m "not browser"``.

The browser is Debian's ``chromium`` package driven by playwright, never a
browser that ``playwright install`` downloads. The server comes from
dashboard_server.py; dashboard_ui.py has the locators and actions, such as
clicking a bar of a plotly chart.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_server import REPO_ROOT, DashboardServer, running_dashboard

BROWSER_TESTS = Path(__file__).resolve().parent
SAMPLE_DATA = REPO_ROOT / "sample_data"

CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium as root in a container: no sandbox and no GPU, and none of
# the background requests (updates, sync, QUIC probes) that would leave the machine.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Wide and tall enough that the sidebar stays expanded and the first chart is on screen.
VIEWPORT = {"width": 1280, "height": 1000}

# The first run of a page opens the dataset and computes its summary. That
# takes a few seconds on the sample data, and longer on a busy 2-core machine.
EXPECT_TIMEOUT_MS = 30_000


def missing_browser_reason() -> str | None:
    """Return why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    if importlib.util.find_spec("pytest_playwright") is None:
        return "pytest-playwright is not installed: pip install -r requirements-dev.txt"
    return None


# tryfirst, so the mark is set before `-m "not browser"` deselects by it.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_browser_reason()
    for item in items:
        if BROWSER_TESTS not in item.path.parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


# ---------------------------------------------------------------- the dashboard server


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    """The dashboard on the sample datasets, shared by every browser test of the session."""
    with running_dashboard(tmp_path_factory.mktemp("dashboard"), SAMPLE_DATA) as server:
        yield server


# ---------------------------------------------------------------- playwright settings


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium instead of a browser downloaded by ``playwright install``."""
    flags = list(CHROMIUM_FLAGS)
    if browser_type_launch_args.get("headless") is False:
        flags.remove("--headless")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": flags}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session", autouse=True)
def _expect_timeout() -> None:
    if missing_browser_reason() is not None:
        return
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
