"""Locators and actions on the dashboard in a real browser, shared by the browser tests.

Selectors follow Streamlit 1.67's markup: ``data-testid`` attributes on
elements, ``data-test-script-state`` on the app root, ARIA roles on widgets
(a selectbox is a combobox). Plotly charts are ``.js-plotly-plot`` elements
whose bars are ``.bars .point path``.

Prefer ``expect(locator)`` assertions after an action: they wait for the
rerun that the action starts, where a check right after the click could still
see the page from before it. A page test reads like this::

    def test_slice_bar_selects_slice(page, dashboard):
        open_page(page, dashboard.url("/Slices?dataset=speech_commands"))
        hover_text = click_plotly_bar(page, bar_index=0, chart_index=0)
        expect(page.get_by_test_id("stMain")).to_contain_text(...)
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

# The app root carries the state of the script run and of the server connection.
IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
CHART = ".js-plotly-plot"
BAR = ".bars .point path"
HOVER_LABEL = ".hoverlayer .hovertext"

DATASET_PICKER = "Dataset"
KEEP_FILTER = "Keep only examples with"
EXCLUDE_FILTER = "Leave out examples with"


def open_page(page: Page, url: str) -> None:
    """Go to ``url`` and wait until the page's first script run has drawn its heading and finished."""
    page.goto(url)
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    wait_until_idle(page)


def wait_until_idle(page: Page) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.locator(IDLE_APP).wait_for()


def page_heading(page: Page) -> Locator:
    """The page's title (``st.title``), an ``h1`` in the main area."""
    return page.get_by_test_id("stMain").get_by_role("heading", level=1)


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def navigation_link(page: Page, label: str) -> Locator:
    """The sidebar's link to the page named ``label`` (Overview, Slices, Tags, What-if)."""
    return sidebar(page).get_by_test_id("stPageLink-NavLink").filter(has_text=label)


def dataset_picker(page: Page) -> Locator:
    return sidebar(page).get_by_role("combobox", name=DATASET_PICKER)


def choose_dataset(page: Page, name: str) -> None:
    """Pick the dataset folder ``name`` in the sidebar's dataset picker."""
    dataset_picker(page).click()
    page.get_by_role("option", name=name, exact=True).click()


def filter_chips(page: Page, label: str) -> Locator:
    """The chosen conditions of one global filter box (``KEEP_FILTER`` or ``EXCLUDE_FILTER``), one chip each."""
    box = sidebar(page).get_by_test_id("stMultiSelect").filter(has_text=label)
    return box.get_by_role("group", name="Selected values").locator("[data-tag] > span[title]")


def query_parameters(url: str) -> dict[str, list[str]]:
    """Return the query parameters of ``url``, each with every value in order."""
    return parse_qs(urlsplit(url).query)


def url_path(url: str) -> str:
    return urlsplit(url).path


# ---------------------------------------------------------------- plotly charts


def chart(page: Page, chart_index: int = 0) -> Locator:
    """The ``chart_index``-th plotly chart of the page, counted from the top."""
    return page.locator(CHART).nth(chart_index)


def wait_for_chart(page: Page, chart_index: int = 0) -> Locator:
    """Wait until the ``chart_index``-th plotly chart has drawn its SVG, and return the chart."""
    found = chart(page, chart_index)
    expect(found.locator(".main-svg").first).to_be_visible()
    return found


def chart_bars(page: Page, chart_index: int = 0) -> Locator:
    """Every bar of a plotly chart: the bars of the first trace, then those of the next."""
    return wait_for_chart(page, chart_index).locator(BAR)


def hover_plotly_bar(page: Page, bar_index: int, chart_index: int = 0) -> str:
    """Move the mouse onto a bar of a plotly chart and return the text of the hover label plotly shows.

    Plotly listens on a transparent drag layer above the bars, not on the bars,
    so a click on the bar element itself would be intercepted. The mouse goes
    to the centre of the bar's box instead, and the hover label proves that
    plotly found a bar under it.
    """
    bar = chart_bars(page, chart_index).nth(bar_index)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None, f"bar {bar_index} of chart {chart_index} is not drawn"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = chart(page, chart_index).locator(HOVER_LABEL).first
    expect(label).to_be_visible()
    return label.text_content() or ""


def click_plotly_bar(page: Page, bar_index: int, chart_index: int = 0) -> str:
    """Click a bar of a plotly chart, as a user selecting it, and return its hover label text.

    ``bar_index`` counts the chart's bars in the order of :func:`chart_bars`.
    A chart drawn with ``st.plotly_chart(..., on_select="rerun")`` reruns the
    script with the selection; wait for what the rerun shows with ``expect``.
    """
    text = hover_plotly_bar(page, bar_index, chart_index)
    page.mouse.down()
    page.mouse.up()
    return text


# ---------------------------------------------------------------- metrics and tables


def metric(page: Page, label: str) -> Locator:
    """Every ``st.metric`` of the main area whose label is exactly ``label``, from the top."""
    labels = page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.get_by_test_id("stMain").get_by_test_id("stMetric").filter(has=labels)


def metric_value(page: Page, label: str, index: int = 0) -> Locator:
    """The value of the ``index``-th metric labelled ``label``, without its delta."""
    return metric(page, label).nth(index).get_by_test_id("stMetricValue")


def table_cell(page: Page, row_label: str, column: str, table_index: int = 0) -> Locator:
    """The cell of a ``st.dataframe`` in the row whose first cell is ``row_label``, under the header ``column``.

    The data grid draws on a canvas; the cells are read from the grid table it
    keeps inside the canvas for screen readers, which contains the rows in view.
    Numbers there are unformatted: a count is ``1234``, a share ``12.5`` percent.
    """
    grid = page.get_by_test_id("stDataFrame").nth(table_index).locator('table[role="grid"]')
    headers = grid.locator('th[role="columnheader"]')
    expect(headers.filter(has_text=re.compile(rf"^{re.escape(column)}$"))).to_have_count(1)
    names = [text.strip() for text in headers.all_text_contents()]
    column_index = headers.nth(names.index(column)).get_attribute("aria-colindex")
    # The inner locator of `has` is matched inside each row, so it starts from the page, not the grid.
    first_cell = page.locator('td[aria-colindex="1"]').filter(has_text=re.compile(rf"^{re.escape(row_label)}$"))
    return grid.locator('tr[role="row"]').filter(has=first_cell).locator(f'td[aria-colindex="{column_index}"]')
