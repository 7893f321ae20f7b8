"""What each canonical table's expectation suite checks: the plan, independent of where it runs.

Belongs here: the list of checks per table (name, blocking or not, the sentence a report shows,
and the GX expectation that decides it), the thresholds, and ``PeriodSummary``, the little the
plan needs to know about the previous period (its row count, how far into the period its dates
reached). The same plan runs on a pandas frame or, through GX's SQL data source, in the
warehouse (expectations.py); only a row condition is spelt differently for the two.

Blocking checks are those where publishing would spread wrong numbers (scores out of range,
duplicate keys, values outside their enumeration); the others warn.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ice_pipeline.ingest.validation import (
    EXTERNAL_METRIC_RANGES,
    EXTERNAL_METRICS,
    TERMINATION_TYPES,
    TICKET_PRIORITIES,
)

TABLES = ("survey_ratings", "survey_comments", "tickets", "employees", "external_metrics")
KEYS = {
    "survey_ratings": ["period", "respondent_id", "provider_department", "dimension"],
    "survey_comments": ["period", "respondent_id", "provider_department"],
    "tickets": ["period", "ticket_id"],
    "employees": ["snapshot_period", "employee_id"],
    "external_metrics": ["period", "business_unit", "metric"],
}
# The date column whose latest value says how far into its period a table's feed reached.
FRESHNESS_COLUMNS = {"survey_ratings": "responded_at", "tickets": "opened_at"}
VOLUME_LOW_RATIO = 0.5
VOLUME_HIGH_RATIO = 2.0
MAX_NULL_RATE = 0.05
FRESHNESS_DAYS = 7
KEY_CHECK = "key_unique"  # decided without GX: see Planned.key_check


@dataclass(frozen=True)
class PeriodSummary:
    """What the plan uses of the previous period: its rows and its latest dates."""

    period: str | None
    rows: int
    latest: dict[str, datetime | None] = field(default_factory=dict)


@dataclass
class Planned:
    """One check of a suite: a GX expectation, a key check, or a check skipped with a reason."""

    check_name: str
    blocking: bool
    description: str
    expectation: Any  # a GX expectation, or None for a check decided without GX
    skipped: str | None = None
    key_check: bool = False  # duplicate keys, counted by DataFrame.duplicated or SQL GROUP BY


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a ``YYYY-MM`` or ``YYYY-Qn`` period."""
    year = int(period[:4])
    if "Q" in period:
        quarter = int(period[-1])
        start = datetime(year, 3 * quarter - 2, 1)
        months = 3
    else:
        start = datetime(year, int(period[5:7]), 1)
        months = 1
    month_index = start.month - 1 + months
    end = datetime(year + month_index // 12, month_index % 12 + 1, 1)
    return start, end


def reach_into_period(previous: PeriodSummary | None, column: str) -> timedelta | None:
    """How far past its period's start the previous period's latest ``column`` value was."""
    if previous is None or previous.rows == 0 or not previous.period:
        return None
    latest = previous.latest.get(column)
    if latest is None:
        return None
    previous_start, _ = period_bounds(previous.period)
    return latest.replace(tzinfo=None) - previous_start


class _Planner:
    """Collects one table's checks; its helpers name each check after the table."""

    def __init__(
        self,
        table_name: str,
        previous: PeriodSummary | None,
        known_departments: set[str] | None,
        period: str,
        freshness_days: int,
    ) -> None:
        import great_expectations.expectations as gxe

        self.gxe = gxe
        self.table = table_name
        self.previous = previous
        self.departments = known_departments
        self.period = period
        self.freshness_days = freshness_days
        self.plans: list[Planned] = []

    def add(self, name: str, blocking: bool, description: str, expectation: Any) -> None:
        expectation.meta = {"check_name": name}
        self.plans.append(Planned(name, blocking, description, expectation))

    def skip(self, name: str, blocking: bool, description: str, why: str) -> None:
        self.plans.append(Planned(name, blocking, description, None, skipped=why))

    def between(self, name: str, text: str, column: str, **bounds: Any) -> None:
        """A blocking range check on every value of ``column``."""
        self.add(name, True, text, self.gxe.ExpectColumnValuesToBeBetween(column=column, **bounds))

    def in_set(self, name: str, column: str, values: Any, blocking: bool, text: str) -> None:
        expectation = self.gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values))
        self.add(name, blocking, text, expectation)

    def volume(self) -> None:
        name = f"{self.table}_volume_vs_previous_period"
        text = (
            f"row count within {VOLUME_LOW_RATIO:g}x-{VOLUME_HIGH_RATIO:g}x of the previous "
            "period's"
        )
        if self.previous is None or self.previous.rows == 0:
            self.skip(name, False, text, "no previous period to compare with")
            return
        expectation = self.gxe.ExpectTableRowCountToBeBetween(
            min_value=math.ceil(VOLUME_LOW_RATIO * self.previous.rows),
            max_value=math.floor(VOLUME_HIGH_RATIO * self.previous.rows),
        )
        self.add(name, False, text, expectation)

    def keys(self) -> None:
        # Key uniqueness runs without GX: its compound-uniqueness expectation took 4 s of CPU on
        # 2.5M survey ratings where DataFrame.duplicated takes ~0.5 s (a SQL GROUP BY less).
        keys = ", ".join(KEYS[self.table])
        self.plans.append(
            Planned(
                f"{self.table}_{KEY_CHECK}",
                True,
                f"no two rows share the key ({keys})",
                None,
                key_check=True,
            )
        )

    def references(self, columns: list[str]) -> None:
        for column in columns:
            name = f"{self.table}_{column}_known_to_hr"
            text = f"every {column} is a department in the HR roster"
            if self.departments:
                self.in_set(name, column, self.departments, False, text)
            else:
                self.skip(name, False, text, "no HR departments known")

    def freshness(self, column: str) -> None:
        # A feed is stale when its rows stop earlier in the period than they did in the previous
        # one (an export taken before the survey wave closed, a ticket feed that stopped). A
        # fixed distance from the period end would fail every survey wave that closes mid-month.
        start, end = period_bounds(self.period)
        reach = reach_into_period(self.previous, column)
        if reach is None:
            earliest = start
            text = f"the latest {column} falls within the period (no previous period to compare)"
        else:
            earliest = min(max(start + reach - timedelta(days=self.freshness_days), start), end)
            text = (
                f"the latest {column} reaches {earliest:%Y-%m-%d} or later: no more than "
                f"{self.freshness_days} days short of how far into its period the previous "
                "period's data reached"
            )
        expectation = self.gxe.ExpectColumnMaxToBeBetween(
            column=column, min_value=earliest, max_value=end
        )
        self.add(f"{self.table}_{column}_fresh", False, text, expectation)

    def null_rate(self, column: str) -> None:
        self.add(
            f"{self.table}_{column}_null_rate",
            False,
            f"{column} is missing in under {MAX_NULL_RATE:.0%} of rows",
            self.gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=1 - MAX_NULL_RATE),
        )


