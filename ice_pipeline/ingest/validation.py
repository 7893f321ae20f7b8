"""Row-level validation of the canonical tables with pandera, turning failures into quarantine rows.

Belongs here: one pandera ``DataFrameModel`` per canonical table of
``ice_pipeline/warehouse/schema.py`` (survey_ratings, survey_comments, tickets, employees,
external_metrics) and ``validate_canonical``, which every reader calls last. It validates lazily,
so every failing (row, column) is found in one pass, and splits the frame into good rows and
quarantine rows with a readable reason. A row failing any check leaves the good rows; no other
row is lost. Feed-level, cross-period and cross-feed expectations live in expectations.py.

Dtype convention for canonical frames (what readers hand in; ``validate_canonical`` converts
what it can and quarantines values it cannot convert):

* text columns: ``object`` holding ``str`` (``None`` for missing)
* floats: ``float64``; integers: ``int64`` (``Int64`` where nullable)
* booleans: ``bool`` (``boolean`` where nullable)
* ``*_at`` timestamps and ``*_date`` dates: naive ``datetime64[ns]`` (dates at midnight)

A frame may carry an extra ``source_column`` column (the export column a value came from, e.g.
``Q3_1``). Then quarantine rows name that column, which keeps the quarantine key
(feed, file, row, column) unique when one export row yields several canonical rows.
"""

import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series
from sqlalchemy import Boolean, Date, DateTime, Float, Integer

from ice_pipeline.ingest.common import DecodedFile, empty_quarantine, quarantine_frame
from ice_pipeline.warehouse import schema

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
TERMINATION_TYPES = ["voluntary", "involuntary"]
EXTERNAL_METRICS = ["nps", "csat_pct"]
# Range of each external metric's value: NPS is a difference of two percentages.
EXTERNAL_METRIC_RANGES = {"nps": (-100.0, 100.0), "csat_pct": (0.0, 100.0)}
TICKET_PRIORITIES = [1, 2, 3, 4, 5]


def _period_field() -> object:
    return pa.Field(nullable=False)


def _sha_field() -> object:
    return pa.Field(nullable=False)


def _matches(values: pd.Series, pattern: str) -> pd.Series:
    """Element-wise full regex match, once per distinct value (periods repeat millions of times)."""
    compiled = re.compile(pattern)
    distinct = pd.unique(values)
    # Missing values are the not_nullable check's business, not this one's.
    bad = [
        v
        for v in distinct
        if isinstance(v, str)
        and not compiled.fullmatch(v)
        or not isinstance(v, str)
        and not pd.isna(v)
    ]
    return ~values.isin(bad) if bad else pd.Series(True, index=values.index)


class _Provenance(pa.DataFrameModel):
    source_file: Series[object] = pa.Field(nullable=False)
    source_sha256: Series[object] = _sha_field()
    source_row: Series[int] = pa.Field(ge=0, nullable=False)

    @pa.check("source_sha256", name="sha256_format")
    def sha256_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, SHA256_PATTERN)


