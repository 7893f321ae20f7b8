"""The run log (``ice_ops.run_log``): one row per run, asset and period written, with its checks.

Belongs here: building the row an asset hands to ``warehouse.writes.replace_partition`` (which
writes it in the same transaction as the partition), and completing that row with the outcome of
the asset's check. What a row holds:

* ``run_id``, ``step`` (the asset, which is also the table written), ``partition_key`` (the
  period; '' for the unpartitioned roster), ``status`` ('written'; 'checked' for a check that ran
  without its asset in the same run), ``rows_written``;
* ``inputs_fingerprint``: the run's ``ice/inputs_fingerprint`` tag when the CLI runner set it (the
  same per-period fingerprint it uses to skip unchanged periods), else the sha256 of the source
  files the warehouse holds for the period and of the HR roster files
  (``ice_ops.source_files``), which is what a run launched from the UI computed from;
* ``checks_passed`` / ``checks_failed`` / ``failed_checks`` ("name (severity)", comma-separated),
  filled by the asset check of the table when it runs;
* ``started_at`` (the step's start, from Dagster's event log) and ``finished_at`` (the commit).

Not here: the table definition (``warehouse/schema.py``, migration 0002_ops).
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import sqlalchemy

from ice_pipeline.warehouse import schema

INPUTS_FINGERPRINT_TAG = "ice/inputs_fingerprint"


def _current_context() -> dg.OpExecutionContext | None:
    try:
        return dg.OpExecutionContext.get()
    except Exception:  # noqa: BLE001 - outside a Dagster step there is no run to log
        return None


def _step_started(context: dg.OpExecutionContext) -> datetime | None:
    """When this step started, from the run's event log (naive UTC)."""
    step_key = context.get_step_execution_context().step.key
    records = context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.STEP_START)
    starts = [r.timestamp for r in records if r.step_key == step_key]
    if not starts:
        return None
    return datetime.fromtimestamp(max(starts), UTC).replace(tzinfo=None)


def warehouse_inputs_fingerprint(engine: sqlalchemy.Engine, period: str | None) -> str:
    """sha256 over the source files holding rows of ``period`` and the HR roster files."""
    from ice_pipeline.warehouse.writes import read_frame

    files = read_frame(engine, schema.source_files)
    material: list[str] = []
    for row in files.sort_values(["feed", "source_sha256"]).itertuples(index=False):
        periods = str(row.periods or "").split(",")
        if row.feed == "hr" or period is None or period in periods:
            material.append(f"{row.feed}:{row.source_sha256}")
    return hashlib.sha256("\n".join([period or "", *material]).encode("utf-8")).hexdigest()


def partition_log(
    engine: sqlalchemy.Engine, asset: str, period: str | None
) -> dict[str, object] | None:
    """The run_log row for writing ``asset``'s ``period`` in the current step (None outside one).

    ``replace_partition(..., log=partition_log(...))`` adds ``rows_written`` and ``finished_at``.
    """
    context = _current_context()
    if context is None:
        return None
    fingerprint = context.run.tags.get(INPUTS_FINGERPRINT_TAG) or warehouse_inputs_fingerprint(
        engine, period
    )
    return {
        "run_id": context.run_id,
        "step": asset,
        "partition_key": period or "",
        "status": "written",
        "inputs_fingerprint": fingerprint,
        "started_at": _step_started(context),
    }


def record_checks(
    engine: sqlalchemy.Engine,
    run_id: str,
    asset: str,
    period: str | None,
    passed: int,
    failed: Sequence[str],
) -> None:
    """Put a check's outcome on the run's row for ``asset``/``period`` (or add a 'checked' row)."""
    table = schema.run_log
    key = (
        (table.c.run_id == run_id)
        & (table.c.step == asset)
        & (table.c.partition_key == (period or ""))
    )
    values: dict[str, Any] = {
        "checks_passed": passed,
        "checks_failed": len(failed),
        "failed_checks": ", ".join(failed) or None,
    }
    with engine.begin() as connection:
        updated = connection.execute(table.update().where(key).values(**values)).rowcount
        if not updated:
            now = datetime.now(UTC).replace(tzinfo=None)
            connection.execute(
                table.insert().values(
                    run_id=run_id,
                    step=asset,
                    partition_key=period or "",
                    status="checked",
                    started_at=now,
                    finished_at=now,
                    **values,
                )
            )
