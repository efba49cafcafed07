"""Time the summary of the generated 10-million-row dataset on DuckDB and on a local Spark session.

Run from anywhere::

    python benchmarks/bench_spark.py [--rows N] [--skip-generate] [--out-dir DIR] [--master local[2]]

The data is the same as bench_summary.py writes (the script imports its
generator), so both scripts can share ``benchmarks/data``. Each measured step
runs in its own subprocess. For DuckDB the peak memory is that process's peak
RSS. For Spark it is the Python process's peak RSS plus the peak RSS of the
Java process that pyspark starts, read from /proc before the session stops.
The two summaries are compared number by number before the table is printed.
See benchmarks/README.md for results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

import bench_summary  # noqa: E402  (the generator and the measuring helpers of the summary benchmark)

REPOSITORY = BENCHMARKS.parent
STEPS = ("duckdb", "spark")
DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "4g"


def _descendants(pid: int) -> list[int]:
    """Return the ids of every process below ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _peak_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def run_duckdb_step(config_path: Path, _master: str, _memory: str) -> dict:
    """Time opening the dataset and computing its summary on DuckDB, imports left out."""
    sys.path.insert(0, str(REPOSITORY))
    from analysis import load_config, load_dataset, summarize

    start = time.perf_counter()
    summary = summarize(load_dataset(load_config(config_path)))
    return {"seconds": time.perf_counter() - start, "startup_seconds": 0.0, "summary": summary}


def run_spark_step(config_path: Path, master: str, memory: str) -> dict:
    """Time the same on a local Spark session; the session's start is timed apart."""
    sys.path.insert(0, str(REPOSITORY))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    import dataclasses

    from analysis import load_config, load_dataset, summarize
    from analysis.engine import EngineSettings, open_engine

    settings = EngineSettings(
        kind="spark",
        master=master,
        config={"spark.driver.memory": memory, "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"},
    )
    started = time.perf_counter()
    engine = open_engine(settings)
    engine.rows("SELECT 1")
    startup = time.perf_counter() - started
    config = dataclasses.replace(load_config(config_path), engine=settings)
    start = time.perf_counter()
    summary = summarize(load_dataset(config, engine))
    seconds = time.perf_counter() - start
    java_peak = sum(_peak_mb(pid) for pid in _descendants(os.getpid()))
    return {"seconds": seconds, "startup_seconds": startup, "summary": summary, "java_peak_mb": java_peak}


WORKERS = {"duckdb": run_duckdb_step, "spark": run_spark_step}


def _numbers(value, path: str = "") -> dict[str, float]:
    """Flatten the numbers of a summary into {path: value}, for comparing two of them."""
    found: dict[str, float] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(_numbers(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_numbers(item, f"{path}[{index}]"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found[path] = float(value)
    return found


def compare(duckdb_summary: dict, spark_summary: dict) -> list[str]:
    left, right = _numbers(duckdb_summary), _numbers(spark_summary)
    problems = [f"{path}: only in one summary" for path in sorted(set(left) ^ set(right))]
    for path in sorted(set(left) & set(right)):
        a, b = left[path], right[path]
        if not (math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))):
            problems.append(f"{path}: {a!r} on DuckDB, {b!r} on Spark")
    return problems


def measure(step: str, config_path: Path, master: str, memory: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", step, "--worker-config", str(config_path)]
    command += ["--master", master, "--driver-memory", memory]
    measurement = bench_summary._run_measured(command)
    result = json.loads(measurement.stdout.strip().splitlines()[-1])
    result.update(process_seconds=measurement.seconds, python_peak_mb=measurement.peak_mb, others_running=measurement.others_running)
    result["peak_mb"] = result["python_peak_mb"] + result.get("java_peak_mb", 0.0)
    return result


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the summary of a synthetic dataset on DuckDB and on local Spark.")
    parser.add_argument("--rows", type=int, default=bench_summary.DEFAULT_ROWS, help="rows of the generated dataset (default 10,000,000)")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the files already in --out-dir")
    parser.add_argument("--out-dir", type=Path, default=bench_summary.DEFAULT_OUT_DIR, help="folder for the generated files (default benchmarks/data)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step, each in a new process (default 1)")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps to run (default: duckdb,spark)")
    parser.add_argument("--master", default=DEFAULT_MASTER, help=f"Spark master of the spark step (default {DEFAULT_MASTER})")
    parser.add_argument("--driver-memory", default=DEFAULT_DRIVER_MEMORY, help=f"Spark driver memory (default {DEFAULT_DRIVER_MEMORY})")
    parser.add_argument("--seed", type=int, default=bench_summary.SEED, help="random seed of the generated data")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.worker is not None:
        result = WORKERS[arguments.worker](arguments.worker_config, arguments.master, arguments.driver_memory)
        result["python_vm_hwm_mb"] = bench_summary._status_mb("VmHWM")
        print(json.dumps(result))
        return 0

    out_dir = arguments.out_dir.resolve()
    if arguments.skip_generate:
        bench_summary._check_existing_files(out_dir, arguments.rows)
    else:
        print(f"Writing {arguments.rows:,} rows to {out_dir} (seed {arguments.seed}) ...", flush=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        # A subprocess, so that this process stays small: a child's peak RSS counts this process's RSS at the fork.
        command = [sys.executable, str(BENCHMARKS / "bench_summary.py"), "--worker", "generate", "--worker-config", str(out_dir)]
        command += ["--rows", str(arguments.rows), "--seed", str(arguments.seed)]
        measurement = bench_summary._run_measured(command)
        print(f"Wrote the files in {measurement.seconds:.1f} s, peak RSS {measurement.peak_mb:.0f} MB", flush=True)

    config_path = out_dir / "dataset.toml"
    steps = [step for step in STEPS if step in arguments.steps.split(",")]
    results: dict[str, list[dict]] = {}
    for round_index in range(arguments.repeat):
        for step in steps:
            run = measure(step, config_path, arguments.master, arguments.driver_memory)
            results.setdefault(step, []).append(run)
            print(
                f"round {round_index + 1}: {step:<7} summary {run['seconds']:7.2f} s  session start {run['startup_seconds']:5.1f} s  "
                f"process {run['process_seconds']:7.2f} s  peak {run['peak_mb']:6.0f} MB  other running threads {run['others_running']:.2f}",
                flush=True,
            )

    problems = []
    if "duckdb" in results and "spark" in results:
        problems = compare(results["duckdb"][0]["summary"], results["spark"][0]["summary"])
    print()
    print(f"| engine | summary (s) | session start (s) | whole process (s) | peak memory (MB) |  rows: {arguments.rows:,}")
    print("| --- | ---: | ---: | ---: | ---: |")
    for step, runs in results.items():
        best = min(runs, key=lambda run: run["seconds"])
        label = "DuckDB" if step == "duckdb" else f"Spark {arguments.master}"
        print(f"| {label} | {best['seconds']:.2f} | {best['startup_seconds']:.1f} | {best['process_seconds']:.2f} | {best['peak_mb']:.0f} |")
    if problems:
        print("\nThe summaries differ:\n" + "\n".join(problems[:20]), file=sys.stderr)
        return 1
    if "duckdb" in results and "spark" in results:
        print("\nEvery number of the two summaries is equal (within 1e-9).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
