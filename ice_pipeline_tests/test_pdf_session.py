"""The summary PDF's chromium session (reports/pdf_session.py): one browser prints every page of
the process, the PDFs hold their pages' text, and a failed session falls back to the one-shot
``chromium --print-to-pdf``."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from ice_pipeline.reports import pdf_session, site
from ice_pipeline_tests.browser_support import chromium_path

pytestmark = [pytest.mark.browser]

PAGE = "<html><body style='background:#eef'><h1>Headline {n}</h1><p>ICE-P 6{n}.5</p></body></html>"


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def test_one_browser_prints_every_page() -> None:
    chromium_path()
    pdf_session.close_session()
    first = site.summary_pdf(PAGE.format(n=1))
    browser = pdf_session._SESSION
    assert browser is not None and browser.process.poll() is None
    second = site.summary_pdf(PAGE.format(n=2))
    assert pdf_session._SESSION is browser  # the same chromium printed both
    assert "Headline 1" in _text(first) and "ICE-P 61.5" in _text(first)
    assert "Headline 2" in _text(second) and "ICE-P 62.5" in _text(second)
    pdf_session.close_session()
    assert browser.process.poll() is not None  # closed with the session
    assert not Path(browser.profile).exists()


def test_the_session_prints_what_the_one_shot_command_prints(tmp_path: Path) -> None:
    chromium = chromium_path()
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(n=3), encoding="utf-8")
    by_session = PdfReader(io.BytesIO(pdf_session.print_with_session(chromium, page, 60)))
    one_shot = PdfReader(io.BytesIO(site._print_one_shot(chromium, page, 60)))
    assert [p.mediabox for p in by_session.pages] == [p.mediabox for p in one_shot.pages]
    assert [p.extract_text() for p in by_session.pages] == [
        p.extract_text() for p in one_shot.pages
    ]


def test_a_failed_session_falls_back_to_the_one_shot_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chromium_path()

    def broken(*args: object) -> bytes:
        raise pdf_session.BrowserGone("chromium closed its DevTools pipe")

    monkeypatch.setattr(pdf_session, "print_with_session", broken)
    assert "Headline 4" in _text(site.summary_pdf(PAGE.format(n=4)))
