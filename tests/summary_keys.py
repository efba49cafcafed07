"""Numeric keys of the summary's slice and tag rows, checked by several test files."""

SLICE_NUMBERS = ("count", "share", "errors", "accuracy", "error_rate", "ci_low", "ci_high", "gap_to_overall")
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
)
