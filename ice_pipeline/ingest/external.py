"""External customer metrics -> canonical ``external_metrics`` rows per period and business unit.

Belongs here: turning raw 0-10 "how likely are you to recommend" answers into NPS, raw 1-5
satisfaction answers into a top-2-box percentage, or reading an already aggregated metric table;
and mapping business units to departments. Correlating these with internal service lives in
ice_pipeline/index/correlations.py.

Methods (documented in docs/mappings.md, External customer metrics):

* NPS = 100 * (promoters (9-10) - detractors (0-6)) / n. Its 95% interval is the normal
  interval with the multinomial variance of a difference of proportions:
  var(NPS/100) = (p_pro + p_det - (p_pro - p_det)^2) / n; bounds clipped to [-100, 100].
* csat_pct = 100 * share of answers 4-5 on the 1-5 scale, with a 95% Wilson interval.
* Unanswered items (blank or a not-applicable code such as ``NA``) are excluded and counted;
  answers outside the scale, non-numbers and fractions are quarantined. Every published row
  carries ``n_responses``; rows with ``n < min_responses`` (mapping, default 1) are not published.
* The period is the month (or quarter) of ``responded_at``, or the mapping's fixed
  ``period_value`` for files without dates. Computed rows have no single source row, so
  validation quarantine rows for them carry row 0.
"""

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import DecodedFile, ParseResult, empty_quarantine, period_of
from ice_pipeline.ingest.fixed import add_fixed_columns
from ice_pipeline.ingest.table_dates import future_reasons, parse_date_column
from ice_pipeline.ingest.table_read import (
    choose_format,
    clean_staged,
    mapping_dict,
    mapping_name,
    resolve_columns,
    stage_table,
    text_map,
    unmapped_columns,
)
from ice_pipeline.ingest.table_result import (
    ExportRows,
    RowProblems,
    canonical_columns,
    finish_result,
    validate_canonical,
)
from ice_pipeline.ingest.vendors import external_answers, external_metrics, layouts_of
from ice_pipeline.ingest.vendors.table_detection import default_columns, recognised_format

FEED = "external"
FORMATS = tuple(layout.format for layout in layouts_of(FEED))
# Default columns per layout (localised aliases included): vendors/external_answers.py and
# vendors/external_metrics.py.
DEFAULT_COLUMNS: dict[str, dict[str, list[str]]] = default_columns(FEED)
SCALES = external_answers.SCALES
DEFAULT_METRIC_NAMES = external_metrics.METRIC_NAMES
Z_95 = 1.959963984540054
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")


def nps_with_interval(scores: pd.Series) -> tuple[float, float, float]:
    """NPS (-100..100) of 0-10 answers and its 95% normal interval."""
    n = len(scores)
    p_pro = float((scores >= 9).sum()) / n
    p_det = float((scores <= 6).sum()) / n
    nps = p_pro - p_det
    variance = max(p_pro + p_det - nps * nps, 0.0) / n
    half = Z_95 * math.sqrt(variance)
    return 100 * nps, max(-100.0, 100 * (nps - half)), min(100.0, 100 * (nps + half))


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion, in percent."""
    p = successes / n
    denominator = 1 + Z_95**2 / n
    centre = (p + Z_95**2 / (2 * n)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / n + Z_95**2 / (4 * n * n)) / denominator
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def detect_external_format(columns: list[str]) -> str | None:
    """The external layout of a header: the registered layouts' recognisers (ingest/vendors/)."""
    return recognised_format(FEED, {str(c).strip().lower() for c in columns})


