"""Helpers that put names into SQL text safely.

User-chosen names (columns, tags) reach SQL only through :func:`quote_ident`,
after the caller has checked them against the real columns of a file. Values
are always bound as parameters.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote ``name`` as a SQL identifier, doubling embedded double quotes."""
    if "\x00" in name:
        raise ValueError(f"identifier contains a NUL character: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def placeholders(count: int) -> str:
    """Return ``?, ?, ...`` with ``count`` parameter markers."""
    return ", ".join(["?"] * count)
