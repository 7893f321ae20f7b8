"""GX's SQL data source in the warehouse (issue 13 item 3): same outcomes as the pandas path.

GX 1.24.1 fetches after closing its connection on DuckDB, so as shipped every expectation
fails on nothing; ``persist_duckdb_connections`` (a private GX name, hence the pin) fixes it.
These tests run the survey_ratings suite's GX expectations on a failing fixture stored in each
engine and compare every outcome with ``run_suite`` on the same rows in pandas.
"""

import warnings
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.ingest.expectations import (
    FRESHNESS_DAYS,
    _context,
    _plan,
    persist_duckdb_connections,
    run_suite,
)
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition
from ice_pipeline_tests.test_expectations import _ratings

PERIOD = "2026-03"


def _failing_ratings() -> pd.DataFrame:
    return _ratings(
        4,
        score=[75.0, 130.0, 75.0, 75.0],
        dimension=["quality", "quality", "speed", "quality"],
        respondent_id=["r0", "r1", "r2", "r3"],
        consumer_department=["Sales", "Sales", "Sales", "Mars"],
        responded_at=pd.to_datetime([None, None, "2026-03-01", None]),
    )


def _gx_on_sql(url: str, frame: pd.DataFrame, previous: pd.DataFrame) -> dict[str, bool]:
    """The suite's GX expectations run by GX's SQL data source on the stored period."""
    import great_expectations as gx

    plans = [
        p
        for p in _plan(
            "survey_ratings", frame, previous, {"Sales"}, {"quality"}, PERIOD, FRESHNESS_DAYS
        )
        if p.expectation is not None
    ]
    context = _context(None)
    table = f"{schema.survey_ratings.schema}.survey_ratings"
    source = context.data_sources.add_sql("warehouse", connection_string=url)
    asset = source.add_query_asset(
        "survey_ratings", query=f"SELECT * FROM {table} WHERE period = '{PERIOD}'"
    )
    batch = asset.add_batch_definition_whole_table("whole_period")
    suite = context.suites.add(
        gx.ExpectationSuite(name="sql", expectations=[p.expectation for p in plans])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = context.validation_definitions.add(
            gx.ValidationDefinition(name="sql", data=batch, suite=suite)
        ).run(result_format="SUMMARY")
    return {r.expectation_config.meta["check_name"]: bool(r.success) for r in result.results}


def test_gx_sql_source_gives_the_pandas_outcomes(warehouse_url: str) -> None:
    persist_duckdb_connections()
    frame, previous = _failing_ratings(), _ratings(40)
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    replace_partition(engine, schema.survey_ratings, frame, {"period": PERIOD})
    engine.dispose()  # GX opens its own connection to the same DuckDB file

    in_sql = _gx_on_sql(warehouse_url, frame, previous)
    in_pandas = {
        o.check_name: o.passed
        for o in run_suite(
            "survey_ratings",
            frame,
            previous=previous,
            known_departments={"Sales"},
            period=PERIOD,
            gx_dir=None,
            known_dimensions={"quality"},
        )
    }
    assert len(in_sql) >= 4
    assert in_sql == {name: in_pandas[name] for name in in_sql}
    # The fixture fails every check GX evaluates: a source returning no rows could not match.
    assert not any(in_sql.values())


def test_persisted_duckdb_connection_is_still_where_gx_reads_it() -> None:
    """The pinned private name: a GX upgrade that moves it fails here, not silently at night."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as gx_sql

    persist_duckdb_connections()
    persist_duckdb_connections()  # idempotent
    names = [str(getattr(d, "value", d)) for d in gx_sql._PERSISTED_CONNECTION_DIALECTS]
    assert names.count("duckdb") == 1
    assert gx_sql._dialect_requires_persisted_connection(url="duckdb:///x.duckdb")
    assert not gx_sql._dialect_requires_persisted_connection(url="postgresql+psycopg://h/db")


def test_unpatched_gx_on_duckdb_sees_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the fix exists: without it GX's DuckDB outcomes are wrong (this fails if GX fixes it)."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as gx_sql

    monkeypatch.setattr(
        gx_sql,
        "_PERSISTED_CONNECTION_DIALECTS",
        tuple(d for d in gx_sql._PERSISTED_CONNECTION_DIALECTS if str(d) != "duckdb"),
    )
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    good = _ratings(10)
    upgrade(url)
    engine = connect_warehouse(url)
    replace_partition(engine, schema.survey_ratings, good, {"period": PERIOD})
    engine.dispose()
    outcomes = _gx_on_sql(url, good, _ratings(10))
    assert outcomes and not all(outcomes.values())  # good rows, yet checks fail
