"""Time each dashboard page on a generated 1-million-row dataset with Streamlit's AppTest.

Run from anywhere::

    python benchmarks/bench_pages.py [--rows N] [--reruns N] [--repeat N] [--skip-generate]

The data comes from the generator of ``bench_summary.py`` (same shape: 5
classes, 8 attributes, 6 tags). Each page of ``ui.sidebar.PAGES`` then runs in
its own subprocess, so that its peak RSS is its own and it starts with empty
Streamlit caches. The first run opens the dataset and computes the summary.
The ``--reruns`` reruns that follow, with the same URL, read the cached
summary. The first run of a page that is not the Overview goes through
``dashboard.py`` and ``AppTest.switch_page``, as navigation does. See
benchmarks/README.md for the numbers and what they cover.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

# bench_summary.py sits beside this file and is a script, not a package module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_summary

REPOSITORY = bench_summary.REPOSITORY
DEFAULT_OUT_DIR = REPOSITORY / "benchmarks" / "data" / "pages"
DATASET_FOLDER = "synthetic"
APP = REPOSITORY / "dashboard.py"

DEFAULT_ROWS = 1_000_000
DEFAULT_RERUNS = 7
# A rerun with unchanged inputs should feel immediate to someone clicking around.
TARGET_RERUN_SECONDS = 0.5
# Generous, so that a first run on a large --rows value or on a loaded machine is not cut short.
APP_TIMEOUT_SECONDS = 600


# ---------------------------------------------------------------- worker (one page, in its own process)


def run_page(script: str, dataset: str, reruns: int) -> dict:
    """Run one page once with empty caches and then ``reruns`` times, and return the times and memory."""
    sys.path.insert(0, str(REPOSITORY))
    from streamlit.testing.v1 import AppTest

    # Import what the pages import, so the first run measures opening the
    # dataset, computing the summary and drawing, not loading modules.
    for module in ("analysis", "plotly.graph_objects", "ui.overview", "ui.page"):
        importlib.import_module(module)

    rss_before = bench_summary._status_mb("VmRSS")
    app = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    app.query_params["dataset"] = dataset
    if script != "dashboard.py":
        app.switch_page(script)

    start = time.perf_counter()
    app.run()
    first_seconds = time.perf_counter() - start
    title = _check_run(app, script)

    rerun_seconds = []
    for _index in range(reruns):
        start = time.perf_counter()
        app.run()
        rerun_seconds.append(time.perf_counter() - start)
        rerun_title = _check_run(app, script)
        if rerun_title != title:
            raise RuntimeError(f"{script}: a rerun showed the title {rerun_title!r} instead of {title!r}")

    return {
        "title": title,
        "first_seconds": first_seconds,
        "rerun_seconds": rerun_seconds,
        "rss_before_mb": rss_before,
        "peak_mb": bench_summary._status_mb("VmHWM"),
    }


def _check_run(app, script: str) -> str:
    """Raise when the run showed an exception or an error message; return the page's first title."""
    if app.exception:
        raise RuntimeError(f"{script} raised: {[item.value for item in app.exception]}")
    if app.error:
        raise RuntimeError(f"{script} showed errors: {[item.value for item in app.error]}")
    if not app.title:
        raise RuntimeError(f"{script} showed no title")
    return app.title[0].value


# ---------------------------------------------------------------- driver


def page_scripts() -> list[str]:
    sys.path.insert(0, str(REPOSITORY))
    import streamlit.logger

    # Outside a running app, Streamlit warns that its caches fall back to memory, which is expected here.
    streamlit.logger.set_log_level("error")
    from ui.sidebar import PAGES

    return [script for script, _label, _icon in PAGES]


def generate_dataset(dataset_dir: Path, rows: int, seed: int) -> None:
    """Write the dataset with bench_summary.py's generator, in a subprocess so this process stays small."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, bench_summary.__file__, "--worker", "generate", "--worker-config", str(dataset_dir)]
    command += ["--rows", str(rows), "--seed", str(seed)]
    measurement = bench_summary._run_measured(command)
    print(f"Wrote {rows:,} rows to {dataset_dir} in {measurement.seconds:.1f} s", flush=True)


def measure_page(script: str, reruns: int) -> dict:
    """Run :func:`run_page` in a new process and add that process's peak RSS and the contention it met."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", script, "--reruns", str(reruns)]
    load = os.getloadavg()[0]
    measurement = bench_summary._run_measured(command)
    result = json.loads(measurement.stdout.strip().splitlines()[-1])
    result.update(
        process_peak_mb=measurement.peak_mb,
        load=load,
        others_running=measurement.others_running,
    )
    return result


