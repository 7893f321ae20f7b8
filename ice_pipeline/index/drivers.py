"""Key-driver analysis: how much each dimension accounts for overall satisfaction.

Belongs here: the relative importance of the survey dimensions for an outcome (Shapley
decomposition of R-squared, also called dominance analysis's "general dominance"), its bootstrap
interval, per provider department and company-wide, and the rule for when it may be published.
Building the per-respondent matrix (from the warehouse, in SQL) is :mod:`.driver_matrix`'s;
reading the warehouse and drawing the importance-vs-performance quadrant do not belong here.

The method. For a linear regression of the outcome on p dimensions, the Shapley share of
dimension j is the average, over every order in which the dimensions could be added, of the
increase in R-squared when j is added: sum over subsets S without j of
|S|! (p - |S| - 1)! / p! x (R2(S + j) - R2(S)). The shares add up to the full model's R-squared,
and unlike regression weights they are not distorted by the dimensions being correlated with
each other (they always are: a respondent who likes a provider rates it well on everything).
R-squared of every subset comes from the correlation matrix (R2(S) = r_yS' R_SS^-1 r_yS), so
2^p small solves replace 2^p regressions; p is 4-8 in practice.

The data. Per provider, one row per respondent who rated it: their score (0-100) on each
dimension and on the outcome. Company-wide, one row per respondent: the mean of their scores
over the providers they rated (respondent first, as everywhere in the index). Only respondents
who answered every dimension and the outcome count ("not applicable" leaves gaps).

The outcome. The dimension named ``outcome`` (IndexConfig.key_driver_outcome, "overall" by
default: an "Overall, I am satisfied with ..." item) when the survey has it; the drivers are then
the other dimensions. Without it the outcome is the respondent's mean of all dimensions, stated as
``outcome_source = 'mean of dimensions'``: a weaker reading, since each dimension is then part of
the outcome it explains.

Uncertainty. A percentile bootstrap over respondents (``bootstrap_replicates`` resamples). To keep
an enterprise month cheap (~100k respondents) the bootstrap resamples a random subsample of at
most ``bootstrap_max_rows`` rows and rescales nothing: the interval is then that of a sample of
that size, i.e. wider than the full data's, never narrower (conservative). The point estimate
always uses every row.

Publication. Only groups of at least ``min_respondents`` complete respondents (and never fewer
than k) are published; smaller groups get rows with ``suppressed`` true and nothing else (no
outcome, no count, no numbers). The
shares are non-linear functions of the whole group's answers, so neither they nor their
differences between groups reveal a subgroup's mean; dimension scores for the quadrant are
taken from ``dimension_scores`` (already suppressed), not recomputed here.
"""

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd

from ice_pipeline.index.driver_matrix import DriverMatrix, matrix_from_ratings

COMPANY = "(company)"  # provider_department of the company-wide rows
KEY_DRIVER_COLUMNS = [
    "period",
    "provider_department",
    "dimension",
    "outcome",
    "outcome_source",
    "n_respondents",
    "r_squared",
    "importance_pct",
    "importance_pct_ci_low",
    "importance_pct_ci_high",
    "suppressed",
]


@dataclass(frozen=True)
class DriverSettings:
    """Settings of the key-driver analysis (defaults are the method of record)."""

    outcome: str = "overall"
    min_respondents: int = 30
    bootstrap_replicates: int = 200
    bootstrap_max_rows: int = 3000
    level: float = 0.95
    seed: int = 20261201


def subset_r2(correlation: np.ndarray) -> np.ndarray:
    """R-squared of every subset of predictors, indexed by bitmask (bit j = predictor j).

    ``correlation`` is (..., p + 1, p + 1) with the outcome last; leading axes are batches
    (bootstrap replicates). Returns (..., 2**p); the empty subset has R-squared 0.
    """
    p = correlation.shape[-1] - 1
    result = np.zeros(correlation.shape[:-2] + (2**p,))
    for size in range(1, p + 1):
        for subset in combinations(range(p), size):
            index = np.array(subset)
            r_xx = correlation[..., index[:, None], index[None, :]]
            r_xy = correlation[..., index, p]
            beta = np.linalg.solve(r_xx, r_xy[..., None])[..., 0]
            result[..., sum(1 << j for j in subset)] = (beta * r_xy).sum(axis=-1)
    return result


def shapley_shares(r2_by_subset: np.ndarray) -> np.ndarray:
    """Each predictor's Shapley share of R-squared, (..., p); the shares sum to R2 of all p."""
    subsets = r2_by_subset.shape[-1]
    p = subsets.bit_length() - 1
    shares = np.zeros(r2_by_subset.shape[:-1] + (p,))
    for j in range(p):
        bit = 1 << j
        for mask in range(subsets):
            if mask & bit:
                continue
            size = bin(mask).count("1")
            weight = factorial(size) * factorial(p - size - 1) / factorial(p)
            shares[..., j] += weight * (r2_by_subset[..., mask | bit] - r2_by_subset[..., mask])
    return shares


