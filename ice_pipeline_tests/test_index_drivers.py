"""Key drivers (issue 14): Shapley R-squared equals every-subset regressions with statsmodels.

The independent computation fits an OLS regression (statsmodels) for every subset of the
drivers, takes each R-squared, and averages the marginal contributions over all orders of entry
(permutations, not the subset-weight formula the module uses). A fixture plants one strong
driver; the analysis must rank it first with an interval that excludes the others' estimates.
"""

import time
from itertools import combinations, permutations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ice_pipeline.errors import ConfigError
from ice_pipeline.index import IndexConfig, find_disclosures
from ice_pipeline.index.drivers import COMPANY, DriverSettings, key_drivers, relative_importance

DIMENSIONS = ["communication", "effort", "expertise", "quality", "responsiveness"]
PLANTED = "quality"


def _shapley_by_statsmodels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    r2 = {(): 0.0}
    for size in range(1, p + 1):
        for subset in combinations(range(p), size):
            fit = sm.OLS(y, sm.add_constant(x[:, list(subset)])).fit()
            r2[subset] = fit.rsquared
    shares = np.zeros(p)
    orders = list(permutations(range(p)))
    for order in orders:
        entered: tuple[int, ...] = ()
        for j in order:
            after = tuple(sorted(entered + (j,)))
            shares[j] += r2[after] - r2[entered]
            entered = after
    return shares / len(orders)


def _survey(n_respondents: int, providers: list[str], seed: int) -> pd.DataFrame:
    """Ratings where the overall item follows PLANTED's own variation much more than the rest."""
    rng = np.random.default_rng(seed)
    rows = []
    for respondent in range(n_respondents):
        for provider in rng.choice(providers, size=min(2, len(providers)), replace=False):
            latent = rng.normal(65, 10)
            own = {d: rng.normal(0, 8) for d in DIMENSIONS}
            overall = latent + 0.9 * own[PLANTED] + 0.15 * own["effort"] + rng.normal(0, 4)
            for dimension in DIMENSIONS:
                if rng.random() < 0.03:
                    continue  # "not applicable"
                rows.append((f"r{respondent}", provider, dimension, latent + own[dimension]))
            rows.append((f"r{respondent}", provider, "overall", overall))
    return pd.DataFrame(
        rows, columns=["respondent_id", "provider_department", "dimension", "score"]
    )


def test_shapley_shares_equal_every_subset_regressions_with_statsmodels():
    rng = np.random.default_rng(7)
    n = 400
    common = rng.normal(size=n)
    x = np.column_stack([common + rng.normal(size=n) * s for s in (0.5, 1.0, 1.5, 0.8)])
    y = 0.8 * x[:, 0] + 0.3 * x[:, 2] + rng.normal(size=n)
    result = relative_importance(x, y, DriverSettings(bootstrap_replicates=50))
    expected = _shapley_by_statsmodels(x, y)
    full = sm.OLS(y, sm.add_constant(x)).fit().rsquared
    np.testing.assert_allclose(result["shares"], expected, atol=1e-10)
    assert result["r_squared"] == pytest.approx(full, abs=1e-10)
    assert result["shares"].sum() == pytest.approx(full, abs=1e-10)
    np.testing.assert_allclose(result["importance_pct"], 100 * expected / full, atol=1e-8)
    assert (result["ci_low"] <= result["importance_pct"]).all()
    assert (result["importance_pct"] <= result["ci_high"]).all()


