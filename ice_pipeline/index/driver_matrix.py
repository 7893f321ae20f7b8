"""The key-driver analysis's input: one row per (respondent, provider) with a score per dimension.

Belongs here: :class:`DriverMatrix` and the two ways to build it, from the warehouse with one
SQL query (:func:`driver_matrix`, the nightly path: an enterprise month's ~3M ratings collapse to
~300k rows in the engine, so the answers never cross into Python) and from a frame of
``survey_ratings`` rows (:func:`matrix_from_ratings`, for callers that already hold the rows).
The analysis itself lives in :mod:`ice_pipeline.index.drivers`.

Both give the same matrix, row for row: rows sorted by (respondent_id, provider_department)
in code-point order (Python's ``sorted``, byte order of UTF-8; ``COLLATE "C"``, which DuckDB and
PostgreSQL both accept, whatever the database's collation), columns the period's dimensions in
sorted order, NaN where the respondent did not rate the provider on the dimension ("not
applicable"). The order matters: the bootstrap draws rows by position, and the company-wide
means add a respondent's providers in row order.
"""

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy

from ice_pipeline.index.moments import POSTGRES_WORK_MEM, qualified_ratings


@dataclass(frozen=True)
class DriverMatrix:
    """Scores of (respondent, provider) pairs; respondents numbered, never named."""

    respondents: np.ndarray  # (rows,) int64: 0, 1, ... in respondent_id order
    providers: np.ndarray  # (rows,) int64: index into provider_names
    provider_names: list[str]  # sorted
    dimensions: list[str]  # sorted: the columns of ``scores``
    scores: np.ndarray  # (rows, dimensions) float, NaN = unanswered

    def __len__(self) -> int:
        return len(self.scores)


def empty_matrix(dimensions: Sequence[str] = ()) -> DriverMatrix:
    """A matrix without rows (a period without ratings)."""
    return DriverMatrix(
        respondents=np.zeros(0, dtype=np.int64),
        providers=np.zeros(0, dtype=np.int64),
        provider_names=[],
        dimensions=list(dimensions),
        scores=np.zeros((0, len(dimensions))),
    )


_NAMES_SQL = "SELECT DISTINCT provider_department, dimension FROM {table} WHERE period = :period"
# One row per (respondent, provider): a pivot by CASE (plain SQL both engines run), one column per
# dimension, bound as parameters (the names are input). Numbers, not 64-character hashes, cross
# into Python: respondents numbered by a window in code-point order, providers by their place in
# sorted(names). One sort: the final order continues the window's (PostgreSQL: incremental sort;
# numbering providers by a second window cost two more sorts of the grouped rows, ~5 of 19 s).
# avg(): one rating per respondent, provider and dimension (survey_ratings' key), so that rating.
_MATRIX_SQL = """
SELECT dense_rank() OVER (ORDER BY respondent_id COLLATE "C") - 1 AS respondent,
       CASE provider_department{providers} END AS provider{columns}
FROM {table} WHERE period = :period
GROUP BY respondent_id, provider_department
ORDER BY respondent_id COLLATE "C", provider
"""
_PROVIDER_SQL = " WHEN :provider_{j} THEN {j}"
_COLUMN_SQL = ",\n       avg(CASE WHEN dimension = :dimension_{j} THEN score END) AS score_{j}"


def _connected(
    conn_or_engine: sqlalchemy.Engine | sqlalchemy.Connection,
) -> AbstractContextManager[sqlalchemy.Connection]:
    if isinstance(conn_or_engine, sqlalchemy.Engine):
        return conn_or_engine.begin()
    return nullcontext(conn_or_engine)


def _numbers(connection: sqlalchemy.Connection, sql: str, params: dict[str, str]) -> np.ndarray:
    """The result of ``sql`` (numbers only) as a (rows, columns) float array, NULL as NaN."""
    if connection.dialect.name == "duckdb":
        # DuckDB's own Arrow result: ~500k rows without a Python object per value (through
        # SQLAlchemy's rows, ~3 s of the step). Its named parameters are spelt $name.
        raw = connection.connection.driver_connection
        result = raw.execute(re.sub(r":(\w+)", r"$\1", sql), params).fetch_arrow_table()
        columns = [column.to_numpy().astype(float) for column in result.columns]
        return np.column_stack(columns) if columns else np.zeros((0, 0))
    rows = connection.execute(sqlalchemy.text(sql), params).tuples().fetchall()
    # Plain tuples: numpy probes a SQLAlchemy Row for array attributes by name, which raises
    # and catches an error per value (40 s for 500k rows). None becomes NaN.
    return np.array([tuple(row) for row in rows], dtype=float)


