"""Every page kind holds its layout at phone, tablet, laptop and wide-screen widths (issue 14).

Loads the executive summary, a provider page, the methodology and correlations pages and the
e-mail HTML of the summary and of a provider page in headless chromium at 375, 800, 1280 and
1920 CSS pixels (device emulation through the DevTools protocol, see ``browser_support``), and
asserts no horizontal
overflow (``scrollWidth <= innerWidth``), that every chart is drawn inside the viewport, and that
wide tables scroll inside their own box. The fixture has 31 consumer departments with long names,
the width that pushed the demo's summary to ~3,070 px. Screenshots of every page at every width
go to ``test-artifacts/screenshots/layout/``.
"""

import base64
from pathlib import Path

import pytest

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import RenderedReport, render_report
from ice_pipeline.reports.sample import sample_comments, sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view
from ice_pipeline.reports.views_correlations import build_correlations_view
from ice_pipeline.reports.views_methodology import build_methodology_view
from ice_pipeline_tests.browser_support import Browser, chromium_path

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots" / "layout"
PERIOD = "2026-10"
WIDTHS = (375, 800, 1280, 1920)
HEIGHT = 800

PROBE = """(() => {
  const d = document.documentElement;
  const charts = [...document.querySelectorAll('svg.chart, img.chart')].map(e => {
    const r = e.getBoundingClientRect();
    const img = e.tagName.toLowerCase() === 'img';
    return {kind: img ? 'img' : 'svg', width: r.width, height: r.height, left: r.left,
            right: r.right,
            drawn: img ? (e.complete && e.naturalWidth > 0)
                       : e.querySelectorAll('path').length >= 5};
  });
  const boxes = [...document.querySelectorAll('.table-scroll')].map(e => {
    const r = e.getBoundingClientRect();
    return {right: r.right, scrolls: e.scrollWidth > e.clientWidth};
  });
  return {scrollWidth: d.scrollWidth, innerWidth: window.innerWidth, charts, boxes};
})()"""


def _with_inline_images(report: RenderedReport) -> str:
    """The e-mail HTML as a mail client shows it: cid: references resolved to the PNG parts."""
    html = report.email_html
    for content_id, png in report.images.items():
        data = base64.b64encode(png).decode("ascii")
        html = html.replace(f"cid:{content_id}", f"data:image/png;base64,{data}")
    assert "cid:" not in html, "an image the e-mail references has no part"
    return html


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, tuple[Path, int]]:
    """Page name -> (file, number of charts it must show)."""
    directory = tmp_path_factory.mktemp("layout")
    tables = sample_tables(PERIOD, wide=True)
    config = ReportConfig(organisation="Northwind Demo Ltd")
    executive = render_report(
        build_executive_view(PERIOD, tables, sample_quality(), config), audience="executives"
    )
    provider = render_report(
        build_provider_view(PERIOD, "IT", tables, sample_comments(PERIOD), config),
        audience="department_heads",
    )
    methodology = render_report(build_methodology_view(PERIOD, config), audience="executives")
    correlations = render_report(
        build_correlations_view(PERIOD, tables, config), audience="executives"
    )
    contents = {
        "executive_summary": (executive.html, executive.html.count('class="chart"')),
        "provider_IT": (provider.html, provider.html.count('class="chart"')),
        "methodology": (methodology.html, 0),
        "correlations": (correlations.html, 0),
        "email_executive_summary": (_with_inline_images(executive), len(executive.images)),
        "email_provider_IT": (_with_inline_images(provider), len(provider.images)),
    }
    written = {}
    for name, (html, charts) in contents.items():
        path = directory / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        written[name] = (path, charts)
    return written


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium_path()
    instance = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield instance
    instance.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "name",
    [
        "executive_summary",
        "provider_IT",
        "methodology",
        "correlations",
        "email_executive_summary",
        "email_provider_IT",
    ],
)
def test_page_fits_the_window_and_draws_every_chart(pages, browser, name, width):
    path, expected_charts = pages[name]
    browser.open(path.as_uri(), width, HEIGHT)
    layout = browser.evaluate(PROBE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / f"{name}-{width}.png")

    assert layout["innerWidth"] == width
    assert layout["scrollWidth"] <= layout["innerWidth"], (
        f"{name} at {width}px is {layout['scrollWidth']}px wide: it overflows horizontally"
    )
    assert len(layout["charts"]) == expected_charts
    for chart in layout["charts"]:
        assert chart["drawn"], f"{name} at {width}px: a {chart['kind']} chart is not drawn"
        assert chart["width"] > 0.5 * min(width, 796) - 64 and chart["height"] > 60, chart
        assert chart["left"] >= 0 and chart["right"] <= width + 0.5, chart
    for box in layout["boxes"]:
        assert box["right"] <= width + 0.5, f"{name} at {width}px: a table box overflows"
    if name == "executive_summary" and width <= 800:
        # The 31-column matrix is wider than a phone: it scrolls inside its own box.
        assert any(box["scrolls"] for box in layout["boxes"])


def test_the_summary_leads_with_decisions_above_the_fold(pages, browser):
    """At 1280 x 800 the headline (ICE, ICE-P, ICE-K, change), participation and the focus areas
    are all on screen before any scrolling."""
    path, _ = pages["executive_summary"]
    browser.open(path.as_uri(), 1280, HEIGHT)
    fold = browser.evaluate(
        """(() => {
        const bottom = s => { const e = document.querySelector(s);
                              return e ? e.getBoundingClientRect().bottom : null; };
        return {tiles: [...document.querySelectorAll('td.tile')].map(t => t.innerText),
                tiles_bottom: bottom('table.tiles'), participation: bottom('#participation'),
                participation_text: document.querySelector('#participation').innerText,
                focus: bottom('ol.focus'),
                focus_items: document.querySelectorAll('ol.focus li').length};
        })()"""
    )
    browser.screenshot(SCREENSHOTS / "executive_summary-above-the-fold-1280x800.png")
    labels = [tile.split("\n")[0] for tile in fold["tiles"]]
    assert labels == ["Company ICE", "ICE-P (perception)", "ICE-K (ticket KPIs)", "ICE-P change"]
    for tile in fold["tiles"][:2] + fold["tiles"][3:]:
        assert "95% CI" in tile, tile
    assert "n = " in fold["tiles"][0] and "n = " in fold["tiles"][1]
    assert "tickets" in fold["tiles"][2]
    assert "Response rate" in fold["participation_text"]
    assert fold["focus_items"] >= 1
    for key in ("tiles_bottom", "participation", "focus"):
        assert fold[key] is not None and fold[key] <= HEIGHT, (key, fold[key])
