"""Measure the survey_ratings expectation suite before and after it ran in the warehouse.

Issue 13 item 3, run by hand (not part of the test suite):
``python benchmarks/suite_in_engine.py [rows] [postgresql+psycopg://...]``.

Builds two periods of a synthetic survey_ratings in a migrated warehouse (a DuckDB file, or the
PostgreSQL database given), then times, with GX already imported and a GX project on disk as
the nightly run has:
- before: the period and the previous one read back into pandas (text as categoricals, as the
  pipeline's former per-run shared read did), the roster's departments read as a frame, and
  ``run_suite``;
- after: ``run_suite_in_warehouse`` (GX's SQL data source plus SQL aggregates).
Each is run twice; the second figure is the steady state. The outcomes must agree.
"""

import sys
import tempfile
import time
from pathlib import Path

_ROWS_SQL = {
    # i, the respondent number r and the dimension number d (integer division spelt per engine)
    "duckdb": "SELECT i, i // 24 AS r, (i // 6) % 4 AS d FROM range(:n) t(i)",
    "postgresql": "SELECT i, i / 24 AS r, (i / 6) % 4 AS d FROM generate_series(0, :n - 1) g(i)",
}


def _build(url: str, rows: int) -> None:
    import sqlalchemy as sa

    from ice_pipeline.warehouse.migrate import upgrade

    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        source = _ROWS_SQL[engine.dialect.name]
        for period, day in (("2026-01", "2026-01-28"), ("2026-02", "2026-02-27")):
            connection.execute(
                sa.text(
                    f"""
                    INSERT INTO ice_private.survey_ratings
                    SELECT :period, lpad(to_hex(r), 64, '0'),
                           'Dept ' || (i % 6), 'dim' || d, 'Dept ' || (r % 12),
                           1 + i % 5, 1.0, 5.0, false, (i % 5) * 25, (i % 5) >= 3,
                           CAST(:day AS TIMESTAMP), 'survey.csv', repeat('a', 64), r + 1
                    FROM ({source}) s
                    """  # noqa: S608 - a fixed benchmark query; only the row source varies
                ),
                {"n": rows, "period": period, "day": day},
            )
        connection.execute(
            sa.text(
                "INSERT INTO ice_private.employees (snapshot_period, employee_id, department, "
                "source_file, source_sha256, source_row) SELECT '2026-02', 'e' || i, "
                "'Dept ' || (i % 12), 'hr.csv', repeat('a', 64), i "
                f"FROM ({source}) s"  # noqa: S608
            ),
            {"n": 1000},
        )
    engine.dispose()


# The text the former shared read (defs.support.shared_read) asked for as categoricals.
_CATEGORICAL_TEXT = (
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "source_file",
    "source_sha256",
)


def _before(engine: object, gx_dir: Path) -> list:
    from ice_pipeline.ingest.expectations import run_suite
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.writes import read_frame

    def read(period: str) -> object:
        return read_frame(
            engine, schema.survey_ratings, {"period": period}, categorical=_CATEGORICAL_TEXT
        )

    roster = read_frame(engine, schema.employees)
    return run_suite(
        "survey_ratings",
        read("2026-02"),
        previous=read("2026-01"),
        known_departments=set(roster["department"].dropna().astype(str)),
        period="2026-02",
        gx_dir=gx_dir,
    )


def _after(engine: object, gx_dir: Path) -> list:
    from ice_pipeline.ingest.expectations import run_suite_in_warehouse

    return run_suite_in_warehouse(
        "survey_ratings", engine, period="2026-02", previous_period="2026-01", gx_dir=gx_dir
    )


def _parts(engine: object) -> None:
    """Where the in-warehouse run's time goes, part by part (GX is the rest)."""
    from ice_pipeline.ingest import expectations_engine as sql

    parts = {
        "previous period summary": lambda: sql.summarise_period(
            engine, "survey_ratings", "2026-01"
        ),
        "roster departments": lambda: sql.known_departments(engine),
        "key check (GROUP BY)": lambda: sql.key_check(engine, "survey_ratings", "2026-02"),
        "pandera contract as SQL": lambda: sql.contract_check(engine, "survey_ratings", "2026-02"),
    }
    for name, part in parts.items():
        started = time.perf_counter()
        part()
        print(f"  of which {name}: {time.perf_counter() - started:.2f} s")


def main(rows: int, url: str | None) -> None:
    from ice_pipeline.warehouse.engine import connect_warehouse

    folder = Path(tempfile.mkdtemp(prefix="ice_suite_in_engine_"))
    url = url or f"duckdb:///{folder / 'warehouse.duckdb'}"
    started = time.perf_counter()
    _build(url, rows)
    print(f"built 2 x {rows:,} ratings: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations: {time.perf_counter() - started:.2f} s")
    engine = connect_warehouse(url)
    results = {}
    for name, run in (
        ("before (read back + GX on pandas)", _before),
        ("after (in the warehouse)", _after),
    ):
        for attempt in (1, 2):
            started = time.perf_counter()
            outcomes = run(engine, folder / "gx")
            print(f"{name}, run {attempt}: {time.perf_counter() - started:.2f} s")
        results[name] = [(o.check_name, o.passed) for o in outcomes]
    _parts(engine)
    before, after = results.values()
    # The warehouse path adds one check, the pandera contract as SQL (last).
    print("same outcomes:", before == after[: len(before)], after)
    engine.dispose()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2_400_000,
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
