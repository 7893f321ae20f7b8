"""The importance-vs-performance quadrant of a provider's key drivers is a chart (issue 14).

Hand-written SVG with a title, a caption holding its alt text, and the driver table kept below
it as the accessible fallback; a narrow viewBox so its labels stay readable on a phone. The
e-mail keeps the table only (no SVG in mail).
"""

import re

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_comments, sample_tables
from ice_pipeline.reports.viewmodel import build_provider_view

PERIOD = "2026-10"


def test_the_quadrant_is_drawn_with_its_caption_and_table_fallback():
    view = build_provider_view(
        PERIOD, "HR", sample_tables(PERIOD), sample_comments(PERIOD), ReportConfig()
    )
    panel = view.drivers
    assert panel is not None and panel.published
    chart = view.charts["quadrant"]
    report = render_report(view, audience="department_heads")
    svg = re.search(r'<svg[^>]*id="provider_quadrant".*?</svg>', report.html, re.S).group(0)
    assert 'viewBox="0 0 440 ' in svg and 'role="img"' in svg
    assert f"<title>{chart.title}</title>" in svg
    # One point per dimension with a published score and importance, each labelled.
    scored = [row for row in panel.rows if row.gap is not None]
    assert len(scored) >= 2 and svg.count("<circle") == len(scored)
    for row in scored:
        assert f">{row.dimension}</text>" in svg
        # The point sits on the side of the median its score is on.
        assert (row.gap < 0) == row.quadrant.startswith(("Focus", "Lower"))
    focus = [row.dimension for row in panel.rows if row.quadrant.startswith("Focus")]
    assert chart.alt.endswith((", ".join(focus) if focus else "none") + ".")
    assert f'<p class="caption">{chart.title}. ' in report.html
    # The table stays as the accessible fallback, on the page and in the e-mail.
    assert report.html.count("<th>Key driver</th>") == 1
    assert ">Key driver</th>" in report.email_html
    assert "provider_quadrant" not in report.email_html
    assert chart.content_id not in report.images
