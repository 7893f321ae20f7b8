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


# --- run_suite_in_warehouse: the nightly path, every table, against run_suite in pandas -------

_COMPARED = ("rows", "observed_value", "unexpected_count", "duplicate_rows", "skipped")


def _store(url: str, frames: dict[str, pd.DataFrame]) -> None:
    """Store frames as plain tables (no keys: duplicate keys must be storable to be found)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        for name in {schema.PRIVATE_SCHEMA, schema.AGGREGATE_SCHEMA}:
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
    for name, frame in frames.items():
        table = next(t for t in schema.metadata.tables.values() if t.name == name)
        frame.to_sql(name, engine, schema=table.schema, index=False, if_exists="append")
    engine.dispose()


def _comparable(outcomes: list) -> dict[str, tuple]:
    def shown(value: object) -> object:
        # A date's text differs by source (pandas "2026-03-02 00:00:00" vs SQL "...T00:00:00").
        return str(value).replace("T", " ") if isinstance(value, str) else value

    return {
        o.check_name: (o.passed, o.blocking, *(shown(o.metadata.get(k)) for k in _COMPARED))
        for o in outcomes
    }


def _fixtures() -> dict[str, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """(this period's rows with failures, the previous period's rows) per table."""
    from ice_pipeline_tests.test_expectations import _tickets

    tickets = _tickets(
        6,
        ticket_id=["T0", "T0", "T2", "T3", "T4", "T5"],
        priority=pd.array([7, 3, 3, 3, 3, 3], dtype="Int64"),
        satisfaction=[9.0, 4.0, 4.0, 4.0, 4.0, None],
        resolution_hours=[-1.0, 2.0, 2.0, 2.0, 2.0, 2.0],
        consumer_department=[None, "Sales", "Sales", "Sales", "Sales", "Mars"],
        opened_at=pd.to_datetime(["2026-03-02"] * 6),
    )
    previous_tickets = _tickets(20, period=["2026-02"] * 20)
    ratings = pd.concat([_failing_ratings(), _ratings(1, respondent_id=["r0"])])
    previous_ratings = _ratings(40, period=["2026-02"] * 40)
    employees = pd.DataFrame(
        {
            "snapshot_period": ["2026-03"] * 3,
            "employee_id": ["a", "b", "b"],
            "department": ["Sales", None, "Sales"],
            "termination_type": ["voluntary", None, "fired"],
        }
    )
    metrics = pd.DataFrame(
        {
            "period": ["2026-03"] * 3,
            "business_unit": ["A", "A", "B"],
            "metric": ["nps", "csat_pct", "churn"],
            "value": [-120.0, 101.0, 40.0],
            "n_responses": pd.array([10, 0, 5], dtype="Int64"),
        }
    )
    comments = ratings[["period", "respondent_id", "provider_department", "consumer_department"]]
    fixtures = {
        "tickets": (tickets, previous_tickets),
        "survey_ratings": (ratings, previous_ratings),
        "survey_comments": (comments, None),
        "employees": (employees, None),
        "external_metrics": (metrics, None),
    }
    return {t: (_complete(t, f), p) for t, (f, p) in fixtures.items()}


def _complete(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Every canonical column, the ones a fixture leaves out holding valid values."""
    from ice_pipeline.ingest.validation import canonical_columns
    from ice_pipeline_tests.test_expectations import SHA

    n = len(frame)
    defaults = {
        "source_file": ["x.csv"] * n,
        "source_sha256": [SHA] * n,
        "source_row": list(range(2, n + 2)),
        "comment_text": ["fine"] * n,
        "hire_date": pd.to_datetime(["2020-01-01"] * n),
        "termination_date": pd.to_datetime([None] * n),
        "attrited": pd.array([pd.NA] * n, dtype="boolean"),
        "department": [None] * n,
        "value_ci_low": [float("nan")] * n,
        "value_ci_high": [float("nan")] * n,
    }
    missing = {c: defaults[c] for c in canonical_columns(table) if c not in frame.columns}
    return frame.reset_index(drop=True).assign(**missing)[canonical_columns(table)]


# What each fixture breaks of its pandera contract (the key check is the suite's own).
CONTRACT_FAILURES = {
    "tickets": {
        "priority:isin",
        "satisfaction:in_range",
        "resolution_hours:greater_than_or_equal_to",
    },
    "survey_ratings": {"score:in_range"},
    "survey_comments": set(),
    "employees": {"department:not_nullable", "termination_type:isin"},
    # n_responses 0 meets the contract (>= 0); the suite's own check wants >= 1.
    "external_metrics": {"metric:isin", "value_within_range"},
}


