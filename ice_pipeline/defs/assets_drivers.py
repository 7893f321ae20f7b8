"""The key-driver asset: each dimension's share of overall satisfaction, per period.

Belongs here: the Dagster shell around :func:`ice_pipeline.index.drivers.key_drivers_from_matrix`:
asking the warehouse for the period's per-respondent matrix (``index/driver_matrix.py``: one SQL
query, one row per respondent and provider, never the answers themselves) and replacing the
period's rows of ``key_drivers``. The method (Shapley R-squared, bootstrap, minimum respondents)
lives in ``index/drivers.py``.
"""

import dagster as dg

from ice_pipeline.defs.catalog import written_metadata
from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.run_log import partition_log
from ice_pipeline.defs.support import (
    GROUP_INDEX,
    exclusive_write,
    table_preview,
    user_errors,
)
from ice_pipeline.warehouse import schema


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INDEX,
    deps=["survey_ratings"],
    kinds={"sql"},
    description=(
        "Key drivers: each dimension's Shapley share of the explained variance of overall "
        "satisfaction, with a bootstrap interval, per provider and company-wide."
    ),
)
def key_drivers(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.index.driver_matrix import driver_matrix
    from ice_pipeline.index.drivers import DriverSettings, key_drivers_from_matrix
    from ice_pipeline.warehouse.compute import period_compute
    from ice_pipeline.warehouse.writes import replace_partition

    period = context.partition_key
    with user_errors():
        config = pipeline.index_config()
        engine = warehouse.engine()
        # On PostgreSQL the matrix is computed in the period's local DuckDB copy (issue 13
        # item 5); on DuckDB the warehouse is its own compute engine.
        with period_compute(engine, period) as compute:
            matrix = driver_matrix(compute, period)
        settings = DriverSettings(
            outcome=config.key_driver_outcome, min_respondents=config.key_driver_min_respondents
        )
        rows = key_drivers_from_matrix(matrix, period, config.k_min_respondents, settings)
        with exclusive_write(engine, "key_drivers", period):
            written = replace_partition(
                engine,
                schema.key_drivers,
                rows,
                {"period": period},
                log=partition_log(engine, "key_drivers", period),  # ice_ops.run_log
            )
    published = rows[~rows["suppressed"].astype(bool)] if not rows.empty else rows
    return dg.MaterializeResult(
        metadata={
            **written_metadata("key_drivers", written),
            "groups_published": int(published["provider_department"].nunique())
            if not published.empty
            else 0,
            "outcome": str(rows["outcome"].iloc[0]) if not rows.empty else "none",
            "drivers": table_preview(
                published[["provider_department", "dimension", "importance_pct"]], max_rows=20
            )
            if not published.empty
            else "",
        }
    )


driver_assets = [key_drivers]
