"""The executive summary's PDF (issue 14): archived with its version, attached to the e-mail,
superseded with the HTML, and read by the disclosure auditor.

Printed by Debian's chromium (skipped locally without it, failing under CI=true) and read back
with pypdf: the PDF opens and holds the headline numbers of the view it was rendered from.
"""

import io
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy
from pypdf import PdfReader

from ice_pipeline.privacy.artefacts import figures_in_pdf, figures_in_text, read_eml
from ice_pipeline.privacy.audit import audit_period
from ice_pipeline.reports.archive import archive_report, load_report
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.publish import EmailConfig, publish_period
from ice_pipeline.reports.sample import (
    LEAK_SENTINEL,
    sample_comments,
    sample_quality,
    sample_tables,
)
from ice_pipeline.reports.site import summary_pdf
from ice_pipeline.reports.viewmodel import build_executive_view
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline_tests.browser_support import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PERIOD = "2026-10"
RECIPIENT = "ceo@example.com"
K = 5


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def published(duckdb_url: str, tmp_path: Path) -> dict:
    chromium_path()
    upgrade(duckdb_url)
    engine = sqlalchemy.create_engine(duckdb_url)
    email = EmailConfig.from_section(
        {"allowed_domains": ["example.com"], "recipients": {"executive_summary": [RECIPIENT]}}
    )
    result = publish_period(
        engine,
        period=PERIOD,
        tables=sample_tables(PERIOD),
        quality=sample_quality(),
        comments=sample_comments(PERIOD),
        config=ReportConfig(organisation="Northwind Demo Ltd"),
        email=email,
        run_id="run-1",
        reports_dir=tmp_path / "reports",
        outbox_dir=tmp_path / "outbox",
    )
    yield {"engine": engine, "result": result, "tmp": tmp_path}
    engine.dispose()


def test_pdf_is_archived_attached_and_holds_the_headline(published: dict) -> None:
    engine, result, tmp = published["engine"], published["result"], published["tmp"]
    summary = result.archived[0]
    assert summary.kind == "executive_summary"
    assert summary.pdf is not None and summary.pdf.startswith(b"%PDF")
    # Only the executive summary is printed.
    assert all(report.pdf is None for report in result.archived[1:])
    assert summary.pdf_path is not None and summary.pdf_path.read_bytes() == summary.pdf
    stored = load_report(engine, period=PERIOD, kind="executive_summary")
    assert stored is not None and stored.pdf == summary.pdf

    text = _text(summary.pdf)
    headline = build_executive_view(
        PERIOD, sample_tables(PERIOD), sample_quality(), ReportConfig()
    ).company
    for figure in (
        headline.ice.value_text,
        headline.ice_p.value_text,
        headline.ice_k.value_text,
        headline.change.value_text,
        headline.ice_p.interval_text,
        f"n = {headline.ice_p.n}",
    ):
        assert figure in text, figure
    assert str(LEAK_SENTINEL).lstrip("-") not in text

    # The e-mail carries the archived PDF, byte for byte, as an attachment; the HTML part is
    # the same mail-safe HTML as before (its size does not include the attachment).
    (eml,) = sorted((tmp / "outbox").rglob("*.eml"))
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    assert message.get_content_type() == "multipart/mixed"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"ice-{PERIOD}-executive-summary.pdf"
    assert attachment.get_payload(decode=True) == summary.pdf
    html = message.get_body(preferencelist=("html",)).get_content()
    assert len(html.encode("utf-8")) < 100_000
    assert read_eml(eml).pdfs == (summary.pdf,)

    # The disclosure scan reads both PDFs (archived, attached) and finds nothing in the demo.
    audit = audit_period(engine, PERIOD, K, tmp / "outbox")
    assert audit.pdfs == 2
    assert audit.ok, audit.findings
    # ...and it does read them: the PDF's figures are those of the page (the headline among them).
    shown = figures_in_pdf(summary.pdf)
    assert any(f.n == headline.ice_p.n for f in shown.values())
    assert min(f.n for f in shown.values()) >= K


