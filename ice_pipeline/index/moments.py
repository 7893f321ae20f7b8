"""The perception index from group moments computed in the warehouse (the nightly path).

What belongs here: one SQL query that collapses a period of ``survey_ratings`` to group moments
(respondent first, as :mod:`ice_pipeline.index.scoring` does in pandas), and turning those few
hundred rows into the same five score tables: intervals, suppression, ranks and trend in Python.

The query runs where the data is (DuckDB or PostgreSQL: plain SQL both accept), so the 2.4M
ratings of an enterprise month never cross into Python. Its result has one row per group:

* ``provider``   per provider: respondents' provider scores (mean of the dimensions they answered)
* ``dimension``  per (provider, dimension): the ratings themselves (one per respondent)
* ``cell``       per (provider, consumer department): respondents' provider scores
* ``consumer``   per consumer department: respondents' mean over the providers they rated
* ``company``    one row: the same respondent scores over everyone

with ``n``, ``total`` (sum), ``m2`` (sum of squared deviations from the group mean) and
``favourable`` (sum of the per-respondent favourable shares), plus for ``consumer`` the least
and most providers a respondent rated (the suppression's column multiplicity). ``m2`` is held
rather than a raw sum of squares because ``sum(x^2) - sum(x)^2/n`` loses the exact zero of a
group with no spread (it comes out as +-1e-12, turning an undefined interval into a defined
one); the engines' ``var_samp`` is one-pass and stable. Moments still combine across groups
(Chan et al.'s parallel formula) if periods are ever pooled.

A respondent who appears under two consumer departments in one period (ingest validation
reports that) is counted under the alphabetically last; the pandas path takes the last row read.
"""

from collections.abc import Collection

import numpy as np
import pandas as pd
import sqlalchemy

from ice_pipeline.index import coded_queries
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.score_tables import (
    SCORE_TABLES,
    GroupStatistics,
    company_scores_table,
    consumer_satisfaction_table,
    dimension_scores_table,
    empty_table,
    ice_scores_table,
    matrix_scores_table,
    suppress_and_rank,
)
from ice_pipeline.index.scoring import trend_from_moments
from ice_pipeline.warehouse import schema

# PostgreSQL's memory for the moments query's sorts and hash tables (per node, server side).
POSTGRES_WORK_MEM = "256MB"

MOMENT_COLUMNS = (
    "grain",
    "provider_department",
    "dimension",
    "consumer_department",
    "n",
    "total",
    "m2",
    "favourable",
    "fewest_rated",
    "most_rated",
)

# Each CTE is one level of "respondent first": ratings -> (respondent, provider) pairs ->
# respondents. var_samp(...) * (n - 1) is the sum of squared deviations; NULL for n = 1.
# The first branch's NULLs are typed: PostgreSQL fixes a UNION column's type from the left.
_MOMENTS_SQL = """
WITH ratings AS (
    SELECT respondent_id, provider_department, dimension, consumer_department, score,
           CAST(CASE WHEN favourable THEN 1 ELSE 0 END AS DOUBLE PRECISION) AS favourable
    FROM {table} WHERE period = :period{respondents}
), pairs AS (
    SELECT respondent_id, provider_department, avg(score) AS score,
           avg(favourable) AS favourable, max(consumer_department) AS consumer_department
    FROM ratings GROUP BY respondent_id, provider_department
), respondents AS (
    SELECT respondent_id, max(consumer_department) AS consumer_department,
           avg(score) AS score, count(*) AS providers_rated
    FROM pairs GROUP BY respondent_id
)
SELECT 'provider' AS grain, provider_department, CAST(NULL AS TEXT) AS dimension,
       CAST(NULL AS TEXT) AS consumer_department,
       count(*) AS n, sum(score) AS total, var_samp(score) * (count(*) - 1) AS m2,
       sum(favourable) AS favourable, CAST(NULL AS BIGINT) AS fewest_rated,
       CAST(NULL AS BIGINT) AS most_rated
FROM pairs GROUP BY provider_department
UNION ALL
SELECT 'dimension', provider_department, dimension, NULL,
       count(*), sum(score), var_samp(score) * (count(*) - 1), sum(favourable), NULL, NULL
FROM ratings GROUP BY provider_department, dimension
UNION ALL
SELECT 'cell', p.provider_department, NULL, r.consumer_department,
       count(*), sum(p.score), var_samp(p.score) * (count(*) - 1), sum(p.favourable), NULL, NULL
FROM pairs p JOIN respondents r ON r.respondent_id = p.respondent_id
GROUP BY p.provider_department, r.consumer_department
UNION ALL
SELECT 'consumer', NULL, NULL, consumer_department,
       count(*), sum(score), var_samp(score) * (count(*) - 1), NULL,
       min(providers_rated), max(providers_rated)
FROM respondents GROUP BY consumer_department
UNION ALL
SELECT 'company', NULL, NULL, NULL,
       count(*), sum(score), var_samp(score) * (count(*) - 1), NULL, NULL, NULL
FROM respondents HAVING count(*) > 0
"""


