"""The e-mail arrives whole (issue 14): its HTML part stays under 100 KB (Gmail clips at ~102 KB).

Checked on the 31-department fixture; on the benchmark's enterprise month (benchmarks/run.py,
``generate_enterprise_month``: the demo organisation's 10 providers and 30 departments, its 6
dimensions, one period, 100,000 employees each rating 5 providers); and on a larger synthetic
organisation (40 provider departments, 310 consumer departments). The e-mail shows bounded
slices (the matrix as a coloured table of at most 15 providers x 6 departments, department
tables of at most 12 rows), so its size does not grow with the organisation. The demo's own
e-mails are checked by test_acceptance_privacy.py, which sends them. Every image is a CID part
with alt text. The executive summary's PDF travels as a separate attachment (test_report_pdf.py)
and is not part of the HTML measured here.

Why the enterprise month is built rather than generated: generating and scoring 100,000
employees (2.5M ratings) takes minutes here, and the report sees only the index tables. So the
tables are built at that month's shape: the demo organisation's names, one period, and
respondent counts of that size (n = 100,000 company-wide, 50,000 per provider), from the
sample's internally consistent figures.
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


ENTERPRISE_EMPLOYEES = 100_000
PROVIDERS_PER_RESPONDENT = 5


def _cycled(
    frame: pd.DataFrame, column: str, sources: list[str], targets: list[str]
) -> pd.DataFrame:
    """Rows of ``sources[i % len(sources)]`` renamed ``targets[i]``; other values kept."""
    kept = frame[~frame[column].isin(sources)]
    renamed = [
        frame[frame[column] == sources[i % len(sources)]].assign(**{column: target})
        for i, target in enumerate(targets)
    ]
    return pd.concat([kept, *renamed], ignore_index=True)


def _benchmark_enterprise_month() -> dict[str, pd.DataFrame]:
    """The report input at the shape of the benchmark's enterprise month (module docstring)."""
    from ice_pipeline.demo.organisation import DEPARTMENTS, DIMENSION_NAMES, PROVIDER_NAMES
    from ice_pipeline.index.config import IndexConfig
    from ice_pipeline.reports.sample import CONSUMERS, DIMENSIONS, PROVIDERS, WIDE_CONSUMERS

    sample_consumers = list(CONSUMERS) + [
        f"Regional Customer Operations {number:02d}" for number in range(1, WIDE_CONSUMERS + 1)
    ]
    outcome = IndexConfig().key_driver_outcome
    per_provider = ENTERPRISE_EMPLOYEES * PROVIDERS_PER_RESPONDENT // len(PROVIDER_NAMES)
    counts = {
        "company_scores": ENTERPRISE_EMPLOYEES,
        "ice_scores": per_provider,
        "dimension_scores": per_provider,
        "key_drivers": per_provider,
        "matrix_scores": per_provider // len(DEPARTMENTS),
        "consumer_satisfaction": ENTERPRISE_EMPLOYEES // len(DEPARTMENTS),
    }
    out = {}
    for name, frame in sample_tables(PERIOD, wide=True).items():
        if "period" in frame.columns:
            frame = frame[frame["period"] == PERIOD]  # the enterprise month is one period
        if "provider_department" in frame.columns:
            # Every provider has tens of thousands of respondents: none is withheld.
            published = [p for p in PROVIDERS if p != "Legal"]
            frame = frame[frame["provider_department"] != "Legal"]
            frame = _cycled(frame, "provider_department", published, list(PROVIDER_NAMES))
        for column in ("consumer_department", "department"):
            if column in frame.columns:
                # Every department of the sample (providers too, in the roster) becomes one of
                # the organisation's 30.
                names = list(dict.fromkeys([*sample_consumers, *frame[column].astype(str)]))
                frame = _cycled(frame, column, names, list(DEPARTMENTS))
        if "dimension" in frame.columns:
            targets = [d for d in DIMENSION_NAMES if name != "key_drivers" or d != outcome]
            frame = _cycled(frame, "dimension", list(DIMENSIONS), targets)
        if name in counts and "n_respondents" in frame.columns:
            frame = frame.assign(
                n_respondents=frame["n_respondents"].where(
                    frame["n_respondents"].isna(), counts[name]
                )
            )
        out[name] = frame.reset_index(drop=True)
    return out


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


@pytest.mark.parametrize("size", ["fixture", "benchmark_enterprise_month", "enterprise_wide"])
def test_email_html_part_is_under_100_kb(size):
    tables = {
        "fixture": lambda: sample_tables(PERIOD, wide=True),
        "benchmark_enterprise_month": _benchmark_enterprise_month,
        "enterprise_wide": _enterprise,
    }[size]()
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    if size == "enterprise_wide":
        assert len(view.heatmap.rows) >= 40 and len(view.heatmap.consumers) >= 300
    if size == "benchmark_enterprise_month":
        # The shape of the benchmark's month: 10 providers (all ranked), 30 departments.
        assert len(view.heatmap.rows) == 10 and len(view.heatmap.consumers) == 30
        assert view.company.ice_p.n == ENTERPRISE_EMPLOYEES and not view.withheld_providers
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
