"""Associations between internal service, turnover and external customer metrics.

What belongs here: building the (x, y) pairs of each analysis from the aggregate tables and
computing n, Pearson's r with a Fisher-z interval and p, Spearman's rho and p, and the
Benjamini-Hochberg q across every test of the run (docs/methodology.md, "Correlations"). The
analyses, each at every configured lag (x at period t against y at period t + lag):

a) ``consumer_satisfaction_vs_turnover``: each department's satisfaction with internal services
   against its own monthly turnover: over each department's own periods (``group_key`` = the
   department) and pooled over all departments and periods (``group_key`` 'all');
b) ``provider_ice_vs_turnover``: each provider department's ICE against its own turnover, per
   provider and pooled, as in (a);
c) ``company_ice_vs_external``: company ICE against external NPS and CSAT, for the whole
   company (``group_key`` 'all': the response-weighted mean over business units) and for each
   business unit when there are several;
d) ``consumer_satisfaction_vs_turnover_within``: (a) on each department's deviations from its own
   means, so stable differences between departments cannot drive the result; the group means
   cost degrees of freedom, which the p-value and interval account for.

Suppressed cells are NULL and therefore never paired. Fewer than ``min_pairs_for_correlation``
pairs gives status 'insufficient data' and no numbers. These are associations in observational
data: nothing here, nor in any wording built from it, claims that one thing causes another.
"""

import functools
import re

import numpy as np
import pandas as pd

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.scoring import _frame, empty_table
from ice_pipeline.index.stats import benjamini_hochberg, correlation

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@functools.lru_cache(maxsize=4096)  # called per row of 24 periods of history, for every period
def to_period(period: str) -> pd.Period:
    """'YYYY-MM' -> monthly Period, 'YYYY-Qn' -> quarterly Period."""
    text = str(period)
    quarter = _QUARTER.match(text)
    if quarter:
        return pd.Period(year=int(quarter.group(1)), quarter=int(quarter.group(2)), freq="Q")
    if _MONTH.match(text):
        return pd.Period(text, freq="M")
    raise ValueError(f"period {text!r} is neither YYYY-MM nor YYYY-Qn")