def print_table(results: dict[str, list[dict]], rows: int, reruns: int) -> None:
    print(
        f"| page | first run s (median) | cached rerun s (median of {reruns} per round) | cached rerun s (max) "
        "| peak RSS MB (max) | RSS after imports MB (median) | load at start (max) | other running threads (mean) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for script, rounds in results.items():
        first = statistics.median(run["first_seconds"] for run in rounds)
        rerun = statistics.median(statistics.median(run["rerun_seconds"]) for run in rounds)
        slowest = max(max(run["rerun_seconds"]) for run in rounds)
        peak = max(run["process_peak_mb"] for run in rounds)
        before = statistics.median(run["rss_before_mb"] for run in rounds)
        load = max(run["load"] for run in rounds)
        others = statistics.fmean(run["others_running"] for run in rounds)
        print(
            f"| {script} ({rounds[0]['title']}) | {first:.2f} | {rerun:.3f} | {slowest:.3f} "
            f"| {peak:.0f} | {before:.0f} | {load:.2f} | {others:.2f} |"
        )
    print()
    for script, rounds in results.items():
        rerun = statistics.median(statistics.median(run["rerun_seconds"]) for run in rounds)
        verdict = "met" if rerun < TARGET_RERUN_SECONDS else "missed"
        print(f"{script}: cached rerun under {TARGET_RERUN_SECONDS} s at {rows:,} rows: {rerun:.3f} s, {verdict}")


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the first run and cached reruns of every dashboard page with AppTest.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"rows of the generated dataset (default {DEFAULT_ROWS:,})")
    parser.add_argument("--reruns", type=int, default=DEFAULT_RERUNS, help=f"cached reruns of each page after its first run (default {DEFAULT_RERUNS})")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over all pages, each page in a new process (default 3)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="data root for the generated dataset (default benchmarks/data/pages)")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the dataset already in --out-dir")
    parser.add_argument("--seed", type=int, default=bench_summary.SEED, help=f"random seed of the generated data (default {bench_summary.SEED})")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    for name in ("rows", "reruns", "repeat"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(arguments, name)}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.worker is not None:
        print(json.dumps(run_page(arguments.worker, DATASET_FOLDER, arguments.reruns)))
        return 0

    out_dir = arguments.out_dir.resolve()
    dataset_dir = out_dir / DATASET_FOLDER
    if arguments.skip_generate:
        predictions = dataset_dir / "predictions.parquet"
        if not predictions.is_file():
            sys.exit(f"error: {predictions} not found; run without --skip-generate to write it")
        found = bench_summary.parquet_rows(predictions)
        if found != arguments.rows:
            sys.exit(f"error: {predictions} has {found:,} rows but --rows is {arguments.rows:,}; pass --rows {found} or run without --skip-generate")
    else:
        generate_dataset(dataset_dir, arguments.rows, arguments.seed)

    # The page workers inherit this variable: it points the dashboard at the generated data root.
    os.environ["ERROR_ANALYSIS_DATA_ROOT"] = str(out_dir)
    os.environ.pop("ERROR_ANALYSIS_DEMO", None)

    results: dict[str, list[dict]] = {}
    # Rounds run every page once, so a burst of load from elsewhere hits one run of each page, not every run of one.
    for round_index in range(arguments.repeat):
        for script in page_scripts():
            run = measure_page(script, arguments.reruns)
            results.setdefault(script, []).append(run)
            print(
                f"round {round_index + 1}: {script:<20} first {run['first_seconds']:6.2f} s  "
                f"rerun median {statistics.median(run['rerun_seconds']):.3f} s  peak {run['process_peak_mb']:5.0f} MB  "
                f"load {run['load']:.2f}",
                flush=True,
            )
    print()
    print_table(results, arguments.rows, arguments.reruns)

    if arguments.json is not None:
        arguments.json.write_text(json.dumps({"rows": arguments.rows, "reruns": arguments.reruns, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
