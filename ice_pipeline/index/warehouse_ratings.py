"""One period's survey ratings left in the warehouse: moments and respondent hashes by SQL.

What belongs here: :class:`WarehouseRatings`, the handle the nightly ICE tables work with instead
of the period's rating rows. It answers what the index and version protection ask of a period
(group moments, :mod:`.moments`; each respondent's answers hash and rating count, for
:func:`.versions.protect_publication`) with a query each, and is narrowed to fewer respondents
(late ones held back, or only those a published version rests on) by a filter in the SQL, never
by reading rows into Python. The arithmetic lives in :mod:`.moments` and :mod:`.answer_hashes`.
"""

from collections.abc import Collection

import numpy as np
import pandas as pd
import sqlalchemy

from ice_pipeline.index import coded_queries
from ice_pipeline.index.answer_hashes import HASHED_COLUMNS, answer_hash_terms, hash_hex
from ice_pipeline.index.moments import (
    POSTGRES_WORK_MEM,
    period_moments,
    qualified_ratings,
    respondent_filter,
)

# Per respondent: the number of ratings and the sums of the 32-bit halves of their rows' hash
# terms (answer_hash_terms), looked up by position in small array parameters (a few dozen values
# each). No join: PostgreSQL plans joins on the freshly loaded partition from stale statistics
# (a nested loop and an on-disk sort took 26 s for an enterprise month; this form takes ~3 s).
# The count is of rows whose every value was found, so a missed lookup cannot pass unnoticed.
_RESPONDENTS_SQL = """
SELECT respondent_id, count({low}) AS ratings, sum({low}) AS low, sum({high}) AS high
FROM {table} WHERE period = :period{respondents}
GROUP BY respondent_id
"""
_TERM = (
    "(CAST(:{name}_{half} AS BIGINT[]))[array_position(CAST(:{name}_key AS {type}[]), {column})]"
)
# Providers and dimensions are listed by the moments' dimension rows (grouped straight from the
# ratings); consumer departments are not (a respondent is counted under one), so ask.
_VALUES_SQL = (
    "SELECT DISTINCT consumer_department, score FROM {table} WHERE period = :period{respondents}"
)


