"""The audit engine: every rule and metric on generated data with known answers, checked against
scikit-learn, pandas, statsmodels and Fairlearn (the reference for the fairness measures)."""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score
from statsmodels.stats.proportion import proportion_confint

from analysis.audit import NOT_ENOUGH_DATA, run_audit
from analysis.audit_spec import parse_audit
from analysis.config import load_config
from analysis.dataset import load_dataset
from analysis.errors import ConfigError, InputError
from oracle import REAL_DATA_DIR, SAMPLE_DATA_DIR


def write_audited(folder, predictions: pd.DataFrame, metadata: pd.DataFrame, audit: str, task: str = 'positive_class = "1"'):
    """Write the frames and a dataset.toml with ``audit`` (TOML text after [audit]) to ``folder``; return the opened dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(folder / "predictions.csv", index=False)
    metadata.to_csv(folder / "metadata.csv", index=False)
    text = textwrap.dedent(
        """\
        schema = 1
        [files]
        predictions = "predictions.csv"
        metadata = "metadata.csv"
        [task]
        {task}
        [audit]
        {audit}
        """
    ).format(task=task, audit=textwrap.dedent(audit))
    (folder / "dataset.toml").write_text(text, encoding="utf-8")
    config = load_config(folder / "dataset.toml")
    return load_dataset(config), config.audit


def known_groups() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three groups of a binary task with set counts.

    A: 100 examples, 50 positive; 40 of them found (recall 0.8), 10 false positives.
    B: 100 examples, 50 positive; 30 found (recall 0.6), 20 false positives.
    C: 29 examples (just under the default min_support of 30), 20 positive, all found.
    """
    rows = []

    def add(group: str, label: int, prediction: int, count: int) -> None:
        rows.extend({"group": group, "label": label, "prediction": prediction} for _index in range(count))

    add("A", 1, 1, 40)
    add("A", 1, 0, 10)
    add("A", 0, 1, 10)
    add("A", 0, 0, 40)
    add("B", 1, 1, 30)
    add("B", 1, 0, 20)
    add("B", 0, 1, 20)
    add("B", 0, 0, 30)
    add("C", 1, 1, 20)
    add("C", 0, 0, 9)
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", range(len(frame)))
    return frame[["id", "label", "prediction"]], frame[["id", "group"]]


@pytest.fixture
def known(tmp_path):
    predictions, metadata = known_groups()

    def open_with(audit: str, **options):
        return write_audited(tmp_path / "known", predictions, metadata, audit, **options)

    return open_with, predictions.merge(metadata, on="id")


def outcomes_by_group(result, position: int = 0) -> dict:
    return {outcome.group: outcome for outcome in result.checks[position].outcomes}


# ---------------------------------------------------------------- metrics against scikit-learn


def sklearn_value(metric: str, frame: pd.DataFrame) -> tuple[float, int]:
    """Return a metric and its support (its denominator), from scikit-learn and pandas."""
    truth, predicted = frame["label"], frame["prediction"]
    tn, fp, fn, tp = confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
    if metric == "accuracy":
        return accuracy_score(truth, predicted), len(frame)
    if metric == "error_rate":
        return 1 - accuracy_score(truth, predicted), len(frame)
    if metric == "recall":
        return recall_score(truth, predicted), tp + fn
    if metric == "precision":
        return precision_score(truth, predicted), tp + fp
    if metric == "f1":
        return f1_score(truth, predicted), 2 * tp + fp + fn
    if metric == "fpr":
        return fp / (fp + tn), fp + tn
    if metric == "fnr":
        return fn / (fn + tp), fn + tp
    return (predicted == 1).mean(), len(frame)


