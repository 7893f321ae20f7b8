"""The nightly schedule: every night, run the main job for the latest complete period.

Belongs here: when the nightly run happens (cron + timezone from the ``schedule:`` config section
or ``ICE_SCHEDULE_CRON`` / ``ICE_SCHEDULE_TIMEZONE``), and which partition it asks for. The
cross-period analyses (trends, lagged correlations) are downstream assets of that partition inside
the same job, so one partitioned run covers them. What the job contains lives in ``defs/jobs.py``.
A tick first checks the settings every run needs (``defs/readiness.py``) and skips with a reason
naming a missing or wrong one instead of starting a run that must fail. A period without survey
data is computed (late ticket exports still count) but its report is never e-mailed.

The cron and timezone are read when the code location loads (a Dagster schedule's timezone is
part of its definition); after changing them, reload the code location (restart the webserver and
daemon, or "Reload" in the UI).
"""

import os
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from ice_pipeline.defs.jobs import ice_nightly_job
from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.errors import ConfigError

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
NIGHTLY_SCHEDULE_NAME = "ice_nightly_schedule"


@dataclass(frozen=True)
class ScheduleSettings:
    """When the nightly run starts: a 5-field cron string evaluated in an IANA timezone."""

    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE

    def validate(self) -> None:
        if not is_valid_cron_string(self.cron):
            raise ConfigError(
                "schedule.cron",
                f"{self.cron!r} is not a valid cron string",
                fix='use five fields "minute hour day month weekday", e.g. "0 2 * * *" (02:00)',
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError(
                "schedule.timezone",
                f"{self.timezone!r} is not a known IANA timezone",
                fix='use a name such as "Europe/Amsterdam" or "UTC" (or set ICE_SCHEDULE_TIMEZONE)',
            ) from err


def schedule_settings_from(section: dict[str, Any], environ: dict[str, str]) -> ScheduleSettings:
    """Combine the ``schedule:`` YAML section with the environment; the environment wins."""
    unknown = sorted(set(section) - {"cron", "timezone"})
    if unknown:
        raise ConfigError(
            f"schedule.{unknown[0]}",
            "is not a known schedule setting",
            fix="use only 'cron' and 'timezone'",
        )
    settings = ScheduleSettings(
        cron=environ.get("ICE_SCHEDULE_CRON") or str(section.get("cron") or DEFAULT_CRON),
        timezone=environ.get("ICE_SCHEDULE_TIMEZONE")
        or str(section.get("timezone") or DEFAULT_TIMEZONE),
    )
    settings.validate()
    return settings


def load_schedule_settings(environ: dict[str, str] | None = None) -> ScheduleSettings:
    """Read the schedule settings from ICE_CONFIG's ``schedule:`` section and ICE_SCHEDULE_*."""
    from ice_pipeline.config import config_path, load_config, section
    from ice_pipeline.settings import load_settings

    env = dict(os.environ if environ is None else environ)
    config = load_config(config_path(load_settings(env), env))
    return schedule_settings_from(section(config, "schedule"), env)


def latest_complete_period(instant: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The last month that has fully ended at ``instant``, as ``YYYY-MM``, in ``timezone``.

    The month that contains the instant is still open (exports for it are incomplete), so the
    answer is the month before it: 2026-11-03 02:00 gives 2026-10; 2026-12-01 02:00 gives 2026-11.
    A naive ``instant`` is read as already being in ``timezone``.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    local = instant.replace(tzinfo=zone) if instant.tzinfo is None else instant.astimezone(zone)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def build_nightly_schedule(settings: ScheduleSettings) -> dg.ScheduleDefinition:
    """The nightly schedule of ``ice_nightly_job`` for the given cron and timezone."""

    @dg.schedule(
        name=NIGHTLY_SCHEDULE_NAME,
        cron_schedule=settings.cron,
        execution_timezone=settings.timezone,
        job=ice_nightly_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Runs ice_nightly_job at '{settings.cron}' ({settings.timezone}) for the latest "
            "complete "
            "month; the cross-period analyses downstream of it run in the same run."
        ),
    )
    def ice_nightly_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        from ice_pipeline.defs.readiness import settings_problem

        problem = settings_problem()
        if problem:  # a run now would fail on the same setting
            return dg.SkipReason(problem)
        instant = context.scheduled_execution_time
        period = latest_complete_period(instant, settings.timezone)
        valid_periods = monthly_partitions.get_partition_keys(
            current_time=instant, dynamic_partitions_store=None
        )
        if period not in valid_periods:
            # Before ICE_FIRST_PERIOD has ended there is nothing complete to compute yet.
            return dg.SkipReason(
                f"period {period} is not a partition of ice_nightly_job at {instant.isoformat()} "
                f"(partitions run {valid_periods[0] if valid_periods else 'nowhere'} .. "
                f"{valid_periods[-1] if valid_periods else 'nowhere'}); check ICE_FIRST_PERIOD"
            )
        return dg.RunRequest(
            # One run per scheduled night: the key dedupes a re-evaluated tick, not the period,
            # because re-running last month each night is how late-arriving exports are picked up.
            run_key=f"nightly:{instant.isoformat()}",
            partition_key=period,
            tags={"ice/trigger": "schedule"},
        )

    return ice_nightly_schedule


schedules: list[dg.ScheduleDefinition] = [build_nightly_schedule(load_schedule_settings())]