class SurveyRatingsModel(_Provenance):
    """One rating of a provider on one dimension by one respondent (ice_private.survey_ratings)."""

    period: Series[object] = _period_field()
    respondent_id: Series[object] = pa.Field(nullable=False)
    provider_department: Series[object] = pa.Field(nullable=False)

    @pa.check("period", name="period_format")
    def period_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, PERIOD_PATTERN)

    dimension: Series[object] = pa.Field(nullable=False)
    consumer_department: Series[object] = pa.Field(nullable=False)
    rating_raw: Series[float] = pa.Field(nullable=False)
    scale_min: Series[float] = pa.Field(nullable=False)
    scale_max: Series[float] = pa.Field(nullable=False)
    reversed: Series[bool] = pa.Field(nullable=False)
    score: Series[float] = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 100})
    favourable: Series[bool] = pa.Field(nullable=False)
    responded_at: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.dataframe_check(error="rating_outside_scale")
    def rating_within_scale(cls, frame: pd.DataFrame) -> pd.Series:
        return (frame["rating_raw"] >= frame["scale_min"]) & (
            frame["rating_raw"] <= frame["scale_max"]
        )

    @pa.dataframe_check(error="duplicate_key")
    def key_unique(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(_KEYS["survey_ratings"], keep="first")


class SurveyCommentsModel(_Provenance):
    """One free-text comment about a provider (ice_private.survey_comments)."""

    period: Series[object] = _period_field()
    respondent_id: Series[object] = pa.Field(nullable=False)
    provider_department: Series[object] = pa.Field(nullable=False)
    consumer_department: Series[object] = pa.Field(nullable=False)

    @pa.check("period", name="period_format")
    def period_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, PERIOD_PATTERN)

    comment_text: Series[object] = pa.Field(nullable=False)

    @pa.dataframe_check(error="duplicate_key")
    def key_unique(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(_KEYS["survey_comments"], keep="first")


class TicketsModel(_Provenance):
    """One ticket at its latest state (ice_private.tickets)."""

    period: Series[object] = _period_field()
    ticket_id: Series[object] = pa.Field(nullable=False)

    @pa.check("period", name="period_format")
    def period_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, PERIOD_PATTERN)

    provider_department: Series[object] = pa.Field(nullable=False)
    consumer_department: Series[object] = pa.Field(nullable=True)
    priority: Series[pd.Int64Dtype] = pa.Field(nullable=True, isin=TICKET_PRIORITIES)
    opened_at: Series[pd.Timestamp] = pa.Field(nullable=False)
    resolved_at: Series[pd.Timestamp] = pa.Field(nullable=True)
    resolution_hours: Series[float] = pa.Field(nullable=True, ge=0)
    sla_met: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    reopened: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    first_assignee_resolved: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    satisfaction: Series[float] = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 5})

    @pa.dataframe_check(error="resolved_before_opened")
    def resolved_after_opened(cls, frame: pd.DataFrame) -> pd.Series:
        return ~(frame["resolved_at"] < frame["opened_at"]).fillna(False)

    @pa.dataframe_check(error="duplicate_key")
    def key_unique(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(_KEYS["tickets"], keep="first")


class EmployeesModel(_Provenance):
    """One employee in one roster snapshot (ice_private.employees)."""

    snapshot_period: Series[object] = _period_field()

    @pa.check("snapshot_period", name="period_format")
    def period_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, PERIOD_PATTERN)

    employee_id: Series[object] = pa.Field(nullable=False)
    department: Series[object] = pa.Field(nullable=False)
    hire_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    termination_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    termination_type: Series[object] = pa.Field(nullable=True, isin=TERMINATION_TYPES)
    attrited: Series[pd.BooleanDtype] = pa.Field(nullable=True)

    @pa.dataframe_check(error="terminated_before_hired")
    def terminated_after_hired(cls, frame: pd.DataFrame) -> pd.Series:
        return ~(frame["termination_date"] < frame["hire_date"]).fillna(False)

    @pa.dataframe_check(error="duplicate_key")
    def key_unique(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(_KEYS["employees"], keep="first")


class ExternalMetricsModel(pa.DataFrameModel):
    """One external metric per period and business unit (ice.external_metrics).

    Aggregated rows have no single source row (the table has no source_row column); a reader may
    pass an extra ``source_row`` column (the row of a pre-aggregated table) so that quarantine
    rows point at it; without it quarantine rows carry row 0.
    """

    period: Series[object] = _period_field()

    @pa.check("period", name="period_format")
    def period_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, PERIOD_PATTERN)

    business_unit: Series[object] = pa.Field(nullable=False)
    metric: Series[object] = pa.Field(nullable=False, isin=EXTERNAL_METRICS)
    department: Series[object] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(nullable=True)
    n_responses: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    value_ci_low: Series[float] = pa.Field(nullable=True)
    value_ci_high: Series[float] = pa.Field(nullable=True)
    source_file: Series[object] = pa.Field(nullable=False)
    source_sha256: Series[object] = _sha_field()

    @pa.check("source_sha256", name="sha256_format")
    def sha256_format(cls, values: pd.Series) -> pd.Series:
        return _matches(values, SHA256_PATTERN)

    @pa.dataframe_check(error="value_outside_metric_range")
    def value_within_range(cls, frame: pd.DataFrame) -> pd.Series:
        return _external_value_ok(frame)

    @pa.dataframe_check(error="interval_excludes_value")
    def interval_holds_value(cls, frame: pd.DataFrame) -> pd.Series:
        low_bad = (frame["value_ci_low"] > frame["value"] + 1e-9).fillna(False)
        high_bad = (frame["value_ci_high"] < frame["value"] - 1e-9).fillna(False)
        return ~(low_bad | high_bad)

    @pa.dataframe_check(error="duplicate_key")
    def key_unique(cls, frame: pd.DataFrame) -> pd.Series:
        return ~frame.duplicated(_KEYS["external_metrics"], keep="first")


