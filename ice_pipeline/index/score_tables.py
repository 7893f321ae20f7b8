"""The five score tables of one period built from per-group statistics, suppressed and ranked.

What belongs here: from each group's respondents, mean, sd and favourable share
(:class:`GroupStatistics`) to the rows of ``ice_scores``, ``company_scores``,
``dimension_scores``, ``matrix_scores`` and ``consumer_satisfaction``: the intervals (bounded to
the 0-100 scale), ICE from ICE-P and ICE-K, suppression (:mod:`.suppression`) and the providers'
rank. Both ways of computing the statistics use these, so they give the same tables: from rating
rows (:mod:`.scoring`) and from the warehouse's group moments (:mod:`.moments`). No grouping of
ratings and no warehouse access here.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.stats import t_interval, wilson_interval
from ice_pipeline.index.suppression import suppress
from ice_pipeline.warehouse import schema

SCORE_TABLES = (
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
)


def table_columns(name: str) -> list[str]:
    """The columns of a warehouse table, in schema order."""
    return [column.name for column in schema.metadata.tables[f"{_schema_of(name)}.{name}"].columns]


def _schema_of(name: str) -> str:
    for table in schema.metadata.tables.values():
        if table.name == name:
            return str(table.schema)
    raise KeyError(name)


def empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in table_columns(name)})


def _frame(name: str, columns: dict[str, object]) -> pd.DataFrame:
    """A frame with exactly the schema's columns of table ``name``, in order."""
    expected = table_columns(name)
    missing = set(expected) - set(columns)
    extra = set(columns) - set(expected)
    if missing or extra:
        raise ValueError(f"{name}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return pd.DataFrame({column: columns[column] for column in expected})


def _mean_columns(
    prefix: str, n: np.ndarray, mean: np.ndarray, sd: np.ndarray, level: float
) -> dict[str, np.ndarray]:
    low, high = t_interval(mean, sd, n, level)
    # The scale is bounded, so an interval never reaches past 0 or 100.
    return {
        prefix: mean,
        f"{prefix}_ci_low": np.clip(low, 0, 100),
        f"{prefix}_ci_high": np.clip(high, 0, 100),
    }


def _favourable_columns(n: np.ndarray, share: np.ndarray, level: float) -> dict[str, np.ndarray]:
    low, high = wilson_interval(share, n, level)
    return {
        "favourable_pct": 100 * share,
        "favourable_pct_ci_low": 100 * low,
        "favourable_pct_ci_high": 100 * high,
    }


@dataclass(frozen=True)
class GroupStatistics:
    """Per group: respondents, mean and sample sd of their scores, and the favourable share.

    Both ways of computing the index fill these: :func:`compute_period_scores` from rating rows
    (``numpy.bincount``) and :mod:`.moments` from the warehouse's group moments; the tables are
    then built by the same functions below, so the two cannot drift apart.
    """

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    share: np.ndarray | None = None  # None where the table publishes no favourable share


def suppress_and_rank(
    tables: dict[str, pd.DataFrame],
    config: IndexConfig,
    column_multiplicity: dict[tuple[str, object], int],
) -> dict[str, pd.DataFrame]:
    """Suppression (:mod:`.suppression`) and the providers' rank, on one period's five tables."""
    tables = suppress(
        tables,
        config.k_min_respondents,
        protection_width=config.protection_width_points,
        column_multiplicity=column_multiplicity,
    )
    tables["ice_scores"]["rank"] = rank_providers(tables["ice_scores"], config)
    return {name: tables[name] for name in SCORE_TABLES}


_NO_TREND = {
    "ice_p_change": np.nan,
    "ice_p_change_ci_low": np.nan,
    "ice_p_change_ci_high": np.nan,
}


def ice_scores_table(
    period: str,
    providers: np.ndarray,
    stats: GroupStatistics,
    service_kpis: pd.DataFrame | None,
    config: IndexConfig,
) -> pd.DataFrame:
    """``ice_scores`` before suppression: ICE-P with its intervals, ICE-K and ICE per provider."""
    ice = pd.DataFrame(
        {
            "provider_department": np.asarray(providers, dtype=object),
            "n_respondents": stats.n.astype(np.int64),
            **_mean_columns("ice_p", stats.n, stats.mean, stats.sd, config.confidence_level),
            **_favourable_columns(stats.n, stats.share, config.confidence_level),
        }
    )
    ice["ice_k"] = ice["provider_department"].map(_kpis_by_provider(service_kpis, period))
    ice["ice_k"] = ice["ice_k"].astype(float)
    ice["no_tickets"] = ice["ice_k"].isna()
    ice["ice"] = np.where(
        ice["no_tickets"],
        ice["ice_p"],
        config.weight_ice_p * ice["ice_p"] + config.weight_ice_k * ice["ice_k"],
    )
    return _frame(
        "ice_scores",
        {
            **{c: ice[c] for c in ice.columns},
            "period": period,
            "suppressed": False,
            "rank": pd.Series(pd.NA, index=ice.index, dtype="Int64"),
            **_NO_TREND,
            "change_significant": pd.Series(pd.NA, index=ice.index, dtype="boolean"),
        },
    )


def _score_columns(stats: GroupStatistics, level: float) -> dict[str, np.ndarray]:
    columns = _mean_columns("ice_p", stats.n, stats.mean, stats.sd, level)
    return {k.replace("ice_p", "score"): v for k, v in columns.items()}


def dimension_scores_table(
    period: str,
    providers: np.ndarray,
    dimensions: np.ndarray,
    stats: GroupStatistics,
    level: float,
) -> pd.DataFrame:
    """``dimension_scores`` before suppression: each provider's score on each dimension."""
    return _frame(
        "dimension_scores",
        {
            "period": period,
            "provider_department": np.asarray(providers, dtype=object),
            "dimension": np.asarray(dimensions, dtype=object),
            "n_respondents": stats.n.astype(np.int64),
            "suppressed": False,
            **_score_columns(stats, level),
            **_favourable_columns(stats.n, stats.share, level),
        },
    )


def matrix_scores_table(
    period: str,
    providers: np.ndarray,
    consumers: np.ndarray,
    stats: GroupStatistics,
    level: float,
) -> pd.DataFrame:
    """``matrix_scores`` before suppression: provider x consumer department."""
    return _frame(
        "matrix_scores",
        {
            "period": period,
            "provider_department": np.asarray(providers, dtype=object),
            "consumer_department": np.asarray(consumers, dtype=object),
            "n_respondents": pd.array(stats.n.astype(np.int64), dtype="Int64"),
            "suppressed": False,
            "suppression_reason": pd.Series([None] * len(stats.n), dtype=object),
            **_score_columns(stats, level),
            **_favourable_columns(stats.n, stats.share, level),
        },
    )


def consumer_satisfaction_table(
    period: str, consumers: np.ndarray, stats: GroupStatistics, level: float
) -> pd.DataFrame:
    """``consumer_satisfaction`` before suppression: each department's respondents."""
    return _frame(
        "consumer_satisfaction",
        {
            "period": period,
            "consumer_department": np.asarray(consumers, dtype=object),
            "n_respondents": pd.array(stats.n.astype(np.int64), dtype="Int64"),
            "suppressed": False,
            **_score_columns(stats, level),
        },
    )


def company_scores_table(
    period: str, stats: GroupStatistics, service_kpis: pd.DataFrame | None, config: IndexConfig
) -> pd.DataFrame:
    """``company_scores`` before suppression: everyone's respondent scores, and company ICE."""
    company_ice_k = _company_ice_k(service_kpis, period)
    company_ice = (
        stats.mean
        if np.isnan(company_ice_k)
        else (config.weight_ice_p * stats.mean + config.weight_ice_k * company_ice_k)
    )
    return _frame(
        "company_scores",
        {
            "period": [period],
            "n_respondents": stats.n.astype(np.int64),
            **_mean_columns("ice_p", stats.n, stats.mean, stats.sd, config.confidence_level),
            "ice": company_ice,
            **_NO_TREND,
            "change_significant": pd.array([pd.NA], dtype="boolean"),
        },
    )


def rank_providers(ice_scores: pd.DataFrame, config: IndexConfig) -> pd.Series:
    """Rank 1 = best ICE among published providers; equal published figures share a rank ('min')."""
    published = ice_scores["ice"].where(~ice_scores["suppressed"].astype(bool)).astype(float)
    ranks = published.round(config.rank_decimals).rank(method="min", ascending=False)
    return ranks.astype("Int64")


def _kpis_by_provider(service_kpis: pd.DataFrame | None, period: str) -> pd.Series:
    if service_kpis is None or service_kpis.empty:
        return pd.Series(dtype=float)
    rows = service_kpis[service_kpis["period"] == period]
    return rows.set_index("provider_department")["ice_k"].astype(float)


def _company_ice_k(service_kpis: pd.DataFrame | None, period: str) -> float:
    """Company ICE-K: the providers' ICE-K weighted by ticket volume (each ticket counts once)."""
    if service_kpis is None or service_kpis.empty:
        return np.nan
    rows = service_kpis[(service_kpis["period"] == period) & service_kpis["ice_k"].notna()]
    weights = rows["tickets_n"].astype(float)
    if rows.empty or weights.sum() <= 0:
        return np.nan
    return float(np.average(rows["ice_k"].astype(float), weights=weights))
