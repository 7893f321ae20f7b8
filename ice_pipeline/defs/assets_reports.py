"""Report assets: render and archive each period's reports, then deliver them by email.

Belongs here: the Dagster shell around ``ice_pipeline.reports``: which warehouse tables a report
reads, archiving every rendering, and delivery through the ``EmailResource`` with a retry policy.
View-models, templates, charts, the archive and the delivery ledger live in ``reports``.

A failed blocking data check stops the email but not the archive: ``executive_report`` always
renders and archives what was computed (its data-quality panel names the failed checks), and
``report_delivery`` refuses to send while any blocking expectation of the period fails, with a
one-line message naming them (see defs/checks.py for why the Dagster checks are not blocking).
Nor does it send while the disclosure audit of the period (defs/assets_audit.py) finds anything.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from ice_pipeline.defs.assets_audit import audited_clean_in_run, disclosure_audit
from ice_pipeline.defs.checks import (
    Outcome,
    blocking_failures,
    failure_text,
    period_check_outcomes,
)
from ice_pipeline.defs.partitions import CORRELATION_HISTORY, monthly_partitions, periods_back
from ice_pipeline.defs.resources import EmailResource, PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.support import GROUP_REPORTS, table_preview, user_errors
from ice_pipeline.warehouse import schema

# Tables the reports read; history (for trends) is the same window the correlations use.
REPORT_TABLES = (
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
    "service_kpis",
    "turnover",
    "correlations",
    "key_drivers",
)
HISTORY_PERIODS = 24
# Without an ``email:`` section, demo mode sends the executive summary to this fictional mailbox
# (into the outbox directory: no network), so the demo shows a delivered report.
DEMO_RECIPIENTS = {
    "recipients": {"executive_summary": ["executives@example.com"]},
    "allowed_domains": ["example.com"],
}


def _table(name: str) -> Any:
    return next(t for t in schema.metadata.tables.values() if t.name == name)


def has_survey_rows(warehouse: WarehouseResource, period: str) -> bool:
    """Whether the warehouse holds any survey rating of ``period`` (one indexed probe)."""
    import sqlalchemy

    table = schema.survey_ratings
    probe = sqlalchemy.select(table.c.period).where(table.c.period == period).limit(1)
    with warehouse.engine().connect() as connection:
        return connection.execute(probe).first() is not None


def quality_summary(
    warehouse: WarehouseResource, period: str, outcomes: list[Outcome]
) -> dict[str, Any]:
    """Rows read and quarantined by the files feeding ``period``, and the failed checks."""
    from ice_pipeline.warehouse.writes import read_frame

    files = read_frame(warehouse.engine(), schema.source_files)
    # A landing file that could not be used may have held rows of any period: always listed.
    not_ingested = [
        {"name": f"{row.feed}: file not ingested", "description": str(row.problem)}
        for row in files[files["status"] == "failed"].itertuples()
    ]
    files = files[files["status"] != "failed"]
    if not files.empty:
        feeds_period = files["periods"].fillna("").str.split(",").map(lambda ps: period in ps)
        files = files[feeds_period]
    read = files.groupby("feed")["rows_read"].sum().astype(int).to_dict() if not files.empty else {}
    quarantined = (
        files.groupby("feed")["rows_quarantined"].sum().astype(int).to_dict()
        if not files.empty
        else {}
    )
    failed = not_ingested + [
        {
            "name": f"{o.table}: {o.check_name} ({'blocking' if o.blocking else 'warning'})",
            "description": failure_text(o),
        }
        for o in outcomes
        if not o.passed
    ]
    return {
        "rows_read": read,
        "rows_quarantined": quarantined,
        "checks_failed": failed,
        "checks_run": len(outcomes),
    }


# Rendering draws every chart twice (SVG for the archive, PNG for email) and dominates a period's
# run time, so report_delivery reuses executive_report's rendering within the same run.
_RENDERED: dict[tuple[str, str], "PeriodReports"] = {}
_RENDERED_LOCK = threading.Lock()


@dataclass
class PeriodReports:
    """Every report of a period, rendered, in a fixed order (executive summary, then providers)."""

    rendered: list[Any]
    fingerprints: dict[str, str]


def rendered_for_run(
    run_id: str,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    period: str,
    quality: Mapping[str, Any],
) -> "PeriodReports":
    """``render_period_reports`` memoised per (run, period); rendering is deterministic."""
    key = (run_id, period)
    with _RENDERED_LOCK:
        cached = _RENDERED.get(key)
    if cached is not None:
        return cached
    reports = render_period_reports(warehouse, pipeline, period, quality)
    with _RENDERED_LOCK:
        _RENDERED.clear()  # only the latest period is ever asked for again; keep memory flat
        _RENDERED[key] = reports
    return reports


def render_period_reports(
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    period: str,
    quality: Mapping[str, Any],
) -> PeriodReports:
    """Build the view-models of ``period`` from the warehouse and render them (deterministic)."""
    import pandas as pd

    from ice_pipeline.ingest.mapping_labels import survey_dimension_labels
    from ice_pipeline.reports.archive import input_fingerprints
    from ice_pipeline.reports.config import report_config_for
    from ice_pipeline.reports.publish import render_period_reports as render_all
    from ice_pipeline.warehouse.writes import read_frame

    config = report_config_for(pipeline.section("reports"), pipeline.index_config())
    # Issue 14: dimension labels come from the survey mappings (the config may override them).
    config = config.with_mapping_labels(survey_dimension_labels(pipeline.landing_dir))
    engine = warehouse.engine()
    window = periods_back(period, HISTORY_PERIODS)
    tables = {
        name: read_frame(engine, _table(name), where={"period": window}, order_by=["period"])
        for name in REPORT_TABLES
    }
    comments = read_frame(engine, schema.survey_comments, where={"period": period})
    rendered = render_all(period, tables, quality, comments, config)
    fingerprints = input_fingerprints(
        {**tables, "quality": pd.DataFrame([{"quality": repr(sorted(quality.items()))}])}
    )
    return PeriodReports(rendered, fingerprints)


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_REPORTS,
    deps=[
        *(
            dg.AssetDep(name, partition_mapping=CORRELATION_HISTORY)
            for name in (
                "ice_scores",
                "company_scores",
                "dimension_scores",
                "matrix_scores",
                "consumer_satisfaction",
                "service_kpis",
                "turnover",
            )
        ),
        "correlations",
        "key_drivers",
        "survey_comments",
    ],
    kinds={"html"},
    description="The executive summary and one page per provider, rendered and archived.",
)
def executive_report(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    import pandas as pd

    from ice_pipeline.reports.archive import archive_report
    from ice_pipeline.reports.config import report_config_for
    from ice_pipeline.reports.site import pdf_printer

    period = context.partition_key
    print_pdf = report_config_for(pipeline.section("reports"), pipeline.index_config()).pdf
    with user_errors():
        outcomes = period_check_outcomes(context.run_id, warehouse, pipeline, period)
        reports = rendered_for_run(
            context.run_id,
            warehouse,
            pipeline,
            period,
            quality_summary(warehouse, period, outcomes),
        )
        archived = [
            archive_report(
                warehouse.engine(),
                period=period,
                kind=r.kind,
                audience=r.audience,
                html=r.html,
                input_fingerprints=reports.fingerprints,
                run_id=context.run_id,
                reports_dir=pipeline.reports_dir,
                print_pdf=pdf_printer(r.kind, print_pdf),
            )
            for r in reports.rendered
        ]
    summary = archived[0]
    listing = pd.DataFrame(
        [{"kind": a.kind, "version": a.version, "new": a.created} for a in archived]
    )
    return dg.MaterializeResult(
        metadata={
            "reports": len(archived),
            "new_versions": sum(a.created for a in archived),
            "executive_summary_version": summary.version,
            "executive_summary_path": dg.MetadataValue.path(summary.file_path or ""),
            "executive_summary_pdf": dg.MetadataValue.path(str(summary.pdf_path or "")),
            "checks_failed": sum(not o.passed for o in outcomes),
            "blocking_checks_failed": len(blocking_failures(outcomes)),
            "archived": table_preview(listing, max_rows=40),
        }
    )


# Temporary mail failures (4xx, a server down) are retried by Dagster; the ledger's claims make a
# retried step send nothing twice, and uncertain or refused deliveries are not retried at all.
DELIVERY_RETRY = dg.RetryPolicy(max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL)


class DeliveryConfig(dg.Config):
    """Run config of report_delivery."""

    dry_run: bool = False  # render and archive, send nothing (ice-pipeline run --dry-run)


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_REPORTS,
    deps=[
        "executive_report",
        "disclosure_audit",
        "survey_ratings",
        "survey_comments",
        "tickets",
        "external_metrics",
        "employees",
    ],
    kinds={"email"},
    retry_policy=DELIVERY_RETRY,
    description=(
        "Emails the period's archived reports to the configured recipients, exactly once each "
        "(claimed in ice_ops.delivery_ledger); refuses while a blocking data check fails."
    ),
)
def report_delivery(
    context: dg.AssetExecutionContext,
    config: DeliveryConfig,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    email: EmailResource,
) -> dg.MaterializeResult:
    from ice_pipeline.reports.delivery import recipients_from_section, retry_from_section
    from ice_pipeline.reports.delivery_ops import delivery_verdict

    period = context.partition_key
    with user_errors():
        outcomes_checks = period_check_outcomes(context.run_id, warehouse, pipeline, period)
        early = _held_back(context, config, warehouse, pipeline, outcomes_checks)
        if early is not None:
            return early
        email_section = pipeline.section("email")
        if not email_section.get("recipients") and pipeline.demo_mode:
            email_section = {**email_section, **DEMO_RECIPIENTS}
        recipients = recipients_from_section(email_section)
        reports = rendered_for_run(
            context.run_id,
            warehouse,
            pipeline,
            period,
            quality_summary(warehouse, period, outcomes_checks),
        )
        smtp_section = email_section.get("smtp") or None
        transport = email.transport(smtp_section)
        sender = email.sender_address(smtp_section)
        outcomes = deliver_period(
            warehouse,
            period,
            reports.rendered,
            recipients,
            transport,
            sender,
            retry_from_section(email_section),
        )
        verdict = delivery_verdict(
            period,
            outcomes,
            retries_left=DELIVERY_RETRY.max_retries - context.retry_number,
            retry_delay_s=_retry_delay(context.retry_number),
        )
    if not verdict.ok:
        # Everything was attempted first: one recipient or report never stops the others.
        raise dg.Failure(
            description=verdict.message, allow_retries=verdict.retry, metadata=verdict.counts
        )
    return dg.MaterializeResult(
        metadata={
            "sent": verdict.counts["sent"],
            "already_sent": verdict.counts["skipped"],
            "in_progress_elsewhere": verdict.counts["in_progress"],
            "transport": type(transport).__name__,
            "checks_failed": sum(not o.passed for o in outcomes_checks),
        }
    )


def _held_back(
    context: dg.AssetExecutionContext,
    config: DeliveryConfig,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    outcomes_checks: list[Outcome],
) -> dg.MaterializeResult | None:
    """Why report_delivery sends nothing this time, or None to go on and send.

    Raises a Failure for a blocking data check or a disclosure finding; returns the result of a
    dry run or of an empty period.
    """
    period = context.partition_key
    blocking = blocking_failures(outcomes_checks)
    if blocking:
        names = ", ".join(f"{o.table}.{o.check_name}" for o in blocking)
        raise dg.Failure(
            description=(
                f"report for {period} archived but NOT emailed: blocking data checks failed "
                f"({names}). Fix the data, then re-run {period}"
            ),
            allow_retries=False,
            metadata={"blocking_checks_failed": len(blocking), "checks": names},
        )
    # Issue 11: nothing is sent while the disclosure audit of the period finds anything.
    first_attempt = context.retry_number == 0
    if not (first_attempt and audited_clean_in_run(context.run_id, period)):
        audit_block = disclosure_block(warehouse, pipeline, period)
        if audit_block:
            raise dg.Failure(description=audit_block, allow_retries=False)
    if config.dry_run:
        return dg.MaterializeResult(metadata={"dry_run": True, "sent": 0})
    if not has_survey_rows(warehouse, period):
        # An empty period (run with --allow-empty) is archived for the record, never mailed.
        context.log.info(f"{period} has no survey data: its report is not e-mailed")
        return dg.MaterializeResult(
            metadata={"sent": 0, "not_sent": f"{period} has no survey data"}
        )
    return None


def _retry_delay(retry_number: int) -> float:
    """Seconds until Dagster's next retry of report_delivery (its policy's exponential backoff)."""
    return float(DELIVERY_RETRY.calculate_delay(retry_number + 1))


def deliver_period(
    warehouse: WarehouseResource,
    period: str,
    rendered: list[Any],
    recipients: Mapping[str, Any],
    transport: Any,
    sender: str,
    retry: Any = None,
) -> dict[str, Any]:
    """Deliver every rendered report of ``period`` to its recipients; kind -> outcome.

    Every report is attempted whatever happened to the one before (a refused or uncertain
    recipient is in its outcome); only a setting to fix or a full disk (IceError) stops here.
    """
    from ice_pipeline.reports.archive import load_report
    from ice_pipeline.reports.delivery import deliver

    outcomes = {}
    for content in rendered:
        group = "provider" if content.kind.startswith("provider:") else content.kind
        if group not in recipients or not recipients[group].recipients:
            continue
        archived = load_report(
            warehouse.engine(), period=period, kind=content.kind, audience=content.audience
        )
        if archived is None or archived.html != content.html:
            raise dg.Failure(
                description=(
                    f"the archived {content.kind} report of {period} differs from a "
                    "fresh rendering; re-run executive_report for this period first"
                ),
                allow_retries=False,
            )
        outcomes[content.kind] = deliver(
            warehouse.engine(),
            archived,
            recipients[group].recipients,
            transport,
            content=content,
            from_address=sender,
            retry=retry,
        )
    return outcomes


def disclosure_block(
    warehouse: WarehouseResource, pipeline: PipelineSettingsResource, period: str
) -> str | None:
    """Why the period's reports may not be sent (a disclosure audit finding), or None."""
    from ice_pipeline.privacy.audit import audit_period, blocking_message

    k = pipeline.index_config().k_min_respondents
    result = audit_period(warehouse.engine(), period, k, pipeline.outbox_dir)
    return None if result.ok else blocking_message(result)


report_assets = [executive_report, disclosure_audit, report_delivery]