def _series(frame: pd.DataFrame | None, entity: str | None, value: str) -> pd.DataFrame:
    """Rows (period: Period, entity, value) with NULL values (suppressed cells) dropped."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["period", "entity", "value"])
    out = pd.DataFrame(
        {
            "period": frame["period"].map(to_period),
            "entity": frame[entity].astype(str) if entity else "all",
            "value": pd.to_numeric(frame[value], errors="coerce"),
        }
    )
    return out.dropna(subset=["value"]).reset_index(drop=True)


def _turnover_series(turnover: pd.DataFrame | None, freq: str, as_of: pd.Period) -> pd.DataFrame:
    """Turnover % per department at the x cadence (quarter: leavers / mean average headcount)."""
    if turnover is None or turnover.empty:
        return pd.DataFrame(columns=["period", "entity", "value"])
    months = turnover.assign(month=turnover["period"].map(to_period))
    months = months[months["month"].map(lambda p: p.freqstr.startswith("M"))]
    months = months[months["month"] <= as_of.asfreq("M", how="end")]
    if freq == "M":
        return _series(months, "department", "turnover_pct")
    months = months.assign(quarter=months["month"].map(lambda p: p.asfreq("Q")))
    grouped = months.groupby(["quarter", "department"], observed=True)
    quarterly = pd.DataFrame(
        {
            "leavers": grouped["leavers"].sum(),
            "average": grouped["headcount_avg"].mean(),
            "months": grouped.size(),
        }
    ).reset_index()
    # Only complete quarters with people in them give a rate.
    quarterly = quarterly[(quarterly["months"] == 3) & (quarterly["average"] > 0)]
    return pd.DataFrame(
        {
            "period": quarterly["quarter"],
            "entity": quarterly["department"].astype(str),
            "value": 100.0 * quarterly["leavers"] / quarterly["average"],
        }
    ).reset_index(drop=True)


def _external_series(
    external: pd.DataFrame | None, metric: str, freq: str, as_of: pd.Period
) -> pd.DataFrame:
    """One metric per business unit and, as entity 'all', the response-weighted mean over units."""
    if external is None or external.empty:
        return pd.DataFrame(columns=["period", "entity", "value", "weight"])
    rows = external[(external["metric"] == metric) & external["value"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["period", "entity", "value", "weight"])
    month = rows["period"].map(to_period)
    period = month.map(lambda p: p.asfreq(freq) if p.freqstr[0] != freq[0] else p)
    weight = pd.to_numeric(rows["n_responses"], errors="coerce")
    # Without counts for every row, each business unit counts equally.
    weight = weight.fillna(1.0) if weight.notna().all() else pd.Series(1.0, index=rows.index)
    data = pd.DataFrame(
        {
            "period": period,
            "entity": rows["business_unit"].astype(str),
            "value": rows["value"].astype(float),
            "weight": weight,
        }
    )
    data = data[(month <= as_of.asfreq("M", how="end")).to_numpy()]

    def weighted(frame: pd.DataFrame) -> pd.DataFrame:
        grouped = frame.assign(product=frame["value"] * frame["weight"]).groupby(
            ["period", "entity"], observed=True
        )
        out = (grouped["product"].sum() / grouped["weight"].sum()).rename("value").reset_index()
        return out

    by_unit = weighted(data)
    company = weighted(data.assign(entity="all"))
    return pd.concat([company, by_unit], ignore_index=True)


def _pairs(x: pd.DataFrame, y: pd.DataFrame, lag: int) -> pd.DataFrame:
    """X at period t joined to y of the same entity at period t + lag."""
    if x.empty or y.empty:
        return pd.DataFrame(columns=["entity", "x", "y"])
    shifted = x.assign(period=x["period"] + lag)
    merged = shifted.merge(y, on=["period", "entity"], suffixes=("_x", "_y"))
    return pd.DataFrame(
        {
            "entity": merged["entity"],
            "x": merged["value_x"].astype(float),
            "y": merged["value_y"].astype(float),
        }
    )


def _result(
    analysis: str,
    x_metric: str,
    y_metric: str,
    lag: int,
    group_key: str,
    pairs: pd.DataFrame,
    config: IndexConfig,
    within: bool,
) -> dict[str, object]:
    row: dict[str, object] = {
        "analysis": analysis,
        "x_metric": x_metric,
        "y_metric": y_metric,
        "lag_periods": lag,
        "group_key": group_key,
    }
    df_lost = 0
    if within and not pairs.empty:
        # Departments seen once have no deviation to contribute.
        sizes = pairs.groupby("entity")["x"].transform("size")
        pairs = pairs[sizes >= 2]
        means = pairs.groupby("entity")[["x", "y"]].transform("mean")
        pairs = pairs.assign(x=pairs["x"] - means["x"], y=pairs["y"] - means["y"])
        df_lost = max(pairs["entity"].nunique() - 1, 0)
    row["n_pairs"] = len(pairs)
    figures = None
    if len(pairs) >= config.min_pairs_for_correlation and len(pairs) - df_lost >= 4:
        figures = correlation(
            pairs["x"].to_numpy(), pairs["y"].to_numpy(), df_lost, config.confidence_level
        )
        if not np.isfinite(figures["pearson_r"]) or not np.isfinite(figures["pearson_p"]):
            figures = None  # no variation on one side: nothing to estimate
    row["status"] = "ok" if figures else "insufficient data"
    for column in (
        "pearson_r",
        "pearson_r_ci_low",
        "pearson_r_ci_high",
        "pearson_p",
        "spearman_rho",
        "spearman_p",
    ):
        row[column] = figures[column] if figures else np.nan
    return row


def _pooled_and_each(
    analysis: str, x_metric: str, lag: int, pairs: pd.DataFrame, config: IndexConfig
) -> list[dict[str, object]]:
    """One result pooled over departments ('all') and one per department over its periods."""
    rows = [_result(analysis, x_metric, "turnover_pct", lag, "all", pairs, config, within=False)]
    for department, own in pairs.groupby("entity", sort=True):
        rows.append(
            _result(
                analysis, x_metric, "turnover_pct", lag, str(department), own, config, within=False
            )
        )
    return rows


def compute_correlations(
    consumer_satisfaction: pd.DataFrame,
    ice_scores: pd.DataFrame,
    company_scores: pd.DataFrame,
    turnover: pd.DataFrame,
    external_metrics: pd.DataFrame,
    as_of: str,
    config: IndexConfig,
) -> pd.DataFrame:
    """The ``correlations`` rows of one run, using every period up to and including ``as_of``.

    Inputs are the published aggregate tables over all periods (suppressed values NULL).
    Monthly y series are aggregated to quarters when the survey is quarterly.
    """
    as_of_period = to_period(as_of)

    def up_to(frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame[frame["period"] <= as_of_period.asfreq(frame["period"].iloc[0].freqstr[0])]
            if not frame.empty
            else frame
        )

    satisfaction = up_to(_series(consumer_satisfaction, "consumer_department", "score"))
    provider_ice = up_to(_series(ice_scores, "provider_department", "ice"))
    company_ice = up_to(_series(company_scores, None, "ice"))

    def cadence(frame: pd.DataFrame) -> str:
        return "Q" if not frame.empty and frame["period"].iloc[0].freqstr.startswith("Q") else "M"

    rows: list[dict[str, object]] = []
    for lag in config.lags:
        turnover_for_satisfaction = _turnover_series(turnover, cadence(satisfaction), as_of_period)
        pairs = _pairs(satisfaction, turnover_for_satisfaction, lag)
        rows.extend(
            _pooled_and_each(
                "consumer_satisfaction_vs_turnover", "consumer_satisfaction", lag, pairs, config
            )
        )
        rows.append(
            _result(
                "consumer_satisfaction_vs_turnover_within",
                "consumer_satisfaction_deviation",
                "turnover_pct_deviation",
                lag,
                "all",
                pairs,
                config,
                within=True,
            )
        )
        pairs = _pairs(
            provider_ice, _turnover_series(turnover, cadence(provider_ice), as_of_period), lag
        )
        rows.extend(_pooled_and_each("provider_ice_vs_turnover", "ice", lag, pairs, config))
        rows.extend(
            _external_results(
                company_ice, external_metrics, cadence(company_ice), as_of_period, lag, config
            )
        )
    return _correlations_table(rows, as_of, config)


def _external_results(
    company_ice: pd.DataFrame,
    external_metrics: pd.DataFrame,
    cadence: str,
    as_of_period: pd.Period,
    lag: int,
    config: IndexConfig,
) -> list[dict[str, object]]:
    """Company ICE against each external metric: all business units, then each unit."""
    rows: list[dict[str, object]] = []
    for metric in ("nps", "csat_pct"):
        external = _external_series(external_metrics, metric, cadence, as_of_period)
        units = sorted(set(external["entity"]) - {"all"}) if not external.empty else []
        groups = ["all"] + (units if len(units) > 1 else [])
        for group in groups:
            y = external[external["entity"] == group].assign(entity="all")
            pairs = _pairs(company_ice, y[["period", "entity", "value"]], lag)
            rows.append(
                _result(
                    "company_ice_vs_external",
                    "company_ice",
                    metric,
                    lag,
                    group,
                    pairs,
                    config,
                    within=False,
                )
            )
    return rows


def _correlations_table(
    rows: list[dict[str, object]], as_of: str, config: IndexConfig
) -> pd.DataFrame:
    """The results with Benjamini-Hochberg q over every test of the run, in a stable order."""
    if not rows:
        return empty_table("correlations")
    result = pd.DataFrame(rows)
    result["bh_q"] = benjamini_hochberg(result["pearson_p"].to_numpy(dtype=float))
    significant = pd.Series(result["bh_q"] < config.alpha, dtype="boolean")
    result["significant"] = significant.mask(result["bh_q"].isna())
    result["period"] = as_of
    result["n_pairs"] = result["n_pairs"].astype(np.int64)
    result["lag_periods"] = result["lag_periods"].astype(np.int64)
    result = result.sort_values(
        ["analysis", "x_metric", "y_metric", "group_key", "lag_periods"], ignore_index=True
    )
    return _frame("correlations", {c: result[c] for c in result.columns})
