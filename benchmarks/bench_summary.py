"""Time the summary of a synthetic dataset against a DuckDB floor, pandas and Fairlearn.

Run from anywhere::

    python benchmarks/bench_summary.py [--rows N] [--skip-generate] [--out-dir DIR]

The script writes a predictions file and a shuffled metadata file (Parquet),
then runs every measured step in its own subprocess, so that each peak RSS
(``ru_maxrss`` from ``os.wait4``) belongs to that step alone. The numbers each
competitor computes are checked against the engine's before the table is
printed. See benchmarks/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPOSITORY / "benchmarks" / "data"

DEFAULT_ROWS = 10_000_000
COMPARISON_ROWS = 1_000_000
CHUNK_ROWS = 1_000_000
SEED = 20240611

CLASSES = ("class_0", "class_1", "class_2", "class_3", "class_4")
CLASS_SHARES = (0.70, 0.12, 0.08, 0.06, 0.04)
TARGET_ERROR_RATE = 0.15
MAX_ERROR_PROBABILITY = 0.9

# Attribute name and number of distinct values. Values follow a Zipf-like
# distribution (weight 1 / (rank + 1) ** ZIPF_EXPONENT), so slices differ in size.
ATTRIBUTES = (
    ("channel", 2),
    ("age_group", 3),
    ("device", 5),
    ("region", 10),
    ("language", 20),
    ("site", 50),
    ("speaker", 200),
    ("batch", 1000),
)
ZIPF_EXPONENT = 0.7

# Tag column, share of examples carrying it, and the factor it multiplies the error probability by.
TAGS = (
    ("tag_noisy", 0.20, 2.0),
    ("tag_blurry", 0.10, 1.5),
    ("tag_low_light", 0.05, 2.5),
    ("tag_occluded", 0.03, 3.0),
    ("tag_rare_pose", 0.01, 4.0),
    ("tag_duplicate", 0.15, 1.0),
)

# (attribute, value index, error factor): slices that fail more often than the rest.
ATTRIBUTE_EFFECTS = (
    ("device", 4, 2.5),
    ("region", 7, 1.6),
    ("age_group", 2, 1.4),
)

# The engine's slicing defaults (DatasetConfig.max_categories and
# top_categories): a text attribute with more distinct values than
# MAX_CATEGORIES keeps its TOP_CATEGORIES most frequent values and folds the
# rest into OTHER. The pandas and Fairlearn steps apply the same rule so that
# all three compute the same groups; the result check fails if they drift apart.
MAX_CATEGORIES = 50
TOP_CATEGORIES = 20
OTHER = "(other)"

STEPS = ("engine", "cli", "duckdb_join", "pandas", "engine_1m", "fairlearn_1m")

# Targets for the full-size run on a 2-core machine.
TARGET_COMPUTATION_SECONDS = 3.0
TARGET_PROCESS_SECONDS = 5.0
TARGET_PEAK_MB = 1024.0
TARGET_SPEEDUP = 50.0


# ---------------------------------------------------------------- generation


def value_names(attribute: str, count: int) -> list[str]:
    width = len(str(count - 1))
    return [f"{attribute}_{index:0{width}d}" for index in range(count)]


def generate(out_dir: Path, rows: int, seed: int) -> None:
    """Write the full dataset to ``out_dir`` and its first ``COMPARISON_ROWS`` ids to ``out_dir/first_1m``.

    Per-example values are drawn into compact integer codes, about 40 bytes a
    row with the shuffled order. The Parquet files are written from these
    codes in chunks of ``CHUNK_ROWS`` rows, so memory stays far below the
    size of the text the files hold.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    codes = _draw_codes(rng, rows)
    metadata_order = rng.permutation(rows)

    subset_dir = out_dir / "first_1m"
    subset_dir.mkdir(parents=True, exist_ok=True)
    subset_rows = min(rows, COMPARISON_ROWS)

    _write_predictions(out_dir / "predictions.parquet", subset_dir / "predictions.parquet", codes, rows, subset_rows)
    subset_order = metadata_order[metadata_order < subset_rows]
    _write_metadata(out_dir / "metadata.parquet", codes, metadata_order)
    _write_metadata(subset_dir / "metadata.parquet", codes, subset_order)
    _write_dataset_file(out_dir / "dataset.toml", f"Benchmark, {rows:,} synthetic examples")
    _write_dataset_file(subset_dir / "dataset.toml", f"Benchmark, first {subset_rows:,} synthetic examples")