@pytest.mark.parametrize("metric", ["accuracy", "error_rate", "recall", "precision", "f1", "fpr", "fnr", "selection_rate"])
def test_group_metrics_match_sklearn(tmp_path, metric):
    generator = np.random.default_rng(7)
    size = 600
    predictions = pd.DataFrame({"id": range(size), "label": generator.integers(0, 2, size), "prediction": generator.integers(0, 2, size)})
    metadata = pd.DataFrame({"id": range(size), "region": generator.choice(["north", "south", "east"], size)})
    dataset, spec = write_audited(tmp_path / "random", predictions, metadata, f'[[audit.checks]]\nmetric = "{metric}"\nattribute = "region"\nat_least = 0\n')

    result = run_audit(dataset, spec)

    joined = predictions.merge(metadata, on="id")
    outcomes = outcomes_by_group(result)
    assert set(outcomes) == {"north", "south", "east"}
    for region, group in joined.groupby("region"):
        expected, support = sklearn_value(metric, group)
        assert outcomes[region].value == pytest.approx(expected), region
        assert outcomes[region].support == support, region
        if metric != "f1":
            hits = round(expected * support)
            low, high = proportion_confint(hits, support, alpha=0.05, method="wilson")
            assert (outcomes[region].ci_low, outcomes[region].ci_high) == pytest.approx((low, high)), region
        else:
            assert outcomes[region].ci_low <= expected <= outcomes[region].ci_high
        assert outcomes[region].status == "pass"


# ---------------------------------------------------------------- rules with known answers


def test_at_least_per_group(known):
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nat_least = 0.7\n')

    result = run_audit(dataset, spec)

    outcomes = outcomes_by_group(result)
    assert outcomes["A"].status == "pass"
    assert outcomes["A"].value == pytest.approx(0.8)
    assert outcomes["B"].status == "fail"
    assert outcomes["B"].value == pytest.approx(0.6)
    # C has 20 positive examples, under 30: recall 1.0 is reported but neither passes nor fails.
    assert outcomes["C"].status == NOT_ENOUGH_DATA
    assert outcomes["C"].value == 1.0
    assert outcomes["C"].support == 20
    assert result.checks[0].status == "fail"
    assert result.checks[0].worst.group == "B"
    assert outcomes["B"].threshold == 0.7
    assert not result.passed


def test_min_support_boundary(known):
    open_with, _joined = known
    check = '[[audit.checks]]\nmetric = "accuracy"\nattribute = "group"\nat_least = 0.99\n'

    dataset, spec = open_with(check)
    assert outcomes_by_group(run_audit(dataset, spec))["C"].status == NOT_ENOUGH_DATA

    dataset, spec = open_with("min_support = 29\n" + check)
    outcomes = outcomes_by_group(run_audit(dataset, spec))
    assert outcomes["C"].status == "pass"
    assert outcomes["C"].support == 29
    assert outcomes["A"].status == "fail"


def test_all_groups_too_small(known):
    open_with, _joined = known
    dataset, spec = open_with('min_support = 500\n[[audit.checks]]\nmetric = "accuracy"\nattribute = "group"\nat_least = 0.99\n')

    result = run_audit(dataset, spec)

    assert result.checks[0].status == NOT_ENOUGH_DATA
    assert result.passed


def test_at_least_overall_minus(known):
    open_with, joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "accuracy"\nattribute = "group"\nat_least_overall_minus = 0.05\n')

    result = run_audit(dataset, spec)

    overall = accuracy_score(joined["label"], joined["prediction"])
    outcomes = outcomes_by_group(result)
    assert outcomes["A"].threshold == pytest.approx(overall - 0.05)
    # Overall accuracy is 179/229 = 0.782: A (0.8) passes, B (0.6) fails.
    assert outcomes["A"].status == "pass"
    assert outcomes["B"].status == "fail"


def test_at_most_overall_plus_and_at_most(known):
    open_with, joined = known
    dataset, spec = open_with(
        '[[audit.checks]]\nmetric = "error_rate"\nattribute = "group"\nat_most_overall_plus = 0.1\n'
        '[[audit.checks]]\nmetric = "fpr"\nattribute = "group"\nat_most = 0.3\n'
    )

    result = run_audit(dataset, spec)

    overall_error = 1 - accuracy_score(joined["label"], joined["prediction"])
    errors = outcomes_by_group(result, 0)
    assert errors["B"].threshold == pytest.approx(overall_error + 0.1)
    assert errors["B"].status == "fail"
    assert errors["A"].status == "pass"
    rates = outcomes_by_group(result, 1)
    assert rates["A"].value == pytest.approx(0.2)
    assert rates["A"].status == "pass"
    assert rates["B"].value == pytest.approx(0.4)
    assert rates["B"].status == "fail"


