"""Backfills are safe: grouping runs differently, or running partitions at once, changes nothing.

* A backfill (``ice-pipeline run --all``: ingest once, then every period oldest first) leaves the
  same rows in every warehouse table as one separate ``ice-pipeline run --partition P`` per period.
* Two partitions re-materialised at the same moment by two processes against one PostgreSQL
  warehouse leave the same rows as the same two run one after the other.

The backfill comparison covers the issue's 24 months of a 300-employee demo; the 24 separate
runs are separate Dagster runs started one after another from one process (24 interpreter
start-ups would add minutes and test nothing more). The concurrency test uses 3 months.
The report assets are left out of these runs: rendering and delivery cost most of a period's
time and have their own idempotency tests (report archive, delivery ledger); their tables are
still compared (empty on both sides).
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ice_pipeline.warehouse import schema

pytestmark = pytest.mark.slow

PERIODS = ["2026-08", "2026-09", "2026-10"]
BACKFILL_PERIODS = [f"{2024 + (10 + i) // 12}-{(10 + i) % 12 + 1:02d}" for i in range(24)]
# Columns that record when or by which run a row was written, not what it says.
VOLATILE_COLUMNS = {
    "run_id",
    "quarantined_at",
    "ingested_at",
    "generated_at",
    "updated_at",
    "started_at",
    "finished_at",
    "claimed_by",  # the delivery ledger's claim: host, pid and token of the run
    "claimed_at",
}
# One row per Dagster run and step: separate runs have more runs by construction.
RUN_BOOKKEEPING_TABLES = {"run_log"}
REPORT_ASSET_PREFIXES = (
    "executive_report",
    "disclosure_audit",
    "report_delivery",
    "provider_report",
)

RUN_ONE_PERIOD = """
import sys
from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline.runner import Runner

runner = Runner()
runner.partitioned = [key for key in runner.partitioned
                      if not key.to_user_string().startswith({prefixes!r})]
if "--one-run-per-period" in sys.argv:
    summaries = [runner.run([period]) for period in sys.argv[2:]]
else:
    summaries = [runner.run(sys.argv[1:] or None)]
dispose_engines()
for summary in summaries:
    print(summary.failed_step, summary.failure)
