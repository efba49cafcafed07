"""Time the HTML report of a generated dataset and its drawing in headless Chromium.

Run from anywhere::

    python benchmarks/bench_report.py [--rows N] [--skip-generate] [--out-dir DIR] [--browser-runs N]

The data comes from the generator of ``bench_summary.py`` (10 million rows
by default). The script adds an HLP file for the six tags and an ``[audit]``
section of three checks, so that every section of the report is built. In
one process it times the analysis (``load_dataset`` and ``summarize``), then
the extra time of ``build_report`` and writing the file, and prints the file
size and the process's peak RSS after each step. Then it opens the file in
headless Chromium (``/usr/bin/chromium``) with every request other than the
file aborted, and times each load from ``goto`` until every chart container
contains a drawn plot (``.main-svg``), in a new page each time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_summary

REPOSITORY = bench_summary.REPOSITORY
DEFAULT_OUT_DIR = REPOSITORY / "benchmarks" / "data" / "report"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]

# Targets for 10 million rows on a 2-core machine.
REPORT_TARGET_SECONDS = 10.0
BROWSER_TARGET_SECONDS = 3.0

HLP = {"tag_noisy": 0.93, "tag_blurry": 0.9, "tag_low_light": 0.88, "tag_occluded": 0.85, "tag_rare_pose": 0.8, "tag_duplicate": 0.9, "(untagged)": 0.95}
AUDIT = """
[audit]

[[audit.checks]]
name = "accuracy by device"
metric = "accuracy"
attribute = "device"
at_least_overall_minus = 0.05

[[audit.checks]]
name = "recall of class_4"
metric = "recall"
class = "class_4"
at_least = 0.8
severity = "warning"

[[audit.checks]]
name = "error rate by region"
metric = "error_rate"
attribute = "region"
at_most_overall_plus = 0.03
severity = "warning"
"""

# True once every chart container contains a plot that plotly has drawn.
ALL_CHARTS_DRAWN = """() => {
    const charts = document.querySelectorAll('.chart');
    return charts.length > 0 && [...charts].every(chart => chart.querySelector('.main-svg') !== null);
}"""


def add_hlp_and_audit(folder: Path) -> None:
    """Write hlp.csv and name it in dataset.toml, with the [audit] section. A second call changes nothing."""
    (folder / "hlp.csv").write_text("tag,hlp\n" + "".join(f"{tag},{value}\n" for tag, value in HLP.items()), encoding="utf-8")
    config_file = folder / "dataset.toml"
    text = config_file.read_text(encoding="utf-8")
    if 'hlp = "hlp.csv"' not in text:
        text = text.replace('metadata = "metadata.parquet"\n', 'metadata = "metadata.parquet"\nhlp = "hlp.csv"\n', 1) + AUDIT
        config_file.write_text(text, encoding="utf-8")


def step(name: str, action):
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    print(f"{name:<52} {seconds:8.2f} s   peak RSS {bench_summary._status_mb('VmHWM'):7.0f} MB", flush=True)
    return result, seconds


def browser_loads(report: Path, runs: int) -> list[float]:
    """Return the seconds from navigation until every chart is drawn, one per run, each in a new page."""
    from playwright.sync_api import sync_playwright

    address = report.as_uri()
    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for run in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            blocked: list[str] = []
            errors: list[str] = []

            def handle(route, blocked=blocked):
                if route.request.url == address:
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", handle)
            page.on("console", lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None)
            start = time.perf_counter()
            page.goto(address)
            page.wait_for_function(ALL_CHARTS_DRAWN, timeout=60_000)
            seconds.append(time.perf_counter() - start)
            charts = page.locator(".chart").count()
            print(f"browser load {run + 1}: {seconds[-1]:.2f} s, {charts} charts drawn, {len(blocked)} requests blocked, {len(errors)} console errors", flush=True)
            page.close()
        browser.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=bench_summary.DEFAULT_ROWS, help="rows of the generated dataset (default 10,000,000)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="folder of the generated dataset and the report")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the files in --out-dir")
    parser.add_argument("--seed", type=int, default=bench_summary.SEED)
    parser.add_argument("--browser-runs", type=int, default=3, help="loads of the report in headless Chromium (default 3)")
    arguments = parser.parse_args()

    folder = arguments.out_dir
    if not arguments.skip_generate:
        start = time.perf_counter()
        bench_summary.generate(folder, arguments.rows, arguments.seed)
        print(f"generated {arguments.rows:,} rows in {time.perf_counter() - start:.1f} s", flush=True)
    add_hlp_and_audit(folder)

    sys.path.insert(0, str(REPOSITORY))
    _imports, import_seconds = step("imports (analysis, plotly)", lambda: __import__("analysis.report"))
    from analysis import load_config, load_dataset, summarize
    from analysis.report import build_report

    dataset, open_seconds = step("analysis: load_config + load_dataset", lambda: load_dataset(load_config(folder)))
    _summary, summary_seconds = step("analysis: summarize", lambda: summarize(dataset))
    report_file = folder / "report.html"

    def write_report():
        report = build_report(dataset)
        report_file.write_text(report.html, encoding="utf-8")
        return report

    report, report_seconds = step("report: build_report + write the file", write_report)
    size = report_file.stat().st_size
    print(f"report file: {size / 1e6:.2f} MB ({size:,} bytes), sections {[s.key for s in report.sections if s.applies]}")

    loads = browser_loads(report_file, arguments.browser_runs) if arguments.browser_runs else []
    analysis_seconds = open_seconds + summary_seconds
    print()
    print(f"analysis (open + summary): {analysis_seconds:.2f} s")
    print(f"report beyond the analysis: {report_seconds:.2f} s (target under {REPORT_TARGET_SECONDS:.0f} s)")
    if loads:
        print(f"browser load until all charts are drawn: median {statistics.median(loads):.2f} s, max {max(loads):.2f} s (target under {BROWSER_TARGET_SECONDS:.0f} s)")
    print(f"peak RSS of this process: {bench_summary._status_mb('VmHWM'):.0f} MB (Chromium not included)")
    met = report_seconds < REPORT_TARGET_SECONDS and (not loads or max(loads) < BROWSER_TARGET_SECONDS)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