def read_external(
    decoded: DecodedFile,
    mapping: Any,
    *,
    file_format: str | None,
    salt: str,
    hr_employees: pd.DataFrame | None,
    now: datetime,
) -> ParseResult:
    """Parse external customer answers or metrics into canonical ``external_metrics`` rows."""
    del (
        salt,
        hr_employees,
    )  # part of the reader contract; external answers carry no person ids we keep
    raw_mapping = mapping_dict(mapping)
    staged, source_rows, blank_lines = stage_table(decoded, raw_mapping, "external metrics")
    staged, raw_mapping = add_fixed_columns(decoded, staged, raw_mapping, FEED)
    requested = file_format or raw_mapping.get("format")
    detected = None if requested else detect_external_format(list(staged.columns))
    chosen = choose_format(
        decoded, staged.columns, requested, detected, FORMATS, "external metrics"
    )
    fixed_period = raw_mapping.get("period_value")
    if fixed_period is not None and not _PERIOD.match(str(fixed_period)):
        raise FileProblem(
            str(decoded.path),
            f"the mapping's period_value {fixed_period!r} is not a period",
            fix="write period_value: YYYY-MM or YYYY-Qn",
        )
    if chosen == "metrics":
        required = ["business_unit", "metric", "value"] + ([] if fixed_period else ["period"])
    else:
        required = ["business_unit", "score"] + ([] if fixed_period else ["responded_at"])
    columns = resolve_columns(
        decoded,
        staged,
        raw_mapping,
        DEFAULT_COLUMNS[chosen],
        required,
        mapping_name(mapping),
        "external metrics export",
    )
    # Only the used columns leave Arrow (free-text answers, names and e-mails never become
    # pandas); the others are only named, as unmapped (and personal) columns.
    frame = clean_staged(staged, raw_mapping, columns.values())
    unmapped = unmapped_columns(staged, columns.values())
    del staged
    excluded = {"blank line": blank_lines} if blank_lines else {}
    if chosen == "metrics":
        return _read_metrics(
            decoded, raw_mapping, frame, source_rows, columns, blank_lines, excluded, unmapped
        )
    return _read_responses(
        decoded,
        raw_mapping,
        chosen,
        frame,
        source_rows,
        columns,
        blank_lines,
        excluded,
        now,
        unmapped=unmapped,
    )


def _departments(raw_mapping: dict[str, Any], units: pd.Series) -> pd.Series:
    lookup = text_map(raw_mapping, "business_unit_departments")
    return units.map(lambda u: lookup.get(u)).astype(object)


def _business_units(
    raw_mapping: dict[str, Any], frame: pd.DataFrame, columns: dict[str, str]
) -> pd.Series:
    # Labels keep their spelling, except that NO-BREAK SPACEs (seen in the Carpentries export)
    # become plain spaces so the mapping can name them.
    units = frame[columns["business_unit"]].str.replace("\u00a0", " ", regex=False)
    default = raw_mapping.get("business_unit_default")
    return units.fillna(str(default)) if default else units


def _read_responses(
    decoded: DecodedFile,
    raw_mapping: dict[str, Any],
    chosen: str,
    frame: pd.DataFrame,
    source_rows: pd.Series,
    columns: dict[str, str],
    blank_lines: int,
    excluded: dict[str, int],
    now: datetime,
    *,
    unmapped: list[str],
) -> ParseResult:
    """Answers -> one NPS or CSAT row per period and business unit, with its interval."""
    rows = ExportRows(frame, columns, raw_mapping)
    # In this order on purpose: a cell with several problems joins their reasons in order.
    asked, scores = _scores(rows, chosen, excluded)
    units = _business_units(raw_mapping, frame, columns)
    rows.problems.add_mask(
        asked & units.isna(),
        columns["business_unit"],
        units,
        "business unit is missing; set business_unit_default in the mapping to keep such answers",
    )
    period, ambiguous = _response_periods(rows, asked, now)
    usable = asked & ~frame.index.isin(rows.problems.index)
    answered = pd.DataFrame(
        {"period": period[usable], "business_unit": units[usable], "score": scores[usable]}
    )
    aggregated = _aggregate(answered, chosen)
    min_responses = int(raw_mapping.get("min_responses", 1))
    small = aggregated["n_responses"] < min_responses
    if small.any():
        excluded[f"answer in a group of fewer than {min_responses} responses"] = int(
            aggregated.loc[small, "n_responses"].sum()
        )
        aggregated = aggregated[~small]
    aggregated["department"] = _departments(raw_mapping, aggregated["business_unit"])
    # Schema ice is the analysts' surface: the file's name only, never a path on the server
    # (ice_ops.source_files keeps the full path under the same sha256).
    aggregated["source_file"] = Path(decoded.path).name
    aggregated["source_sha256"] = decoded.sha256
    aggregated["n_responses"] = aggregated["n_responses"].astype("Int64")
    good, late = validate_canonical(
        "external_metrics", aggregated[canonical_columns("external_metrics")], FEED, decoded
    )
    rows_read = len(frame) + blank_lines
    return _responses_result(
        decoded, chosen, rows, (good, late), source_rows, rows_read, excluded, ambiguous, unmapped
    )