def _draw_codes(rng, rows: int) -> dict:
    """Draw labels, attribute values, tags and errors as integer and boolean arrays indexed by id."""
    import numpy as np

    codes = {
        "label": np.empty(rows, dtype=np.uint8),
        "prediction": np.empty(rows, dtype=np.uint8),
        "attributes": {name: np.empty(rows, dtype=np.uint16) for name, _count in ATTRIBUTES},
        "tags": {name: np.empty(rows, dtype=bool) for name, _share, _factor in TAGS},
    }
    error_factor = np.empty(rows, dtype=np.float32)
    attribute_weights = {}
    for name, count in ATTRIBUTES:
        weights = 1.0 / np.arange(1, count + 1) ** ZIPF_EXPONENT
        attribute_weights[name] = weights / weights.sum()

    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        size = stop - start
        factor = np.ones(size, dtype=np.float32)
        codes["label"][start:stop] = rng.choice(len(CLASSES), size=size, p=CLASS_SHARES)
        for name, count in ATTRIBUTES:
            codes["attributes"][name][start:stop] = rng.choice(count, size=size, p=attribute_weights[name])
        for name, share, tag_factor in TAGS:
            carried = rng.random(size, dtype=np.float32) < share
            codes["tags"][name][start:stop] = carried
            factor[carried] *= tag_factor
        for name, value, value_factor in ATTRIBUTE_EFFECTS:
            factor[codes["attributes"][name][start:stop] == value] *= value_factor
        error_factor[start:stop] = factor

    # Scale the factors so that the mean error probability is close to the target.
    base = TARGET_ERROR_RATE / float(error_factor.mean(dtype=np.float64))
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        size = stop - start
        probability = np.minimum(error_factor[start:stop] * base, MAX_ERROR_PROBABILITY)
        is_error = rng.random(size, dtype=np.float32) < probability
        labels = codes["label"][start:stop]
        shift = rng.integers(1, len(CLASSES), size=size, dtype=np.uint8)
        codes["prediction"][start:stop] = np.where(is_error, (labels + shift) % len(CLASSES), labels)
    return codes


def _text_column(names: list[str], indices):
    import pyarrow as pa

    return pa.array(names, type=pa.string()).take(pa.array(indices))


def _write_predictions(path: Path, subset_path: Path, codes: dict, rows: int, subset_rows: int) -> None:
    """Write predictions in id order, and the first ``subset_rows`` rows also to ``subset_path``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("example_id", pa.int64()), ("label", pa.string()), ("prediction", pa.string())])
    classes = list(CLASSES)
    with pq.ParquetWriter(path, schema) as writer, pq.ParquetWriter(subset_path, schema) as subset_writer:
        for start in range(0, rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, rows)
            table = pa.table(
                {
                    "example_id": pa.array(np.arange(start, stop, dtype=np.int64)),
                    "label": _text_column(classes, codes["label"][start:stop]),
                    "prediction": _text_column(classes, codes["prediction"][start:stop]),
                },
                schema=schema,
            )
            writer.write_table(table)
            if start < subset_rows:
                subset_writer.write_table(table.slice(0, subset_rows - start))


def _write_metadata(path: Path, codes: dict, order) -> None:
    """Write one metadata row per id, in the shuffled ``order``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [("example_id", pa.int64())]
    fields += [(name, pa.string()) for name, _count in ATTRIBUTES]
    fields += [(name, pa.bool_()) for name, _share, _factor in TAGS]
    schema = pa.schema(fields)
    names = {name: value_names(name, count) for name, count in ATTRIBUTES}
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(order), CHUNK_ROWS):
            ids = order[start : start + CHUNK_ROWS]
            columns = {"example_id": pa.array(ids.astype("int64"))}
            for name, _count in ATTRIBUTES:
                columns[name] = _text_column(names[name], codes["attributes"][name][ids])
            for name, _share, _factor in TAGS:
                columns[name] = pa.array(codes["tags"][name][ids])
            writer.write_table(pa.table(columns, schema=schema))


