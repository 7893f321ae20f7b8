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

Disclosure control (``min_group`` = k; docs/methodology.md, "Disclosure control"): HR figures
describe people, so they follow the same rule as the survey. A department-month whose group
(the larger of its start and end headcount) is under k publishes nothing but its name
(``suppressed`` true, every figure NULL); the leaver split (voluntary/involuntary counts and
rates) is published only when there are at least k leavers, because leavers are visible and a
split of fewer says how a known person left; the rolling rate and retention are published only
when no month of their 12-month window was suppressed, so differencing consecutive windows
cannot recover a hidden month. No total over departments is published anywhere (tables, views,
reports, run metadata sum the published rows only), so nothing hidden can be recovered by
subtracting published departments from a total.

Everything is vectorised over employees (one ``numpy.bincount`` per month); 100,000 employees
over 24 months take a fraction of a second.
"""

import numpy as np
import pandas as pd

from ice_pipeline.index.scoring import _frame, empty_table


def _month(period: str) -> pd.Period:
    return pd.Period(period, freq="M")


def compute_turnover(
    employees: pd.DataFrame,
    periods: list[str],
    history_start: str | None = None,
    min_group: int | None = None,
) -> pd.DataFrame:
    """The ``turnover`` rows of the given monthly periods ('YYYY-MM'), every department.

    ``history_start`` is the first month the roster is trusted to cover (default: the earliest
    of ``periods``); months from there are computed even if not requested, so the rolling
    12-month rate of a requested month can use them. With ``min_group`` (k) the rows are
    protected for publication (module docstring); without it they are the raw figures.
    """
    if employees.empty or not periods:
        return empty_table("turnover")
    dated_mask = employees["hire_date"].notna() | employees["termination_date"].notna()
    snapshot_mask = ~dated_mask & False
    if "attrited" in employees.columns:
        snapshot_mask = ~dated_mask & employees["attrited"].notna()
    frames = []
    if dated_mask.any():
        frames.append(_dated_turnover(employees[dated_mask], periods, history_start, min_group))
    if snapshot_mask.any():
        frames.append(_snapshot_turnover(employees[snapshot_mask], periods))
    if not frames:
        return empty_table("turnover")
    result = pd.concat(frames, ignore_index=True)
    # A dated roster, when present, is the better source for a month than a snapshot.
    result = result.drop_duplicates(["period", "department"], keep="first")
    result = result.sort_values(["period", "department"], ignore_index=True)
    return protect_turnover(result, min_group) if min_group is not None else result


# Figures of a department-month, all withheld when the group is under k.
_FIGURES = (
    "headcount_start",
    "headcount_end",
    "headcount_avg",
    "leavers",
    "voluntary_leavers",
    "involuntary_leavers",
    "turnover_pct",
    "voluntary_turnover_pct",
    "involuntary_turnover_pct",
    "rolling_12m_turnover_pct",
    "retention_pct",
)
_SPLIT = ("voluntary_leavers", "involuntary_leavers", "voluntary_turnover_pct")
_SPLIT += ("involuntary_turnover_pct",)
_COUNTS = ("headcount_start", "headcount_end", "leavers", "voluntary_leavers")
_COUNTS += ("involuntary_leavers",)


def protect_turnover(rows: pd.DataFrame, min_group: int) -> pd.DataFrame:
    """``turnover`` rows made safe to publish: small departments withheld, small splits hidden.

    The rolling-window rule needs the department's history and is applied where the rolling
    rate is computed (:func:`_dated_turnover`); this function applies the per-row rules, so it
    is also what a re-check of published rows expects.
    """
    result = rows.copy()
    group = np.fmax(
        pd.to_numeric(result["headcount_start"], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(result["headcount_end"], errors="coerce").to_numpy(dtype=float),
    )
    already = (
        result["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "suppressed" in result.columns
        else np.zeros(len(result), dtype=bool)
    )
    leavers = pd.to_numeric(result["leavers"], errors="coerce").to_numpy(dtype=float)
    small = already | _under_k(group, leavers, min_group)
    few_leavers = small | ~(leavers >= min_group)
    for column in _FIGURES:
        hide = small if column not in _SPLIT else few_leavers
        values = result[column]
        if column in _COUNTS:
            values = values.astype("Int64")
        result[column] = values.mask(hide)
    result["suppressed"] = small
    return result


def _under_k(group: np.ndarray, leavers: np.ndarray, k: int) -> np.ndarray:
    """Department-months whose group is under k; an empty month (nobody, no leaver) is not:
    its zeros describe no one.
    """
    with np.errstate(invalid="ignore"):
        return (group < k) & ((group > 0) | (leavers > 0))


def turnover_disclosures(name: str, frame: pd.DataFrame, k: int) -> list[str]:
    """Published ``turnover`` rows (or ``v_turnover``) that reveal a department or split under k.

    Reads only what is published: a row whose headcounts are under k yet shows a figure, a row
    flagged suppressed that shows one, a leaver split shown for fewer than k leavers, and a
    rolling rate whose 12-month window holds a suppressed month of the same department.
    """
    if frame is None or frame.empty or "headcount_start" not in frame.columns:
        return []
    flag = next((c for c in ("suppressed", "turnover_suppressed") if c in frame.columns), None)
    flagged = (
        frame[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if flag
        else np.zeros(len(frame), dtype=bool)
    )
    numbers = {c: pd.to_numeric(frame[c], errors="coerce") for c in _FIGURES}
    shown = pd.concat(numbers, axis=1).notna()
    group = np.fmax(
        numbers["headcount_start"].to_numpy(float), numbers["headcount_end"].to_numpy(float)
    )
    small = _under_k(group, numbers["leavers"].to_numpy(float), k)
    problems = []
    for i, (period, department) in enumerate(
        zip(frame["period"], frame["department"], strict=True)
    ):
        where = f"{name}: period={period!r}, department={department!r}"
        if shown.iloc[i].any() and (flagged[i] or small[i]):
            problems.append(f"{where} shows turnover figures of a department under k = {k}")
        elif shown.iloc[i][list(_SPLIT)].any() and not numbers["leavers"].iloc[i] >= k:
            problems.append(f"{where} shows a leaver split of fewer than k = {k} leavers")
    problems.extend(_rolling_over_hidden_months(name, frame, flagged, numbers))
    return problems


def _rolling_over_hidden_months(
    name: str, frame: pd.DataFrame, flagged: np.ndarray, numbers: dict[str, pd.Series]
) -> list[str]:
    hidden = {
        (department, _month(str(period)))
        for period, department, is_hidden in zip(
            frame["period"], frame["department"], flagged, strict=True
        )
        if is_hidden
    }
    problems = []
    rolling = numbers["rolling_12m_turnover_pct"].notna().to_numpy()
    for i in np.flatnonzero(rolling):
        department, month = frame["department"].iloc[i], _month(str(frame["period"].iloc[i]))
        if any((department, month - lag) in hidden for lag in range(12)):
            problems.append(
                f"{name}: period={str(month)!r}, department={department!r} shows a rolling rate "
                "whose 12-month window holds a suppressed month"
            )
    return problems


def _rolling_12m(
    leavers: np.ndarray, average: np.ndarray, small: np.ndarray, trusted_index: int
) -> np.ndarray:
    """Rolling 12-month turnover % per month x department; NaN before 12 trusted months or
    when the window holds a month withheld for its size.
    """
    n_departments = leavers.shape[1]
    # Cumulative sums give each 12-month window in one subtraction.
    leavers_cum = np.vstack([np.zeros((1, n_departments)), np.cumsum(leavers, axis=0)])
    average_cum = np.vstack([np.zeros((1, n_departments)), np.cumsum(average, axis=0)])
    small_cum = np.vstack([np.zeros((1, n_departments)), np.cumsum(small, axis=0)])
    rolling = np.full(average.shape, np.nan)
    for i in range(len(leavers)):
        if i - 11 < trusted_index:
            continue
        window_leavers = leavers_cum[i + 1] - leavers_cum[i - 11]
        window_average = (average_cum[i + 1] - average_cum[i - 11]) / 12.0
        with np.errstate(invalid="ignore", divide="ignore"):
            rolling[i] = np.where(
                window_average > 0, 100.0 * window_leavers / window_average, np.nan
            )
        rolling[i] = np.where(small_cum[i + 1] - small_cum[i - 11] > 0, np.nan, rolling[i])
    return rolling


def _dated_turnover(
    roster: pd.DataFrame, periods: list[str], history_start: str | None, min_group: int | None
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
    trusted_index = max(0, (trusted_from - months[0]).n)
    # A window holding a month withheld for its size publishes no rolling rate (module docstring).
    small = _under_k(np.maximum(start, end), leavers, min_group or 0)
    rolling = _rolling_12m(leavers, average, small, trusted_index)

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
            "suppressed": False,
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
            "suppressed": False,
        },
    )
