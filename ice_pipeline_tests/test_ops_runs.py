"""Runs that only do real work, checks that mean something, and the run log (issue 15).

One small demo organisation (300 employees) whose data ends the month before the latest complete
period, so the latest complete period has no data, as on a day after the last export landed.
Every test runs the real job in-process through the CLI runner.
"""

import csv
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.cli import main
from ice_pipeline.defs.partitions import previous_period
from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline.defs.schedules import latest_complete_period
from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.errors import IceError
from ice_pipeline.paths import sql_dir
from ice_pipeline.runner import Runner
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.writes import read_frame

pytestmark = pytest.mark.slow

# The clock decides the partitions: the latest complete month is EMPTY, the data ends before it.
EMPTY = latest_complete_period(datetime.now(UTC))
LAST_DATA = previous_period(EMPTY)
FIRST = previous_period(LAST_DATA)
DATA_PERIODS = [FIRST, LAST_DATA]
PARTITIONED_TABLES = {
    "survey_ratings",
    "survey_comments",
    "tickets",
    "external_metrics",
    "service_kpis",
    "turnover",
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
    "correlations",
}


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate_demo(landing, employees=300, periods=len(DATA_PERIODS), end_period=LAST_DATA)
    return landing


@pytest.fixture
def data_dir(tmp_path: Path, demo_landing: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(demo_landing, data / "landing")
    return data


@pytest.fixture(autouse=True)
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home
    dispose_engines()


def make_runner(data_dir: Path, url: str, home: Path, out: Path) -> Runner:
    env = {
        "ICE_DATA_DIR": str(data_dir),
        "ICE_WAREHOUSE_URL": url,
        "ICE_DEMO_MODE": "1",
        "ICE_FIRST_PERIOD": FIRST,
        "DAGSTER_HOME": str(home),
    }
    return Runner(env, out=out.open("a"))


def outbox_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "outbox").rglob("*.eml"))


def test_plain_run_computes_new_data_then_nothing_and_mails_nothing_new(
    data_dir: Path, dagster_home: Path, tmp_path: Path, duckdb_url: str
) -> None:
    log = tmp_path / "out.txt"
    runner = make_runner(data_dir, duckdb_url, dagster_home, log)
    first = runner.run(None)
    assert first.ok, first.failure
    _assert_native_metadata(runner, first.run_ids[-1])
    assert first.periods == DATA_PERIODS  # both periods with data; not the empty latest one
    text = log.read_text()
    assert f"{EMPTY}, the latest complete period, has no survey data yet" in text
    mails = outbox_files(data_dir)
    assert mails and not [m for m in mails if EMPTY in str(m)]

    log.write_text("")
    again = make_runner(data_dir, duckdb_url, dagster_home, log).run(None)
    assert again.ok and again.periods == [] and again.skipped == DATA_PERIODS
    lines = log.read_text().splitlines()
    skipped = [line for line in lines if line.startswith("no period to compute")]
    assert len(skipped) == 1, lines  # one line says what was skipped and why
    assert "unchanged since their last successful run" in skipped[0] and EMPTY in skipped[0]
    assert outbox_files(data_dir) == mails  # nothing e-mailed
    engine = connect_warehouse(duckdb_url)
    try:
        archive = read_frame(engine, schema.report_archive)
    finally:
        engine.dispose()
    assert EMPTY not in set(archive["period"])


