"""Generate the four sample datasets under sample_data/.

Run from the repository root:

    python sample_data/make_samples.py

Each dataset gets its own folder with data files and a dataset.toml. Every random draw
comes from numpy's default_rng with a fixed seed, and the cross-validation folds use a
fixed random_state. A rerun with the same versions of numpy, pandas, scikit-learn,
pyarrow and Pillow therefore writes byte-identical files. Other versions can change the
Parquet header, the PNG compression or the last digits of a model output.

The speech and screening data are synthetic. The digits and diabetes samples use the
datasets bundled with scikit-learn, so no network access is needed.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image
from sklearn.datasets import load_diabetes, load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SAMPLE_DIR = Path(__file__).resolve().parent

SPEECH_SEED = 1701
SCREENING_SEED = 1702
DIGITS_SEED = 1703
DIABETES_SEED = 1704
SPEECH_RUNS_SEED = 1705


# ---------------------------------------------------------------------------
# Speech commands: synthetic keyword-spotting results
# ---------------------------------------------------------------------------

SPEECH_KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]

# Share of each class. "unknown" (any word other than the ten keywords) and "silence" are
# the largest classes, so the class mix is uneven.
SPEECH_CLASS_SHARES = {
    "yes": 0.062,
    "no": 0.060,
    "up": 0.058,
    "down": 0.061,
    "left": 0.059,
    "right": 0.060,
    "on": 0.057,
    "off": 0.058,
    "stop": 0.062,
    "go": 0.059,
    "silence": 0.100,
    "unknown": 0.304,
}

# Relative weight of each wrong prediction for a given true class. The pairs follow
# words that sound alike (off/up, no/go, on/off), and most other errors fall into the
# catch-all "unknown" class.
SPEECH_CONFUSIONS = {
    "yes": {"unknown": 0.5, "left": 0.3, "no": 0.2},
    "no": {"go": 0.5, "down": 0.2, "unknown": 0.3},
    "up": {"off": 0.5, "stop": 0.2, "unknown": 0.3},
    "down": {"go": 0.3, "no": 0.3, "unknown": 0.4},
    "left": {"yes": 0.3, "right": 0.2, "unknown": 0.5},
    "right": {"left": 0.3, "off": 0.1, "unknown": 0.6},
    "on": {"off": 0.4, "no": 0.2, "down": 0.1, "unknown": 0.3},
    "off": {"up": 0.5, "on": 0.3, "unknown": 0.2},
    "stop": {"up": 0.4, "off": 0.1, "unknown": 0.5},
    "go": {"no": 0.5, "down": 0.2, "unknown": 0.3},
    "silence": {"unknown": 0.8, "off": 0.1, "up": 0.1},
    "unknown": {
        **{keyword: 0.07 for keyword in SPEECH_KEYWORDS},
        "silence": 0.3,
    },
}

SPEECH_TAGS = ["car_noise", "people_noise", "low_bandwidth"]

# Target accuracy among all examples that carry each tag, overlaps included.
SPEECH_TAG_ACCURACY = {"car_noise": 0.89, "people_noise": 0.87, "low_bandwidth": 0.70}
SPEECH_UNTAGGED_ACCURACY = 0.94

# Human-level accuracy per tag, written to hlp.csv.
SPEECH_HLP = {"(untagged)": 0.95, "car_noise": 0.93, "people_noise": 0.89, "low_bandwidth": 0.70}

# Planted slice: this accent on this device gets SPEECH_SLICE_EXTRA_ERROR added to the
# error rate of its tag group. The slice is a small part of each attribute value, so the
# accent alone and the device alone look only mildly worse than average.
SPEECH_SLICE_ACCENT = "irish"
SPEECH_SLICE_DEVICE = "smart_speaker"
SPEECH_SLICE_EXTRA_ERROR = 0.20


def make_speech_commands(folder: Path, seed: int) -> None:
    """Write synthetic keyword-spotting predictions, metadata, tags and HLP to folder."""
    rng = np.random.default_rng(seed)
    n = 20_000

    ids = np.array([f"utt_{i:05d}" for i in range(1, n + 1)])
    classes = list(SPEECH_CLASS_SHARES)
    shares = np.array(list(SPEECH_CLASS_SHARES.values()))
    labels = rng.choice(classes, size=n, p=shares / shares.sum())

    # Speaker and recording attributes, independent of the class and of each other.
    gender = rng.choice(["female", "male"], size=n, p=[0.49, 0.51]).astype(object)
    gender[rng.random(n) < 0.015] = None
    age_group = rng.choice(["18-29", "30-44", "45-59", "60+"], size=n, p=[0.32, 0.30, 0.23, 0.15])
    accent = rng.choice(
        ["american", "british", "indian", "australian", "irish"],
        size=n,
        p=[0.40, 0.22, 0.18, 0.10, 0.10],
    )
    device = rng.choice(["phone", "laptop", "smart_speaker"], size=n, p=[0.5, 0.3, 0.2])

    # Duration is the length in seconds of the detected speech inside the 1-second clip.
    # Silence clips only contain short noise bursts.
    duration = np.clip(rng.normal(0.75, 0.13, size=n), 0.30, 1.0)
    is_silence = labels == "silence"
    duration[is_silence] = rng.uniform(0.0, 0.15, size=is_silence.sum())
    duration = np.round(duration, 3)

    # Car noise and crowd noise rarely occur together, so the background is drawn as one
    # category and only a small share of car recordings also get people_noise.
    background = rng.choice(["quiet", "car", "people"], size=n, p=[0.66, 0.04, 0.30])
    car_noise = background == "car"
    people_noise = (background == "people") | (car_noise & (rng.random(n) < 0.08))
    low_bandwidth = rng.random(n) < 0.06
    tag_flags = {
        "car_noise": car_noise,
        "people_noise": people_noise,
        "low_bandwidth": low_bandwidth,
    }

    in_slice = (accent == SPEECH_SLICE_ACCENT) & (device == SPEECH_SLICE_DEVICE)

    # Within each tag group, short words and the catch-all class are more likely to be
    # chosen as errors, and silence is less likely.
    difficulty = np.ones(n)
    difficulty[labels == "unknown"] = 1.3
    difficulty[is_silence] = 0.5
    difficulty[(duration < 0.55) & ~is_silence] *= 2.0

    is_error = choose_speech_errors(rng, tag_flags, in_slice, difficulty)

    # Replace the label of each error with a plausible confusion.
    predictions = labels.copy()
    for true_class, targets in SPEECH_CONFUSIONS.items():
        rows = np.flatnonzero(is_error & (labels == true_class))
        weights = np.array(list(targets.values()))
        predictions[rows] = rng.choice(list(targets), size=len(rows), p=weights / weights.sum())

    # Top-class probability, at least 1/12 for 12 classes. Correct predictions get
    # higher confidence on average, but the two distributions overlap.
    confidence = np.where(is_error, rng.beta(3.0, 2.4, size=n), rng.beta(9.0, 1.6, size=n))
    score = np.round(1 / 12 + (1 - 1 / 12) * confidence, 4)

    folder.mkdir(parents=True, exist_ok=True)

    prediction_table = pd.DataFrame(
        {"example_id": ids, "true_label": labels, "pred_label": predictions, "score": score}
    )
    write_csv(prediction_table, folder / "predictions.csv")

    metadata = pd.DataFrame(
        {
            "example_id": ids,
            "gender": gender,
            "age_group": age_group,
            "accent": accent,
            "device": device,
            "duration": duration,
            **tag_flags,
        }
    )
    write_csv(metadata, folder / "metadata.csv")

    hlp = pd.DataFrame({"tag": list(SPEECH_HLP), "hlp": list(SPEECH_HLP.values())})
    write_csv(hlp, folder / "hlp.csv")

    write_text(
        folder / "dataset.toml",
        f"""schema = 1
