"""Keys of the summary checked by several test files."""

SLICE_NUMBERS = ("count", "share", "errors", "accuracy", "error_rate", "ci_low", "ci_high", "gap_to_overall", "p_value", "p_adjusted")
# Keys compared exactly: the test's name and the flag.
SIGNIFICANCE_LABELS = ("test", "flagged")
TAG_NUMBERS = (
    "count",
    "share_of_data",
    "errors",
    "error_rate",
    "ci_low",
    "ci_high",
    "share_of_errors",
    "accuracy",
    "hlp",
    "room_for_improvement",
    "potential_gain",
    "p_value",
    "p_adjusted",
)
CLASS_KEYS = ("classes", "confusion_matrix", "confused_pairs", "imbalance")
CLASS_AVERAGES = (
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
)
