"""Participation: how many of the people a score speaks for actually answered.

Belongs here: the response rate per consumer department and company-wide, as distinct
respondents of the period divided by the department's average headcount in the HR roster for the
same period (``turnover.headcount_avg``), under the same k-rule as every other figure, and the
flag for a low rate. Reading the warehouse and wording do not belong here.

A response rate is a ratio of two counts of the whole population, not an estimate from a sample,
so it carries its n (respondents and headcount) and no interval. Respondent counts are those the
index already publishes (``consumer_satisfaction.n_respondents``, ``company_scores``); a
department whose count is withheld (fewer than k respondents, or protecting such a group) has its
rate withheld too, so participation reveals no count the scores do not.
"""

import numpy as np
import pandas as pd

# A rate below this is flagged next to the scores it qualifies: a score from a small share of a
# department may not speak for it (survey vendors commonly flag below 30-40%).
LOW_RESPONSE_RATE_PCT = 30.0


def response_rates(
    period: str,
    consumer_satisfaction: pd.DataFrame | None,
    company_scores: pd.DataFrame | None,
    turnover: pd.DataFrame | None,
    k: int,
    low_pct: float = LOW_RESPONSE_RATE_PCT,
) -> pd.DataFrame:
    """One row per consumer department of ``period`` and a last row ``department = None``
    for the company: respondents, headcount, rate_pct (NaN when withheld or no headcount),
    withheld, low.
    """
    columns = ["department", "respondents", "headcount", "rate_pct", "withheld", "low"]
    if consumer_satisfaction is None or consumer_satisfaction.empty:
        return pd.DataFrame(columns=columns)
    consumers = consumer_satisfaction[consumer_satisfaction["period"] == period]
    headcount = (
        turnover[turnover["period"] == period].set_index("department")["headcount_avg"]
        if turnover is not None and not turnover.empty
        else pd.Series(dtype=float)
    )
    rows = []
    for _, row in consumers.sort_values("consumer_department").iterrows():
        department = str(row["consumer_department"])
        n = row["n_respondents"]
        withheld = bool(row["suppressed"]) or pd.isna(n) or int(n) < k
        heads = float(headcount.get(department, np.nan))
        rows.append((department, None if withheld else int(n), heads, withheld))
    company = (
        company_scores[company_scores["period"] == period]
        if company_scores is not None and not company_scores.empty
        else pd.DataFrame()
    )
    if not company.empty:
        n = company["n_respondents"].iloc[0]
        withheld = pd.isna(n) or int(n) < k
        total = float(headcount.sum()) if not headcount.empty else np.nan
        rows.append((None, None if withheld else int(n), total, withheld))
    frame = pd.DataFrame(rows, columns=["department", "respondents", "headcount", "withheld"])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = 100 * frame["respondents"].astype(float) / frame["headcount"].astype(float)
    frame["rate_pct"] = rate.where((frame["headcount"] > 0) & ~frame["withheld"])
    frame["low"] = frame["rate_pct"] < low_pct
    return frame[columns]
