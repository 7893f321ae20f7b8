"""Connectors in Dagster and on the command line, against the local vendor servers.

The pull assets exist only for configured sources, sit in the group "pull" upstream of their
feed's raw ingest asset (``dagster definitions validate`` accepts them), the nightly job pulls
then ingests in one run while a source with a refused credential fails alone, and
``ice-pipeline pull`` prints counts, exits 2 with one line for an expired token, and never
shows a credential. Nothing configured: no pull assets, ``pull`` has nothing to do.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from ice_pipeline.cli import main
from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline_tests.connector_scenarios import SCENARIOS, Scenario


@pytest.fixture
def scenarios(tmp_path: Path) -> Iterator[list[Scenario]]:
    made = [cls(tmp_path) for cls in SCENARIOS]
    for s in made:
        s.seed()
    yield made
    for s in made:
        s.fake.close()


@pytest.fixture(autouse=True)
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home
    dispose_engines()


def write_config(tmp_path: Path, scenarios: list[Scenario], broken: bool = False) -> dict[str, str]:
    """ICE_CONFIG with every scenario's source (and a Zendesk one with a refused token)."""
    sources: dict[str, Any] = {}
    env = {
        "ICE_DATA_DIR": str(tmp_path / "data"),
        "ICE_DEMO_MODE": "1",
        "ICE_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
    }
    for s in scenarios:
        entry, secret_env = s.config_entry()
        sources[f"{s.tool}_src"] = entry
        env.update(secret_env)
    if broken:
        zendesk = next(s for s in scenarios if s.tool == "zendesk")
        entry, _ = zendesk.config_entry()
        sources["zendesk_old"] = {**entry, "secret_env": "ICE_ZENDESK_OLD_TOKEN"}
        env["ICE_ZENDESK_OLD_TOKEN"] = "revoked-zendesk-token-000"
    config = {
        "connectors": {
            "defaults": {
                "max_attempts": 2,
                "backoff_initial_seconds": 0.001,
                "backoff_max_seconds": 0.01,
                "timeout_seconds": 5,
            },
            "sources": sources,
        }
    }
    path = tmp_path / "ice.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env["ICE_CONFIG"] = str(path)
    return env


def all_secrets(scenarios: list[Scenario]) -> list[str]:
    return [secret for s in scenarios for secret in s.secrets()] + ["revoked-zendesk-token-000"]


def assert_no_secret_under(root: Path, secrets: list[str]) -> int:
    checked = 0
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            checked += 1
            for secret in secrets:
                assert secret.encode() not in data, f"a credential was written to {path}"
    return checked


def test_nothing_configured_means_no_pull_assets(tmp_path: Path) -> None:
    from ice_pipeline.definitions import build_definitions

    defs = build_definitions({"ICE_DATA_DIR": str(tmp_path), "ICE_DEMO_MODE": "1"})
    graph = defs.resolve_asset_graph()
    assert not [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "pull"]
    assert graph.get(dg.AssetKey("raw_ticket_exports")).parent_keys == {
        dg.AssetKey("raw_hr_exports")
    }
    assert not [key for key in defs.resources if key.startswith("pull_")]


def test_pull_assets_sit_upstream_of_ingest(tmp_path: Path, scenarios: list[Scenario]) -> None:
    from ice_pipeline.definitions import build_definitions

    env = write_config(tmp_path, scenarios)
    graph = build_definitions(env).resolve_asset_graph()
    pulls = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).group_name == "pull"
    }
    assert pulls == {f"pull_{s.tool}_src" for s in scenarios}
    parents = {
        feed: {
            p.to_user_string() for p in graph.get(dg.AssetKey(f"raw_{feed}_exports")).parent_keys
        }
        for feed in ("survey", "ticket", "hr")
    }
    assert parents["survey"] == {"pull_qualtrics_src", "pull_surveymonkey_src"}
    assert parents["ticket"] == {
        "raw_hr_exports",
        "pull_servicenow_src",
        "pull_jira_src",
        "pull_zendesk_src",
    }
    assert parents["hr"] == {"pull_bamboohr_src"}


def test_credentials_stay_env_var_references(tmp_path: Path, scenarios: list[Scenario]) -> None:
    from ice_pipeline.defs.resources_pull import build_pull_resources, configured_sources

    env = write_config(tmp_path, scenarios)
    sources = configured_sources(env)
    resources = build_pull_resources(sources)  # as the code location does: no mapping given
    text = repr(resources)
    for s in scenarios:
        assert s.secrets()[0] not in text
    assert isinstance(resources["pull_jira_src"].api_token, dg.EnvVar)


