"""The main job, and the executor it runs on.

Belongs here: ``ice_nightly_job`` (every asset and asset check of the code location, partitioned
monthly) and the choice of executor. Schedules and sensors (defs/schedules.py, defs/sensors.py)
import the job from here; the CLI runner (ice_pipeline/runner.py) executes it in-process.

Executor: **in-process by default**. The multiprocess executor starts one Python process per step
and each re-imports the code location (pandas, SQLAlchemy, Dagster): on these 2-core machines a
tiny graph took 11-15 s that way against about 4 s in-process (../shared/STACK.md), and our steps
are short and mostly waiting on the warehouse, which serialises writers anyway on DuckDB. A
deployment with PostgreSQL and larger data can switch per run without code changes:

    execution:
      config:
        multiprocess:
          max_concurrent: 2
"""

from typing import Any

import dagster as dg

NIGHTLY_JOB_NAME = "ice_nightly_job"


def _executor_requirements(executor_config: dict[str, Any]) -> list[dg.ExecutorRequirement]:
    if "multiprocess" in executor_config:
        return dg.multiple_process_executor_requirements()
    return []


# Dagster's own multi_or_in_process_executor (same config schema, same implementation), with the
# default flipped from multiprocess to in_process.
in_process_by_default_executor = dg.ExecutorDefinition(
    name="in_process_by_default",
    config_schema=dg.Field(
        dg.multi_or_in_process_executor.config_schema.config_type,
        default_value={"in_process": {}},
        description="in_process (default) or multiprocess: {max_concurrent: N}",
    ),
    executor_creation_fn=dg.multi_or_in_process_executor.executor_creation_fn,
    requirements=_executor_requirements,
    description="In-process unless run config selects multiprocess (ice_pipeline/defs/jobs.py).",
)

ice_nightly_job = dg.define_asset_job(
    name=NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    executor_def=in_process_by_default_executor,
    description=(
        "Ingest the landing exports, compute the index for a period, render, archive and deliver "
        "its reports. Partitioned by month; unpartitioned ingest assets run in every run."
    ),
    tags={"ice/job": "nightly"},
)
