"""Typed view-models of the reports, built from the index tables; templates render only these.

This module gathers the page kinds so callers import from one place; each lives in its own
module: ``views_common`` (the published :class:`Estimate` and shared panels),
``views_executive`` (the executive summary), ``views_provider`` (a provider page),
``views_findings`` (correlations), ``views_methodology`` (the methodology page).
The builders take the aggregate tables as DataFrames (column names of
``ice_pipeline.warehouse.schema``) and turn every figure into display-ready text with its n and
95% interval, so templates hold no arithmetic and no formatting rules.
"""

from ice_pipeline.reports.views_common import Estimate, Methodology, withheld_label
from ice_pipeline.reports.views_executive import ExecutiveView, build_executive_view
from ice_pipeline.reports.views_provider import ProviderView, build_provider_view

__all__ = [
    "Estimate",
    "ExecutiveView",
    "Methodology",
    "ProviderView",
    "build_executive_view",
    "build_provider_view",
    "withheld_label",
]
