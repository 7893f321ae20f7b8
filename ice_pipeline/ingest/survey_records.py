"""Survey records: exclusions by policy, and the checks on each record's id, date and department.

Belongs here: the steps that judge a response record as a whole. Exclusions (previews, tests,
spam, unfinished, low progress: counted, not errors); the respondent id (missing, repeated),
the response date (unparsable, ambiguous, in the future, missing) and its period; the
respondent's department (missing, an unknown code). A rejected record's ratings are not kept;
each rejection is a quarantine finding (survey_quarantine.py). Single answers are judged in
survey_cells.py.
"""

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import DecodedFile, parse_dates, period_of
from ice_pipeline.ingest.mapping import Mapping, SurveyMapping
from ice_pipeline.ingest.privacy import is_personal_column, pseudonymize
from ice_pipeline.ingest.survey_columns import SurveyColumns
from ice_pipeline.ingest.survey_quarantine import Quarantine
from ice_pipeline.ingest.vendors import qualtrics

NOT_FINISHED_VALUES = {"", "0", "false", "no", "n"}


# ------------------------------------------------------------------------------------------
# Exclusions (policy, counted, not errors)
# ------------------------------------------------------------------------------------------


def policy_exclusions(body: pd.DataFrame, cols: SurveyColumns) -> np.ndarray:
    """The exclusion reason of each record (None for a response that counts)."""
    policy, policy_columns = cols.policy, cols.policy_columns
    excluded = np.full(len(body), None, dtype=object)
    if policy_columns["status_column"]:
        status = body[policy_columns["status_column"]].str.strip()
        excluded_values = {str(v).strip() for v in policy.get("excluded_status_values") or []}
        hit = status.isin(excluded_values).to_numpy()
        labels = status.map(lambda v: qualtrics.STATUS_NAMES.get(v, v)).to_numpy()
        excluded[hit] = np.array([f"status {label}" for label in labels[hit]], dtype=object)
    if policy_columns["finished_column"]:
        finished = body[policy_columns["finished_column"]].str.strip().str.lower()
        hit = finished.isin(NOT_FINISHED_VALUES).to_numpy() & (excluded == None)  # noqa: E711
        excluded[hit] = "not finished"
    if policy_columns["progress_column"] and policy.get("min_progress_pct") is not None:
        progress = pd.to_numeric(
            body[policy_columns["progress_column"]], errors="coerce"
        ).to_numpy()
        threshold = float(policy["min_progress_pct"])
        hit = (np.nan_to_num(progress, nan=-1.0) < threshold) & (excluded == None)  # noqa: E711
        excluded[hit] = f"progress below {threshold:g}%"
    return excluded


# ------------------------------------------------------------------------------------------
# Record checks: id, date, department
# ------------------------------------------------------------------------------------------


@dataclass
class SurveyRecords:
    """Per record: its id as written, whether a check rejected it, its date, period, department."""

    rows: np.ndarray  # source row of each record
    raw_ids: pd.Series
    rejected: np.ndarray
    responded: pd.Series
    ambiguous_count: int
    periods: pd.Series
    departments: pd.Series


@dataclass
class RecordContext:
    """What every record check reads: the file, its body, the resolved columns, the findings."""

    decoded: DecodedFile
    sm: SurveyMapping
    body: pd.DataFrame
    cols: SurveyColumns
    rows: np.ndarray
    live: np.ndarray  # not excluded
    quarantine: Quarantine


def _respondent_ids(ctx: RecordContext, salt: str) -> tuple[pd.Series, np.ndarray]:
    """The ids as written (a record's place when the layout has none), and the rejected."""
    cols, rows, live = ctx.cols, ctx.rows, ctx.live
    id_column = cols.id_column
    rejected = np.zeros(len(rows), dtype=bool)
    if id_column is not None:
        raw_ids = ctx.body[id_column].str.strip()
    else:
        # Layouts without a response id (Google Forms): the record's place in this file.
        raw_ids = pd.Series([f"{ctx.decoded.sha256[:16]}:{r}" for r in rows], dtype=object)
    if id_column is None or cols.structural:
        return raw_ids, rejected
    missing_id = (raw_ids == "").to_numpy() & live
    ctx.quarantine.add(
        rows[missing_id],
        id_column,
        raw_ids[missing_id],
        "missing respondent id",
        "missing respondent id",
    )
    rejected |= missing_id
    if not cols.long_format:
        rejected |= _repeated_ids(ctx, raw_ids, live & ~missing_id, salt)
    return raw_ids, rejected


