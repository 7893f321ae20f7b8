"""Participation (issue 14): response rate = respondents / HR headcount, under the k-rule."""

import pandas as pd

from ice_pipeline.index.participation import response_rates
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view

PERIOD = "2026-10"


def _tables() -> dict[str, pd.DataFrame]:
    consumers = pd.DataFrame(
        {
            "period": PERIOD,
            "consumer_department": ["Sales", "Ops", "Legal", "Tiny"],
            "n_respondents": [60, 12, 40, None],
            "suppressed": [False, False, False, True],
        }
    )
    company = pd.DataFrame({"period": [PERIOD], "n_respondents": [115]})
    turnover = pd.DataFrame(
        {
            "period": PERIOD,
            "department": ["Sales", "Ops", "Legal", "Tiny", "Board"],
            "headcount_avg": [100.0, 80.0, 0.0, 3.0, 17.0],
        }
    )
    return {"consumer_satisfaction": consumers, "company_scores": company, "turnover": turnover}


def test_response_rates_per_department_and_company():
    tables = _tables()
    frame = response_rates(
        PERIOD,
        tables["consumer_satisfaction"],
        tables["company_scores"],
        tables["turnover"],
        k=5,
        low_pct=30.0,
    ).set_index("department", drop=False)
    assert frame.loc["Sales", "rate_pct"] == 60.0 and not frame.loc["Sales", "low"]
    assert frame.loc["Ops", "rate_pct"] == 15.0 and frame.loc["Ops", "low"]
    assert pd.isna(frame.loc["Legal", "rate_pct"])  # no headcount: no rate, not "infinite"
    tiny = frame.loc["Tiny"]
    assert tiny["withheld"] and pd.isna(tiny["respondents"]) and pd.isna(tiny["rate_pct"])
    company = frame[frame["department"].isna()].iloc[0]
    assert company["headcount"] == 200.0 and company["rate_pct"] == 57.5


def test_participation_is_shown_and_low_rates_are_flagged_next_to_the_scores():
    tables = sample_tables(PERIOD)
    turnover = tables["turnover"].copy()
    # Operations: make its headcount large so its rate is low.
    turnover.loc[
        (turnover["period"] == PERIOD) & (turnover["department"] == "Operations"), "headcount_avg"
    ] = 10_000.0
    tables["turnover"] = turnover
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    assert view.participation.low_departments == ("Operations",)
    assert "Operations" in view.participation.sentence
    assert view.participation.by_department["Operations"].rate_text.endswith("of 10000 staff)")
    html = render_report(view, audience="executives").html
    assert "low response rate" in html and "Response rate" in html
    assert "(low)" in html
