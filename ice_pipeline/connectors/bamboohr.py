"""BambooHR: a custom employee report with hire date, termination date and termination type.

Belongs here: ``POST /api/gateway.php/{companyDomain}/v1/reports/custom`` with
``format=JSON&onlyCurrent=false`` and the field list (``onlyCurrent=false`` keeps terminated
employees and future-dated rows, which turnover needs), and writing the employees as the
roster CSV the HR parser reads (mapping_examples/hr_roster.yaml: ``Employee ID``,
``Department``, ``Hire Date``, ``Termination Date``, ``Termination Type``). BambooHR writes
``0000-00-00`` for "no date".

The report is a full snapshot (there is no paging), so every pull lands the whole roster as the
snapshot of the month it was pulled in; ingest keeps each employee's row from the newest
snapshot. ``--since`` does not apply. Auth: HTTP Basic with the API key as user and ``x``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.landing import csv_bytes
from ice_pipeline.connectors.source import Extract, SourceSettings, Window, iso_z, utc

TOOL = "bamboohr"
FEED = "hr"
CREDENTIAL_ENV = "ICE_BAMBOOHR_API_KEY"
# Roster column (what the HR parser reads) -> BambooHR field alias, in this order.
DEFAULT_FIELDS: dict[str, str] = {
    "Employee ID": "employeeNumber",
    "Department": "department",
    "Hire Date": "hireDate",
    "Termination Date": "terminationDate",
    "Termination Type": "terminationTypeId",
}
EMPTY_DATES = {"0000-00-00", "0000-00-00 00:00:00"}


@dataclass(frozen=True, kw_only=True)
class BambooHRSettings(SourceSettings):
    company_domain: str
    api_key: str | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key or "",)


def client_for(settings: BambooHRSettings, **kwargs: object) -> ApiClient:
    key = settings.need(settings.api_key)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        auth=(key, "x"),
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


def employee_row(employee: Mapping[str, Any], fields: Mapping[str, str]) -> list[str]:
    row = []
    for alias in fields.values():
        value = require(employee, alias, tool=TOOL, what="an employee of the custom report")
        text = "" if value is None else str(value)
        row.append("" if text in EMPTY_DATES else text)
    return row


def fetch(
    client: ApiClient,
    s: BambooHRSettings,
    window: Window,
    *,
    say: Callable[[str], None] = lambda line: None,
    **_: object,
) -> Extract:
    path = f"/api/gateway.php/{s.company_domain}/v1/reports/custom"
    body = {
        "title": "ice_pipeline roster",
        "fields": list(dict.fromkeys(["id", *s.fields.values()])),
    }
    answer = client.post_json(path, body, params={"format": "JSON", "onlyCurrent": "false"})
    employees = require(answer, "employees", tool=TOOL, what="the custom report")
    say(f"{s.name}: {len(employees)} employees")
    latest: dict[str, list[str]] = {}
    for employee in employees:
        key = str(require(employee, "id", tool=TOOL, what="an employee of the custom report"))
        latest[key] = employee_row(employee, s.fields)
    return Extract(
        content=csv_bytes([list(s.fields)], latest.values()),
        records=len(latest),
        cursor_to={"until": iso_z(window.until)},
        query={"report": "custom", "onlyCurrent": False, "fields": list(s.fields.values())},
        snapshot_period=utc(window.until).strftime("%Y-%m"),
    )