name = "Speech commands (sample)"
description = "Synthetic keyword-spotting results with background-noise tags, human-level accuracy per tag and one accent-device slice that fails far more often than either attribute alone suggests."

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"
hlp = "hlp.csv"

[columns]
id = "example_id"
label = "true_label"
prediction = "pred_label"
score = "score"

[tags]
columns = {toml_list(SPEECH_TAGS)}

[slices]
attributes = ["gender", "age_group", "accent", "device", "duration"]
sensitive = ["gender", "age_group", "accent"]
{SPEECH_RUNS_TOML}""",
    )
    make_speech_runs(folder, labels, predictions, tag_flags, SPEECH_RUNS_SEED)


# Three runs of the speech model, in time order. "more_data" has the predictions of
# predictions.csv. "baseline" is an older, weaker model. "car_noise_augment" was trained
# with car-noise augmentation: it fixes most car_noise errors of "more_data" but breaks
# some low_bandwidth examples, while overall accuracy barely moves.
SPEECH_RUNS = ["baseline", "more_data", "car_noise_augment"]
SPEECH_RUNS_TOML = """
[runs]
files = ["runs.parquet"]
run_column = "run"
reference = "baseline"

[runs.details.baseline]
time = 2024-05-02T09:30:00Z
code_version = "4f2c1ab"
dirty = false
params = { learning_rate = 0.001, epochs = 20, augment = "none", train_hours = 800 }
notes = "First model on the full label set."

