"""The e-mail arrives whole (issue 14): its HTML part stays under 100 KB (Gmail clips at ~102 KB).

Checked on the 31-department fixture and on an enterprise-sized organisation (40 provider
departments, 310 consumer departments): the e-mail shows bounded slices (the matrix as a coloured
table of at most 15 providers x 6 departments, department tables of at most 12 rows), so its size
does not grow with the organisation. The demo's own e-mails are checked by
test_acceptance_privacy.py, which sends them. Every image is a CID part with alt text.
"""

import re

import pandas as pd
import pytest

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_comments, sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view

PERIOD = "2026-10"
LIMIT = 100_000


def _enterprise(provider_copies: int = 8, consumer_copies: int = 10) -> dict[str, pd.DataFrame]:
    """The wide sample with every provider and consumer department copied under new names."""
    tables = sample_tables(PERIOD, wide=True)
    out = {}
    for name, frame in tables.items():
        copies = [frame]
        if "provider_department" in frame.columns:
            copies = [
                frame.assign(provider_department=frame["provider_department"] + f" {i}")
                for i in range(provider_copies)
            ]
        frame = pd.concat(copies, ignore_index=True)
        copies = [frame]
        for column in ("consumer_department", "department"):
            if column in frame.columns:
                copies = [
                    frame.assign(**{column: frame[column] + f" {j}"})
                    for j in range(consumer_copies)
                ]
        out[name] = pd.concat(copies, ignore_index=True).drop_duplicates()
    return out


@pytest.mark.parametrize("size", ["fixture", "enterprise"])
def test_email_html_part_is_under_100_kb(size):
    tables = sample_tables(PERIOD, wide=True) if size == "fixture" else _enterprise()
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    if size == "enterprise":
        assert len(view.heatmap.rows) >= 40 and len(view.heatmap.consumers) >= 300
    report = render_report(view, audience="executives")
    html_bytes = len(report.email_html.encode("utf-8"))
    archived_kb = len(report.html) / 1000
    print(f"\n{size}: e-mail HTML {html_bytes / 1000:.1f} KB, archived {archived_kb:.0f} KB")
    assert html_bytes < LIMIT
    # Images by CID, each with a text alternative; the matrix is a table, not an image.
    sources = re.findall(r"<img[^>]*>", report.email_html)
    assert sources and all('src="cid:' in tag and 'alt="' in tag for tag in sources)
    assert 'class="data matrix"' in report.email_html
    matrix = report.email_html[report.email_html.index('class="data matrix"') :]
    matrix = matrix[: matrix.index("</table>")]
    assert matrix.count("<tr") <= 16 and matrix.count("background-color") <= 15 * 6
    # The text part says the same: headline, focus areas and the matrix note.
    for needle in ("Company ICE-P", "WHERE TO FOCUS", "Participation", "MOVERS AGAINST"):
        assert needle in report.text
    provider = render_report(
        build_provider_view(
            PERIOD, "IT", sample_tables(PERIOD), sample_comments(PERIOD), ReportConfig()
        ),
        audience="department_heads",
    )
    assert len(provider.email_html.encode("utf-8")) < LIMIT


def test_the_matrix_cells_diverge_around_the_company_median():
    view = build_executive_view(PERIOD, sample_tables(PERIOD), sample_quality(), ReportConfig())
    median = view.heatmap.median
    cells = [c for row in view.heatmap.rows for c in row.cells if c.estimate.published]
    above = [c for c in cells if c.estimate.value > median + 3]
    below = [c for c in cells if c.estimate.value < median - 3]
    assert above and below
    # Blue family above (blue channel highest), vermillion below (red channel highest).
    assert all(int(c.colour[5:7], 16) > int(c.colour[1:3], 16) for c in above)
    assert all(int(c.colour[1:3], 16) > int(c.colour[5:7], 16) for c in below)
    withheld = [c for row in view.heatmap.rows for c in row.cells if not c.estimate.published]
    assert withheld and all(c.colour == "#eef0f3" for c in withheld)
    # Sorted: providers in rank order, best first.
    ranks = [
        next(p.rank_text for p in view.providers if p.provider == r.provider)
        for r in view.heatmap.rows
    ]
    assert [int(r) for r in ranks if r] == sorted(int(r) for r in ranks if r)
