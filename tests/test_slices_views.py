"""The Slices page's metric choice, significance columns, intersections and discover views, run with AppTest.

Rates are checked against pandas computations on the raw files, p-values
against statsmodels, and the discovered slices against discover_slices
called directly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import load_config, load_dataset
from analysis.discovery import DiscoverySettings, discover_slices
from ui.data import DATA_ROOT_VARIABLE

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard.py"
PAGE = "pages/1_Slices.py"
SAMPLE_DATA = REPO_ROOT / "sample_data"
COMPAS = REPO_ROOT.parent / "shared" / "data" / "compas"

COMPAS_TOML = """\
schema = 1
name = "COMPAS two-year recidivism"

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[slices]
exclude = ["age", "c_charge_desc"]

[task]
positive_class = "1"
score_kind = "positive_class"
"""


@pytest.fixture(autouse=True)
def default_data_root(monkeypatch):
    """Start every test from the default data root, whatever the shell exports."""
    monkeypatch.delenv(DATA_ROOT_VARIABLE, raising=False)


@pytest.fixture
def compas_root(tmp_path, monkeypatch) -> Path:
    """Point the dashboard at a copy of the COMPAS files with a dataset file; skip when the files are absent."""
    if not (COMPAS / "predictions.csv").is_file() or not (COMPAS / "metadata.csv").is_file():
        pytest.skip(f"the COMPAS files are not in {COMPAS}")
    folder = tmp_path / "compas"
    folder.mkdir()
    shutil.copy(COMPAS / "predictions.csv", folder)
    shutil.copy(COMPAS / "metadata.csv", folder)
    (folder / "dataset.toml").write_text(COMPAS_TOML, encoding="utf-8")
    monkeypatch.setenv(DATA_ROOT_VARIABLE, str(tmp_path))
    return folder


def run_slices(dataset: str, **parameters: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = dataset
    for name, value in parameters.items():
        app.query_params[name] = value
    app.switch_page(PAGE)
    return app.run()


def notices(app: AppTest) -> list[str]:
    """Return the notices without the Markdown escapes of the values they quote."""
    return [element.value.replace("\\", "") for element in app.info]


def speech_frame() -> pd.DataFrame:
    predictions = pd.read_csv(SAMPLE_DATA / "speech_commands" / "predictions.csv", dtype=str)
    metadata = pd.read_csv(SAMPLE_DATA / "speech_commands" / "metadata.csv", dtype=str, keep_default_na=False)
    frame = predictions.merge(metadata, on="example_id")
    # The engine names an empty attribute value "(missing)".
    for column in ("gender", "device", "accent"):
        frame[column] = frame[column].replace("", "(missing)")
    frame["error"] = frame["true_label"] != frame["pred_label"]
    return frame


def compas_frame() -> pd.DataFrame:
    predictions = pd.read_csv(COMPAS / "predictions.csv", dtype={"true_label": str, "pred_label": str})
    metadata = pd.read_csv(COMPAS / "metadata.csv")
    return predictions.merge(metadata, on="example_id")


# Metric choice and significance columns --------------------------------------------------


def test_compas_false_positive_rate_by_race(compas_root):
    frame = compas_frame()
    frame = frame[~frame["tag_propublica_filtered_out"]]
    negatives = frame[frame["true_label"] == "0"]
    expected = negatives.groupby("race")["pred_label"].apply(lambda predicted: (predicted == "1").mean())
    support = negatives["race"].value_counts()

    app = run_slices("compas", exclude="tag:tag_propublica_filtered_out", metric="fpr", attribute="race")

    assert not app.exception
    table = app.dataframe[0].value.set_index("value")
    assert table.at["African-American", "metric_value"] == pytest.approx(42.3, abs=0.05)
    assert table.at["Caucasian", "metric_value"] == pytest.approx(22.0, abs=0.05)
    assert table["metric_value"].to_dict() == pytest.approx((100 * expected).to_dict())
    assert table["count"].to_dict() == support.to_dict()
    for race in ("Asian", "Native American"):
        assert table.at[race, "small"] == "too small to judge: fewer than 30"
        assert table.at[race, "flag"] == ""
        assert f"With {support[race]} examples" in table.at[race, "guidance"]
    assert table.at["African-American", "flag"] == "worse"
    assert table.at["Caucasian", "small"] == ""


def test_significance_columns_match_statsmodels():
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    frame = speech_frame()

    app = run_slices("speech_commands", attribute="device")

    table = app.dataframe[0].value.set_index("value")
    p_values = []
    for device in table.index:
        inside = frame[frame["device"] == device]["error"]
        rest = frame[frame["device"] != device]["error"]
        p_values.append(proportions_ztest([inside.sum(), rest.sum()], [len(inside), len(rest)])[1])
    adjusted = multipletests(p_values, method="fdr_bh")[1]
    assert table["p_value"].tolist() == pytest.approx(p_values, rel=1e-6)
    assert table["p_adjusted"].tolist() == pytest.approx(list(adjusted), rel=1e-6)


def test_recall_metric_of_one_class():
    frame = speech_frame()
    of_class = frame[frame["true_label"] == "yes"]
    expected = of_class.groupby("gender")["pred_label"].apply(lambda predicted: (predicted == "yes").mean())

    app = run_slices("speech_commands", attribute="gender", metric="recall:yes")

    assert not app.exception
    table = app.dataframe[0].value.set_index("value")
    assert table["metric_value"].to_dict() == pytest.approx((100 * expected).to_dict())
    assert table["count"].to_dict() == of_class["gender"].value_counts().to_dict()


def test_fpr_not_offered_without_binary_task():
    app = run_slices("speech_commands", metric="fpr")

    assert not app.exception
    assert any("metric to 'fpr', which was ignored" in text for text in notices(app))
    assert app.selectbox(key="slices_metric").value == "error_rate"
    assert "fpr" not in app.selectbox(key="slices_metric").options


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("metric", "recall:nope", "this dataset offers error"),
        ("view", "table", "use one of slices, intersections, discover"),
    ],
)
def test_invalid_parameter_notice(name, value, reason):
    app = run_slices("speech_commands", **{name: value})

    assert not app.exception
    assert any(f"{name} to '{value}'" in text and reason in text for text in notices(app))


def test_example_list_still_follows_the_slice():
    app = run_slices("speech_commands", attribute="gender", value="female", metric="recall:yes")

    assert not app.exception
    examples = app.dataframe[1].value
    assert len(examples) > 0
    assert set(examples["a0"]) == {"female"}


# Intersections ------------------------------------------------------------------------------


def test_intersection_matches_crosstab():
    frame = speech_frame()
    support = pd.crosstab(frame["gender"], frame["device"])
    rates = pd.crosstab(frame["gender"], frame["device"], values=frame["error"], aggfunc="mean")

    app = run_slices("speech_commands", view="intersections", attribute="gender", by="device")

    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == int((support > 0).sum().sum())
    for row in table.itertuples():
        assert row.count == support.at[row.first, row.second]
        assert row.metric_value == pytest.approx(100 * rates.at[row.first, row.second])

    charts = app.get("plotly_chart")
    assert len(charts) == 1
    heatmap = json.loads(charts[0].proto.spec)["data"][0]
    for i, gender in enumerate(heatmap["y"]):
        for j, device in enumerate(heatmap["x"]):
            assert heatmap["z"][i][j] == pytest.approx(rates.at[gender, device])
            assert heatmap["text"][i][j].endswith(f"n = {support.at[gender, device]}")


def test_intersection_with_tag():
    frame = speech_frame()
    app = run_slices("speech_commands", view="intersections", attribute="device", by="tag:car_noise")

    assert not app.exception
    table = app.dataframe[0].value
    assert set(table["second"]) == {"with tag", "without tag"}
    assert int(table["count"].sum()) == len(frame)


def test_invalid_by_notice():
    app = run_slices("speech_commands", view="intersections", attribute="gender", by="gender")

    assert not app.exception
    assert any("by to 'gender'" in text for text in notices(app))
    assert app.selectbox(key="slices_by").value != "gender"


# Discovery ------------------------------------------------------------------------------------


def test_discover_first_row_matches_engine():
    dataset = load_dataset(load_config(SAMPLE_DATA / "speech_commands"))
    direct = discover_slices(dataset, DiscoverySettings(max_predicates=2, min_support=50, top=5)).as_dict()["slices"]

    app = run_slices("speech_commands", view="discover", max_predicates="2", min_support="50", top="5")

    assert not app.exception
    assert not app.error
    table = app.dataframe[0].value
    assert len(table) == len(direct)
    first = table.iloc[0]
    assert first["slice"] == direct[0]["description"]
    assert first["count"] == direct[0]["support"]
    assert first["metric_value"] == pytest.approx(100 * direct[0]["metric_value"])
    assert first["p_adjusted"] == pytest.approx(direct[0]["adjusted_p_value"])
    assert first["flag"] == ("worse" if direct[0]["flagged"] else "")
    assert first["overlapping"] == len(direct[0]["overlapping"])
    assert len([e for e in app.expander if "overlapping slices" in e.label]) == sum(1 for row in direct if row["overlapping"])


def test_discover_default_settings_run():
    app = run_slices("speech_commands", view="discover")

    assert not app.exception
    assert len(app.dataframe[0].value) > 0


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("max_predicates", "4", "use a whole number from 1 to 3."),
        ("min_support", "0", "use a whole number of at least 1."),
        ("top", "many", "use a whole number from 1 to 50."),
        ("metric", "recall:yes", "this dataset offers error"),
        ("alpha", "1.5", "use a number above 0 and at most 1"),
        ("alpha", "none", "use a number above 0 and at most 1"),
    ],
)
def test_discover_invalid_settings_notice(name, value, reason):
    app = run_slices("speech_commands", view="discover", **{name: value})

    assert not app.exception
    assert any(f"{name} to '{value}'" in text and reason in text for text in notices(app))
    assert len(app.dataframe[0].value) > 0


def test_discover_alpha_finds_planted_slice():
    dataset = load_dataset(load_config(SAMPLE_DATA / "speech_commands"))
    direct = discover_slices(dataset, DiscoverySettings(alpha=0.99, top=5)).as_dict()["slices"]

    app = run_slices("speech_commands", view="discover", alpha="0.99", top="5")

    assert not app.exception
    assert app.number_input(key="slices_alpha").value == pytest.approx(0.99)
    table = app.dataframe[0].value
    assert list(table["slice"]) == [row["description"] for row in direct]
    planted = [text for text in table["slice"] if "irish" in text and "smart_speaker" in text]
    assert planted, list(table["slice"])
