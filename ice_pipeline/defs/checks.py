"""Asset checks: the great-expectations suite of each canonical table, per period.

Belongs here: one Dagster asset check per canonical table, built from the outcomes of
``ice_pipeline.ingest.expectations.run_suite`` (volume against the previous period, null rates,
value sets, freshness, departments unknown to HR, ...), and ``period_check_outcomes``, the same
outcomes for report delivery to consult. The expectations themselves live in ``ingest``.

Why the checks are not Dagster-blocking: a blocking check that fails skips every downstream asset
of the run, which would also stop archiving the report, and issue 5 wants a failed blocking check
to stop only the email. So the checks report ERROR (blocking expectation failed) or WARN severity,
and ``report_delivery`` evaluates the same outcomes itself and refuses to send when a blocking one
failed. The outcomes are memoised per (run, table, period), so a run evaluates each suite once
whichever step asks first; a later run evaluates afresh on the data then in the warehouse.
"""

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import dagster as dg

from ice_pipeline.defs.partitions import monthly_partitions, previous_period
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.run_log import record_checks

# Canonical table -> the asset that writes it.
CHECKED_TABLES = ("survey_ratings", "survey_comments", "tickets", "external_metrics", "employees")
CHECK_NAME = "expectation_suite"
# Rebuilding the Data Docs renders every stored result, so its cost grows with history. A run
# tagged with this (the CLI runner's runs, which build the docs once at the end) skips it.
DEFER_DATA_DOCS_TAG = "ice/defer_data_docs"


@dataclass(frozen=True)
class Outcome:
    """One expectation's result for a table and period (ingest.expectations.CheckOutcome)."""

    table: str
    check_name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict[str, Any]


_MEMO: dict[tuple[str, str, str], list[Outcome]] = {}
_MEMO_LOCK = threading.Lock()


def evaluate_table(
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    table: str,
    period: str | None,
    run_id: str = "",
) -> list[Outcome]:
    """Run ``table``'s expectation suite on its rows of ``period`` (for employees: the roster).

    The suite runs in the warehouse (GX's SQL data source and a few aggregates): the period's
    rows are not read back into pandas (``run_id`` is kept for the callers' signature).
    """
    from ice_pipeline.ingest.expectations import run_suite_in_warehouse  # GX loads here only

    del run_id
    outcomes = run_suite_in_warehouse(
        table,
        warehouse.engine(),
        period=None if table == "employees" else period,
        previous_period=None if table == "employees" or period is None else previous_period(period),
        gx_dir=pipeline.gx_dir,
    )
    return [
        Outcome(
            table,
            o.check_name,
            bool(o.passed),
            bool(o.blocking),
            str(o.description),
            dict(o.metadata or {}),
        )
        for o in outcomes
    ]


def table_outcomes(
    run_id: str,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
    table: str,
    period: str | None,
) -> list[Outcome]:
    """``evaluate_table`` memoised per run: checks and delivery in one run share one evaluation."""
    key = (run_id, table, period or "")
    with _MEMO_LOCK:
        cached = _MEMO.get(key)
    if cached is not None:
        return cached
    outcomes = evaluate_table(warehouse, pipeline, table, period, run_id)
    with _MEMO_LOCK:
        if (
            len(_MEMO) > 2000
        ):  # a long-lived process (dagster dev, the daemon) must not grow forever
            _MEMO.clear()
        _MEMO[key] = outcomes
    return outcomes


def period_check_outcomes(
    run_id: str, warehouse: WarehouseResource, pipeline: PipelineSettingsResource, period: str
) -> list[Outcome]:
    """Every canonical table's outcomes for ``period`` (the roster as it stands)."""
    outcomes: list[Outcome] = []
    for table in CHECKED_TABLES:
        outcomes.extend(
            table_outcomes(
                run_id, warehouse, pipeline, table, None if table == "employees" else period
            )
        )
    return outcomes


def blocking_failures(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.blocking and not o.passed]