def _write_dataset_file(path: Path, name: str) -> None:
    attributes = ", ".join(f'"{attribute}"' for attribute, _count in ATTRIBUTES)
    tags = ", ".join(f'"{tag}"' for tag, _share, _factor in TAGS)
    path.write_text(
        "schema = 1\n"
        f'name = "{name}"\n'
        'description = "Synthetic data written by benchmarks/bench_summary.py."\n'
        "\n[files]\n"
        'predictions = "predictions.parquet"\n'
        'metadata = "metadata.parquet"\n'
        "\n[columns]\n"
        'id = "example_id"\n'
        'label = "label"\n'
        'prediction = "prediction"\n'
        "\n[tags]\n"
        f"columns = [{tags}]\n"
        "\n[slices]\n"
        f"attributes = [{attributes}]\n",
        encoding="utf-8",
    )


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


# ---------------------------------------------------------------- measured steps (run in a subprocess each)


def _status_mb(field: str) -> float:
    """Return a memory field of /proc/self/status (VmRSS: current RSS, VmHWM: peak RSS) in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return math.nan


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _cpu_seconds() -> float:
    """Return the user + system CPU time of this process and its threads so far, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _engine_checks(summary: dict) -> dict:
    """Extract the numbers that the pandas and Fairlearn steps also compute."""
    return {
        "examples": summary["overall"]["examples"],
        "errors": summary["overall"]["errors"],
        "accuracy": summary["overall"]["accuracy"],
        "classes": {row["label"]: [row["precision"], row["recall"]] for row in summary["classes"]},
        "slices": {f"{row['column']}={row['value']}": [row["count"], row["errors"]] for row in summary["slices"]},
        "tags": {row["tag"]: [row["count"], row["errors"]] for row in summary["tags"]},
    }


def run_engine_step(config_path: Path) -> dict:
    """Time ``load_dataset`` + ``summarize`` inside one Python process, leaving the imports out of the time."""
    sys.path.insert(0, str(REPOSITORY))
    from analysis import load_config, load_dataset, summarize

    rss_before = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    summary = summarize(load_dataset(load_config(config_path)))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu_seconds": _cpu_seconds() - cpu_start, "rss_before_mb": rss_before, "checks": _engine_checks(summary)}


def run_duckdb_join_step(config_path: Path) -> dict:
    """Time a bare DuckDB count of the id join of the two files: the floor for any summary."""
    import duckdb

    folder = config_path.parent
    rss_before = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    connection = duckdb.connect(":memory:")
    count = connection.execute(
        "SELECT count(*) FROM read_parquet(?) AS p JOIN read_parquet(?) AS m ON p.example_id = m.example_id",
        [str(folder / "predictions.parquet"), str(folder / "metadata.parquet")],
    ).fetchone()[0]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu_seconds": _cpu_seconds() - cpu_start, "rss_before_mb": rss_before, "checks": {"examples": count}}


def _fold_rare_values(column):
    """Keep the TOP_CATEGORIES most frequent values of a wide attribute, as the engine does."""
    counts = column.value_counts()
    if len(counts) <= MAX_CATEGORIES:
        return column
    ranked = counts.rename("n").rename_axis("value").reset_index().sort_values(["n", "value"], ascending=[False, True])
    kept_values = set(ranked["value"].head(TOP_CATEGORIES))
    return column.where(column.isin(kept_values), OTHER)


def _read_joined_frame(folder: Path):
    import pandas as pd

    predictions = pd.read_parquet(folder / "predictions.parquet")
    metadata = pd.read_parquet(folder / "metadata.parquet")
    frame = predictions.merge(metadata, on="example_id", how="inner")
    frame["is_error"] = frame["label"] != frame["prediction"]
    return frame


