"""The pipeline's tunable constants, read from one YAML file (``ICE_CONFIG``).

The file has one section per domain (``index``, ``kpis``, ``reports``, ``email``, ``schedule``);
each domain module owns a dataclass with documented defaults and builds it from its section with
``from_section``. A missing file means all defaults. ``ice.example.yaml`` documents every key.
"""

from pathlib import Path
from typing import Any

import yaml

from ice_pipeline.errors import ConfigError
from ice_pipeline.settings import Settings


def config_path(settings: Settings, environ: dict[str, str] | None = None) -> Path | None:
    import os

    env = os.environ if environ is None else environ
    explicit = env.get("ICE_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(
                "ICE_CONFIG",
                f"the config file {path} does not exist",
                fix="point ICE_CONFIG at an existing YAML file, or unset it for defaults",
            )
        return path
    return None


def load_config(path: Path | None) -> dict[str, Any]:
    """Parse the YAML config file into its sections; an absent file gives ``{}``."""
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(
            "ICE_CONFIG",
            f"{path} is not valid YAML ({err})",
            fix="correct the YAML syntax; ice.example.yaml shows every key",
        ) from err
    if not isinstance(loaded, dict):
        raise ConfigError(
            "ICE_CONFIG",
            f"{path} must hold a mapping of sections",
            fix="start the file with section names such as 'index:'",
        )
    return loaded


def section(config: dict[str, Any], name: str) -> dict[str, Any]:
    value = config.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(
            "ICE_CONFIG",
            f"section '{name}' must be a mapping",
            fix=f"write '{name}:' followed by indented keys",
        )
    return value
