"""The analyst surface on DuckDB: the ``ice`` schema copied into its own file after each period.

Belongs here: the Dagster shell around ``ice_pipeline.warehouse.analyst_file``. The asset runs at
the end of every period's run (after the tables and the archived reports it copies), on every
path: ``dagster dev``, schedules and sensors; the CLI runner writes it once after its last
period instead (``DEFER_ANALYST_FILE_TAG``, ``Runner.write_analyst_file``). On PostgreSQL there is
nothing to write: analysts use the role made by ``ice-pipeline warehouse grant-analyst``.
"""

import dagster as dg

from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.support import GROUP_REPORTS, Timer, user_errors

# Copying schema ice costs about a second on a large organisation; the CLI runner, which runs
# one period after another, tags its runs with this and writes the file once after the last.
DEFER_ANALYST_FILE_TAG = "ice/defer_analyst_file"

# The tables of schema ``ice`` written in a period's run, and the archive v_report_archive reads.
ANALYST_SOURCES = (
    "external_metrics",
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
    "service_kpis",
    "turnover",
    "correlations",
    "executive_report",
)


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_REPORTS,
    deps=list(ANALYST_SOURCES),
    kinds={"duckdb"},
    description=(
        "The analysts' DuckDB file (ICE_ANALYST_DUCKDB): every table and view of schema ice, "
        "and nothing of ice_private or ice_ops, replaced atomically after each period's run. "
        "Not written for a PostgreSQL warehouse (analysts use the grant-analyst role there)."
    ),
)
def analyst_warehouse(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.warehouse.analyst_file import export_analyst_file

    timer = Timer()
    engine = warehouse.engine()
    if engine.dialect.name != "duckdb":
        return dg.MaterializeResult(
            metadata={"written": False, "reason": "PostgreSQL: analysts use the analyst role"}
        )
    if context.run.tags.get(DEFER_ANALYST_FILE_TAG) == "1":
        return dg.MaterializeResult(
            metadata={"written": False, "reason": "deferred: written once after the last period"}
        )
    with user_errors():
        export = export_analyst_file(engine, pipeline.analyst_path)
    context.log.info(f"analyst file: {len(export.tables)} tables and views of schema ice")
    return dg.MaterializeResult(
        metadata={
            "written": True,
            "path": dg.MetadataValue.path(str(export.path)),
            "tables": len(export.tables),
            "rows": export.rows,
            "size_bytes": export.size_bytes,
            "duration_s": timer.seconds,
        }
    )


analyst_assets = [analyst_warehouse]
