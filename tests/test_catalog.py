"""The Vietnamese catalog: complete, in step with the code and the compiled file, and used on every page and by the CLI.

The page test runs each page under AppTest with ``lang=vi``, collects every
string the page sends to the browser (text, labels, help, table headers, chart
titles) and fails on any that is an English message of the catalog. Messages
whose translation is the English text itself (field terms such as precision,
code words such as ``--top``) are allowed.
"""

from __future__ import annotations

import gettext
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest
from workspace_pages import APP, isolate_settings

from analysis.cli import main
from analysis.i18n import LOCALE_DIR, _, format_percent, load_translations, ngettext, number_separators, using

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import translations  # noqa: E402  (the catalog tool lives in scripts/, outside the package)

CATALOG = LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po"
SAMPLE_DATA = REPO_ROOT / "sample_data"

# (page script, dataset, extra query parameters): every page, on the sample that exercises most of it.
PAGES = [
    ("dashboard.py", "speech_commands", {}),
    ("dashboard.py", "screening", {}),
    ("dashboard.py", "digits", {}),
    ("pages/1_Slices.py", "speech_commands", {}),
    ("pages/1_Slices.py", "screening", {"attribute": "sex"}),
    ("pages/2_Tags.py", "speech_commands", {}),
    ("pages/3_What_if.py", "speech_commands", {}),
    ("pages/4_Examples.py", "digits", {}),
    ("pages/4_Examples.py", "speech_commands", {"outcome": "errors"}),
    ("pages/5_Label_errors.py", "digits", {}),
    ("pages/6_Audit.py", "screening", {}),
    ("pages/6_Audit.py", "speech_commands", {}),
]


@pytest.fixture(scope="module")
def catalog():
    return translations.read_catalog(CATALOG)


@pytest.fixture(scope="module")
def english_patterns(catalog) -> list[tuple[str, re.Pattern]]:
    """Return a pattern per English message whose translation differs, with each placeholder matching any text."""
    patterns = []
    for message in catalog:
        if not message.id:
            continue
        english_texts = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in english_texts:
            if english in translated or not re.search(r"[A-Za-z]{2}", english):
                continue
            parts = re.split(r"\{[^{}]*\}", english)
            patterns.append((english, re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)))
    return patterns


# Catalog ----------------------------------------------------------------------------------


def test_catalog_covers_code(catalog):
    template = translations.extract_template()

    missing = [message.id for message in template if message.id and message.id not in catalog]

    assert missing == []


def test_catalog_has_no_problems(catalog):
    problems = list(translations.problems(catalog))

    assert problems == []


def test_compiled_catalog_matches(catalog):
    with CATALOG.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 5) == message.string[0], message.id
        else:
            assert compiled.gettext(message.id) == message.string, message.id


# Numbers and messages ---------------------------------------------------------------------


def test_vietnamese_numbers_use_decimal_comma():
    with using(load_translations("vi"), "vi"):
        assert format_percent(0.1234) == "12,3%"
        assert _("{count:,}", count=1234567) == "1.234.567"
        assert _("{value:.3f}", value=0.5) == "0,500"
        assert number_separators() == ",."


def test_english_numbers_unchanged():
    assert format_percent(0.1234) == "12.3%"
    assert _("{count:,}", count=1234567) == "1,234,567"
    assert number_separators() == ".,"


def test_quoted_values_keep_their_form():
    with using(load_translations("vi"), "vi"):
        text = _("Invalid --target {value!r}.", value=0.5)

    assert "0.5" in text


def test_plural_message_translated():
    with using(load_translations("vi"), "vi"):
        one = ngettext("{count} example", "{count} examples", 1)
        many = ngettext("{count} example", "{count} examples", 2000)

    assert "example" not in one
    assert many.startswith("2.000")


def test_cli_summary_in_vietnamese(capsys, english_patterns):
    code = main(["summary", "--config", str(SAMPLE_DATA / "speech_commands" / "dataset.toml"), "--lang", "vi"])
    output = capsys.readouterr().out

    assert code == 0
    assert english_lines(output.splitlines(), english_patterns) == []


def test_cli_audit_in_vietnamese(capsys, english_patterns):
    code = main(["audit", "--config", str(SAMPLE_DATA / "screening" / "dataset.toml"), "--lang", "vi"])
    output = capsys.readouterr().out

    assert code == 1
    assert english_lines(output.splitlines(), english_patterns) == []


def test_cli_error_in_vietnamese(capsys, catalog):
    code = main(["summary", "--config", "no-such-folder/dataset.toml", "--lang", "vi"])
    error = capsys.readouterr().err

    assert code == 2
    assert "Dataset file not found" not in error
    assert "no-such-folder" in error


# Pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "dataset", "parameters"), PAGES, ids=[f"{page}-{dataset}" for page, dataset, _p in PAGES])
def test_page_shows_no_english(page, dataset, parameters, english_patterns, tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = dataset
    app.query_params["lang"] = "vi"
    for name, value in parameters.items():
        app.query_params[name] = value
    if page != "dashboard.py":
        app.switch_page(page)

    app.run()

    assert not app.exception
    assert english_lines(page_strings(app), english_patterns) == []


def test_language_picker_writes_url(tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = "speech_commands"
    app.run()
    assert app.title[0].value == "Error analysis"

    app.sidebar.selectbox(key="sidebar_language").set_value("vi").run()

    assert not app.exception
    assert app.query_params["lang"] == ["vi"] or app.query_params["lang"] == "vi"
    assert app.title[0].value != "Error analysis"
    links = [link.proto.page for link in app.sidebar.get("page_link")]
    assert links


def test_unknown_language_falls_back(tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = "speech_commands"
    app.query_params["lang"] = "xx"

    app.run()

    assert not app.exception
    assert any("lang" in message.value and "xx" in message.value for message in app.info)
    assert app.title[0].value == "Error analysis"


# Helpers ----------------------------------------------------------------------------------


def english_lines(texts, english_patterns) -> list[str]:
    """Return the texts that are, or contain, an English message of the catalog."""
    found = []
    for text in texts:
        text = text.replace("\\", "").strip()
        if not re.search(r"[A-Za-z]{2}", text):
            continue
        for english, pattern in english_patterns:
            long_message = len(english.split()) >= 4
            if pattern.fullmatch(text) or (long_message and pattern.search(text)):
                found.append(f"{text!r} (English: {english!r})")
                break
    return found


def page_strings(app: AppTest) -> list[str]:
    """Return every string of every element of the page: bodies, labels, help, options, table headers and chart text."""
    strings: list[str] = []
    for node in _nodes(app._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "DESCRIPTOR"):
            continue
        strings.extend(_strings(MessageToDict(proto)))
    return strings


def _nodes(node) -> Iterator:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


# Proto fields that hold data or identifiers, never interface text.
_SKIPPED_FIELDS = {"arrowData", "id", "formId", "data", "spec_data", "customdata", "hovertemplate", "fragmentId"}


def _strings(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _SKIPPED_FIELDS:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in "{[":
            try:
                yield from _strings(json.loads(stripped))
                return
            except ValueError:
                pass
        yield value
