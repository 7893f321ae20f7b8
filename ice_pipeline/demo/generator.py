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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ice_pipeline.demo import external, hr, surveys, tickets
from ice_pipeline.demo.ground_truth import ground_truth, turnover_by_period
from ice_pipeline.demo.organisation import (
    BUSINESS_UNITS,
    CSAT_LAG_PERIODS,
    DEPARTMENTS,
    DIMENSIONS,
    PROVIDER_NAMES,
    Roster,
    company_shock_points,
    department_shift_points,
    period_list,
    provider_trend_points,
    simulate_roster,
)
from ice_pipeline.errors import ConfigError

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


def _resolved(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the optional ones' defaults filled in (in place, key order kept), checked."""
    fixed = {
        "providers_per_respondent": 3,
        "response_rate": 0.45,
        "tickets_per_employee_month": 1 / 12,
    }
    for key, default in fixed.items():
        if params[key] is None:
            params[key] = default
    if params["external_responses_per_unit"] is None:
        params["external_responses_per_unit"] = int(np.clip(params["employees"] // 10, 100, 2000))
    _check(params)
    return params


def _check(params: dict[str, Any]) -> None:
    """Refuse parameters the demo cannot honour, naming the option and a fix."""
    employees, periods, end_period = params["employees"], params["periods"], params["end_period"]
    survey_format, ticket_format = params["survey_format"], params["ticket_format"]
    ticket_locale, response_rate = params["ticket_locale"], params["response_rate"]
    providers_per_respondent = params["providers_per_respondent"]
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


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


@dataclass
class _SurveyWaves:
    """What the survey writer returns: the realised scores the ground truth reports, and counts."""

    provider_score: np.ndarray  # provider x period, respondent-first mean 0-100
    provider_n: np.ndarray  # provider x period, respondents who rated it
    dept_score: np.ndarray  # department x period
    company_score: np.ndarray  # period
    counts: dict[str, int]
    files: list[str]


def _write_hr(folder: Path, roster: Roster, period_keys: list[str], files: list[str]) -> int:
    """The roster export of the last period and its mapping; the rows written."""
    roster_path = folder / f"roster_{period_keys[-1]}.csv"
    roster_rows = hr.write_roster(roster_path, roster)
    _write_yaml(folder / "mapping.yaml", hr.hr_mapping(), "HRIS roster export (demo data)")
    files += [roster_path.name, "mapping.yaml"]
    return roster_rows


def _count_wave(counts: dict[str, int], wave: surveys.SurveyWave) -> None:
    complete = wave.complete
    counts["complete_responses"] += int(complete.sum())
    counts["preview_responses"] += int((wave.kind == 1).sum())
    counts["incomplete_responses"] += int((wave.kind == 2).sum())
    counts["ratings"] += int((wave.ratings[complete] != 0).sum())
    counts["not_applicable"] += int((wave.ratings[complete] == -1).sum())
    counts["comments"] += int((wave.comments[complete] != "").sum())


def _score_wave(waves: _SurveyWaves, t: int, wave: surveys.SurveyWave) -> None:
    """Period t's realised provider, department and company scores, as the pipeline has them."""
    per_provider, depts, _ = _wave_scores(wave)
    with warnings.catch_warnings():  # all-NaN slices (an unrated provider) give NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        waves.provider_score[:, t] = np.nanmean(per_provider, axis=0)
        waves.provider_n[:, t] = np.isfinite(per_provider).sum(axis=0)
        respondent_score = np.nanmean(per_provider, axis=1)
        waves.company_score[t] = np.nanmean(respondent_score)
        sums = np.bincount(
            depts, weights=np.nan_to_num(respondent_score), minlength=len(DEPARTMENTS)
        )
        counts = np.bincount(
            depts, weights=np.isfinite(respondent_score), minlength=len(DEPARTMENTS)
        )
        waves.dept_score[:, t] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _write_surveys(
    folder: Path,
    roster: Roster,
    period_keys: list[str],
    shock: np.ndarray,
    params: dict[str, Any],
) -> _SurveyWaves:
    """One survey wave per period in the tool's layout, and the mapping."""
    seed, survey_format = params["seed"], params["survey_format"]
    periods = len(period_keys)
    trend = provider_trend_points(periods)
    dept_shift = department_shift_points(periods)
    n_prov = len(PROVIDER_NAMES)
    waves = _SurveyWaves(
        provider_score=np.full((n_prov, periods), np.nan),
        provider_n=np.zeros((n_prov, periods)),
        dept_score=np.full((len(DEPARTMENTS), periods), np.nan),
        company_score=np.full(periods, np.nan),
        counts=dict.fromkeys(
            (
                "responses_written",
                "complete_responses",
                "preview_responses",
                "incomplete_responses",
                "ratings",
                "not_applicable",
                "comments",
            ),
            0,
        ),
        files=[],
    )
    counts = waves.counts
    writer = surveys.WRITERS[survey_format]
    for t, period in enumerate(period_keys):
        shift = trend[None, :, t] + dept_shift[:, t][:, None] + shock[t + CSAT_LAG_PERIODS]
        wave = surveys.simulate_wave(
            seed,
            t,
            period,
            roster,
            response_rate=params["response_rate"],
            providers_per_respondent=params["providers_per_respondent"],
            score_shift=shift,
        )
        path = folder / f"{surveys.FILE_PREFIX[survey_format]}_{period}.csv"
        counts["responses_written"] += writer(path, seed, wave, roster)
        waves.files.append(path.name)
        _count_wave(counts, wave)
        _score_wave(waves, t, wave)
    if survey_format == "qualtrics":
        counts["rows_to_exclude"] = counts["preview_responses"] + counts["incomplete_responses"]
    else:
        counts["responses_written"] = counts["complete_responses"]
        counts["rows_to_exclude"] = 0
    counts["ratings_scored"] = counts["ratings"] - counts["not_applicable"]
    _write_yaml(
        folder / "mapping.yaml",
        surveys.survey_mapping(survey_format),
        f"{survey_format} pulse survey export (demo data)",
    )
    waves.files.append("mapping.yaml")
    return waves


def _write_tickets(
    folder: Path, roster: Roster, period_keys: list[str], params: dict[str, Any], files: list[str]
) -> int:
    """One ticket export per period in the tool's layout, and the mapping; the rows written."""
    ticket_format, ticket_locale = params["ticket_format"], params["ticket_locale"]
    ticket_frame = tickets.simulate_tickets(
        params["seed"], roster, period_keys, params["tickets_per_employee_month"]
    )
    ticket_rows = 0
    for period, part in ticket_frame.groupby("period", sort=True):
        path = folder / f"{tickets.FILE_PREFIX[ticket_format]}_{period}.csv"
        if ticket_format == "servicenow":
            ticket_rows += tickets.write_servicenow(path, part)
        elif ticket_format == "jira":
            ticket_rows += tickets.write_jira(path, part, ticket_locale)
        else:
            ticket_rows += tickets.write_zendesk(path, part)
        files.append(path.name)
    _write_yaml(
        folder / "mapping.yaml",
        tickets.ticket_mapping(ticket_format, ticket_locale),
        f"{ticket_format} ticket export (demo data)",
    )
    files.append("mapping.yaml")
    return ticket_rows


def _write_external(
    folder: Path,
    period_keys: list[str],
    shock: np.ndarray,
    params: dict[str, Any],
    files: list[str],
) -> tuple[dict[str, int], dict[str, dict[str, list]]]:
    """NPS and CSAT answers per period with their mappings; rows written and realised metrics."""
    seed, responses_per_unit = params["seed"], params["external_responses_per_unit"]
    external_rows = {"nps_responses": 0, "csat_responses": 0}
    external_metrics: dict[str, dict[str, list]] = {
        "nps": {u: [] for u in BUSINESS_UNITS},
        "csat_top2_pct": {u: [] for u in BUSINESS_UNITS},
    }
    for t, period in enumerate(period_keys):
        written = external.write_external_period(
            folder, seed, t, period, shock[t], responses_per_unit
        )
        for key in external_rows:
            external_rows[key] += written["rows"][key]
        for unit in BUSINESS_UNITS:
            external_metrics["nps"][unit].append(written["nps"][unit])
            external_metrics["csat_top2_pct"][unit].append(written["csat_top2_pct"][unit])
        files += [
            f"nps_responses_{period}.csv",
            f"csat_responses_{period}.csv",
            f"csat_responses_{period}.mapping.yaml",
        ]
        _write_yaml(
            folder / f"csat_responses_{period}.mapping.yaml",
            external.csat_mapping(),
            "external CSAT answers (this file's own mapping; NPS files use mapping.yaml)",
        )
    _write_yaml(
        folder / "mapping.yaml",
        external.nps_mapping(),
        "external NPS answers (demo data); csat_responses_* files have their own mapping",
    )
    files.append("mapping.yaml")
    return external_rows, external_metrics


def _cleared_folders(out: Path) -> dict[str, Path]:
    """Each feed's folder under ``out``, emptied of this generator's files of an earlier run."""
    folders = {feed: out / feed for feed in ("surveys", "tickets", "hr", "external")}
    for folder in folders.values():
        _clear(folder)
    return folders


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
    params = _resolved(
        {
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
    )
    out = Path(out)
    folders = _cleared_folders(out)
    period_keys = period_list(end_period, periods)
    seconds: dict[str, float] = {}
    files: dict[str, list[str]] = {feed: [] for feed in folders}

    mark = time.perf_counter()
    roster = simulate_roster(seed, employees, period_keys)
    roster_rows = _write_hr(folders["hr"], roster, period_keys, files["hr"])
    seconds["hr"] = time.perf_counter() - mark
    # Surveys: the company shock has one extra leading period so CSAT at t can follow shock t-1.
    mark = time.perf_counter()
    shock = company_shock_points(seed, periods + CSAT_LAG_PERIODS)
    waves = _write_surveys(folders["surveys"], roster, period_keys, shock, params)
    files["surveys"] = waves.files
    seconds["surveys"] = time.perf_counter() - mark
    mark = time.perf_counter()
    ticket_rows = _write_tickets(folders["tickets"], roster, period_keys, params, files["tickets"])
    seconds["tickets"] = time.perf_counter() - mark
    mark = time.perf_counter()
    external_rows, external_metrics = _write_external(
        folders["external"], period_keys, shock, params, files["external"]
    )
    seconds["external"] = time.perf_counter() - mark

    _write_ground_truth(out, params, period_keys, waves, roster, external_metrics, shock)
    seconds["total"] = time.perf_counter() - began
    return {
        "out": str(out),
        "periods": [period_keys[0], period_keys[-1]],
        "parameters": params,
        "files": {feed: [f"{feed}/{name}" for name in names] for feed, names in files.items()}
        | {"ground_truth": ["ground_truth.json"]},
        "rows": {
            "surveys": waves.counts,
            "tickets": ticket_rows,
            "hr_roster": roster_rows,
            "external": external_rows,
        },
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def _write_ground_truth(
    out: Path,
    params: dict[str, Any],
    period_keys: list[str],
    waves: _SurveyWaves,
    roster: Roster,
    external_metrics: dict[str, dict[str, list]],
    shock: np.ndarray,
) -> None:
    qualtrics = params["survey_format"] == "qualtrics"  # other layouts export completes only
    exclusions = {
        "preview_responses": waves.counts["preview_responses"] if qualtrics else 0,
        "incomplete_responses": waves.counts["incomplete_responses"] if qualtrics else 0,
    }
    with warnings.catch_warnings():  # departments without respondents have all-NaN rows
        warnings.simplefilter("ignore", RuntimeWarning)
        truth = ground_truth(
            params,
            period_keys,
            waves.provider_score,
            waves.provider_n,
            waves.dept_score,
            waves.company_score,
            turnover_by_period(roster, period_keys),
            external_metrics,
            shock,
            exclusions,
        )
    (out / "ground_truth.json").write_text(
        json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


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
