"""The pandera models of the canonical tables: the documented contract of every canonical row.

Belongs here: one pandera ``DataFrameModel`` per canonical table of
``ice_pipeline/warehouse/schema.py`` (survey_ratings, survey_comments, tickets, employees,
external_metrics), the allowed values they check (periods, priorities, termination types,
external metrics and their ranges), each table's natural key and ``canonical_columns``.
Running them and turning failures into quarantine rows is validation.py's; feed-level,
cross-period and cross-feed expectations are expectations.py's.
"""

import re

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

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
        return ~frame.duplicated(KEYS["survey_ratings"], keep="first")


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
        return ~frame.duplicated(KEYS["survey_comments"], keep="first")


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
        return ~frame.duplicated(KEYS["tickets"], keep="first")


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
        return ~frame.duplicated(KEYS["employees"], keep="first")


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
        return ~frame.duplicated(KEYS["external_metrics"], keep="first")


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

TABLES = {
    "survey_ratings": schema.survey_ratings,
    "survey_comments": schema.survey_comments,
    "tickets": schema.tickets,
    "employees": schema.employees,
    "external_metrics": schema.external_metrics,
}

# Natural keys: the primary key of each table in schema.py.
KEYS: dict[str, list[str]] = {
    name: [c.name for c in table.primary_key.columns] for name, table in TABLES.items()
}


def canonical_columns(table_name: str) -> list[str]:
    """Column names of a canonical table in schema order."""
    return [c.name for c in TABLES[table_name].columns]