def _correlation(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Correlation matrix of the columns of ``values`` (n, q); with (B, n) weights, (B, q, q)."""
    if weights is None:
        return np.corrcoef(values, rowvar=False)
    total = weights.sum(axis=1, keepdims=True)
    mean = (weights @ values) / total  # (B, q)
    centred_products = np.einsum("bn,ni,nj->bij", weights, values, values) / total[..., None]
    covariance = centred_products - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.einsum("bii->bi", covariance), 1e-12, None))
    return covariance / (sd[:, :, None] * sd[:, None, :])


def relative_importance(
    predictors: np.ndarray, outcome: np.ndarray, settings: DriverSettings
) -> dict[str, np.ndarray | float]:
    """Shapley shares with a bootstrap interval for one group (complete rows only).

    Returns ``r_squared``, ``shares`` (p), ``importance_pct`` (share / R2 x 100, p) and its
    ``ci_low`` / ``ci_high`` (p).
    """
    values = np.column_stack([predictors, outcome]).astype(float)
    r2 = subset_r2(_correlation(values))
    shares = shapley_shares(r2)
    r_squared = float(r2[-1])
    rng = np.random.default_rng(settings.seed)
    rows = values
    if len(rows) > settings.bootstrap_max_rows:
        rows = rows[rng.choice(len(rows), settings.bootstrap_max_rows, replace=False)]
    counts = rng.multinomial(
        len(rows), np.full(len(rows), 1 / len(rows)), size=settings.bootstrap_replicates
    ).astype(float)
    boot_r2 = subset_r2(_correlation(rows, counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_pct = 100 * shapley_shares(boot_r2) / boot_r2[:, -1:]
    tail = 100 * (1 - settings.level) / 2
    low, high = np.nanpercentile(boot_pct, [tail, 100 - tail], axis=0)
    return {
        "r_squared": r_squared,
        "shares": shares,
        "importance_pct": 100 * shares / r_squared if r_squared > 0 else shares * np.nan,
        "ci_low": low,
        "ci_high": high,
    }


def _respondent_means(matrix: DriverMatrix, columns: list[int]) -> np.ndarray:
    """Company-wide rows: each respondent's mean score per dimension over the providers rated."""
    respondents = int(matrix.respondents.max()) + 1
    means = np.empty((respondents, len(columns)))
    for out, column in enumerate(columns):
        scores = matrix.scores[:, column]
        answered = ~np.isnan(scores)
        # bincount adds in row order (a respondent's providers in sorted order), as np.add.at
        # did: the same sums to the last bit, whichever engine built the matrix.
        sums = np.bincount(matrix.respondents, np.where(answered, scores, 0.0), respondents)
        counts = np.bincount(matrix.respondents, answered.astype(float), respondents)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[:, out] = sums / counts
    return means


def _groups(matrix: DriverMatrix, columns: list[int]) -> list[tuple[str, np.ndarray]]:
    """(provider_department, score rows) of the company (respondent means), then each provider
    in sorted order; a group's rows stay in respondent order (the bootstrap draws by position).
    """
    groups = [(COMPANY, _respondent_means(matrix, columns))]
    order = np.argsort(matrix.providers, kind="stable")  # stable: respondent order kept
    bounds = np.searchsorted(matrix.providers[order], np.arange(len(matrix.provider_names) + 1))
    scores = matrix.scores[:, columns]
    for code, provider in enumerate(matrix.provider_names):
        groups.append((provider, scores[order[bounds[code] : bounds[code + 1]]]))
    return groups


def key_drivers(
    ratings: pd.DataFrame, period: str, k: int, settings: DriverSettings | None = None
) -> pd.DataFrame:
    """:func:`key_drivers_from_matrix` of a frame of ``survey_ratings`` rows of ``period``
    (respondent_id, provider_department, dimension, score), for callers that hold the rows.

    The nightly asset does not: it asks the warehouse for the matrix (:func:`.driver_matrix`).
    """
    return key_drivers_from_matrix(matrix_from_ratings(ratings), period, k, settings)


def key_drivers_from_matrix(
    matrix: DriverMatrix, period: str, k: int, settings: DriverSettings | None = None
) -> pd.DataFrame:
    """The key-driver table of one period: company-wide, then per provider, one row per driver.

    Columns: period, provider_department (:data:`COMPANY` for the company-wide rows),
    dimension, outcome, outcome_source, n_respondents, r_squared, importance_pct,
    importance_pct_ci_low, importance_pct_ci_high, suppressed.
    """
    settings = settings or DriverSettings()
    if len(matrix) == 0:
        return pd.DataFrame(columns=KEY_DRIVER_COLUMNS)
    dimensions = matrix.dimensions
    has_item = settings.outcome in dimensions
    drivers = [d for d in dimensions if d != settings.outcome] if has_item else dimensions
    if len(drivers) < 2:
        return pd.DataFrame(columns=KEY_DRIVER_COLUMNS)
    order = drivers + ([settings.outcome] if has_item else [])
    columns = [dimensions.index(name) for name in order]
    outcome_name = settings.outcome if has_item else "mean of dimensions"
    source = "item" if has_item else "mean of dimensions"
    minimum = max(settings.min_respondents, k, len(drivers) + 2)
    rows = []
    for provider, group in _groups(matrix, columns):
        complete = group[~np.isnan(group).any(axis=1)]
        predictors = complete[:, : len(drivers)]
        outcome = complete[:, -1] if has_item else predictors.mean(axis=1)
        publish = len(complete) >= minimum and np.ptp(outcome) > 0
        result = relative_importance(predictors, outcome, settings) if publish else None
        for j, dimension in enumerate(drivers):
            rows.append(
                {
                    "period": period,
                    "provider_department": provider,
                    "dimension": dimension,
                    # A suppressed group shows only that it exists: not even its count.
                    "outcome": outcome_name if result else None,
                    "outcome_source": source if result else None,
                    "n_respondents": int(len(complete)) if result else None,
                    "r_squared": result["r_squared"] if result else np.nan,
                    "importance_pct": result["importance_pct"][j] if result else np.nan,
                    "importance_pct_ci_low": result["ci_low"][j] if result else np.nan,
                    "importance_pct_ci_high": result["ci_high"][j] if result else np.nan,
                    "suppressed": result is None,
                }
            )
    return pd.DataFrame(rows, columns=KEY_DRIVER_COLUMNS)
