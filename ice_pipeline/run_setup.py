"""What ``ice-pipeline run`` prepares before the job runs, and the summary it returns.

Belongs here: the project-local Dagster home (telemetry off), checking every setting and
applying migrations before anything runs (``_preflight``), and ``RunSummary``. Split from
runner.py, which executes the job, to keep both small.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_RECORDS_DIR = "runs"  # under <data_dir>/cache: the inputs of the last successful runs
TELEMETRY_OFF = "telemetry:\n  enabled: false\n"
# Dagster's console logger would print each step's traceback; the runner prints one line instead
# (everything stays in the instance's event log, visible in `dagster dev`).
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def prepare_dagster_home(environ: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME, or ``./.dagster_home``, with a dagster.yaml that disables telemetry."""
    env = os.environ if environ is None else environ
    home = Path(env.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(TELEMETRY_OFF, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class RunSummary:
    """What the runner did, for the closing lines and for tests."""

    periods: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged since their last successful run
    run_ids: list[str] = field(default_factory=list)
    failed_step: str | None = None
    failure: str | None = None
    seconds: float = 0.0
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # "asset[period]" -> metadata
    # Landing files that could not be used (one line each); the others and every period went on.
    failed_files: list[str] = field(default_factory=list)
    # period ('' for the ingest run) -> failed expectations, "table.expectation (ERROR|WARN)"
    failed_checks: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.failed_files


def _preflight(environ: Mapping[str, str]) -> Any:
    """Check every setting before running: data dir, salt, config file, warehouse (migrated)."""
    from ice_pipeline.config import config_path, load_config
    from ice_pipeline.config_validation import validate_config
    from ice_pipeline.run_shape import config_already_valid, record_config_valid
    from ice_pipeline.settings import ensure_data_dir, load_settings, pseudonym_salt
    from ice_pipeline.warehouse.migrate import upgrade

    settings = load_settings(dict(environ))
    ensure_data_dir(settings)
    pseudonym_salt(settings, dict(environ))
    config_file = config_path(settings, dict(environ))
    config = load_config(config_file)
    # Validating imports most of the package (~2 s of CPU): a config that this code already
    # found valid in this environment is not validated again (run_shape.py: what the key holds).
    records = settings.data_dir / "cache" / RUN_RECORDS_DIR
    if not config_already_valid(records, config_file, environ):
        validate_config(config, environ)
        record_config_valid(records, config_file, environ)
    upgrade(settings.warehouse_url)
    return settings


def _metadata_values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}
