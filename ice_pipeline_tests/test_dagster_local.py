"""The CLI runs' Dagster instance (dagster_local.py): SQLite files kept open, nothing else changed.

What a run stores through it must read back the same through Dagster's own, unchanged storages
(what ``dagster dev`` and the daemon open), and the override points must still exist in the
pinned Dagster (an upgrade that moves them fails here, not in a user's run).
"""

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from ice_pipeline.dagster_local import (
    OpenEngines,
    OpenSqliteEventLogStorage,
    OpenSqliteRunStorage,
    local_instance,
)


@dg.asset(partitions_def=dg.MonthlyPartitionsDefinition(start_date="2026-01-01"))
def tiny(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("tiny ran")
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=tiny)
def tiny_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_the_override_points_exist_in_the_pinned_dagster(tmp_path: Path) -> None:
    assert {"_connect", "has_table"} <= set(vars(SqliteEventLogStorage))
    assert "connect" in vars(SqliteRunStorage)
    storage = SqliteEventLogStorage(base_dir=str(tmp_path))
    assert {"_db_lock", "_initialized_dbs"} <= set(vars(storage))
    assert "_conn_string" in vars(SqliteRunStorage.from_local(str(tmp_path / "runs")))


def test_runs_stored_through_open_files_read_back_in_a_plain_instance(home: Path) -> None:
    job = dg.Definitions(
        assets=[tiny], asset_checks=[tiny_check]
    ).resolve_implicit_global_asset_job_def()
    instance = local_instance()
    assert isinstance(instance.event_log_storage, OpenSqliteEventLogStorage)
    assert isinstance(instance.run_storage, OpenSqliteRunStorage)
    run_ids = []
    for period in ("2026-01-01", "2026-02-01"):
        result = job.execute_in_process(instance=instance, partition_key=period)
        assert result.success
        run_ids.append(result.run_id)

    # Read while the CLI's instance still holds its files open (dagster dev beside a backfill)...
    with dg.DagsterInstance.get() as plain:
        assert {r.run_id for r in plain.get_runs()} == set(run_ids)
    instance.dispose()

    with dg.DagsterInstance.get() as plain:  # ...and after: what `dagster dev` opens
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        assert {r.run_id for r in plain.get_runs()} == set(run_ids)
        assert all(plain.get_run_by_id(i).is_success for i in run_ids)
        record = plain.get_latest_materialization_event(dg.AssetKey("tiny"))
        assert record is not None and record.run_id == run_ids[-1]
        partitions = plain.get_materialized_partitions(dg.AssetKey("tiny"))
        assert partitions == {"2026-01-01", "2026-02-01"}
        logs = plain.all_logs(run_ids[0])
        assert any("tiny ran" in (e.user_message or "") for e in logs)
        checks = plain.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("tiny"), "tiny_check"), limit=10
        )
        assert {c.run_id for c in checks} == set(run_ids)
    # The files are still WAL files (what every Dagster process expects of them).
    for db in (home / "storage").rglob("*.db"):
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_storages_are_left_as_configured(home: Path) -> None:
    # A non-default storage (here: Dagster's consolidated SQLite event log) is used as is.
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nevent_log_storage:\n"
        "  module: dagster._core.storage.event_log\n  class: ConsolidatedSqliteEventLogStorage\n"
        f"  config:\n    base_dir: {home / 'events'}\n"
    )
    instance = local_instance()
    assert type(instance.event_log_storage).__name__ == "ConsolidatedSqliteEventLogStorage"
    assert isinstance(instance.run_storage, OpenSqliteRunStorage)
    instance.dispose()


def test_only_the_latest_files_stay_open(tmp_path: Path) -> None:
    engines = OpenEngines(keep=2)
    first = engines.get(f"sqlite:///{tmp_path / 'a.db'}")
    engines.get(f"sqlite:///{tmp_path / 'b.db'}")
    assert engines.get(f"sqlite:///{tmp_path / 'a.db'}") is first  # reused, now the newest
    engines.get(f"sqlite:///{tmp_path / 'c.db'}")  # pushes b out
    assert engines.get(f"sqlite:///{tmp_path / 'a.db'}") is first
    engines.dispose()
