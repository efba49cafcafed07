"""The sample datasets read with pandas alone, as the independent side of the browser tests' checks.

Nothing here goes through the engine: the files are read and joined as the
dataset files describe them, so a number the dashboard shows can be compared
with one computed from the files.
"""

from __future__ import annotations

import pandas as pd
from dashboard_server import REPO_ROOT

SAMPLE_DATA = REPO_ROOT / "sample_data"
SPEECH = "speech_commands"
SPEECH_TAGS = ["car_noise", "people_noise", "low_bandwidth"]
SCREENING = "screening"
SCREENING_POSITIVE = "covid"


def speech_examples() -> pd.DataFrame:
    """The speech commands examples that have both a prediction and metadata, with tag flags and ``is_error``."""
    predictions = pd.read_csv(SAMPLE_DATA / SPEECH / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SAMPLE_DATA / SPEECH / "metadata.csv", dtype=str)
    examples = predictions.merge(metadata, on="example_id", how="inner")
    examples = examples.dropna(subset=["true_label", "pred_label"])
    for tag in SPEECH_TAGS:
        examples[tag] = examples[tag].str.strip().str.lower().eq("true")
    examples["is_error"] = examples["true_label"] != examples["pred_label"]
    return examples


def speech_hlp() -> dict[str, float]:
    """Human-level accuracy per tag, from the HLP file of the speech commands sample."""
    hlp = pd.read_csv(SAMPLE_DATA / SPEECH / "hlp.csv")
    return dict(zip(hlp["tag"], hlp["hlp"].astype(float), strict=True))


def screening_examples() -> pd.DataFrame:
    """The screening examples that have both a prediction and metadata."""
    predictions = pd.read_parquet(SAMPLE_DATA / SCREENING / "predictions.parquet")
    metadata = pd.read_parquet(SAMPLE_DATA / SCREENING / "metadata.parquet")
    return predictions.merge(metadata, on="example_id", how="inner")
