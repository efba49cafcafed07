"""Helpers shared by the AppTest tests of the Tags and What-if pages."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.data import DATA_ROOT_VARIABLE, DEMO_VARIABLE, WORKSPACE_VARIABLE

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
SAMPLE_NAMES = sorted(path.parent.name for path in SAMPLE_DATA.glob("*/dataset.toml"))
COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"
TAGS_PAGE = "pages/2_Tags.py"
WHAT_IF_PAGE = "pages/3_What_if.py"

COMPAS_TOML = (
    'schema = 1\nname = "COMPAS two-year recidivism"\n\n'
    '[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n\n'
    '[task]\npositive_class = "1"\n'
)


def isolate_settings(monkeypatch, workspace: Path) -> None:
    """Run the pages on the sample data, outside demo mode, with the workspace in ``workspace``."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)
    monkeypatch.delenv(DEMO_VARIABLE, raising=False)
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(workspace))


def run(page: str, dataset: str, **parameters: str | list[str]) -> AppTest:
    """Run ``page`` on ``dataset`` with the query ``parameters`` and return the finished AppTest."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["dataset"] = dataset
    for name, value in parameters.items():
        app.query_params[name] = value
    app.switch_page(page)
    return app.run()


def copy_compas(root: Path) -> Path:
    """Copy the COMPAS files under ``root`` with a dataset file, or skip when they are missing."""
    if not (COMPAS / "predictions.csv").is_file() or not (COMPAS / "metadata.csv").is_file():
        pytest.skip(f"the COMPAS files are not in {COMPAS}")
    folder = root / "compas"
    folder.mkdir(parents=True)
    shutil.copy(COMPAS / "predictions.csv", folder)
    shutil.copy(COMPAS / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(COMPAS_TOML, encoding="utf-8")
    return folder


def dataset_folder(name: str, tmp_path: Path, monkeypatch) -> Path:
    """Return the folder of a sample dataset, or of a COMPAS copy made the data root."""
    if name != "compas":
        return SAMPLE_DATA / name
    folder = copy_compas(tmp_path / "data")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(folder.parent))
    return folder


def shown_points(fraction: float | None) -> float | None:
    """Return a difference of fractions in points as a table shows it: NaN when undefined, 0 under 0.05."""
    if fraction is None or math.isnan(fraction):
        return float("nan")
    value = 100 * fraction
    return 0.0 if abs(value) < 0.05 else value


def percent_text(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"