def run_pandas_step(config_path: Path) -> dict:
    """Compute the summary's core numbers with pandas: read, merge on id, group."""
    import pandas  # noqa: F401  (imported before the timer starts, as in the other steps)

    rss_before = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    frame = _read_joined_frame(config_path.parent)
    examples = len(frame)
    errors = int(frame["is_error"].sum())

    confusion = frame.groupby(["label", "prediction"], observed=True).size()
    support = confusion.groupby(level="label").sum()
    predicted = confusion.groupby(level="prediction").sum()
    correct = confusion[[index for index in confusion.index if index[0] == index[1]]].droplevel("prediction")
    classes = {}
    for label in support.index:
        hits = correct.get(label, 0)
        classes[label] = [hits / predicted[label] if predicted.get(label, 0) else math.nan, hits / support[label]]

    slices = {}
    for name, _count in ATTRIBUTES:
        values = _fold_rare_values(frame[name])
        grouped = frame["is_error"].groupby(values, observed=True).agg(["size", "sum"])
        for value, row in grouped.iterrows():
            slices[f"{name}={value}"] = [int(row["size"]), int(row["sum"])]

    tags = {}
    tag_names = [name for name, _share, _factor in TAGS]
    for name in tag_names:
        carried = frame[name]
        tags[name] = [int(carried.sum()), int((carried & frame["is_error"]).sum())]
    untagged = ~frame[tag_names].any(axis=1)
    tags["(untagged)"] = [int(untagged.sum()), int((untagged & frame["is_error"]).sum())]
    seconds = time.perf_counter() - start

    checks = {
        "examples": examples,
        "errors": errors,
        "accuracy": 1 - errors / examples,
        "classes": classes,
        "slices": slices,
        "tags": tags,
    }
    return {"seconds": seconds, "cpu_seconds": _cpu_seconds() - cpu_start, "rss_before_mb": rss_before, "checks": checks}


def run_fairlearn_step(config_path: Path) -> dict:
    """Time Fairlearn's MetricFrame (accuracy), one frame per attribute, on the same groups as the engine.

    ``seconds`` covers reading, joining, folding rare values and the frames.
    ``metric_frame_seconds`` covers the eight MetricFrame constructions alone.
    """
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score

    rss_before = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    frame = _read_joined_frame(config_path.parent)
    features = {name: _fold_rare_values(frame[name]) for name, _count in ATTRIBUTES}

    frames_start = time.perf_counter()
    slices = {}
    for name, values in features.items():
        metric_frame = MetricFrame(
            metrics=accuracy_score, y_true=frame["label"], y_pred=frame["prediction"], sensitive_features=values
        )
        for value, accuracy in metric_frame.by_group.items():
            slices[f"{name}={value}"] = float(accuracy)
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "cpu_seconds": _cpu_seconds() - cpu_start,
        "metric_frame_seconds": end - frames_start,
        "rss_before_mb": rss_before,
        "checks": {"examples": len(frame), "slice_accuracy": slices},
    }


WORKERS = {
    "engine": run_engine_step,
    "duckdb_join": run_duckdb_join_step,
    "pandas": run_pandas_step,
    "fairlearn": run_fairlearn_step,
}


def run_worker(step: str, config_path: Path) -> None:
    result = WORKERS[step](config_path)
    result["vm_hwm_mb"] = _status_mb("VmHWM")
    print(json.dumps(result))


# ---------------------------------------------------------------- driver


@dataclass
class Measurement:
    """One run of a subprocess: wall time, peak RSS, CPU time, contention from other processes, output."""

    seconds: float
    peak_mb: float
    cpu_seconds: float
    others_running: float
    others_running_niced: float
    stdout: str


