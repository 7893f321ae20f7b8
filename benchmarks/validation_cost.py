"""Measure what validating a large survey_ratings costs (issue 13 item 3), not part of the suite.

Builds a synthetic 2.4M-row survey_ratings in an in-memory DuckDB, then times:
1. reading it back into pandas (what the GX suite does today before it runs),
2. pandera's SurveyRatingsModel on the frame (``validate_canonical``, the ingest contract),
3. the great-expectations suite on the frame (``run_suite``, the nightly checks, incl. GX import),
4. the same row checks as one DuckDB query (what running them in the engine costs).

Run by hand: ``python benchmarks/validation_cost.py [rows]``. Prints seconds per step.
"""

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the script imports inside its functions (GX import is timed)
    import duckdb
    import pandas as pd


def main(rows: int = 2_400_000) -> None:
    import tempfile

    import duckdb

    folder = tempfile.mkdtemp(prefix="ice_validation_cost_")
    path = f"{folder}/warehouse.duckdb"
    con = duckdb.connect(path)
    t = time.perf_counter()
    con.execute(
        f"""
        CREATE TABLE survey_ratings AS
        SELECT '2026-01' AS period,
               lpad(printf('%x', i // 24), 64, '0') AS respondent_id,
               'Dept ' || (i % 6)::VARCHAR AS provider_department,
               'dim' || ((i // 6) % 4)::VARCHAR AS dimension,
               'Dept ' || ((i // 24) % 12)::VARCHAR AS consumer_department,
               (1 + i % 5)::DOUBLE AS rating_raw,
               1.0::DOUBLE AS scale_min, 5.0::DOUBLE AS scale_max,
               false AS reversed, ((i % 5) * 25)::DOUBLE AS score, (i % 5) >= 3 AS favourable,
               TIMESTAMP '2026-01-15 10:00:00' AS responded_at,
               'survey.csv' AS source_file, repeat('a', 64) AS source_sha256,
               (i // 24 + 1)::INTEGER AS source_row
        FROM range({rows}) r(i)
        """
    )
    print(f"build table ({rows:,} rows): {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    frame = con.execute("SELECT * FROM survey_ratings").df()
    print(f"read back into pandas: {time.perf_counter() - t:.2f} s")

    from ice_pipeline.ingest.common import DecodedFile
    from ice_pipeline.ingest.validation import validate_canonical

    decoded = DecodedFile(Path("survey.csv"), "", "utf-8", "a" * 64, 0)
    t = time.perf_counter()
    good, quarantine = validate_canonical("survey_ratings", frame, "surveys", decoded)
    print(
        f"pandera (pandas) validate_canonical: {time.perf_counter() - t:.2f} s "
        f"({len(good):,} good, {len(quarantine):,} quarantined)"
    )

    _checks_in_duckdb(con)
    _gx_on_pandas(frame)
    con.close()
    _gx_on_duckdb(path, frame)


def _checks_in_duckdb(con: "duckdb.DuckDBPyConnection") -> None:
    """The suite's row checks and key check, each as one DuckDB query on the table."""
    t = time.perf_counter()
    bad = con.execute(
        """
        SELECT count(*) FILTER (WHERE NOT regexp_full_match(period, '\\d{4}-\\d{2}')),
               count(*) FILTER (WHERE NOT regexp_full_match(source_sha256, '[0-9a-f]{64}')),
               count(*) FILTER (WHERE score NOT BETWEEN 0 AND 100),
               count(*) FILTER (WHERE rating_raw NOT BETWEEN scale_min AND scale_max),
               count(*) FILTER (WHERE respondent_id IS NULL OR provider_department IS NULL
                                OR dimension IS NULL OR consumer_department IS NULL
                                OR source_row < 0)
        FROM survey_ratings
        """
    ).fetchone()
    print(f"same row checks as one DuckDB query: {time.perf_counter() - t:.2f} s -> {bad}")
    t = time.perf_counter()
    con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM survey_ratings GROUP BY period, respondent_id,"
        " provider_department, dimension HAVING count(*) > 1)"
    ).fetchone()
    print(f"key check as one DuckDB query: {time.perf_counter() - t:.2f} s")


def _gx_on_pandas(frame: "pd.DataFrame") -> None:
    """The GX suite on the pandas frame, once cold (incl. the GX import) and once warm."""
    t = time.perf_counter()
    from ice_pipeline.ingest.expectations import run_suite

    outcomes = run_suite(
        "survey_ratings",
        frame,
        previous=None,
        known_departments={f"Dept {i}" for i in range(12)},
        period="2026-01",
        gx_dir=None,
    )
    print(
        f"GX suite on pandas (incl. GX import): {time.perf_counter() - t:.2f} s "
        f"({sum(o.passed for o in outcomes)}/{len(outcomes)} passed)"
    )
    t = time.perf_counter()
    run_suite(
        "survey_ratings",
        frame,
        previous=None,
        known_departments={f"Dept {i}" for i in range(12)},
        period="2026-01",
        gx_dir=None,
    )
    print(f"GX suite on pandas (second run, GX loaded): {time.perf_counter() - t:.2f} s")


def _gx_on_duckdb(path: str, frame: object) -> None:
    """The same suite's GX expectations through GX's SQL data source on the DuckDB file."""
    import warnings

    import great_expectations as gx

    from ice_pipeline.ingest.expectations import (
        FRESHNESS_DAYS,
        _context,
        _plan,
        persist_duckdb_connections,
    )

    persist_duckdb_connections()
    t = time.perf_counter()
    plans = _plan(
        "survey_ratings",
        frame,
        None,
        {f"Dept {i}" for i in range(12)},
        None,
        "2026-01",
        FRESHNESS_DAYS,
    )
    context = _context(None)
    asset = context.data_sources.add_sql(
        "wh", connection_string=f"duckdb:///{path}"
    ).add_query_asset(
        "survey_ratings", query="SELECT * FROM survey_ratings WHERE period = '2026-01'"
    )
    runnable = [p.expectation for p in plans if p.expectation is not None]
    suite = context.suites.add(gx.ExpectationSuite(name="sql", expectations=runnable))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name="sql", data=asset.add_batch_definition_whole_table("whole"), suite=suite
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = definition.run(result_format="SUMMARY")
    print(
        f"GX suite through GX's SQL source on DuckDB (GX loaded): {time.perf_counter() - t:.2f} s "
        f"({sum(r.success for r in result.results)}/{len(result.results)} GX checks passed)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_400_000)
