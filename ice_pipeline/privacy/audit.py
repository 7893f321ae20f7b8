"""The disclosure auditor: everything a period published, checked together, every version.

What belongs here: :func:`audit_period`, which reads what analysts, report recipients and mail
readers of a period can see and lists every way it reveals a group under k; the one-line
messages the pipeline (``disclosure_audit``, ``report_delivery``) and ``ice-pipeline audit
PERIOD`` print. It checks, for the period:

* the ``ice`` tables and the analyst views, with :func:`ice_pipeline.index.find_disclosures`
  (small groups, suppressed cells derivable from published totals, the interval audit);
* every recorded version of the period's score tables, pairwise and against what the warehouse
  holds now, with :func:`ice_pipeline.index.versions.find_version_disclosures`;
* every archived version of every report (``ice_ops.report_archive``), read back as a reader
  sees it: figures from fewer than k respondents, and pairs of versions whose counts differ by
  1 to k-1; and the PDF archived with a version (its text), for figures from fewer than k;
* every e-mail written to the outbox for the period, the same way, pairwise per recipient and
  report, its attached PDFs included; and the delivery ledger, for versions sent whose content
  the archive no longer holds.

A PDF's figures are keyed by position in its text, not by table cell (artefacts.py), so PDFs are
checked for small groups only; the pairwise comparison of versions uses the HTML each PDF was
printed from, whose keys are exact.

The auditor reads only what was published; it does not trust the pipeline's own decisions.
"""

import base64
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy

from ice_pipeline.index.suppression import find_disclosures
from ice_pipeline.index.versions import FIGURE_KEYS, find_version_disclosures
from ice_pipeline.privacy.artefacts import (
    figures_in_html,
    figures_in_pdf,
    read_eml,
    small_group_findings,
    version_findings,
)
from ice_pipeline.privacy.records import figure_versions
from ice_pipeline.reports.archive import _file_stem
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.writes import read_frame

_VIEW_NAME = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+([A-Za-z_]\w*\.[A-Za-z_]\w*)", re.I)


@dataclass
class AuditResult:
    """What the auditor looked at, and what it found (one line per finding)."""

    period: str
    findings: list[str] = field(default_factory=list)
    tables: int = 0
    views: int = 0
    table_versions: int = 0
    report_versions: int = 0
    emails: int = 0
    pdfs: int = 0  # archived and attached PDFs read

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        looked = (
            f"{self.tables} tables, {self.views} views, {self.table_versions} recorded versions "
            f"of the score tables, {self.report_versions} archived report versions, "
            f"{self.emails} e-mails, {self.pdfs} PDFs"
        )
        if self.ok:
            return f"audit {self.period}: no disclosure found ({looked})"
        return f"audit {self.period}: {len(self.findings)} finding(s) ({looked})"


def _dedupe(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(" ".join(line.split()) for line in lines))


def published_tables(engine: sqlalchemy.Engine, period: str) -> dict[str, pd.DataFrame]:
    """The period's rows of every table in schema ``ice``."""
    return {
        table.name: read_frame(engine, table, where={"period": period})
        for table in schema.metadata.tables.values()
        if table.schema == schema.AGGREGATE_SCHEMA and "period" in table.columns
    }


def published_views(engine: sqlalchemy.Engine, period: str) -> dict[str, pd.DataFrame]:
    """The period's rows of every analyst view (sql/views), as analysts read them."""
    from ice_pipeline.warehouse.migrate import view_files

    views = {}
    with engine.connect() as connection:
        for path in view_files():
            match = _VIEW_NAME.search(path.read_text(encoding="utf-8"))
            if match is None:
                continue
            name = match.group(1)
            # Names come from sql/views, never from input; the period is a bound parameter.
            probe = sqlalchemy.text(f"SELECT * FROM {name} LIMIT 0")  # noqa: S608
            columns = connection.execute(probe).keys()
            query = f"SELECT * FROM {name}" + (
                " WHERE period = :period" if "period" in columns else ""
            )
            frame = pd.read_sql(sqlalchemy.text(query), connection, params={"period": period})
            for column in frame.columns:  # NULL-able flags come back as object columns
                if column == "suppressed" or column.endswith("_suppressed"):
                    frame[column] = frame[column].astype("boolean")
            views[name.split(".")[-1]] = frame.reset_index(drop=True)
    return views


def _score_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: tables[name] for name in FIGURE_KEYS if name in tables}