def _assert_native_metadata(runner: Runner, run_id: str) -> None:
    """Read back from the Dagster instance: row count, a table preview and the column schema."""
    import dagster as dg

    from ice_pipeline.warehouse.engine import connect_warehouse as _connect

    event = runner.instance.get_latest_materialization_event(dg.AssetKey("ice_scores"))
    assert event is not None and event.run_id == run_id
    metadata = event.asset_materialization.metadata
    engine = _connect(runner.settings.warehouse_url)
    try:
        stored = read_frame(engine, schema.ice_scores, where={"period": LAST_DATA})
    finally:
        engine.dispose()
    assert metadata["dagster/row_count"].value == len(stored) > 0
    preview = metadata["scores"]
    assert isinstance(preview, dg.TableMetadataValue) and preview.records
    assert {"provider_department", "ice"} <= set(preview.records[0].data)
    columns = metadata["dagster/column_schema"].value.columns
    assert [c.name for c in columns] == [c.name for c in schema.ice_scores.columns]
    assert "duration_s" not in metadata  # Dagster's own step timing is the record
    # The definition carries the same schema, an owner and a code version.
    graph = runner.definitions.resolve_asset_graph()
    node = graph.get(dg.AssetKey("ice_scores"))
    assert node.owners == ["team:data-engineering"] and node.code_version
    assert node.metadata["dagster/column_schema"].columns == columns


def test_new_data_for_one_period_recomputes_it_and_later_ones_only(
    data_dir: Path, dagster_home: Path, tmp_path: Path, duckdb_url: str
) -> None:
    log = tmp_path / "out.txt"
    assert make_runner(data_dir, duckdb_url, dagster_home, log).run(None).ok
    # A re-export of the last period's tickets with one more line: new data for LAST_DATA only.
    tickets = sorted((data_dir / "landing" / "tickets").glob(f"*{LAST_DATA}*.csv"))
    assert tickets, list((data_dir / "landing" / "tickets").iterdir())
    lines = tickets[0].read_text(encoding="utf-8").splitlines(keepends=True)
    tickets[0].write_text("".join(lines[:-1]), encoding="utf-8")  # one ticket fewer
    summary = make_runner(data_dir, duckdb_url, dagster_home, log).run(None)
    assert summary.ok and summary.periods == [LAST_DATA] and summary.skipped == [FIRST]


