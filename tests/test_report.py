"""The HTML report (analysis.report) and the report command, against pandas, scikit-learn and scipy.

Every number is read back from the file (``data-value`` attributes and the
figures' JSON) and compared with the oracle of oracle.py, which recomputes it
from the raw files. The file must embed plotly.js once and reference nothing
on the network.
"""

from __future__ import annotations

import dataclasses
import datetime
import gettext
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.offline
import pytest
from oracle import REAL_DATA_DIR, REPO_ROOT, SAMPLE_DATA_DIR, UNTAGGED, wilson_bounds
from report_page import ReportPage, read_report
from streamlit.testing.v1 import AppTest
from workspace_pages import isolate_settings

from analysis import load_config, load_dataset
from analysis.config import DatasetConfig
from analysis.filters import parse_filter
from analysis.i18n import using
from analysis.report import WORST_SLICES, build_report
from analysis.workspace import Workspace
from ui.report_download import report_bytes

# The sections each sample shows (True) or replaces with a sentence saying why not (False).
EXPECTED_SECTIONS = {
    "speech_commands": {"overall": True, "classes": True, "slices": True, "tags": True, "what-if": True, "audit": False},
    "screening": {"overall": True, "classes": True, "slices": True, "tags": False, "what-if": False, "audit": True},
    "digits": {"overall": True, "classes": True, "slices": True, "tags": True, "what-if": False, "audit": False},
    "diabetes_regression": {"overall": True, "classes": False, "slices": True, "tags": True, "what-if": False, "audit": False},
}
FIXED_TIME = datetime.datetime(2024, 6, 11, 9, 30, tzinfo=datetime.timezone.utc)


def report_of(config: DatasetConfig, keep: list[str] | None = None, exclude: list[str] | None = None) -> tuple[str, ReportPage]:
    dataset = load_dataset(config)
    example_filter = parse_filter(dataset, keep or [], exclude or [])
    text = build_report(dataset, example_filter, generated_at=FIXED_TIME).html
    return text, read_report(text)