def test_ratio_to_named_reference(known):
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "fpr"\nattribute = "group"\nratio_to_reference = [0.8, 1.25]\nreference = "B"\n')

    result = run_audit(dataset, spec)

    check = result.checks[0]
    outcomes = outcomes_by_group(result)
    assert check.reference == "B"
    assert check.reference_value == pytest.approx(0.4)
    assert outcomes["B"].ratio == pytest.approx(1.0)
    assert outcomes["B"].status == "pass"
    assert outcomes["A"].ratio == pytest.approx(0.5)
    assert outcomes["A"].status == "fail"
    assert outcomes["C"].status == NOT_ENOUGH_DATA
    assert outcomes["C"].ratio is None
    assert outcomes["A"].threshold == [0.8, 1.25]


def test_default_reference_tie(known):
    # A and B both have 100 examples: the tie goes to "A", first in text order.
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "fpr"\nattribute = "group"\nratio_to_reference = [0.8, 1.25]\n')

    result = run_audit(dataset, spec)

    assert result.checks[0].reference == "A"
    outcomes = outcomes_by_group(result)
    assert outcomes["B"].ratio == pytest.approx(2.0)
    assert outcomes["B"].status == "fail"


def test_default_reference_largest_group(tmp_path):
    predictions, metadata = known_groups()
    # One more example in B makes it the largest group.
    predictions = pd.concat([predictions, pd.DataFrame({"id": [999], "label": [0], "prediction": [0]})])
    metadata = pd.concat([metadata, pd.DataFrame({"id": [999], "group": ["B"]})])
    dataset, spec = write_audited(tmp_path / "b", predictions, metadata, '[[audit.checks]]\nmetric = "fpr"\nattribute = "group"\nratio_to_reference = [0.5, 2]\n')

    result = run_audit(dataset, spec)

    assert result.checks[0].reference == "B"
    assert result.checks[0].reference_value == pytest.approx(20 / 51)


def test_small_reference_group(known):
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "accuracy"\nattribute = "group"\nratio_to_reference = [0.8, 1.25]\nreference = "C"\n')

    result = run_audit(dataset, spec)

    assert {outcome.status for outcome in result.checks[0].outcomes} == {NOT_ENOUGH_DATA}


def test_min_max_ratio(known):
    open_with, _joined = known
    dataset, spec = open_with(
        '[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nmin_max_ratio = 0.8\n'
        '[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nmin_max_ratio = 0.7\n'
    )

    result = run_audit(dataset, spec)

    # Recall 0.6 over 0.8 (C, with recall 1.0, is too small to count as the largest).
    strict = outcomes_by_group(result, 0)
    assert strict["B"].ratio == pytest.approx(0.75)
    assert strict["B"].status == "fail"
    assert strict["A"].ratio == pytest.approx(1.0)
    assert strict["A"].status == "pass"
    assert result.checks[0].status == "fail"
    assert result.checks[1].status == "pass"


def test_slice_and_all_examples(known):
    open_with, joined = known
    dataset, spec = open_with(
        '[[audit.checks]]\nmetric = "precision"\nslice = "attr:group=B"\nat_least = 0.5\n'
        '[[audit.checks]]\nmetric = "recall"\nat_least = 0.8\n'
    )

    result = run_audit(dataset, spec)

    sliced = result.checks[0].outcomes
    assert [outcome.group for outcome in sliced] == ["attr:group=B"]
    assert sliced[0].value == pytest.approx(0.6)
    assert sliced[0].status == "pass"
    whole = result.checks[1].outcomes
    assert whole[0].group == "(all)"
    assert whole[0].value == pytest.approx(recall_score(joined["label"], joined["prediction"]))
    assert whole[0].status == "fail"


def test_audit_filter_and_options(known):
    open_with, joined = known
    dataset, spec = open_with('exclude = ["attr:group=B"]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0\n')

    result = run_audit(dataset, spec)
    kept = joined[joined["group"] != "B"]
    assert result.examples == len(kept)
    assert result.checks[0].outcomes[0].value == pytest.approx(accuracy_score(kept["label"], kept["prediction"]))

    narrowed = run_audit(dataset, spec, keep=["attr:group=A"])
    assert narrowed.examples == 100
    assert narrowed.example_filter.as_dict() == {"keep": ["attr:group=A"], "exclude": ["attr:group=B"]}