def driver_matrix(
    conn_or_engine: sqlalchemy.Engine | sqlalchemy.Connection, period: str
) -> DriverMatrix:
    """The :class:`DriverMatrix` of ``period``'s ``survey_ratings``, computed by the engine.

    Given an engine, runs in a transaction of its own; given a connection, in the caller's
    (any SQLAlchemy connection to a migrated warehouse, or an engine holding the same view).
    """
    with _connected(conn_or_engine) as connection:
        table = qualified_ratings(connection)
        found = connection.execute(
            sqlalchemy.text(_NAMES_SQL.format(table=table)), {"period": period}
        ).fetchall()
        if not found:
            return empty_matrix()
        providers = sorted({str(row[0]) for row in found})
        dimensions = sorted({str(row[1]) for row in found})
        if connection.dialect.name == "postgresql":  # the grouping of a period's answers
            connection.execute(sqlalchemy.text(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'"))
        sql = _MATRIX_SQL.format(
            table=table,
            providers="".join(_PROVIDER_SQL.format(j=j) for j in range(len(providers))),
            columns="".join(_COLUMN_SQL.format(j=j) for j in range(len(dimensions))),
        )
        params = {
            "period": period,
            **{f"provider_{j}": name for j, name in enumerate(providers)},
            **{f"dimension_{j}": name for j, name in enumerate(dimensions)},
        }
        values = _numbers(connection, sql, params)
    if len(values) == 0:  # deleted since the first query
        return empty_matrix(dimensions)
    if np.isnan(values[:, 1]).any():  # a provider the first query did not list
        raise RuntimeError(f"survey_ratings of {period} changed while its drivers were read")
    return DriverMatrix(
        respondents=values[:, 0].astype(np.int64),
        providers=values[:, 1].astype(np.int64),
        provider_names=providers,
        dimensions=dimensions,
        scores=values[:, 2:],
    )


def _sorted_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``column``'s values as text, numbered in sorted order, and those values."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    # Factorising a categorical works on its codes: ~50x cheaper than turning 2.4M cells to text.
    categories = np.asarray(column.cat.categories.astype(str), dtype=object)
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = column.cat.codes.to_numpy()
    return np.where(codes >= 0, rank[codes], -1), categories[order]


def matrix_from_ratings(ratings: pd.DataFrame) -> DriverMatrix:
    """The :class:`DriverMatrix` of a frame of ``survey_ratings`` rows (respondent_id,
    provider_department, dimension, score), in any row order.
    """
    if ratings.empty:
        return empty_matrix()
    respondent_codes, _ = _sorted_codes(ratings["respondent_id"])
    provider_codes, providers = _sorted_codes(ratings["provider_department"])
    # One integer per pair, ordered as (respondent, provider) sorts: the same order as sorting
    # the pairs of text.
    pair_values = respondent_codes * len(providers) + provider_codes
    pairs, pair_codes = np.unique(pair_values, return_inverse=True)
    dimension_codes, dimensions = _sorted_codes(ratings["dimension"])
    used = np.unique(dimension_codes[dimension_codes >= 0])
    position = np.full(len(dimensions) + 1, -1, dtype=np.int64)  # a NULL's code -1: the last
    position[used] = np.arange(len(used))
    columns = position[dimension_codes]
    scores = np.full((len(pairs), len(used)), np.nan)
    known = columns >= 0
    scores[pair_codes[known], columns[known]] = ratings["score"].to_numpy(float)[known]
    _, respondents = np.unique(pairs // len(providers), return_inverse=True)
    used_providers, provider_codes = np.unique(pairs % len(providers), return_inverse=True)
    return DriverMatrix(
        respondents=respondents.astype(np.int64),
        providers=provider_codes.astype(np.int64),
        provider_names=[str(name) for name in providers[used_providers]],
        dimensions=[str(name) for name in dimensions[used]],
        scores=scores,
    )
