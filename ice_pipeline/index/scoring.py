"""The perception index for one period: ICE-P, dimensions, the matrix, consumer view, ICE and trend.

What belongs here: turning rows of ``survey_ratings`` (scores already 0-100) into the aggregate
tables ``ice_scores``, ``company_scores``, ``dimension_scores``, ``matrix_scores`` and
``consumer_satisfaction``, respondent first, and the change from the previous period. The tables
themselves (intervals, ICE from ICE-P and ICE-K, suppression, ranking) are built by
:mod:`.score_tables`, shared with the warehouse-moments path (:mod:`.moments`). Reading and
writing the warehouse does not belong here.

Respondent first: a respondent's score for a provider is the mean of the dimensions they
answered; every published mean is a mean over respondents, never over ratings. All grouping is
done with integer codes and ``numpy.bincount``, so 2.5M ratings aggregate in well under a second.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.score_tables import (  # noqa: F401 - re-exported: callers import them here
    SCORE_TABLES,
    GroupStatistics,
    _frame,
    company_scores_table,
    consumer_satisfaction_table,
    dimension_scores_table,
    empty_table,
    ice_scores_table,
    matrix_scores_table,
    rank_providers,
    suppress_and_rank,
    table_columns,
)
from ice_pipeline.index.stats import group_moments, welch_interval


@dataclass
class RespondentScores:
    """Respondent-level scores of one period, held as integer codes for fast grouping.

    ``pair_*`` arrays have one element per (respondent, provider) pair: the respondent's mean
    score over the dimensions they answered for that provider and the share of those answers
    that were favourable. ``respondent_*`` arrays have one element per respondent: the mean of
    their provider scores (each provider counts once), i.e. their satisfaction with internal
    services overall.
    """

    providers: np.ndarray  # provider names, indexed by provider code
    consumers: np.ndarray  # consumer department names, indexed by consumer code
    pair_respondent: np.ndarray
    pair_provider: np.ndarray
    pair_consumer: np.ndarray
    pair_score: np.ndarray
    pair_favourable: np.ndarray
    rating_provider: np.ndarray  # provider code of every rating row
    respondent_consumer: np.ndarray
    respondent_score: np.ndarray


def respondent_scores(ratings: pd.DataFrame) -> RespondentScores:
    """Collapse ratings to respondent level (vectorised; no loop over respondents)."""
    respondent_codes, respondents = pd.factorize(ratings["respondent_id"], sort=False)
    provider_codes, providers = pd.factorize(ratings["provider_department"], sort=True)
    consumer_codes, consumers = pd.factorize(ratings["consumer_department"], sort=True)
    n_providers = max(len(providers), 1)
    pair_key = respondent_codes.astype(np.int64) * n_providers + provider_codes
    pair_ids, pair_keys = pd.factorize(pair_key, sort=False)
    n_pairs = len(pair_keys)
    _, pair_score, _ = group_moments(pair_ids, ratings["score"].to_numpy(dtype=float), n_pairs)
    _, pair_favourable, _ = group_moments(
        pair_ids, ratings["favourable"].to_numpy(dtype=float), n_pairs
    )
    pair_respondent = (pair_keys // n_providers).astype(np.int64)
    pair_provider = (pair_keys % n_providers).astype(np.int64)
    # A respondent belongs to one consumer department; the last row written wins if a file
    # disagrees with itself (ingest validation reports that case).
    pair_consumer = np.zeros(n_pairs, dtype=np.int64)
    pair_consumer[pair_ids] = consumer_codes
    respondent_consumer = np.zeros(len(respondents), dtype=np.int64)
    respondent_consumer[pair_respondent] = pair_consumer
    _, respondent_score, _ = group_moments(pair_respondent, pair_score, len(respondents))
    return RespondentScores(
        providers=np.asarray(providers, dtype=object),
        consumers=np.asarray(consumers, dtype=object),
        pair_respondent=pair_respondent,
        pair_provider=pair_provider,
        rating_provider=provider_codes,
        pair_consumer=pair_consumer,
        pair_score=pair_score,
        pair_favourable=pair_favourable,
        respondent_consumer=respondent_consumer,
        respondent_score=respondent_score,
    )


def _dense_groups(keys: np.ndarray, n_possible: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ids 0..g-1 for integer keys in [0, n_possible), in key order, and the keys present.

    The same as ``pd.factorize(keys, sort=True)`` but without hashing: the key space (providers
    x dimensions, providers x consumers) is small, so a lookup array is faster.
    """
    present = np.flatnonzero(np.bincount(keys, minlength=n_possible))
    lookup = np.full(n_possible, -1, dtype=np.int64)
    lookup[present] = np.arange(len(present))
    return lookup[keys], present


