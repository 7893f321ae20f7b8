"""Vectorised statistical formulas the index uses: group moments and interval estimates.

Each function takes numpy arrays (one element per group) and returns arrays, so a whole table
is computed in one call with no loop over groups or respondents. The formulas are written out
here, not delegated, so the tests can check them against scipy and statsmodels independently.
Where an interval is undefined (too few observations, no variation) the result is NaN, which
becomes NULL in the warehouse.
"""

import numpy as np

# scipy is imported inside the functions that use it (~1 s): importing the index must stay cheap.


SIGNIFICANT_DIGITS = 10


def round_significant(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits (NaN and infinities kept).

    Sums taken in a different order (DuckDB's parallel aggregation, PostgreSQL against DuckDB)
    differ in the last bits: two means that are equal come out as 61.24999999999999 and
    61.25000000000001. Rounding to ten significant digits makes them equal again, so ties stay
    ties (ranks, Spearman's rho) and a figure prints the same whichever engine summed it.
    """
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    # Magnitudes near the float limits are left alone: the scale would overflow (none of the
    # index's figures comes near them).
    finite = np.isfinite(magnitude) & (np.abs(magnitude) < 290)
    scale = np.where(finite, 10.0 ** (digits - 1 - np.where(finite, magnitude, 0.0)), 1.0)
    return np.where(finite, np.round(values * scale) / scale, values)


def group_moments(
    group_ids: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and sample standard deviation (ddof=1) of ``values`` per integer group id.

    Two passes (mean first, then squared deviations) keep the variance exact for 0-100 scores.
    """
    count = np.bincount(group_ids, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group_ids, weights=values, minlength=n_groups) / count
        deviation_sq = np.bincount(
            group_ids, weights=(values - mean[group_ids]) ** 2, minlength=n_groups
        )
        sd = np.sqrt(deviation_sq / (count - 1))
    sd[count < 2] = np.nan
    return count, mean, sd


def t_interval(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval for a mean: mean +- t(1-a/2, n-1) * sd / sqrt(n); NaN for n < 2."""
    from scipy import stats as scipy_stats

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(n >= 2, n - 1, np.nan)
        half = scipy_stats.t.ppf(0.5 + level / 2, df) * np.asarray(sd, dtype=float) / np.sqrt(n)
    return mean - half, mean + half


def wilson_interval(
    proportion: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion observed on n units; NaN for n = 0."""
    from scipy import stats as scipy_stats

    p = np.asarray(proportion, dtype=float)
    n = np.asarray(n, dtype=float)
    z = scipy_stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def welch_interval(
    mean_now: np.ndarray,
    sd_now: np.ndarray,
    n_now: np.ndarray,
    mean_before: np.ndarray,
    sd_before: np.ndarray,
    n_before: np.ndarray,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two means with a Welch (unequal variances) interval.

    Returns (difference, low, high). The degrees of freedom are Welch-Satterthwaite's. The
    interval is NaN when either side has fewer than 2 observations or both have no spread.
    """
    from scipy import stats as scipy_stats

    n_now = np.asarray(n_now, dtype=float)
    n_before = np.asarray(n_before, dtype=float)
    difference = np.asarray(mean_now, dtype=float) - np.asarray(mean_before, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_now = np.asarray(sd_now, dtype=float) ** 2 / n_now
        var_before = np.asarray(sd_before, dtype=float) ** 2 / n_before
        se = np.sqrt(var_now + var_before)
        df = (var_now + var_before) ** 2 / (
            var_now**2 / (n_now - 1) + var_before**2 / (n_before - 1)
        )
        half = scipy_stats.t.ppf(0.5 + level / 2, df) * se
    undefined = (n_now < 2) | (n_before < 2) | ~(se > 0)
    low = np.where(undefined, np.nan, difference - half)
    high = np.where(undefined, np.nan, difference + half)
    return difference, low, high


def correlation(
    x: np.ndarray, y: np.ndarray, df_lost: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Pearson and Spearman coefficients, two-sided p-values, a Fisher-z interval for Pearson's r.

    ``df_lost`` is the number of extra parameters already fitted to the data (G - 1 group means
    for a within-group analysis); the effective sample size is ``n - df_lost``, which widens the
    interval and enlarges p. With ``df_lost = 0`` every figure equals scipy's pearsonr/spearmanr.
    """
    from scipy import stats as scipy_stats

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n_effective = len(x) - df_lost
    pearson_r = _pearson(x, y)
    # Ranked after rounding to 10 significant digits: equal published values stay tied whatever
    # order the engine summed them in (a tie broken by the last bit moved rho by 0.04).
    spearman_rho = _pearson(
        scipy_stats.rankdata(round_significant(x)), scipy_stats.rankdata(round_significant(y))
    )
    z = scipy_stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        fisher = np.arctanh(np.clip(pearson_r, -1 + 1e-15, 1 - 1e-15))
        se = 1 / np.sqrt(n_effective - 3)
    return {
        "pearson_r": pearson_r,
        "pearson_r_ci_low": float(np.tanh(fisher - z * se)) if n_effective > 3 else np.nan,
        "pearson_r_ci_high": float(np.tanh(fisher + z * se)) if n_effective > 3 else np.nan,
        "pearson_p": _t_test_p(pearson_r, n_effective),
        "spearman_rho": spearman_rho,
        "spearman_p": _t_test_p(spearman_rho, n_effective),
    }


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx = x - x.mean()
    dy = y - y.mean()
    denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    if not denominator > 0:
        return np.nan
    return float(np.clip((dx * dy).sum() / denominator, -1.0, 1.0))


def _t_test_p(r: float, n: float) -> float:
    """Two-sided p of H0: rho = 0 via t = r sqrt((n-2)/(1-r^2)) on n-2 degrees of freedom."""
    from scipy import stats as scipy_stats

    if not np.isfinite(r) or n <= 2:
        return np.nan
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return float(2 * scipy_stats.t.sf(abs(t), n - 2))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q); NaN inputs stay NaN and do not count as tests."""
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="mergesort")]
    scaled = p[order] * m / np.arange(1, m + 1)
    # q_(i) = min over j >= i of p_(j) m / j: a running minimum from the largest p down.
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q
