"""Navigation and formats (issue 14): a linked static site exported from the archive, and the
executive summary as a PDF that holds the headline numbers (read back with pypdf)."""

import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine

from ice_pipeline.reports.archive import archive_report
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.publish import render_period_reports
from ice_pipeline.reports.sample import (
    LEAK_SENTINEL,
    create_report_tables,
    sample_comments,
    sample_quality,
    sample_tables,
)
from ice_pipeline.reports.site import EXECUTIVE_PAGE, PDF_NAME, provider_page
from ice_pipeline.reports.viewmodel import build_executive_view
from ice_pipeline_tests.browser_support import chromium_path

PERIODS = ("2026-09", "2026-10")


@pytest.fixture
def archived(duckdb_url: str, tmp_path: Path) -> str:
    engine = create_engine(duckdb_url)
    create_report_tables(engine)
    config = ReportConfig(organisation="Northwind Demo Ltd")
    for period in PERIODS:
        tables = sample_tables(period)
        for report in render_period_reports(
            period, tables, sample_quality(), sample_comments(period), config
        ):
            archive_report(
                engine,
                period=period,
                kind=report.kind,
                audience=report.audience,
                html=report.html,
                input_fingerprints={},
                run_id=None,
                reports_dir=tmp_path / "reports",
            )
    engine.dispose()
    return duckdb_url


def _links(html: str) -> list[str]:
    return [unquote(h) for h in re.findall(r'<a href="([^"#][^"]*)"', html)]


def test_export_writes_a_linked_site_whose_links_all_resolve(archived, tmp_path, monkeypatch):
    from ice_pipeline.cli import main

    monkeypatch.setenv("ICE_WAREHOUSE_URL", archived)
    site = tmp_path / "site"
    assert main(["report", "export", PERIODS[-1], str(site), "--no-pdf"]) == 0
    latest = site / PERIODS[-1]
    summary = (latest / EXECUTIVE_PAGE).read_text(encoding="utf-8")
    links = _links(summary)
    # The summary links every provider page, the methodology and correlations pages, and the
    # previous period; every page links back.
    for provider in ("IT", "HR", "Finance", "Facilities", "Legal"):
        assert provider_page(provider) in links
    assert {"methodology.html", "correlations.html", f"../{PERIODS[0]}/{EXECUTIVE_PAGE}"} <= set(
        links
    )
    pages = sorted(p for p in site.rglob("*.html"))
    assert len(pages) >= 2 * 8 + 1  # two periods x (summary, 2 pages, 5 providers) + index
    checked = 0
    for page in pages:
        for link in _links(page.read_text(encoding="utf-8")):
            assert (page.parent / link).resolve().exists(), f"{page.name} -> {link}"
            checked += 1
    assert checked > 30
    it_page = (latest / provider_page("IT")).read_text(encoding="utf-8")
    assert EXECUTIVE_PAGE in _links(it_page)
    assert f"../{PERIODS[0]}/{provider_page('IT')}" in _links(it_page)
    # The table of contents is there, and the archive has no page without a way back.
    assert 'aria-label="Contents"' in summary


def test_unknown_period_is_one_line(archived, monkeypatch, capsys):
    from ice_pipeline.cli import main

    monkeypatch.setenv("ICE_WAREHOUSE_URL", archived)
    assert main(["report", "export", "2030-01", "/tmp/never-written-ice-site"]) == 2
    assert "report list" in capsys.readouterr().err


@pytest.mark.browser
def test_the_summary_pdf_opens_and_holds_the_headline_numbers(archived, tmp_path, monkeypatch):
    chromium_path()
    from ice_pipeline.cli import main

    monkeypatch.setenv("ICE_WAREHOUSE_URL", archived)
    site = tmp_path / "site"
    assert main(["report", "export", PERIODS[-1], str(site)]) == 0
    pdf = (site / PERIODS[-1] / PDF_NAME).read_bytes()
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    view = build_executive_view(
        PERIODS[-1], sample_tables(PERIODS[-1]), sample_quality(), ReportConfig()
    )
    headline = view.company
    for figure in (
        headline.ice.value_text,
        headline.ice_p.value_text,
        headline.ice_k.value_text,
        headline.change.value_text,
        headline.ice_p.interval_text,
        f"n = {headline.ice_p.n}",
    ):
        assert figure in text, figure
    assert "Where to focus" in text
    # The PDF discloses no more than the page: a value planted in suppressed rows never shows,
    # and the small provider reads as withheld.
    assert str(LEAK_SENTINEL).lstrip("-") not in text
    assert "fewer than 5 responses" in text