class _ContentionSampler(threading.Thread):
    """Sample, every ``interval`` seconds, how many threads of other processes are running or runnable.

    The load average cannot tell a busy neighbour from the benchmark itself,
    so this counts tasks in state R under /proc outside this process and the
    measured child. The mean shows how much the step had to share the cores.
    Threads with a positive nice value are also counted apart, because the
    scheduler gives them a smaller share of a core than the measured step.
    """

    def __init__(self, excluded: set[int], interval: float = 0.25):
        super().__init__(daemon=True)
        self.excluded = {str(pid) for pid in excluded}
        self.interval = interval
        self.samples: list[tuple[int, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append(self._count_running())
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> tuple[float, float]:
        """Stop sampling and return the mean counts of other running threads, all and niced (NaN without a sample)."""
        self._stop_event.set()
        self.join()
        if not self.samples:
            return math.nan, math.nan
        return statistics.fmean(s[0] for s in self.samples), statistics.fmean(s[1] for s in self.samples)

    def _count_running(self) -> tuple[int, int]:
        running = 0
        niced = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid in self.excluded:
                continue
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
                for task in tasks:
                    with open(f"/proc/{pid}/task/{task}/stat", encoding="ascii", errors="replace") as stat:
                        # The fields after the command name (in brackets, which may contain
                        # spaces) start with the state. The nice value is the 17th of them.
                        fields = stat.read().rpartition(")")[2].split()
                    if fields[0] == "R":
                        running += 1
                        niced += int(fields[16]) > 0
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue  # the process or thread ended between listing and reading
        return running, niced


def _run_measured(command: list[str]) -> Measurement:
    """Run ``command`` and measure it. Raise RuntimeError with its stderr if it fails.

    ``os.wait4`` returns the resource usage of that one child, so a peak left
    by an earlier step never shows up here. Linux counts in a child's
    ``ru_maxrss`` the RSS of this process at the fork, which is why the data
    generation runs in a subprocess too and this process stays near 20 MB.
    """
    with tempfile.TemporaryFile(mode="w+") as output, tempfile.TemporaryFile(mode="w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=errors, cwd=REPOSITORY, text=True)
        sampler = _ContentionSampler({os.getpid(), process.pid})
        sampler.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        others_running, others_running_niced = sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed with exit code {process.returncode}:\n{errors.read()}")
        output.seek(0)
        return Measurement(
            seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, others_running, others_running_niced, output.read()
        )


def measure_step(step: str, config_path: Path) -> dict:
    """Run one measured step in a fresh subprocess and return its timings, peak RSS and checked numbers."""
    load = os.getloadavg()[0]
    if step == "cli":
        command = [sys.executable, "-m", "analysis", "summary", "--config", str(config_path), "--format", "json"]
        measurement = _run_measured(command)
        result = {"seconds": measurement.seconds, "cpu_seconds": measurement.cpu_seconds}
        result["checks"] = _engine_checks(json.loads(measurement.stdout))
    else:
        worker = {"engine": "engine", "engine_1m": "engine", "duckdb_join": "duckdb_join", "pandas": "pandas", "fairlearn_1m": "fairlearn"}[step]
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker, "--worker-config", str(config_path)]
        measurement = _run_measured(command)
        result = json.loads(measurement.stdout.strip().splitlines()[-1])
    result.update(
        process_seconds=measurement.seconds,
        peak_mb=measurement.peak_mb,
        load=load,
        others_running=measurement.others_running,
        others_running_niced=measurement.others_running_niced,
    )
    return result


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def compare_checks(reference: dict, other: dict, name: str) -> list[str]:
    """Return the differences between the engine's numbers and another step's."""
    problems = []
    for key in ("examples", "errors"):
        if key in other and other[key] != reference[key]:
            problems.append(f"{name}: {key} {other[key]} != engine {reference[key]}")
    if "accuracy" in other and not _close(other["accuracy"], reference["accuracy"]):
        problems.append(f"{name}: accuracy {other['accuracy']} != engine {reference['accuracy']}")
    for section in ("classes", "slices", "tags"):
        if section not in other:
            continue
        if set(other[section]) != set(reference[section]):
            problems.append(f"{name}: {section} keys differ: {sorted(set(other[section]) ^ set(reference[section]))[:5]}")
            continue
        for key, values in other[section].items():
            if not all(_close(float(a), float(b)) for a, b in zip(values, reference[section][key])):
                problems.append(f"{name}: {section} {key} {values} != engine {reference[section][key]}")
    if "slice_accuracy" in other:
        expected = {key: 1 - errors / count for key, (count, errors) in reference["slices"].items()}
        if set(other["slice_accuracy"]) != set(expected):
            problems.append(f"{name}: slice groups differ from the engine's")
        for key, accuracy in other["slice_accuracy"].items():
            if key in expected and not _close(accuracy, expected[key]):
                problems.append(f"{name}: accuracy of {key} {accuracy} != engine {expected[key]}")
    return problems


def _describe(step: str, rows: int, subset_rows: int) -> str:
    return {
        "engine": f"engine: load_dataset + summarize, {rows:,} rows",
        "cli": f"CLI process: summary --format json, {rows:,} rows",
        "duckdb_join": f"DuckDB count of the id join, {rows:,} rows",
        "pandas": f"pandas: read, merge, same numbers, {rows:,} rows",
        "engine_1m": f"engine: load_dataset + summarize, {subset_rows:,} rows",
        "fairlearn_1m": f"Fairlearn: read, merge, 8 MetricFrames, {subset_rows:,} rows",
    }[step]


def print_table(results: dict[str, list[dict]], rows: int, subset_rows: int) -> None:
    """Print a Markdown table of wall time, CPU time, peak RSS and the contention each step met."""
    print(
        "| step | wall s (median) | wall s (min) | CPU s (median) | peak RSS MB (max) "
        "| load at start (max) | other running threads (mean) | of which niced |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for step, runs in results.items():
        seconds = [run["seconds"] for run in runs]
        cpu = [run["cpu_seconds"] for run in runs]
        peak = max(run["peak_mb"] for run in runs)
        load = max(run["load"] for run in runs)
        others = statistics.fmean(run["others_running"] for run in runs)
        niced = statistics.fmean(run["others_running_niced"] for run in runs)
        print(
            f"| {_describe(step, rows, subset_rows)} | {statistics.median(seconds):.2f} | {min(seconds):.2f} "
            f"| {statistics.median(cpu):.2f} | {peak:.0f} | {load:.2f} | {others:.2f} | {niced:.2f} |"
        )
        if step == "fairlearn_1m":
            frames = [run["metric_frame_seconds"] for run in runs]
            print(f"| of which the 8 MetricFrame constructions | {statistics.median(frames):.2f} | {min(frames):.2f} | | | | | |")
    print()


def report_targets(results: dict[str, list[dict]], rows: int) -> None:
    """Print each target with the measured value and whether it is met."""
    def median(step: str, key: str = "seconds") -> float:
        return statistics.median(run[key] for run in results[step])

    lines = []
    if rows != DEFAULT_ROWS:
        lines.append(f"(targets are set for {DEFAULT_ROWS:,} rows; this run has {rows:,})")
    if "engine" in results:
        value = median("engine")
        lines.append(f"computation under {TARGET_COMPUTATION_SECONDS:.0f} s: {value:.2f} s, {'met' if value < TARGET_COMPUTATION_SECONDS else 'missed'}")
    if "cli" in results:
        value = median("cli")
        lines.append(f"whole process under {TARGET_PROCESS_SECONDS:.0f} s: {value:.2f} s, {'met' if value < TARGET_PROCESS_SECONDS else 'missed'}")
        peak = max(run["peak_mb"] for run in results["cli"])
        lines.append(f"peak memory under {TARGET_PEAK_MB:.0f} MB (CLI process): {peak:.0f} MB, {'met' if peak < TARGET_PEAK_MB else 'missed'}")
    if "engine_1m" in results and "fairlearn_1m" in results:
        engine = median("engine_1m")
        frames = median("fairlearn_1m", "metric_frame_seconds")
        total = median("fairlearn_1m")
        lines.append(
            f"at least {TARGET_SPEEDUP:.0f}x faster than MetricFrame: {frames / engine:.1f}x against the MetricFrames alone, "
            f"{total / engine:.1f}x against read + merge + MetricFrames, {'met' if frames / engine >= TARGET_SPEEDUP else 'missed'}"
        )
    for line in lines:
        print(line)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the summary of a synthetic dataset against DuckDB, pandas and Fairlearn.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"rows of the generated dataset (default {DEFAULT_ROWS:,})")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the files already in --out-dir")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="folder for the generated files (default benchmarks/data)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step, each in a new process (default 3)")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated steps to run (default all: {','.join(STEPS)})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed of the generated data (default {SEED})")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this JSON file")
    parser.add_argument("--worker", choices=[*sorted(WORKERS), "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker is None:
        if arguments.rows < 1:
            parser.error(f"--rows must be at least 1, got {arguments.rows}")
        if arguments.repeat < 1:
            parser.error(f"--repeat must be at least 1, got {arguments.repeat}")
        unknown = set(arguments.steps.split(",")) - set(STEPS)
        if unknown:
            parser.error(f"unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    return arguments


def _check_existing_files(out_dir: Path, rows: int) -> None:
    for folder in (out_dir, out_dir / "first_1m"):
        for name in ("predictions.parquet", "metadata.parquet", "dataset.toml"):
            if not (folder / name).is_file():
                sys.exit(f"error: {folder / name} not found; run without --skip-generate to write it")
    found = parquet_rows(out_dir / "predictions.parquet")
    if found != rows:
        sys.exit(f"error: {out_dir / 'predictions.parquet'} has {found:,} rows but --rows is {rows:,}; pass --rows {found} or run without --skip-generate")


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.worker == "generate":
        generate(arguments.worker_config, arguments.rows, arguments.seed)
        return 0
    if arguments.worker is not None:
        run_worker(arguments.worker, arguments.worker_config)
        return 0

    out_dir = arguments.out_dir.resolve()
    rows = arguments.rows
    subset_rows = min(rows, COMPARISON_ROWS)
    if arguments.skip_generate:
        _check_existing_files(out_dir, rows)
    else:
        print(f"Writing {rows:,} rows to {out_dir} (seed {arguments.seed}) ...", flush=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        # A subprocess, so that this process stays small: see _run_measured.
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "generate", "--worker-config", str(out_dir)]
        command += ["--rows", str(rows), "--seed", str(arguments.seed)]
        measurement = _run_measured(command)
        print(f"Wrote the files in {measurement.seconds:.1f} s, peak RSS {measurement.peak_mb:.0f} MB", flush=True)

    configs = {
        "engine": out_dir / "dataset.toml",
        "cli": out_dir / "dataset.toml",
        "duckdb_join": out_dir / "dataset.toml",
        "pandas": out_dir / "dataset.toml",
        "engine_1m": out_dir / "first_1m" / "dataset.toml",
        "fairlearn_1m": out_dir / "first_1m" / "dataset.toml",
    }
    steps = [step for step in STEPS if step in arguments.steps.split(",")]
    results: dict[str, list[dict]] = {}
    # Rounds run every step once, so a burst of load from elsewhere hits one run of each step, not every run of one.
    for round_index in range(arguments.repeat):
        for step in steps:
            run = measure_step(step, configs[step])
            results.setdefault(step, []).append(run)
            print(
                f"round {round_index + 1}: {step:<13} {run['seconds']:7.2f} s  peak {run['peak_mb']:6.0f} MB  "
                f"load {run['load']:.2f}  other running threads {run['others_running']:.2f} "
                f"({run['others_running_niced']:.2f} niced)",
                flush=True,
            )
    print()

    problems = []
    for step, reference_step in (("cli", "engine"), ("duckdb_join", "engine"), ("pandas", "engine"), ("fairlearn_1m", "engine_1m")):
        if step in results and reference_step in results:
            problems += compare_checks(results[reference_step][0]["checks"], results[step][0]["checks"], step)
    print_table(results, rows, subset_rows)
    report_targets(results, rows)
    if problems:
        print("\nThe steps disagree with the engine on these numbers:")
        for problem in problems[:20]:
            print(f"  {problem}")
    elif len(results) > 1:
        print("\nEvery compared step computed the same numbers as the engine.")

    if arguments.json is not None:
        for runs in results.values():
            for run in runs:
                run.pop("checks", None)
        arguments.json.write_text(json.dumps({"rows": rows, "comparison_rows": subset_rows, "results": results}, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
