"""External customer answers: raw 0-10 recommend scores (NPS) and raw 1-5 satisfaction (CSAT).

Belongs here: the default columns of the two answer layouts, their scales, and what tells them
apart: a likely-to-recommend score column is NPS, a satisfaction column CSAT (a plain ``score``
column is NPS); a file with ``metric`` and ``value`` columns is the metrics layout
(external_metrics.py) whatever its other columns. The NPS and CSAT arithmetic is external.py's.
"""

from ice_pipeline.ingest.languages import with_aliases
from ice_pipeline.ingest.vendors.external_metrics import is_metrics_table

COLUMNS = with_aliases(
    {
        "nps_responses": {
            "responded_at": ["responded_at", "date", "response date", "submitted at", "timestamp"],
            "business_unit": ["business_unit", "business unit", "segment"],
            "score": [
                "score",
                "likely to recommend",
                "likelytorecommend",
                "nps",
                "recommendation_score",
            ],
        },
        "csat_responses": {
            "responded_at": ["responded_at", "date", "response date", "submitted at", "timestamp"],
            "business_unit": ["business_unit", "business unit", "segment"],
            "score": ["score", "satisfaction", "csat"],
        },
    },
    "external",
)
SCALES = {"nps_responses": (0, 10), "csat_responses": (1, 5)}


def is_nps_answers(names: set[str]) -> bool:
    """A recommend-score column (and not a metrics table)."""
    return not is_metrics_table(names) and bool(names & set(COLUMNS["nps_responses"]["score"]))


def is_csat_answers(names: set[str]) -> bool:
    """A satisfaction-score column (and neither a metrics table nor NPS answers)."""
    return (
        not is_metrics_table(names)
        and not is_nps_answers(names)
        and bool(names & set(COLUMNS["csat_responses"]["score"]))
    )


RECOGNISERS = {"nps_responses": is_nps_answers, "csat_responses": is_csat_answers}
