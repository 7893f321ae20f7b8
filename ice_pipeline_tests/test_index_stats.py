"""The statistical formulas of ice_pipeline.index.stats against scipy and statsmodels."""

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from ice_pipeline.index.stats import (
    benjamini_hochberg,
    correlation,
    group_moments,
    t_interval,
    welch_interval,
    wilson_interval,
)


def test_group_moments_match_numpy_per_group() -> None:
    values = np.array([10.0, 20.0, 60.0, 5.0, 5.0, 100.0])
    groups = np.array([0, 0, 0, 1, 1, 2])
    n, mean, sd = group_moments(groups, values, 3)
    assert n.tolist() == [3, 2, 1]
    assert mean == pytest.approx([30.0, 5.0, 100.0])
    assert sd[0] == pytest.approx(np.std([10, 20, 60], ddof=1))
    assert sd[1] == 0.0
    assert np.isnan(sd[2])  # one observation has no spread


def test_t_interval_equals_scipy_one_sample_interval() -> None:
    sample = np.array([83.3, 25.0, 87.5, 75.0, 0.0, 61.2])
    low, high = t_interval(
        np.array([sample.mean()]), np.array([sample.std(ddof=1)]), np.array([len(sample)])
    )
    expected = scipy_stats.ttest_1samp(sample, 0).confidence_interval(0.95)
    assert low[0] == pytest.approx(expected.low)
    assert high[0] == pytest.approx(expected.high)


def test_t_interval_is_undefined_for_one_respondent() -> None:
    low, high = t_interval(np.array([50.0]), np.array([np.nan]), np.array([1]))
    assert np.isnan(low[0]) and np.isnan(high[0])


@pytest.mark.parametrize(("successes", "n"), [(0, 5), (3, 5), (5, 5), (17, 40), (1, 1)])
def test_wilson_interval_equals_binomtest(successes: int, n: int) -> None:
    low, high = wilson_interval(np.array([successes / n]), np.array([n]))
    expected = scipy_stats.binomtest(successes, n).proportion_ci(0.95, method="wilson")
    assert low[0] == pytest.approx(expected.low, abs=1e-12)
    assert high[0] == pytest.approx(expected.high, abs=1e-12)


def test_welch_interval_equals_scipy_ttest_ind() -> None:
    rng = np.random.default_rng(7)
    now = rng.normal(60, 15, 40)
    before = rng.normal(52, 25, 13)
    difference, low, high = welch_interval(
        np.array([now.mean()]),
        np.array([now.std(ddof=1)]),
        np.array([len(now)]),
        np.array([before.mean()]),
        np.array([before.std(ddof=1)]),
        np.array([len(before)]),
    )
    expected = scipy_stats.ttest_ind(now, before, equal_var=False).confidence_interval(0.95)
    assert difference[0] == pytest.approx(now.mean() - before.mean())
    assert low[0] == pytest.approx(expected.low)
    assert high[0] == pytest.approx(expected.high)


def test_correlation_equals_scipy_pearson_and_spearman() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=15)
    y = 0.6 * x + rng.normal(size=15)
    y[3] = y[4]  # a tie, so Spearman's ranks are averaged
    figures = correlation(x, y)
    pearson = scipy_stats.pearsonr(x, y)
    spearman = scipy_stats.spearmanr(x, y)
    interval = pearson.confidence_interval(0.95)
    assert figures["pearson_r"] == pytest.approx(pearson.statistic)
    assert figures["pearson_p"] == pytest.approx(pearson.pvalue)
    assert figures["pearson_r_ci_low"] == pytest.approx(interval.low)
    assert figures["pearson_r_ci_high"] == pytest.approx(interval.high)
    assert figures["spearman_rho"] == pytest.approx(spearman.statistic)
    assert figures["spearman_p"] == pytest.approx(spearman.pvalue)


def test_correlation_with_lost_degrees_of_freedom_uses_the_effective_n() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    y = np.array([2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0, 10.0, 9.0])
    figures = correlation(x, y, df_lost=3)
    r = scipy_stats.pearsonr(x, y).statistic
    n_effective = 10 - 3
    t = r * np.sqrt((n_effective - 2) / (1 - r**2))
    assert figures["pearson_r"] == pytest.approx(r)
    assert figures["pearson_p"] == pytest.approx(2 * scipy_stats.t.sf(t, n_effective - 2))
    assert figures["pearson_r_ci_low"] == pytest.approx(
        np.tanh(np.arctanh(r) - 1.959963984540054 / np.sqrt(n_effective - 3))
    )


def test_benjamini_hochberg_equals_statsmodels_and_skips_missing() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.2, 0.001, 0.04, 0.9])
    q = benjamini_hochberg(p)
    tested = ~np.isnan(p)
    expected = multipletests(p[tested], method="fdr_bh")[1]
    assert np.isnan(q[2])
    assert q[tested] == pytest.approx(expected)


def test_round_significant_makes_sums_in_another_order_equal() -> None:
    """Equal means summed in different orders differ in the last bits; ranks must not see it."""
    from scipy.stats import spearmanr

    from ice_pipeline.index.stats import round_significant

    a = np.array([61.24999999999999, 61.25000000000001, np.nan, 0.0, -3.3e-7, 1e-300, np.inf])
    rounded = round_significant(a)
    assert rounded[0] == rounded[1] == 61.25
    assert np.isnan(rounded[2]) and rounded[3] == 0.0 and rounded[4] == -3.3e-7
    assert rounded[5] == 1e-300 and rounded[6] == np.inf
    x = np.array([1.0, 2.0, 3.0, 4.0])
    noisy = np.array([10.0, 20.000000000000004, 19.999999999999996, 30.0])  # a tie, broken by noise
    exact = np.array([10.0, 20.0, 20.0, 30.0])
    assert spearmanr(x, noisy)[0] != spearmanr(x, exact)[0]
    assert spearmanr(x, round_significant(noisy))[0] == spearmanr(x, exact)[0]
