"""The code location loads and is what it claims: assets, checks, partitions, executor."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.system_config.objects import ResolvedRunConfig

from ice_pipeline.definitions import build_definitions
from ice_pipeline.defs import partitions
from ice_pipeline.defs.jobs import NIGHTLY_JOB_NAME
from ice_pipeline.defs.resources import EmailResource, build_resources
from ice_pipeline.errors import ConfigError
from ice_pipeline.settings import DEMO_SALT
from ice_pipeline_tests.conftest import REPO_ROOT

EXPECTED_ASSETS = {
    "raw_survey_exports",
    "raw_ticket_exports",
    "raw_hr_exports",
    "raw_external_exports",
    "survey_ratings",
    "survey_comments",
    "tickets",
    "external_metrics",
    "employees",
    "service_kpis",
    "turnover",
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
    "correlations",
    "key_drivers",
    "executive_report",
    "disclosure_audit",
    "report_delivery",
    "analyst_warehouse",
    "department_groups",
}


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@pytest.fixture
def definitions(tmp_path: Path) -> dg.Definitions:
    return build_definitions({"ICE_DATA_DIR": str(tmp_path / "data"), "ICE_DEMO_MODE": "1"})


def test_dagster_cli_validates_the_workspace(tmp_path: Path, dagster_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICE_")}
    env.update(DAGSTER_HOME=str(dagster_home), ICE_DATA_DIR=str(tmp_path / "data"))
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful for code location ice_pipeline" in done.stderr + done.stdout


def test_every_asset_and_one_check_per_canonical_table(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert checks == {
        (table, "expectation_suite")
        for table in (
            "survey_ratings",
            "survey_comments",
            "tickets",
            "external_metrics",
            "employees",
        )
    } | {
        # Issue 12: a landing file that cannot be read fails its raw asset's check, not the run.
        (raw, "every_file_read")
        for raw in (
            "raw_survey_exports",
            "raw_ticket_exports",
            "raw_hr_exports",
            "raw_external_exports",
        )
    }
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["raw_survey_exports"] == "ingest"
    assert groups["ice_scores"] == "index"
    assert groups["report_delivery"] == "reports"
    assert not graph.get(dg.AssetKey("raw_survey_exports")).is_partitioned
    assert not graph.get(dg.AssetKey("employees")).is_partitioned
    assert graph.get(dg.AssetKey("ice_scores")).is_partitioned
    # Tickets are parsed after the roster (requester -> department).
    assert dg.AssetKey("raw_hr_exports") in graph.get(dg.AssetKey("raw_ticket_exports")).parent_keys


def test_checks_are_partitioned_like_their_assets(definitions: dg.Definitions) -> None:
    from ice_pipeline.defs.checks import asset_checks

    graph = definitions.resolve_asset_graph()
    for checks in asset_checks:
        for spec in checks.check_specs:
            asset = graph.get(spec.asset_key)
            assert spec.partitions_def == asset.partitions_def, spec.key


def test_lagged_reads_are_declared_as_partition_mappings(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    ice = graph.get(dg.AssetKey("ice_scores"))
    mapping = ice.partition_mappings[dg.AssetKey("survey_ratings")]
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        partitions.monthly_partitions.subset_with_partition_keys(["2025-06"]),
        partitions.monthly_partitions,
        partitions.monthly_partitions,
    ).partitions_subset.get_partition_keys()
    assert sorted(upstream) == ["2025-05", "2025-06"]
    correlations = graph.get(dg.AssetKey("correlations"))
    mapping = correlations.partition_mappings[dg.AssetKey("ice_scores")]
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        partitions.monthly_partitions.subset_with_partition_keys(["2026-10"]),
        partitions.monthly_partitions,
        partitions.monthly_partitions,
    ).partitions_subset.get_partition_keys()
    assert (
        sorted(upstream)[0] == "2024-11"
        and sorted(upstream)[-1] == "2026-10"
        and len(upstream) == 24
    )


def test_job_is_monthly_and_in_process_unless_run_config_says_otherwise(
    definitions: dg.Definitions,
) -> None:
    job = definitions.resolve_job_def(NIGHTLY_JOB_NAME)
    keys = job.partitions_def.get_partition_keys(
        current_time=__import__("datetime").datetime(2026, 11, 22)
    )
    assert keys[0] == "2024-11" and keys[-1] == "2026-10" and len(keys) == 24
    default = ResolvedRunConfig.build(job, {}).execution.execution_engine_config
    assert set(default) == {"in_process"}
    override = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
    chosen = ResolvedRunConfig.build(job, override).execution.execution_engine_config
    assert chosen["multiprocess"]["max_concurrent"] == 2


def test_partition_helpers_and_first_period_setting() -> None:
    assert partitions.previous_period("2025-01") == "2024-12"
    assert partitions.periods_back("2025-02", 3) == ["2024-12", "2025-01", "2025-02"]
    assert partitions.first_period({}) == "2024-11"
    assert partitions.first_period({"ICE_FIRST_PERIOD": "2023-04"}) == "2023-04"
    with pytest.raises(ConfigError) as err:
        partitions.first_period({"ICE_FIRST_PERIOD": "2023-13"})
    assert "ICE_FIRST_PERIOD" in str(err.value) and "YYYY-MM" in str(err.value)


def test_resources_come_from_settings_and_keep_secrets_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "s3cret-salt")
    monkeypatch.setenv("ICE_SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.delenv("ICE_WAREHOUSE_URL", raising=False)
    resources = build_resources()
    assert (
        resources["warehouse"].url == f"duckdb:///{(tmp_path / 'd').resolve() / 'warehouse.duckdb'}"
    )
    # From the process environment, secrets are EnvVar references, not values.
    pipeline_fields = resources["pipeline"].__dict__
    assert "s3cret-salt" not in repr(pipeline_fields)
    assert "s3cret-pw" not in repr(resources["email"].__dict__)
    assert resources["email"].smtp_host is None
    assert resources["email"].transport().__class__.__name__ == "OutboxTransport"


def test_salt_is_required_outside_demo_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ICE_PSEUDONYM_SALT", raising=False)
    demo = build_resources({"ICE_DATA_DIR": str(tmp_path), "ICE_DEMO_MODE": "1"})["pipeline"]
    assert demo.salt() == DEMO_SALT
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "abc")
    given = build_resources({"ICE_DATA_DIR": str(tmp_path), "ICE_PSEUDONYM_SALT": "abc"})[
        "pipeline"
    ]
    # Even from an explicit mapping the field is a reference, resolved from the environment.
    assert isinstance(given.pseudonym_salt, dg.EnvVar)
    assert given.salt() == "abc"
    monkeypatch.delenv("ICE_PSEUDONYM_SALT")
    missing = build_resources({"ICE_DATA_DIR": str(tmp_path)})["pipeline"]
    with pytest.raises(ConfigError) as err:
        missing.salt()
    assert err.value.setting == "ICE_PSEUDONYM_SALT"


def test_smtp_settings_from_environment(tmp_path: Path) -> None:
    resources = build_resources(
        {
            "ICE_DATA_DIR": str(tmp_path),
            "ICE_SMTP_HOST": "mail.example.com",
            "ICE_SMTP_SECURITY": "ssl",
            "ICE_SMTP_USER": "svc-ice",
            "ICE_SMTP_FROM": "ice@example.com",
        }
    )
    email: EmailResource = resources["email"]
    assert email.smtp_port == 465
    settings = email.smtp_settings()
    assert (settings.host, settings.security, settings.username, settings.from_address) == (
        "mail.example.com",
        "ssl",
        "svc-ice",
        "ice@example.com",
    )
    assert email.transport().__class__.__name__ == "SmtpTransport"
    with pytest.raises(ConfigError) as err:
        build_resources({"ICE_DATA_DIR": str(tmp_path), "ICE_SMTP_SECURITY": "tls1.3"})
    assert err.value.setting == "ICE_SMTP_SECURITY"


@pytest.mark.postgres
def test_partition_writers_are_serialised_on_postgres(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    from ice_pipeline.defs.support import advisory_key, exclusive_write

    engine, other = create_engine(postgres_url), create_engine(postgres_url)
    key = advisory_key("employees")
    probe = text("SELECT pg_try_advisory_lock(:k)")
    release = text("SELECT pg_advisory_unlock(:k)")
    try:
        with exclusive_write(engine, "employees"), other.connect() as conn:
            assert conn.execute(probe, {"k": key}).scalar() is False  # a second writer would wait
        with other.connect() as conn:
            assert conn.execute(probe, {"k": key}).scalar() is True  # released after the write
            conn.execute(release, {"k": key})
    finally:
        engine.dispose()
        other.dispose()


def test_the_code_location_served_to_the_webserver_and_daemon_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `dagster dev`, the webserver and the daemon load (``definitions.defs``) and serve."""
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    secrets = {"ICE_PSEUDONYM_SALT": "salt-6f1c0e9a", "ICE_SMTP_PASSWORD": "pw-9b2d7c41"}
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ICE_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("ICE_SMTP_USER", "svc-ice")
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    for environ in (None, dict(os.environ)):  # the code location, and the CLI runner's mapping
        repository = build_definitions(environ).get_repository_def()
        served = serialize_value(RepositorySnap.from_def(repository))
        for name, value in secrets.items():
            assert value not in served
            assert name in served  # the reference is there, resolved only when a run starts
