"""Monthly turnover and retention per department from the HR roster.

What belongs here: ``employees`` rows -> ``turnover`` rows (docs/methodology.md, "Turnover").

Definitions, for a month running from its first day F to its last day L:

* employed on a day d: ``hire_date <= d`` and (no ``termination_date``, or it is ``>= d``);
  a missing hire date means "employed since before the roster begins";
* ``headcount_start``: employed on F; ``headcount_end``: employed at the close of L, i.e.
  hired on or before L and not terminated on or before L;
* ``leavers``: termination date within [F, L] (voluntary and involuntary by ``termination_type``;
  leavers without a type count in ``leavers`` only);
* ``turnover_pct`` = 100 * leavers / ((start + end) / 2), NULL where that average is 0;
* ``rolling_12m_turnover_pct`` = 100 * (leavers over the 12 months ending with the month) /
  (mean of those 12 months' average headcounts); NULL until 12 months of history exist (months
  before ``history_start`` are not trusted: rosters often omit people who left long ago);
* ``retention_pct`` = 100 - rolling 12-month turnover.

Snapshot rosters (the IBM attrition file: ``attrited`` yes/no and no dates) give one figure for
their snapshot period: turnover = attrited / headcount of the snapshot. When the attrition
happened inside the window is unknown, so there is no start/end average, no voluntary split
and no rolling rate.

Everything is vectorised over employees (one ``numpy.bincount`` per month); 100,000 employees
over 24 months take a fraction of a second.
"""

import numpy as np
import pandas as pd

from ice_pipeline.index.scoring import _frame, empty_table


def _month(period: str) -> pd.Period:
    return pd.Period(period, freq="M")


def compute_turnover(
    employees: pd.DataFrame, periods: list[str], history_start: str | None = None
) -> pd.DataFrame:
    """The ``turnover`` rows of the given monthly periods ('YYYY-MM'), every department.

    ``history_start`` is the first month the roster is trusted to cover (default: the earliest
    of ``periods``); months from there are computed even if not requested, so the rolling
    12-month rate of a requested month can use them.
    """
    if employees.empty or not periods:
        return empty_table("turnover")
    dated_mask = employees["hire_date"].notna() | employees["termination_date"].notna()
    snapshot_mask = ~dated_mask & False
    if "attrited" in employees.columns:
        snapshot_mask = ~dated_mask & employees["attrited"].notna()
    frames = []
    if dated_mask.any():
        frames.append(_dated_turnover(employees[dated_mask], periods, history_start))
    if snapshot_mask.any():
        frames.append(_snapshot_turnover(employees[snapshot_mask], periods))
    if not frames:
        return empty_table("turnover")
    result = pd.concat(frames, ignore_index=True)
    # A dated roster, when present, is the better source for a month than a snapshot.
    result = result.drop_duplicates(["period", "department"], keep="first")
    return result.sort_values(["period", "department"], ignore_index=True)


