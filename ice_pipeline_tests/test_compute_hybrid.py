"""The PostgreSQL hybrid (issue 13 item 5): a period's row-level SQL runs on a local DuckDB copy.

A write of survey ratings to PostgreSQL leaves the period's compute copy; the index's moments
run on it (not on PostgreSQL), equal PostgreSQL's own; a deleted, stale or damaged copy is
detected and rebuilt, never used; on DuckDB the warehouse is its own compute engine.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.index import warehouse_ratings
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.moments import period_moments
from ice_pipeline.index.publish import publish_from_warehouse
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.compute import compute_files, period_compute
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition
from ice_pipeline_tests.test_warehouse_coded import _ratings

PERIOD, PREVIOUS = "2026-03", "2026-02"


@pytest.fixture
def pg(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sqlalchemy.Engine]:
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    upgrade(postgres_url)
    engine = connect_warehouse(postgres_url)
    for period, seed in ((PREVIOUS, 1), (PERIOD, 2)):
        replace_partition(
            engine, schema.survey_ratings, _ratings(period, 60, seed), {"period": period}
        )
    yield engine
    engine.dispose()


def _moments_on(engine: sqlalchemy.Engine, period: str) -> tuple[str, pd.DataFrame]:
    with period_compute(engine, period) as compute:
        return compute.dialect.name, period_moments(compute, period)


def test_the_write_leaves_a_copy_whose_moments_equal_postgresql(pg: sqlalchemy.Engine) -> None:
    assert len(compute_files(pg, PERIOD)) == 1
    dialect, moments = _moments_on(pg, PERIOD)
    assert dialect == "duckdb"
    assert len(moments) > 0
    pd.testing.assert_frame_equal(moments, period_moments(pg, PERIOD))


def test_ice_tables_compute_the_period_on_the_copy(
    pg: sqlalchemy.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[tuple[str, str]] = []
    real = warehouse_ratings.period_moments

    def spy(engine: sqlalchemy.Engine, period: str, **kwargs: object) -> pd.DataFrame:
        used.append((period, engine.dialect.name))
        return real(engine, period, **kwargs)

    monkeypatch.setattr(warehouse_ratings, "period_moments", spy)
    publication = publish_from_warehouse(pg, PERIOD, PREVIOUS, None, IndexConfig())
    assert not publication.tables["ice_scores"].empty
    # Both periods have a valid copy: neither period's rows are read by PostgreSQL.
    assert {dialect for _, dialect in used} == {"duckdb"}
    assert {period for period, _ in used} == {PERIOD, PREVIOUS}


def test_a_deleted_copy_is_rebuilt_and_gives_the_same_numbers(pg: sqlalchemy.Engine) -> None:
    before = _moments_on(pg, PERIOD)[1]
    (copy,) = compute_files(pg, PERIOD)
    copy.unlink()
    with period_compute(pg, PERIOD, rebuild=False) as compute:
        assert compute.dialect.name == "postgresql"  # without rebuild: the warehouse itself
    assert compute_files(pg, PERIOD) == []
    dialect, after = _moments_on(pg, PERIOD)
    assert dialect == "duckdb"
    assert len(compute_files(pg, PERIOD)) == 1
    pd.testing.assert_frame_equal(after, before)


def test_a_stale_copy_is_detected(pg: sqlalchemy.Engine, tmp_path: Path) -> None:
    (path,) = compute_files(pg, PERIOD)
    kept = tmp_path / "old.duckdb"
    shutil.copy(path, kept)
    changed = _ratings(PERIOD, 60, seed=3)  # same respondents and keys, other answers
    replace_partition(pg, schema.survey_ratings, changed, {"period": PERIOD})
    (current,) = compute_files(pg, PERIOD)
    # The old rows under the current copy's name, and under their own: as if this run's copy
    # had not been written (another machine wrote the period) or had been overwritten.
    shutil.copy(kept, current)
    shutil.copy(kept, path)
    with period_compute(pg, PERIOD, rebuild=False) as compute:
        assert compute.dialect.name == "postgresql"  # both stale copies are refused
    dialect, moments = _moments_on(pg, PERIOD)  # rebuilt from the warehouse
    assert dialect == "duckdb"
    pd.testing.assert_frame_equal(moments, period_moments(pg, PERIOD))
    assert len(compute_files(pg, PERIOD)) == 1  # the stale copies are gone
    old = period_moments(sqlalchemy.create_engine(f"duckdb:///{kept}"), PERIOD)
    assert not old.equals(moments)  # the stale copy would have given other numbers


def test_a_rewrite_in_the_same_process_is_seen(pg: sqlalchemy.Engine) -> None:
    """DuckDB keeps one instance per path while a connection is open: a copy replaced under
    the same path would be read as the old one. Each copy gets a new path."""
    with period_compute(pg, PERIOD) as compute, compute.connect():  # held open meanwhile
        changed = _ratings(PERIOD, 60, seed=4)
        replace_partition(pg, schema.survey_ratings, changed, {"period": PERIOD})
        dialect, moments = _moments_on(pg, PERIOD)
    assert dialect == "duckdb"
    pd.testing.assert_frame_equal(moments, period_moments(pg, PERIOD))


def test_a_damaged_copy_is_rebuilt(pg: sqlalchemy.Engine) -> None:
    (path,) = compute_files(pg, PERIOD)
    path.write_bytes(b"not a database")
    dialect, moments = _moments_on(pg, PERIOD)
    assert dialect == "duckdb"
    pd.testing.assert_frame_equal(moments, period_moments(pg, PERIOD))


def test_duckdb_is_its_own_compute_engine(duckdb_url: str) -> None:
    upgrade(duckdb_url)
    engine = connect_warehouse(duckdb_url)
    try:
        replace_partition(
            engine, schema.survey_ratings, _ratings(PERIOD, 10, 1), {"period": PERIOD}
        )
        with period_compute(engine, PERIOD) as compute:
            assert compute is engine
    finally:
        engine.dispose()
