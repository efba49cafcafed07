"""Translation of user-facing text.

Every message a user reads (UI labels, errors, warnings, CLI text output, the
report) passes through :func:`_`, or :func:`ngettext` when its wording depends
on a count. English is the source language: the English
text is the message id, so with no catalog installed the text is returned as
written. Catalogs are standard gettext ``.mo`` files under
``analysis/locale/<lang>/LC_MESSAGES/messages.mo``.

Placeholders use ``str.format`` names (``{count}``, ``{file}``), filled after
translation so a translator may reorder them.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"

_active: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "analysis_translations", default=None
)


def load_translations(language: str) -> gettext.NullTranslations:
    """Load the catalog for ``language``, falling back to the English source text."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def set_language(language: str) -> None:
    """Make ``language`` the language of messages in the current context (thread or task)."""
    _active.set(load_translations(language))


@contextlib.contextmanager
def using(translations: gettext.NullTranslations):
    """Translate with ``translations`` inside the block, then restore the previous catalog."""
    token = _active.set(translations)
    try:
        yield
    finally:
        _active.reset(token)


def _(message: str, /, **params: object) -> str:
    """Translate ``message`` and fill its ``{name}`` placeholders from ``params``."""
    translations = _active.get()
    text = translations.gettext(message) if translations is not None else message
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, count: int, /, **params: object) -> str:
    """Translate the singular or plural form for ``count``, and fill ``{count}`` and ``params``.

    A ``count`` in ``params`` replaces the number in the text, for a count
    formatted with thousands separators.
    """
    translations = _active.get()
    if translations is None:
        text = singular if count == 1 else plural
    else:
        text = translations.ngettext(singular, plural, count)
    return text.format(**{"count": count, **params})


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (module constants)."""
    return message


def format_percent(fraction: float) -> str:
    """Format a fraction as a percentage with one decimal, for example 0.1234 as "12.3%"."""
    return _("{value:.1f}%", value=100 * fraction)


def percentage_points(difference: float) -> float:
    """Convert a difference of fractions to percentage points.

    A difference that shows as 0.0 at one decimal becomes exactly 0, so it
    never prints as "-0.0".
    """
    points = 100 * difference
    return 0.0 if abs(points) < 0.05 else points
