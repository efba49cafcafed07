"""Time tag edits on a generated dataset: storing them, reading them back and counting with them.

Run from anywhere::

    python benchmarks/bench_tags.py [--rows N] [--tagged N] [--skip-generate]

The data comes from the generator of ``bench_summary.py`` (1 million rows by
default, 6 file tags). One edit adds a new tag to ``--tagged`` examples and a
second removes a file tag from a tenth of them, as a tagging session would
after "select all matching". The script times each workspace step and the
summary with and without the edits, and counts the same tags with pandas (a
merge of the file tags with the edits) to check the engine's numbers. Each
line shows the peak RSS of this process so far.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_summary

REPOSITORY = bench_summary.REPOSITORY
DEFAULT_OUT_DIR = REPOSITORY / "benchmarks" / "data" / "tags"
DATASET = "synthetic"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tagged", type=int, default=100_000, help="examples given the new tag in one edit")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--seed", type=int, default=20240611)
    arguments = parser.parse_args()

    sys.path.insert(0, str(REPOSITORY))
    import numpy as np
    import pandas as pd

    from analysis import load_config, load_dataset, summarize
    from analysis.tag_overlay import apply_tag_edits
    from analysis.workspace import Workspace

    folder = arguments.out_dir / DATASET
    if not arguments.skip_generate:
        start = time.perf_counter()
        bench_summary.generate(folder, arguments.rows, arguments.seed)
        print(f"generated {arguments.rows:,} rows in {time.perf_counter() - start:.1f} s")

    def step(name: str, action):
        start = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - start
        print(f"{name:<46} {seconds:8.3f} s   peak RSS {bench_summary._status_mb('VmHWM'):7.0f} MB")
        return result

    dataset = step("open the dataset", lambda: load_dataset(load_config(folder)))
    file_tags = dataset.file_tag_names
    rng = np.random.default_rng(arguments.seed)
    ids = rng.choice(arguments.rows, size=arguments.tagged, replace=False)
    removed = ids[: arguments.tagged // 10]

    with tempfile.TemporaryDirectory() as workspace_folder:
        workspace = Workspace(Path(workspace_folder), user="benchmark")
        step(f"store: add a tag to {arguments.tagged:,} examples", lambda: workspace.set_tag(DATASET, "new_tag", ids.tolist(), True, file_tags))
        step(f"store: remove {file_tags[0]} from {len(removed):,}", lambda: workspace.set_tag(DATASET, file_tags[0], removed.tolist(), False, file_tags))
        edits = step("read the edits", lambda: workspace.tag_edits(DATASET))
        overlaid = step("lay the edits over the file tags", lambda: apply_tag_edits(dataset, edits))
        plain = step("summary without edits", lambda: summarize(dataset))
        edited = step("summary with edits", lambda: summarize(overlaid))
        step("undo both edits", lambda: (workspace.undo(DATASET), workspace.undo(DATASET)))

    def pandas_counts() -> dict[str, int]:
        metadata = pd.read_parquet(folder / "metadata.parquet", columns=["example_id", *file_tags])
        metadata = metadata.set_index("example_id")
        metadata["new_tag"] = False
        metadata.loc[ids, "new_tag"] = True
        metadata.loc[removed, file_tags[0]] = False
        return {tag: int(metadata[tag].sum()) for tag in [*file_tags, "new_tag"]}

    expected = step("pandas: the same tag counts", pandas_counts)
    counted = {row["tag"]: row["count"] for row in edited["tags"] if row["tag"] in expected}
    unchanged = {row["tag"]: row["count"] for row in plain["tags"]}
    print(f"tag counts equal to pandas: {counted == expected}")
    print(f"{file_tags[0]}: {unchanged[file_tags[0]]:,} examples in the files, {counted[file_tags[0]]:,} with the edits")
    return 0 if counted == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