def respondent_filter(
    excluded: Collection[str] = (), only: Collection[str] | None = None
) -> tuple[str, dict[str, list[str]]]:
    """The SQL condition (and its parameters) that limits a period's ratings to some respondents.

    ``excluded`` respondents are left out (late responses held back); with ``only``, just those
    respondents count (a period as published). One array parameter each, whatever their number:
    both engines turn ``IN (SELECT unnest(...))`` into a hash semi/anti join.
    """
    clause, params = "", {}
    if excluded:
        clause += " AND respondent_id NOT IN (SELECT unnest(CAST(:excluded AS TEXT[])))"
        params["excluded"] = sorted(excluded)
    if only is not None:
        clause += " AND respondent_id IN (SELECT unnest(CAST(:only AS TEXT[])))"
        params["only"] = sorted(only)
    return clause, params


def qualified_ratings(connection: sqlalchemy.Connection) -> str:
    """``survey_ratings`` as a quoted ``schema.table`` name for the connection's dialect."""
    table = schema.survey_ratings
    if connection.dialect.name == "duckdb":
        # duckdb_engine has no "schema.table" quoting of its own; the name is ours, not input.
        return f"{table.schema}.{table.name}"
    preparer = connection.dialect.identifier_preparer
    return f"{preparer.quote_schema(str(table.schema))}.{preparer.quote(table.name)}"