def _dated_turnover(
    roster: pd.DataFrame, periods: list[str], history_start: str | None
) -> pd.DataFrame:
    # Each employee once, as in the latest roster that lists them.
    roster = roster.sort_values("snapshot_period").drop_duplicates("employee_id", keep="last")
    department_codes, departments = pd.factorize(roster["department"], sort=True)
    n_departments = len(departments)
    far_past = np.datetime64("1000-01-01")
    far_future = np.datetime64("9999-12-31")
    hire = pd.to_datetime(roster["hire_date"]).to_numpy(dtype="datetime64[D]")
    hire = np.where(np.isnat(hire), far_past, hire)
    termination = pd.to_datetime(roster["termination_date"]).to_numpy(dtype="datetime64[D]")
    termination = np.where(np.isnat(termination), far_future, termination)
    kind = (
        roster["termination_type"].astype("string").str.lower().to_numpy(dtype=object, na_value="")
    )
    voluntary = kind == "voluntary"
    involuntary = kind == "involuntary"

    requested = sorted({_month(p) for p in periods})
    first = _month(history_start) if history_start else requested[0]
    first = min(first, requested[0])
    months = pd.period_range(first, requested[-1], freq="M")
    trusted_from = _month(history_start) if history_start else requested[0]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(department_codes[mask], minlength=n_departments)

    start = np.empty((len(months), n_departments), dtype=np.int64)
    end = np.empty_like(start)
    leavers = np.empty_like(start)
    voluntary_leavers = np.empty_like(start)
    involuntary_leavers = np.empty_like(start)
    for i, month in enumerate(months):
        first_day = np.datetime64(month.start_time.date(), "D")
        last_day = np.datetime64(month.end_time.date(), "D")
        start[i] = count((hire <= first_day) & (termination >= first_day))
        end[i] = count((hire <= last_day) & (termination > last_day))
        left = (termination >= first_day) & (termination <= last_day)
        leavers[i] = count(left)
        voluntary_leavers[i] = count(left & voluntary)
        involuntary_leavers[i] = count(left & involuntary)

    average = (start + end) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(average > 0, 100.0 * leavers / average, np.nan)
        voluntary_rate = np.where(average > 0, 100.0 * voluntary_leavers / average, np.nan)
        involuntary_rate = np.where(average > 0, 100.0 * involuntary_leavers / average, np.nan)
    # Rolling 12 months: cumulative sums give each 12-month window in one subtraction.
    leavers_cum = np.vstack([np.zeros((1, n_departments)), np.cumsum(leavers, axis=0)])
    average_cum = np.vstack([np.zeros((1, n_departments)), np.cumsum(average, axis=0)])
    rolling = np.full(average.shape, np.nan)
    trusted_index = max(0, (trusted_from - months[0]).n)
    for i in range(len(months)):
        if i - 11 < trusted_index:
            continue
        window_leavers = leavers_cum[i + 1] - leavers_cum[i - 11]
        window_average = (average_cum[i + 1] - average_cum[i - 11]) / 12.0
        with np.errstate(invalid="ignore", divide="ignore"):
            rolling[i] = np.where(
                window_average > 0, 100.0 * window_leavers / window_average, np.nan
            )

    month_index = np.array([months.get_loc(m) for m in requested])
    grid_month = np.repeat(month_index, n_departments)
    grid_department = np.tile(np.arange(n_departments), len(month_index))

    def pick(values: np.ndarray) -> np.ndarray:
        return values[grid_month, grid_department]

    return _frame(
        "turnover",
        {
            "period": np.repeat([str(m) for m in requested], n_departments),
            "department": np.asarray(departments, dtype=object)[grid_department],
            "headcount_start": pick(start),
            "headcount_end": pick(end),
            "headcount_avg": pick(average),
            "leavers": pick(leavers),
            "voluntary_leavers": pick(voluntary_leavers),
            "involuntary_leavers": pick(involuntary_leavers),
            "turnover_pct": pick(rate),
            "voluntary_turnover_pct": pick(voluntary_rate),
            "involuntary_turnover_pct": pick(involuntary_rate),
            "rolling_12m_turnover_pct": pick(rolling),
            "retention_pct": 100.0 - pick(rolling),
        },
    )


def _snapshot_turnover(snapshot: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    rows = snapshot[snapshot["snapshot_period"].isin(set(periods))]
    if rows.empty:
        return empty_table("turnover")
    grouped = rows.assign(attrited=rows["attrited"].astype(bool)).groupby(
        ["snapshot_period", "department"], sort=True, observed=True
    )["attrited"]
    counts = pd.DataFrame({"headcount": grouped.size(), "leavers": grouped.sum()}).reset_index()
    headcount = counts["headcount"].to_numpy(dtype=np.int64)
    leavers = counts["leavers"].to_numpy(dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(headcount > 0, 100.0 * leavers / headcount, np.nan)
    return _frame(
        "turnover",
        {
            "period": counts["snapshot_period"].astype(str),
            "department": counts["department"],
            "headcount_start": headcount,
            "headcount_end": headcount - leavers,
            # The denominator used: the snapshot headcount (see the module docstring).
            "headcount_avg": headcount.astype(float),
            "leavers": leavers,
            "voluntary_leavers": np.zeros(len(counts), dtype=np.int64),
            "involuntary_leavers": np.zeros(len(counts), dtype=np.int64),
            "turnover_pct": rate,
            "voluntary_turnover_pct": np.nan,
            "involuntary_turnover_pct": np.nan,
            "rolling_12m_turnover_pct": np.nan,
            "retention_pct": np.nan,
        },
    )
