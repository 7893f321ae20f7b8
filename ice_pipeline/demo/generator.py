"""Write the demo organisation's exports into a landing directory, with the ground truth.

Belongs here: the public entry points (:func:`generate_demo`, :func:`generate_enterprise_month`),
argument checking, the landing layout, the mapping files, and ``ground_truth.json`` (the planted
effects with their parameters and the values realised in the written data). The simulation and
the tools' layouts live in the sibling modules.

Layout written under ``out``::

    surveys/<prefix>_<YYYY-MM>.csv + mapping.yaml     one wave per month
    tickets/<prefix>_<YYYY-MM>.csv + mapping.yaml     tickets opened that month
    hr/roster_<end_period>.csv + mapping.yaml         everyone employed during the window
    external/nps_responses_<YYYY-MM>.csv + mapping.yaml
    external/csat_responses_<YYYY-MM>.csv + csat_responses_<YYYY-MM>.mapping.yaml
    ground_truth.json
"""

import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ice_pipeline.demo import external, hr, surveys, tickets
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
    company_shock_points,
    department_shift_points,
    dip_points,
    month_bounds,
    period_list,
    provider_trend_points,
    simulate_roster,
    voluntary_rate,
)
from ice_pipeline.errors import ConfigError

GENERATOR_VERSION = 2  # 2: the overall item and its planted key driver (issue 14)
# Files this generator writes; earlier demo files are removed so one folder never mixes layouts.
_OWN_FILES = (
    "ice_pulse*.csv",
    "servicenow_incidents_*.csv",
    "jira_issues_*.csv",
    "zendesk_tickets_*.csv",
    "roster_*.csv",
    "nps_responses_*.csv",
    "csat_responses_*",
    "mapping.yaml",
)


