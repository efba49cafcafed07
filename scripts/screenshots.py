"""Take the README's screenshots of each dashboard page from a running app.

Starts the dashboard on 127.0.0.1 with the bundled samples, opens each page in
headless Chromium through a deep link, waits for its charts, and writes one PNG
per page into ``docs/screenshots/``. Needs the development requirements
(playwright) and Debian's Chromium at ``/usr/bin/chromium``::

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# (file name, path and query of the deep link) per page.
SHOTS = [
    ("overview.png", "/?dataset=screening"),
    ("slices.png", "/Slices?dataset=speech_commands&attribute=accent&value=irish"),
    ("tags.png", "/Tags?dataset=speech_commands"),
    ("what_if.png", "/What_if?dataset=speech_commands&tags=car_noise&tags=low_bandwidth"),
    ("examples.png", "/Examples?dataset=digits&outcome=errors&columns=id&columns=image&columns=label&columns=prediction&columns=score&columns=tags"),
    ("label_errors.png", "/Label_errors?dataset=digits"),
]
# Element that shows a page has drawn: a chart, or the first table for pages without one.
READY = {
    "examples.png": '[data-testid="stDataFrame"] canvas',
    "label_errors.png": '[data-testid="stDataFrame"] canvas',
}

VIEWPORT = {"width": 1400, "height": 1800}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"The dashboard did not respond on port {port} within {timeout:.0f} s; check that streamlit starts with scripts/dashboard.sh.")


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} not found; install it with apt-get install chromium", file=sys.stderr)
        return 2
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "dashboard.py",
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(port)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport=VIEWPORT)
            for name, link in SHOTS:
                page.goto(f"http://127.0.0.1:{port}{link}")
                page.wait_for_selector(READY.get(name, ".js-plotly-plot .main-svg"), timeout=60_000)
                # Charts animate in and fonts load after the first paint.
                page.wait_for_timeout(2_000)
                page.screenshot(path=str(OUTPUT / name))
                print(f"wrote {OUTPUT / name}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
