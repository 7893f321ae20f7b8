"""The Dagster code location: assembles what the ``defs`` modules declare, nothing more.

Loaded by ``dagster dev -w workspace.yaml``, ``dagster definitions validate`` and ``[tool.dg]``.
Resource values come from the ICE_* environment when the code location loads
(``defs/resources.py`` lists the variables); secrets stay ``EnvVar`` references.
``build_definitions(environ)`` builds the same thing for another environment (the CLI runner
after setting demo mode, tests with a temporary data directory).
"""

from collections.abc import Mapping

import dagster as dg

from ice_pipeline.defs.assets_dimensions import dimension_assets
from ice_pipeline.defs.assets_index import index_assets
from ice_pipeline.defs.assets_ingest import ingest_assets
from ice_pipeline.defs.assets_reports import report_assets
from ice_pipeline.defs.catalog import catalogued
from ice_pipeline.defs.checks import asset_checks
from ice_pipeline.defs.jobs import ice_nightly_job
from ice_pipeline.defs.resources import build_resources
from ice_pipeline.defs.schedules import schedules
from ice_pipeline.defs.sensors import sensors


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor; resources from ``environ``."""
    return dg.Definitions(
        # Column schema from warehouse/schema.py, owners, tags and code versions (defs/catalog.py).
        assets=catalogued([*ingest_assets, *dimension_assets, *index_assets, *report_assets]),
        asset_checks=asset_checks,
        jobs=[ice_nightly_job],
        schedules=schedules,
        sensors=sensors,
        resources=build_resources(environ),
    )


defs = build_definitions()
