"""ServiceNow: the Table API (``/api/now/table/<table>``), incidents by default.

Belongs here: the query (``sysparm_query`` on ``sys_updated_on`` inside the pull window, ordered
by ``sys_updated_on`` then ``sys_id``), paging with ``sysparm_offset``/``sysparm_limit``, and
``sysparm_display_value=all`` so each field arrives as ``{"value", "display_value"}``: the
fields named in ``display_value_fields`` (priority, assignment group) are written as their
display text, all others (dates in UTC, numbers, booleans) as their stored value. The rows are
written as the incident list export (field-name headers), which the ticket parser and
mapping_examples/tickets_servicenow.yaml read.

Paging: a plain offset over a result set that changes while we read it can skip a record (one
updated mid-pull leaves the set and every later record moves up a place). So each page's lower
bound moves to the last ``sys_updated_on`` seen and the offset only counts the records already
read at exactly that instant. Records updated during the pull fall outside the window's end and
come with the next pull. Auth: HTTP Basic (an integration user; set its timezone to UTC, since
ServiceNow reads query dates in the user's timezone).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.landing import csv_bytes
from ice_pipeline.connectors.source import Extract, SourceSettings, Window, iso_z, utc

TOOL = "servicenow"
FEED = "tickets"
CREDENTIAL_ENV = "ICE_SERVICENOW_PASSWORD"
DEFAULT_FIELDS = (
    "number",
    "opened_at",
    "resolved_at",
    "assignment_group",
    "caller_id",
    "priority",
    "made_sla",
    "reopen_count",
    "reassignment_count",
    "assigned_to",
    "resolved_by",
    "sys_updated_on",
    "sys_id",
)
KEY_FIELDS = ("sys_id", "sys_updated_on", "number")


@dataclass(frozen=True, kw_only=True)
class ServiceNowSettings(SourceSettings):
    username: str
    password: str | None = None
    table: str = "incident"
    fields: tuple[str, ...] = DEFAULT_FIELDS
    display_value_fields: tuple[str, ...] = field(
        default=("priority", "assignment_group", "assigned_to", "resolved_by")
    )
    extra_query: str = ""  # e.g. "active=true^category=software", ANDed to the window

    def secrets(self) -> tuple[str, ...]:
        return (self.password or "",)


def client_for(settings: ServiceNowSettings, **kwargs: object) -> ApiClient:
    password = settings.need(settings.password)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        auth=(settings.username, password),
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


def glide_time(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def encoded_query(s: ServiceNowSettings, lower: str | None, upper: str) -> str:
    parts = [s.extra_query] if s.extra_query else []
    if lower:
        parts.append(f"sys_updated_on>={lower}")
    parts.append(f"sys_updated_on<{upper}")
    return "^".join(parts) + "^ORDERBYsys_updated_on^ORDERBYsys_id"


def _value(record: Mapping[str, Any], name: str, display: bool) -> str:
    cell = require(record, name, tool=TOOL, what="an incident record")
    if isinstance(cell, Mapping):
        chosen = cell.get("display_value") if display else cell.get("value")
        return "" if chosen is None else str(chosen)
    return "" if cell is None else str(cell)


def fetch(
    client: ApiClient,
    s: ServiceNowSettings,
    window: Window,
    *,
    say: Callable[[str], None] = lambda line: None,
    **_: object,
) -> Extract:
    fields = list(dict.fromkeys([*s.fields, *KEY_FIELDS]))
    display = set(s.display_value_fields)
    upper = glide_time(window.until)
    lower = glide_time(window.since) if window.since else None
    first_query = encoded_query(s, lower, upper)
    seen_at_lower = 0  # records already read whose sys_updated_on equals ``lower``
    latest: dict[str, list[str]] = {}
    page = 0
    while True:
        answer = client.get_json(
            f"/api/now/table/{s.table}",
            {
                "sysparm_query": encoded_query(s, lower, upper),
                "sysparm_fields": ",".join(fields),
                "sysparm_display_value": "all",
                "sysparm_exclude_reference_link": "true",
                "sysparm_limit": s.page_size,
                "sysparm_offset": seen_at_lower,
            },
        )
        records = require(answer, "result", tool=TOOL, what="a Table API page")
        page += 1
        say(f"{s.name}: page {page}, {len(records)} records")
        for record in records:
            row = [_value(record, name, name in display) for name in fields]
            latest[_value(record, "sys_id", False)] = row
        if len(records) < s.page_size:
            break
        last = _value(records[-1], "sys_updated_on", False)
        ties = sum(1 for r in records if _value(r, "sys_updated_on", False) == last)
        seen_at_lower = seen_at_lower + ties if last == lower else ties
        lower = last
    return Extract(
        content=csv_bytes([fields], latest.values()),
        records=len(latest),
        cursor_to={"until": iso_z(window.until)},
        query={"table": s.table, "sysparm_query": first_query, "fields": fields},
    )