def test_key_drivers_table_on_a_survey_fixture_matches_statsmodels_and_finds_the_planted_driver():
    providers = ["IT", "HR", "Finance"]
    ratings = _survey(600, providers, seed=3)
    table = key_drivers(ratings, "2026-10", k=5, settings=DriverSettings(bootstrap_replicates=100))
    assert set(table["provider_department"]) == {COMPANY, *providers}
    assert set(table["dimension"]) == set(DIMENSIONS)  # the outcome is not its own driver
    assert (table["outcome"] == "overall").all() and (table["outcome_source"] == "item").all()
    assert not table["suppressed"].any()

    # Independent: IT's complete respondents, regressions on every subset with statsmodels.
    it = ratings[ratings["provider_department"] == "IT"]
    wide = it.pivot_table(index="respondent_id", columns="dimension", values="score").dropna()
    expected = _shapley_by_statsmodels(wide[DIMENSIONS].to_numpy(), wide["overall"].to_numpy())
    rows = table[table["provider_department"] == "IT"].set_index("dimension").loc[DIMENSIONS]
    assert (rows["n_respondents"] == len(wide)).all()
    np.testing.assert_allclose(
        rows["importance_pct"].to_numpy(), 100 * expected / expected.sum(), atol=1e-8
    )

    for provider in [COMPANY, *providers]:
        group = table[table["provider_department"] == provider].set_index("dimension")
        top = group["importance_pct"].idxmax()
        assert top == PLANTED, (provider, group["importance_pct"].to_dict())
        others = group.drop(PLANTED)
        assert group.loc[PLANTED, "importance_pct_ci_low"] > others["importance_pct"].max()


def test_small_groups_are_not_published_and_the_fallback_outcome_is_named():
    ratings = _survey(40, ["IT", "HR", "Finance"], seed=5)  # ~27 per provider, 40 company-wide
    table = key_drivers(ratings, "2026-10", k=5, settings=DriverSettings(bootstrap_replicates=20))
    by_group = table.groupby("provider_department")["suppressed"].all()
    assert not by_group[COMPANY] and by_group["IT"] and by_group["HR"] and by_group["Finance"]
    assert table.loc[table["suppressed"], "importance_pct"].isna().all()
    # The disclosure checker of the index finds nothing in what is published.
    assert find_disclosures({"key_drivers": table}, 5) == []
    leaky = table.copy()
    leaky.loc[leaky["suppressed"], "importance_pct"] = 50.0
    assert find_disclosures({"key_drivers": leaky}, 5)  # and would catch a leak

    without_item = ratings[ratings["dimension"] != "overall"]
    settings = DriverSettings(bootstrap_replicates=20)
    fallback = key_drivers(without_item, "2026-10", k=5, settings=settings)
    published = fallback[~fallback["suppressed"]]
    assert not published.empty and (published["outcome_source"] == "mean of dimensions").all()
    assert fallback.loc[fallback["suppressed"], ["outcome", "n_respondents"]].isna().all().all()
    assert set(fallback["dimension"]) == set(DIMENSIONS)


def test_the_intervals_do_not_depend_on_the_order_of_the_rows():
    """DuckDB and PostgreSQL return a period's ratings in different orders: same table anyway."""
    ratings = _survey(120, ["IT", "HR"], seed=9)
    settings = DriverSettings(bootstrap_replicates=50)
    table = key_drivers(ratings, "2026-10", k=5, settings=settings)
    shuffled = key_drivers(
        ratings.sample(frac=1, random_state=4), "2026-10", k=5, settings=settings
    )
    assert table["importance_pct_ci_low"].notna().any()
    pd.testing.assert_frame_equal(table, shuffled)


def test_the_bootstrap_subsample_keeps_large_groups_cheap():
    rng = np.random.default_rng(11)
    n = 60_000
    x = rng.normal(size=(n, 5)) + rng.normal(size=(n, 1))
    y = x @ np.array([1.0, 0.2, 0.2, 0.2, 0.2]) + rng.normal(size=n)
    mark = time.perf_counter()
    result = relative_importance(x, y, DriverSettings())
    seconds = time.perf_counter() - mark
    assert result["importance_pct"].argmax() == 0
    assert seconds < 5, f"{seconds:.1f} s for one group of 60,000"


def test_the_settings_come_from_the_index_section():
    config = IndexConfig.from_section(
        {"key_driver_outcome": "overall_satisfaction", "key_driver_min_respondents": 40}
    )
    assert (config.key_driver_outcome, config.key_driver_min_respondents) == (
        "overall_satisfaction",
        40,
    )
    with pytest.raises(ConfigError, match="key_driver_min_respondents"):
        IndexConfig.from_section({"key_driver_min_respondents": 3})
    with pytest.raises(ConfigError, match="key_driver_outcome"):
        IndexConfig.from_section({"key_driver_outcome": 5})