def failed_names(outcomes: list[Outcome]) -> list[str]:
    """``name (ERROR)`` / ``name (WARN)`` of each failed expectation: blocking ones are ERROR."""
    return [
        f"{o.check_name} ({'ERROR' if o.blocking else 'WARN'})" for o in outcomes if not o.passed
    ]


def failure_text(outcome: Outcome) -> str:
    """How a failed expectation reads in a report or a check: a failure, never a pass."""
    severity = "blocking" if outcome.blocking else "warning"
    return f"FAILED ({severity}): expected {outcome.description}, and the data does not meet it"


def check_result(outcomes: list[Outcome]) -> dg.AssetCheckResult:
    """Fold a table's outcomes into one Dagster check result (ERROR if a blocking one failed)."""
    failed = [o for o in outcomes if not o.passed]
    blocking = blocking_failures(outcomes)
    rows = [
        {
            "expectation": o.check_name,
            "passed": o.passed,
            "blocking": o.blocking,
            "description": o.description if o.passed else failure_text(o),
        }
        for o in outcomes
    ]
    metadata: dict[str, Any] = {
        "expectations": len(outcomes),
        "failed": len(failed),
        "blocking_failed": len(blocking),
        "failed_names": ", ".join(failed_names(outcomes)) or "none",
        "outcomes": dg.TableMetadataValue(
            records=[dg.TableRecord(row) for row in rows],
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("expectation", "string"),
                    dg.TableColumn("passed", "bool"),
                    dg.TableColumn("blocking", "bool"),
                    dg.TableColumn("description", "string"),
                ]
            ),
        ),
    }
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(f"{o.check_name}: {failure_text(o)}" for o in failed)[:1000] or None,
    )


def _build_check(table: str) -> dg.AssetChecksDefinition:
    # Partitioned like the asset: a check result belongs to one period in the UI and can be
    # launched for one period. The roster (employees) is one unpartitioned snapshot.
    partitioned = table != "employees"

    @dg.asset_check(
        asset=table,
        name=CHECK_NAME,
        blocking=False,
        partitions_def=monthly_partitions if partitioned else None,
        description=(
            f"great-expectations suite of {table} for the run's period; ERROR severity when an "
            "expectation that would make the index wrong fails (report delivery then refuses)."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        pipeline: PipelineSettingsResource,
    ) -> dg.AssetCheckResult:
        period = _partition_key(context) if partitioned else None
        run_id = context.op_execution_context.run_id
        outcomes = table_outcomes(run_id, warehouse, pipeline, table, period)
        result = check_result(outcomes)
        record_checks(
            warehouse.engine(),
            run_id,
            table,
            period,
            passed=sum(o.passed for o in outcomes),
            failed=failed_names(outcomes),
        )
        if context.op_execution_context.run.tags.get(DEFER_DATA_DOCS_TAG) != "1":
            _build_docs(context, pipeline)
        return result

    return _check


def _partition_key(context: dg.AssetCheckExecutionContext) -> str:
    key = (
        context.op_execution_context.partition_key
        if context.op_execution_context.has_partition_key
        else None
    )
    if key is None:
        raise dg.Failure(
            description="this check runs for one period: launch it with a partition (YYYY-MM)"
        )
    return key


def _build_docs(context: dg.AssetCheckExecutionContext, pipeline: PipelineSettingsResource) -> None:
    from ice_pipeline.errors import IceError
    from ice_pipeline.ingest.expectations import build_data_docs

    try:
        build_data_docs(pipeline.gx_dir)
    except (OSError, IceError) as err:  # the docs are a convenience; the result stands without
        # them (a full disk arrives as one DiskFull line, not GX's tracebacks)
        context.log.warning(f"GX Data Docs were not rebuilt in {pipeline.gx_dir}: {err}")


# Partitioned asset checks are a preview feature in Dagster 1.13 (pinned exactly in pyproject).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.PreviewWarning)
    asset_checks = [_build_check(table) for table in CHECKED_TABLES]
