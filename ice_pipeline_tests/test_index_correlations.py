"""Correlations (pairs, lags, within-department, too few pairs, BH) against scipy/statsmodels."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.correlations import compute_correlations
from ice_pipeline.index.scoring import table_columns

MONTHS = [str(p) for p in pd.period_range("2025-01", "2026-06", freq="M")]  # 18 months
DEPARTMENTS = ["Sales", "Ops", "Support"]


def organisation(seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    satisfaction = pd.DataFrame(
        [(m, d, rng.normal(60, 8)) for m in MONTHS for d in DEPARTMENTS],
        columns=["period", "consumer_department", "score"],
    )
    satisfaction["suppressed"] = False
    # Support's turnover two months later falls as its satisfaction rises.
    turnover = []
    for i, month in enumerate(MONTHS):
        for d in DEPARTMENTS:
            earlier = satisfaction[
                (satisfaction["period"] == MONTHS[max(i - 2, 0)])
                & (satisfaction["consumer_department"] == d)
            ]["score"].iloc[0]
            rate = 2.0 + rng.normal(0, 0.3) - (0.1 * (earlier - 60) if d == "Support" else 0)
            turnover.append((month, d, rate, 100.0, rate))
    turnover = pd.DataFrame(
        turnover, columns=["period", "department", "turnover_pct", "headcount_avg", "leavers"]
    )
    ice = pd.DataFrame(
        [(m, "Ops", rng.normal(55, 5)) for m in MONTHS],
        columns=["period", "provider_department", "ice"],
    )
    company = pd.DataFrame({"period": MONTHS, "ice": rng.normal(60, 3, len(MONTHS))})
    external = pd.DataFrame(
        [
            (m, bu, metric, rng.normal(30, 5), n)
            for m in MONTHS
            for bu, n in (("Retail", 100), ("Wealth", 300))
            for metric in ("nps", "csat_pct")
        ],
        columns=["period", "business_unit", "metric", "value", "n_responses"],
    )
    return {
        "consumer_satisfaction": satisfaction,
        "ice_scores": ice,
        "company_scores": company,
        "turnover": turnover,
        "external_metrics": external,
    }


def run(
    tables: dict[str, pd.DataFrame], as_of: str = "2026-06", config: IndexConfig | None = None
) -> pd.DataFrame:
    return compute_correlations(
        tables["consumer_satisfaction"],
        tables["ice_scores"],
        tables["company_scores"],
        tables["turnover"],
        tables["external_metrics"],
        as_of,
        config or IndexConfig(),
    )


def row(
    result: pd.DataFrame, analysis: str, lag: int, group: str = "all", y: str | None = None
) -> pd.Series:
    mask = (
        (result["analysis"] == analysis)
        & (result["lag_periods"] == lag)
        & (result["group_key"] == group)
    )
    if y:
        mask &= result["y_metric"] == y
    assert mask.sum() == 1
    return result[mask].iloc[0]


def lagged_pairs(
    tables: dict[str, pd.DataFrame], department: str, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    x = (
        tables["consumer_satisfaction"]
        .query("consumer_department == @department")["score"]
        .to_numpy()
    )
    y = tables["turnover"].query("department == @department")["turnover_pct"].to_numpy()
    return x[: len(x) - lag], y[lag:]


def test_per_department_lagged_correlation_equals_scipy() -> None:
    tables = organisation()
    result = run(tables)
    assert list(result.columns) == table_columns("correlations")
    x, y = lagged_pairs(tables, "Support", 2)
    found = row(result, "consumer_satisfaction_vs_turnover", 2, "Support")
    pearson = scipy_stats.pearsonr(x, y)
    assert found["n_pairs"] == 16 and found["status"] == "ok"
    assert found["pearson_r"] == pytest.approx(pearson.statistic)
    assert found["pearson_p"] == pytest.approx(pearson.pvalue)
    assert found["pearson_r_ci_low"] == pytest.approx(pearson.confidence_interval().low)
    assert found["spearman_rho"] == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert found["pearson_r"] < -0.6 and found["significant"]  # the planted effect
    assert not row(result, "consumer_satisfaction_vs_turnover", 2, "Sales")["significant"]


def test_pooled_and_within_department_analyses() -> None:
    tables = organisation()
    result = run(tables)
    xs, ys, groups = [], [], []
    for d in sorted(DEPARTMENTS):
        x, y = lagged_pairs(tables, d, 1)
        xs.append(x), ys.append(y), groups.append(np.full(len(x), d))
    x, y = np.concatenate(xs), np.concatenate(ys)
    pooled = row(result, "consumer_satisfaction_vs_turnover", 1)
    assert pooled["n_pairs"] == 51
    assert pooled["pearson_r"] == pytest.approx(scipy_stats.pearsonr(x, y).statistic)
    within = row(result, "consumer_satisfaction_vs_turnover_within", 1)
    x_dev = np.concatenate([a - a.mean() for a in xs])
    y_dev = np.concatenate([b - b.mean() for b in ys])
    r = scipy_stats.pearsonr(x_dev, y_dev).statistic
    assert within["pearson_r"] == pytest.approx(r)
    # Three department means were estimated: 51 - 3 - 1 = 47 degrees of freedom.
    t = r * np.sqrt(47 / (1 - r**2))
    assert within["pearson_p"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 47))


def test_company_ice_against_external_by_business_unit_and_weighted_total() -> None:
    tables = organisation()
    result = run(tables)
    external = tables["external_metrics"].query("metric == 'nps'")
    pivot = external.pivot(index="period", columns="business_unit", values="value")
    weighted = (pivot["Retail"] * 100 + pivot["Wealth"] * 300) / 400
    company = tables["company_scores"]["ice"].to_numpy()
    found = row(result, "company_ice_vs_external", 1, "all", "nps")
    assert found["pearson_r"] == pytest.approx(
        scipy_stats.pearsonr(company[:-1], weighted.to_numpy()[1:]).statistic
    )
    wealth = row(result, "company_ice_vs_external", 0, "Wealth", "csat_pct")
    csat = tables["external_metrics"].query("metric == 'csat_pct' and business_unit == 'Wealth'")
    assert wealth["pearson_r"] == pytest.approx(
        scipy_stats.pearsonr(company, csat["value"].to_numpy()).statistic
    )


def test_bh_q_spans_every_test_of_the_run() -> None:
    result = run(organisation())
    tested = result["status"] == "ok"
    expected = multipletests(result.loc[tested, "pearson_p"], method="fdr_bh")[1]
    assert result.loc[tested, "bh_q"].to_numpy() == pytest.approx(expected)
    assert (result.loc[tested, "significant"] == (result.loc[tested, "bh_q"] < 0.05)).all()
    assert len(result) == 4 * (1 + 3 + 1 + 1 + 1 + 2 * 3)  # lags x analyses and groups


def test_fewer_than_eight_pairs_is_insufficient_data_and_suppressed_cells_are_not_used() -> None:
    tables = organisation()
    satisfaction = tables["consumer_satisfaction"]
    # Hide Support in all but 10 months (suppressed cells are NULL).
    hidden = (satisfaction["consumer_department"] == "Support") & (
        satisfaction["period"] > MONTHS[9]
    )
    satisfaction.loc[hidden, ["score", "suppressed"]] = [np.nan, True]
    turnover = tables["turnover"]
    tables["turnover"] = turnover[
        ~((turnover["department"] == "Support") & (turnover["period"] > MONTHS[9]))
    ]
    result = run(tables)
    lag3 = row(result, "consumer_satisfaction_vs_turnover", 3, "Support")
    assert lag3["n_pairs"] == 7 and lag3["status"] == "insufficient data"
    assert lag3[["pearson_r", "pearson_p", "spearman_rho", "bh_q"]].isna().all()
    assert pd.isna(lag3["significant"])
    lag2 = row(result, "consumer_satisfaction_vs_turnover", 2, "Support")
    assert lag2["n_pairs"] == 8 and lag2["status"] == "ok"


def test_as_of_limits_the_periods_used() -> None:
    result = run(organisation(), as_of="2025-12")
    assert row(result, "consumer_satisfaction_vs_turnover", 0, "Sales")["n_pairs"] == 12
    assert (result["period"] == "2025-12").all()


def test_quarterly_survey_against_monthly_turnover() -> None:
    tables = organisation()
    rng = np.random.default_rng(4)
    quarters = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    tables["consumer_satisfaction"] = pd.DataFrame(
        [(q, d, rng.normal(60, 5)) for q in quarters for d in DEPARTMENTS],
        columns=["period", "consumer_department", "score"],
    )
    result = run(tables)
    pooled = row(result, "consumer_satisfaction_vs_turnover", 0)
    turnover = tables["turnover"].assign(
        quarter=lambda f: pd.PeriodIndex(f["period"], freq="M").asfreq("Q")
    )
    grouped = turnover.groupby(["quarter", "department"])
    quarterly = (100 * grouped["leavers"].sum() / grouped["headcount_avg"].mean()).rename("y")
    x = tables["consumer_satisfaction"].assign(
        quarter=pd.PeriodIndex(
            [q.replace("-", "") for q in quarters for _ in DEPARTMENTS], freq="Q"
        )
    )
    merged = x.merge(
        quarterly.reset_index(),
        left_on=["quarter", "consumer_department"],
        right_on=["quarter", "department"],
    )
    assert pooled["n_pairs"] == 18
    assert pooled["pearson_r"] == pytest.approx(
        scipy_stats.pearsonr(merged["score"], merged["y"]).statistic
    )