sys.exit(0 if all(summary.ok for summary in summaries) else 1)
"""


def _environment(tmp_path: Path, landing: Path, warehouse_url: str, name: str) -> dict[str, str]:
    data_dir = tmp_path / name
    (data_dir).mkdir(parents=True, exist_ok=True)
    if not (data_dir / "landing").exists():
        (data_dir / "landing").symlink_to(landing, target_is_directory=True)
    home = tmp_path / f"{name}_dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("ICE_", "DAGSTER_"))
    }
    env.update(
        {
            "ICE_DATA_DIR": str(data_dir),
            "ICE_WAREHOUSE_URL": warehouse_url,
            "ICE_DEMO_MODE": "1",
            "DAGSTER_HOME": str(home),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="module")
def demo_landing_24_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ice_pipeline.demo.generator import generate_demo

    landing = tmp_path_factory.mktemp("demo24") / "landing"
    generate_demo(landing, employees=300, periods=24, end_period=BACKFILL_PERIODS[-1])
    return landing


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ice_pipeline.demo.generator import generate_demo

    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate_demo(landing, employees=300, periods=len(PERIODS), end_period=PERIODS[-1])
    return landing


def _run_periods(
    tmp_path: Path, env: Mapping[str, str], periods: list[str] | None
) -> subprocess.Popen[str]:
    """``ice-pipeline run`` (without the report assets) in its own process, as the CLI runs it."""
    script = tmp_path / "run_periods.py"
    script.write_text(RUN_ONE_PERIOD.format(prefixes=REPORT_ASSET_PREFIXES))
    args = [sys.executable, str(script), *(periods or [])]
    return subprocess.Popen(
        args,
        env=dict(env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output[-4000:]
    return output


def _backfill_all(tmp_path: Path, env: Mapping[str, str]) -> str:
    """``ice-pipeline run --all``: one process, ingest once, every ingested period oldest first."""
    script = tmp_path / "run_all.py"
    script.write_text(
        RUN_ONE_PERIOD.format(prefixes=REPORT_ASSET_PREFIXES).replace(
            "runner.run(sys.argv[1:] or None)", "runner.run(None, all_periods=True)"
        )
    )
    process = subprocess.run(
        [sys.executable, str(script)],
        env=dict(env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert process.returncode == 0, (process.stdout + process.stderr)[-4000:]
    return process.stdout


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    """Every table of the schema of record, volatile columns dropped, rows in a canonical order."""
    engine = create_engine(url)
    tables: dict[str, pd.DataFrame] = {}
    try:
        with engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                if table.name in RUN_BOOKKEEPING_TABLES:
                    continue
                frame = pd.read_sql(table.select(), conn)
                frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS])
                if "source_file" in frame.columns:
                    # Provenance records the path the file was read from; compare from landing/ on.
                    frame["source_file"] = frame["source_file"].str.replace(
                        r"^.*/landing/", "landing/", regex=True
                    )
                if "target" in frame.columns:  # the delivery's outbox path, per data dir
                    frame["target"] = frame["target"].str.replace(
                        r"^.*/outbox/", "outbox/", regex=True
                    )
                frame = frame.astype(object).where(frame.notna(), None)
                frame = frame.sort_values(
                    list(frame.columns), key=lambda s: s.astype(str)
                ).reset_index(drop=True)
                tables[f"{table.schema}.{table.name}"] = frame
    finally:
        engine.dispose()
    return tables


def assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False, obj=name)


def _copy_of_database(url: str) -> Iterator[str]:
    """A copy of the database at ``url`` (CREATE DATABASE ... TEMPLATE), dropped afterwards."""
    source = make_url(url).database
    name = f"ice_t_{uuid.uuid4().hex[:12]}"
    # A template database must have no sessions, so connect to the server's "postgres" database.
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


# 25 whole runs of 300 employees (24 one-period runs and one backfill): a hang guard above the
# suite-wide 600 s, which a busy machine can pass (measured 803-906 s at load 6).
@pytest.mark.timeout(1800)
def test_backfill_equals_separate_runs(tmp_path: Path, demo_landing_24_months: Path) -> None:
    landing = demo_landing_24_months
    backfill_url = f"duckdb:///{tmp_path / 'backfill.duckdb'}"
    separate_url = f"duckdb:///{tmp_path / 'separate.duckdb'}"
    output = _backfill_all(tmp_path, _environment(tmp_path, landing, backfill_url, "backfill"))
    assert all(f"{period}:" in output for period in BACKFILL_PERIODS), output
    separate_env = _environment(tmp_path, landing, separate_url, "separate")
    _finish(_run_periods(tmp_path, separate_env, ["--one-run-per-period", *BACKFILL_PERIODS]))

    backfilled, separate = snapshot(backfill_url), snapshot(separate_url)
    assert len(backfilled["ice.ice_scores"]) > 0
    assert sorted(backfilled["ice.company_scores"]["period"].unique()) == BACKFILL_PERIODS
    assert len(backfilled["ice.correlations"]) > 0
    assert_same_tables(backfilled, separate)


@pytest.mark.postgres
def test_concurrent_partitions_on_postgres_equal_sequential_runs(
    tmp_path: Path, demo_landing: Path, postgres_url: str
) -> None:
    concurrent_url = postgres_url
    # The same starting point for both: every period computed once, then the database copied.
    _backfill_all(tmp_path, _environment(tmp_path, demo_landing, concurrent_url, "baseline"))
    for sequential_url in _copy_of_database(concurrent_url):
        # Both keep the baseline's data directory (parse cache, GX context), as a server does
        # from one night to the next; only the warehouse differs.
        concurrent_env = _environment(tmp_path, demo_landing, concurrent_url, "baseline")
        sequential_env = _environment(tmp_path, demo_landing, sequential_url, "baseline")

        # Two processes re-materialise two partitions against one PostgreSQL warehouse at once.
        first, second = PERIODS[-2], PERIODS[-1]
        started = [
            _run_periods(tmp_path, concurrent_env, [first]),
            _run_periods(tmp_path, concurrent_env, [second]),
        ]
        outputs = [_finish(process) for process in started]
        assert all("None None" in output for output in outputs), outputs
        # The same two, one after the other, on the other database.
        _finish(_run_periods(tmp_path, sequential_env, [first]))
        _finish(_run_periods(tmp_path, sequential_env, [second]))

        concurrent, sequential = snapshot(concurrent_url), snapshot(sequential_url)
        assert len(concurrent["ice.ice_scores"]) > 0
        assert_same_tables(concurrent, sequential)
