"""Deep links into the Tags, What-if and Overview pages in headless Chromium: each page restores the state in the address.

Every number is recomputed from the sample files with pandas and scikit-learn
(sample_tables.py), never through the engine.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

# Without playwright the helpers below cannot be imported; conftest.py skips the tests with the reason.
pytest.importorskip(
    "playwright",
    reason="playwright is not installed: pip install -r requirements-dev.txt",
)

from dashboard_ui import metric_value, open_page, query_parameters, table_cell
from playwright.sync_api import Page, expect
from sample_tables import (
    SCREENING,
    SCREENING_POSITIVE,
    SPEECH,
    screening_examples,
    speech_examples,
    speech_hlp,
)


def shown_percent(fraction: float) -> str:
    """A fraction as the dashboard shows it: a percentage with one decimal."""
    return f"{100 * fraction:.1f}%"


# ---------------------------------------------------------------- Tags


def test_tags_link_excludes_tag(page: Page, dashboard):
    examples = speech_examples()
    without_car_noise = int((~examples["car_noise"]).sum())

    open_page(page, dashboard.url(f"/Tags?dataset={SPEECH}&exclude=tag:car_noise"))

    banner = page.get_by_test_id("stMain").get_by_text("Global filter on:")
    expect(banner).to_contain_text(f"computed on {without_car_noise:,} of {len(examples):,} examples")
    # The grid keeps raw numbers for screen readers: the count is an integer without separators.
    expect(table_cell(page, "car_noise", "count")).to_have_text("0")
    people_noise = int((~examples["car_noise"] & examples["people_noise"]).sum())
    expect(table_cell(page, "people_noise", "count")).to_have_text(str(people_noise))


# ---------------------------------------------------------------- What-if


def accuracy_after_reaching_hlp(examples: pd.DataFrame, tags: list[str], hlp: dict[str, float]) -> float:
    """Overall accuracy when each group of examples sharing the same chosen tags reaches the highest HLP among them.

    An example with several chosen tags belongs to one group only, and a group
    already above its target keeps its own accuracy.
    """
    chosen = examples[tags]
    affected = chosen.any(axis=1)
    correct_after = float((~examples.loc[~affected, "is_error"]).sum())
    for carried, group in examples[affected].groupby([examples.loc[affected, tag] for tag in tags]):
        target = max(hlp[tag] for tag, has_tag in zip(tags, carried, strict=True) if has_tag)
        correct = float((~group["is_error"]).sum())
        correct_after += max(correct, target * len(group))
    return correct_after / len(examples)


def test_what_if_link_estimates_accuracy(page: Page, dashboard):
    tags = ["car_noise", "people_noise"]
    examples = speech_examples()
    after = accuracy_after_reaching_hlp(examples, tags, speech_hlp())
    before = float((~examples["is_error"]).mean())
    affected = int(examples[tags].any(axis=1).sum())

    open_page(page, dashboard.url(f"/What_if?dataset={SPEECH}&tags={tags[0]}&tags={tags[1]}"))

    expect(metric_value(page, "Accuracy after")).to_have_text(shown_percent(after))
    expect(metric_value(page, "Accuracy now")).to_have_text(shown_percent(before))
    expect(metric_value(page, "Examples affected")).to_have_text(f"{affected:,}")
    # The brute force must change something, or the check above could pass with the estimate switched off.
    assert after > before


# ---------------------------------------------------------------- Overview threshold


def test_overview_link_threshold_metrics(page: Page, dashboard):
    threshold = 0.2
    examples = screening_examples()
    # The sample has a probability column per class; the positive class's is the score the threshold cuts.
    truth = examples["true_label"] == SCREENING_POSITIVE
    predicted = examples[f"prob_{SCREENING_POSITIVE}"] >= threshold
    true_negative, false_positive, _, _ = confusion_matrix(truth, predicted, labels=[False, True]).ravel()

    open_page(page, dashboard.url(f"/?dataset={SCREENING}&threshold={threshold}"))

    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(f"At threshold {threshold:.2f}, an example is predicted '{SCREENING_POSITIVE}'")).to_be_visible()
    expect(metric_value(page, "Precision")).to_have_text(shown_percent(precision_score(truth, predicted)))
    expect(metric_value(page, "Recall")).to_have_text(shown_percent(recall_score(truth, predicted)))
    expect(metric_value(page, "F1")).to_have_text(f"{f1_score(truth, predicted):.3f}")
    expect(metric_value(page, "Accuracy at this threshold")).to_have_text(shown_percent(accuracy_score(truth, predicted)))
    expect(metric_value(page, "False-positive rate")).to_have_text(shown_percent(false_positive / (false_positive + true_negative)))
    assert query_parameters(page.url)["threshold"] == [str(threshold)]