def approx(expected: float | None):
    """Compare with a number, or with an undefined value (None) where the expected value is NaN."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return None
    return pytest.approx(expected, abs=1e-12)


def with_untagged_flag(expected):
    """Return the oracle with an (untagged) flag column, so its what-if can raise the untagged group too."""
    flags = expected.tag_flags
    return dataclasses.replace(expected, tag_flags=flags.assign(**{UNTAGGED: ~flags.any(axis=1)}))


# ---------------------------------------------------------------- numbers against the oracle


def check_overall(page: ReportPage, expected) -> None:
    headline = page.headline
    correct = expected.total - expected.errors
    low, high = wilson_bounds(correct, expected.total, expected.confidence_level)
    assert float(headline["examples"]["data-value"]) == expected.total
    assert float(headline["errors"]["data-value"]) == expected.errors
    assert float(headline["accuracy"]["data-value"]) == pytest.approx(correct / expected.total, abs=1e-12)
    assert float(headline["accuracy"]["data-low"]) == pytest.approx(low, abs=1e-9)
    assert float(headline["accuracy"]["data-high"]) == pytest.approx(high, abs=1e-9)
    if expected.mode == "classification":
        imbalance = expected.imbalance()
        assert float(headline["majority_class_accuracy"]["data-value"]) == pytest.approx(imbalance["majority_class_accuracy"], abs=1e-12)
        assert float(headline["balanced_accuracy"]["data-value"]) == pytest.approx(expected.overall()["balanced_accuracy"], abs=1e-12)
    else:
        assert "majority_class_accuracy" not in headline


def check_classes(page: ReportPage, expected) -> None:
    rows = expected.class_rows()
    assert page.texts("classes", "label") == [row["label"] for row in rows]
    for key in ("support", "predicted", "precision", "recall", "f1"):
        assert page.column("classes", key) == [approx(row[key]) for row in rows], key
    figure = page.figure("confusion-matrix")["data"][0]
    assert figure["x"] == expected.class_order()
    assert figure["y"] == expected.class_order()
    assert figure["z"] == expected.confusion()


def expected_worst_slices(expected) -> list[dict]:
    rows = [row for row in expected.slice_rows() if row["count"] >= expected.min_support and row["gap_to_overall"] > 0]
    return sorted(rows, key=lambda row: -row["gap_to_overall"])[:WORST_SLICES]


def check_slices(page: ReportPage, expected) -> None:
    worst = expected_worst_slices(expected)
    assert page.texts("slices", "attribute") == [row["column"] for row in worst]
    assert page.texts("slices", "value") == [str(row["value"]) for row in worst]
    for key in ("count", "error_rate", "gap_to_overall"):
        assert page.column("slices", key) == [approx(row[key]) for row in worst], key
    assert page.column("slices", "p_adjusted") == [pytest.approx(row["p_adjusted"], rel=1e-6) for row in worst]
    assert page.texts("slices", "flagged") == ["yes" if row["flagged"] else "no" for row in worst]
    for row, text in zip(worst, page.texts("slices", "interval")):
        assert text == f"{100 * row['ci_low']:.1f}% to {100 * row['ci_high']:.1f}%"


def check_tags(page: ReportPage, expected) -> None:
    rows = expected.tag_rows()
    assert page.texts("tags", "tag") == [row["tag"] for row in rows]
    for key in ("count", "share_of_data", "error_rate", "share_of_errors", "accuracy", "hlp", "room_for_improvement"):
        assert page.column("tags", key) == [approx(row[key]) for row in rows], key


def check_priorities(page: ReportPage, expected) -> None:
    rows = [row for row in expected.tag_rows() if not math.isnan(row["hlp"])]
    gains = {row["tag"]: row["share_of_data"] * max(row["hlp"] - row["accuracy"], 0.0) for row in rows if row["count"] > 0}
    ranked = sorted(gains, key=lambda tag: -gains[tag])
    shown = page.texts("priorities", "tag")
    assert shown[: len(ranked)] == ranked
    assert page.column("priorities", "potential_gain")[: len(ranked)] == [approx(gains[tag]) for tag in ranked]
    targets = {row["tag"]: row["hlp"] for row in rows}
    estimate = with_untagged_flag(expected).what_if(targets)
    assert float(page.headline["accuracy_before"]["data-value"]) == pytest.approx(estimate["accuracy_before"], abs=1e-12)
    assert float(page.headline["accuracy_after"]["data-value"]) == pytest.approx(estimate["accuracy_after"], abs=1e-12)


def check_all(page: ReportPage, expected) -> None:
    check_overall(page, expected)
    if page.sections["classes"].applies:
        check_classes(page, expected)
    if "slices" in page.tables:
        check_slices(page, expected)
    if page.sections["tags"].applies:
        check_tags(page, expected)
    if page.sections["what-if"].applies:
        check_priorities(page, expected)


@pytest.mark.parametrize("name", sorted(EXPECTED_SECTIONS))
def test_sample_numbers_match_oracle(name, expected_from_files):
    config = load_config(SAMPLE_DATA_DIR / name)

    _text, page = report_of(config)

    check_all(page, expected_from_files(config))


@pytest.mark.parametrize("name", sorted(EXPECTED_SECTIONS))
def test_sections_present_as_expected(name):
    _text, page = report_of(load_config(SAMPLE_DATA_DIR / name))

    shown = {key: section.applies for key, section in page.sections.items()}
    assert shown == EXPECTED_SECTIONS[name]
    for section in page.sections.values():
        assert len(section.sentences) == 1, section.key
        assert section.sentences[0].endswith("."), section.key
        if not section.applies:
            assert not section.tables, section.key
            assert not section.charts, section.key


def test_speech_sentences_state_findings():
    _text, page = report_of(load_config(SAMPLE_DATA_DIR / "speech_commands"))

    sentences = {key: section.sentences[0] for key, section in page.sections.items()}
    assert sentences["overall"].startswith("The model is wrong on 1 in 11 examples (9.2% of 20,000)")
    assert "low_bandwidth" in sentences["tags"]
    assert "accent = irish" in sentences["slices"]
    assert "from 90.8% to" in sentences["what-if"]
    assert "no [audit] section" in sentences["audit"]


def generated_dataset(seed: int, write_dataset) -> DatasetConfig:
    """Write a dataset of 900 examples whose errors depend on a region and two tags, with HLP values."""
    rng = np.random.default_rng(seed)
    n = 900
    labels = rng.choice(["cat", "dog", "bird"], size=n, p=[0.6, 0.3, 0.1])
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    noisy = rng.random(n) < 0.2
    blurry = rng.random(n) < 0.1
    error_chance = 0.08 + 0.2 * noisy + 0.3 * blurry + 0.15 * (region == "west")
    wrong = rng.random(n) < error_chance
    others = {"cat": ["dog", "bird"], "dog": ["cat", "bird"], "bird": ["cat", "dog"]}
    predictions = [rng.choice(others[label]) if miss else label for label, miss in zip(labels, wrong)]
    ids = [f"e{i}" for i in range(n)]
    predictions_frame = pd.DataFrame({"id": ids, "label": labels, "prediction": predictions})
    metadata = pd.DataFrame({"id": ids, "region": region, "tag_noisy": noisy, "tag_blurry": blurry})
    hlp = {"tag_noisy": 0.9, "tag_blurry": float(rng.choice([0.5, 0.85])), "(untagged)": 0.97}
    return write_dataset(predictions_frame, metadata, hlp=hlp)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_numbers_match_oracle(seed, write_dataset, expected_from_files):
    config = generated_dataset(seed, write_dataset)

    _text, page = report_of(config)

    assert all(section.applies for key, section in page.sections.items() if key != "audit")
    check_all(page, expected_from_files(config))


def test_filter_numbers_match_oracle(write_dataset, expected_from_files):
    config = generated_dataset(4, write_dataset)
    expected = expected_from_files(config)
    kept = expected.tag_flags["tag_noisy"].to_numpy() & (expected.slice_values["region"] != "west").to_numpy()
    subset = dataclasses.replace(
        expected,
        frame=expected.frame[kept].reset_index(drop=True),
        slice_values=expected.slice_values[kept].reset_index(drop=True),
        tag_flags=expected.tag_flags[kept].reset_index(drop=True),
    )

    _text, page = report_of(config, keep=["tag:tag_noisy"], exclude=["attr:region=west"])

    check_all(page, subset)


# ---------------------------------------------------------------- a self-contained file


def test_plotly_embedded_once():
    text, page = report_of(load_config(SAMPLE_DATA_DIR / "speech_commands"))

    bundle = plotly.offline.get_plotlyjs()
    assert text.count(bundle) == 1
    assert sum(bundle in script for script in page.scripts) == 1
    assert page.script_sources == []
    assert "MathJax" not in text.replace(bundle, "")
    for section in ("classes", "slices", "tags", "what-if"):
        assert page.sections[section].charts, section


@pytest.mark.parametrize("name", sorted(EXPECTED_SECTIONS))
def test_no_network_references(name):
    _text, page = report_of(load_config(SAMPLE_DATA_DIR / name))

    remote = [reference for reference in page.references if reference[2].lower().startswith(("http:", "https:", "//"))]
    assert remote == []
    assert not {"link", "img", "iframe", "object", "embed"} & set(page.tag_names)
    policies = [meta["content"] for meta in page.meta if meta.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    assert "default-src 'none'" in policies[0]


def test_file_holds_aggregates_only():
    config = load_config(SAMPLE_DATA_DIR / "speech_commands")
    ids = pd.read_csv(config.predictions, dtype=str)["example_id"]

    text, _page = report_of(config)

    # Without plotly.js the report is tens of kilobytes for 20,000 examples.
    assert len(text) - len(plotly.offline.get_plotlyjs()) < 300_000
    assert not any(f">{example}<" in text or f'"{example}"' in text for example in ids.head(200))


def test_hostile_names_are_escaped(write_dataset):
    hostile_tag = "tag_</script><script>alert(1)</script>"
    hostile_value = "<img src=x onerror=alert(2)>&\"'"
    n = 200
    ids = [f"e{i}" for i in range(n)]
    predictions = pd.DataFrame({"id": ids, "label": ["a", "b"] * (n // 2), "prediction": ["a"] * n})
    metadata = pd.DataFrame({"id": ids, "place": [hostile_value if i % 2 else "home" for i in range(n)], hostile_tag: [i % 4 == 1 for i in range(n)]})
    config = write_dataset(predictions, metadata, name="<b>bold</b> name")

    text, page = report_of(config)

    assert "<script>alert(1)" not in text
    assert "<img" not in text
    assert "<b>bold" not in text
    assert hostile_tag in page.texts("tags", "tag")
    assert hostile_value in page.texts("slices", "value")
    assert hostile_tag in page.sections["tags"].sentences[0]


def test_per_example_score_mode_leaves_out_classes():
    _text, page = report_of(load_config(SAMPLE_DATA_DIR / "diabetes_regression"))

    classes = page.sections["classes"]
    assert not classes.applies
    assert "above 60" in classes.sentences[0]
    assert "classes" not in page.tables


class Bracketed(gettext.NullTranslations):
    """Pseudo-translation that wraps each message in brackets, so untranslated text shows."""

    def gettext(self, message: str) -> str:
        return f"[[{message}]]"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"[[{singular if n == 1 else plural}]]"


@pytest.mark.parametrize("name", ["speech_commands", "screening"])
def test_text_goes_through_translation(name):
    with using(Bracketed()):
        text, page = report_of(load_config(SAMPLE_DATA_DIR / name))

    for section in page.sections.values():
        assert section.title.startswith("[["), section.title
        assert section.title.endswith("]]"), section.title
        assert section.sentences[0].startswith("[["), section.sentences[0]
    headers = re.findall(r'<th data-column="[^"]*">([^<]*)</th>', text)
    assert headers
    assert [header for header in headers if not header.startswith("[[")] == []
    title = re.search(r"<title>([^<]*)</title>", text).group(1)
    assert title.startswith("[[")


# ---------------------------------------------------------------- audit


def test_screening_audit_matches_pandas():
    predictions = pd.read_parquet(SAMPLE_DATA_DIR / "screening" / "predictions.parquet")
    positives = predictions[predictions["true_label"] == "covid"]
    recall = float((positives["pred_label"] == "covid").mean())

    _text, page = report_of(load_config(SAMPLE_DATA_DIR / "screening"))

    rows = {row["check"].text: row for row in page.table("audit")}
    assert set(rows) == {"covid recall", "accuracy by sex", "error rate by device"}
    assert rows["covid recall"]["status"].text == "fail"
    assert rows["covid recall"]["value"].value == pytest.approx(recall, abs=1e-12)
    assert rows["covid recall"]["support"].value == len(positives)
    assert rows["covid recall"]["threshold"].text == "at least 80.0%"
    low, high = wilson_bounds(int((positives["pred_label"] == "covid").sum()), len(positives), 0.95)
    assert rows["covid recall"]["interval"].text == f"{100 * low:.1f}% to {100 * high:.1f}%"
    assert page.headline_rows[-1]["data-passed"] == "false"
    assert page.sections["audit"].sentences[0] == "The model fails the audit because the blocking check 'covid recall' fails."


def test_audit_by_sex_matches_pandas():
    predictions = pd.read_parquet(SAMPLE_DATA_DIR / "screening" / "predictions.parquet")
    metadata = pd.read_parquet(SAMPLE_DATA_DIR / "screening" / "metadata.parquet")
    joined = predictions.merge(metadata, on="example_id")
    accuracy = (joined["true_label"] == joined["pred_label"]).groupby(joined["sex"]).mean()

    _text, page = report_of(load_config(SAMPLE_DATA_DIR / "screening"))

    row = next(row for row in page.table("audit") if row["check"].text == "accuracy by sex")
    worst = accuracy.idxmin()
    assert row["group"].text == worst
    assert row["value"].value == pytest.approx(accuracy[worst], abs=1e-12)
    overall = (joined["true_label"] == joined["pred_label"]).mean()
    assert row["threshold"].text == f"at least {100 * (overall - 0.05):.1f}%"


def write_screening_copy(folder: Path, audit: str) -> Path:
    folder.mkdir(parents=True)
    for name in ("predictions.parquet", "metadata.parquet"):
        (folder / name).write_bytes((SAMPLE_DATA_DIR / "screening" / name).read_bytes())
    text = (SAMPLE_DATA_DIR / "screening" / "dataset.toml").read_text(encoding="utf-8")
    head = text.split("[audit]")[0]
    (folder / "dataset.toml").write_text(head + audit, encoding="utf-8")
    return folder


def test_broken_audit_check_becomes_sentence(tmp_path):
    folder = write_screening_copy(tmp_path / "screening", '[audit]\n[[audit.checks]]\nname = "by region"\nmetric = "accuracy"\nattribute = "region"\nat_least = 0.9\n')

    report = build_report(load_dataset(load_config(folder)))

    audit = next(section for section in report.sections if section.key == "audit")
    assert not audit.applies
    assert "attribute = 'region' does not fit this dataset" in audit.sentence
    assert "Use one of: sex, age_group, device." in audit.sentence
    assert report.warnings == [audit.sentence]


# ---------------------------------------------------------------- the command


def run_cli(*arguments: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "analysis", *arguments], capture_output=True, text=True, cwd=cwd, env=environment, timeout=300)


def test_cli_writes_report(tmp_path):
    out = tmp_path / "report.html"

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(out))

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.startswith(f"Wrote the report of COVID screening (sample) to {out} (")
    page = read_report(out.read_text(encoding="utf-8"))
    assert page.sections["audit"].applies
    assert float(page.headline["examples"]["data-value"]) == 5000


def test_cli_json_and_filter(tmp_path, expected_from_files):
    out = tmp_path / "report.html"
    config = load_config(SAMPLE_DATA_DIR / "speech_commands")
    expected = expected_from_files(config)

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "speech_commands"), "--out", str(out), "--keep", "tag:car_noise", "--format", "json")

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["file"] == str(out)
    assert result["bytes"] == out.stat().st_size
    assert {section["key"]: section["applies"] for section in result["sections"]} == EXPECTED_SECTIONS["speech_commands"]
    page = read_report(out.read_text(encoding="utf-8"))
    kept = expected.tag_flags["car_noise"].to_numpy()
    assert float(page.headline["examples"]["data-value"]) == kept.sum()
    assert float(page.headline["errors"]["data-value"]) == expected.frame.loc[kept, "is_error"].sum()
    assert "Filter: only examples with tag car_noise" in out.read_text(encoding="utf-8")


def test_cli_with_workspace_counts_edits(tmp_path):
    data = tmp_path / "data"
    folder = write_screening_copy(data / "screening", "")
    workspace_folder = tmp_path / "workspace"
    workspace_folder.mkdir()
    ids = pd.read_parquet(folder / "predictions.parquet")["example_id"].astype(str).head(40).tolist()
    Workspace(workspace_folder, user="tester").set_tag("screening", "reviewed", ids, True, ())
    out = tmp_path / "report.html"

    completed = run_cli("report", "--config", str(folder), "--workspace", str(workspace_folder), "--out", str(out))

    assert completed.returncode == 0, completed.stderr
    page = read_report(out.read_text(encoding="utf-8"))
    rows = {row["tag"].text: row for row in page.table("tags")}
    assert rows["reviewed"]["count"].value == 40
    assert not page.sections["audit"].applies


def test_cli_missing_folder_exits_2(tmp_path):
    out = tmp_path / "missing" / "report.html"

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(out))

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == f"error: The folder {out.parent} of --out does not exist. Create it first, or give a path in an existing folder.\n"


def test_cli_out_is_folder_exits_2(tmp_path):
    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(tmp_path))

    assert completed.returncode == 2
    assert completed.stderr.startswith(f"error: --out {tmp_path} is a folder.")
    assert str(tmp_path / "report.html") in completed.stderr


def test_cli_parent_is_file_exits_2(tmp_path):
    parent = tmp_path / "notes.txt"
    parent.write_text("not a folder", encoding="utf-8")

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(parent / "report.html"))

    assert completed.returncode == 2
    assert completed.stderr == f"error: The folder {parent} of --out is not a folder. Give a path in an existing folder.\n"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write to any folder, so a read-only folder cannot be tested")
def test_cli_read_only_folder_exits_2(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(folder / "report.html"))

    folder.chmod(0o700)
    assert completed.returncode == 2
    assert completed.stderr == f"error: The folder {folder} of --out is not writable. Choose a folder you can write to.\n"


def test_cli_write_failure_exits_2(tmp_path):
    # /dev/full accepts the open and fails every write with "No space left on device".
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available on this system")

    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", "/dev/full")

    assert completed.returncode == 2
    assert completed.stderr.startswith("error: The report could not be written to /dev/full: No space left on device.")


def test_cli_bad_filter_exits_2(tmp_path):
    completed = run_cli("report", "--config", str(SAMPLE_DATA_DIR / "screening"), "--out", str(tmp_path / "r.html"), "--keep", "tag:nope")

    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ")
    assert "nope" in completed.stderr
    assert not (tmp_path / "r.html").exists()


def test_cli_help_lists_out():
    completed = run_cli("report", "--help")

    assert completed.returncode == 0
    for option in ("--out", "--config", "--keep", "--exclude", "--workspace", "--format"):
        assert option in completed.stdout


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize("name", ["compas", "cifar10"])
def test_real_data_numbers_match_oracle(name, expected_from_files):
    folder = REAL_DATA_DIR / name
    if not (folder / "predictions.csv").is_file() or not (folder / "metadata.csv").is_file():
        pytest.skip(f"real data folder {folder} is not present")
    config = DatasetConfig(predictions=folder / "predictions.csv", metadata=folder / "metadata.csv")

    text, page = report_of(config)

    check_all(page, expected_from_files(config))
    assert all(len(section.sentences) == 1 for section in page.sections.values())
    assert len(text) - len(plotly.offline.get_plotlyjs()) < 300_000


# ---------------------------------------------------------------- dashboard


def test_overview_shows_download_button(tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=60)
    app.query_params["dataset"] = "screening"

    app.run()

    assert not app.exception
    buttons = [button for button in app.get("download_button") if button.key == "report_download"]
    assert [button.proto.label for button in buttons] == ["Download the report (HTML)"]


def test_download_bytes_match_report():
    folder = SAMPLE_DATA_DIR / "speech_commands"
    dataset = load_dataset(load_config(folder))
    keep = ("tag:people_noise",)

    served = read_report(report_bytes(str(folder), (("fingerprint", 1, 1),), keep, (), None, "en", None, dataset).decode("utf-8"))
    built = read_report(build_report(dataset, parse_filter(dataset, list(keep), [])).html)

    assert served.tables == built.tables
    assert served.headline == built.headline
    assert {key: section.sentences for key, section in served.sections.items()} == {key: section.sentences for key, section in built.sections.items()}


def test_report_charts_ignore_dashboard_template(monkeypatch):
    import plotly.io as pio
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    # The dashboard process makes Streamlit's template the default; its colours are placeholders such as #000001.
    configure_streamlit_plotly_theme()
    monkeypatch.setattr(pio.templates, "default", "streamlit")
    dataset = load_dataset(load_config(SAMPLE_DATA_DIR / "speech_commands"))

    html = build_report(dataset).html

    assert "#000001" not in html
    assert '"template":{"data"' in html.replace(" ", "")


def test_report_takes_edited_audit_checks():
    dataset = load_dataset(load_config(SAMPLE_DATA_DIR / "screening"))
    file_spec = dataset.config.audit
    lowered = dataclasses.replace(file_spec, checks=(dataclasses.replace(file_spec.checks[0], threshold=0.04),))

    from_file = read_report(build_report(dataset).html)
    edited = read_report(build_report(dataset, audit=lowered).html)

    assert from_file.sections["audit"].sentences != edited.sections["audit"].sentences
    assert "fails" in from_file.sections["audit"].sentences[0]
    assert "passes" in edited.sections["audit"].sentences[0]
