"""ice.example.yaml documents every configuration key; it must stay loadable by the real code."""

from pathlib import Path

import pytest
import yaml

from ice_pipeline.defs.schedules import schedule_settings_from
from ice_pipeline.index import IndexConfig
from ice_pipeline.reports.config import report_config_for
from ice_pipeline.reports.publish import EmailConfig
from ice_pipeline_tests.conftest import REPO_ROOT


def test_example_config_loads_with_every_section() -> None:
    config = yaml.safe_load((REPO_ROOT / "ice.example.yaml").read_text(encoding="utf-8"))
    index = IndexConfig.from_section(config["index"])
    assert index == IndexConfig()  # the example shows the defaults
    reports = report_config_for(config["reports"], index)
    assert reports.k_anonymity == index.k_min_respondents
    email = EmailConfig.from_section(config["email"])
    assert email.transport == "outbox"
    assert email.smtp is not None and email.smtp.username != email.smtp.from_address
    assert set(email.recipients) == {"executive_summary", "provider"}
    schedule = schedule_settings_from(config["schedule"], {})
    assert schedule.cron == "0 2 * * *"
    assert config["alerts"]["recipients"]
    from ice_pipeline.ingest.limits import IngestSettings

    assert IngestSettings.from_section(config["ingest"]) == IngestSettings()  # the defaults


def test_example_config_passes_the_preflight_validation() -> None:
    from ice_pipeline.config import load_config
    from ice_pipeline.config_validation import validate_config
    from ice_pipeline_tests.conftest import REPO_ROOT

    validate_config(load_config(REPO_ROOT / "ice.example.yaml"), {})


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("index:\n  k_min_respondents: 2\n", "index.k_min_respondents"),
        ("index:\n  alpha: high\n", "index.alpha"),
        ("ingest:\n  max_file_mb: -1\n", "ingest.max_file_mb"),
        ("schedule:\n  cron: nightly\n", "schedule.cron"),
        ("alerts:\n  recipients: nobody\n", "alerts.recipients"),
        ("emial:\n  transport: smtp\n", "emial"),
    ],
)
def test_a_wrong_value_stops_the_run_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, setting: str
) -> None:
    """`ice-pipeline run` refuses in its preflight: no warehouse file, no Dagster run."""
    from ice_pipeline.cli import main

    config = tmp_path / "ice.yaml"
    config.write_text(text)
    monkeypatch.setenv("ICE_CONFIG", str(config))
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ICE_DEMO_MODE", "1")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ICE_WAREHOUSE_URL", raising=False)
    assert main(["run"]) == 2
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
    assert not (tmp_path / "home" / "storage").exists()


def test_department_short_names_and_groups() -> None:
    from ice_pipeline.errors import ConfigError
    from ice_pipeline.index.departments import department_rows

    rows = department_rows(
        {"short_names": {"IT": "Information Technology"}, "groups": {"Sales": ["S N", "S S"]}}
    )
    assert rows.to_dict("records") == [
        {
            "department": "Information Technology",
            "department_group": "Information Technology",
            "short_name": "IT",
        },
        {"department": "S N", "department_group": "Sales", "short_name": None},
        {"department": "S S", "department_group": "Sales", "short_name": None},
    ]
    demo = department_rows(None, demo=True)
    assert demo.set_index("department").loc["Information Technology", "short_name"] == "IT"
    assert set(demo[demo["department_group"] == "Sales"]["department"]) == {
        "Sales North",
        "Sales South",
    }
    assert department_rows(None).empty  # outside demo mode nothing is invented
    with pytest.raises(ConfigError, match="departments.groups.B"):
        department_rows({"groups": {"A": ["x"], "B": ["x"]}})
    with pytest.raises(ConfigError, match="departments.colours"):
        department_rows({"colours": {}})