def test_failed_warning_passes_audit(known):
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "recall"\nattribute = "group"\nat_least = 0.7\nseverity = "warning"\n')

    result = run_audit(dataset, spec)

    assert result.checks[0].status == "fail"
    assert result.passed


def test_screening_covid_recall_fails():
    config = load_config(SAMPLE_DATA_DIR / "screening")
    dataset = load_dataset(config)
    spec = parse_audit({"checks": [{"metric": "recall", "class": "covid", "at_least": 0.8}]}, config.source)

    result = run_audit(dataset, spec)

    predictions = pd.read_parquet(SAMPLE_DATA_DIR / "screening" / "predictions.parquet")
    expected = recall_score(predictions["true_label"], predictions["pred_label"], pos_label="covid")
    outcome = result.checks[0].outcomes[0]
    assert outcome.value == pytest.approx(expected)
    assert outcome.value == pytest.approx(0.05)
    assert outcome.support == 100
    assert result.checks[0].status == "fail"
    assert not result.passed


# ---------------------------------------------------------------- fairness measures against Fairlearn

FAIRLEARN = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
}


def fairness_checks() -> str:
    bounds = {"demographic_parity_difference": "at_most = 1", "equalized_odds_difference": "at_most = 1"}
    return "".join(
        f'[[audit.checks]]\nmetric = "{name}"\nattribute = "region"\n{bounds.get(name, "at_least = 0")}\n' for name in FAIRLEARN
    )


def test_fairness_binary_matches_fairlearn(tmp_path):
    generator = np.random.default_rng(3)
    size = 2000
    region = generator.choice(["north", "south", "east", "west"], size, p=[0.4, 0.3, 0.2, 0.1])
    label = generator.integers(0, 2, size)
    # Predictions depend on the region, so the measures are far from 0.
    bias = pd.Series(region).map({"north": 0.1, "south": 0.3, "east": 0.5, "west": 0.2}).to_numpy()
    prediction = np.where(generator.random(size) < 0.6, label, (generator.random(size) < bias).astype(int))
    predictions = pd.DataFrame({"id": range(size), "label": label, "prediction": prediction})
    metadata = pd.DataFrame({"id": range(size), "region": region})
    dataset, spec = write_audited(tmp_path / "binary", predictions, metadata, fairness_checks())

    result = run_audit(dataset, spec)

    for check in result.checks:
        expected = FAIRLEARN[check.check.metric](label, prediction, sensitive_features=region)
        [outcome] = check.outcomes
        assert outcome.class_name == "1"
        assert outcome.value == pytest.approx(expected), check.check.metric
        assert outcome.value > 0.05 or check.check.metric.endswith("ratio")


def test_fairness_multiclass_matches_fairlearn(tmp_path):
    generator = np.random.default_rng(5)
    size = 3000
    classes = np.array(["cat", "dog", "fox"])
    region = generator.choice(["north", "south", "east"], size)
    label = generator.choice(classes, size)
    prediction = np.where(generator.random(size) < 0.5, label, generator.choice(classes, size))
    predictions = pd.DataFrame({"id": range(size), "label": label, "prediction": prediction})
    metadata = pd.DataFrame({"id": range(size), "region": region})
    dataset, spec = write_audited(tmp_path / "multi", predictions, metadata, fairness_checks(), task="")

    result = run_audit(dataset, spec)

    for check in result.checks:
        assert [outcome.class_name for outcome in check.outcomes] == ["cat", "dog", "fox"]
        for outcome in check.outcomes:
            truth = (label == outcome.class_name).astype(int)
            predicted = (prediction == outcome.class_name).astype(int)
            expected = FAIRLEARN[check.check.metric](truth, predicted, sensitive_features=region)
            assert outcome.value == pytest.approx(expected), (check.check.metric, outcome.class_name)