def _repeated_ids(
    ctx: RecordContext, raw_ids: pd.Series, candidates: np.ndarray, salt: str
) -> np.ndarray:
    """Records repeating an earlier record's response id (the first is kept)."""
    rows, id_column = ctx.rows, str(ctx.cols.id_column)
    rejected = np.zeros(len(rows), dtype=bool)
    ids_live = raw_ids[candidates]
    first_row = (
        pd.Series(rows[candidates], index=ids_live.index)
        .groupby(ids_live.to_numpy())
        .transform("min")
    )
    dup_index = ids_live.index[ids_live.duplicated(keep="first").to_numpy()]
    if len(dup_index):
        dup_ids = raw_ids.loc[dup_index].to_numpy()
        if is_personal_column(id_column):
            # An e-mail used as the id must not reach the quarantine table in clear.
            dup_ids = pseudonymize(pd.Series(dup_ids, dtype=object), salt).to_numpy(dtype=object)
        reasons = [
            f"duplicate response id {rid} (first seen on row {first})"
            for rid, first in zip(dup_ids, first_row.loc[dup_index].to_numpy(), strict=True)
        ]
        ctx.quarantine.add(
            rows[dup_index.to_numpy()], id_column, dup_ids, reasons, "duplicate response id"
        )
        rejected[dup_index.to_numpy()] = True
    return rejected


def _response_dates(
    ctx: RecordContext, date_order: str, now: datetime
) -> tuple[pd.Series, int, np.ndarray]:
    """Response timestamps, the ambiguous ones counted, and the records a date check rejected."""
    n = len(ctx.rows)
    responded = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    rejected = np.zeros(n, dtype=bool)
    date_column, sm = ctx.cols.date_column, ctx.sm
    if date_column is not None:
        raw_dates = ctx.body[date_column].str.strip()
        dates = parse_response_dates(raw_dates, date_order)
        responded = dates.values.reset_index(drop=True)
        ambiguous_count = int((dates.ambiguous.to_numpy() & ctx.live).sum())
        if not ctx.cols.structural:
            rejected = _check_dates(ctx, raw_dates, dates, responded, now)
        return responded, ambiguous_count, rejected
    if not ctx.cols.structural and sm.period_value is None:
        raise sm.mapping.error(
            "responded_at",
            "the file has no response date column the mapping names",
            "add 'responded_at: COLUMN', or 'period_value: YYYY-MM' for an export without dates",
        )
    return responded, 0, rejected


def _check_dates(
    ctx: RecordContext,
    raw_dates: pd.Series,
    dates: "ResponseDates",
    responded: pd.Series,
    now: datetime,
) -> np.ndarray:
    """Quarantine unparsable, ambiguous (auto), future and missing dates; ``responded`` edited."""
    rows, live, quarantine, date_column = ctx.rows, ctx.live, ctx.quarantine, ctx.cols.date_column
    n = len(rows)
    present = (raw_dates != "").to_numpy()
    bad = dates.invalid.to_numpy() & present & live
    quarantine.add(
        rows[bad],
        date_column,
        raw_dates[bad],
        [f"unparsable date '{v[:60]}'" for v in raw_dates[bad]],
        "unparsable date",
    )
    unsure = (
        dates.ambiguous.to_numpy() & live & ~bad
        if dates.quarantine_ambiguous
        else np.zeros(n, bool)
    )
    quarantine.add(
        rows[unsure],
        date_column,
        raw_dates[unsure],
        [
            f"ambiguous date '{v}' under date_order auto (day and month could be either way)"
            for v in raw_dates[unsure]
        ],
        "ambiguous date",
    )
    responded[unsure] = pd.NaT
    future = (responded > pd.Timestamp(now)).to_numpy() & live
    quarantine.add(
        rows[future],
        date_column,
        raw_dates[future],
        [f"responded_at in the future ({t:%Y-%m-%d})" for t in responded[future]],
        "responded_at in the future",
    )
    rejected = bad | unsure | future
    if ctx.sm.period_value is None:
        no_date = ~present & live
        quarantine.add(
            rows[no_date],
            date_column,
            raw_dates[no_date],
            "missing response date",
            "missing response date",
        )
        rejected |= no_date
    return rejected