def test_an_empty_period_needs_allow_empty_and_is_never_mailed(
    data_dir: Path,
    dagster_home: Path,
    tmp_path: Path,
    duckdb_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = tmp_path / "out.txt"
    with pytest.raises(IceError, match=f"--partition: {EMPTY} has no survey data"):
        make_runner(data_dir, duckdb_url, dagster_home, log).run([EMPTY])
    dispose_engines()
    summary = make_runner(data_dir, duckdb_url, dagster_home, log).run([EMPTY], allow_empty=True)
    assert summary.ok and summary.periods == [EMPTY]
    assert summary.metadata[f"report_delivery[{EMPTY}]"]["sent"] == 0
    assert not [m for m in outbox_files(data_dir) if EMPTY in m.name]
    engine = connect_warehouse(duckdb_url)
    try:
        ledger = read_frame(engine, schema.delivery_ledger)
        archive = read_frame(engine, schema.report_archive)
    finally:
        engine.dispose()
    assert EMPTY in set(archive["period"]) and EMPTY not in set(ledger["period"])
    # Through the CLI: the refusal is one line naming the option; --allow-empty alone is refused.
    dispose_engines()
    for name, value in {
        "ICE_DATA_DIR": str(data_dir),
        "ICE_WAREHOUSE_URL": duckdb_url,
        "ICE_DEMO_MODE": "1",
        "ICE_FIRST_PERIOD": FIRST,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["run", "--partition", EMPTY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-empty" in err and "Traceback" not in err
    assert main(["run", "--allow-empty"]) == 2
    assert "--allow-empty" in capsys.readouterr().err


def test_run_log_matches_the_partitions_written_and_every_example_answers(
    warehouse_url: str, data_dir: Path, dagster_home: Path, tmp_path: Path
) -> None:
    summary = make_runner(data_dir, warehouse_url, dagster_home, tmp_path / "out.txt").run(
        DATA_PERIODS
    )
    assert summary.ok, summary.failure
    engine = connect_warehouse(warehouse_url)
    try:
        log = read_frame(engine, schema.run_log)
        tables = {
            name: read_frame(engine, table)
            for table in schema.metadata.tables.values()
            if (name := table.name) in PARTITIONED_TABLES | {"employees"}
        }
    finally:
        engine.dispose()
    assert set(log["run_id"]) <= set(summary.run_ids)
    written = log.set_index(["step", "partition_key"])
    for name in sorted(PARTITIONED_TABLES):
        frame = tables[name]
        for period in DATA_PERIODS:
            row = written.loc[(name, period)]
            assert row["rows_written"] == int((frame["period"] == period).sum()), (name, period)
            assert row["status"] == "written" and len(row["inputs_fingerprint"]) == 64
            assert row["started_at"] <= row["finished_at"]
    roster = written.loc[("employees", "")]
    assert roster["rows_written"] == len(tables["employees"])
    # Every row a check covers carries its outcome; failures are named with their severity.
    checked = log[log["step"].isin(["survey_ratings", "tickets", "employees"])]
    assert checked["checks_passed"].notna().all() and checked["checks_failed"].notna().all()
    for row in checked.itertuples():
        names = [] if pd.isna(row.failed_checks) else row.failed_checks.split(", ")
        assert len(names) == row.checks_failed
        assert all(n.endswith(("(ERROR)", "(WARN)")) for n in names)
    # The fingerprint is the runner's per-period one (the same a later plain run compares).
    ratings = written.loc[("survey_ratings", LAST_DATA)]
    assert (
        ratings["inputs_fingerprint"]
        == written.loc[("ice_scores", LAST_DATA)]["inputs_fingerprint"]
    )
    # Every analyst example returns rows on the demo, on this engine.
    engine = connect_warehouse(warehouse_url)
    try:
        with engine.connect() as connection:
            for path in sorted((sql_dir() / "examples").glob("*.sql")):
                rows = connection.exec_driver_sql(path.read_text(encoding="utf-8")).fetchall()
                assert rows, f"{path.name} returns no row on the demo"
    finally:
        engine.dispose()


def _cut_survey_export(path: Path, keep_share: float) -> None:
    """Keep the header rows and the first ``keep_share`` of a Qualtrics export (time-ordered)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[:3], rows[3:]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(header + body[: max(1, int(len(body) * keep_share))])


def test_demo_data_passes_freshness_and_a_stale_feed_fails_it(
    data_dir: Path, dagster_home: Path, tmp_path: Path, duckdb_url: str
) -> None:
    log = tmp_path / "out.txt"
    summary = make_runner(data_dir, duckdb_url, dagster_home, log).run(None)
    assert summary.ok and summary.periods == DATA_PERIODS
    failed = [name for names in summary.failed_checks.values() for name in names]
    assert not [name for name in failed if "_fresh" in name], failed
    # A stale feed: the last survey export was taken a few days into the wave.
    _cut_survey_export(data_dir / "landing" / "surveys" / f"ice_pulse_{LAST_DATA}.csv", 0.2)
    log.write_text("")
    stale = make_runner(data_dir, duckdb_url, dagster_home, log).run(None)
    assert stale.ok and stale.periods == [LAST_DATA], (
        stale.failed_step,
        stale.failure,
        stale.failed_files,
    )
    fresh = "survey_ratings.survey_ratings_responded_at_fresh (WARN)"
    assert fresh in stale.failed_checks[LAST_DATA]
    progress = [line for line in log.read_text().splitlines() if f"] {LAST_DATA}:" in line]
    assert len(progress) == 1 and "failed: " in progress[0] and fresh in progress[0], progress
    engine = connect_warehouse(duckdb_url)
    try:
        run_log = read_frame(engine, schema.run_log, where={"step": "survey_ratings"})
        archive = read_frame(engine, schema.report_archive, where={"period": LAST_DATA})
    finally:
        engine.dispose()
    newest = run_log[run_log["run_id"] == stale.run_ids[-1]].iloc[0]
    assert "survey_ratings_responded_at_fresh (WARN)" in newest["failed_checks"]
    # The warning reaches the report's data-quality panel, worded as a failure.
    summary_html = archive[archive["kind"] == "executive_summary"].sort_values("version")
    html = summary_html.iloc[-1]["html"]
    assert "survey_ratings_responded_at_fresh (warning)" in html and "FAILED (warning)" in html