[runs.details.more_data]
time = 2024-05-16T14:05:00Z
code_version = "9b07e3d"
dirty = false
params = { learning_rate = 0.001, epochs = 30, augment = "none", train_hours = 1400 }
notes = "Same architecture, 600 more hours of training audio."

[runs.details.car_noise_augment]
time = 2024-06-03T11:40:00Z
code_version = "c51d8aa"
dirty = true
params = { learning_rate = 0.0005, epochs = 30, augment = "car_noise", train_hours = 1400 }
notes = "Mixes recorded car noise into 30% of the training clips."
"""

# Changes from one run to the next, as shares of the examples they can apply to.
SPEECH_BASELINE_EXTRA_ERRORS = 0.04  # of the examples "more_data" gets right
SPEECH_BASELINE_FIXED = 0.15  # of the errors of "more_data"
SPEECH_AUGMENT_CAR_FIXED = 0.65  # of the car_noise errors of "more_data"
SPEECH_AUGMENT_LOW_BANDWIDTH_BROKEN = 0.06  # of the low_bandwidth examples "more_data" gets right
SPEECH_AUGMENT_OTHER_FIXED = 0.02  # of the other errors
SPEECH_AUGMENT_OTHER_BROKEN = 0.002  # of the other examples it gets right


def make_speech_runs(
    folder: Path, labels: np.ndarray, predictions: np.ndarray, tag_flags: dict[str, np.ndarray], seed: int
) -> None:
    """Write runs.parquet with the predictions of the three runs of SPEECH_RUNS.

    A generator of its own keeps the other speech files the same as before the runs existed.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    correct = predictions == labels

    def make_wrong(rows: np.ndarray, chosen: np.ndarray) -> None:
        for row in rows:
            targets = SPEECH_CONFUSIONS[labels[row]]
            weights = np.array(list(targets.values()))
            chosen[row] = rng.choice(list(targets), p=weights / weights.sum())

    def pick(mask: np.ndarray, share: float) -> np.ndarray:
        candidates = np.flatnonzero(mask)
        return rng.choice(candidates, size=round(share * len(candidates)), replace=False)

    baseline = predictions.copy()
    make_wrong(pick(correct, SPEECH_BASELINE_EXTRA_ERRORS), baseline)
    fixed_rows = pick(~correct, SPEECH_BASELINE_FIXED)
    baseline[fixed_rows] = labels[fixed_rows]

    car_noise = tag_flags["car_noise"]
    low_bandwidth = tag_flags["low_bandwidth"]
    augmented = predictions.copy()
    fixed_rows = np.concatenate(
        [pick(~correct & car_noise, SPEECH_AUGMENT_CAR_FIXED), pick(~correct & ~car_noise, SPEECH_AUGMENT_OTHER_FIXED)]
    )
    augmented[fixed_rows] = labels[fixed_rows]
    make_wrong(pick(correct & low_bandwidth, SPEECH_AUGMENT_LOW_BANDWIDTH_BROKEN), augmented)
    make_wrong(pick(correct & ~low_bandwidth, SPEECH_AUGMENT_OTHER_BROKEN), augmented)

    ids = np.array([f"utt_{i:05d}" for i in range(1, n + 1)])
    runs = pd.concat(
        [
            pd.DataFrame({"run": name, "example_id": ids, "pred_label": chosen})
            for name, chosen in zip(SPEECH_RUNS, [baseline, predictions, augmented])
        ],
        ignore_index=True,
    )
    write_parquet(runs, folder / "runs.parquet")


