"""Where things live and how to reach them: the data directory, the warehouse URL, config files.

Read from the environment when a command or a Dagster resource starts, never at import time.
Every setting has the ``ICE_`` prefix and is documented in README.md (Configuration).

| variable              | default                                    |
|-----------------------|--------------------------------------------|
| ICE_DATA_DIR          | ./data (relative to the working directory) |
| ICE_WAREHOUSE_URL     | duckdb:///<ICE_DATA_DIR>/warehouse.duckdb  |
| ICE_CONFIG            | <ICE_DATA_DIR>/../ice.yaml if present, else built-in defaults |
| ICE_PSEUDONYM_SALT    | required outside demo mode                 |
| ICE_DEMO_MODE         | "0"; "1" allows a fixed demo salt          |
"""

import os
from dataclasses import dataclass
from pathlib import Path

from ice_pipeline.errors import ConfigError

DEMO_SALT = "ice-demo-salt-not-secret"


@dataclass(frozen=True)
class Settings:
    """Resolved locations for one process."""

    data_dir: Path
    warehouse_url: str
    demo_mode: bool

    @property
    def landing_dir(self) -> Path:
        """Where export files are dropped: <data_dir>/landing/<feed>/."""
        return self.data_dir / "landing"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def gx_dir(self) -> Path:
        return self.data_dir / "gx"


def default_warehouse_url(data_dir: Path) -> str:
    return f"duckdb:///{data_dir.resolve() / 'warehouse.duckdb'}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Resolve settings from the environment (or the mapping given, for tests)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("ICE_DATA_DIR") or "data").expanduser().resolve()
    url = env.get("ICE_WAREHOUSE_URL") or default_warehouse_url(data_dir)
    demo = env.get("ICE_DEMO_MODE", "0").strip().lower() in {"1", "true", "yes"}
    return Settings(data_dir=data_dir, warehouse_url=url, demo_mode=demo)


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory or fail naming ICE_DATA_DIR."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise ConfigError(
            "ICE_DATA_DIR",
            f"the data directory {settings.data_dir} is not writable ({err.strerror})",
            fix="point ICE_DATA_DIR at a directory this user can write, or fix its permissions",
        ) from err
    return settings.data_dir


def pseudonym_salt(settings: Settings, environ: dict[str, str] | None = None) -> str:
    """The salt for hashing respondent and employee ids; required unless in demo mode."""
    env = os.environ if environ is None else environ
    salt = env.get("ICE_PSEUDONYM_SALT", "")
    if salt:
        return salt
    if settings.demo_mode:
        return DEMO_SALT
    raise ConfigError(
        "ICE_PSEUDONYM_SALT",
        "no salt is set for pseudonymising respondent and employee ids, so ids cannot be "
        "hashed safely and the run refuses to start",
        fix="set ICE_PSEUDONYM_SALT to a long random secret (keep it stable across runs), "
        "or set ICE_DEMO_MODE=1 for demo data",
    )