def test_fairness_one_named_class(tmp_path):
    generator = np.random.default_rng(11)
    size = 900
    classes = np.array(["cat", "dog", "fox"])
    region = generator.choice(["north", "south"], size)
    label = generator.choice(classes, size)
    prediction = generator.choice(classes, size)
    predictions = pd.DataFrame({"id": range(size), "label": label, "prediction": prediction})
    metadata = pd.DataFrame({"id": range(size), "region": region})
    audit = '[[audit.checks]]\nmetric = "demographic_parity_difference"\nclass = "dog"\nattribute = "region"\nat_most = 0.001\n'
    dataset, spec = write_audited(tmp_path / "dog", predictions, metadata, audit, task="")

    result = run_audit(dataset, spec)

    [outcome] = result.checks[0].outcomes
    expected = demographic_parity_difference((label == "dog").astype(int), (prediction == "dog").astype(int), sensitive_features=region)
    assert outcome.class_name == "dog"
    assert outcome.value == pytest.approx(expected)
    assert outcome.status == "fail"
    assert {row["group"] for row in outcome.groups} == {"north", "south"}


def test_fairness_skips_small_groups(known):
    open_with, joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "demographic_parity_difference"\nattribute = "group"\nat_most = 0.5\n')

    result = run_audit(dataset, spec)

    [outcome] = result.checks[0].outcomes
    # C (29 examples) is left out: the measure is over A and B only.
    kept = joined[joined["group"] != "C"]
    expected = demographic_parity_difference(kept["label"], kept["prediction"], sensitive_features=kept["group"])
    assert outcome.value == pytest.approx(expected)
    assert [row["included"] for row in outcome.groups] == [True, True, False]


# ---------------------------------------------------------------- compas


@pytest.fixture
def compas(tmp_path):
    source = REAL_DATA_DIR / "compas"
    if not source.is_dir():
        pytest.skip(f"real dataset folder {source} not found beside the repository clone")
    folder = tmp_path / "compas"
    shutil.copytree(source, folder)
    predictions = pd.read_csv(folder / "predictions.csv")
    metadata = pd.read_csv(folder / "metadata.csv")
    joined = predictions.merge(metadata, on="example_id")
    return folder, joined[~joined["tag_propublica_filtered_out"]]


def audit_compas(folder, checks: str):
    (folder / "dataset.toml").write_text(
        'schema = 1\n[files]\npredictions = "predictions.csv"\nmetadata = "metadata.csv"\n[task]\npositive_class = "1"\n'
        '[audit]\nexclude = ["tag:tag_propublica_filtered_out"]\n' + checks,
        encoding="utf-8",
    )
    config = load_config(folder / "dataset.toml")
    return run_audit(load_dataset(config), config.audit)


def test_compas_fpr_parity_fails(compas):
    folder, kept = compas

    result = audit_compas(folder, '[[audit.checks]]\nmetric = "fpr"\nattribute = "race"\nratio_to_reference = [0.8, 1.25]\nreference = "Caucasian"\n')

    negatives = kept[kept["true_label"] == 0]
    expected = negatives.groupby("race")["pred_label"].mean()
    outcomes = outcomes_by_group(result)
    for race, rate in expected.items():
        assert outcomes[race].value == pytest.approx(rate), race
        assert outcomes[race].support == (negatives["race"] == race).sum(), race
    assert outcomes["African-American"].value == pytest.approx(0.42, abs=0.01)
    assert outcomes["Caucasian"].value == pytest.approx(0.22, abs=0.01)
    assert outcomes["African-American"].status == "fail"
    assert result.checks[0].status == "fail"
    assert not result.passed


def test_compas_default_reference(compas):
    folder, kept = compas

    result = audit_compas(folder, '[[audit.checks]]\nmetric = "fpr"\nattribute = "race"\nratio_to_reference = [0.8, 1.25]\n')

    assert result.checks[0].reference == kept["race"].value_counts().idxmax() == "African-American"
    assert result.checks[0].status == "fail"


def test_compas_fairness_matches_fairlearn(compas):
    folder, kept = compas
    checks = "min_support = 1\n" + fairness_checks().replace('"region"', '"race"')

    result = audit_compas(folder, checks)

    for check in result.checks:
        expected = FAIRLEARN[check.check.metric](kept["true_label"], kept["pred_label"], sensitive_features=kept["race"])
        assert check.outcomes[0].value == pytest.approx(expected), check.check.metric


# ---------------------------------------------------------------- errors found when the audit runs