class WarehouseRatings:
    """A period's ``survey_ratings`` in the warehouse, optionally limited to some respondents.

    Results are cached on the handle; :meth:`without` and :meth:`limited_to` give new handles
    (the respondents' hashes carry over, the moments are queried again with the filter).
    """

    def __init__(
        self,
        engine: sqlalchemy.Engine,
        period: str,
        *,
        excluded: Collection[str] = frozenset(),
        only: Collection[str] | None = None,
        respondents: pd.DataFrame | None = None,
    ) -> None:
        self.engine = engine
        self.period = period
        self.excluded = frozenset(excluded)
        self.only = None if only is None else frozenset(only)
        self._respondents = respondents
        self._moments: pd.DataFrame | None = None

    def __repr__(self) -> str:
        only = "all" if self.only is None else len(self.only)
        return f"WarehouseRatings({self.period}, excluded={len(self.excluded)}, only={only})"

    @property
    def empty(self) -> bool:
        """True when the period (as filtered) has no rating."""
        return self.moments().empty

    def moments(self) -> pd.DataFrame:
        """:func:`.moments.period_moments` of these ratings."""
        if self._moments is None:
            self._moments = period_moments(
                self.engine, self.period, excluded=self.excluded, only=self.only
            )
        return self._moments

    def answer_hashes(self) -> pd.Series:
        """respondent_id -> answers hash, equal to :func:`.answer_hashes.answer_hashes`."""
        return self.respondents()["answers_hash"]

    def rating_counts(self) -> pd.Series:
        """respondent_id -> how many ratings they gave in the period."""
        return self.respondents()["ratings"]

    def without(self, respondents: Collection[str]) -> "WarehouseRatings":
        """These ratings without the given respondents."""
        if not respondents:
            return self
        kept = self._respondents
        if kept is not None:
            kept = kept[~kept.index.isin(list(respondents))]
        return WarehouseRatings(
            self.engine,
            self.period,
            excluded=self.excluded | set(respondents),
            only=self.only,
            respondents=kept,
        )

    def limited_to(self, respondents: Collection[str]) -> "WarehouseRatings":
        """These ratings of the given respondents only.

        Expressed as leaving out the respondents present but not listed: usually none or a few
        (late ones held back), where a filter on the listed ones would be the whole period
        (on PostgreSQL a 100,000-name filter added 6 s to the query).
        """
        return self.without(self.respondent_ids() - set(respondents))

    def respondent_ids(self) -> set[str]:
        """The respondents these ratings hold."""
        if self._respondents is not None:
            return set(self._respondents.index)
        clause, params = respondent_filter(self.excluded, self.only)
        with self.engine.begin() as connection:
            coded = coded_queries.coded_tables(connection)
            if coded is not None:  # the small responses table holds every respondent
                sql = coded_queries.RESPONDENT_IDS_SQL.format(**coded) + clause
            else:
                sql = "SELECT DISTINCT respondent_id FROM {table} WHERE period = :period"
                sql = sql.format(table=qualified_ratings(connection)) + clause
            result = connection.execute(sqlalchemy.text(sql), {"period": self.period, **params})
            return {str(row[0]) for row in result}

    def respondents(self) -> pd.DataFrame:
        """One row per respondent (index respondent_id): ``ratings`` and ``answers_hash``."""
        if self._respondents is None:
            self._respondents = self._query_respondents()
        return self._respondents

    def _query_respondents(self) -> pd.DataFrame:
        empty = pd.DataFrame(
            {"ratings": pd.Series(dtype=np.int64), "answers_hash": pd.Series(dtype=object)},
            index=pd.Index([], dtype=object, name=None),
        )
        moments = self.moments()
        if moments.empty:
            return empty
        clause, params = respondent_filter(self.excluded, self.only)
        params["period"] = self.period
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # the per-respondent hash aggregate
                connection.execute(sqlalchemy.text(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'"))
            coded = coded_queries.coded_tables(connection)
            if coded is not None:
                sql = _coded_respondents_sql(connection, coded, clause, params)
            else:
                sql = _ratings_respondents_sql(connection, moments, clause, params)
            rows = connection.execute(sqlalchemy.text(sql), params).fetchall()
        cells = moments[moments["grain"] == "dimension"]
        # Every rating must meet its four lookups: a lost row would change a hash silently.
        if sum(row[1] for row in rows) != cells["n"].sum():
            raise RuntimeError(
                f"respondent hashes of {self.period} cover {sum(row[1] for row in rows)} of "
                f"{cells['n'].sum():g} ratings: a value missed its hash lookup"
            )
        if not rows:
            return empty
        ids, counts, low_sums, high_sums = zip(*rows, strict=True)
        return pd.DataFrame(
            {
                "ratings": np.asarray(counts, dtype=np.int64),
                "answers_hash": hash_hex(np.asarray(low_sums), np.asarray(high_sums)),
            },
            index=pd.Index([str(i) for i in ids], dtype=object),
        )


def _ratings_respondents_sql(
    connection: sqlalchemy.Connection,
    moments: pd.DataFrame,
    clause: str,
    params: dict[str, object],
) -> str:
    """The respondents' hash query on ``survey_ratings`` (a plain table); fills ``params``."""
    table = qualified_ratings(connection)
    distinct = connection.execute(
        sqlalchemy.text(_VALUES_SQL.format(table=table, respondents=clause)), params
    ).fetchall()
    cells = moments[moments["grain"] == "dimension"]
    values = {
        "provider_department": cells["provider_department"].unique(),
        "dimension": cells["dimension"].unique(),
        "consumer_department": pd.unique(pd.Series([row[0] for row in distinct])),
        "score": pd.unique(pd.Series([row[1] for row in distinct], dtype=float)),
    }
    terms = _lookups(values, params)
    return _RESPONDENTS_SQL.format(
        table=table,
        respondents=clause,
        low=" + ".join(terms["low"]),
        high=" + ".join(terms["high"]),
    )


def _coded_respondents_sql(
    connection: sqlalchemy.Connection,
    coded: dict[str, str],
    clause: str,
    params: dict[str, object],
) -> str:
    """The respondents' hash query on the coded tables (:mod:`.coded_queries`); fills
    ``params``. The values to look up are all the period's (a filtered-out respondent's value
    only lengthens a lookup list).
    """
    values = {}
    for column, sql in coded_queries.VALUES_SQL.items():
        found = connection.execute(
            sqlalchemy.text(sql.format(**coded)), {"period": params["period"]}
        ).scalars()
        kind = float if column == "score" else object
        values[column] = pd.unique(pd.Series(list(found), dtype=kind))
    terms = _lookups(values, params)
    parts = {
        f"{group}_{half}": " + ".join(terms[half][first:last])
        for group, (first, last) in {"item": (0, 2), "consumer": (2, 3), "score": (3, 4)}.items()
        for half in ("low", "high")
    }
    return coded_queries.RESPONDENTS_SQL.format(respondents=clause, **coded, **parts)


def _lookups(values: dict[str, object], params: dict[str, object]) -> dict[str, list[str]]:
    """Each hashed column's SQL hash term by 32-bit half, in HASHED_COLUMNS order; fills
    ``params``.
    """
    terms: dict[str, list[str]] = {"low": [], "high": []}
    for position, column in enumerate(HASHED_COLUMNS):
        name = f"h{position}"
        keys = pd.Series(values[column])
        low, high = answer_hash_terms(column, keys)
        params.update({f"{name}_key": keys.tolist(), f"{name}_low": low, f"{name}_high": high})
        key_type = "DOUBLE PRECISION" if column == "score" else "TEXT"
        for half in terms:
            terms[half].append(_TERM.format(name=name, half=half, type=key_type, column=column))
    return terms
