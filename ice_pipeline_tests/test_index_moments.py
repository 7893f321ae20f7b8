"""The SQL moments path (index/moments.py) gives the pandas path's tables to 1e-9, both engines.

The moments are computed by the warehouse itself (DuckDB, or PostgreSQL in the PostgreSQL
variant), from a random organisation written to ``survey_ratings``: uneven department sizes,
respondents rating one to three providers on some of the dimensions, groups under k, groups
with no spread, and two periods so the trend is compared too.
"""

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.index import coded_queries
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.moments import period_moments, period_tables
from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.index.scoring import SCORE_TABLES, add_trend, compute_period_scores
from ice_pipeline.index.warehouse_ratings import WarehouseRatings
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition

PERIODS = ("2026-02", "2026-03")
PROVIDERS = ("Facilities", "Finance", "HR", "IT", "Legal", "Procurement")
DIMENSIONS = ("quality", "responsiveness", "speed", "communication")


def random_organisation(period: str, seed: int) -> pd.DataFrame:
    """survey_ratings rows of a random organisation for one period."""
    rng = np.random.default_rng(seed)
    sizes = {"Sales": 120, "Ops": 60, "Eng": 45, "Marketing": 9, "Board": 3, "Tiny": 1}
    rows: list[tuple[str, str, str, str, float]] = []
    for consumer, size in sizes.items():
        for i in range(size):
            respondent = f"{consumer}-{i}-{seed}"
            # Board respondents all rate two providers (a column that adds up).
            n_rated = 2 if consumer == "Board" else int(rng.integers(1, 4))
            for provider in rng.choice(PROVIDERS, size=n_rated, replace=False):
                answered = rng.choice(DIMENSIONS, size=int(rng.integers(1, 5)), replace=False)
                for dimension in answered:
                    # Legal's raters all answer 4: a group with no spread.
                    raw = 4 if provider == "Legal" else int(rng.integers(1, 6))
                    rows.append((respondent, consumer, str(provider), str(dimension), raw))
    frame = pd.DataFrame(
        rows,
        columns=[
            "respondent_id",
            "consumer_department",
            "provider_department",
            "dimension",
            "rating_raw",
        ],
    )
    frame["period"] = period
    frame["rating_raw"] = frame["rating_raw"].astype(float)
    frame["scale_min"], frame["scale_max"], frame["reversed"] = 1.0, 5.0, False
    frame["score"] = to_score(frame["rating_raw"], frame["scale_min"], frame["scale_max"], False)
    frame["favourable"] = is_favourable(
        frame["rating_raw"], frame["scale_min"], frame["scale_max"], False
    )
    frame["responded_at"] = pd.NaT
    frame["source_file"], frame["source_sha256"] = "random.csv", "0" * 64
    frame["source_row"] = np.arange(len(frame))
    return frame


@pytest.fixture
def organisation(
    warehouse_url: str,
) -> Iterator[tuple[sqlalchemy.Engine, dict[str, pd.DataFrame]]]:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    ratings = {period: random_organisation(period, seed) for seed, period in enumerate(PERIODS)}
    for period, frame in ratings.items():
        replace_partition(engine, schema.survey_ratings, frame, {"period": period})
    yield engine, ratings
    engine.dispose()


def pandas_tables(
    ratings: pd.DataFrame, previous: pd.DataFrame | None, kpis: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """The previous implementation, as the ice_tables asset ran it before the moments path."""
    config = IndexConfig()
    tables = compute_period_scores(ratings, kpis, config)
    before = compute_period_scores(previous, None, config) if previous is not None else None
    for name in ("ice_scores", "company_scores"):
        tables[name] = add_trend(
            tables[name], before[name] if before else None, ratings, previous, config
        )
    return tables


def assert_same_tables(
    moments: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame]
) -> None:
    for name in SCORE_TABLES:
        expected = reference[name].reset_index(drop=True)
        actual = moments[name].reset_index(drop=True)
        assert list(actual.columns) == list(expected.columns), name
        assert len(actual) == len(expected) > 0, name
        pd.testing.assert_frame_equal(
            actual, expected, check_exact=False, rtol=1e-9, atol=1e-9, obj=name
        )