def _external_value_ok(frame: pd.DataFrame) -> pd.Series:
    low = frame["metric"].map({m: r[0] for m, r in EXTERNAL_METRIC_RANGES.items()})
    high = frame["metric"].map({m: r[1] for m, r in EXTERNAL_METRIC_RANGES.items()})
    outside = ((frame["value"] < low) | (frame["value"] > high)).fillna(False)
    return ~outside


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "survey_ratings": SurveyRatingsModel,
    "survey_comments": SurveyCommentsModel,
    "tickets": TicketsModel,
    "employees": EmployeesModel,
    "external_metrics": ExternalMetricsModel,
}

_TABLES = {
    "survey_ratings": schema.survey_ratings,
    "survey_comments": schema.survey_comments,
    "tickets": schema.tickets,
    "employees": schema.employees,
    "external_metrics": schema.external_metrics,
}

# Natural keys: the primary key of each table in schema.py.
_KEYS: dict[str, list[str]] = {
    name: [c.name for c in table.primary_key.columns] for name, table in _TABLES.items()
}


def canonical_columns(table_name: str) -> list[str]:
    """Column names of a canonical table in schema order."""
    return [c.name for c in _TABLES[table_name].columns]


def _fmt(value: object) -> str:
    """A value as a person would write it: 130 rather than 130.0, dates without 00:00:00."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "(missing)"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    if isinstance(value, pd.Timestamp):
        return (
            value.strftime("%Y-%m-%d")
            if value == value.normalize()
            else value.strftime("%Y-%m-%d %H:%M")
        )
    return str(value)


# ---- conversion to the dtype convention ---------------------------------------------------------

_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _conform(
    table_name: str, frame: pd.DataFrame
) -> tuple[pd.DataFrame, list[tuple[pd.Index, str, pd.Series, str]]]:
    """Convert each column to its dtype; values that cannot be converted become failures.

    Returns the converted frame and failures as (index, column, raw values, reason template).
    """
    out = frame  # the caller passes a fresh selection; columns are replaced, never mutated in place
    failures: list[tuple[pd.Index, str, pd.Series, str]] = []
    for column in _TABLES[table_name].columns:
        name = column.name
        raw = out[name]
        kind = column.type
        if isinstance(kind, Boolean):
            if raw.dtype == bool or isinstance(raw.dtype, pd.BooleanDtype):
                converted = raw.astype("boolean")
            else:
                text = raw.astype("string").str.strip().str.lower()
                converted = text.map(_BOOL_TEXT, na_action="ignore").astype("boolean")
                bad = text.notna() & converted.isna()
                if bad.any():
                    failures.append(
                        (out.index[bad], name, raw[bad], f"{name} '{{value}}' is not true/false")
                    )
            out[name] = converted if column.nullable else converted
        elif isinstance(kind, Integer | Float):
            if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(
                raw.dtype
            ):
                converted = pd.to_numeric(raw)
            else:
                converted = pd.to_numeric(raw, errors="coerce")
                bad = raw.notna() & converted.isna() & (raw.astype("string").str.strip() != "")
                if bad.any():
                    failures.append(
                        (out.index[bad], name, raw[bad], f"{name} '{{value}}' is not a number")
                    )
            if isinstance(kind, Integer):
                whole = converted.isna() | (converted == converted.round())
                if not whole.all():
                    failures.append(
                        (
                            out.index[~whole],
                            name,
                            raw[~whole],
                            f"{name} {{value}} is not a whole number",
                        )
                    )
                    converted = converted.where(whole)
                converted = converted.astype("Int64")
            else:
                converted = converted.astype("float64")
            out[name] = converted
        elif isinstance(kind, DateTime | Date):
            if pd.api.types.is_datetime64_any_dtype(raw.dtype):
                converted = raw
                if getattr(raw.dt, "tz", None) is not None:
                    converted = raw.dt.tz_convert(None)
            else:
                converted = pd.to_datetime(raw, errors="coerce", format="ISO8601")
                bad = raw.notna() & converted.isna()
                if bad.any():
                    failures.append(
                        (out.index[bad], name, raw[bad], f"{name} '{{value}}' is not a date")
                    )
            converted = converted.astype("datetime64[ns]")
            out[name] = converted.dt.normalize() if isinstance(kind, Date) else converted
        elif raw.dtype != object:
            # Text that arrived as numbers or pandas strings; object columns are checked by pandera.
            out[name] = raw.astype(str).astype(object).where(raw.notna(), None)
    # Non-nullable integers and booleans go to their numpy dtype when they have no gaps, which is
    # what the pandera models declare; gaps are reported by the not_nullable check instead.
    model_schema = MODELS[table_name].to_schema()
    for name, col_schema in model_schema.columns.items():
        declared = str(col_schema.dtype)
        if declared in ("int64", "bool") and name in out.columns and out[name].notna().all():
            out[name] = out[name].astype(declared)
    return out, failures


# ---- failure cases -> readable reasons ----------------------------------------------------------

_CHECK_RANGE = re.compile(r"in_range\((?P<low>[^,]+), (?P<high>[^)]+)\)")
_CHECK_GE = re.compile(r"greater_than_or_equal_to\((?P<low>[^)]+)\)")


def _column_reason(column: str, check: str, value: object) -> str:
    shown = _fmt(value)
    if check == "not_nullable":
        return f"{column} is missing"
    match = _CHECK_RANGE.fullmatch(check)
    if match:
        return (
            f"{column} {shown} is outside {_fmt(float(match['low']))}-{_fmt(float(match['high']))}"
        )
    match = _CHECK_GE.fullmatch(check)
    if match:
        return f"{column} {shown} is below the minimum {_fmt(float(match['low']))}"
    if check.startswith("isin("):
        return f"{column} '{shown}' is not one of the allowed values {check[5:-1]}"
    if check == "period_format":
        return f"{column} '{shown}' is not a period (YYYY-MM or YYYY-Qn)"
    if check == "sha256_format":
        return f"{column} '{shown}' is not a sha256 hex digest"
    if check.startswith("dtype("):
        return f"{column} '{shown}' has the wrong type (expected {check[6:-1]})"
    return f"{column} '{shown}' fails {check}"


def _duplicate_reason(table_name: str, rows: pd.DataFrame) -> tuple[str, pd.Series, pd.Series]:
    keys = _KEYS[table_name]
    shown = rows[keys].astype(str).agg(" / ".join, axis=1)
    reason = (
        "duplicate key (" + ", ".join(keys) + ") " + shown + ": an earlier row has the same key"
    )
    id_column = next((k for k in keys if k.endswith("_id")), keys[-1])
    return id_column, shown, reason


# A dataframe-level check -> (column the quarantine row names, its values, its reasons).
_FrameReason = Callable[[str, pd.DataFrame], tuple[str, pd.Series, pd.Series]]

_FRAME_REASONS: dict[str, _FrameReason] = {
    "duplicate_key": _duplicate_reason,
    "rating_outside_scale": lambda _t, rows: (
        "rating_raw",
        rows["rating_raw"],
        "rating_raw "
        + rows["rating_raw"].map(_fmt)
        + " is outside the scale "
        + rows["scale_min"].map(_fmt)
        + "-"
        + rows["scale_max"].map(_fmt),
    ),
    "resolved_before_opened": lambda _t, rows: (
        "resolved_at",
        rows["resolved_at"],
        "resolved_at "
        + rows["resolved_at"].map(_fmt)
        + " is before opened_at "
        + rows["opened_at"].map(_fmt)
        + " (negative resolution time)",
    ),
    "terminated_before_hired": lambda _t, rows: (
        "termination_date",
        rows["termination_date"],
        "termination_date "
        + rows["termination_date"].map(_fmt)
        + " is before hire_date "
        + rows["hire_date"].map(_fmt),
    ),
    "value_outside_metric_range": lambda _t, rows: (
        "value",
        rows["value"],
        rows["metric"]
        + " value "
        + rows["value"].map(_fmt)
        + " is outside "
        + rows["metric"].map(
            lambda m: "{}-{}".format(*map(_fmt, EXTERNAL_METRIC_RANGES.get(m, (0, 0))))
        ),
    ),
    "interval_excludes_value": lambda _t, rows: (
        "value_ci_low",
        rows["value"],
        "the interval "
        + rows["value_ci_low"].map(_fmt)
        + " to "
        + rows["value_ci_high"].map(_fmt)
        + " does not contain the value "
        + rows["value"].map(_fmt),
    ),
}


def _failure_records(
    table_name: str, frame: pd.DataFrame, failure_cases: pd.DataFrame
) -> list[pd.DataFrame]:
    """(index, column, value, reason) frames from pandera's failure cases."""
    records: list[pd.DataFrame] = []
    cases = failure_cases[failure_cases["index"].notna()]
    schema_level = failure_cases[failure_cases["index"].isna()]
    # A check that crashed or a missing column has no row: that is a reader bug, not bad data.
    if not schema_level.empty:
        first = schema_level.iloc[0]
        raise ValueError(
            f"{table_name}: validation could not run check {first['check']} "
            f"on column {first['column']}: "
            f"{first['failure_case']}"
        )
    frame_level = cases[cases["schema_context"] == "DataFrameSchema"]
    for check, group in frame_level.groupby("check", sort=False):
        index = pd.Index(group["index"].astype("int64").unique())
        rows = frame.loc[index]
        builder = _FRAME_REASONS.get(str(check))
        if builder is None:
            column, values, reasons = (
                "(row)",
                pd.Series([""] * len(rows), index=index),
                pd.Series([f"row fails {check}"] * len(rows), index=index),
            )
        else:
            column, values, reasons = builder(table_name, rows)
        records.append(
            pd.DataFrame(
                {
                    "index": index,
                    "column": column,
                    "value": values.to_numpy(),
                    "reason": pd.Series(reasons).to_numpy(),
                }
            )
        )
    column_level = cases[cases["schema_context"] != "DataFrameSchema"]
    if not column_level.empty:
        index = column_level["index"].astype("int64").to_numpy()
        reasons = [
            _column_reason(str(c), str(k), v)
            for c, k, v in zip(
                column_level["column"],
                column_level["check"],
                column_level["failure_case"],
                strict=True,
            )
        ]
        records.append(
            pd.DataFrame(
                {
                    "index": index,
                    "column": column_level["column"].to_numpy(),
                    "value": column_level["failure_case"].to_numpy(),
                    "reason": reasons,
                }
            )
        )
    return records


