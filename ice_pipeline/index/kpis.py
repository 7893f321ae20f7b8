"""Service KPIs per provider and period from tickets, each scored 0-100, and ICE-K.

What belongs here: ``tickets`` rows -> ``service_kpis`` rows. Each KPI is mapped linearly to
0-100 between a configurable zero point (score 0) and target (score 100), clipped, so a KPI
better than its target scores 100 and one worse than its zero point scores 0 (docs/methodology.md,
"Service KPIs"). ICE-K is the weighted mean of the KPI scores a provider has; a missing KPI
drops out and the remaining weights are renormalised. Volumes (``tickets_n``) are shown, not scored.
"""

import numpy as np
import pandas as pd

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.scoring import _frame, empty_table


def linear_score(value: pd.Series | np.ndarray, target: float, zero: float) -> np.ndarray:
    """100 at ``target``, 0 at ``zero``, linear between, clipped to [0, 100]; NaN stays NaN.

    Works for both directions: with ``zero < target`` higher is better, otherwise lower is better.
    """
    values = np.asarray(value, dtype=float)
    return np.clip(100.0 * (values - zero) / (target - zero), 0.0, 100.0)


def compute_service_kpis(tickets: pd.DataFrame, period: str, config: IndexConfig) -> pd.DataFrame:
    """The ``service_kpis`` rows of one period (tickets whose ``period`` equals it).

    Per provider: SLA met % and reopen % over tickets where the flag is known, median
    resolution hours over resolved tickets, first-assignee resolution % and mean ticket
    satisfaction (1-5). Ticket satisfaction is a rating by people, so it is published only when
    at least k tickets carry one (``satisfaction_n`` is always shown).
    """
    rows = tickets[tickets["period"] == period] if not tickets.empty else tickets
    if rows.empty:
        return empty_table("service_kpis")
    grouped = rows.groupby("provider_department", sort=True, observed=True)

    kpis = pd.DataFrame(
        {
            "tickets_n": grouped.size(),
            "sla_met_pct": _flag_pct(rows, "sla_met"),
            "reopen_pct": _flag_pct(rows, "reopened"),
            "median_resolution_hours": grouped["resolution_hours"].median(),
            "first_assignee_pct": _flag_pct(rows, "first_assignee_resolved"),
            "satisfaction_mean": grouped["satisfaction"].mean(),
            "satisfaction_n": grouped["satisfaction"].count(),
        }
    )
    too_few = kpis["satisfaction_n"] < config.k_min_respondents
    kpis.loc[too_few, "satisfaction_mean"] = np.nan
    kpis["sla_score"] = linear_score(
        kpis["sla_met_pct"], config.sla_target_pct, config.sla_zero_pct
    )
    kpis["reopen_score"] = linear_score(
        kpis["reopen_pct"], config.reopen_target_pct, config.reopen_zero_pct
    )
    kpis["resolution_score"] = linear_score(
        kpis["median_resolution_hours"],
        config.resolution_target_hours,
        config.resolution_zero_hours,
    )
    kpis["first_assignee_score"] = linear_score(
        kpis["first_assignee_pct"], config.first_assignee_target_pct, config.first_assignee_zero_pct
    )
    kpis["satisfaction_score"] = linear_score(
        kpis["satisfaction_mean"], config.satisfaction_target, config.satisfaction_zero
    )
    kpis["ice_k"] = weighted_ice_k(kpis, config)
    kpis = kpis.reset_index()
    return _frame(
        "service_kpis",
        {
            **{c: kpis[c] for c in kpis.columns},
            "period": period,
            "tickets_n": kpis["tickets_n"].astype(np.int64),
            "satisfaction_n": kpis["satisfaction_n"].astype(np.int64),
        },
    )


def _flag_pct(rows: pd.DataFrame, column: str) -> pd.Series:
    """Percent of tickets with the flag true, over tickets where it is known (vectorised)."""
    known = rows[column].notna()
    flags = rows[column].where(known).astype(float)
    frame = pd.DataFrame({"provider_department": rows["provider_department"], "flag": flags})
    return 100.0 * frame.groupby("provider_department", sort=True, observed=True)["flag"].mean()


def weighted_ice_k(kpis: pd.DataFrame, config: IndexConfig) -> pd.Series:
    """Weighted mean of the available KPI scores per row; NaN when none is available."""
    weights = config.kpi_weights
    scores = kpis[list(weights)].astype(float)
    weight_matrix = np.where(scores.notna(), np.array(list(weights.values())), 0.0)
    total_weight = weight_matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ice_k = (scores.fillna(0).to_numpy() * weight_matrix).sum(axis=1) / total_weight
    return pd.Series(np.where(total_weight > 0, ice_k, np.nan), index=kpis.index)