def test_moments_path_equals_pandas_path(
    organisation: tuple[sqlalchemy.Engine, dict[str, pd.DataFrame]],
) -> None:
    engine, ratings = organisation
    before, now = PERIODS
    kpis = pd.DataFrame(
        {
            "period": now,
            "provider_department": ["IT", "HR"],
            "ice_k": [71.5, 55.0],
            "tickets_n": [300, 120],
        }
    )
    reference = pandas_tables(ratings[now], ratings[before], kpis)
    tables = period_tables(engine, now, before, kpis, IndexConfig())
    assert_same_tables(tables, reference)
    # The comparison covers what it claims: suppression, a trend and a column that adds up.
    assert reference["matrix_scores"]["suppressed"].any()
    assert reference["matrix_scores"]["suppressed"].sum() < len(reference["matrix_scores"])
    assert reference["ice_scores"]["ice_p_change"].notna().any()
    assert not np.isnan(reference["company_scores"]["ice_p_change_ci_low"].iloc[0])
    legal = reference["dimension_scores"]["provider_department"] == "Legal"
    assert (reference["dimension_scores"].loc[legal, "score_ci_low"] == 75).all()


def test_first_period_has_no_trend_and_empty_period_gives_empty_tables(
    organisation: tuple[sqlalchemy.Engine, dict[str, pd.DataFrame]],
) -> None:
    engine, ratings = organisation
    first = PERIODS[0]
    reference = pandas_tables(ratings[first], None, None)
    tables = period_tables(engine, first, "2026-01", None, IndexConfig())
    assert_same_tables(tables, reference)
    assert tables["ice_scores"]["ice_p_change"].isna().all()
    assert period_moments(engine, "2025-01").empty
    empty = period_tables(engine, "2025-01", "2024-12", None, IndexConfig())
    assert all(empty[name].empty for name in SCORE_TABLES)


def test_moments_hold_respondent_first_counts(
    organisation: tuple[sqlalchemy.Engine, dict[str, pd.DataFrame]],
) -> None:
    engine, ratings = organisation
    frame = ratings[PERIODS[1]]
    moments = period_moments(engine, PERIODS[1])
    company = moments[moments["grain"] == "company"].iloc[0]
    assert company["n"] == frame["respondent_id"].nunique()
    providers = moments[moments["grain"] == "provider"].set_index("provider_department")
    pairs = frame.groupby("provider_department")["respondent_id"].nunique()
    assert providers["n"].to_dict() == pairs.astype(float).to_dict()
    board = moments[(moments["grain"] == "consumer") & (moments["consumer_department"] == "Board")]
    assert board[["fewest_rated", "most_rated"]].to_numpy().tolist() == [[2.0, 2.0]]


def test_coded_tables_queries_equal_the_views(
    organisation: tuple[sqlalchemy.Engine, dict[str, pd.DataFrame]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Moments, hashes and respondents read from the coded tables (integer keys) equal the same
    queries on the ``survey_ratings`` view, which is what a plain-table warehouse falls back to."""
    engine, ratings = organisation
    period = PERIODS[1]
    dropped = sorted(ratings[period]["respondent_id"].unique())[:7]

    def read() -> list[object]:
        handle = WarehouseRatings(engine, period)
        fewer = WarehouseRatings(engine, period).without(dropped)
        return [
            handle.moments(),
            handle.respondents(),
            handle.respondent_ids(),
            fewer.moments(),
            fewer.respondents(),
        ]

    with engine.connect() as connection:
        assert coded_queries.coded_tables(connection) is not None
    coded = read()
    monkeypatch.setattr(coded_queries, "coded_tables", lambda connection: None)
    view = read()
    for got, expected in zip(coded, view, strict=True):
        if isinstance(expected, pd.DataFrame) and "grain" in expected:
            pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
        elif isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index())
        else:
            assert got == expected
    assert len(coded[4]) == len(coded[1]) - 7