@pytest.mark.parametrize(
    ("check", "expected", "hint"),
    [
        ('metric = "accuracy"\nattribute = "colour"\nat_least = 0.5', "attribute = 'colour' does not fit this dataset", "Use one of: group"),
        ('metric = "accuracy"\nslice = "attr:group=Z"\nat_least = 0.5', "slice = 'attr:group=Z' does not fit", "names no value of the attribute 'group'"),
        ('metric = "fpr"\nattribute = "group"\nratio_to_reference = [0.8, 1.25]\nreference = "Z"', "reference = 'Z' does not fit", "A, B, C"),
        ('metric = "recall"\nclass = "7"\nat_least = 0.5', "class = '7' does not fit", "Use one of: 0, 1"),
    ],
)
def test_check_not_fitting_dataset(known, check, expected, hint):
    open_with, _joined = known
    dataset, spec = open_with("[[audit.checks]]\n" + check + "\n")

    with pytest.raises(ConfigError) as raised:
        run_audit(dataset, spec)

    assert "audit check 1 (" in raised.value.message
    assert "dataset.toml" in raised.value.message
    assert expected in raised.value.message
    assert hint in raised.value.hint


def test_binary_needs_positive_class(known):
    open_with, _joined = known
    dataset, spec = open_with('[[audit.checks]]\nmetric = "recall"\nat_least = 0.5\n', task="")

    with pytest.raises(ConfigError) as raised:
        run_audit(dataset, spec)

    assert "audit check 1 (recall): the key 'class' is missing." in raised.value.message
    assert "Set positive_class under [task]" in raised.value.hint


def test_multiclass_needs_class(tmp_path):
    predictions = pd.DataFrame({"id": range(6), "label": list("abcabc"), "prediction": list("abccba")})
    metadata = pd.DataFrame({"id": range(6), "group": list("xxxyyy")})
    dataset, spec = write_audited(tmp_path / "multi", predictions, metadata, '[[audit.checks]]\nmetric = "fpr"\nat_most = 0.5\n', task="")

    with pytest.raises(ConfigError) as raised:
        run_audit(dataset, spec)

    assert "audit check 1 (fpr): the key 'class' is missing." in raised.value.message
    assert "needs class = \"NAME\"; classes: a, b, c" in raised.value.hint


# ---------------------------------------------------------------- per-example score mode


def test_score_mode_accuracy_matches_pandas():
    # In per-example score mode the examples have no classes: only accuracy and error rate apply.
    config = load_config(SAMPLE_DATA_DIR / "diabetes_regression")
    dataset = load_dataset(config)
    spec = parse_audit({"checks": [{"metric": "error_rate", "at_most": 0.5}, {"metric": "accuracy", "attribute": "sex", "at_least": 0.5}]}, config.source)

    result = run_audit(dataset, spec)

    predictions = pd.read_json(SAMPLE_DATA_DIR / "diabetes_regression" / "predictions.jsonl", lines=True)
    metadata = pd.read_csv(SAMPLE_DATA_DIR / "diabetes_regression" / "metadata.csv")
    joined = predictions.merge(metadata, on="example_id")
    errors = joined["abs_error"] > 60
    [overall] = result.checks[0].outcomes
    assert overall.value == pytest.approx(errors.mean())
    assert overall.support == len(joined)
    by_sex = outcomes_by_group(result, 1)
    for sex, group in joined.groupby(joined["sex"].astype(str)):
        assert by_sex[sex].value == pytest.approx(1 - (group["abs_error"] > 60).mean()), sex


def test_score_mode_rejects_class_metric():
    config = load_config(SAMPLE_DATA_DIR / "diabetes_regression")
    dataset = load_dataset(config)
    spec = parse_audit({"checks": [{"metric": "recall", "at_least": 0.5}]}, config.source)

    with pytest.raises(ConfigError) as raised:
        run_audit(dataset, spec)

    assert "audit check 1 (recall): metric = 'recall' does not fit this dataset." in raised.value.message
    assert "use accuracy or error_rate" in raised.value.hint


def test_filter_keeping_nothing_is_rejected(known):
    open_with, _joined = known
    dataset, spec = open_with('keep = ["attr:group=A"]\n[[audit.checks]]\nmetric = "accuracy"\nat_least = 0.5\n')

    with pytest.raises(InputError) as raised:
        run_audit(dataset, spec, exclude=["attr:group=A"])

    assert raised.value.message == "The filter keeps no example: only examples with group = A; without examples with group = A."
