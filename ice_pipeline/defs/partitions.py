"""How period-scoped assets are partitioned, and the partition mappings of lagged computations.

Belongs here: the monthly partitions definition every period-scoped asset shares, and the
mappings that declare which earlier periods a computation reads (the previous period for trends,
a 24-month window for correlations). What is computed for a period lives in the asset modules.

Partition keys are ``YYYY-MM`` (the ``period`` column of the warehouse). The first partition is
``ICE_FIRST_PERIOD`` (default ``2024-11``, the first month of the 24-month demo organisation);
the last is the latest *complete* month, so the month in progress is never a partition. The
first period is read when the code location loads, because a partitions definition is part of
the asset graph's structure; change it, then reload the code location.

Quarterly survey waves need no quarterly partitions: a wave lands in the monthly partition of the
month it was answered in, and months without a wave simply have no survey rows.
"""

import os
import re
import warnings
from collections.abc import Mapping

import dagster as dg

from ice_pipeline.errors import ConfigError

DEFAULT_FIRST_PERIOD = "2024-11"
PERIOD_FORMAT = "%Y-%m"
# Months of history the correlations read at each as-of period (lags up to 3 need at least 11).
CORRELATION_WINDOW_PERIODS = 24

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def first_period(environ: Mapping[str, str] | None = None) -> str:
    """The first partition, from ``ICE_FIRST_PERIOD`` (``YYYY-MM``), default 2024-11."""
    env = os.environ if environ is None else environ
    value = (env.get("ICE_FIRST_PERIOD") or DEFAULT_FIRST_PERIOD).strip()
    if not _PERIOD.match(value):
        raise ConfigError(
            "ICE_FIRST_PERIOD",
            f"{value!r} is not a month written as YYYY-MM",
            fix="set ICE_FIRST_PERIOD to the first month to compute, e.g. 2024-11, or unset it",
        )
    return value


def build_monthly_partitions(first: str) -> dg.MonthlyPartitionsDefinition:
    """Monthly partitions from ``first`` up to the latest complete month (end_offset=0)."""
    return dg.MonthlyPartitionsDefinition(start_date=first, fmt=PERIOD_FORMAT, end_offset=0)


def previous_period(period: str) -> str:
    """The month before ``period`` (``2025-01`` -> ``2024-12``)."""
    year, month = (int(part) for part in period.split("-"))
    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return f"{year:04d}-{month:02d}"


def periods_back(period: str, count: int) -> list[str]:
    """``count`` periods ending at ``period``, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.insert(0, previous_period(periods[0]))
    return periods


monthly_partitions = build_monthly_partitions(first_period())


def _window_mapping(start_offset: int) -> dg.TimeWindowPartitionMapping:
    # allow_nonexistent_upstream_partitions: the first periods have no predecessors, which is a
    # normal state (no trend yet), not an error. The parameter is marked beta in Dagster 1.13.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(
            start_offset=start_offset, end_offset=0, allow_nonexistent_upstream_partitions=True
        )


# The period itself and the one before: trends compare a period with its predecessor.
WITH_PREVIOUS_PERIOD = _window_mapping(-1)
# The as-of period and the 23 before it: the history correlations are computed over.
CORRELATION_HISTORY = _window_mapping(-(CORRELATION_WINDOW_PERIODS - 1))
