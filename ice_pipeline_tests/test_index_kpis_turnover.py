"""Service KPIs and turnover on hand-worked fixtures."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.kpis import compute_service_kpis
from ice_pipeline.index.scoring import table_columns
from ice_pipeline.index.turnover import compute_turnover


def tickets_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026-01"] * 6 + ["2026-02"],
            "ticket_id": list("abcdefg"),
            "provider_department": ["IT"] * 5 + ["HR", "IT"],
            "resolution_hours": [10, 20, 30, 40, np.nan, 5, 1],
            "sla_met": [True, True, False, None, True, True, True],
            "reopened": [False, True, False, False, False, False, False],
            "first_assignee_resolved": [True, False, True, True, True, None, True],
            "satisfaction": [5, 4, 3, 4, 5, np.nan, 1],
        }
    )


def test_service_kpis_worked_by_hand() -> None:
    kpis = compute_service_kpis(tickets_frame(), "2026-01", IndexConfig())
    assert list(kpis.columns) == table_columns("service_kpis")
    it = kpis.set_index("provider_department").loc["IT"]
    assert it["tickets_n"] == 5  # the February ticket is not counted
    assert it["sla_met_pct"] == pytest.approx(75.0)  # 3 of the 4 tickets with a known SLA flag
    assert it["reopen_pct"] == pytest.approx(20.0)
    assert it["median_resolution_hours"] == pytest.approx(25.0)  # median of 10, 20, 30, 40
    assert it["first_assignee_pct"] == pytest.approx(80.0)
    assert it["satisfaction_mean"] == pytest.approx(4.2) and it["satisfaction_n"] == 5
    # Linear between the zero point (0) and the target (100), clipped:
    assert it["sla_score"] == pytest.approx(100 * (75 - 50) / (95 - 50))  # 55.56
    assert it["reopen_score"] == pytest.approx(100 * (20 - 20) / (2 - 20))  # 0
    assert it["resolution_score"] == pytest.approx(100 * (25 - 120) / (24 - 120))  # 98.96
    assert it["first_assignee_score"] == 100.0  # 80 % meets the 80 % target
    assert it["satisfaction_score"] == pytest.approx(100 * (4.2 - 1) / (4.5 - 1))  # 91.43
    expected_ice_k = (
        0.30 * it["sla_score"]
        + 0.15 * 0.0
        + 0.25 * it["resolution_score"]
        + 0.15 * 100.0
        + 0.15 * it["satisfaction_score"]
    )
    assert it["ice_k"] == pytest.approx(expected_ice_k)


def test_missing_kpis_drop_out_of_ice_k_and_small_satisfaction_is_hidden() -> None:
    kpis = compute_service_kpis(tickets_frame(), "2026-01", IndexConfig()).set_index(
        "provider_department"
    )
    hr = kpis.loc["HR"]
    assert hr["tickets_n"] == 1 and hr["satisfaction_n"] == 0
    assert np.isnan(hr["first_assignee_score"]) and np.isnan(hr["satisfaction_score"])
    # SLA, reopen and resolution all score 100, so their renormalised mean is 100.
    assert hr["ice_k"] == pytest.approx(100.0)
    few = compute_service_kpis(tickets_frame(), "2026-02", IndexConfig()).iloc[0]
    assert few["satisfaction_n"] == 1 and np.isnan(few["satisfaction_mean"])


def roster() -> pd.DataFrame:
    d = dt.date
    rows = [  # (id, department, hire, termination, type)
        ("e1", "Sales", d(2020, 1, 1), None, None),
        ("e2", "Sales", d(2020, 1, 1), d(2026, 3, 1), "voluntary"),  # leaves on day 1
        ("e3", "Sales", d(2021, 5, 1), d(2026, 3, 31), "involuntary"),  # leaves on the last day
        ("e4", "Sales", d(2026, 3, 1), None, None),  # hired on day 1: in the start headcount
        ("e5", "Sales", d(2026, 3, 10), d(2026, 3, 20), "voluntary"),  # in and out within March
        ("e6", "Sales", d(2026, 3, 31), None, None),  # hired on the last day
        ("e7", "Sales", d(2019, 1, 1), d(2026, 2, 28), None),  # left in February
        ("e8", "Legal", d(2026, 4, 2), None, None),  # Legal has nobody in March
    ]
    frame = pd.DataFrame(
        rows,
        columns=["employee_id", "department", "hire_date", "termination_date", "termination_type"],
    )
    frame["snapshot_period"] = "2026-04"
    frame["attrited"] = None
    return frame


def test_turnover_month_worked_by_hand() -> None:
    result = compute_turnover(roster(), ["2026-03"])
    assert list(result.columns) == table_columns("turnover")
    sales = result.set_index("department").loc["Sales"]
    # Start of 1 March: e1, e2, e3, e4 = 4. End of 31 March: e1, e4, e6 = 3 (e3 left that day).
    # Leavers in March: e2 (voluntary), e3 (involuntary), e5 (voluntary) = 3.
    assert (sales["headcount_start"], sales["headcount_end"]) == (4, 3)
    assert sales["headcount_avg"] == 3.5
    assert (sales["leavers"], sales["voluntary_leavers"], sales["involuntary_leavers"]) == (3, 2, 1)
    assert sales["turnover_pct"] == pytest.approx(100 * 3 / 3.5)  # 85.71
    assert sales["voluntary_turnover_pct"] == pytest.approx(100 * 2 / 3.5)
    assert sales["involuntary_turnover_pct"] == pytest.approx(100 * 1 / 3.5)
    assert np.isnan(sales["rolling_12m_turnover_pct"])  # only one month of history
    legal = result.set_index("department").loc["Legal"]
    assert legal["headcount_avg"] == 0 and np.isnan(legal["turnover_pct"])


def test_rolling_twelve_months_from_the_trusted_history() -> None:
    rng = np.random.default_rng(2)
    n = 400
    hire = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2500, n), unit="D")
    termination = hire + pd.to_timedelta(rng.integers(100, 3000, n), unit="D")
    termination = termination.where(termination < pd.Timestamp("2026-06-30"))
    employees = pd.DataFrame(
        {
            "snapshot_period": "2026-06",
            "employee_id": [f"e{i}" for i in range(n)],
            "department": rng.choice(["A", "B"], n),
            "hire_date": hire.date,
            "termination_date": [t.date() if pd.notna(t) else None for t in termination],
            "termination_type": rng.choice(["voluntary", "involuntary"], n),
            "attrited": None,
        }
    )
    months = [str(p) for p in pd.period_range("2025-01", "2026-06", freq="M")]
    result = compute_turnover(employees, months)
    a = result[result["department"] == "A"].set_index("period")
    assert a.loc[months[:11], "rolling_12m_turnover_pct"].isna().all()
    window = a.loc[months[6:18]]
    expected = 100 * window["leavers"].sum() / window["headcount_avg"].mean()
    assert a.loc["2026-06", "rolling_12m_turnover_pct"] == pytest.approx(expected)
    assert a.loc["2026-06", "retention_pct"] == pytest.approx(100 - expected)
    # Asking for June alone with the history trusted from January 2025 gives the same figure.
    alone = compute_turnover(employees, ["2026-06"], history_start="2025-01")
    assert alone.set_index("department").loc["A", "rolling_12m_turnover_pct"] == pytest.approx(
        expected
    )
    # Start of a month equals the end of the month before.
    assert (
        a["headcount_start"].iloc[1:].to_numpy() == a["headcount_end"].iloc[:-1].to_numpy()
    ).all()


def test_snapshot_roster_gives_attrited_over_headcount() -> None:
    employees = pd.DataFrame(
        {
            "snapshot_period": "2026-10",
            "employee_id": [f"e{i}" for i in range(10)],
            "department": ["R&D"] * 8 + ["HR"] * 2,
            "hire_date": None,
            "termination_date": None,
            "termination_type": None,
            "attrited": [True, True, False, False, False, False, False, False, False, False],
        }
    )
    result = compute_turnover(employees, ["2026-10"]).set_index("department")
    assert result.loc["R&D", "turnover_pct"] == pytest.approx(25.0)  # 2 of 8
    assert result.loc["R&D", "headcount_end"] == 6
    assert result.loc["HR", "turnover_pct"] == 0.0
    assert np.isnan(result.loc["R&D", "rolling_12m_turnover_pct"])
