"""Opening your own files in headless Chromium: the two COMPAS files through the sidebar's upload form.

The files go through the browser's file inputs, as a user picks them. The
server keeps the upload in a temporary folder of its own, so the shared
dashboard serves the other tests unchanged. Skipped when the COMPAS files are
not on this machine.
"""

from __future__ import annotations

import pandas as pd
import pytest

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip("playwright", reason="playwright is not installed: pip install -r requirements-dev.txt")

from dashboard_server import REPO_ROOT
from dashboard_ui import metric_value, open_page, sidebar
from playwright.sync_api import Page, expect
from sample_tables import SPEECH

COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"
COMPAS_FILES = ("predictions.csv", "metadata.csv")
# The column mapping the form proposes for the COMPAS predictions file.
COMPAS_MAPPING = {"Id column": "example_id", "Label column": "true_label", "Prediction column": "pred_label"}
# An opening that only exists in the session that uploaded the files.
UPLOAD_NOTICE = "cannot be shared by link"


@pytest.fixture
def compas_files() -> list[str]:
    missing = [name for name in COMPAS_FILES if not (COMPAS / name).is_file()]
    if missing:
        pytest.skip(f"the COMPAS files {', '.join(missing)} are not in {COMPAS}")
    return [str(COMPAS / name) for name in COMPAS_FILES]


def compas_examples() -> pd.DataFrame:
    """The COMPAS predictions that have metadata, joined on the id column with pandas."""
    predictions = pd.read_csv(COMPAS / "predictions.csv", dtype=str)
    metadata = pd.read_csv(COMPAS / "metadata.csv", dtype=str)
    return predictions.merge(metadata, on=COMPAS_MAPPING["Id column"], how="inner")


def test_browser_opens_compas_upload(page: Page, dashboard, compas_files):
    predictions, metadata = compas_files
    examples = compas_examples()
    accuracy = (examples[COMPAS_MAPPING["Label column"]] == examples[COMPAS_MAPPING["Prediction column"]]).mean()
    open_page(page, dashboard.url(f"/?dataset={SPEECH}"))

    sidebar(page).get_by_text("Open your own files").click()
    inputs = sidebar(page).get_by_test_id("stFileUploader").locator('input[type="file"]')
    expect(inputs).to_have_count(2)
    inputs.nth(0).set_input_files(predictions)
    # The column mapping appears once the predictions file is read; its metadata columns once that file is.
    expect(page.get_by_text("What the columns mean")).to_be_visible()
    inputs.nth(1).set_input_files(metadata)
    expect(page.get_by_text("tag_juvenile_record")).to_be_visible()
    for label, column in COMPAS_MAPPING.items():
        expect(sidebar(page).get_by_role("combobox", name=label, exact=True)).to_have_value(column)
    page.get_by_role("button", name="Open these files").click()

    expect(page.get_by_text(UPLOAD_NOTICE)).to_be_visible(timeout=60_000)
    # 7,214 on the files of the ProPublica analysis.
    expect(metric_value(page, "Examples")).to_have_text(f"{len(examples):,}")
    expect(metric_value(page, "Accuracy")).to_have_text(f"{100 * accuracy:.1f}%")
    assert "dataset=" not in page.url
    expect(page.get_by_test_id("stException")).to_have_count(0)