def _survey_ratings(p: _Planner, known_dimensions: set[str] | None) -> None:
    p.between(
        "survey_ratings_score_0_100",
        "every score is within 0-100",
        "score",
        min_value=0,
        max_value=100,
    )
    name, text = "survey_ratings_dimension_known", "every dimension is one the mapping names"
    if known_dimensions:
        p.in_set(name, "dimension", known_dimensions, False, text)
    else:
        p.skip(name, False, text, "no dimension names given")
    p.null_rate("responded_at")
    p.freshness("responded_at")
    p.references(["consumer_department"])


def _tickets(p: _Planner) -> None:
    p.in_set("tickets_priority_1_5", "priority", TICKET_PRIORITIES, True, "every priority is 1-5")
    p.between(
        "tickets_satisfaction_1_5",
        "every satisfaction score is within 1-5",
        "satisfaction",
        min_value=1,
        max_value=5,
    )
    p.between(
        "tickets_resolution_hours_not_negative",
        "no ticket is resolved before it was opened",
        "resolution_hours",
        min_value=0,
    )
    p.null_rate("consumer_department")
    p.freshness("opened_at")
    p.references(["provider_department", "consumer_department"])


def _external_metrics(p: _Planner, in_sql: bool) -> None:
    p.in_set(
        "external_metrics_metric_known",
        "metric",
        EXTERNAL_METRICS,
        True,
        "every metric is nps or csat_pct",
    )
    for metric, (low, high) in EXTERNAL_METRIC_RANGES.items():
        # GX's own condition syntax works on SQL; the pandas one is what the pandas source reads.
        condition = f'col("metric")=="{metric}"' if in_sql else f'metric=="{metric}"'
        p.between(
            f"external_metrics_{metric}_in_range",
            f"every {metric} value is within {low:g}-{high:g}",
            "value",
            min_value=low,
            max_value=high,
            row_condition=condition,
            condition_parser="great_expectations" if in_sql else "pandas",
        )
    p.between(
        "external_metrics_n_responses_positive",
        "every metric has at least one response",
        "n_responses",
        min_value=1,
    )


def plan_suite(
    table_name: str,
    previous: PeriodSummary | None,
    known_departments: set[str] | None,
    known_dimensions: set[str] | None,
    period: str,
    freshness_days: int = FRESHNESS_DAYS,
    *,
    in_sql: bool = False,
) -> list[Planned]:
    """The checks of ``table_name``'s suite for ``period``, in the order they are reported."""
    p = _Planner(table_name, previous, known_departments, period, freshness_days)
    p.volume()
    p.keys()
    if table_name == "survey_ratings":
        _survey_ratings(p, known_dimensions)
    elif table_name == "survey_comments":
        p.references(["consumer_department"])
    elif table_name == "tickets":
        _tickets(p)
    elif table_name == "employees":
        p.in_set(
            "employees_termination_type_known",
            "termination_type",
            TERMINATION_TYPES,
            True,
            "every termination type is voluntary or involuntary",
        )
        p.null_rate("department")
    elif table_name == "external_metrics":
        _external_metrics(p, in_sql)
    return p.plans