def choose_speech_errors(
    rng: np.random.Generator,
    tag_flags: dict[str, np.ndarray],
    in_slice: np.ndarray,
    difficulty: np.ndarray,
) -> np.ndarray:
    """Choose the errors so that every tag and the untagged examples hit their accuracy targets.

    Examples are grouped by their combination of tags. Each group gets a fixed number of
    errors, so the targets do not depend on chance. Inside a group, the planted slice gets
    a higher error rate and the other members take the remaining errors. Members are drawn
    with probability proportional to difficulty.
    """
    n = len(in_slice)

    # Encode each tag combination as a bit mask: bit i is set when the example has tag i.
    combination = np.zeros(n, dtype=int)
    for bit, tag in enumerate(SPEECH_TAGS):
        combination |= tag_flags[tag].astype(int) << bit
    group_sizes = np.bincount(combination, minlength=2 ** len(SPEECH_TAGS))

    error_counts = plan_speech_error_counts(group_sizes)

    is_error = np.zeros(n, dtype=bool)
    for code, error_count in enumerate(error_counts):
        members = np.flatnonzero(combination == code)
        slice_members = members[in_slice[members]]
        other_members = members[~in_slice[members]]

        group_error_rate = error_count / max(len(members), 1)
        slice_error_rate = group_error_rate + SPEECH_SLICE_EXTRA_ERROR
        slice_error_count = round(slice_error_rate * len(slice_members))
        slice_error_count = min(slice_error_count, len(slice_members), error_count)
        other_error_count = error_count - slice_error_count

        is_error[draw_weighted(rng, slice_members, slice_error_count, difficulty)] = True
        is_error[draw_weighted(rng, other_members, other_error_count, difficulty)] = True

    return is_error


def plan_speech_error_counts(group_sizes: np.ndarray) -> list[int]:
    """Return the number of errors for each tag combination, indexed by its bit mask.

    Combinations with two or more tags are a little harder than their hardest tag, by 3
    points per extra tag. The examples with exactly one tag then take whatever errors that
    tag still needs to reach its target accuracy.
    """
    tag_bits = {tag: 1 << bit for bit, tag in enumerate(SPEECH_TAGS)}
    error_counts = [0] * len(group_sizes)

    error_counts[0] = round((1 - SPEECH_UNTAGGED_ACCURACY) * group_sizes[0])

    for code, size in enumerate(group_sizes):
        tags = [tag for tag, bit in tag_bits.items() if code & bit]
        if len(tags) >= 2:
            accuracy = min(SPEECH_TAG_ACCURACY[tag] for tag in tags) - 0.03 * (len(tags) - 1)
            error_counts[code] = round((1 - accuracy) * size)

    for tag, bit in tag_bits.items():
        carrying = [code for code in range(len(group_sizes)) if code & bit]
        target = round((1 - SPEECH_TAG_ACCURACY[tag]) * group_sizes[carrying].sum())
        from_overlaps = sum(error_counts[code] for code in carrying if code != bit)
        error_counts[bit] = target - from_overlaps
        if not 0 <= error_counts[bit] <= group_sizes[bit]:
            raise ValueError(
                f"cannot reach the accuracy target for tag {tag!r}: the examples with only "
                f"this tag would need {error_counts[bit]} errors out of {group_sizes[bit]}. "
                "Reduce the tag overlap or the overlap penalty."
            )

    return error_counts


def draw_weighted(
    rng: np.random.Generator, candidates: np.ndarray, count: int, weights: np.ndarray
) -> np.ndarray:
    """Draw count distinct candidates with probability proportional to their weights."""
    if count == 0:
        return candidates[:0]
    candidate_weights = weights[candidates]
    probabilities = candidate_weights / candidate_weights.sum()
    return rng.choice(candidates, size=count, replace=False, p=probabilities)


# ---------------------------------------------------------------------------
# Screening: synthetic rare-disease classifier that mostly predicts the majority class
# ---------------------------------------------------------------------------


