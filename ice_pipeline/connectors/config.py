"""The ``connectors:`` section of ICE_CONFIG -> one typed settings object per source.

Belongs here: reading and checking the section (``defaults`` for every source, ``sources`` by
name, each with its ``tool``), the credential of each source from its ICE_* environment
variable (never from the file), and the defaults per tool. Every key is checked against the
tool's settings class, so a misspelt key fails with its name. ice.example.yaml shows them all;
docs/operations.md explains them.
"""

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ice_pipeline.connectors import TOOLS, tool_module
from ice_pipeline.connectors.http import RetryPolicy
from ice_pipeline.connectors.source import SourceSettings, utc
from ice_pipeline.errors import ConfigError

SECTION = "connectors"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# The settings class of each tool, and its field that holds the credential.
SETTINGS_CLASS = {
    "qualtrics": ("QualtricsSettings", "api_token"),
    "surveymonkey": ("SurveyMonkeySettings", "access_token"),
    "servicenow": ("ServiceNowSettings", "password"),
    "jira": ("JiraSettings", "api_token"),
    "zendesk": ("ZendeskSettings", "api_token"),
    "bamboohr": ("BambooHRSettings", "api_key"),
}
DEFAULT_BASE_URL = {
    "surveymonkey": "https://api.surveymonkey.com",
    "bamboohr": "https://api.bamboohr.com",
}
RETRY_KEYS = {
    "max_attempts": "max_attempts",
    "max_total_seconds": "max_total_seconds",
    "backoff_initial_seconds": "initial_seconds",
    "backoff_max_seconds": "max_seconds",
}
COMMON_KEYS = {"timeout_seconds", "page_size", *RETRY_KEYS}
NOT_SETTINGS = {"name", "secret_setting", "retry"}


def _problem(key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"ICE_CONFIG {key}", problem, fix=fix)


def _coerce(key: str, value: Any, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and args:
        return None if value is None else _coerce(key, value, args[0])
    try:
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind in (int, float):
            if isinstance(value, bool):
                raise TypeError
            number = kind(value)
            if number <= 0:
                raise ValueError
            return number
        if kind is str:
            if not isinstance(value, str | int):
                raise TypeError
            return str(value)
        if kind is datetime:
            moment = value if isinstance(value, datetime) else None
            if moment is None and isinstance(value, date):
                moment = datetime(value.year, value.month, value.day)
            return utc(moment or datetime.fromisoformat(str(value)))
        if kind is Path:
            path = Path(str(value)).expanduser()
            if not path.is_file():
                raise _problem(key, f"the file {path} does not exist", "point it at a mapping YAML")
            return path
        if origin is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError
            return tuple(value)
        if origin in (Mapping, dict) or kind is Mapping:
            if not isinstance(value, dict):
                raise TypeError
            return {str(k): str(v) for k, v in value.items()}
    except (TypeError, ValueError) as err:
        raise _problem(
            key,
            f"{value!r} is not a valid {getattr(kind, '__name__', kind)}",
            "see ice.example.yaml",
        ) from err
    return value


def _settings(
    name: str, entry: Mapping[str, Any], defaults: Mapping[str, Any], environ: Mapping[str, str]
) -> SourceSettings:
    where = f"connectors.sources.{name}"
    tool = entry.get("tool")
    if tool not in TOOLS:
        raise _problem(
            f"{where}.tool", f"{tool!r} is not a known tool", f"use one of {', '.join(TOOLS)}"
        )
    class_name, credential_field = SETTINGS_CLASS[tool]
    cls = getattr(tool_module(tool), class_name)
    hints = typing.get_type_hints(cls)
    allowed = {f.name for f in fields(cls)} - NOT_SETTINGS - {credential_field}
    merged = {**defaults, **{k: v for k, v in entry.items() if k != "tool"}}
    secret_env = str(merged.pop("secret_env", tool_module(tool).CREDENTIAL_ENV))
    if not secret_env.startswith("ICE_"):
        raise _problem(
            f"{where}.secret_env", f"{secret_env!r} lacks the ICE_ prefix", "name an ICE_* variable"
        )
    retry: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for key, value in merged.items():
        if key == credential_field:
            raise _problem(
                f"{where}.{key}",
                "credentials are never read from the config file",
                f"remove it and export {secret_env} instead",
            )
        if key in RETRY_KEYS:
            retry[RETRY_KEYS[key]] = _coerce(
                f"{where}.{key}", value, float if "seconds" in key else int
            )
        elif key in allowed:
            values[key] = _coerce(f"{where}.{key}", value, hints[key])
        else:
            raise _problem(
                f"{where}.{key}",
                f"is not a setting of a {tool} source",
                f"use only {', '.join(sorted(allowed | set(RETRY_KEYS) | {'secret_env'}))}",
            )
    if values.get("base_url") is None and tool in DEFAULT_BASE_URL:
        values["base_url"] = DEFAULT_BASE_URL[tool]
    missing = [
        f.name
        for f in fields(cls)
        if f.name in allowed
        and values.get(f.name) is None
        and f.default is MISSING
        and f.default_factory is MISSING
    ]
    if missing:
        raise _problem(f"{where}.{missing[0]}", "is required", "see ice.example.yaml (connectors)")
    return cls(
        name=name,
        secret_setting=secret_env,
        retry=RetryPolicy(**retry),
        **values,
        **{credential_field: environ.get(secret_env) or None},
    )


def load_sources(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[SourceSettings]:
    """Every configured source, in the order written; [] when the section is absent."""
    section = config.get(SECTION) or {}
    if not isinstance(section, dict):
        raise _problem(SECTION, "must be a mapping", "write 'connectors:' with 'sources:' below it")
    unknown = sorted(set(section) - {"defaults", "sources"})
    if unknown:
        raise _problem(
            f"{SECTION}.{unknown[0]}", "is not a known key", "use 'defaults' and 'sources'"
        )
    defaults = section.get("defaults") or {}
    bad_defaults = sorted(set(defaults) - COMMON_KEYS)
    if bad_defaults:
        raise _problem(
            f"{SECTION}.defaults.{bad_defaults[0]}",
            "cannot be a default for every source",
            f"use only {', '.join(sorted(COMMON_KEYS))}",
        )
    sources = section.get("sources") or {}
    if not isinstance(sources, dict):
        raise _problem(
            f"{SECTION}.sources", "must map source names to settings", "see ice.example.yaml"
        )
    found = []
    for name, entry in sources.items():
        if not NAME_PATTERN.match(str(name)):
            raise _problem(
                f"{SECTION}.sources.{name}",
                "is not a usable source name",
                "use lower-case letters, digits and _ (it names asset pull_<name> and a folder)",
            )
        if not isinstance(entry, dict):
            raise _problem(
                f"{SECTION}.sources.{name}", "must be a mapping", "give it 'tool:' and settings"
            )
        found.append(_settings(str(name), entry, defaults, environ))
    return found
