"""External customer metrics already aggregated: one row per period, business unit and metric.

Belongs here: the metrics layout's recogniser (``metric`` and ``value`` columns), its default
columns and the metric names it understands (NPS, CSAT % / top-2-box %). Answer files
(NPS/CSAT per respondent) are external_answers.py's.
"""

from ice_pipeline.ingest.languages import with_aliases

COLUMNS = with_aliases(
    {
        "metrics": {
            "period": ["period"],
            "business_unit": ["business_unit", "business unit"],
            "metric": ["metric"],
            "value": ["value"],
            "n_responses": ["n_responses", "n"],
            "value_ci_low": ["value_ci_low", "ci_low"],
            "value_ci_high": ["value_ci_high", "ci_high"],
            "department": ["department"],
        }
    },
    "external",
)
METRIC_NAMES = {
    "nps": "nps",
    "net promoter score": "nps",
    "csat": "csat_pct",
    "csat_pct": "csat_pct",
    "csat %": "csat_pct",
    "top-2-box %": "csat_pct",
}


def is_metrics_table(names: set[str]) -> bool:
    """``metric`` and ``value`` columns."""
    return {"metric", "value"} <= names


RECOGNISERS = {"metrics": is_metrics_table}
