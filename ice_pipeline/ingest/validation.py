"""Row-level validation of the canonical tables with pandera, turning failures into quarantine rows.

Belongs here: ``validate_canonical``, which every reader calls last, with the conversion of each
column to the dtype convention and the wording of every failure. The pandera models (one per
canonical table of ``ice_pipeline/warehouse/schema.py``) are validation_models.py's and are
re-exported here (``MODELS``, ``canonical_columns`` and the allowed values). It validates lazily,
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
from pandera.errors import SchemaErrors
from sqlalchemy import Boolean, Date, DateTime, Float, Integer

from ice_pipeline.ingest.common import DecodedFile, empty_quarantine, quarantine_frame
from ice_pipeline.ingest.validation_models import (
    EXTERNAL_METRIC_RANGES,
    EXTERNAL_METRICS,
    KEYS,
    MODELS,
    PERIOD_PATTERN,
    SHA256_PATTERN,
    TABLES,
    TERMINATION_TYPES,
    TICKET_PRIORITIES,
    canonical_columns,
)

__all__ = [  # the names other modules and tests import from here
    "EXTERNAL_METRICS",
    "EXTERNAL_METRIC_RANGES",
    "MODELS",
    "PERIOD_PATTERN",
    "SHA256_PATTERN",
    "TERMINATION_TYPES",
    "TICKET_PRIORITIES",
    "canonical_columns",
    "validate_canonical",
]
_TABLES, _KEYS = TABLES, KEYS  # the names this module used before the models moved


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
            out[name] = _to_boolean(name, raw, failures)
        elif isinstance(kind, Integer | Float):
            out[name] = _to_number(name, raw, isinstance(kind, Integer), failures)
        elif isinstance(kind, DateTime | Date):
            converted = _to_timestamp(name, raw, failures)
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


_Failures = list[tuple[pd.Index, str, pd.Series, str]]


def _to_boolean(name: str, raw: pd.Series, failures: _Failures) -> pd.Series:
    """Booleans, or true/false-like text; other text is a failure."""
    if raw.dtype == bool or isinstance(raw.dtype, pd.BooleanDtype):
        return raw.astype("boolean")
    text = raw.astype("string").str.strip().str.lower()
    converted = text.map(_BOOL_TEXT, na_action="ignore").astype("boolean")
    bad = text.notna() & converted.isna()
    if bad.any():
        failures.append((raw.index[bad], name, raw[bad], f"{name} '{{value}}' is not true/false"))
    return converted


def _to_number(name: str, raw: pd.Series, integer: bool, failures: _Failures) -> pd.Series:
    """float64, or Int64 for integer columns; non-numbers and fractions are failures."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        converted = pd.to_numeric(raw)
    else:
        converted = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & converted.isna() & (raw.astype("string").str.strip() != "")
        if bad.any():
            failures.append((raw.index[bad], name, raw[bad], f"{name} '{{value}}' is not a number"))
    if not integer:
        return converted.astype("float64")
    whole = converted.isna() | (converted == converted.round())
    if not whole.all():
        failures.append(
            (raw.index[~whole], name, raw[~whole], f"{name} {{value}} is not a whole number")
        )
        converted = converted.where(whole)
    return converted.astype("Int64")


def _to_timestamp(name: str, raw: pd.Series, failures: _Failures) -> pd.Series:
    """Naive datetime64[ns]; text that is not an ISO date is a failure."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        converted = raw
        if getattr(raw.dt, "tz", None) is not None:
            converted = raw.dt.tz_convert(None)
    else:
        converted = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        bad = raw.notna() & converted.isna()
        if bad.any():
            failures.append((raw.index[bad], name, raw[bad], f"{name} '{{value}}' is not a date"))
    return converted.astype("datetime64[ns]")


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
    quarantine = _quarantine(failed, source_columns, source_rows, feed, decoded)
    good = work.drop(index=pd.Index(failed["index"].unique()))
    return good[columns].reset_index(drop=True), quarantine


def _quarantine(
    failed: pd.DataFrame,
    source_columns: pd.Series | None,
    source_rows: pd.Series,
    feed: str,
    decoded: DecodedFile,
) -> pd.DataFrame:
    """Quarantine rows from the failures: one per (source row, column), reasons joined."""
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
    return quarantine_frame(
        feed,
        decoded,
        merged["source_row"].astype("int64"),
        merged["column"],
        merged["value"],
        merged["reason"],
    )
