"""A reader of the HTML report for the tests: sections, tables, headline numbers, figures and resource references.

It parses the file with :mod:`html.parser` from the standard library, so a
test reads the report the way a browser's parser splits it, and takes the
numbers from the ``data-value`` attributes, which hold them unrounded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that can make a browser load something when they carry src or href.
RESOURCE_ATTRIBUTES = ("src", "href", "srcset", "data", "poster", "action")


@dataclass
class SectionInfo:
    key: str
    applies: bool
    title: str = ""
    sentences: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)


@dataclass
class CellInfo:
    text: str
    value: float | None
    numeric: bool


@dataclass
class ReportPage:
    """What the tests read from one report file."""

    sections: dict[str, SectionInfo] = field(default_factory=dict)
    tables: dict[str, list[dict[str, CellInfo]]] = field(default_factory=dict)
    headline: dict[str, dict[str, str]] = field(default_factory=dict)
    headline_rows: list[dict[str, str]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    script_sources: list[str] = field(default_factory=list)
    # (tag, attribute, value) of every attribute that can load a resource.
    references: list[tuple[str, str, str]] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    meta: list[dict[str, str]] = field(default_factory=list)

    def table(self, key: str) -> list[dict[str, CellInfo]]:
        return self.tables[key]

    def column(self, table: str, column: str) -> list[float | None]:
        return [row[column].value for row in self.tables[table]]

    def texts(self, table: str, column: str) -> list[str]:
        return [row[column].text for row in self.tables[table]]

    def figure(self, chart_id: str) -> dict:
        """Return the data and layout that the script of ``chart_id`` passes to ``Plotly.newPlot``."""
        decoder = json.JSONDecoder()
        for script in self.scripts:
            start = script.find("Plotly.newPlot(")
            if start < 0:
                continue
            position = _skip(script, start + len("Plotly.newPlot("))
            div_id, position = decoder.raw_decode(script, position)
            if div_id != chart_id:
                continue
            data, position = decoder.raw_decode(script, _skip(script, position, ","))
            layout, _end = decoder.raw_decode(script, _skip(script, position, ","))
            return {"data": data, "layout": layout}
        raise AssertionError(f"no figure with id {chart_id!r}")


def _skip(text: str, position: int, separator: str = "") -> int:
    """Move past white space and one ``separator`` character."""
    while text[position].isspace():
        position += 1
    if separator:
        assert text[position] == separator, text[position : position + 40]
        position += 1
        while text[position].isspace():
            position += 1
    return position


def number(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    value = float(text)
    return None if math.isnan(value) else value


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ReportPage()
        self.section: SectionInfo | None = None
        self.text_target: list[str] | None = None
        self.capture: str | None = None
        self.buffer: list[str] = []
        self.table_key: str | None = None
        self.row: dict[str, CellInfo] | None = None
        self.cell: tuple[str, dict[str, str]] | None = None
        self.in_script = False
        self.script: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.page.tag_names.append(tag)
        for name in RESOURCE_ATTRIBUTES:
            if name in attributes:
                self.page.references.append((tag, name, attributes[name]))
        if tag == "meta":
            self.page.meta.append(attributes)
        if tag == "section":
            self.section = SectionInfo(attributes.get("id", ""), attributes.get("data-applies") == "true")
            self.page.sections[self.section.key] = self.section
        elif tag == "h2" and self.section is not None:
            self._start_capture("title")
        elif tag == "p" and "meaning" in attributes.get("class", "").split():
            self._start_capture("sentence")
        elif tag == "table":
            self.table_key = attributes.get("data-table", "")
            self.page.tables[self.table_key] = []
            if self.section is not None:
                self.section.tables.append(self.table_key)
        elif tag == "tr" and self.table_key is not None:
            self.row = {}
        elif tag == "td" and self.row is not None:
            self.cell = (attributes.get("data-column", ""), attributes)
            self._start_capture("cell")
        elif tag == "div" and "data-chart" in attributes and self.section is not None:
            self.section.charts.append(attributes["data-chart"])
        elif tag == "div" and "data-headline" in attributes:
            self.page.headline[attributes["data-headline"]] = attributes
        elif tag == "div" and "headline" in attributes.get("class", "").split():
            self.page.headline_rows.append(attributes)
        elif tag == "script":
            self.in_script = True
            self.script = []
            if "src" in attributes:
                self.page.script_sources.append(attributes["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self.in_script:
            self.in_script = False
            self.page.scripts.append("".join(self.script))
        elif tag == "h2" and self.capture == "title":
            self.section.title = self._end_capture()
        elif tag == "p" and self.capture == "sentence":
            text = self._end_capture()
            if self.section is not None:
                self.section.sentences.append(text)
        elif tag == "td" and self.capture == "cell":
            column, attributes = self.cell
            numeric = "data-value" in attributes
            self.row[column] = CellInfo(self._end_capture(), number(attributes.get("data-value")) if numeric else None, numeric)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.page.tables[self.table_key].append(self.row)
            self.row = None
        elif tag == "table":
            self.table_key = None
        elif tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script.append(data)
        elif self.capture is not None:
            self.buffer.append(data)

    def _start_capture(self, kind: str) -> None:
        self.capture = kind
        self.buffer = []

    def _end_capture(self) -> str:
        self.capture = None
        return "".join(self.buffer).strip()


def read_report(text: str) -> ReportPage:
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.page
