"""The HTML pieces of the report: the page, its sections, tables and embedded plotly figures.

Every text that reaches the page passes through :func:`html.escape` here, so
callers hand over plain text (names, values, translated sentences), never
markup. The page needs no network: plotly.js is inlined once in the head,
each figure is a ``<div>`` with the inline script that draws it, and a
Content-Security-Policy allows no source outside the file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline

# Only inline scripts and styles, and images from data: and blob: URLs, which
# plotly uses for the "download plot as png" button. Any other load is blocked.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)

# The modebar's logo links to plotly's website, so it is left out.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

# System fonts only: a web font would be a network request.
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; }
.meaning { font-size: 1.15rem; font-weight: 600; background: #f6f8fa; border-left: 4px solid #0969da;
           padding: 0.6rem 0.9rem; }
.not-applicable .meaning { border-left-color: #8c959f; font-weight: 400; }
.caption, .context { color: #57606a; font-size: 0.92rem; }
.headline { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.headline div { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 0.9rem; min-width: 10rem; }
.headline .label { color: #57606a; font-size: 0.85rem; }
.headline .value { font-size: 1.4rem; font-weight: 600; }
.headline .detail { color: #57606a; font-size: 0.85rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f6f8fa; }
tr.fail td { background: #ffebe9; }
ul.warnings li { margin-bottom: 0.3rem; }
.chart { margin: 1rem 0; }
"""


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Cell:
    """One table cell: the text shown and, for a number, its exact value for readers that parse the file."""

    text: str
    value: float | int | None = None
    numeric: bool = False

    def render(self, column: str) -> str:
        attributes = f' data-column="{escape(column)}"'
        if self.numeric:
            attributes += ' class="number" data-value="{}"'.format("" if _undefined(self.value) else escape(repr(self.value)))
        return f"<td{attributes}>{escape(self.text)}</td>"


def text_cell(text: object) -> Cell:
    return Cell(str(text))


def number_cell(text: str, value: float | int | None) -> Cell:
    return Cell(text, value, numeric=True)


def _undefined(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass
class Table:
    """A table with stable column keys (``data-column``), so tests and scripts find a column whatever the language."""

    key: str
    columns: list[tuple[str, str]]  # (key, translated header)
    rows: list[dict[str, Cell]] = field(default_factory=list)
    # Positions of the rows shown as failed (audit checks that fail).
    failed_rows: set[int] = field(default_factory=set)

    def render(self) -> str:
        header = "".join(f'<th data-column="{escape(key)}">{escape(title)}</th>' for key, title in self.columns)
        body = []
        for index, row in enumerate(self.rows):
            cells = "".join(row[key].render(key) for key, _title in self.columns)
            row_class = ' class="fail"' if index in self.failed_rows else ""
            body.append(f"<tr{row_class}>{cells}</tr>")
        return f'<table data-table="{escape(self.key)}"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def figure_html(figure: go.Figure, div_id: str) -> str:
    """Return the figure as a chart container: a ``<div>`` and the script that draws it, without plotly.js.

    plotly's JSON encoder writes ``<``, ``>`` and ``/`` in strings as
    ``\\u003c`` and so on, so a label such as ``</script>`` cannot end the script early.
    """
    # Plotly's own template, because a figure built in the dashboard carries
    # Streamlit's, whose colours are placeholders that only the dashboard fills in.
    figure = go.Figure(figure).update_layout(template=pio.templates["plotly"])
    drawn = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config=PLOTLY_CONFIG,
        validate=True,
    )
    return f'<div class="chart" data-chart="{escape(div_id)}">{drawn}</div>'


def paragraph(text: str, css_class: str | None = None) -> str:
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def bullet_list(items: Sequence[str], css_class: str) -> str:
    return f'<ul class="{escape(css_class)}">' + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


@dataclass
class Headline:
    """A headline number: the text shown, a detail line, and the exact value (and interval) for readers that parse the file."""

    key: str
    label: str
    text: str
    detail: str = ""
    value: float | int | None = None
    interval: tuple[float, float] | None = None

    def render(self) -> str:
        attributes = f' data-headline="{escape(self.key)}"'
        if self.value is not None:
            attributes += f' data-value="{escape(repr(self.value))}"'
        if self.interval is not None:
            attributes += f' data-low="{escape(repr(self.interval[0]))}" data-high="{escape(repr(self.interval[1]))}"'
        detail = f'<br><span class="detail">{escape(self.detail)}</span>' if self.detail else ""
        return f'<div{attributes}><span class="label">{escape(self.label)}</span><br><span class="value">{escape(self.text)}</span>{detail}</div>'


def headline(numbers: Sequence[Headline], attributes: dict[str, str] | None = None) -> str:
    """Render headline numbers as a row of boxes, with ``attributes`` added to the row's element."""
    extra = "".join(f' {escape(name)}="{escape(value)}"' for name, value in (attributes or {}).items())
    return f'<div class="headline"{extra}>' + "".join(number.render() for number in numbers) + "</div>"


@dataclass
class Section:
    """One part of the report: a title, the one sentence of what it means, and its body (already HTML)."""

    key: str
    title: str
    sentence: str
    body: str = ""
    applies: bool = True

    def render(self) -> str:
        css_class = "report-section" if self.applies else "report-section not-applicable"
        return (
            f'<section id="{escape(self.key)}" class="{css_class}" data-applies="{str(self.applies).lower()}">'
            f"<h2>{escape(self.title)}</h2>{paragraph(self.sentence, 'meaning')}{self.body}</section>"
        )


def page(language: str, title: str, header: str, sections: Sequence[Section]) -> str:
    """Return the whole HTML document: head with the style and plotly.js once, then the header and sections."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{escape(language)}">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>',
            "</head>",
            "<body>",
            header,
            *(section.render() for section in sections),
            "</body>",
            "</html>",
            "",
        ]
    )
