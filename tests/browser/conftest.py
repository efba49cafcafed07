"""Fixtures for the real-browser tests: a dashboard server on 127.0.0.1 and Debian's Chromium.

Every test in this folder gets the ``browser`` mark and is skipped, with the
reason, when ``/usr/bin/chromium``, playwright or pytest-playwright is missing.
Run only these tests with ``pytest tests/browser``; leave them out with
``pytest -m "not browser"``.

The browser is Debian's ``chromium`` package driven by playwright, never a
browser that ``playwright install`` downloads. The server is ``streamlit run
dashboard.py`` in a subprocess, stopped by its process id at teardown.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
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

SERVER_START_SECONDS = 60
SERVER_STOP_SECONDS = 10
# The first run of a page opens the dataset and computes its summary. That
# takes a few seconds on the sample data, and longer on a busy 2-core machine.
EXPECT_TIMEOUT_MS = 30_000

# Variables that would change what the server shows, whatever the shell exports.
_DASHBOARD_VARIABLES = ("ERROR_ANALYSIS_DATA_ROOT", "ERROR_ANALYSIS_DEMO")


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


@dataclass
class DashboardServer:
    """A running ``streamlit run dashboard.py`` on 127.0.0.1."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """Return the address of ``path`` (a page path with its query string, such as ``/Tags?dataset=x``)."""
        return self.base_url + path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no process listens on at the moment of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in _DASHBOARD_VARIABLES}
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def _wait_until_healthy(server: DashboardServer) -> None:
    """Poll Streamlit's health endpoint until it returns 200, or raise with the server's log."""
    # No proxy: a proxy from the environment must not see loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the dashboard server exited with code {server.process.returncode} before it was ready:\n{server.log_tail()}"
            )
        try:
            with opener.open(server.url("/_stcore/health"), timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the dashboard server did not answer {server.url('/_stcore/health')} within {SERVER_START_SECONDS} s:\n{server.log_tail()}")


def _stop(server: DashboardServer) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=SERVER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=SERVER_STOP_SECONDS)


@contextmanager
def running_dashboard(log_dir: Path, data_root: Path | None = None) -> Iterator[DashboardServer]:
    """Start the dashboard on a free port, wait until it is healthy, and stop it on exit.

    ``data_root`` is passed as ``-- --data-root PATH``; without it the server
    uses ``sample_data/``. The server's output goes to ``log_dir/streamlit-PORT.log``
    and its last lines are part of the error when it fails to start.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    if data_root is not None:
        command += ["--", "--data-root", str(data_root)]
    log_path = log_dir / f"streamlit-{port}.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_server_environment()
        )
    server = DashboardServer(process, port, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(server)


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
