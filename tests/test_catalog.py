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
from html.parser import HTMLParser
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest
from workspace_pages import APP, isolate_settings

from analysis.audit_spec import METRICS, RULES, SEVERITIES
from analysis.cli import main
from analysis.config import load_config
from analysis.i18n import LOCALE_DIR, _, format_percent, load_translations, ngettext, number_separators, using
from ui.formatting import localized_table

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
    ("pages/7_Experiments.py", "speech_commands", {}),
    ("pages/4_Examples.py", "speech_commands", {"run_a": "more_data", "run_b": "car_noise_augment", "change": "fixed"}),
]


@pytest.fixture(scope="module")
def catalog():
    return translations.read_catalog(CATALOG)


@pytest.fixture(scope="module")
def english_patterns(catalog) -> list[tuple[str, re.Pattern]]:
    return english_message_patterns(catalog)


def english_message_patterns(catalog) -> list[tuple[str, re.Pattern]]:
    """Return a pattern per English message whose translation differs, with each placeholder matching any text."""
    patterns = []
    for message in catalog:
        if not message.id:
            continue
        english_texts = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in english_texts:
            parts = re.split(r"\{[^{}]*\}", english)
            words = {word.lower() for word in re.findall(r"[A-Za-z]{2,}", "".join(parts))}
            kept_words = {word.lower() for text in translated if text for word in re.findall(r"[A-Za-z]{2,}", text)}
            # Text made of placeholders, punctuation and words the translation keeps (file, tag, HLP) reads the same in both languages.
            if english in translated or words <= kept_words:
                continue
            # One English word between placeholders ("{metric} by {column}") would match names and table rows of the data.
            if len(parts) > 1 and len(re.findall(r"[A-Za-z]{2,}", "".join(parts))) < 2:
                continue
            patterns.append((english, re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)))
    return patterns


# Catalog ----------------------------------------------------------------------------------


def test_catalog_covers_code(catalog):
    template = translations.extract_template()

    missing = [message.id for message in template if message.id and catalog.get(message.id, context=message.context) is None]

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
        elif message.context:
            assert compiled.pgettext(message.context, message.id) == message.string, message.id
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


@pytest.mark.parametrize(
    ("number_format", "value", "shown"),
    [("%.1f%%", 12.34, "12,3%"), ("%.3g", 2.777e-11, "2,78e-11"), ("%.3f", 0.5, "0,500"), ("localized", 1234567, "1.234.567"), ("%+.1f", 2.25, "+2,2")],
)
def test_table_numbers_in_vietnamese(number_format, value, shown):
    frame = pd.DataFrame({"number": [value]})
    config = {"number": st.column_config.NumberColumn("number", format=number_format)}

    # The Styler formats when it is rendered, which st.dataframe does at once, in the page's language.
    with using(load_translations("vi"), "vi"):
        data, localized_config = localized_table(frame, config)
        rendered = data.to_html()

    assert shown in rendered
    assert "format" not in localized_config["number"]["type_config"]


def test_cli_audit_numbers_use_decimal_comma(capsys):
    main(["audit", "--config", str(SAMPLE_DATA / "screening" / "dataset.toml"), "--lang", "vi"])
    output = capsys.readouterr().out

    assert re.findall(r"\d\.\d", output) == []
    assert re.search(r"\d,\d%", output)


def test_quoted_values_keep_their_form():
    with using(load_translations("vi"), "vi"):
        text = _("Invalid --target {value!r}.", value=0.5)

    assert "0.5" in text


def test_plural_message_translated():
    with using(load_translations("vi"), "vi"):
        one = ngettext("{count} example", "{count} examples", 1)
        many = ngettext("{count} example", "{count} examples", 2000)

    assert "example" not in one
    assert "example" not in many
    assert many.startswith("2000")


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


@pytest.mark.parametrize("dataset", ["speech_commands", "screening"])
def test_report_in_vietnamese(dataset, english_patterns, tmp_path):
    out = tmp_path / "report.html"

    code = main(["report", "--config", str(SAMPLE_DATA / dataset / "dataset.toml"), "--out", str(out), "--lang", "vi"])

    assert code == 0
    texts = html_texts(out.read_text(encoding="utf-8"))
    assert '<html lang="vi">' in out.read_text(encoding="utf-8")
    shown = [text for text in texts if text.strip() not in allowed_values(dataset)]
    assert english_lines(shown, english_patterns) == []


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
    shown = [text for text in page_strings(app) if text.strip() not in allowed_values(dataset)]
    assert english_lines(shown, english_patterns) == []


def test_language_picker_writes_url(tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = "speech_commands"
    app.run()
    assert "Overview" in navigation_labels(app)

    app.sidebar.selectbox(key="sidebar_language").set_value("vi").run()

    assert not app.exception
    assert app.query_params["lang"] in ("vi", ["vi"])
    assert "Tổng quan" in navigation_labels(app)
    assert all("lang=vi" in link.proto.query_string for link in app.sidebar.get("page_link"))


def test_unknown_language_falls_back(tmp_path, monkeypatch):
    isolate_settings(monkeypatch, tmp_path / "workspace")
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["dataset"] = "speech_commands"
    app.query_params["lang"] = "xx"

    app.run()

    assert not app.exception
    assert any("lang" in message.value and "xx" in message.value for message in app.info)
    assert "Overview" in navigation_labels(app)


# Helpers ----------------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    """Collects the text nodes of an HTML page, leaving out scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipped = 0

    def handle_starttag(self, tag, attrs) -> None:
        self._skipped += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:
        self._skipped -= tag in ("script", "style")

    def handle_data(self, data) -> None:
        if not self._skipped and data.strip():
            self.texts.append(data)


def html_texts(page: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(page)
    return collector.texts


def navigation_labels(app: AppTest) -> list[str]:
    return [link.proto.label for link in app.sidebar.get("page_link")]


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


def allowed_values(dataset: str) -> set[str]:
    """Return the texts a page may show in English: the dataset's own values and names, and the [audit] keys the editor offers.

    Class names such as "yes" and "no", column names and check names come from
    the user's files. Metric, rule and severity names are written as in the
    dataset file, so the audit editor offers them untranslated.
    """
    folder = SAMPLE_DATA / dataset
    config = load_config(folder)
    values = set(METRICS) | set(RULES) | set(SEVERITIES)
    if config.audit is not None:
        values |= {check.name for check in config.audit.checks}
    for path in (config.predictions, config.metadata):
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        values |= {str(name) for name in frame.columns}
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                values |= {str(value) for value in frame[column].dropna().unique()[:1000]}
    return values


def page_strings(app: AppTest) -> list[str]:
    """Return every string of every element of the page: bodies, labels, help, options, table headers and chart text."""
    strings: list[str] = []
    for node in _nodes(app._tree):
        proto = getattr(node, "proto", None)
        # Code blocks show file contents, such as the [audit] section as TOML.
        if proto is None or not hasattr(proto, "DESCRIPTOR") or getattr(node, "type", None) == "code":
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
# Page links carry the English URL path in "page", and plotly enumerations such as barmode "group" are not shown.
_SKIPPED_FIELDS = {
    "arrowData", "id", "formId", "data", "spec_data", "customdata", "hovertemplate", "fragmentId",
    "page", "pageScriptHash", "queryString", "icon", "rawValues", "barmode", "mode", "legendgroup", "type",
}


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