def test_suites_in_the_warehouse_give_the_pandas_outcomes(
    warehouse_url: str, tmp_path: Path
) -> None:
    """Every table's suite run where the rows are stored, against the same rows in pandas.

    The fixtures fail most checks (duplicate keys included), the warehouse engine stays open
    while GX opens its own connection, and the GX project on disk never holds the URL.
    """
    import sqlalchemy

    from ice_pipeline.ingest.expectations import run_suite_in_warehouse

    fixtures = _fixtures()
    stored = {t: pd.concat([f, p]) if p is not None else f for t, (f, p) in fixtures.items()}
    _store(warehouse_url, stored)
    engine = sqlalchemy.create_engine(warehouse_url)
    with engine.connect() as held:  # a pipeline step holds its own connection meanwhile
        held.exec_driver_sql("SELECT 1")
        for table, (frame, previous) in fixtures.items():
            in_sql = run_suite_in_warehouse(
                table,
                engine,
                period=PERIOD,
                previous_period="2026-02",
                gx_dir=tmp_path / "gx",
                known_departments={"Sales", "IT"},
                # Plain tables (duplicate keys storable), not the coded layout a PostgreSQL
                # compute copy is made from: read where stored (test_expectations_copy.py).
                rows=engine,
            )
            in_pandas = run_suite(
                table,
                frame,
                previous=previous,
                known_departments={"Sales", "IT"},
                period=PERIOD,
                gx_dir=None,
            )
            contract = in_sql.pop()  # the warehouse path adds the pandera contract's row checks
            assert contract.check_name == f"{table}_rows_meet_contract" and not contract.blocking
            assert set(contract.metadata["failed_checks"]) == CONTRACT_FAILURES[table], table
            assert _comparable(in_sql) == _comparable(in_pandas), table
            failed = {o.check_name for o in in_sql if not o.passed}
            assert f"{table}_key_unique" in failed or table == "external_metrics", failed
            assert len(failed) >= 2, (table, failed)
    engine.dispose()
    config = (tmp_path / "gx" / "gx" / "great_expectations.yml").read_text(encoding="utf-8")
    assert "ice_warehouse_" in config and "${ICE_GX_WAREHOUSE_" in config
    assert warehouse_url not in config and "127.0.0.1" not in config and ".duckdb" not in config
    from ice_pipeline.ingest.expectations import build_data_docs

    index = build_data_docs(tmp_path / "gx")  # the docs render the SQL source's results too
    assert index is not None and "ice_tickets" in index.read_text(encoding="utf-8")


def test_roster_departments_read_in_the_warehouse(warehouse_url: str, tmp_path: Path) -> None:
    """Without given departments, the reference checks use the roster's distinct departments."""
    from ice_pipeline.ingest.expectations import run_suite_in_warehouse

    fixtures = _fixtures()
    _store(
        warehouse_url, {"tickets": fixtures["tickets"][0], "employees": fixtures["employees"][0]}
    )
    import sqlalchemy

    engine = sqlalchemy.create_engine(warehouse_url)
    outcomes = {
        o.check_name: o
        for o in run_suite_in_warehouse(
            "tickets", engine, period=PERIOD, previous_period="2026-02", gx_dir=None
        )
    }
    engine.dispose()
    # The roster knows Sales only: IT providers and the Mars consumer are unknown.
    provider = outcomes["tickets_provider_department_known_to_hr"]
    consumer = outcomes["tickets_consumer_department_known_to_hr"]
    assert not provider.passed and provider.metadata["partial_unexpected_list"] == ["IT"]
    assert not consumer.passed and consumer.metadata["partial_unexpected_list"] == ["Mars"]
    assert outcomes["tickets_volume_vs_previous_period"].metadata["skipped"]


def test_the_duckdb_file_is_free_for_other_processes_after_a_suite(tmp_path: Path) -> None:
    """GX's persisted connection is closed after the run: another process can open the file."""
    import subprocess
    import sys

    import sqlalchemy

    from ice_pipeline.ingest.expectations import run_suite_in_warehouse

    path = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{path}"
    _store(url, {"tickets": _fixtures()["tickets"][0]})
    engine = sqlalchemy.create_engine(url)
    outcomes = run_suite_in_warehouse(
        "tickets",
        engine,
        period=PERIOD,
        previous_period="2026-02",
        gx_dir=tmp_path / "gx",
        known_departments={"Sales"},
    )
    engine.dispose()
    assert outcomes and not all(o.passed for o in outcomes)
    probe = f"import duckdb; print(duckdb.connect({str(path)!r}).execute('SELECT 1').fetchone())"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and "(1,)" in done.stdout, done.stderr
