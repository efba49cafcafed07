"""A dashboard server for browser tests: ``streamlit run dashboard.py`` on 127.0.0.1 in a subprocess.

:func:`running_dashboard` starts it on a free port, waits on Streamlit's
health endpoint and stops it by its process id on exit. The ``dashboard``
fixture of conftest.py serves ``sample_data/`` this way. A test module that
needs other data starts its own server on a folder it writes::

    @pytest.fixture(scope="module")
    def uploads_dashboard(tmp_path_factory):
        root = tmp_path_factory.mktemp("data_root")
        ...  # write dataset folders under root
        with running_dashboard(tmp_path_factory.mktemp("server"), root) as server:
            yield server
"""

from __future__ import annotations

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

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVER_START_SECONDS = 60
SERVER_STOP_SECONDS = 10

# Variables that would change what the server shows, whatever the shell exports.
_DASHBOARD_VARIABLES = ("ERROR_ANALYSIS_DATA_ROOT", "ERROR_ANALYSIS_DEMO")
# The folder of the dashboard's workspace database (typed values, edits), by default under the data root.
_WORKSPACE_VARIABLE = "ERROR_ANALYSIS_WORKSPACE"


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


def _server_environment(workspace: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in _DASHBOARD_VARIABLES}
    environment[_WORKSPACE_VARIABLE] = str(workspace)
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
def running_dashboard(work_dir: Path, data_root: Path | None = None) -> Iterator[DashboardServer]:
    """Start the dashboard on a free port, wait until it is healthy, and stop it on exit.

    ``data_root`` is passed as ``-- --data-root PATH``; without it the server
    uses ``sample_data/``. The server's output goes to ``work_dir/streamlit-PORT.log``
    and its last lines are part of the error when it fails to start. Its
    workspace is ``work_dir/workspace``, so the tests write nothing under the
    data root, which may be the repository's ``sample_data/``.
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
    log_path = work_dir / f"streamlit-{port}.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_server_environment(work_dir / "workspace"),
        )
    server = DashboardServer(process, port, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(server)