def _scores(rows: ExportRows, chosen: str, excluded: dict[str, int]) -> tuple[pd.Series, pd.Series]:
    """(which rows hold an answer, the answers as numbers); bad answers are problems.

    Unanswered items (blank or a ``not_applicable`` code) are counted as excluded.
    """
    score_column = rows.columns["score"]
    answers = rows.frame[score_column]
    not_applicable = {
        str(v).strip() for v in rows.raw_mapping.get("not_applicable", ["NA", "N/A", "n/a"])
    }
    unanswered = answers.isna() | answers.isin(not_applicable)
    if unanswered.any():
        excluded[f"no answer in {score_column}"] = int(unanswered.sum())
    low, high = SCALES[chosen]
    scores = pd.to_numeric(answers, errors="coerce")
    asked = ~unanswered
    rows.problems.add_mask(
        asked & scores.isna(),
        score_column,
        answers,
        score_column + " '" + answers.fillna("") + "' is not a number",
    )
    rows.problems.add_mask(
        asked & scores.notna() & (scores != scores.round()),
        score_column,
        answers,
        score_column + " " + answers.fillna("") + " is not a whole number",
    )
    rows.problems.add_mask(
        asked & scores.notna() & ((scores < low) | (scores > high)),
        score_column,
        answers,
        score_column + " " + answers.fillna("") + f" is outside {low}-{high}",
    )
    return asked, scores


def _response_periods(rows: ExportRows, asked: pd.Series, now: datetime) -> tuple[pd.Series, int]:
    """(period per answer, ambiguous dates): ``period_value``, else the response date's month."""
    raw_mapping, frame = rows.raw_mapping, rows.frame
    if raw_mapping.get("period_value"):
        return pd.Series(str(raw_mapping["period_value"]), index=frame.index, dtype=object), 0
    date_column = rows.columns["responded_at"]
    when, date_reasons, ambiguous = parse_date_column(frame[date_column], raw_mapping, date_column)
    rows.problems.add(date_reasons.where(asked), date_column, frame[date_column])
    rows.problems.add(
        future_reasons(when, now, date_column).where(asked), date_column, frame[date_column]
    )
    rows.problems.add_mask(
        asked & when.isna() & date_reasons.isna(),
        date_column,
        frame[date_column],
        "the response date is missing",
    )
    period = period_of(when, str(raw_mapping.get("period") or "month")).astype(object)
    return period, ambiguous


_AGGREGATE_COLUMNS = [
    "period",
    "business_unit",
    "metric",
    "value",
    "n_responses",
    "value_ci_low",
    "value_ci_high",
]


