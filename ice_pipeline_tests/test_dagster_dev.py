"""``dagster dev -w workspace.yaml`` starts, its GraphQL API lists every asset, check, the schedule
and the sensors of the definitions, and it stops cleanly (no orphaned processes) when asked.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import requests

from ice_pipeline_tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30

WORKSPACE_QUERY = """
query IceWorkspace {
  workspaceOrError {
    __typename
    ... on PythonError { message }
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories { name schedules { name } sensors { name } }
          }
        }
      }
    }
  }
}
"""

ASSETS_QUERY = """
query IceAssets {
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name } }
    }
  }
}
"""


def restore_default_signals() -> None:
    # Inherited "ignore SIGINT" (background shells, some CI runners) makes dagster dev ignore the
    # stop request; SIGKILL would orphan the webserver and daemon (../shared/STACK.md).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_group_members(pgid: int) -> list[int]:
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        # fields[0] is the state, fields[2] the process group; zombies are already gone in effect.
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def graphql_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def query(self, query: str) -> dict[str, object]:
        response = requests.post(self.graphql_url, json={"query": query}, timeout=30)
        response.raise_for_status()
        payload = response.json()
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start_dagster_dev(workspace: Path, tmp_path: Path, env: dict[str, str]) -> DevServer:
    port = _free_port()
    log_path = tmp_path / "dagster-dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                str(workspace),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=restore_default_signals,
            start_new_session=True,
        )
    return DevServer(process=process, port=port, log_path=log_path)


def wait_until_loaded(server: DevServer) -> dict[str, object]:
    """Poll until the webserver answers and every code location has finished loading."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"dagster dev exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            workspace = server.query(WORKSPACE_QUERY)["workspaceOrError"]
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as err:
            last_problem = str(err)
        else:
            entries = workspace.get("locationEntries", [])
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return workspace
            last_problem = f"locations still loading: {entries}"
        time.sleep(1)
    pytest.fail(
        f"dagster dev not ready after {STARTUP_TIMEOUT_SECONDS} s ({last_problem}):\n"
        f"{server.log_tail()}"
    )


def stop_process_group(process: subprocess.Popen[bytes], what: str) -> tuple[int, dict[int, str]]:
    """SIGINT to the whole process group, as Ctrl-C would; wait for the leader, then the rest.

    Returns the leader's exit status and the processes of the group still alive
    ``STOP_TIMEOUT_SECONDS`` after the signal (pid -> command line); those are then terminated so a
    failing test leaves nothing behind.
    """
    pgid = process.pid
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    os.killpg(pgid, signal.SIGINT)
    try:
        status = process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"{what} did not stop within {STOP_TIMEOUT_SECONDS} s of SIGINT")
    # Code servers finish their open calls and exit shortly after the leader.
    while _process_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    leftovers: dict[int, str] = {}
    for pid in _process_group_members(pgid):
        try:
            leftovers[pid] = (
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200].decode()
            )
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
    return status, leftovers


def expected_definitions() -> tuple[set[str], set[tuple[str, str]], set[str], set[str]]:
    """Asset keys, (asset, check) pairs, schedules and sensors of ice_pipeline.definitions."""
    import ice_pipeline.definitions as definitions_module

    found = [
        value for value in vars(definitions_module).values() if isinstance(value, dg.Definitions)
    ]
    assert len(found) == 1, "ice_pipeline.definitions must expose exactly one dg.Definitions"
    repository = found[0].get_repository_def()
    asset_graph = repository.asset_graph
    asset_keys = {
        key.to_user_string()
        for key in asset_graph.get_all_asset_keys()
        if asset_graph.get(key).is_materializable
    }
    checks = {
        (check.asset_key.to_user_string(), check.name) for check in asset_graph.asset_check_keys
    }
    schedules = {schedule.name for schedule in repository.schedule_defs}
    sensors = {sensor.name for sensor in repository.sensor_defs}
    return asset_keys, checks, schedules, sensors


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("ICE_", "DAGSTER_"))
    }
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "ICE_DATA_DIR": str(tmp_path / "data"),
            "ICE_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}",
            "ICE_DEMO_MODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def dev_server(tmp_path: Path, dev_env: dict[str, str]) -> Iterator[DevServer]:
    server = start_dagster_dev(REPO_ROOT / "workspace.yaml", tmp_path, dev_env)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def test_dagster_dev_lists_everything_and_stops_cleanly(dev_server: DevServer) -> None:
    asset_keys, checks, schedules, sensors = expected_definitions()
    assert asset_keys and schedules == {"ice_nightly_schedule"}
    assert sensors == {"ice_landing_sensor", "ice_run_failure_email"}

    workspace = wait_until_loaded(dev_server)
    repositories = [
        repository
        for entry in workspace["locationEntries"]
        for repository in entry["locationOrLoadError"]["repositories"]
    ]
    assert {
        schedule["name"] for repo in repositories for schedule in repo["schedules"]
    } == schedules
    assert {sensor["name"] for repo in repositories for sensor in repo["sensors"]} == sensors

    nodes = dev_server.query(ASSETS_QUERY)["assetNodes"]
    served_keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert asset_keys <= served_keys, f"missing from the UI: {sorted(asset_keys - served_keys)}"
    served_checks = {
        ("/".join(node["assetKey"]["path"]), check["name"])
        for node in nodes
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
    }
    assert served_checks == checks

    exit_status, leftovers = stop_process_group(dev_server.process, "dagster dev")
    # dagster dev exits 0 after a clean shutdown of the webserver and daemon on SIGINT.
    assert exit_status == 0, dev_server.log_tail()
    assert leftovers == {}, f"orphaned dagster processes: {leftovers}"
    assert not _port_open(dev_server.port)
