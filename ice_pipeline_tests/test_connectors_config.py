"""The ``connectors:`` section: every key of ice.example.yaml loads; mistakes name their key."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from ice_pipeline.connectors.config import load_sources
from ice_pipeline.connectors.pull import tool_of
from ice_pipeline.errors import ConfigError
from ice_pipeline_tests.conftest import REPO_ROOT


def test_example_config_declares_one_source_per_tool() -> None:
    config = yaml.safe_load((REPO_ROOT / "ice.example.yaml").read_text(encoding="utf-8"))
    sources = load_sources(config, {"ICE_ZENDESK_API_TOKEN": "t"})
    assert sorted(tool_of(s) for s in sources) == sorted(
        ["qualtrics", "surveymonkey", "servicenow", "jira", "zendesk", "bamboohr"]
    )
    support = next(s for s in sources if s.name == "support")
    assert support.page_size == 1000 and support.retry.max_attempts == 6
    assert support.api_token == "t" and support.secret_setting == "ICE_ZENDESK_API_TOKEN"  # type: ignore[attr-defined]
    pulse = next(s for s in sources if s.name == "pulse_survey")
    assert pulse.start is not None and pulse.start.isoformat() == "2025-01-01T00:00:00+00:00"


def _load(entry: dict[str, Any], defaults: dict[str, Any] | None = None) -> list[Any]:
    return load_sources({"connectors": {"defaults": defaults or {}, "sources": {"src": entry}}}, {})


@pytest.mark.parametrize(
    ("entry", "defaults", "key"),
    [
        (
            {"tool": "zendesk", "base_url": "https://x", "emial": "a"},
            {},
            "connectors.sources.src.emial",
        ),
        (
            {"tool": "zendesk", "base_url": "https://x", "email": "a", "api_token": "s"},
            {},
            "connectors.sources.src.api_token",
        ),
        ({"tool": "zendesk", "base_url": "https://x"}, {}, "connectors.sources.src.email"),
        ({"tool": "freshdesk"}, {}, "connectors.sources.src.tool"),
        (
            {"tool": "jira", "base_url": "https://x", "email": "a", "page_size": 0},
            {},
            "connectors.sources.src.page_size",
        ),
        (
            {"tool": "jira", "base_url": "https://x", "email": "a"},
            {"jql": "x"},
            "connectors.defaults.jql",
        ),
        (
            {"tool": "jira", "base_url": "https://x", "email": "a", "secret_env": "JIRA"},
            {},
            "connectors.sources.src.secret_env",
        ),
        (
            {
                "tool": "qualtrics",
                "base_url": "https://x",
                "survey_id": "S",
                "mapping": "/no/such.yaml",
            },
            {},
            "connectors.sources.src.mapping",
        ),
    ],
)
def test_mistakes_name_their_key(entry: dict[str, Any], defaults: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(entry, defaults)
    assert caught.value.setting == f"ICE_CONFIG {key}"


def test_defaults_apply_and_sources_override(tmp_path: Path) -> None:
    (sources,) = [
        _load(
            {
                "tool": "servicenow",
                "base_url": "https://x",
                "username": "u",
                "timeout_seconds": 5,
                "fields": ["number"],
            },
            {"timeout_seconds": 9, "max_attempts": 2, "backoff_max_seconds": 0.5},
        )
    ]
    (s,) = sources
    assert s.timeout_seconds == 5 and s.retry.max_attempts == 2 and s.retry.max_seconds == 0.5
    assert s.fields == ("number",) and s.password is None


def test_a_missing_credential_is_named_before_any_request(tmp_path: Path) -> None:
    from ice_pipeline.connectors.pull import pull_source

    (s,) = _load({"tool": "bamboohr", "company_domain": "acme"})
    with pytest.raises(ConfigError, match="^ICE_BAMBOOHR_API_KEY: is not set"):
        pull_source(s, tmp_path)


def test_every_setting_is_documented() -> None:
    """README names every credential variable; operations.md and ice.example.yaml every key."""
    from dataclasses import fields

    from ice_pipeline.connectors import TOOLS, tool_module
    from ice_pipeline.connectors.config import NOT_SETTINGS, RETRY_KEYS, SETTINGS_CLASS

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    operations = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    example = (REPO_ROOT / "ice.example.yaml").read_text(encoding="utf-8")
    for tool in TOOLS:
        module = tool_module(tool)
        class_name, credential = SETTINGS_CLASS[tool]
        keys = {f.name for f in fields(getattr(module, class_name))} - NOT_SETTINGS - {credential}
        keys |= set(RETRY_KEYS) | {"secret_env", "tool"}
        assert module.CREDENTIAL_ENV in readme and module.CREDENTIAL_ENV in operations
        assert f"tool: {tool}" in example
        for key in sorted(keys):
            assert f"`{key}`" in operations, f"{key} is missing from docs/operations.md"
            assert f"{key}:" in example, f"{key} is missing from ice.example.yaml"