def _aggregate(answered: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """One row per (period, business unit): NPS or top-2-box CSAT %, n and the 95% interval."""
    rows: list[dict[str, Any]] = []
    for (period_key, unit), group in answered.groupby(["period", "business_unit"], sort=True):
        n = len(group)
        if chosen == "nps_responses":
            value, ci_low, ci_high = nps_with_interval(group["score"])
            metric = "nps"
        else:
            favourable = int((group["score"] >= 4).sum())
            value = 100.0 * favourable / n
            ci_low, ci_high = wilson_interval(favourable, n)
            metric = "csat_pct"
        rows.append(
            {
                "period": period_key,
                "business_unit": unit,
                "metric": metric,
                "value": value,
                "n_responses": n,
                "value_ci_low": ci_low,
                "value_ci_high": ci_high,
            }
        )
    return pd.DataFrame(rows, columns=_AGGREGATE_COLUMNS)


def _responses_result(
    decoded: DecodedFile,
    chosen: str,
    rows: ExportRows,
    validated: tuple[pd.DataFrame, pd.DataFrame],
    source_rows: pd.Series,
    rows_read: int,
    excluded: dict[str, int],
    ambiguous: int,
    unmapped: list[str],
) -> ParseResult:
    """The ParseResult of an answer file: answers counted per source row, not per output row."""
    good, late = validated
    early = rows.problems.quarantine(FEED, decoded, source_rows)
    quarantine = (
        pd.concat([q for q in (early, late) if not q.empty], ignore_index=True)
        if not (early.empty and late.empty)
        else empty_quarantine()
    )
    rows_quarantined = int(early["source_row"].nunique()) if not early.empty else 0
    rows_excluded = sum(excluded.values())
    by_reason: dict[str, int] = {}
    for reason in quarantine["reason"]:
        kind = re.sub(r"'[^']*'|-?\b\d[\d\-:. ]*\b", "…", str(reason))
        by_reason[kind] = by_reason.get(kind, 0) + 1
    return ParseResult(
        feed=FEED,
        source_file=str(decoded.path),
        source_sha256=decoded.sha256,
        file_format=chosen,
        encoding=decoded.encoding,
        tables={"external_metrics": good},
        quarantine=quarantine,
        counts={
            "rows_read": rows_read,
            "rows_kept": rows_read - rows_quarantined - rows_excluded,
            "rows_quarantined": rows_quarantined,
            "rows_excluded": rows_excluded,
        },
        excluded_by_reason=excluded,
        quarantined_by_reason=by_reason,
        columns_mapped=[f"{role}: {name}" for role, name in rows.columns.items()],
        columns_unmapped=unmapped,
        ambiguous_dates=ambiguous,
    )


def _read_metrics(
    decoded: DecodedFile,
    raw_mapping: dict[str, Any],
    frame: pd.DataFrame,
    source_rows: pd.Series,
    columns: dict[str, str],
    blank_lines: int,
    excluded: dict[str, int],
    unmapped: list[str],
) -> ParseResult:
    """Aggregated rows -> ``external_metrics`` rows as they are (names and numbers checked)."""
    problems = RowProblems()
    names = {
        **DEFAULT_METRIC_NAMES,
        **{k.lower(): v for k, v in text_map(raw_mapping, "metric_names").items()},
    }
    metric_raw = frame[columns["metric"]]
    metric = metric_raw.str.lower().map(names).astype(object)
    problems.add_mask(
        metric_raw.notna() & metric.isna(),
        columns["metric"],
        metric_raw,
        "metric '" + metric_raw.fillna("") + "' is not nps or csat_pct; add it to metric_names",
    )

    def numbers(role: str) -> pd.Series:
        if role not in columns:
            return pd.Series(np.nan, index=frame.index, dtype="float64")
        values = pd.to_numeric(frame[columns[role]], errors="coerce")
        bad = frame[columns[role]].notna() & values.isna()
        problems.add_mask(
            bad,
            columns[role],
            frame[columns[role]],
            role + " '" + frame[columns[role]].fillna("") + "' is not a number",
        )
        return values

    if raw_mapping.get("period_value"):
        period = pd.Series(str(raw_mapping["period_value"]), index=frame.index, dtype=object)
    else:
        period = frame[columns["period"]]
    units = _business_units(raw_mapping, frame, columns)
    department = (
        frame[columns["department"]]
        if "department" in columns
        else _departments(raw_mapping, units)
    )
    n_responses = numbers("n_responses")
    candidate = pd.DataFrame(
        {
            "period": period.astype(object),
            "business_unit": units.astype(object),
            "metric": metric,
            "department": department.astype(object),
            "value": numbers("value"),
            "n_responses": n_responses.round().astype("Int64"),
            "value_ci_low": numbers("value_ci_low"),
            "value_ci_high": numbers("value_ci_high"),
            "source_file": str(decoded.path),
            "source_sha256": decoded.sha256,
            "source_row": source_rows,
        },
        index=frame.index,
    )
    return finish_result(
        FEED,
        decoded,
        "metrics",
        "external_metrics",
        candidate,
        source_rows,
        problems,
        rows_read=len(frame) + blank_lines,
        excluded_by_reason=excluded,
        columns_mapped=[f"{role}: {name}" for role, name in columns.items()],
        columns_unmapped=unmapped,
        ambiguous_dates=0,
    )
