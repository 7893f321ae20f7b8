"""Jira Cloud: the enhanced JQL search, ``GET /rest/api/3/search/jql`` with ``nextPageToken``.

Belongs here: the JQL (the configured filter AND ``updated`` inside the pull window, ordered by
``updated`` then ``key``), paging with ``nextPageToken`` until ``isLast`` (or no token: Jira
leaves the key out on the last page, JRACLOUD-92184), the fields asked for (the enhanced search
returns only ids unless ``fields`` is given) and writing the issues as the issue navigator's
CSV export with English headers (``Issue key``, ``Created``, ``Resolved``, ``Priority``,
``Reporter Id``, ``Assignee Id``, ``Team``), which the ticket parser reads. The old
``/rest/api/3/search`` answers 410 Gone since 2025 and is never called. JQL compares minutes,
so the window is cut at whole minutes: ``updated >= since AND updated < until``.
Auth: HTTP Basic with the account e-mail and an API token.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.landing import csv_bytes
from ice_pipeline.connectors.source import Extract, SourceSettings, Window, iso_z, sql_utc, utc

TOOL = "jira"
FEED = "tickets"
CREDENTIAL_ENV = "ICE_JIRA_API_TOKEN"
COLUMNS = [
    "Issue key",
    "Issue id",
    "Created",
    "Updated",
    "Resolved",
    "Status",
    "Priority",
    "Reporter Id",
    "Assignee Id",
    "Team",
]


@dataclass(frozen=True, kw_only=True)
class JiraSettings(SourceSettings):
    email: str
    api_token: str | None = None
    jql: str = ""  # e.g. 'project = SD AND issuetype in (Incident, "Service Request")'
    team_field: str = "components"  # or a custom field id such as customfield_10001
    jql_timezone: str = "UTC"  # the API user's profile timezone: JQL dates are read in it

    def secrets(self) -> tuple[str, ...]:
        return (self.api_token or "",)


def client_for(settings: JiraSettings, **kwargs: object) -> ApiClient:
    token = settings.need(settings.api_token)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        auth=(settings.email, token),
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


def minute(moment: datetime, zone: str) -> datetime:
    """The moment floored to its minute (UTC): JQL cannot say seconds."""
    return utc(moment).replace(second=0, microsecond=0).astimezone(ZoneInfo(zone))


def window_jql(s: JiraSettings, since: datetime | None, until: datetime) -> str:
    fmt = "%Y/%m/%d %H:%M"
    parts = [f"({s.jql})"] if s.jql else []
    if since is not None:
        parts.append(f'updated >= "{minute(since, s.jql_timezone).strftime(fmt)}"')
    parts.append(f'updated < "{minute(until, s.jql_timezone).strftime(fmt)}"')
    return " AND ".join(parts) + " ORDER BY updated ASC, key ASC"


def _name(value: Any, *keys: str) -> str:
    """A Jira field value as text: objects by ``name``/``value``/``accountId``, lists joined."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_name(v, *keys) for v in value if v is not None)
    if isinstance(value, Mapping):
        for key in keys or ("name", "value"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        return ""
    return str(value)


def issue_row(issue: Mapping[str, Any], team_field: str) -> list[str]:
    fields = require(issue, "fields", tool=TOOL, what="an issue")
    return [
        str(require(issue, "key", tool=TOOL, what="an issue")),
        str(issue.get("id", "")),
        sql_utc(require(fields, "created", tool=TOOL, what="an issue's fields")),
        sql_utc(require(fields, "updated", tool=TOOL, what="an issue's fields")),
        sql_utc(fields.get("resolutiondate")),
        _name(fields.get("status")),
        _name(fields.get("priority")),
        _name(fields.get("reporter"), "accountId"),
        _name(fields.get("assignee"), "accountId"),
        _name(fields.get(team_field)),
    ]


def fetch(
    client: ApiClient,
    s: JiraSettings,
    window: Window,
    *,
    say: Callable[[str], None] = lambda line: None,
    **_: object,
) -> Extract:
    until = utc(window.until).replace(second=0, microsecond=0)
    jql = window_jql(s, window.since, until)
    wanted = ["created", "updated", "resolutiondate", "status", "priority", "reporter"]
    wanted += ["assignee", s.team_field]
    latest: dict[str, list[str]] = {}
    token: str | None = None
    page = 0
    while True:
        params: dict[str, Any] = {"jql": jql, "fields": ",".join(wanted), "maxResults": s.page_size}
        if token:
            params["nextPageToken"] = token
        answer = client.get_json("/rest/api/3/search/jql", params)
        issues = require(answer, "issues", tool=TOOL, what="a search page")
        page += 1
        say(f"{s.name}: page {page}, {len(issues)} issues")
        for issue in issues:
            row = issue_row(issue, s.team_field)
            latest[row[0]] = row
        token = answer.get("nextPageToken")
        if answer.get("isLast", not token) or not token:
            break
    return Extract(
        content=csv_bytes([COLUMNS], latest.values()),
        records=len(latest),
        cursor_to={"until": iso_z(until)},
        query={"jql": jql, "fields": wanted},
    )
