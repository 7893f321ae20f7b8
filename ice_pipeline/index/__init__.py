"""The index and its statistics: plain functions from canonical rows to aggregate tables.

No Dagster here; assets call these functions and write the frames they return (whose columns
are exactly those of the tables in ``ice_pipeline.warehouse.schema``). The warehouse is only
queried, never written, and only by the moments path (``moments``, ``warehouse_ratings``,
``publish``), which leaves a period's ratings where they are stored.
docs/methodology.md describes every formula.
"""

from importlib import import_module
from typing import Any

# Exported names -> their module. Loaded on first use (PEP 562), so ``import
# ice_pipeline.index.scale`` (the ingest's answer scale) does not import scipy through
# correlations and stats: ``ice-pipeline inspect`` must answer in about a second (issue 16).
_EXPORTS = {
    "IndexConfig": "config",
    "compute_correlations": "correlations",
    "compute_service_kpis": "kpis",
    "is_favourable": "scale",
    "to_score": "scale",
    "add_trend": "scoring",
    "compute_period_scores": "scoring",
    "rank_providers": "scoring",
    "find_disclosures": "suppression",
    "publishable_comments": "suppression",
    "suppress": "suppression",
    "compute_turnover": "turnover",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"ice_pipeline.index.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'ice_pipeline.index' has no attribute {name!r}")


__all__ = [
    "IndexConfig",
    "add_trend",
    "compute_correlations",
    "compute_period_scores",
    "compute_service_kpis",
    "compute_turnover",
    "find_disclosures",
    "is_favourable",
    "publishable_comments",
    "rank_providers",
    "suppress",
    "to_score",
]