def make_screening(folder: Path, seed: int) -> None:
    """Write synthetic COVID screening predictions and metadata as Parquet to folder.

    Exactly 100 of 5,000 recordings are positive. The model flags 8 recordings, 5 of them
    correctly, so its accuracy (98.04%) is close to always predicting "negative" (98%) while
    its recall for "covid" is 5%.
    """
    rng = np.random.default_rng(seed)
    n = 5_000
    positive_count = 100
    true_positive_count = 5
    false_positive_count = 3

    ids = np.arange(n)
    sex = rng.choice(["female", "male"], size=n, p=[0.52, 0.48])
    age_group = rng.choice(["18-39", "40-59", "60+"], size=n, p=[0.40, 0.38, 0.22])
    device = rng.choice(["android", "ios", "web"], size=n, p=[0.45, 0.35, 0.20])

    # Positives are drawn more often from older participants.
    age_weight = pd.Series(age_group).map({"18-39": 1.0, "40-59": 1.5, "60+": 2.5}).to_numpy()
    positives = rng.choice(n, size=positive_count, replace=False, p=age_weight / age_weight.sum())
    labels = np.full(n, "negative", dtype=object)
    labels[positives] = "covid"
    negatives = np.flatnonzero(labels == "negative")

    # Every probability stays below 0.5 except for the flagged recordings. Positives get
    # higher probabilities on average, so a lower threshold would find more of them.
    prob_covid = np.empty(n)
    prob_covid[negatives] = 0.45 * rng.beta(1.2, 14.0, size=len(negatives))
    prob_covid[positives] = 0.45 * rng.beta(2.5, 5.0, size=positive_count)

    true_positives = rng.choice(positives, size=true_positive_count, replace=False)
    false_positives = rng.choice(negatives, size=false_positive_count, replace=False)
    prob_covid[true_positives] = rng.uniform(0.55, 0.90, size=true_positive_count)
    prob_covid[false_positives] = rng.uniform(0.51, 0.70, size=false_positive_count)

    # Round first, then derive everything else from the rounded values so the files agree
    # with each other.
    prob_covid = np.round(prob_covid, 4)
    prob_negative = np.round(1 - prob_covid, 4)
    predictions = np.where(prob_covid >= 0.5, "covid", "negative")
    score = np.maximum(prob_covid, prob_negative)

    folder.mkdir(parents=True, exist_ok=True)

    prediction_table = pd.DataFrame(
        {
            "example_id": ids,
            "true_label": labels,
            "pred_label": predictions,
            "score": score,
            "prob_covid": prob_covid,
            "prob_negative": prob_negative,
        }
    )
    write_parquet(prediction_table, folder / "predictions.parquet")

    metadata = pd.DataFrame(
        {"example_id": ids, "sex": sex, "age_group": age_group, "device": device}
    )
    write_parquet(metadata, folder / "metadata.parquet")

    write_text(
        folder / "dataset.toml",
        """schema = 1
name = "COVID screening (sample)"
description = "Synthetic screening results where 2% of recordings are positive and the model flags only 8, so 98% accuracy hides a recall of 5% for covid."

[files]
predictions = "predictions.parquet"
metadata = "metadata.parquet"

[columns]
id = "example_id"
label = "true_label"
prediction = "pred_label"
score = "score"

[slices]
attributes = ["sex", "age_group", "device"]
sensitive = ["sex", "age_group"]

[task]
positive_class = "covid"

[audit]
min_support = 30

[[audit.checks]]
name = "covid recall"
metric = "recall"
class = "covid"
at_least = 0.8

[[audit.checks]]
name = "accuracy by sex"
metric = "accuracy"
attribute = "sex"
at_least_overall_minus = 0.05
severity = "warning"

[[audit.checks]]
name = "error rate by device"
metric = "error_rate"
attribute = "device"
at_most_overall_plus = 0.02
severity = "warning"
""",
    )


# ---------------------------------------------------------------------------
# Digits: scikit-learn's bundled handwritten digits with a deliberately small model
# ---------------------------------------------------------------------------

# Thresholds for the tags, chosen so that each tag covers roughly 10% of the images.
DIGITS_FAINT_INK = 0.26
DIGITS_THIN_STROKE = 0.06
DIGITS_THICK_STROKE = 0.30
DIGITS_OFF_CENTER = 0.80