def test_a_new_version_supersedes_the_pdf_with_the_html(published: dict) -> None:
    engine, result, tmp = published["engine"], published["result"], published["tmp"]
    first = result.archived[0]
    changed = first.html.replace("Northwind Demo Ltd", "Northwind Demo plc")
    second = archive_report(
        engine,
        period=PERIOD,
        kind=first.kind,
        audience=first.audience,
        html=changed,
        input_fingerprints={},
        run_id="run-2",
        reports_dir=tmp / "reports",
        print_pdf=summary_pdf,
    )
    assert second.version == first.version + 1 and second.pdf is not None
    assert "Northwind Demo plc" in _text(second.pdf)
    # The superseded PDF leaves the reports directory with its HTML; its row keeps both.
    assert not first.pdf_path.exists() and not Path(first.file_path).exists()
    assert second.pdf_path.exists()
    old = load_report(engine, period=PERIOD, kind=first.kind, version=first.version)
    assert old.file_path is None and old.pdf == first.pdf
    # Same HTML again: no new version, no new print.
    again = archive_report(
        engine,
        period=PERIOD,
        kind=first.kind,
        audience=first.audience,
        html=changed,
        input_fingerprints={},
        run_id="run-3",
        reports_dir=tmp / "reports",
        print_pdf=lambda html: pytest.fail("printed an unchanged version again"),
    )
    assert not again.created and again.pdf == second.pdf


PLANTED = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head><body>'
    "<h1>Internal Customer Index</h1><p>Legal: Quality scores 41.3 (95% CI 30.2 to 52.4; "
    "n = 3)</p><p>IT: Quality scores 76.7 (95% CI 71.9 to 81.5; n = 42)</p></body></html>"
)


def test_a_small_group_planted_in_a_pdf_is_found(published: dict) -> None:
    engine, tmp = published["engine"], published["tmp"]
    planted = summary_pdf(PLANTED)
    figures = figures_in_pdf(planted)
    assert sorted((f.value, f.n) for f in figures.values()) == [(41.3, 3), (76.7, 42)]
    # Archived: the HTML is clean, only the PDF kept with it shows the small group.
    archive_report(
        engine,
        period=PERIOD,
        kind="executive_summary",
        audience="executives",
        html="<html><body><p>clean page</p></body></html>",
        input_fingerprints={},
        run_id="run-2",
        reports_dir=tmp / "reports",
        print_pdf=lambda html: planted,
    )
    audit = audit_period(engine, PERIOD, K)
    assert [line for line in audit.findings if "PDF" in line] == [
        f"report executive_summary (executives) {PERIOD} v2 PDF: pdf | Internal Customer Index "
        f"Legal Quality scores shows 41.3 from n = 3 (under k = {K})"
    ]
    # Attached to an e-mail in the outbox: found there too.
    (eml,) = sorted((tmp / "outbox").rglob("*.eml"))
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    for part in message.iter_attachments():
        part.set_content(planted, maintype="application", subtype="pdf", filename="x.pdf")
    eml.write_bytes(message.as_bytes())
    audit = audit_period(engine, PERIOD, K, tmp / "outbox")
    assert any(
        line.startswith(f"e-mail {eml.name} attached PDF") and "n = 3" in line
        for line in audit.findings
    ), audit.findings


def test_figures_in_text_follow_rows_broken_over_lines() -> None:
    """A matrix row printed over several lines: each n belongs to the number before it."""
    text = "Provider Engineering Marketing\nIT 80.7\nn = 21\n74.7\nn = 4\nHR 95% CI 1 to 2; n = 7"
    figures = figures_in_text(text)
    assert list(figures) == [
        "pdf | Provider Engineering Marketing IT",
        "pdf | Provider Engineering Marketing IT #2",
        "pdf | HR",
    ]
    first, second, third = figures.values()
    assert (first.value, first.n, second.value, second.n) == (80.7, 21, 74.7, 4)
    # An interval is not the figure; a count with no figure before it is still read.
    assert third.n == 7 and third.value != third.value
