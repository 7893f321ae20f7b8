"""deploy/dagster.yaml loads against PostgreSQL and records runs there, queued, run by the daemon.

What this proves about the production configuration: the instance builds PostgreSQL run, event-log
and schedule storage from the DAGSTER_PG_* variables, queues runs with the documented limits, and
the daemon takes a queued run, launches it and records its success in PostgreSQL. It does not
exercise systemd or Kubernetes (docs/deploy.md says so).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ice_pipeline_tests.conftest import REPO_ROOT
from ice_pipeline_tests.test_dagster_dev import restore_default_signals, stop_process_group

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAGSTER_BIN = Path(sys.executable).parent

monthly = dg.MonthlyPartitionsDefinition(start_date="2026-01", fmt="%Y-%m", end_offset=0)


@dg.asset(partitions_def=monthly)
def period_rows(context: dg.AssetExecutionContext) -> int:
    return len(context.partition_key)


production_probe_job = dg.define_asset_job(
    "production_probe_job", selection="*", partitions_def=monthly
)
# Loaded by the CLI and the daemon too: -m ice_pipeline_tests.test_production_instance -a probe_defs
probe_defs = dg.Definitions(assets=[period_rows], jobs=[production_probe_job])
CODE_LOCATION_ARGS = ["-m", "ice_pipeline_tests.test_production_instance", "-a", "probe_defs"]


@pytest.fixture
def production_home(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A DAGSTER_HOME holding deploy/dagster.yaml unchanged, pointed at a throwaway database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    url = make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database or "")
    yield home


def _runs_in_postgres(postgres_url: str) -> dict[str, tuple[str, str]]:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT run_id, pipeline_name, status FROM runs")).all()
    finally:
        engine.dispose()
    return {row.run_id: (row.pipeline_name, row.status) for row in rows}


def test_production_instance_uses_postgres_and_the_documented_queue(production_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 2
        assert queue.tag_concurrency_limits == [
            {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled


def test_in_process_run_is_recorded_in_postgres(production_home: Path, postgres_url: str) -> None:
    with dg.DagsterInstance.get() as instance:
        result = probe_defs.resolve_job_def("production_probe_job").execute_in_process(
            instance=instance, partition_key="2026-03"
        )
        assert result.success
        assert result.output_for_node("period_rows") == len("2026-03")
        stored = instance.get_run_by_id(result.run_id)
        assert stored is not None and stored.tags["dagster/partition"] == "2026-03"
    assert _runs_in_postgres(postgres_url) == {result.run_id: ("production_probe_job", "SUCCESS")}


def test_launched_run_is_queued_then_run_by_the_daemon(
    production_home: Path, postgres_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)}
    launched = subprocess.run(
        [
            str(DAGSTER_BIN / "dagster"),
            "job",
            "launch",
            *CODE_LOCATION_ARGS,
            "-j",
            "production_probe_job",
            "--tags",
            json.dumps({"dagster/partition": "2026-04"}),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=restore_default_signals,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]
    runs = _runs_in_postgres(postgres_url)
    assert list(runs.values()) == [("production_probe_job", "QUEUED")]  # the coordinator queued it
    run_id = next(iter(runs))

    daemon_log = tmp_path / "daemon.log"
    with daemon_log.open("w") as log:
        daemon = subprocess.Popen(
            [str(DAGSTER_BIN / "dagster-daemon"), "run", *CODE_LOCATION_ARGS],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=restore_default_signals,
            start_new_session=True,
        )
    try:
        status = "QUEUED"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and status not in {"SUCCESS", "FAILURE", "CANCELED"}:
            time.sleep(1)
            status = _runs_in_postgres(postgres_url)[run_id][1]
        assert status == "SUCCESS", daemon_log.read_text()[-3000:]
    finally:
        exit_status, leftovers = stop_process_group(daemon, "dagster-daemon")
    assert exit_status == 0, daemon_log.read_text()[-3000:]
    assert leftovers == {}, f"orphaned processes after stopping dagster-daemon: {leftovers}"
    with dg.DagsterInstance.get() as instance:
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        assert len(events) == 1  # the event log is in PostgreSQL too