def _table_findings(engine: sqlalchemy.Engine, period: str, k: int, result: AuditResult) -> None:
    tables = published_tables(engine, period)
    result.tables = len(tables)
    result.findings += [f"table {line}" for line in find_disclosures(tables, k)]
    views = published_views(engine, period)
    result.views = len(views)
    result.findings += [f"view {line}" for line in find_disclosures(views, k)]
    versions = figure_versions(engine, period)
    result.table_versions = len(versions)
    for (a, earlier), (b, later) in itertools.combinations(sorted(versions.items()), 2):
        result.findings += [
            f"table versions {a} and {b}: {line}"
            for line in find_version_disclosures(earlier, later, k)
        ]
    if versions:  # what the warehouse holds now against what was recorded as published
        latest = max(versions)
        result.findings += [
            f"warehouse against recorded version {latest}: {line}"
            for line in find_version_disclosures(versions[latest], _score_tables(tables), k)
        ]


def _report_findings(engine: sqlalchemy.Engine, period: str, k: int, result: AuditResult) -> None:
    archive = read_frame(engine, schema.report_archive, where={"period": period})
    result.report_versions = len(archive)
    for (kind, audience), rows in archive.groupby(["kind", "audience"], sort=True):
        shown = {
            int(version): figures_in_html(html)
            for version, html in zip(rows["version"], rows["html"], strict=True)
        }
        label = f"report {kind} ({audience}) {period}"
        for version, figures in sorted(shown.items()):
            result.findings += small_group_findings(f"{label} v{version}", figures, k)
        for version, pdf in zip(rows["version"], rows["pdf_base64"], strict=True):
            if isinstance(pdf, str) and pdf:
                result.pdfs += 1
                figures = figures_in_pdf(base64.b64decode(pdf))
                result.findings += small_group_findings(f"{label} v{int(version)} PDF", figures, k)
        for (a, earlier), (b, later) in itertools.combinations(sorted(shown.items()), 2):
            result.findings += version_findings(f"{label} v{a} against v{b}", earlier, later, k)
    ledger = read_frame(engine, schema.delivery_ledger, where={"period": period})
    archived = set(zip(archive["kind"], archive["audience"], archive["version"], strict=True))
    sent = ledger[ledger["status"].isin(["sent", "outbox", "pending"])]
    for kind, audience, version in sorted(
        set(zip(sent["kind"], sent["audience"], sent["version"], strict=True))
    ):
        if (kind, audience, int(version)) not in archived:
            result.findings.append(
                f"e-mail ledger: {kind} ({audience}) {period} v{version} was sent but is not in "
                "the archive, so what it showed cannot be audited"
            )


def _email_findings(outbox_dir: Path, period: str, k: int, result: AuditResult) -> None:
    folder = outbox_dir / _file_stem(period)
    paths = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    result.emails = len(paths)
    received: dict[tuple[str, str], dict[int, dict]] = {}
    for path in paths:
        email = read_eml(path)
        figures = figures_in_html(email.html)
        result.findings += small_group_findings(f"e-mail {path.name}", figures, k)
        for pdf in email.pdfs:
            result.pdfs += 1
            source = f"e-mail {path.name} attached PDF"
            result.findings += small_group_findings(source, figures_in_pdf(pdf), k)
        received.setdefault((email.recipient, email.report), {})[email.version or 0] = figures
    for (recipient, report), versions in sorted(received.items()):
        for (a, earlier), (b, later) in itertools.combinations(sorted(versions.items()), 2):
            result.findings += version_findings(
                f"e-mails {report} v{a} and v{b} to {recipient}", earlier, later, k
            )


def audit_period(
    engine: sqlalchemy.Engine, period: str, k: int, outbox_dir: Path | None = None
) -> AuditResult:
    """Every way the period's tables, views, reports and e-mails reveal a group under k."""
    result = AuditResult(period)
    _table_findings(engine, period, k, result)
    _report_findings(engine, period, k, result)
    if outbox_dir is not None:
        _email_findings(outbox_dir, period, k, result)
    result.findings = _dedupe(result.findings)
    return result


def blocking_message(result: AuditResult) -> str:
    """The one line that stops delivery: how many findings, and the first one named."""
    more = (
        f" (and {len(result.findings) - 1} more; `ice-pipeline audit {result.period}` lists them)"
    )
    return (
        f"reports for {result.period} NOT emailed: the disclosure audit found "
        f"{len(result.findings)} problem(s): {result.findings[0]}"
        + (more if len(result.findings) > 1 else "")
    )


def run_audit_command(period: str) -> int:
    """``ice-pipeline audit PERIOD``: one line per finding on stdout; exit 1 if any."""
    from ice_pipeline.config import config_path, load_config, section
    from ice_pipeline.index.config import IndexConfig
    from ice_pipeline.reports.archive import _open
    from ice_pipeline.settings import load_settings

    settings = load_settings()
    config = load_config(config_path(settings))
    k = IndexConfig.from_section(section(config, "index")).k_min_respondents
    engine = _open(settings.warehouse_url)
    try:
        result = audit_period(engine, period, k, settings.outbox_dir)
    finally:
        engine.dispose()
    for line in result.findings:
        print(line)
    print(result.summary(), flush=True)
    return 0 if result.ok else 1