def validate_canonical(
    table_name: str, frame: pd.DataFrame, feed: str, decoded: DecodedFile
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a canonical frame; return (good rows, quarantine rows).

    Good rows have exactly the table's columns (``canonical_columns``) in the dtype convention.
    Quarantine rows follow ``common.QUARANTINE_COLUMNS`` with one row per (source row, column);
    several reasons for the same cell are joined with "; ". A frame missing a canonical column is
    a reader bug and raises ``ValueError``.
    """
    if table_name not in MODELS:
        raise ValueError(f"no pandera model for table {table_name!r}; known: {sorted(MODELS)}")
    columns = canonical_columns(table_name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table_name} frame lacks canonical columns {missing}")
    work = (
        frame
        if isinstance(frame.index, pd.RangeIndex)
        and frame.index.start == 0
        and frame.index.step == 1
        else frame.reset_index(drop=True)
    )
    source_columns = work["source_column"] if "source_column" in work.columns else None
    if "source_row" in work.columns:
        source_rows = pd.to_numeric(work["source_row"], errors="coerce").fillna(0).astype("int64")
    else:
        source_rows = pd.Series(0, index=work.index, dtype="int64")
    work, conversion_failures = _conform(table_name, pd.DataFrame({c: work[c] for c in columns}))

    records: list[pd.DataFrame] = []
    for index, column, values, template in conversion_failures:
        records.append(
            pd.DataFrame(
                {
                    "index": np.asarray(index, dtype="int64"),
                    "column": column,
                    "value": values.to_numpy(),
                    "reason": [template.format(value=_fmt(v)) for v in values],
                }
            )
        )
    try:
        MODELS[table_name].validate(work, lazy=True)
    except SchemaErrors as errors:
        records.extend(_failure_records(table_name, work, errors.failure_cases))

    if not records:
        return work[columns], empty_quarantine()
    with warnings.catch_warnings():
        # All-missing 'value' columns (a missing cell is the failure) make pandas warn about dtypes.
        warnings.simplefilter("ignore", FutureWarning)
        failed = pd.concat(records, ignore_index=True)
    bad_index = pd.Index(failed["index"].unique())
    column_names = failed["column"].astype(str)
    if source_columns is not None:
        named = source_columns.reindex(failed["index"]).to_numpy()
        column_names = pd.Series(
            [
                f"{src} ({col})" if isinstance(src, str) and src else col
                for src, col in zip(named, column_names, strict=True)
            ]
        )
    failed = failed.assign(
        column=column_names.to_numpy(), source_row=source_rows.reindex(failed["index"]).to_numpy()
    )
    # The quarantine key is (feed, file, row, column): merge several reasons for one cell.
    merged = (
        failed.groupby(["source_row", "column"], sort=True, dropna=False)
        .agg(value=("value", "first"), reason=("reason", lambda r: "; ".join(dict.fromkeys(r))))
        .reset_index()
    )
    quarantine = quarantine_frame(
        feed,
        decoded,
        merged["source_row"].astype("int64"),
        merged["column"],
        merged["value"],
        merged["reason"],
    )
    good = work.drop(index=bad_index)
    return good[columns].reset_index(drop=True), quarantine
