"""The reports as a linked static site: stable page names, the export, and the summary's PDF.

Belongs here: the file name of every page kind (the links between pages use these names, so they
resolve in an exported site: ``<dir>/<period>/executive_summary.html``, ``methodology.html``,
``correlations.html``, ``provider-<name>.html``, and ``../<previous period>/...``),
:func:`export_site` behind ``ice-pipeline report export PERIOD DIR`` (newest archived version of
every page of the period and of every earlier archived period, so "previous period" links
resolve), and :func:`summary_pdf`, the executive summary printed by headless chromium: the
pipeline prints it when it archives a new version of the summary (kept with that version, attached
to its e-mail); the export writes the archived PDF and prints one only for a version without.

Why chromium for the PDF: it is the browser the layout is tested in, so the PDF is the page as
tested; WeasyPrint needs Pango and renders its own CSS subset. Chromium is a system package
(``apt-get install chromium``); without it the PDF step says so in one line.
"""

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy

from ice_pipeline.errors import IceError

EXECUTIVE_PAGE = "executive_summary.html"
METHODOLOGY_PAGE = "methodology.html"
CORRELATIONS_PAGE = "correlations.html"
PDF_NAME = "executive_summary.pdf"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def provider_page(provider: str) -> str:
    """``provider-<name>.html``; a name changed by making it file-safe gets a short hash."""
    safe = _UNSAFE.sub("_", provider).strip("._")[:60] or "provider"
    if safe != provider:
        safe += "-" + hashlib.sha256(provider.encode("utf-8")).hexdigest()[:8]
    return f"provider-{safe}.html"


def page_of_kind(kind: str) -> str:
    """The exported file name of an archived report kind."""
    if kind.startswith("provider:"):
        return provider_page(kind[len("provider:") :])
    return {
        "executive_summary": EXECUTIVE_PAGE,
        "methodology": METHODOLOGY_PAGE,
        "correlations": CORRELATIONS_PAGE,
    }.get(kind, _UNSAFE.sub("_", kind) + ".html")


def previous_page(previous_period: str | None, page: str) -> str | None:
    return None if previous_period is None else f"../{previous_period}/{page}"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise IceError(
            "cannot print the executive summary to PDF: chromium is not installed",
            fix="install it (`apt-get install chromium`); or export with --no-pdf, and set "
            "reports.pdf: false to archive and e-mail reports without their PDF",
            where="executive summary PDF",
        )
    return path


def pdf_printer(kind: str, enabled: bool) -> Callable[[str], bytes] | None:
    """What prints an archived report of ``kind`` to PDF: the executive summary only."""
    return summary_pdf if enabled and kind == "executive_summary" else None


def summary_pdf(html: str, timeout_s: float = 120.0) -> bytes:
    """The page printed to PDF (A4, backgrounds on) by headless chromium.

    By this process's chromium (pdf_session.py: one browser for every period of a backfill);
    if that session fails for any reason, by a chromium started for this page alone.
    """
    from ice_pipeline.reports.pdf_session import BrowserGone, print_with_session

    chromium = _chromium()
    with tempfile.TemporaryDirectory(prefix="ice-pdf-") as work:
        page = Path(work) / "page.html"
        page.write_text(html, encoding="utf-8")
        try:
            return print_with_session(chromium, page, timeout_s)
        except BrowserGone:
            return _print_one_shot(chromium, page, timeout_s)


def _print_one_shot(chromium: str, page: Path, timeout_s: float) -> bytes:
    """``chromium --headless --print-to-pdf`` for one page: a browser started and ended."""
    with tempfile.TemporaryDirectory(prefix="ice-pdf-") as work:
        pdf = Path(work) / "page.pdf"
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(work) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout_s, check=True)  # noqa: S603
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            raise IceError(
                f"chromium could not print the executive summary to PDF ({err})",
                fix="run `chromium --headless --print-to-pdf=x.pdf about:blank` to see why",
                where="executive summary PDF",
            ) from err
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise IceError(
                "chromium wrote no PDF",
                fix="check chromium runs headless",
                where="executive summary PDF",
            )
        return pdf.read_bytes()


_OTHER_PERIOD_LINK = re.compile(r'<a href="\.\./([^/"]+)/[^"]*">(.*?)</a>', re.DOTALL)


def _unlink_missing(html: str, periods: set[str]) -> str:
    """Links to a period the archive does not hold become plain text (no dead links)."""
    return _OTHER_PERIOD_LINK.sub(
        lambda match: match.group(0) if match.group(1) in periods else match.group(2), html
    )


def export_site(
    engine: sqlalchemy.Engine, period: str, directory: Path, *, pdf: bool = True
) -> list[Path]:
    """Write the newest archived version of every page of ``period`` and of every earlier
    archived period under ``directory/<period>/``, an ``index.html`` linking the periods, and
    ``<period>/executive_summary.pdf`` for every period whose summary was archived with its PDF
    (and, with ``pdf``, printed now for ``period`` if its version has none). Returns the files.
    """
    from ice_pipeline.reports.archive import list_reports, load_report

    rows = list_reports(engine)
    periods = sorted({row["period"] for row in rows if row["period"] <= period})
    if period not in periods:
        raise IceError(
            f"no archived report for period {period}",
            fix="run `ice-pipeline report list` to see the archived periods",
            where="report export",
        )
    written: list[Path] = []
    for each in periods:
        for kind in sorted({row["kind"] for row in rows if row["period"] == each}):
            report = load_report(engine, period=each, kind=kind)
            if report is None:
                continue
            path = directory / each / page_of_kind(kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_unlink_missing(report.html, set(periods)), encoding="utf-8")
            written.append(path)
            if report.pdf is not None:  # the PDF archived (and e-mailed) with this version
                path.with_suffix(".pdf").write_bytes(report.pdf)
                written.append(path.with_suffix(".pdf"))
    links = "\n".join(
        f'<li><a href="{each}/{EXECUTIVE_PAGE}">{each}</a></li>' for each in reversed(periods)
    )
    index = directory / "index.html"
    index.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Internal Customer Index</title></head><body><h1>Internal Customer Index</h1>"
        f"<ul>\n{links}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    written.append(index)
    if pdf:
        summary = directory / period / EXECUTIVE_PAGE
        if summary.exists() and not (directory / period / PDF_NAME).exists():
            target = directory / period / PDF_NAME
            target.write_bytes(summary_pdf(summary.read_text(encoding="utf-8")))
            written.append(target)
    return written
