"""Dimension assets: the department short names and roll-up groups analysts filter on.

Belongs here: the Dagster shell that writes ``ice.department_groups`` from the ``departments:``
config section (demo defaults in demo mode). The rules live in ``ice_pipeline.index.departments``.
Unpartitioned: it runs in every run's ingest step, so a changed section is in the next run.
"""

import dagster as dg

from ice_pipeline.defs.catalog import written_metadata
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.run_log import partition_log
from ice_pipeline.defs.support import GROUP_INDEX, exclusive_write, table_preview, user_errors
from ice_pipeline.warehouse import schema


@dg.asset(
    group_name=GROUP_INDEX,
    kinds={"sql"},
    description=(
        "Each department's short name and roll-up group (departments: in ICE_CONFIG), joined by "
        "ice.v_departments so 'IT for Sales' is one filter on each side."
    ),
)
def department_groups(
    warehouse: WarehouseResource, pipeline: PipelineSettingsResource
) -> dg.MaterializeResult:
    from ice_pipeline.index.departments import department_rows
    from ice_pipeline.warehouse.writes import replace_partition

    with user_errors():
        rows = department_rows(pipeline.section("departments"), demo=pipeline.demo_mode)
        engine = warehouse.engine()
        with exclusive_write(engine, "department_groups"):
            written = replace_partition(
                engine,
                schema.department_groups,
                rows,
                {},
                log=partition_log(engine, "department_groups", None),
            )
    return dg.MaterializeResult(
        metadata={
            **written_metadata("department_groups", written),
            "groups": int(rows["department_group"].nunique()) if not rows.empty else 0,
            "departments": table_preview(rows, max_rows=60),
        }
    )


dimension_assets = [department_groups]
