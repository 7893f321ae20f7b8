"""External customer answers: raw NPS (0-10) and CSAT (1-5) responses by business unit and month.

Belongs here: drawing the monthly answer files and their mappings. The planted relationship
(CSAT and NPS follow the company-wide satisfaction shock one period later, except in the null
business unit) is parameterised in ``organisation.py``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import (
    BUSINESS_UNITS,
    CSAT_PCT_PER_ICE_POINT,
    NPS_PER_ICE_POINT,
    NULL_BUSINESS_UNIT,
    format_times,
    month_bounds,
    stream,
)

NPS_BASE = {
    "Retail Banking": (0.42, 0.22),
    "Business Banking": (0.48, 0.18),
    "Wealth Management": (0.55, 0.12),
    "Insurance": (0.35, 0.28),
    "Digital Channels": (0.40, 0.20),
}
CSAT_BASE_TOP2 = {
    "Retail Banking": 0.74,
    "Business Banking": 0.80,
    "Wealth Management": 0.85,
    "Insurance": 0.68,
    "Digital Channels": 0.76,
}
CSAT_QUESTION = "How satisfied were you with our service?"


def _dates(rng: np.random.Generator, period: str, n: int) -> np.ndarray:
    start, end = month_bounds(period)
    days = rng.integers(start, end, n).astype("datetime64[D]")
    return format_times(np.sort(days), "%Y-%m-%d")


def write_external_period(
    folder: Path,
    seed: int,
    t: int,
    period: str,
    lagged_shock_points: float,
    responses_per_unit: int,
) -> dict[str, dict]:
    """Write ``nps_responses_<period>.csv`` and ``csat_responses_<period>.csv``.

    Returns the rows written and the realised NPS and top-2-box % per business unit.
    """
    rng = stream(seed, "external", t)
    nps_parts, csat_parts = [], []
    nps_value: dict[str, float] = {}
    csat_value: dict[str, float] = {}
    for unit in BUSINESS_UNITS:  # five units: a loop over units, vectorised over answers
        shift = 0.0 if unit == NULL_BUSINESS_UNIT else lagged_shock_points
        promoters, detractors = NPS_BASE[unit]
        delta = NPS_PER_ICE_POINT * shift / 200.0  # half from promoters, half from detractors
        p_prom = float(np.clip(promoters + delta, 0.01, 0.98))
        p_det = float(np.clip(detractors - delta, 0.01, 0.98 - p_prom))
        n = int(rng.poisson(responses_per_unit))
        kind = rng.choice(3, n, p=[p_det, 1 - p_prom - p_det, p_prom])
        score = np.where(
            kind == 2,
            rng.integers(9, 11, n),
            np.where(
                kind == 1,
                rng.integers(7, 9, n),
                rng.choice(7, n, p=[0.05, 0.05, 0.08, 0.1, 0.14, 0.26, 0.32]),
            ),
        )
        nps_value[unit] = (
            float(100 * (np.mean(score >= 9) - np.mean(score <= 6))) if n else float("nan")
        )
        nps_parts.append(
            pd.DataFrame(
                {
                    "Date": _dates(rng, period, n),
                    "Business Unit": unit,
                    "Likely to recommend": score,
                }
            )
        )
        top2 = float(
            np.clip(CSAT_BASE_TOP2[unit] + CSAT_PCT_PER_ICE_POINT * shift / 100.0, 0.05, 0.99)
        )
        m = int(rng.poisson(responses_per_unit))
        good = rng.random(m) < top2
        answer = np.where(
            good, rng.choice([4, 5], m, p=[0.55, 0.45]), rng.choice([1, 2, 3], m, p=[0.2, 0.3, 0.5])
        )
        csat_value[unit] = float(100 * np.mean(answer >= 4)) if m else float("nan")
        csat_parts.append(
            pd.DataFrame(
                {"Date": _dates(rng, period, m), "Business Unit": unit, CSAT_QUESTION: answer}
            )
        )
    nps = pd.concat(nps_parts, ignore_index=True).sort_values("Date", kind="stable")
    csat = pd.concat(csat_parts, ignore_index=True).sort_values("Date", kind="stable")
    nps.to_csv(folder / f"nps_responses_{period}.csv", index=False, lineterminator="\n")
    csat.to_csv(folder / f"csat_responses_{period}.csv", index=False, lineterminator="\n")
    return {
        "rows": {"nps_responses": len(nps), "csat_responses": len(csat)},
        "nps": nps_value,
        "csat_top2_pct": csat_value,
    }


def nps_mapping() -> dict:
    return {
        "feed": "external",
        "format": "nps_responses",
        "encoding": "auto",
        "date_order": "YMD",
        "period": "month",
        "columns": {
            "responded_at": "Date",
            "business_unit": "Business Unit",
            "score": "Likely to recommend",
        },
        "business_unit_departments": dict(BUSINESS_UNITS),
    }


def csat_mapping() -> dict:
    return {
        "feed": "external",
        "format": "csat_responses",
        "encoding": "auto",
        "date_order": "YMD",
        "period": "month",
        "columns": {
            "responded_at": "Date",
            "business_unit": "Business Unit",
            "score": CSAT_QUESTION,
        },
        "business_unit_departments": dict(BUSINESS_UNITS),
    }
