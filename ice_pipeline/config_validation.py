"""Checking the whole ICE_CONFIG file before a run does any work.

Belongs here: ``validate_config``, which builds every domain's settings from its section (the
domain modules own the rules: ``index.config``, ``index.departments``, ``ingest.limits``,
``reports.config``, ``reports.publish``, ``defs.schedules``, ``connectors.config``, the alert
recipients of ``defs.sensors``) and refuses unknown sections. The runner calls it in its
preflight, so an out-of-range value stops the run in milliseconds instead of failing a step
after the ingest.
Each section is still read where it is used.
"""

from collections.abc import Mapping
from typing import Any

from ice_pipeline.config import section
from ice_pipeline.errors import ConfigError

KNOWN_SECTIONS = (
    "index",
    "ingest",
    "reports",
    "email",
    "schedule",
    "alerts",
    "departments",
    "connectors",
)


def validate_config(config: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """Raise the ConfigError of the first wrong value in ``config``; return None when all fit."""
    from ice_pipeline.connectors.config import load_sources
    from ice_pipeline.defs.schedules import schedule_settings_from
    from ice_pipeline.index.config import IndexConfig
    from ice_pipeline.index.departments import department_rows
    from ice_pipeline.ingest.limits import IngestSettings
    from ice_pipeline.reports.config import report_config_for
    from ice_pipeline.reports.publish import EmailConfig

    unknown = sorted(str(name) for name in config if name not in KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(
            unknown[0],
            f"'{unknown[0]}' is not a section of the config file",
            fix=f"remove it or use the sections {', '.join(KNOWN_SECTIONS)} (ice.example.yaml)",
        )
    sections = {name: section(dict(config), name) for name in KNOWN_SECTIONS}
    index = IndexConfig.from_section(sections["index"])
    IngestSettings.from_section(sections["ingest"])
    report_config_for(sections["reports"], index)
    EmailConfig.from_section(sections["email"])
    schedule_settings_from(sections["schedule"], dict(environ))
    department_rows(sections["departments"])
    load_sources(config, environ)  # connectors: (issue 17); credentials may be unset here
    recipients = sections["alerts"].get("recipients", [])
    unknown_alerts = sorted(set(sections["alerts"]) - {"recipients"})
    if unknown_alerts:
        raise ConfigError(
            f"alerts.{unknown_alerts[0]}",
            "is not a known alerts setting",
            fix="use only 'recipients'",
        )
    if not isinstance(recipients, list) or not all(
        isinstance(address, str) and "@" in address for address in recipients
    ):
        raise ConfigError(
            "alerts.recipients",
            f"must be a list of email addresses, got {recipients!r}",
            fix="write alerts: {recipients: [data-eng@example.org]}",
        )
