"""One call for the report assets: render every report of a period, archive it, maybe email it.

This is the seam the Dagster assets use (they stay thin): :func:`render_period_reports` builds the
executive summary and one page per provider department; :func:`publish_period` archives them and,
unless it is a dry run or a blocking data check failed, delivers them through the configured
transport. Email configuration (the ``email:`` YAML section) is read by :class:`EmailConfig`.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy

from ice_pipeline.errors import ConfigError
from ice_pipeline.index.stats import SIGNIFICANT_DIGITS, round_significant
from ice_pipeline.reports.archive import ArchivedReport, archive_report, input_fingerprints
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.delivery import (
    DeliveryOutcome,
    OutboxTransport,
    RecipientConfig,
    RetryPolicy,
    SmtpSettings,
    SmtpTransport,
    Transport,
    deliver,
    recipients_from_section,
)
from ice_pipeline.reports.render import PROVIDER_KIND_PREFIX, RenderedReport, render_report
from ice_pipeline.reports.site import pdf_printer
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view
from ice_pipeline.reports.views_correlations import build_correlations_view
from ice_pipeline.reports.views_methodology import build_methodology_view


@dataclass(frozen=True)
class EmailConfig:
    """The ``email:`` section: transport, SMTP settings, recipients per kind, retry policy.

    ``transport`` is ``outbox`` (the default: .eml files in the data directory, no network) or
    ``smtp``. Recipients are keyed by report kind; the key ``provider`` covers every provider
    page, ``provider:<department>`` one page only.
    """

    from_address: str = "ice-reports@example.com"
    transport: str = "outbox"
    smtp: SmtpSettings | None = None
    recipients: dict[str, RecipientConfig] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> "EmailConfig":
        transport = section.get("transport", "outbox")
        if transport not in {"outbox", "smtp"}:
            raise ConfigError(
                "email.transport", f"is {transport!r}", fix="use 'outbox' (no network) or 'smtp'"
            )
        smtp = SmtpSettings.from_section(section["smtp"]) if section.get("smtp") else None
        if transport == "smtp" and smtp is None:
            raise ConfigError(
                "email.smtp",
                "is missing but email.transport is 'smtp'",
                fix="add email.smtp with host, port, security, username and from_address",
            )
        retry_section = section.get("retry") or {}
        try:
            retry = RetryPolicy(**retry_section)
        except TypeError as err:
            raise ConfigError(
                "email.retry", f"has an unknown key ({err})", fix="use attempts, backoff_s, factor"
            ) from err
        recipients = recipients_from_section(section) if section.get("recipients") else {}
        from_address = smtp.from_address if smtp else section.get("from_address", cls.from_address)
        return cls(from_address, transport, smtp, recipients, retry)

    def recipients_for(self, kind: str) -> tuple[str, ...]:
        if kind in self.recipients:
            return self.recipients[kind].recipients
        if kind.startswith(PROVIDER_KIND_PREFIX) and "provider" in self.recipients:
            return self.recipients["provider"].recipients
        return ()

    def make_transport(self, outbox_dir: Path) -> Transport:
        if self.transport == "smtp" and self.smtp is not None:
            return SmtpTransport(self.smtp)
        return OutboxTransport(outbox_dir)


REPORT_SIGNIFICANT_DIGITS = SIGNIFICANT_DIGITS


def steady_floats(frame: pd.DataFrame, digits: int = REPORT_SIGNIFICANT_DIGITS) -> pd.DataFrame:
    """``frame`` with every float rounded to ``digits`` significant digits.

    The two engines sum in different orders, so a mean of exactly 61.25 arrives as
    61.24999999999999 from one and 61.25000000000001 from the other: shown to one decimal, the
    same figure would read 61.2 in one warehouse and 61.3 in the other (and a chart's SVG ids,
    hashed from its coordinates, would differ). Ten significant digits remove that noise and keep
    far more precision than any page shows.
    """
    floats = frame.select_dtypes(include="floating").columns
    if len(floats) == 0:
        return frame
    out = frame.copy()
    for column in floats:
        out[column] = round_significant(out[column].to_numpy(dtype=float), digits)
    return out


def render_period_reports(
    period: str,
    tables: Mapping[str, pd.DataFrame],
    quality: Mapping[str, Any],
    comments: pd.DataFrame | None,
    config: ReportConfig,
) -> list[RenderedReport]:
    """The executive summary, the methodology and correlations pages, then one page per provider."""
    tables = {name: steady_floats(frame) for name, frame in tables.items()}
    reports = [
        render_report(
            build_executive_view(period, tables, quality, config),
            audience=config.executive_audience,
        ),
        render_report(build_methodology_view(period, config), audience=config.executive_audience),
        render_report(
            build_correlations_view(period, tables, config), audience=config.executive_audience
        ),
    ]
    scores = tables.get("ice_scores")
    providers = (
        sorted(
            {str(name) for name in scores.loc[scores["period"] == period, "provider_department"]}
        )
        if scores is not None and not scores.empty
        else []
    )
    for provider in providers:
        view = build_provider_view(period, provider, tables, comments, config)
        reports.append(render_report(view, audience=config.provider_audience))
    return reports


@dataclass
class PublishResult:
    archived: list[ArchivedReport]
    deliveries: dict[str, DeliveryOutcome]  # kind -> outcome; empty on a dry run
    delivery_skipped_reason: str | None  # why nothing was sent, if so


def _quality_fingerprint(quality: Mapping[str, Any]) -> str:
    payload = json.dumps(quality, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def publish_period(
    engine: sqlalchemy.Engine,
    *,
    period: str,
    tables: Mapping[str, pd.DataFrame],
    quality: Mapping[str, Any],
    comments: pd.DataFrame | None,
    config: ReportConfig,
    email: EmailConfig,
    run_id: str | None,
    reports_dir: Path,
    outbox_dir: Path,
    dry_run: bool = False,
    blocking_checks_failed: bool = False,
    transport: Transport | None = None,
) -> PublishResult:
    """Render, archive, then deliver (not on a dry run, not after a failed blocking check)."""
    prints = input_fingerprints(tables)
    prints["quality"] = _quality_fingerprint(quality)
    archived: list[ArchivedReport] = []
    rendered = render_period_reports(period, tables, quality, comments, config)
    for report in rendered:
        archived.append(
            archive_report(
                engine,
                period=period,
                kind=report.kind,
                audience=report.audience,
                html=report.html,
                input_fingerprints=prints,
                run_id=run_id,
                reports_dir=reports_dir,
                print_pdf=pdf_printer(report.kind, config.pdf),
            )
        )
    if dry_run:
        return PublishResult(archived, {}, "dry run: rendered and archived, nothing sent")
    if blocking_checks_failed:
        return PublishResult(archived, {}, "a blocking data check failed: nothing sent")
    chosen = transport or email.make_transport(outbox_dir)
    deliveries = {}
    for report, stored in zip(rendered, archived, strict=True):
        recipients = email.recipients_for(report.kind)
        if recipients:
            deliveries[report.kind] = deliver(
                engine,
                stored,
                recipients,
                chosen,
                content=report,
                from_address=email.from_address,
                retry=email.retry,
            )
    return PublishResult(archived, deliveries, None)
