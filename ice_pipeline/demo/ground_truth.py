"""``ground_truth.json``: the planted effects of the demo organisation and their realised values.

Belongs here: turning what the generator simulated (provider, department and company scores per
period, turnover rebuilt from the roster, external metrics, the company shock) into the ground
truth file that the acceptance tests and docs read: one function per planted effect, with its
parameters, what was realised in the written data, and how the pipeline is expected to detect it.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from ice_pipeline.demo.organisation import (
    BUSINESS_UNITS,
    COMPANY_SHOCK_AR,
    COMPANY_SHOCK_SD_POINTS,
    CSAT_LAG_PERIODS,
    CSAT_PCT_PER_ICE_POINT,
    DECLINING_PROVIDERS,
    DEPARTMENTS,
    DIMENSIONS,
    DIP_DEPARTMENT,
    DIP_TURNOVER_LAG_PERIODS,
    DIP_TURNOVER_PER_POINT,
    IMPROVING_PROVIDERS,
    NOT_TERMINATED,
    NPS_PER_ICE_POINT,
    NULL_BUSINESS_UNIT,
    OUTCOME_DIMENSION,
    OUTCOME_SD,
    PLANTED_DRIVER,
    PLANTED_DRIVER_WEIGHT,
    PROVIDER_BASE_SCORE,
    PROVIDER_NAMES,
    PROVIDER_TREND_POINTS,
    Roster,
    dip_points,
    month_bounds,
    voluntary_rate,
)

GENERATOR_VERSION = 2  # 2: the overall item and its planted key driver (issue 14)


def turnover_by_period(roster: Roster, period_keys: list[str]) -> dict[str, np.ndarray]:
    """(department, period) headcount and leavers rebuilt from the roster, as the pipeline would."""
    shape = (len(DEPARTMENTS), len(period_keys))
    out = {k: np.zeros(shape) for k in ("headcount_avg", "leavers", "voluntary_leavers")}
    for t, period in enumerate(period_keys):
        start, end = month_bounds(period)
        at_start = (roster.hire_day < start) & (roster.term_day >= start)
        at_end = (roster.hire_day < end) & (roster.term_day >= end)
        left = (
            (roster.term_day >= start)
            & (roster.term_day < end)
            & (roster.term_day != NOT_TERMINATED)
        )
        voluntary = left & np.isin(roster.term_type, (1, 3))
        n_dept = len(DEPARTMENTS)
        out["headcount_avg"][:, t] = (
            np.bincount(roster.department[at_start], minlength=n_dept)
            + np.bincount(roster.department[at_end], minlength=n_dept)
        ) / 2
        out["leavers"][:, t] = np.bincount(roster.department[left], minlength=n_dept)
        out["voluntary_leavers"][:, t] = np.bincount(roster.department[voluntary], minlength=n_dept)
    return out


def _r(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return None
    return round(float(np.corrcoef(x[ok], y[ok])[0, 1]), 3)


def _lagged_r(x: np.ndarray, y: np.ndarray, lag: int) -> float | None:
    """Correlation of x(t) with y(t + lag)."""
    if lag >= len(x):
        return None
    return _r(x[: len(x) - lag], y[lag:])


def _round_list(values: np.ndarray, digits: int = 2) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), digits) for v in values]


@dataclass
class _Derived:
    """The realised series every effect reads, computed once."""

    n_periods: int
    provider_score: np.ndarray
    provider_n: np.ndarray
    company_score: np.ndarray
    shock: np.ndarray
    vol_pct: np.ndarray  # department x period voluntary leaving rate, %
    dip_index: int
    dip_sat: np.ndarray
    dip_vol: np.ndarray
    dev_sat: np.ndarray  # within-department deviations (the issue-4 analysis d)
    dev_vol: np.ndarray
    csat_company: np.ndarray
    nps_null: np.ndarray
    csat_null: np.ndarray

    def slope(self, series: np.ndarray) -> float | None:
        ok = np.isfinite(series)
        if ok.sum() < 2:
            return None
        x = np.arange(self.n_periods, dtype=float)
        return round(float(np.polyfit(x[ok], series[ok], 1)[0]), 3)

    def pooled(self, lag: int) -> float | None:
        if lag >= self.n_periods:
            return None
        n = self.n_periods
        return _r(self.dev_sat[:, : n - lag].ravel(), self.dev_vol[:, lag:].ravel())


def _derive(
    provider_score: np.ndarray,
    provider_n: np.ndarray,
    dept_score: np.ndarray,
    company_score: np.ndarray,
    turnover: dict[str, np.ndarray],
    external_metrics: dict[str, dict[str, list]],
    shock: np.ndarray,
) -> _Derived:
    dip_index = DEPARTMENTS.index(DIP_DEPARTMENT)
    headcount = turnover["headcount_avg"]
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_pct = np.where(headcount > 0, 100 * turnover["voluntary_leavers"] / headcount, np.nan)
    csat_company = np.nanmean(
        np.array(
            [
                external_metrics["csat_top2_pct"][u]
                for u in BUSINESS_UNITS
                if u != NULL_BUSINESS_UNIT
            ],
            dtype=float,
        ),
        axis=0,
    )
    return _Derived(
        n_periods=provider_score.shape[1],
        provider_score=provider_score,
        provider_n=provider_n,
        company_score=company_score,
        shock=shock,
        vol_pct=vol_pct,
        dip_index=dip_index,
        dip_sat=dept_score[dip_index],
        dip_vol=vol_pct[dip_index],
        dev_sat=dept_score - np.nanmean(dept_score, axis=1, keepdims=True),
        dev_vol=vol_pct - np.nanmean(vol_pct, axis=1, keepdims=True),
        csat_company=csat_company,
        nps_null=np.array(external_metrics["nps"][NULL_BUSINESS_UNIT], dtype=float),
        csat_null=np.array(external_metrics["csat_top2_pct"][NULL_BUSINESS_UNIT], dtype=float),
    )


def _providers(v: _Derived) -> dict[str, Any]:
    providers = {}
    for i, name in enumerate(PROVIDER_NAMES):
        kind = (
            "improving"
            if name in IMPROVING_PROVIDERS
            else "declining"
            if name in DECLINING_PROVIDERS
            else "flat"
        )
        providers[name] = {
            "planted": kind,
            "base_score_0_100": PROVIDER_BASE_SCORE[name],
            "planted_change_points": PROVIDER_TREND_POINTS
            * (1 if kind == "improving" else -1 if kind == "declining" else 0),
            "observed_score_by_period": _round_list(v.provider_score[i]),
            "observed_n_respondents_by_period": [int(x) for x in v.provider_n[i]],
            "observed_slope_points_per_period": v.slope(v.provider_score[i]),
        }
    return providers


def _effect_key_driver(v: _Derived) -> dict[str, Any]:
    return {
        "id": "key_driver",
        "kind": "key driver",
        "description": f"Every respondent also answers '{DIMENSIONS[-1][1]}' "
        f"({OUTCOME_DIMENSION}). It follows the respondent's common opinion of the "
        f"provider plus the part of the {PLANTED_DRIVER} item that the other items do not "
        "share; no other dimension has a part of its own in it.",
        "parameters": {
            "outcome": OUTCOME_DIMENSION,
            "planted_driver": PLANTED_DRIVER,
            "weight_of_driver_item_noise": PLANTED_DRIVER_WEIGHT,
            "outcome_noise_sd_1_5_scale": OUTCOME_SD,
        },
        "expected_detection": f"Key-driver analysis with {OUTCOME_DIMENSION} as the outcome "
        f"ranks {PLANTED_DRIVER} first (largest Shapley share of R-squared) company-wide and "
        "for every provider it publishes, with an interval above every other dimension's "
        "share company-wide.",
    }


def _effect_provider_trends(v: _Derived) -> dict[str, Any]:
    return {
        "id": "provider_trends",
        "kind": "provider trend",
        "description": "Two providers improve and two decline linearly over the window; the "
        "others are flat apart from the company-wide shock shared by all.",
        "parameters": {
            "improving": IMPROVING_PROVIDERS,
            "declining": DECLINING_PROVIDERS,
            "change_points_0_100_over_window": PROVIDER_TREND_POINTS,
            "ticket_resolution_time": "improving providers resolve faster over the window "
            "(x exp(-0.45) by the end), declining ones slower",
        },
        "observed": {
            "slope_points_per_period": {
                name: v.slope(v.provider_score[i]) for i, name in enumerate(PROVIDER_NAMES)
            },
            "change_points_last3_minus_first3": {
                name: (
                    round(
                        float(
                            np.nanmean(v.provider_score[i, -3:])
                            - np.nanmean(v.provider_score[i, :3])
                        ),
                        2,
                    )
                    if v.n_periods >= 6
                    else None
                )
                for i, name in enumerate(PROVIDER_NAMES)
            },
        },
        "expected_detection": "ICE-P of the improving providers rises (positive slope, last "
        "period significantly above the first), of the declining providers falls; no "
        "flat provider shows a trend of that size. Rounding answers to the 1-5 "
        "scale shrinks the realised change slightly; see observed_* values.",
    }


def _effect_consumer_satisfaction_precedes_turnover(v: _Derived) -> dict[str, Any]:
    return {
        "id": "consumer_satisfaction_precedes_turnover",
        "kind": "lagged association",
        "description": f"{DIP_DEPARTMENT}'s satisfaction with every internal provider falls "
        "over months ~6-14 and partly recovers; its voluntary leaving rate rises "
        f"{DIP_TURNOVER_LAG_PERIODS} periods later in proportion to the lost points.",
        "parameters": {
            "department": DIP_DEPARTMENT,
            "satisfaction_shift_points_by_period": _round_list(dip_points(v.n_periods)),
            "turnover_lag_periods": DIP_TURNOVER_LAG_PERIODS,
            "voluntary_rate_multiplier": f"1 + {DIP_TURNOVER_PER_POINT} x points lost "
            f"{DIP_TURNOVER_LAG_PERIODS} periods earlier",
            "monthly_voluntary_rate_by_period": _round_list(
                voluntary_rate(v.n_periods)[v.dip_index], 4
            ),
        },
        "observed": {
            "consumer_satisfaction_by_period": _round_list(v.dip_sat),
            "voluntary_turnover_pct_by_period": _round_list(v.dip_vol),
            "pearson_r_satisfaction_vs_voluntary_turnover_by_lag": {
                str(lag): _lagged_r(v.dip_sat, v.dip_vol, lag) for lag in range(4)
            },
            "pooled_within_department_r_by_lag": {str(lag): v.pooled(lag) for lag in range(4)},
        },
        "expected_detection": "Within this department, satisfaction against voluntary "
        "turnover lagged 1-3 periods is strongly negative (r about -0.6 to -0.75 at 2,000 "
        "employees; because the dip is gradual, lag 0 is negative too). Only this department "
        "carries the link, so the pooled within-department (deviation) correlation over all "
        "~30 departments is diluted: weak, negative at lags 2-3, not reliably significant.",
    }


def _effect_null_business_unit_external(v: _Derived) -> dict[str, Any]:
    return {
        "id": "null_business_unit_external",
        "kind": "null",
        "description": f"NPS and CSAT of '{NULL_BUSINESS_UNIT}' are drawn independently of "
        "everything else (constant underlying rates, sampling noise only).",
        "parameters": {
            "business_unit": NULL_BUSINESS_UNIT,
            "department": BUSINESS_UNITS[NULL_BUSINESS_UNIT],
        },
        "observed": {
            "pearson_r_company_score_vs_nps_by_lag": {
                str(lag): _lagged_r(v.company_score, v.nps_null, lag) for lag in range(4)
            },
            "pearson_r_company_score_vs_csat_by_lag": {
                str(lag): _lagged_r(v.company_score, v.csat_null, lag) for lag in range(4)
            },
        },
        "expected_detection": "not significant at any lag (after Benjamini-Hochberg).",
    }


def _effect_null_provider_ice_vs_own_turnover(v: _Derived) -> dict[str, Any]:
    return {
        "id": "null_provider_ice_vs_own_turnover",
        "kind": "null",
        "description": "Every provider department's own turnover is drawn at the constant "
        "base rate, independent of how others rate it (including the trending providers).",
        "parameters": {"providers": PROVIDER_NAMES},
        "observed": {
            "pearson_r_same_period": {
                name: _r(v.provider_score[i], v.vol_pct[DEPARTMENTS.index(name)])
                for i, name in enumerate(PROVIDER_NAMES)
            }
        },
        "expected_detection": "not significant for any provider (some |r| may be sizeable by "
        "chance with 24 points; none should survive Benjamini-Hochberg).",
    }


def _effect_company_ice_leads_external_csat(v: _Derived) -> dict[str, Any]:
    return {
        "id": "company_ice_leads_external_csat",
        "kind": "lagged association",
        "description": "A company-wide AR(1) shock moves every internal rating; external CSAT "
        "(top-2 box) and NPS of every business unit except the null one follow it "
        f"{CSAT_LAG_PERIODS} period later.",
        "parameters": {
            "lag_periods": CSAT_LAG_PERIODS,
            "shock_sd_points": COMPANY_SHOCK_SD_POINTS,
            "shock_ar1": COMPANY_SHOCK_AR,
            "csat_top2_pct_per_point": CSAT_PCT_PER_ICE_POINT,
            "nps_points_per_point": NPS_PER_ICE_POINT,
            "shock_points_by_period": _round_list(v.shock[1:]),
            "business_units": [u for u in BUSINESS_UNITS if u != NULL_BUSINESS_UNIT],
        },
        "observed": {
            "pearson_r_company_score_vs_mean_csat_by_lag": {
                str(lag): _lagged_r(v.company_score, v.csat_company, lag) for lag in range(4)
            }
        },
        "expected_detection": "positive at lag 1 (moderate to strong with 24 periods); weaker "
        "or none at lags 0, 2, 3. Company ICE also contains the provider trends (which "
        "roughly cancel) and the dipping department, so r is below 1.",
    }


_EFFECTS = (
    _effect_key_driver,
    _effect_provider_trends,
    _effect_consumer_satisfaction_precedes_turnover,
    _effect_null_business_unit_external,
    _effect_null_provider_ice_vs_own_turnover,
    _effect_company_ice_leads_external_csat,
)


def ground_truth(
    params: dict[str, Any],
    period_keys: list[str],
    provider_score: np.ndarray,
    provider_n: np.ndarray,
    dept_score: np.ndarray,
    company_score: np.ndarray,
    turnover: dict[str, np.ndarray],
    external_metrics: dict[str, dict[str, list]],
    shock: np.ndarray,
    exclusions: dict[str, int],
) -> dict[str, Any]:
    """The content of ground_truth.json."""
    v = _derive(
        provider_score, provider_n, dept_score, company_score, turnover, external_metrics, shock
    )
    return {
        "generator": "ice_pipeline.demo",
        "generator_version": GENERATOR_VERSION,
        "parameters": params,
        "periods": period_keys,
        "scale": {
            "min": 1,
            "max": 5,
            "score": "0-100 = 25 x (answer - 1), reversed items 25 x (5 - answer)",
            "not_applicable_codes": {
                "qualtrics": "-1",
                "surveymonkey": "N/A",
                "limesurvey": "N/A",
                "google_forms": "Unfamiliar (N/A)",
            },
        },
        "dimensions": [{"dimension": d, "statement": s, "reversed": r} for d, s, r in DIMENSIONS],
        "providers": PROVIDER_NAMES,
        "departments": DEPARTMENTS,
        "business_units": BUSINESS_UNITS,
        "expected_survey_exclusions": exclusions,
        "effects": [effect(v) for effect in _EFFECTS],
        "observed": {
            "provider_score_by_period": _providers(v),
            "company_score_by_period": _round_list(v.company_score),
            "external": {
                k: {u: _round_list(np.array(v, dtype=float)) for u, v in series.items()}
                for k, series in external_metrics.items()
            },
        },
        "canonical_equality": (
            "All survey layouts give the same canonical rows (period, respondent key, consumer "
            "department, "
            "provider, dimension, raw answer, reversed, responded_at): the respondent key R_... "
            "is in "
            "Qualtrics ResponseId, SurveyMonkey 'Custom Data 1', LimeSurvey token and the Google "
            "Forms "
            "response-code question. Preview and incomplete responses exist only in the Qualtrics "
            "layout "
            "(the others are 'completed responses only' exports). Ticket layouts agree on every "
            "field "
            "except ticket_id (INC00NNNNN / SD-(N-12000) / N-11000) and Zendesk satisfaction, "
            "which is good (4-5) / bad (1-3) instead of 1-5."
        ),
    }