def period_moments(
    engine: sqlalchemy.Engine,
    period: str,
    *,
    excluded: Collection[str] = (),
    only: Collection[str] | None = None,
) -> pd.DataFrame:
    """The group moments of one period's ratings, computed by the warehouse (see module doc).

    ``excluded`` / ``only`` limit the respondents (:func:`respondent_filter`). An empty frame
    (with the columns) when no rating is left. Rows come back sorted by grain and keys in
    Python's string order, the order the pandas path produces.
    """
    clause, params = respondent_filter(excluded, only)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The default 4 MB makes the respondent-level hash aggregates spill to disk: 6.3 s
            # against 4.9 s for an enterprise month. LOCAL: this transaction only.
            connection.execute(sqlalchemy.text(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'"))
        coded = coded_queries.coded_tables(connection)
        if coded is not None:  # integer keys on the coded tables, not the view's text
            sql = coded_queries.MOMENTS_SQL.format(respondents=clause, **coded)
        else:
            sql = _MOMENTS_SQL.format(table=qualified_ratings(connection), respondents=clause)
        result = connection.execute(sqlalchemy.text(sql), {"period": period, **params})
        moments = pd.DataFrame(result.fetchall(), columns=list(MOMENT_COLUMNS))
    for column in ("n", "total", "m2", "favourable", "fewest_rated", "most_rated"):
        moments[column] = pd.to_numeric(moments[column]).astype(float)
    # Python's order, not the warehouse collation's (PostgreSQL sorts by locale).
    return moments.sort_values(
        ["grain", "provider_department", "dimension", "consumer_department"],
        na_position="first",
        kind="mergesort",
    ).reset_index(drop=True)


def _grain(moments: pd.DataFrame, grain: str) -> pd.DataFrame:
    return moments[moments["grain"] == grain].reset_index(drop=True)


def _statistics(rows: pd.DataFrame, favourable: bool = True) -> GroupStatistics:
    """n, mean, sample sd (NaN for n < 2) and favourable share per row of moments."""
    n = rows["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = rows["total"].to_numpy(dtype=float) / n
        sd = np.sqrt(rows["m2"].to_numpy(dtype=float) / (n - 1))
        share = rows["favourable"].to_numpy(dtype=float) / n
    sd[n < 2] = np.nan
    return GroupStatistics(n, mean, sd, share if favourable else None)


def _keys(rows: pd.DataFrame, column: str) -> np.ndarray:
    return rows[column].to_numpy(dtype=object)


def scores_from_moments(
    moments: pd.DataFrame, period: str, service_kpis: pd.DataFrame | None, config: IndexConfig
) -> dict[str, pd.DataFrame]:
    """All perception tables of one period from its moments: suppressed and ranked, no trend.

    The same tables, columns and dtypes as :func:`.scoring.compute_period_scores` on the
    period's ratings (the same builders, :mod:`.score_tables`; the tests compare to 1e-9).
    """
    if moments.empty:
        return {name: empty_table(name) for name in SCORE_TABLES}
    level = config.confidence_level
    providers = _grain(moments, "provider")
    dimensions = _grain(moments, "dimension")
    cells = _grain(moments, "cell")
    consumers = _grain(moments, "consumer")
    tables = {
        "ice_scores": ice_scores_table(
            period,
            _keys(providers, "provider_department"),
            _statistics(providers),
            service_kpis,
            config,
        ),
        "company_scores": company_scores_table(
            period, _statistics(_grain(moments, "company"), False), service_kpis, config
        ),
        "dimension_scores": dimension_scores_table(
            period,
            _keys(dimensions, "provider_department"),
            _keys(dimensions, "dimension"),
            _statistics(dimensions),
            level,
        ),
        "matrix_scores": matrix_scores_table(
            period,
            _keys(cells, "provider_department"),
            _keys(cells, "consumer_department"),
            _statistics(cells),
            level,
        ),
        "consumer_satisfaction": consumer_satisfaction_table(
            period, _keys(consumers, "consumer_department"), _statistics(consumers, False), level
        ),
    }
    return suppress_and_rank(tables, config, moments_providers_rated(moments, period))


def moments_providers_rated(moments: pd.DataFrame, period: str) -> dict[tuple[str, str], int]:
    """(period, consumer) -> m where every respondent of the department rated exactly m providers.

    The moments version of :func:`.scoring.providers_rated`, from the consumer rows' fewest and
    most providers rated.
    """
    consumers = _grain(moments, "consumer")
    same = consumers[consumers["fewest_rated"] == consumers["most_rated"]]
    return {
        (period, consumer): int(m)
        for consumer, m in zip(same["consumer_department"], same["fewest_rated"], strict=True)
    }


def trend_moments(moments: pd.DataFrame, by_provider: bool) -> pd.DataFrame:
    """n, mean and sd per provider (or of the company, keyed 'all') for the trend's Welch test."""
    rows = _grain(moments, "provider" if by_provider else "company")
    stats = _statistics(rows, False)
    index = rows["provider_department"].to_numpy(dtype=object) if by_provider else ["all"]
    return pd.DataFrame({"n": stats.n, "mean": stats.mean, "sd": stats.sd}, index=index)


def period_tables(
    engine: sqlalchemy.Engine,
    period: str,
    previous: str | None,
    service_kpis: pd.DataFrame | None,
    config: IndexConfig,
) -> dict[str, pd.DataFrame]:
    """The five score tables of ``period`` with the trend from ``previous``, from SQL moments.

    The previous period's published/suppressed state comes from the same computation on its
    moments (no read of the score tables' own earlier partitions).
    """
    moments = period_moments(engine, period)
    tables = scores_from_moments(moments, period, service_kpis, config)
    before = period_moments(engine, previous) if previous else None
    before_tables = (
        scores_from_moments(before, previous, None, config)
        if before is not None and not before.empty and previous
        else None
    )
    for name in ("ice_scores", "company_scores"):
        by_provider = name == "ice_scores"
        tables[name] = trend_from_moments(
            tables[name],
            before_tables[name] if before_tables else None,
            trend_moments(moments, by_provider) if not moments.empty else None,
            trend_moments(before, by_provider) if before_tables else None,
            config,
        )
    return tables
