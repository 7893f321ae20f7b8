"""The Dagster code location: assembles what the ``defs`` modules declare, nothing more.

Loaded by ``dagster dev -w workspace.yaml``, ``dagster definitions validate`` and ``[tool.dg]``.
Resource values come from the ICE_* environment when the code location loads
(``defs/resources.py`` lists the variables); secrets stay ``EnvVar`` references.
``build_definitions(environ)`` builds the same thing for another environment (the CLI runner
after setting demo mode, tests with a temporary data directory).

Every run worker, sensor tick and CLI call loads this module, so the ``defs`` modules import the
heavy step libraries (great-expectations 3-5 s, scipy, statsmodels, matplotlib, pandera) inside
the functions that use them; ``ice_pipeline_tests/test_startup.py`` holds that.
"""

from collections.abc import Mapping

import dagster as dg

from ice_pipeline.defs.assets_analyst import analyst_assets
from ice_pipeline.defs.assets_dimensions import dimension_assets
from ice_pipeline.defs.assets_drivers import driver_assets
from ice_pipeline.defs.assets_index import index_assets
from ice_pipeline.defs.assets_ingest import ingest_assets_after
from ice_pipeline.defs.assets_pull import build_pull_assets, pulls_by_feed
from ice_pipeline.defs.assets_reports import report_assets
from ice_pipeline.defs.catalog import catalogued
from ice_pipeline.defs.checks import asset_checks
from ice_pipeline.defs.jobs import ice_nightly_job
from ice_pipeline.defs.resources import build_resources
from ice_pipeline.defs.resources_pull import build_pull_resources, configured_sources
from ice_pipeline.defs.schedules import schedules
from ice_pipeline.defs.sensors import sensors


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor; resources from ``environ``."""
    sources = configured_sources(environ)  # ICE_CONFIG connectors: (none: no pull assets)
    return dg.Definitions(
        # Column schema from warehouse/schema.py, owners, tags and code versions (defs/catalog.py).
        assets=catalogued(
            [
                *build_pull_assets(sources),
                *ingest_assets_after(pulls_by_feed(sources)),
                *dimension_assets,
                *index_assets,
                *driver_assets,
                *report_assets,
                *analyst_assets,
            ]
        ),
        asset_checks=asset_checks,
        jobs=[ice_nightly_job],
        schedules=schedules,
        sensors=sensors,
        resources={**build_resources(environ), **build_pull_resources(sources, environ)},
    )


defs = build_definitions()
