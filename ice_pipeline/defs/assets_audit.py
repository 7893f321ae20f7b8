"""The disclosure audit of each period, between archiving the reports and e-mailing them.

Belongs here: the Dagster shell around :func:`ice_pipeline.privacy.audit.audit_period`. The
asset runs after ``executive_report`` in every run of a period; a finding fails it with one line
naming the finding, so ``report_delivery`` (which depends on it, and asks the same gate itself)
sends nothing and the run fails. What is checked is described in ``privacy/audit.py``.
"""

import dagster as dg

from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.support import GROUP_REPORTS, Timer, user_errors

# (run_id, period) of the clean audits of this process's runs. report_delivery asks the same gate
# right after this asset in the same run, with nothing audited written in between (tables and the
# report archive are upstream of this asset, the outbox is written by the delivery itself), so its
# first attempt takes this verdict instead of auditing everything again (~0.5 s per period). A
# retried delivery, or one launched without this asset, audits afresh.
_CLEAN_IN_RUN: set[tuple[str, str]] = set()


def audited_clean_in_run(run_id: str, period: str) -> bool:
    """Whether this run's ``disclosure_audit`` of ``period`` ran here and found nothing."""
    return (run_id, period) in _CLEAN_IN_RUN


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_REPORTS,
    deps=["executive_report"],
    kinds={"python"},
    description=(
        "Audits the period's tables, views, every archived report version and the e-mails for "
        "any group under k (including differences between versions); a finding blocks delivery."
    ),
)
def disclosure_audit(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.privacy.audit import audit_period, blocking_message

    timer = Timer()
    period = context.partition_key
    with user_errors():
        k = pipeline.index_config().k_min_respondents
        result = audit_period(warehouse.engine(), period, k, pipeline.outbox_dir)
    metadata = {
        "findings": len(result.findings),
        "tables": result.tables,
        "views": result.views,
        "table_versions": result.table_versions,
        "report_versions": result.report_versions,
        "emails": result.emails,
        "duration_s": timer.seconds,
    }
    if not result.findings:
        if len(_CLEAN_IN_RUN) > 2000:  # a long-lived process (dagster dev) must not grow forever
            _CLEAN_IN_RUN.clear()
        _CLEAN_IN_RUN.add((context.run_id, period))
    if result.findings:
        for line in result.findings:
            context.log.error(line)
        raise dg.Failure(
            description=blocking_message(result),
            allow_retries=False,
            metadata={**metadata, "first_finding": result.findings[0]},
        )
    return dg.MaterializeResult(metadata=metadata)