def _check(
    employees: int,
    periods: int,
    survey_format: str,
    ticket_format: str,
    end_period: str,
    providers_per_respondent: int,
    response_rate: float,
    ticket_locale: str,
) -> None:
    if employees < 100:
        raise ConfigError(
            "--employees",
            f"{employees} is too small for ~30 departments",
            fix="use at least 100 (the default is 2000)",
        )
    if periods < 1:
        raise ConfigError("--periods", f"{periods} periods is not possible", fix="use 1 or more")
    if survey_format not in surveys.SURVEY_FORMATS:
        raise ConfigError(
            "--survey-format",
            f"unknown survey layout '{survey_format}'",
            fix=f"choose one of {', '.join(surveys.SURVEY_FORMATS)}",
        )
    if ticket_format not in tickets.TICKET_FORMATS:
        raise ConfigError(
            "--ticket-format",
            f"unknown ticket layout '{ticket_format}'",
            fix=f"choose one of {', '.join(tickets.TICKET_FORMATS)}",
        )
    if ticket_locale not in tickets.JIRA_HEADERS:
        raise ConfigError(
            "ticket_locale",
            f"unknown Jira header language '{ticket_locale}'",
            fix="use 'en' or 'de'",
        )
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", end_period):
        raise ConfigError(
            "--end-period",
            f"'{end_period}' is not a month",
            fix="write the last period as YYYY-MM, e.g. 2026-10",
        )
    if not 1 <= providers_per_respondent <= len(PROVIDER_NAMES):
        raise ConfigError(
            "providers_per_respondent",
            f"{providers_per_respondent} is out of range",
            fix=f"use 1 to {len(PROVIDER_NAMES)}",
        )
    if not 0 < response_rate <= 1:
        raise ConfigError(
            "response_rate", f"{response_rate} is not a share", fix="use a value in (0, 1]"
        )


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated map out in full: mapping files are read by people, not by anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _write_yaml(path: Path, content: dict[str, Any], comment: str) -> None:
    text = yaml.dump(content, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(f"# {comment}\n{text}", encoding="utf-8")


def _clear(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in _OWN_FILES:
        for path in folder.glob(pattern):
            path.unlink()


# --------------------------------------------------------------------------------------------
# Realised statistics for the ground truth
# --------------------------------------------------------------------------------------------


def _wave_scores(wave: surveys.SurveyWave) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Respondent-first 0-100 scores of complete responses: (respondent x provider) means,
    with NaN where not rated, and the respondents' departments.
    """
    rows = np.flatnonzero(wave.complete)
    raw = wave.ratings[rows].astype(np.float64)
    answered = raw > 0
    reversed_mask = np.array([rev for _, _, rev in DIMENSIONS])
    score = np.where(reversed_mask, 5.0 - raw, raw - 1.0) * 25.0
    total = np.where(answered, score, 0.0).sum(axis=2)
    count = answered.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_provider = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return per_provider, wave.department[rows], rows


def _turnover(roster: Roster, period_keys: list[str]) -> dict[str, np.ndarray]:
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


def _ground_truth(
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
    n_periods = len(period_keys)
    frac_x = np.arange(n_periods, dtype=float)

    def slope(series: np.ndarray) -> float | None:
        ok = np.isfinite(series)
        if ok.sum() < 2:
            return None
        return round(float(np.polyfit(frac_x[ok], series[ok], 1)[0]), 3)

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
            "observed_score_by_period": _round_list(provider_score[i]),
            "observed_n_respondents_by_period": [int(v) for v in provider_n[i]],
            "observed_slope_points_per_period": slope(provider_score[i]),
        }
    dip_index = DEPARTMENTS.index(DIP_DEPARTMENT)
    headcount = turnover["headcount_avg"]
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_pct = np.where(headcount > 0, 100 * turnover["voluntary_leavers"] / headcount, np.nan)
    dip_sat = dept_score[dip_index]
    dip_vol = vol_pct[dip_index]
    # Within-department deviations pooled over departments (the issue-4 analysis d).
    dev_sat = dept_score - np.nanmean(dept_score, axis=1, keepdims=True)
    dev_vol = vol_pct - np.nanmean(vol_pct, axis=1, keepdims=True)

    def pooled(lag: int) -> float | None:
        if lag >= n_periods:
            return None
        return _r(dev_sat[:, : n_periods - lag].ravel(), dev_vol[:, lag:].ravel())

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
    nps_null = np.array(external_metrics["nps"][NULL_BUSINESS_UNIT], dtype=float)
    csat_null = np.array(external_metrics["csat_top2_pct"][NULL_BUSINESS_UNIT], dtype=float)
    effects = [
        {
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
        },
        {
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
                    name: slope(provider_score[i]) for i, name in enumerate(PROVIDER_NAMES)
                },
                "change_points_last3_minus_first3": {
                    name: (
                        round(
                            float(
                                np.nanmean(provider_score[i, -3:])
                                - np.nanmean(provider_score[i, :3])
                            ),
                            2,
                        )
                        if n_periods >= 6
                        else None
                    )
                    for i, name in enumerate(PROVIDER_NAMES)
                },
            },
            "expected_detection": "ICE-P of the improving providers rises (positive slope, last "
            "period significantly above the first), of the declining providers falls; no "
            "flat provider shows a trend of that size. Rounding answers to the 1-5 "
            "scale shrinks the realised change slightly; see observed_* values.",
        },
        {
            "id": "consumer_satisfaction_precedes_turnover",
            "kind": "lagged association",
            "description": f"{DIP_DEPARTMENT}'s satisfaction with every internal provider falls "
            "over months ~6-14 and partly recovers; its voluntary leaving rate rises "
            f"{DIP_TURNOVER_LAG_PERIODS} periods later in proportion to the lost points.",
            "parameters": {
                "department": DIP_DEPARTMENT,
                "satisfaction_shift_points_by_period": _round_list(dip_points(n_periods)),
                "turnover_lag_periods": DIP_TURNOVER_LAG_PERIODS,
                "voluntary_rate_multiplier": f"1 + {DIP_TURNOVER_PER_POINT} x points lost "
                f"{DIP_TURNOVER_LAG_PERIODS} periods earlier",
                "monthly_voluntary_rate_by_period": _round_list(
                    voluntary_rate(n_periods)[dip_index], 4
                ),
            },
            "observed": {
                "consumer_satisfaction_by_period": _round_list(dip_sat),
                "voluntary_turnover_pct_by_period": _round_list(dip_vol),
                "pearson_r_satisfaction_vs_voluntary_turnover_by_lag": {
                    str(lag): _lagged_r(dip_sat, dip_vol, lag) for lag in range(4)
                },
                "pooled_within_department_r_by_lag": {str(lag): pooled(lag) for lag in range(4)},
            },
            "expected_detection": "Within this department, satisfaction against voluntary "
            "turnover lagged 1-3 periods is strongly negative (r about -0.6 to -0.75 at 2,000 "
            "employees; because the dip is gradual, lag 0 is negative too). Only this department "
            "carries the link, so the pooled within-department (deviation) correlation over all "
            "~30 departments is diluted: weak, negative at lags 2-3, not reliably significant.",
        },
        {
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
                    str(lag): _lagged_r(company_score, nps_null, lag) for lag in range(4)
                },
                "pearson_r_company_score_vs_csat_by_lag": {
                    str(lag): _lagged_r(company_score, csat_null, lag) for lag in range(4)
                },
            },
            "expected_detection": "not significant at any lag (after Benjamini-Hochberg).",
        },
        {
            "id": "null_provider_ice_vs_own_turnover",
            "kind": "null",
            "description": "Every provider department's own turnover is drawn at the constant "
            "base rate, independent of how others rate it (including the trending providers).",
            "parameters": {"providers": PROVIDER_NAMES},
            "observed": {
                "pearson_r_same_period": {
                    name: _r(provider_score[i], vol_pct[DEPARTMENTS.index(name)])
                    for i, name in enumerate(PROVIDER_NAMES)
                }
            },
            "expected_detection": "not significant for any provider (some |r| may be sizeable by "
            "chance with 24 points; none should survive Benjamini-Hochberg).",
        },
        {
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
                "shock_points_by_period": _round_list(shock[1:]),
                "business_units": [u for u in BUSINESS_UNITS if u != NULL_BUSINESS_UNIT],
            },
            "observed": {
                "pearson_r_company_score_vs_mean_csat_by_lag": {
                    str(lag): _lagged_r(company_score, csat_company, lag) for lag in range(4)
                }
            },
            "expected_detection": "positive at lag 1 (moderate to strong with 24 periods); weaker "
            "or none at lags 0, 2, 3. Company ICE also contains the provider trends (which "
            "roughly cancel) and the dipping department, so r is below 1.",
        },
    ]
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
        "effects": effects,
        "observed": {
            "provider_score_by_period": providers,
            "company_score_by_period": _round_list(company_score),
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


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def generate_demo(
    out: Path,
    *,
    employees: int = 2000,
    periods: int = 24,
    seed: int = 42,
    survey_format: str = "qualtrics",
    ticket_format: str = "servicenow",
    end_period: str = "2026-10",
    providers_per_respondent: int | None = None,
    response_rate: float | None = None,
    tickets_per_employee_month: float | None = None,
    external_responses_per_unit: int | None = None,
    ticket_locale: str = "en",
) -> dict[str, Any]:
    """Write the demo organisation's exports under ``out`` and return a JSON-able summary.

    The same arguments always give byte-identical files. Defaults: 3 providers rated per
    respondent, 45% response rate, one ticket per employee per year, about 200 external answers
    per business unit and month (scaled with ``employees``, capped at 2,000). Demo files of an
    earlier run in ``out/<feed>/`` (only names this generator writes) are removed first, so a
    folder never mixes two layouts under one mapping.yaml.
    """
    began = time.perf_counter()
    providers_per_respondent = 3 if providers_per_respondent is None else providers_per_respondent
    response_rate = 0.45 if response_rate is None else response_rate
    tickets_per_employee_month = (
        1 / 12 if tickets_per_employee_month is None else tickets_per_employee_month
    )
    if external_responses_per_unit is None:
        external_responses_per_unit = int(np.clip(employees // 10, 100, 2000))
    _check(
        employees,
        periods,
        survey_format,
        ticket_format,
        end_period,
        providers_per_respondent,
        response_rate,
        ticket_locale,
    )
    out = Path(out)
    folders = {feed: out / feed for feed in ("surveys", "tickets", "hr", "external")}
    for folder in folders.values():
        _clear(folder)
    period_keys = period_list(end_period, periods)
    seconds: dict[str, float] = {}
    files: dict[str, list[str]] = {feed: [] for feed in folders}

    mark = time.perf_counter()
    roster = simulate_roster(seed, employees, period_keys)
    roster_path = folders["hr"] / f"roster_{period_keys[-1]}.csv"
    roster_rows = hr.write_roster(roster_path, roster)
    _write_yaml(folders["hr"] / "mapping.yaml", hr.hr_mapping(), "HRIS roster export (demo data)")
    files["hr"] = [roster_path.name, "mapping.yaml"]
    seconds["hr"] = time.perf_counter() - mark

    # Surveys: the company shock has one extra leading period so CSAT at t can follow shock t-1.
    mark = time.perf_counter()
    shock = company_shock_points(seed, periods + CSAT_LAG_PERIODS)
    trend = provider_trend_points(periods)
    dept_shift = department_shift_points(periods)
    n_prov = len(PROVIDER_NAMES)
    provider_score = np.full((n_prov, periods), np.nan)
    provider_n = np.zeros((n_prov, periods))
    dept_score = np.full((len(DEPARTMENTS), periods), np.nan)
    company_score = np.full(periods, np.nan)
    survey_counts = {
        "responses_written": 0,
        "complete_responses": 0,
        "preview_responses": 0,
        "incomplete_responses": 0,
        "ratings": 0,
        "not_applicable": 0,
        "comments": 0,
    }
    writer = surveys.WRITERS[survey_format]
    for t, period in enumerate(period_keys):
        shift = trend[None, :, t] + dept_shift[:, t][:, None] + shock[t + CSAT_LAG_PERIODS]
        wave = surveys.simulate_wave(
            seed,
            t,
            period,
            roster,
            response_rate=response_rate,
            providers_per_respondent=providers_per_respondent,
            score_shift=shift,
        )
        path = folders["surveys"] / f"{surveys.FILE_PREFIX[survey_format]}_{period}.csv"
        survey_counts["responses_written"] += writer(path, seed, wave, roster)
        files["surveys"].append(path.name)
        complete = wave.complete
        survey_counts["complete_responses"] += int(complete.sum())
        survey_counts["preview_responses"] += int((wave.kind == 1).sum())
        survey_counts["incomplete_responses"] += int((wave.kind == 2).sum())
        survey_counts["ratings"] += int((wave.ratings[complete] != 0).sum())
        survey_counts["not_applicable"] += int((wave.ratings[complete] == -1).sum())
        survey_counts["comments"] += int((wave.comments[complete] != "").sum())
        per_provider, depts, _ = _wave_scores(wave)
        with warnings.catch_warnings():  # all-NaN slices (an unrated provider) give NaN, as meant
            warnings.simplefilter("ignore", RuntimeWarning)
            provider_score[:, t] = np.nanmean(per_provider, axis=0)
            provider_n[:, t] = np.isfinite(per_provider).sum(axis=0)
            respondent_score = np.nanmean(per_provider, axis=1)
            company_score[t] = np.nanmean(respondent_score)
            sums = np.bincount(
                depts, weights=np.nan_to_num(respondent_score), minlength=len(DEPARTMENTS)
            )
            counts = np.bincount(
                depts, weights=np.isfinite(respondent_score), minlength=len(DEPARTMENTS)
            )
            dept_score[:, t] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if survey_format == "qualtrics":
        survey_counts["rows_to_exclude"] = (
            survey_counts["preview_responses"] + survey_counts["incomplete_responses"]
        )
    else:
        survey_counts["responses_written"] = survey_counts["complete_responses"]
        survey_counts["rows_to_exclude"] = 0
    survey_counts["ratings_scored"] = survey_counts["ratings"] - survey_counts["not_applicable"]
    _write_yaml(
        folders["surveys"] / "mapping.yaml",
        surveys.survey_mapping(survey_format),
        f"{survey_format} pulse survey export (demo data)",
    )
    files["surveys"].append("mapping.yaml")
    seconds["surveys"] = time.perf_counter() - mark

    mark = time.perf_counter()
    ticket_frame = tickets.simulate_tickets(seed, roster, period_keys, tickets_per_employee_month)
    ticket_rows = 0
    for period, part in ticket_frame.groupby("period", sort=True):
        path = folders["tickets"] / f"{tickets.FILE_PREFIX[ticket_format]}_{period}.csv"
        if ticket_format == "servicenow":
            ticket_rows += tickets.write_servicenow(path, part)
        elif ticket_format == "jira":
            ticket_rows += tickets.write_jira(path, part, ticket_locale)
        else:
            ticket_rows += tickets.write_zendesk(path, part)
        files["tickets"].append(path.name)
    _write_yaml(
        folders["tickets"] / "mapping.yaml",
        tickets.ticket_mapping(ticket_format, ticket_locale),
        f"{ticket_format} ticket export (demo data)",
    )
    files["tickets"].append("mapping.yaml")
    seconds["tickets"] = time.perf_counter() - mark

    mark = time.perf_counter()
    external_rows = {"nps_responses": 0, "csat_responses": 0}
    external_metrics: dict[str, dict[str, list]] = {
        "nps": {u: [] for u in BUSINESS_UNITS},
        "csat_top2_pct": {u: [] for u in BUSINESS_UNITS},
    }
    for t, period in enumerate(period_keys):
        written = external.write_external_period(
            folders["external"], seed, t, period, shock[t], external_responses_per_unit
        )
        for key in external_rows:
            external_rows[key] += written["rows"][key]
        for unit in BUSINESS_UNITS:
            external_metrics["nps"][unit].append(written["nps"][unit])
            external_metrics["csat_top2_pct"][unit].append(written["csat_top2_pct"][unit])
        files["external"] += [
            f"nps_responses_{period}.csv",
            f"csat_responses_{period}.csv",
            f"csat_responses_{period}.mapping.yaml",
        ]
        _write_yaml(
            folders["external"] / f"csat_responses_{period}.mapping.yaml",
            external.csat_mapping(),
            "external CSAT answers (this file's own mapping; NPS files use mapping.yaml)",
        )
    _write_yaml(
        folders["external"] / "mapping.yaml",
        external.nps_mapping(),
        "external NPS answers (demo data); csat_responses_* files have their own mapping",
    )
    files["external"].append("mapping.yaml")
    seconds["external"] = time.perf_counter() - mark

    params = {
        "employees": employees,
        "periods": periods,
        "seed": seed,
        "end_period": end_period,
        "survey_format": survey_format,
        "ticket_format": ticket_format,
        "ticket_locale": ticket_locale,
        "providers_per_respondent": providers_per_respondent,
        "response_rate": response_rate,
        "tickets_per_employee_month": tickets_per_employee_month,
        "external_responses_per_unit": external_responses_per_unit,
    }
    exclusions = {
        "preview_responses": survey_counts["preview_responses"]
        if survey_format == "qualtrics"
        else 0,
        "incomplete_responses": survey_counts["incomplete_responses"]
        if survey_format == "qualtrics"
        else 0,
    }
    with warnings.catch_warnings():  # departments without respondents have all-NaN rows
        warnings.simplefilter("ignore", RuntimeWarning)
        truth = _ground_truth(
            params,
            period_keys,
            provider_score,
            provider_n,
            dept_score,
            company_score,
            _turnover(roster, period_keys),
            external_metrics,
            shock,
            exclusions,
        )
    (out / "ground_truth.json").write_text(
        json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    seconds["total"] = time.perf_counter() - began
    return {
        "out": str(out),
        "periods": [period_keys[0], period_keys[-1]],
        "parameters": params,
        "files": {feed: [f"{feed}/{name}" for name in names] for feed, names in files.items()}
        | {"ground_truth": ["ground_truth.json"]},
        "rows": {
            "surveys": survey_counts,
            "tickets": ticket_rows,
            "hr_roster": roster_rows,
            "external": external_rows,
        },
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def generate_enterprise_month(
    out: Path,
    employees: int = 100_000,
    *,
    seed: int = 42,
    end_period: str = "2026-10",
    survey_format: str = "qualtrics",
    ticket_format: str = "servicenow",
) -> dict[str, Any]:
    """The issue-7 benchmark dataset: one month, everyone rates 5 providers on 5 dimensions.

    At 100,000 employees: 2.5M ratings, ~100,000 tickets, a ~101,500-row roster, external metrics.
    """
    return generate_demo(
        out,
        employees=employees,
        periods=1,
        seed=seed,
        survey_format=survey_format,
        ticket_format=ticket_format,
        end_period=end_period,
        providers_per_respondent=5,
        response_rate=1.0,
        tickets_per_employee_month=1.0,
    )