def _group_statistics(
    group_ids: np.ndarray, score: np.ndarray, favourable: np.ndarray | None, n_groups: int
) -> GroupStatistics:
    n, mean, sd = group_moments(group_ids, score, n_groups)
    share = None if favourable is None else group_moments(group_ids, favourable, n_groups)[1]
    return GroupStatistics(n, mean, sd, share)


def compute_period_scores(
    ratings: pd.DataFrame, service_kpis: pd.DataFrame | None, config: IndexConfig
) -> dict[str, pd.DataFrame]:
    """All perception tables of ONE period, suppressed and ranked, ready for bulk insert.

    ``ratings`` holds the period's ``survey_ratings`` rows; ``service_kpis`` the period's
    ``service_kpis`` rows (or None). Trend columns are NULL here; :func:`add_trend` fills them.
    """
    if ratings.empty:
        return {name: empty_table(name) for name in SCORE_TABLES}
    periods = ratings["period"].unique()
    if len(periods) != 1:
        raise ValueError(f"compute_period_scores takes one period, got {sorted(map(str, periods))}")
    period = str(periods[0])
    level = config.confidence_level
    scores = respondent_scores(ratings)
    n_providers, n_consumers = len(scores.providers), len(scores.consumers)
    # ICE-P per provider: mean over respondents of their provider score.
    providers = _group_statistics(
        scores.pair_provider, scores.pair_score, scores.pair_favourable, n_providers
    )
    # Matrix: respondents of each consumer department, per provider.
    matrix_key = scores.pair_provider * n_consumers + scores.pair_consumer
    matrix_ids, matrix_keys = _dense_groups(matrix_key, n_providers * n_consumers)
    cells = _group_statistics(
        matrix_ids, scores.pair_score, scores.pair_favourable, len(matrix_keys)
    )
    # Consumer view: each respondent's mean over the providers they rated, averaged per department.
    consumers = _group_statistics(
        scores.respondent_consumer, scores.respondent_score, None, n_consumers
    )
    # Company: the same respondent scores over everyone.
    everyone = np.zeros(len(scores.respondent_score), dtype=np.int64)
    company = _group_statistics(everyone, scores.respondent_score, None, 1)
    tables = {
        "ice_scores": ice_scores_table(period, scores.providers, providers, service_kpis, config),
        "company_scores": company_scores_table(period, company, service_kpis, config),
        "dimension_scores": _dimension_scores(ratings, scores, period, level),
        "matrix_scores": matrix_scores_table(
            period,
            scores.providers[matrix_keys // n_consumers],
            scores.consumers[matrix_keys % n_consumers],
            cells,
            level,
        ),
        "consumer_satisfaction": consumer_satisfaction_table(
            period, scores.consumers, consumers, level
        ),
    }
    multiplicity = {(period, consumer): m for consumer, m in providers_rated(scores).items()}
    return suppress_and_rank(tables, config, multiplicity)


def _dimension_scores(
    ratings: pd.DataFrame, scores: RespondentScores, period: str, level: float
) -> pd.DataFrame:
    """One rating per respondent per (provider, dimension): the mean over ratings is already
    the mean over respondents.
    """
    dimension_codes, dimensions = pd.factorize(ratings["dimension"], sort=True)
    cell_key = scores.rating_provider.astype(np.int64) * len(dimensions) + dimension_codes
    cell_ids, cell_keys = _dense_groups(cell_key, len(scores.providers) * len(dimensions))
    cells = _group_statistics(
        cell_ids,
        ratings["score"].to_numpy(dtype=float),
        ratings["favourable"].to_numpy(dtype=float),
        len(cell_keys),
    )
    return dimension_scores_table(
        period,
        scores.providers[cell_keys // len(dimensions)],
        np.asarray(dimensions, dtype=object)[cell_keys % len(dimensions)],
        cells,
        level,
    )


def providers_rated(scores: RespondentScores) -> dict[object, int]:
    """Consumer department -> m where every respondent of it rated exactly m providers.

    This is what makes a matrix column add up to its department's satisfaction (the respondent
    score is then the plain mean of m pair scores), so suppression treats that column as a line
    that adds up (docs/methodology.md, "Disclosure control"). Departments with a mix are absent.
    """
    rated = np.bincount(scores.pair_respondent, minlength=len(scores.respondent_score))
    n_consumers = len(scores.consumers)
    low = np.full(n_consumers, np.iinfo(np.int64).max)
    high = np.zeros(n_consumers, dtype=np.int64)
    np.minimum.at(low, scores.respondent_consumer, rated)
    np.maximum.at(high, scores.respondent_consumer, rated)
    return {
        scores.consumers[c]: int(low[c])
        for c in range(n_consumers)
        if high[c] > 0 and low[c] == high[c]
    }


def add_trend(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    current_ratings: pd.DataFrame,
    previous_ratings: pd.DataFrame | None,
    config: IndexConfig,
) -> pd.DataFrame:
    """Fill the change of ICE-P from the previous period, with a Welch interval (respondents).

    Works on ``ice_scores`` (per provider) or ``company_scores`` (one row), chosen by the
    columns of ``current``. The change is NULL when there is no previous period, or either
    period is suppressed; it is significant only when its interval excludes 0.
    """
    by_provider = "provider_department" in current.columns
    usable = not (
        previous is None
        or previous.empty
        or previous_ratings is None
        or previous_ratings.empty
        or current.empty
    )
    return trend_from_moments(
        current,
        previous,
        _moments_by_key(current_ratings, by_provider) if usable else None,
        _moments_by_key(previous_ratings, by_provider) if usable else None,
        config,
    )


def trend_from_moments(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    now: pd.DataFrame | None,
    before: pd.DataFrame | None,
    config: IndexConfig,
) -> pd.DataFrame:
    """:func:`add_trend` given each period's n, mean and sd per key (provider, or 'all').

    ``now`` and ``before`` are indexed by provider (or 'all' for the company) with columns n,
    mean and sd of the respondents' scores; the SQL moments path (:mod:`.moments`) supplies them.
    """
    result = current.copy()
    by_provider = "provider_department" in current.columns
    result["ice_p_change"] = np.nan
    result["ice_p_change_ci_low"] = np.nan
    result["ice_p_change_ci_high"] = np.nan
    result["change_significant"] = pd.array([pd.NA] * len(result), dtype="boolean")
    if previous is None or previous.empty or now is None or before is None or result.empty:
        return result
    if by_provider:
        keys = result["provider_department"]
        published_now = ~result["suppressed"].astype(bool)
        previous_published = ~previous.set_index("provider_department")["suppressed"].astype(bool)
        published_before = keys.map(previous_published).fillna(False).astype(bool)
    else:
        keys = pd.Series(["all"] * len(result), index=result.index)
        published_now = result["ice_p"].notna()
        published_before = pd.Series(bool(previous["ice_p"].notna().all()), index=result.index)
    m1, s1, n1 = (keys.map(now[c]).to_numpy(dtype=float) for c in ("mean", "sd", "n"))
    m0, s0, n0 = (keys.map(before[c]).to_numpy(dtype=float) for c in ("mean", "sd", "n"))
    difference, low, high = welch_interval(m1, s1, n1, m0, s0, n0, config.confidence_level)
    usable = (published_now & published_before).to_numpy()
    result["ice_p_change"] = np.where(usable, difference, np.nan)
    result["ice_p_change_ci_low"] = np.where(usable, low, np.nan)
    result["ice_p_change_ci_high"] = np.where(usable, high, np.nan)
    significant = pd.Series((low > 0) | (high < 0), index=result.index).astype("boolean")
    result["change_significant"] = significant.mask(~(usable & ~np.isnan(low)))
    return result


def _moments_by_key(ratings: pd.DataFrame, by_provider: bool) -> pd.DataFrame:
    scores = respondent_scores(ratings)
    if by_provider:
        n, mean, sd = group_moments(scores.pair_provider, scores.pair_score, len(scores.providers))
        index = scores.providers
    else:
        n, mean, sd = group_moments(
            np.zeros(len(scores.respondent_score), dtype=np.int64), scores.respondent_score, 1
        )
        index = np.array(["all"], dtype=object)
    return pd.DataFrame({"n": n, "mean": mean, "sd": sd}, index=index)
