"""The error types that the dashboard and the CLI show to users.

Anything raised as :class:`AnalysisError` carries a translated message that
names the file, column and value at fault, and a hint saying what to do. The
UI and the CLI catch only this hierarchy; any other exception is a bug.
"""

from __future__ import annotations

# Examples of offending values quoted in a message.
SHOWN_VALUES = 5


class AnalysisError(Exception):
    """A problem with the user's input that stops the analysis."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InputError(AnalysisError):
    """A data file is missing, unreadable or inconsistent."""


class ConfigError(AnalysisError):
    """The dataset file or the command-line options are invalid."""


class QueryError(AnalysisError):
    """A query failed on a remote engine (Spark), for example because the cluster could not read a file or ran out of memory."""

    def __init__(self, message: str, hint: str | None = None, reason: str = ""):
        super().__init__(message, hint)
        self.reason = reason