@pytest.mark.slow
def test_definitions_validate_lists_the_pull_assets(
    tmp_path: Path, scenarios: list[Scenario]
) -> None:
    env = {**os.environ, **write_config(tmp_path, scenarios), "PYTHONPATH": str(Path.cwd())}
    bin_dir = Path(sys.executable).parent
    validate = subprocess.run(
        [str(bin_dir / "dagster"), "definitions", "validate", "-m", "ice_pipeline.definitions"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    listed = subprocess.run(
        [str(bin_dir / "dagster"), "asset", "list", "-m", "ice_pipeline.definitions"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    for s in scenarios:
        assert f"pull_{s.tool}_src" in listed.stdout
    for secret in all_secrets(scenarios):
        assert secret not in validate.stdout + validate.stderr + listed.stdout + listed.stderr


@pytest.mark.slow
def test_nightly_job_pulls_then_ingests_and_one_failing_source_stops_nothing(
    tmp_path: Path, scenarios: list[Scenario], caplog: pytest.LogCaptureFixture
) -> None:
    from ice_pipeline.definitions import build_definitions
    from ice_pipeline.defs.jobs import NIGHTLY_JOB_NAME
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.writes import read_frame

    env = write_config(tmp_path, scenarios, broken=True)
    defs = build_definitions(env)
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    graph = defs.resolve_asset_graph()
    unpartitioned = [k for k in graph.get_all_asset_keys() if not graph.get(k).is_partitioned]
    partitioned = [
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "ingest" and graph.get(k).is_partitioned
    ]
    instance = dg.DagsterInstance.get()
    result = job.execute_in_process(
        instance=instance, partition_key="2026-10", asset_selection=unpartitioned + partitioned,
        raise_on_error=False,
    )  # fmt: skip
    assert result.success
    order = [
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
    ]
    for s in scenarios:
        assert f"pull_{s.tool}_src" in order
    assert order.index("pull_zendesk_src") < order.index("raw_ticket_exports")
    assert order.index("pull_servicenow_src") < order.index("raw_ticket_exports")
    assert order.index("pull_bamboohr_src") < order.index("raw_hr_exports")
    assert order.index("pull_qualtrics_src") < order.index("raw_survey_exports")

    checks = {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "pull_succeeded"
    }
    assert not checks["pull_zendesk_old"].passed
    assert checks["pull_zendesk_old"].description.startswith(
        "ICE_ZENDESK_OLD_TOKEN: zendesk answered HTTP 401"
    )
    assert all(checks[f"pull_{s.tool}_src"].passed for s in scenarios)

    engine = connect_warehouse(env["ICE_WAREHOUSE_URL"])
    try:
        tickets = read_frame(engine, schema.tickets, where={"period": "2026-10"})
        ratings = read_frame(engine, schema.survey_ratings, where={"period": "2026-10"})
    finally:
        engine.dispose()
    assert {"INC0000001", "SD-1", "1"} <= set(tickets["ticket_id"])
    assert len(ratings) > 0

    secrets = all_secrets(scenarios)
    assert assert_no_secret_under(tmp_path, secrets) > 10
    logged = caplog.text + "".join(str(e) for e in result.all_events)
    for secret in secrets:
        assert secret not in logged


def test_cli_pull_counts_and_expired_token_exits_2(
    tmp_path: Path,
    scenarios: list[Scenario],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = write_config(tmp_path, scenarios)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["pull", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and not list((tmp_path / "data").rglob("*.csv"))

    assert main(["pull"]) == 0
    out, err = capsys.readouterr()
    assert "servicenow_src (servicenow): 5 records, landed" in out
    assert "pulled 6 of 6 sources" in out and err == ""

    assert main(["pull", "jira", "--since", "2026-10-02"]) == 0
    assert "jira_src (jira): 2 records, landed" in capsys.readouterr().out

    monkeypatch.setenv("ICE_JIRA_SECRET", "expired-jira-token-xyz")
    assert main(["pull", "jira_src"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert err.startswith(
        "ice-pipeline: pull jira_src failed: ICE_JIRA_SECRET: jira answered HTTP 401"
    )
    for secret in [*all_secrets(scenarios), "expired-jira-token-xyz"]:
        assert secret not in out + err
    assert main(["pull", "no_such_source"]) == 2
    assert "no configured source is called 'no_such_source'" in capsys.readouterr().err
    assert_no_secret_under(tmp_path / "data", [*all_secrets(scenarios), "expired-jira-token-xyz"])


def test_cli_pull_with_nothing_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ICE_CONFIG", raising=False)
    assert main(["pull"]) == 0
    assert "nothing to pull" in capsys.readouterr().out


def test_cli_run_never_skips_a_run_that_pulls(tmp_path: Path, scenarios: list[Scenario]) -> None:
    """`ice-pipeline run` skips unchanged inputs, but pulls bring their new inputs in the run."""
    from ice_pipeline.runner import Runner

    env = write_config(tmp_path, scenarios)
    with open(os.devnull, "w") as quiet:
        assert Runner(env, out=quiet).has_pulls
        assert not Runner({k: v for k, v in env.items() if k != "ICE_CONFIG"}, out=quiet).has_pulls


@pytest.mark.slow
def test_pull_process_killed_midway_then_resumed(tmp_path: Path) -> None:
    """SIGKILL `ice-pipeline pull` while it waits for page 2; the next pull equals a clean one."""
    import threading

    from ice_pipeline.connectors.pull import pull_source
    from ice_pipeline_tests.connector_scenarios import ServiceNowScenario, canonical

    s = ServiceNowScenario(tmp_path)
    try:
        s.seed()
        env = {**os.environ, **write_config(tmp_path, [s]), "PYTHONPATH": str(Path.cwd())}
        reached, release = threading.Event(), threading.Event()
        s.fake.stall = ("table/incident", 1, reached, release)
        process = subprocess.Popen(
            [sys.executable, "-m", "ice_pipeline.cli", "pull"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert reached.wait(timeout=120), "the pull never asked for page 2"
            process.kill()
            process.wait(timeout=30)
        finally:
            release.set()
            s.fake.stall = None
        landing = tmp_path / "data" / "landing"
        assert not list(landing.rglob("*.csv"))  # nothing landed, nothing committed
        resumed = pull_source(s.settings(), landing, sleep=lambda _: None)
        clean = pull_source(s.settings(), tmp_path / "clean", sleep=lambda _: None)
        assert resumed.records == clean.records == 5
        got = canonical(landing, "tickets", tmp_path)["tickets"]
        want = canonical(tmp_path / "clean", "tickets", tmp_path)["tickets"]
        assert len(got) == len(want) >= 4 and got.equals(want)  # INC5: group not in the mapping
    finally:
        s.fake.close()
