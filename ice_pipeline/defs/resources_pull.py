"""The pull connectors as Dagster resources: one ``dg.ConfigurableResource`` class per tool.

Belongs here: the resource classes (typed fields, explicit timeouts, the credential as a
``dg.EnvVar`` so its value never enters the definitions, the UI or the run config),
``settings()`` which hands the connector code its plain settings object, and
``build_pull_resources`` which makes one resource per source configured in the ``connectors:``
section of ICE_CONFIG, under the key ``pull_<source>``. With no such section there are none.
What a pull does lives in ``ice_pipeline.connectors``; the assets in ``defs/assets_pull.py``.
"""

import dataclasses
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
from pydantic import Field

from ice_pipeline.connectors.http import RetryPolicy
from ice_pipeline.connectors.source import SourceSettings, utc


class PullSourceResource(dg.ConfigurableResource):
    """Settings every source has (connectors.defaults / connectors.sources.<name>)."""

    name: str = Field(description="the source's name: asset pull_<name>, landing/<feed>/<name>/")
    base_url: str = Field(description="the API's base URL (https://...)")
    secret_setting: str = Field(description="the ICE_* variable that holds the credential")
    timeout_seconds: float = Field(default=30.0, description="per request (connect/read/write)")
    page_size: int = Field(default=100, description="records per page request")
    max_attempts: int = Field(default=6, description="tries per request (429, 5xx, dropped)")
    max_total_seconds: float = Field(default=300.0, description="give up after this long")
    backoff_initial_seconds: float = Field(default=1.0, description="first backoff step")
    backoff_max_seconds: float = Field(default=60.0, description="longest backoff step")
    start: str | None = Field(default=None, description="ISO date of the first pull's start")
    mapping: str | None = Field(default=None, description="mapping YAML copied beside the files")

    settings_class: ClassVar[type[SourceSettings]]
    credential_field: ClassVar[str]

    def settings(self) -> SourceSettings:
        """The plain settings object the connector code takes."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self.settings_class):
            if f.name == "retry":
                values["retry"] = RetryPolicy(
                    max_attempts=self.max_attempts,
                    max_total_seconds=self.max_total_seconds,
                    initial_seconds=self.backoff_initial_seconds,
                    max_seconds=self.backoff_max_seconds,
                )
            elif f.name == "start":
                values["start"] = utc(datetime.fromisoformat(self.start)) if self.start else None
            elif f.name == "mapping":
                values["mapping"] = Path(self.mapping) if self.mapping else None
            else:
                value = getattr(self, f.name)
                values[f.name] = tuple(value) if isinstance(value, list) else value
        return self.settings_class(**values)

    @classmethod
    def from_settings(cls, settings: SourceSettings, secret: Any) -> "PullSourceResource":
        values: dict[str, Any] = {}
        for f in dataclasses.fields(settings):
            value = getattr(settings, f.name)
            if f.name == "retry":
                values.update(
                    max_attempts=value.max_attempts,
                    max_total_seconds=value.max_total_seconds,
                    backoff_initial_seconds=value.initial_seconds,
                    backoff_max_seconds=value.max_seconds,
                )
            elif f.name == cls.credential_field:
                values[f.name] = secret
            elif isinstance(value, datetime):
                values[f.name] = value.isoformat()
            elif isinstance(value, Path):
                values[f.name] = str(value)
            elif isinstance(value, tuple):
                values[f.name] = list(value)
            elif isinstance(value, Mapping):
                values[f.name] = dict(value)
            else:
                values[f.name] = value
        return cls(**values)


def _import(module: str, name: str) -> type[SourceSettings]:
    from importlib import import_module

    return getattr(import_module(f"ice_pipeline.connectors.{module}"), name)


class QualtricsResource(PullSourceResource):
    """Qualtrics response exports of one survey (X-API-TOKEN)."""

    settings_class = _import("qualtrics", "QualtricsSettings")
    credential_field = "api_token"
    survey_id: str = Field(description="SV_... of the survey")
    api_token: str | None = Field(default=None, description="ICE_QUALTRICS_API_TOKEN (secret)")
    use_labels: bool = Field(default=False, description="choice text instead of numeric codes")
    poll_seconds: float = Field(default=2.0, description="wait between export progress checks")
    max_wait_seconds: float = Field(default=1800.0, description="longest wait for an export")


class SurveyMonkeyResource(PullSourceResource):
    """SurveyMonkey responses of one survey (OAuth bearer token)."""

    settings_class = _import("surveymonkey", "SurveyMonkeySettings")
    credential_field = "access_token"
    survey_id: str = Field(description="the survey's numeric id")
    access_token: str | None = Field(
        default=None, description="ICE_SURVEYMONKEY_ACCESS_TOKEN (secret)"
    )
    completed_only: bool = Field(default=True, description="only completed responses")


class ServiceNowResource(PullSourceResource):
    """A ServiceNow table through the Table API (HTTP Basic, an integration user)."""

    settings_class = _import("servicenow", "ServiceNowSettings")
    credential_field = "password"
    username: str = Field(description="the integration user")
    password: str | None = Field(default=None, description="ICE_SERVICENOW_PASSWORD (secret)")
    table: str = Field(default="incident", description="the table to read")
    fields: list[str] = Field(description="sysparm_fields (dot-walking allowed)")
    display_value_fields: list[str] = Field(description="fields written as display text")
    extra_query: str = Field(default="", description="encoded query ANDed to the window")


class JiraResource(PullSourceResource):
    """Jira Cloud issues through the enhanced JQL search (e-mail + API token)."""

    settings_class = _import("jira", "JiraSettings")
    credential_field = "api_token"
    email: str = Field(description="the API user's e-mail")
    api_token: str | None = Field(default=None, description="ICE_JIRA_API_TOKEN (secret)")
    jql: str = Field(default="", description="filter ANDed to the updated-window")
    team_field: str = Field(default="components", description="field written as Team")
    jql_timezone: str = Field(default="UTC", description="the API user's profile timezone")


class ZendeskResource(PullSourceResource):
    """Zendesk tickets (incremental cursor export) and satisfaction ratings (e-mail/token)."""

    settings_class = _import("zendesk", "ZendeskSettings")
    credential_field = "api_token"
    email: str = Field(description="the API user's e-mail")
    api_token: str | None = Field(default=None, description="ICE_ZENDESK_API_TOKEN (secret)")
    include_ratings: bool = Field(default=True, description="also read satisfaction ratings")


class BambooHRResource(PullSourceResource):
    """BambooHR roster through a custom report (API key)."""

    settings_class = _import("bamboohr", "BambooHRSettings")
    credential_field = "api_key"
    company_domain: str = Field(description="the company's BambooHR subdomain")
    api_key: str | None = Field(default=None, description="ICE_BAMBOOHR_API_KEY (secret)")
    fields: dict[str, str] = Field(description="roster column -> BambooHR field alias")


RESOURCE_CLASS: dict[str, type[PullSourceResource]] = {
    "qualtrics": QualtricsResource,
    "surveymonkey": SurveyMonkeyResource,
    "servicenow": ServiceNowResource,
    "jira": JiraResource,
    "zendesk": ZendeskResource,
    "bamboohr": BambooHRResource,
}


def configured_sources(environ: Mapping[str, str] | None = None) -> list[SourceSettings]:
    """The sources of ICE_CONFIG's ``connectors:`` section (credentials from ``environ``)."""
    from ice_pipeline.config import config_path, load_config
    from ice_pipeline.connectors.config import load_sources
    from ice_pipeline.settings import load_settings

    env = dict(os.environ if environ is None else environ)
    return load_sources(load_config(config_path(load_settings(env), env)), env)


def build_pull_resources(
    sources: list[SourceSettings], environ: Mapping[str, str] | None = None
) -> dict[str, PullSourceResource]:
    """``pull_<name>`` -> resource; the credential stays an EnvVar unless ``environ`` is given."""
    from ice_pipeline.connectors.pull import tool_of

    resources = {}
    for settings in sources:
        cls = RESOURCE_CLASS[tool_of(settings)]
        if environ is not None:  # a mapping passed in (tests, the runner): its value is used
            secret: Any = getattr(settings, cls.credential_field)
        else:  # only name a variable that is set: an unset EnvVar fails every run
            is_set = bool(getattr(settings, cls.credential_field))
            secret = dg.EnvVar(settings.secret_setting) if is_set else None
        resources[f"pull_{settings.name}"] = cls.from_settings(settings, secret)
    return resources
