"""Shared fixtures: dataset paths, a writer of small datasets, and the oracle of :mod:`oracle`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from analysis.config import DatasetConfig, load_config
from oracle import (
    REAL_DATA_DIR,
    REPO_ROOT,
    SAMPLE_DATA_DIR,
    SAMPLE_DATASETS,
    read_expected,
    write_dataset_files,
)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_dataset_dirs() -> dict[str, Path]:
    """Folders of the sample datasets, each holding a dataset.toml."""
    return {name: SAMPLE_DATA_DIR / name for name in SAMPLE_DATASETS}


@pytest.fixture(scope="session")
def dataset_config():
    """Return a function giving the DatasetConfig of a sample or real dataset by name.

    Real datasets have no dataset file: their columns are found by the common
    names. The test is skipped when a real dataset's folder is missing.
    """

    def config_for(name: str) -> DatasetConfig:
        if name in SAMPLE_DATASETS:
            return load_config(SAMPLE_DATA_DIR / name)
        folder = REAL_DATA_DIR / name
        if not folder.is_dir():
            pytest.skip(f"real dataset folder {folder} not found beside the repository clone")
        return DatasetConfig(predictions=folder / "predictions.csv", metadata=folder / "metadata.csv")

    return config_for


@pytest.fixture
def write_dataset(tmp_path):
    """Return a function writing a predictions/metadata pair under tmp_path.

    The function takes the arguments of :func:`write_dataset_files` after ``folder``.
    """
    numbers = itertools.count()

    def write(predictions: pd.DataFrame, metadata: pd.DataFrame | None = None, **options) -> DatasetConfig:
        return write_dataset_files(tmp_path / f"dataset{next(numbers)}", predictions, metadata, **options)

    return write


@pytest.fixture(scope="session")
def write_generated_dataset(tmp_path_factory):
    """Like write_dataset, but session-scoped with a new folder per call, as hypothesis tests need."""

    def write(predictions: pd.DataFrame, metadata: pd.DataFrame | None = None, **options) -> DatasetConfig:
        return write_dataset_files(tmp_path_factory.mktemp("generated"), predictions, metadata, **options)

    return write


@pytest.fixture(scope="session")
def expected_from_files():
    """Return :func:`read_expected`, the oracle's entry point."""
    return read_expected
