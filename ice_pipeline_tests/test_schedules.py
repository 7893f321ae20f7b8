"""The nightly schedule asks for the latest complete month, in the configured timezone."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from ice_pipeline.defs.schedules import (
    NIGHTLY_SCHEDULE_NAME,
    ScheduleSettings,
    build_nightly_schedule,
    latest_complete_period,
    schedule_settings_from,
    schedules,
)
from ice_pipeline.errors import ConfigError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def demo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ICE_PSEUDONYM_SALT", "ICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ICE_DEMO_MODE", "1")
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))


def test_schedule_skips_naming_a_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICE_DEMO_MODE")
    schedule = build_nightly_schedule(ScheduleSettings())
    result = schedule(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 3, 2, tzinfo=UTC))
    )
    assert isinstance(result, dg.SkipReason)
    assert "ICE_PSEUDONYM_SALT" in (result.skip_message or "")


def _evaluate(schedule: dg.ScheduleDefinition, instant: datetime) -> list[dg.RunRequest]:
    # Invoking the schedule runs its evaluation function exactly as the daemon does at that tick.
    result = schedule(dg.build_schedule_context(scheduled_execution_time=instant))
    assert isinstance(result, dg.RunRequest), result
    return [result]


@pytest.mark.parametrize(
    ("instant", "expected_period"),
    [
        (datetime(2026, 11, 3, 2, 0, tzinfo=AMSTERDAM), "2026-10"),
        (datetime(2026, 12, 1, 2, 0, tzinfo=AMSTERDAM), "2026-11"),
        (datetime(2027, 1, 1, 2, 0, tzinfo=AMSTERDAM), "2026-12"),
    ],
)
def test_schedule_requests_the_latest_complete_month(
    instant: datetime, expected_period: str
) -> None:
    schedule = build_nightly_schedule(
        ScheduleSettings(cron="0 2 * * *", timezone="Europe/Amsterdam")
    )
    requests = _evaluate(schedule, instant)
    assert [request.partition_key for request in requests] == [expected_period]
    assert requests[0].tags["ice/trigger"] == "schedule"


def test_each_night_is_a_separate_run_of_the_same_month() -> None:
    schedule = build_nightly_schedule(ScheduleSettings(timezone="Europe/Amsterdam"))
    first = _evaluate(schedule, datetime(2026, 11, 3, 2, 0, tzinfo=AMSTERDAM))[0]
    second = _evaluate(schedule, datetime(2026, 11, 4, 2, 0, tzinfo=AMSTERDAM))[0]
    assert first.partition_key == second.partition_key == "2026-10"
    assert first.run_key != second.run_key


def test_schedule_skips_when_no_month_is_complete_yet() -> None:
    schedule = build_nightly_schedule(ScheduleSettings())
    # The first partition is 2024-11 (ICE_FIRST_PERIOD's default): on 2024-11-15 nothing has ended.
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 11, 15, 2, 0, tzinfo=UTC)
    )
    result = schedule(context)
    assert isinstance(result, dg.SkipReason)
    assert "2024-10 is not a partition" in (result.skip_message or "")


def test_latest_complete_period_uses_the_schedule_timezone() -> None:
    # 2026-11-30 23:30 UTC is already 1 December in Amsterdam: November has ended there.
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert latest_complete_period(instant, "UTC") == "2026-10"
    assert latest_complete_period(instant, "Europe/Amsterdam") == "2026-11"
    assert latest_complete_period(datetime(2026, 1, 10), "UTC") == "2025-12"


def test_settings_come_from_config_and_the_environment_wins() -> None:
    settings = schedule_settings_from({"cron": "30 3 * * *", "timezone": "Europe/Amsterdam"}, {})
    assert settings == ScheduleSettings(cron="30 3 * * *", timezone="Europe/Amsterdam")
    overridden = schedule_settings_from(
        {"timezone": "Europe/Amsterdam"}, {"ICE_SCHEDULE_TIMEZONE": "UTC"}
    )
    assert overridden == ScheduleSettings(cron="0 2 * * *", timezone="UTC")
    schedule = build_nightly_schedule(settings)
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 3 * * *",
        "Europe/Amsterdam",
    )


@pytest.mark.parametrize(
    ("section", "setting"),
    [
        ({"timezone": "Mars/Olympus"}, "schedule.timezone"),
        ({"cron": "at two"}, "schedule.cron"),
        ({"hour": 2}, "schedule.hour"),
    ],
)
def test_bad_schedule_settings_name_the_setting(section: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        schedule_settings_from(section, {})
    assert caught.value.setting == setting


def test_module_exports_the_nightly_schedule_of_the_nightly_job() -> None:
    assert [schedule.name for schedule in schedules] == [NIGHTLY_SCHEDULE_NAME]
    assert schedules[0].job_name == "ice_nightly_job"
    assert schedules[0].default_status == dg.DefaultScheduleStatus.RUNNING


def test_schedule_tick_is_valid_for_the_real_job() -> None:
    """Evaluated as the daemon does, against the code location: Dagster checks the partition key."""
    from ice_pipeline.definitions import defs

    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def(NIGHTLY_SCHEDULE_NAME)
    instant = datetime(2026, 11, 3, 2, 0, tzinfo=AMSTERDAM)
    context = dg.build_schedule_context(scheduled_execution_time=instant, repository_def=repository)
    result = schedule.evaluate_tick(context)
    assert [request.partition_key for request in result.run_requests] == ["2026-10"]
    assert result.run_requests[0].job_name in (None, "ice_nightly_job")
