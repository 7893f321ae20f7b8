"""Two runs on one DuckDB file (issue 12 item 7): the loser names who holds the lock, whenever.

DuckDB lets one process open a file; the second gets "Could not set lock ... (PID n)". Whether
that happens before the run (preflight), while Dagster sets up the resources, or at the first
write of a step, the operator reads one line naming the PID and what to do.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ice_pipeline.defs.resources import WarehouseResource, dispose_engines
from ice_pipeline.runner import QUIET_LOGGING, _first_failure
from ice_pipeline.warehouse.engine import WarehouseBusy, connect_warehouse

HOLD = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
    "print('held', flush=True); time.sleep(60)"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen]]:
    """Returns a function that makes another process hold the DuckDB file's lock."""
    path = tmp_path / "warehouse.duckdb"
    started: list[subprocess.Popen] = []

    def hold() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        started.append(process)
        return process

    yield path, hold
    for process in started:
        process.kill()
        process.wait()
    dispose_engines()


def _assert_names_holder(message: str, pid: int) -> None:
    assert f"PID {pid}" in message and f"kill {pid}" in message
    assert "in use by another process" in message and "Fix: wait for that run" in message
    assert "\n" not in message and "Traceback" not in message


def test_connect_names_the_lock_holder(holder) -> None:
    path, hold = holder
    process = hold()
    with pytest.raises(WarehouseBusy) as caught:
        connect_warehouse(f"duckdb:///{path}")
    assert caught.value.pid == process.pid
    _assert_names_holder(str(caught.value), process.pid)


def test_lock_taken_after_the_engine_was_opened(holder) -> None:
    """The pool opens connections lazily: the first write may be where the lock is met."""
    path, hold = holder
    engine = connect_warehouse(f"duckdb:///{path}")
    engine.dispose()
    process = hold()
    with pytest.raises(WarehouseBusy) as caught, engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
    _assert_names_holder(str(caught.value), process.pid)


def _run(asset: dg.AssetsDefinition, resources: dict) -> tuple[str, str]:
    defs = dg.Definitions(assets=[asset], resources=resources)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        raise_on_error=False, run_config=QUIET_LOGGING, instance=dg.DagsterInstance.ephemeral()
    )
    assert not result.success
    return _first_failure(result)


def test_busy_at_resource_initialisation(holder) -> None:
    path, hold = holder
    process = hold()

    @dg.asset
    def needs_warehouse(warehouse: WarehouseResource) -> None:
        raise AssertionError("must not run")

    step, message = _run(needs_warehouse, {"warehouse": WarehouseResource(url=f"duckdb:///{path}")})
    assert "Initialization of resources" not in message
    _assert_names_holder(message, process.pid)


def test_busy_at_the_first_write_of_a_step(holder) -> None:
    path, hold = holder
    engine = connect_warehouse(f"duckdb:///{path}")
    engine.dispose()
    pids: list[int] = []

    @dg.asset
    def writes_late() -> None:
        pids.append(hold().pid)  # the other run starts while this step is running
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")

    step, message = _run(writes_late, {})
    assert step == "writes_late"
    _assert_names_holder(message, pids[0])


def test_cli_loser_prints_one_line(holder, tmp_path: Path) -> None:
    path, hold = holder
    process = hold()
    env = {
        **os.environ,
        "ICE_WAREHOUSE_URL": f"duckdb:///{path}",
        "ICE_DATA_DIR": str(tmp_path / "data"),
    }
    cli = Path(sys.executable).parent / "ice-pipeline"
    result = subprocess.run(
        [str(cli), "warehouse", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    _assert_names_holder(lines[0], process.pid)
