"""ice.example.yaml documents every configuration key; it must stay loadable by the real code."""

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
