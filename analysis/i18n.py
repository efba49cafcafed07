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
import functools
import gettext
import string
from pathlib import Path
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# The languages with a catalog, by code, each named in its own language for the picker.
LANGUAGES = {"en": "English", "vi": "Tiếng Việt"}

_active: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "analysis_translations", default=None
)
_language: contextvars.ContextVar[str] = contextvars.ContextVar("analysis_language", default=SOURCE_LANGUAGE)


def load_translations(language: str) -> gettext.NullTranslations:
    """Load the catalog for ``language``, falling back to the English source text."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def set_language(language: str) -> None:
    """Make ``language`` the language of messages and numbers in the current context (thread or task)."""
    _active.set(load_translations(language))
    _language.set(language)


def current_language() -> str:
    """Return the code of the language set in the current context, ``en`` unless set."""
    return _language.get()


@contextlib.contextmanager
def using(translations: gettext.NullTranslations, language: str | None = None):
    """Translate with ``translations`` inside the block, then restore the previous catalog.

    ``language`` also sets the number format; without it the numbers keep the current one.
    """
    token = _active.set(translations)
    language_token = _language.set(language) if language is not None else None
    try:
        yield
    finally:
        _active.reset(token)
        if language_token is not None:
            _language.reset(language_token)


@functools.lru_cache(maxsize=None)
def _number_symbols(language: str) -> tuple[str, str]:
    """Return the decimal and group separators of ``language`` from the CLDR data that Babel ships."""
    return get_decimal_symbol(language), get_group_symbol(language)


def number_separators() -> str:
    """Return the decimal and group separators of the current language as one string, as plotly's ``separators`` takes them."""
    decimal, group = _number_symbols(current_language())
    return decimal + group


class _LocalizedFormatter(string.Formatter):
    """A ``str.format`` that writes the numbers it formats with the separators of the current language.

    Python formats ``{count:,}`` and ``{value:.1f}`` with "," and "." whatever
    the language, so the two are swapped for the language's own afterwards.
    """

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return text
        decimal, group = _number_symbols(current_language())
        if (decimal, group) == (".", ","):
            return text
        return text.translate({ord("."): decimal, ord(","): group})


_formatter = _LocalizedFormatter()


def fill(text: str, /, **params: object) -> str:
    """Fill the ``{name}`` placeholders of ``text`` as ``str.format`` does, with numbers in the current language's format."""
    return _formatter.format(text, **params)


def _(message: str, /, **params: object) -> str:
    """Translate ``message`` and fill its ``{name}`` placeholders from ``params``."""
    translations = _active.get()
    text = translations.gettext(message) if translations is not None else message
    return fill(text, **params) if params else text


def pgettext(context: str, message: str, /, **params: object) -> str:
    """Translate ``message`` as used in ``context``, for a word whose translation depends on where it is used."""
    translations = _active.get()
    text = translations.pgettext(context, message) if translations is not None else message
    return fill(text, **params) if params else text


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
    return fill(text, **{"count": count, **params})


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