def make_digits(folder: Path, seed: int) -> None:
    """Write cross-validated digit predictions, pixel-derived metadata and PNGs to folder."""
    digits = load_digits()
    images = digits.images
    labels = digits.target
    n = len(labels)

    # The model is trained on 4x4 block means of the 8x8 images, which keeps it weak enough
    # to make a few hundred errors.
    block_means = images.reshape(n, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(n, 16)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(model, block_means, labels, cv=folds, method="predict_proba")
    predictions = probabilities.argmax(axis=1)

    # Each 8x8 value counts the inked pixels in a 4x4 block of the original 32x32 bitmap,
    # so it ranges from 0 to 16 (see load_digits().DESCR).
    ink = images.sum(axis=(1, 2)) / (64 * 16)

    # Stroke thickness proxy: the share of inked blocks that are completely filled. A thin
    # stroke rarely covers a whole 4x4 block.
    full_blocks = (images == 16).sum(axis=(1, 2))
    inked_blocks = (images > 0).sum(axis=(1, 2))
    stroke_thickness = full_blocks / inked_blocks

    # Offset of the intensity-weighted centre of mass from the image centre, in 8x8 pixels.
    # Positive x is right of centre and positive y is below it.
    rows, cols = np.mgrid[0:8, 0:8]
    total = images.sum(axis=(1, 2))
    x_offset = (images * cols).sum(axis=(1, 2)) / total - 3.5
    y_offset = (images * rows).sum(axis=(1, 2)) / total - 3.5

    tags = []
    for i in range(n):
        image_tags = []
        if ink[i] < DIGITS_FAINT_INK:
            image_tags.append("faint")
        if np.hypot(x_offset[i], y_offset[i]) >= DIGITS_OFF_CENTER:
            image_tags.append("off_center")
        if stroke_thickness[i] >= DIGITS_THICK_STROKE:
            image_tags.append("thick_stroke")
        if stroke_thickness[i] < DIGITS_THIN_STROKE:
            image_tags.append("thin_stroke")
        tags.append(";".join(image_tags))

    image_dir = folder / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    image_paths = []
    for i in range(n):
        relative_path = f"images/{i:04d}.png"
        write_digit_png(images[i], folder / relative_path)
        image_paths.append(relative_path)

    prediction_table = pd.DataFrame(
        {
            "example_id": np.arange(n),
            "true_label": labels,
            "pred_label": predictions,
            "score": np.round(probabilities.max(axis=1), 4),
        }
    )
    for digit in range(10):
        prediction_table[f"prob_{digit}"] = np.round(probabilities[:, digit], 4)
    write_csv(prediction_table, folder / "predictions.csv")

    metadata = pd.DataFrame(
        {
            "example_id": np.arange(n),
            "image": image_paths,
            "ink": np.round(ink, 4),
            "ink_level": bin_values(ink, [0.29, 0.32], ["low", "medium", "high"]),
            "stroke_thickness": np.round(stroke_thickness, 4),
            "stroke_level": bin_values(stroke_thickness, [0.14, 0.22], ["thin", "medium", "thick"]),
            "x_offset": np.round(x_offset, 4),
            "x_position": bin_values(x_offset, [-0.3, 0.3], ["left", "center", "right"]),
            "y_offset": np.round(y_offset, 4),
            "y_position": bin_values(y_offset, [-0.3, 0.3], ["top", "center", "bottom"]),
            "tags": tags,
        }
    )
    write_csv(metadata, folder / "metadata.csv")

    # The image column is left out of [slices] attributes because every value is unique,
    # so slicing by it would produce one slice per image.
    write_text(
        folder / "dataset.toml",
        """schema = 1
name = "Handwritten digits (sample)"
description = "Cross-validated predictions of a small logistic regression on scikit-learn's 8x8 digits, with metadata and tags measured from the pixels."

[files]
predictions = "predictions.csv"
metadata = "metadata.csv"

[columns]
id = "example_id"
label = "true_label"
prediction = "pred_label"
score = "score"

[tags]
list_column = "tags"
separator = ";"

[slices]
attributes = ["ink", "ink_level", "stroke_thickness", "stroke_level", "x_offset", "x_position", "y_offset", "y_position"]
""",
    )


def write_digit_png(image: np.ndarray, path: Path) -> None:
    """Save one 8x8 digit as a 32x32 grayscale PNG with dark ink on a white background."""
    gray = np.round(255 - image * 255 / 16).astype(np.uint8)
    picture = Image.fromarray(gray).resize((32, 32), Image.Resampling.NEAREST)
    picture.save(path, format="PNG")


def bin_values(values: np.ndarray, edges: list[float], names: list[str]) -> np.ndarray:
    """Return names[i] for each value, where i counts the edges at or below the value."""
    return np.array(names)[np.searchsorted(edges, values, side="right")]


# ---------------------------------------------------------------------------
# Diabetes: scikit-learn's bundled regression data, evaluated per example
# ---------------------------------------------------------------------------

DIABETES_ERROR_THRESHOLD = 60.0


def make_diabetes_regression(folder: Path, seed: int) -> None:
    """Write cross-validated regression predictions, metadata and long-form tags to folder."""
    # scaled=False keeps age, BMI and blood pressure in their natural units.
    diabetes = load_diabetes(scaled=False)
    features = diabetes.data
    target = diabetes.target
    n = len(target)

    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(LinearRegression(), features, target, cv=folds)

    # The target is a whole number in the source data, so it is stored as an integer.
    # The absolute error is computed from the rounded prediction to match the file.
    y_true = target.astype(int)
    y_pred = np.round(predicted, 2)
    abs_error = np.round(np.abs(y_true - y_pred), 2)

    folder.mkdir(parents=True, exist_ok=True)

    with open(folder / "predictions.jsonl", "w", encoding="utf-8", newline="\n") as output:
        for i in range(n):
            record = {
                "example_id": i,
                "y_true": int(y_true[i]),
                "y_pred": float(y_pred[i]),
                "abs_error": float(abs_error[i]),
            }
            output.write(json.dumps(record) + "\n")

    # The raw data codes sex as 1 or 2. scikit-learn's dataset description does not document
    # which code is female, so the codes are kept as neutral labels.
    feature_index = {name: i for i, name in enumerate(diabetes.feature_names)}
    age = features[:, feature_index["age"]].astype(int)
    sex = np.where(features[:, feature_index["sex"]] == 1, "sex_1", "sex_2")
    bmi = np.round(features[:, feature_index["bmi"]], 1)
    bp = np.round(features[:, feature_index["bp"]], 2)

    metadata = pd.DataFrame(
        {"example_id": np.arange(n), "age": age, "sex": sex, "bmi": bmi, "bp": bp}
    )
    write_csv(metadata, folder / "metadata.csv")

    # BMI of 30 or more is the usual obesity cut-off. The blood pressure cut-off tags about
    # 18% of the patients, and the target cut-offs tag the 8% in the two tails.
    tag_rules = {
        "high_bmi": bmi >= 30,
        "high_bp": bp >= 110,
        "extreme_target": (y_true < 50) | (y_true > 300),
    }
    tag_rows = [
        {"example_id": i, "tag": tag}
        for i in range(n)
        for tag, mask in tag_rules.items()
        if mask[i]
    ]
    write_csv(pd.DataFrame(tag_rows, columns=["example_id", "tag"]), folder / "tags.csv")

    write_text(
        folder / "dataset.toml",
        f"""schema = 1
name = "Diabetes progression regression (sample)"
description = "Cross-validated linear regression on scikit-learn's diabetes data, where an example counts as an error when its absolute error is above {DIABETES_ERROR_THRESHOLD:g}."

[files]
predictions = "predictions.jsonl"
metadata = "metadata.csv"
tags = "tags.csv"

[columns]
id = "example_id"
score = "abs_error"

[slices]
attributes = ["age", "sex", "bmi", "bp"]
sensitive = ["sex"]

[task]
error_threshold = {DIABETES_ERROR_THRESHOLD}
error_when = "above"
""",
    )


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def write_csv(table: pd.DataFrame, path: Path) -> None:
    # A fixed line terminator keeps the bytes the same on every platform.
    table.to_csv(path, index=False, lineterminator="\n")


def write_parquet(table: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)


def write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as output:
        output.write(text)


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


# ---------------------------------------------------------------------------
# Summary, computed from the files as written
# ---------------------------------------------------------------------------


def summarize_speech(folder: Path) -> None:
    predictions = pd.read_csv(folder / "predictions.csv")
    metadata = pd.read_csv(folder / "metadata.csv")
    merged = predictions.merge(metadata, on="example_id", validate="one_to_one")
    correct = merged["true_label"] == merged["pred_label"]

    print(f"speech_commands: {len(merged)} rows, accuracy {correct.mean():.2%}")

    untagged = ~merged[SPEECH_TAGS].any(axis=1)
    print(f"  (untagged): {untagged.sum()} examples, accuracy {correct[untagged].mean():.2%}")
    for tag in SPEECH_TAGS:
        carrying = merged[tag]
        print(f"  {tag}: {carrying.sum()} examples, accuracy {correct[carrying].mean():.2%}")

    in_accent = merged["accent"] == SPEECH_SLICE_ACCENT
    on_device = merged["device"] == SPEECH_SLICE_DEVICE
    slice_groups = {
        "overall": pd.Series(True, index=merged.index),
        f"accent={SPEECH_SLICE_ACCENT}": in_accent,
        f"device={SPEECH_SLICE_DEVICE}": on_device,
        f"accent={SPEECH_SLICE_ACCENT} and device={SPEECH_SLICE_DEVICE}": in_accent & on_device,
    }
    for group_name, rows in slice_groups.items():
        print(f"  error rate {group_name}: {1 - correct[rows].mean():.2%} ({rows.sum()} examples)")

    runs = pd.read_parquet(folder / "runs.parquet").merge(metadata, on="example_id").merge(
        predictions[["example_id", "true_label"]], on="example_id"
    )
    for name in SPEECH_RUNS:
        run = runs[runs["run"] == name]
        right = run["pred_label"] == run["true_label"]
        per_tag = ", ".join(f"{tag} {right[run[tag]].mean():.2%}" for tag in SPEECH_TAGS)
        print(f"  run {name}: accuracy {right.mean():.2%}; {per_tag}")

    score_correct = merged["score"][correct].mean()
    score_error = merged["score"][~correct].mean()
    print(f"  mean score: correct {score_correct:.3f}, errors {score_error:.3f}")


def summarize_screening(folder: Path) -> None:
    predictions = pd.read_parquet(folder / "predictions.parquet")
    correct = predictions["true_label"] == predictions["pred_label"]
    positive = predictions["true_label"] == "covid"
    flagged = predictions["pred_label"] == "covid"

    print(f"screening: {len(predictions)} rows, accuracy {correct.mean():.2%}")
    true_positives = (positive & flagged).sum()
    print(f"  covid: {positive.sum()} examples, {flagged.sum()} predicted, {true_positives} correct")
    print(f"  recall of covid: {true_positives / positive.sum():.2%}")
    print(f"  majority-class accuracy: {(~positive).mean():.2%}")


def summarize_digits(folder: Path) -> None:
    predictions = pd.read_csv(folder / "predictions.csv")
    metadata = pd.read_csv(folder / "metadata.csv")
    correct = predictions["true_label"] == predictions["pred_label"]

    error_count = (~correct).sum()
    print(f"digits: {len(predictions)} rows, accuracy {correct.mean():.2%}, {error_count} errors")
    tag_lists = metadata["tags"].fillna("").str.split(";")
    for tag in ["faint", "off_center", "thick_stroke", "thin_stroke"]:
        carrying = tag_lists.apply(lambda tags: tag in tags)
        print(f"  {tag}: {carrying.sum()} examples, accuracy {correct[carrying].mean():.2%}")


def summarize_diabetes(folder: Path) -> None:
    predictions = pd.read_json(folder / "predictions.jsonl", lines=True)
    tags = pd.read_csv(folder / "tags.csv")
    is_error = predictions["abs_error"] > DIABETES_ERROR_THRESHOLD

    mean_abs_error = predictions["abs_error"].mean()
    print(
        f"diabetes_regression: {len(predictions)} rows, error rate {is_error.mean():.2%} "
        f"(abs_error > {DIABETES_ERROR_THRESHOLD:g}), mean abs_error {mean_abs_error:.1f}"
    )
    for tag, ids in tags.groupby("tag")["example_id"]:
        carrying = predictions["example_id"].isin(ids)
        print(f"  {tag}: {carrying.sum()} examples, error rate {is_error[carrying].mean():.2%}")


def main() -> None:
    make_speech_commands(SAMPLE_DIR / "speech_commands", SPEECH_SEED)
    make_screening(SAMPLE_DIR / "screening", SCREENING_SEED)
    make_digits(SAMPLE_DIR / "digits", DIGITS_SEED)
    make_diabetes_regression(SAMPLE_DIR / "diabetes_regression", DIABETES_SEED)

    summarize_speech(SAMPLE_DIR / "speech_commands")
    summarize_screening(SAMPLE_DIR / "screening")
    summarize_digits(SAMPLE_DIR / "digits")
    summarize_diabetes(SAMPLE_DIR / "diabetes_regression")


if __name__ == "__main__":
    main()