def _departments(ctx: RecordContext) -> tuple[pd.Series, np.ndarray]:
    """The respondent's department per record (fixed, a column, or coded), and the rejected."""
    sm, rows, live, quarantine = ctx.sm, ctx.rows, ctx.live, ctx.quarantine
    dept_column = ctx.cols.dept_column
    n = len(rows)
    rejected = np.zeros(n, dtype=bool)
    if sm.consumer_department_fixed is not None:
        return pd.Series([sm.consumer_department_fixed] * n, dtype=object), rejected
    if dept_column is None:
        return pd.Series([None] * n, dtype=object), rejected
    raw_dept = ctx.body[dept_column].str.strip()
    departments = raw_dept.copy()
    if ctx.cols.structural:
        return departments, rejected
    missing_dept = (raw_dept == "").to_numpy() & live
    quarantine.add(
        rows[missing_dept],
        dept_column,
        raw_dept[missing_dept],
        "missing respondent department",
        "missing respondent department",
    )
    rejected |= missing_dept
    if sm.consumer_department_values:
        departments = raw_dept.map(sm.consumer_department_values)
        unknown = departments.isna().to_numpy() & ~missing_dept & live
        quarantine.add(
            rows[unknown],
            dept_column,
            raw_dept[unknown],
            [
                f"unknown department code '{v[:60]}' (not in consumer_department_values)"
                for v in raw_dept[unknown]
            ],
            "unknown department code",
        )
        rejected |= unknown
    return departments, rejected


def check_records(
    ctx: RecordContext, mapping: Mapping, date_order: str, salt: str, now: datetime
) -> SurveyRecords:
    """Every record check, in the order their findings are kept (the first per cell wins)."""
    raw_ids, rejected = _respondent_ids(ctx, salt)
    responded, ambiguous_count, bad_dates = _response_dates(ctx, date_order, now)
    rejected |= bad_dates
    if ctx.sm.period_value is not None:
        periods = pd.Series([ctx.sm.period_value] * len(ctx.rows), dtype=object)
    else:
        periods = _periods(responded, mapping.cadence)
    departments, bad_departments = _departments(ctx)
    rejected |= bad_departments
    return SurveyRecords(
        ctx.rows, raw_ids, rejected, responded, ambiguous_count, periods, departments
    )


# ------------------------------------------------------------------------------------------
# Dates
# ------------------------------------------------------------------------------------------

_CLOCK_12H = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp])\.?[Mm]\.?"
)


def _to_24h(match: re.Match[str]) -> str:
    hour = int(match["h"]) % 12 + (12 if match["ampm"].lower() == "p" else 0)
    return f"{hour:02d}:{match['m']}:{match['s'] or '00'}"


@dataclass
class ResponseDates:
    values: pd.Series
    invalid: pd.Series
    ambiguous: pd.Series  # ambiguous under the order used
    quarantine_ambiguous: bool  # date_order auto: ambiguous values are not guessed


def parse_response_dates(raw: pd.Series, order: str) -> ResponseDates:
    """Response timestamps under the configured order; ``AUTO`` accepts only unambiguous values.

    12-hour clocks (``2:05:22 PM``, SurveyMonkey and Google Forms) are turned to 24-hour first.
    """
    text = raw.astype(object).where(raw.notna(), "").astype(str)
    if text.str.contains(r"[AaPp]\.?[Mm]", regex=True).any():
        text = text.str.replace(_CLOCK_12H, _to_24h, regex=True)
    text = text.str.replace(r"\s+(GMT|UTC)([+-]\d{1,2}(:?\d{2})?)?$", "", regex=True)
    if order != "AUTO":
        parsed = parse_dates(text, order)
        return ResponseDates(parsed.values, parsed.invalid, parsed.ambiguous, False)
    ymd = parse_dates(text, "YMD")
    dmy = parse_dates(text, "DMY")
    mdy = parse_dates(text, "MDY")
    ambiguous = ymd.values.isna() & dmy.ambiguous
    values = ymd.values.copy()
    fill = values.isna() & ~ambiguous
    values[fill] = dmy.values[fill]
    fill = values.isna() & ~ambiguous
    values[fill] = mdy.values[fill]
    invalid = ymd.invalid & dmy.invalid & mdy.invalid
    return ResponseDates(values, invalid.astype(bool), ambiguous.astype(bool), True)


def _periods(responded: pd.Series, cadence: str) -> pd.Series:
    """Period key per response, formatted once per distinct month (strftime per row is slow)."""
    months = responded.to_numpy().astype("datetime64[M]")
    distinct, position = np.unique(months, return_inverse=True)
    labels = period_of(pd.Series(distinct.astype("datetime64[ns]")), cadence).astype(object)
    labels = labels.where(labels.notna(), None).to_numpy(dtype=object)
    return pd.Series(labels[position.ravel()] if len(months) else [], dtype=object)
