"""The survey suite on a PostgreSQL warehouse runs on the period's DuckDB compute copy (issue 13
item 5): its row-level work (GX, keys, contract) never reads PostgreSQL's rows, its outcomes equal
a DuckDB warehouse's for the same rows, and GX's project keeps one data source for every copy.
"""

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.ingest import expectations_engine
from ice_pipeline.ingest.expectations import run_suite_in_warehouse
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.compute import compute_files, compute_folder
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition
from ice_pipeline_tests.test_warehouse_coded import _ratings

PERIOD, PREVIOUS, LATER = "2026-03", "2026-02", "2026-04"
DEPARTMENTS = {"Sales", "Ops", "IT", "HR", "Finance"}


def _failing(period: str) -> pd.DataFrame:
    """A period whose suite fails: a score out of bounds, an unknown department (the writes
    refuse a repeated key, so the key check passes here; test_expectations_sql fails it)."""
    frame = _ratings(period, 30, 2)
    frame.loc[0, "score"] = 130.0
    frame.loc[frame["consumer_department"] == "Legal", "consumer_department"] = "Mars"
    return frame


def _warehouse(url: str) -> sqlalchemy.Engine:
    upgrade(url)
    engine = connect_warehouse(url)
    for period, rows in ((PREVIOUS, _ratings(PREVIOUS, 40, 1)), (PERIOD, _failing(PERIOD))):
        replace_partition(engine, schema.survey_ratings, rows, {"period": period})
    return engine


@pytest.fixture
def pg(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sqlalchemy.Engine]:
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    engine = _warehouse(postgres_url)
    yield engine
    engine.dispose()


def _suite(engine: sqlalchemy.Engine, gx_dir: Path, period: str = PERIOD, **kwargs: object) -> list:
    return run_suite_in_warehouse(
        "survey_ratings",
        engine,
        period=period,
        previous_period=PREVIOUS,
        gx_dir=gx_dir,
        known_departments=DEPARTMENTS,
        known_dimensions={"quality", "speed"},
        **kwargs,
    )


def _as_records(outcomes: list) -> list[tuple]:
    return [(o.check_name, o.passed, o.blocking, o.description, o.metadata) for o in outcomes]


def test_the_postgres_suite_reads_the_copy_not_postgresql(
    pg: sqlalchemy.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_on: list[tuple[str, str]] = []
    for name in ("key_check", "period_query", "contract_check", "summarise_period"):
        real = getattr(expectations_engine, name)

        def spy(engine: sqlalchemy.Engine, *args: object, _real=real, _name=name) -> object:
            read_on.append((_name, engine.dialect.name))
            return _real(engine, *args)

        monkeypatch.setattr(expectations_engine, name, spy)
    outcomes = _suite(pg, tmp_path / "gx")
    failed = {o.check_name for o in outcomes if not o.passed}
    assert "survey_ratings_rows_meet_contract" in failed and len(failed) >= 3, failed
    # Row-level work on the copy; only the previous period's small summary from PostgreSQL.
    assert sorted(read_on) == [
        ("contract_check", "duckdb"),
        ("key_check", "duckdb"),
        ("period_query", "duckdb"),
        ("summarise_period", "postgresql"),
    ]


def test_the_outcomes_equal_a_duckdb_warehouses_and_postgresqls_own(
    pg: sqlalchemy.Engine, tmp_path: Path
) -> None:
    on_copy = _as_records(_suite(pg, tmp_path / "gx"))
    duck = _warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    on_duckdb = _as_records(_suite(duck, tmp_path / "gx_duck"))
    duck.dispose()
    assert on_copy == on_duckdb
    # ... hence the same Dagster asset-check result (severity, metadata, description).
    from ice_pipeline.defs.checks import Outcome, check_result

    results = [
        check_result([Outcome("survey_ratings", *record) for record in records])
        for records in (on_copy, on_duckdb)
    ]
    assert results[0] == results[1] and not results[0].passed
    # PostgreSQL's own rows (the path before the copy) reach the same verdicts and counts.
    on_postgres = _as_records(_suite(pg, tmp_path / "gx_pg", rows=pg))
    shown = ("rows", "unexpected_count", "duplicate_rows", "failed_checks", "skipped")
    assert [(r[:4], {k: r[4].get(k) for k in shown}) for r in on_copy] == [
        (r[:4], {k: r[4].get(k) for k in shown}) for r in on_postgres
    ]


def test_the_gx_project_keeps_one_source_for_every_copy(
    pg: sqlalchemy.Engine, tmp_path: Path
) -> None:
    """Copies get new paths per write; GX's yml must not grow a data source per run."""
    gx_dir = tmp_path / "gx"
    config = gx_dir / "gx" / "great_expectations.yml"
    first = _suite(pg, gx_dir)
    size = len(config.read_text(encoding="utf-8"))
    # The period written again: a new copy at a new path; then another period's copy.
    replace_partition(pg, schema.survey_ratings, _failing(PERIOD), {"period": PERIOD})
    replace_partition(pg, schema.survey_ratings, _failing(LATER), {"period": LATER})
    assert _as_records(_suite(pg, gx_dir)) == _as_records(first)
    later = _suite(pg, gx_dir, period=LATER)
    assert {o.check_name for o in later} == {o.check_name for o in first}
    text = config.read_text(encoding="utf-8")
    assert text.count("ice_compute_copy:") == 1 and "ice_warehouse_" not in text
    assert ".duckdb" not in text and "127.0.0.1" not in text
    assert abs(len(text) - size) < 200  # the asset's query changes with the period, no more
    # GX opened no earlier copy's path again (DuckDB would have created an empty file there).
    files = sorted(p.name for p in compute_folder(pg).iterdir())
    copies = [p for period in (PREVIOUS, PERIOD, LATER) for p in compute_files(pg, period)]
    assert files == sorted(p.name for p in copies) and len(copies) == 3
    # ... and the copies are free: another process can write them.
    import duckdb

    for path in compute_files(pg, PERIOD):
        duckdb.connect(str(path)).close()


def test_without_a_copy_the_suite_reads_postgresql_and_still_runs(
    pg: sqlalchemy.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy that cannot be made (here: a full disk) costs speed, never the check itself."""
    from ice_pipeline.warehouse import compute

    expected = _as_records(_suite(pg, tmp_path / "gx"))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compute, "period_compute", full)
    fallback = _as_records(_suite(pg, tmp_path / "gx"))
    assert [r[:4] for r in fallback] == [r[:4] for r in expected]
