"""Keep the translation catalogs in step with the source code.

    python scripts/translations.py extract   # messages.pot from the code, merged into each .po
    python scripts/translations.py compile   # each .po to the .mo that gettext reads at run time
    python scripts/translations.py check     # list untranslated entries and placeholder mismatches

The messages are every string passed to ``_``, ``N_``, ``ngettext`` and ``pgettext`` in
analysis/, ui/, pages/ and dashboard.py. Babel extracts them and writes the
files. After ``extract``, translate the new entries (empty ``msgstr``) of
each ``analysis/locale/<lang>/LC_MESSAGES/messages.po``, then run
``compile`` and commit the three files.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = REPO_ROOT / "analysis" / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
SOURCES = ("analysis", "ui", "pages", "dashboard.py")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
PROJECT = "error-analysis"


def extract_template() -> Catalog:
    """Return a catalog of every message in the source code, sorted by message id so diffs stay small."""
    template = Catalog(project=PROJECT, fuzzy=False)
    for source in SOURCES:
        path = REPO_ROOT / source
        if path.is_file():
            results = extract_from_dir(path.parent, keywords=KEYWORDS, directory_filter=lambda _folder: False, method_map=[(path.name, "python")])
            folder = path.parent
        else:
            results = extract_from_dir(path, keywords=KEYWORDS)
            folder = path
        for file_name, line, message, comments, context in results:
            location = (Path(folder, file_name).relative_to(REPO_ROOT).as_posix(), line)
            template.add(message, locations=[location], auto_comments=comments, context=context, flags=_flags(message))
    ordered = Catalog(project=PROJECT, fuzzy=False)
    for message in sorted((message for message in template if message.id), key=lambda message: _first(message.id)):
        ordered[message.id] = message
    return ordered


def _flags(message: str | tuple[str, ...]) -> tuple[str, ...]:
    return ("python-brace-format",) if any(placeholders(text) for text in _texts(message)) else ()


def _first(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def _texts(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def placeholders(text: str) -> set[tuple[str, str]]:
    """Return the ``{name:spec}`` fields of a ``str.format`` text; raises ValueError on unbalanced braces."""
    return {(name, spec) for _literal, name, spec, _conversion in string.Formatter().parse(text) if name is not None}


def catalog_paths() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


def write_catalog(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, include_previous=False, sort_output=False)


def extract() -> None:
    template = extract_template()
    write_catalog(TEMPLATE, template)
    for path in catalog_paths():
        catalog = read_catalog(path)
        # No fuzzy matching: a changed English text gets an empty translation to write, never a guessed one.
        catalog.update(template, no_fuzzy_matching=True)
        write_catalog(path, catalog)
        print(f"{path.relative_to(REPO_ROOT)}: {len(template)} messages, {sum(1 for _problem in untranslated(catalog))} to translate")


def compile_catalogs() -> None:
    for path in catalog_paths():
        catalog = read_catalog(path)
        with path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        print(f"{path.with_suffix('.mo').relative_to(REPO_ROOT)}: {len(catalog)} messages")


def untranslated(catalog: Catalog) -> Iterator[Message]:
    for message in catalog:
        if message.id and not all((text or "").strip() for text in _texts(message.string)):
            yield message


def problems(catalog: Catalog) -> Iterator[str]:
    """Yield one line per untranslated or fuzzy entry and per translation whose placeholders or edge spaces differ from the English."""
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            # gettext skips fuzzy entries, so the English text would show.
            yield f"marked fuzzy, so not used: {_first(message.id)!r}"
        english = _texts(message.id)[-1]
        for text in _texts(message.string):
            text = text or ""
            if not text.strip():
                yield f"untranslated: {_first(message.id)!r}"
                continue
            try:
                fields = placeholders(text)
            except ValueError as error:
                yield f"unbalanced braces ({error}): {_first(message.id)!r} -> {text!r}"
                continue
            if fields != placeholders(english):
                yield f"placeholders differ: {_first(message.id)!r} -> {text!r}"
            if _edges(text) != _edges(english):
                yield f"leading or trailing spaces differ: {_first(message.id)!r} -> {text!r}"


def _edges(text: str) -> tuple[str, str]:
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]


def check() -> int:
    found = 0
    for path in catalog_paths():
        for line in problems(read_catalog(path)):
            print(f"{path.relative_to(REPO_ROOT)}: {line}")
            found += 1
    return 1 if found else 0


def main(argv: list[str]) -> int:
    commands = {"extract": extract, "compile": compile_catalogs, "check": check}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]]() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
