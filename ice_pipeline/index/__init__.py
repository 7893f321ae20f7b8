"""The index and its statistics: plain functions from canonical rows to aggregate tables.

No Dagster and no warehouse access here; assets call these functions and write the frames they
return (whose columns are exactly those of the tables in ``ice_pipeline.warehouse.schema``).
docs/methodology.md describes every formula.
"""

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.correlations import compute_correlations
from ice_pipeline.index.kpis import compute_service_kpis
from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.index.scoring import add_trend, compute_period_scores, rank_providers
from ice_pipeline.index.suppression import find_disclosures, publishable_comments, suppress
from ice_pipeline.index.turnover import compute_turnover

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
