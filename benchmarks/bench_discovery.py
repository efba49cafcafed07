"""Time slice discovery against the ``sliceline`` package on the same synthetic data.

Run from anywhere::

    python benchmarks/bench_discovery.py [--rows 1000000,10000000] [--levels 2,3] [--steps engine,sliceline]

The data is the one of ``bench_summary.py`` (8 categorical attributes with
2 to 1000 values, 6 boolean tags), written to ``--out-dir`` unless it is
already there. Each measured run is a subprocess with an address-space limit
(``--memory-limit-gb``) and a timeout (``--timeout``). A run that fails, runs
out of memory or times out is recorded as such, and the next one starts.

Both sides search the same predicates: the engine's slice values (the two
widest attributes folded to their 20 most frequent values plus ``(other)``)
and each tag present or absent, with the same alpha, minimum support, number
of slices and maximum number of predicates. Both times include reading and
joining the two Parquet files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
sys.path.insert(0, str(HERE))

import bench_summary  # the data generator, beside this file

DEFAULT_OUT_DIR = REPOSITORY / "benchmarks" / "data"
ALPHA = 0.95
TOP = 10
# The minimum support is this share of the rows, as SliceLine's own experiments choose it.
MIN_SUPPORT_SHARE = 0.001


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(folder: Path, max_predicates: int) -> dict:
    """Open the dataset and run discovery in-process; the imports are left out of the time."""
    sys.path.insert(0, str(REPOSITORY))
    from analysis import load_config, load_dataset
    from analysis.discovery import DiscoverySettings, discover_slices

    start = time.perf_counter()
    dataset = load_dataset(load_config(folder / "dataset.toml"))
    opened = time.perf_counter()
    settings = DiscoverySettings(
        max_predicates=max_predicates,
        min_support=max(1, int(MIN_SUPPORT_SHARE * dataset.counts.total)),
        top=TOP,
        alpha=ALPHA,
        tag_absent=True,
    )
    result = discover_slices(dataset, settings)
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "search_seconds": end - opened,
        "evaluated": result.candidates_evaluated,
        "best": [[c.describe(), round(c.score, 9)] for c in result.ranked[:3]],
    }


def run_sliceline(folder: Path, max_predicates: int) -> dict:
    """Read and join the files with pandas, fold wide attributes as the engine does, then fit SliceLine."""
    import numpy as np
    from sliceline.slicefinder import Slicefinder

    start = time.perf_counter()
    frame = bench_summary._read_joined_frame(folder)
    columns = {}
    for name, _count in bench_summary.ATTRIBUTES:
        columns[name] = bench_summary._fold_rare_values(frame[name]).astype(str).to_numpy()
    for name, _share, _factor in bench_summary.TAGS:
        columns[name] = np.where(frame[name].to_numpy(), "true", "false")
    errors = frame["is_error"].to_numpy(dtype=float)
    matrix = np.column_stack(list(columns.values()))
    del frame
    prepared = time.perf_counter()
    finder = Slicefinder(alpha=ALPHA, k=TOP, max_l=max_predicates, min_sup=max(1, int(MIN_SUPPORT_SHARE * len(errors))), verbose=False)
    finder.fit(matrix, errors)
    end = time.perf_counter()
    names = list(columns)
    best = []
    for values, statistics in zip(finder.top_slices_[:3], finder.top_slices_statistics_[:3]):
        parts = [f"{names[i]} = {value}" for i, value in enumerate(values) if value is not None]
        best.append([" and ".join(parts), round(float(statistics["slice_score"]), 9)])
    return {"seconds": end - start, "search_seconds": end - prepared, "best": best}


WORKERS = {"engine": run_engine, "sliceline": run_sliceline}


def measure(step: str, folder: Path, max_predicates: int, memory_limit_gb: float, timeout: float) -> dict:
    """Run one step in a subprocess under an address-space limit and a timeout; return what happened."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", step, "--worker-folder", str(folder), "--worker-level", str(max_predicates)]
    command += ["--memory-limit-gb", str(memory_limit_gb)]
    with tempfile.TemporaryFile(mode="w+") as output, tempfile.TemporaryFile(mode="w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=errors, cwd=REPOSITORY, text=True)
        deadline = start + timeout
        status = None
        usage = None
        while time.perf_counter() < deadline:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.2)
        else:
            process.kill()
            _pid, status, usage = os.wait4(process.pid, 0)
            return {"status": f"timed out after {timeout:.0f} s", "peak_mb": usage.ru_maxrss / 1024}
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        output.seek(0)
        errors.seek(0)
        if code != 0:
            message = errors.read().strip().splitlines()
            out_of_memory = any("MemoryError" in line or "Out of Memory" in line or "bad_alloc" in line for line in message)
            return {
                "status": "out of memory" if out_of_memory else f"failed (exit code {code})",
                "detail": message[-1] if message else "",
                "peak_mb": usage.ru_maxrss / 1024,
                "process_seconds": wall,
            }
        result = json.loads(output.read().strip().splitlines()[-1])
        result.update(status="ok", peak_mb=usage.ru_maxrss / 1024, process_seconds=wall)
        return result


def ensure_data(out_dir: Path, rows: int) -> Path:
    """Return the folder holding ``rows`` rows, writing the data with bench_summary's generator when missing."""
    folder = out_dir if rows > bench_summary.COMPARISON_ROWS else out_dir / "first_1m"
    if (folder / "dataset.toml").is_file() and bench_summary.parquet_rows(folder / "predictions.parquet") == rows:
        return folder
    if rows not in (bench_summary.COMPARISON_ROWS, bench_summary.DEFAULT_ROWS) and rows <= bench_summary.COMPARISON_ROWS:
        raise SystemExit(f"--rows {rows}: use 1000000 or 10000000, the sizes the generator writes")
    total = max(rows, bench_summary.COMPARISON_ROWS)
    print(f"Writing {total:,} rows to {out_dir} ...", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "bench_summary.py"), "--worker", "generate", "--worker-config", str(out_dir), "--rows", str(total)],
        check=True,
    )
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000", help="comma-separated row counts: 1000000 and/or 10000000 (default both)")
    parser.add_argument("--levels", default="2,3", help="comma-separated maximum numbers of predicates (default 2,3)")
    parser.add_argument("--steps", default="engine,sliceline", help="comma-separated subset of engine,sliceline (default both)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="folder of the generated files (default benchmarks/data)")
    parser.add_argument("--memory-limit-gb", type=float, default=16.0, help="address-space limit of each run, in GiB (default 16)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="time limit of each run, in seconds (default 1800)")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this JSON file")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-level", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    if arguments.worker:
        # The worker limits its own address space, so an allocation beyond it fails with MemoryError.
        limit = int(arguments.memory_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result = WORKERS[arguments.worker](arguments.worker_folder, arguments.worker_level)
        result["vm_hwm_mb"] = _peak_mb()
        print(json.dumps(result))
        return 0

    results = []
    for rows in (int(text) for text in arguments.rows.split(",")):
        folder = ensure_data(arguments.out_dir.resolve(), rows)
        for level in (int(text) for text in arguments.levels.split(",")):
            for step in arguments.steps.split(","):
                run = measure(step, folder, level, arguments.memory_limit_gb, arguments.timeout)
                run.update(step=step, rows=rows, max_predicates=level)
                results.append(run)
                seconds = f"{run['seconds']:8.2f} s" if run["status"] == "ok" else f"{run['status']:>10}"
                print(f"{step:<10} rows {rows:>10,}  max predicates {level}  {seconds}  peak {run['peak_mb']:7.0f} MB  best {run.get('best', [''])[:1]}", flush=True)
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
