"""One scenario per tool for the connector tests: a fake server, settings, data, a mapping.

``seed`` puts the records that exist before the first pull (all updated before ``T1``),
``change`` adds records and updates existing ones between ``T1`` and ``T2``, and ``canonical``
parses a landing directory with the real ingest code into the feed's canonical rows (without
the provenance columns, which name the files). Tests compare those rows across pull histories.
"""

import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ice_pipeline.cache import ParseCache, latest_roster, parse_feed, rows_for_period
from ice_pipeline.connectors.bamboohr import BambooHRSettings
from ice_pipeline.connectors.http import RetryPolicy
from ice_pipeline.connectors.jira import JiraSettings
from ice_pipeline.connectors.qualtrics import QualtricsSettings
from ice_pipeline.connectors.servicenow import ServiceNowSettings
from ice_pipeline.connectors.source import SourceSettings
from ice_pipeline.connectors.surveymonkey import SurveyMonkeySettings
from ice_pipeline.connectors.zendesk import ZendeskSettings
from ice_pipeline.warehouse import schema
from ice_pipeline_tests import connector_servers as servers

T1 = datetime(2026, 11, 5, tzinfo=UTC)
T2 = datetime(2026, 11, 15, tzinfo=UTC)
T3 = datetime(2026, 11, 16, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[1] / "ice_pipeline" / "ingest" / "mapping_examples"
FAST_RETRY = RetryPolicy(
    max_attempts=4, max_total_seconds=5, initial_seconds=0.001, max_seconds=0.01
)
TABLES = {
    "surveys": ["survey_ratings", "survey_comments"],
    "tickets": ["tickets"],
    "hr": ["employees"],
}
PROVENANCE = ["source_file", "source_sha256", "source_row"]

JIRA_MAPPING = """feed: tickets
format: jira
sla_hours: {1: 4, 2: 8, 3: 24, 4: 72, 5: 120}
provider_departments: {Platform: Information Technology, People: Human Resources}
"""


def _columns(table: str) -> list[str]:
    found = next(t for t in schema.metadata.tables.values() if t.name == table)
    return [c.name for c in found.columns]


def canonical(landing: Path, feed: str, scratch: Path) -> dict[str, pd.DataFrame]:
    """The feed's canonical rows as ingest would write them, sorted, provenance dropped."""
    cache = ParseCache(scratch / f"cache-{uuid.uuid4().hex}")
    outcome = parse_feed(landing, feed, cache, salt="test-salt")
    assert not outcome.problems, [str(p) for p in outcome.problems]
    frames = {}
    for table in TABLES[feed]:
        if table == "employees":
            frame = latest_roster(outcome.parses, _columns(table))
        else:
            frame = rows_for_period(outcome.parses, table, None, _columns(table)).frame
        frame = frame.drop(columns=[c for c in PROVENANCE if c in frame.columns])
        frames[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True).astype(str)
    return frames


class Scenario:
    tool: str
    feed: str
    fake_class: type
    page_size = 2

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.fake: Any = self.fake_class()
        self.mapping = tmp / f"{self.tool}.mapping.yaml"
        self.write_mapping()

    def write_mapping(self) -> None:
        raise NotImplementedError

    def settings(self, **changes: Any) -> SourceSettings:
        raise NotImplementedError

    def bad_settings(self) -> SourceSettings:
        """The same source with a wrong credential."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        raise NotImplementedError

    def seed(self) -> None:
        raise NotImplementedError

    def change(self) -> None:
        raise NotImplementedError

    def config_entry(self) -> tuple[dict[str, Any], dict[str, str]]:
        """This source as written in ICE_CONFIG (connectors.sources.<name>) and its env."""
        settings = self.settings()
        entry: dict[str, Any] = {"tool": self.tool, "base_url": self.fake.url, "page_size": 2}
        entry.update({"mapping": str(self.mapping), "secret_env": settings.secret_setting})
        entry.update(self.tool_entry())
        return entry, {settings.secret_setting: self.secrets()[0]}

    def tool_entry(self) -> dict[str, Any]:
        raise NotImplementedError

    def base(self) -> dict[str, Any]:
        return {
            "name": f"{self.tool}_src",
            "base_url": self.fake.url,
            "secret_setting": f"ICE_{self.tool.upper()}_SECRET",
            "page_size": self.page_size,
            "retry": FAST_RETRY,
            "mapping": self.mapping,
            "timeout_seconds": 5.0,
        }


class QualtricsScenario(Scenario):
    tool, feed, fake_class = "qualtrics", "surveys", servers.FakeQualtrics

    def tool_entry(self) -> dict[str, Any]:
        return {"survey_id": "SV_1", "poll_seconds": 0.01}

    def write_mapping(self) -> None:
        shutil.copy(EXAMPLES / "surveys_qualtrics.yaml", self.mapping)

    def settings(self, **changes: Any) -> SourceSettings:
        s = QualtricsSettings(
            **self.base(), survey_id="SV_1", api_token=self.fake.token, poll_seconds=0.0
        )
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(api_token="expired-qualtrics-token")

    def secrets(self) -> list[str]:
        return [self.fake.token]

    @staticmethod
    def row(rid: str, when: str, dept: str, a: int, b: int, text: str = "") -> dict[str, str]:
        return {
            "StartDate": when, "EndDate": when, "Status": "0", "Progress": "100", "Finished": "1",
            "RecordedDate": when, "ResponseId": rid, "Q_DEPT": dept, "Q_IT_1": str(a),
            "Q_IT_2": str(b), "Q_IT_3": "2", "Q_HR_1": "4", "Q_IT_TEXT": text,
        }  # fmt: skip

    def seed(self) -> None:
        self.fake.responses += [
            self.row("R_1", "2026-10-02 09:00:00", "1", 4, 5, "fast"),
            self.row("R_2", "2026-10-03 10:00:00", "2", 2, 3),
            self.row("R_3", "2026-11-01 11:00:00", "3", 5, 5),
        ]

    def change(self) -> None:  # responses are immutable once recorded: only new ones
        self.fake.responses += [
            self.row("R_4", "2026-11-06 09:00:00", "1", 3, 3, "ok"),
            self.row("R_5", "2026-11-10 12:30:00", "2", 1, 2),
        ]


class SurveyMonkeyScenario(Scenario):
    tool, feed, fake_class = "surveymonkey", "surveys", servers.FakeSurveyMonkey

    def tool_entry(self) -> dict[str, Any]:
        return {"survey_id": "42"}

    def write_mapping(self) -> None:
        shutil.copy(EXAMPLES / "surveys_surveymonkey.yaml", self.mapping)

    def settings(self, **changes: Any) -> SourceSettings:
        s = SurveyMonkeySettings(**self.base(), survey_id="42", access_token=self.fake.token)
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(access_token="expired-sm-token")

    def secrets(self) -> list[str]:
        return [self.fake.token]

    def seed(self) -> None:
        r = self.fake.response
        self.fake.responses += [
            r("101", "2026-10-02T09:00:00+00:00", "d1", 4, 5, "fine"),
            r("102", "2026-10-03T09:00:00+00:00", "d2", 2, 2),
            r("103", "2026-10-04T09:00:00+00:00", "d1", 5, 4),
        ]

    def change(self) -> None:
        r = self.fake.response
        self.fake.responses[1] = r(
            "102",
            "2026-10-03T09:00:00+00:00",
            "d2",
            3,
            4,
            "better now",
            "2026-11-07T09:00:00+00:00",
        )
        self.fake.responses += [r("104", "2026-11-08T09:00:00+00:00", "d2", 1, 1)]


class ServiceNowScenario(Scenario):
    tool, feed, fake_class = "servicenow", "tickets", servers.FakeServiceNow

    def tool_entry(self) -> dict[str, Any]:
        return {"username": self.fake.user}

    def write_mapping(self) -> None:
        shutil.copy(EXAMPLES / "tickets_servicenow.yaml", self.mapping)

    def settings(self, **changes: Any) -> SourceSettings:
        s = ServiceNowSettings(**self.base(), username=self.fake.user, password=self.fake.password)
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(password="expired-password")

    def secrets(self) -> list[str]:
        return [self.fake.password]

    @staticmethod
    def inc(
        n: int, opened: str, updated: str, group: str, resolved: str = "", prio: str = "3"
    ) -> dict[str, str]:
        return {
            "sys_id": f"sys{n:03d}", "number": f"INC{n:07d}", "opened_at": opened,
            "resolved_at": resolved, "assignment_group": group, "caller_id": f"E{n:03d}",
            "priority": prio, "made_sla": "true", "reopen_count": "0", "reassignment_count": "1",
            "assigned_to": "agent1", "resolved_by": "agent1" if resolved else "",
            "sys_updated_on": updated,
        }  # fmt: skip

    def seed(self) -> None:
        i = self.inc
        self.fake.incidents += [
            i(
                1,
                "2026-10-01 08:00:00",
                "2026-10-01 09:00:00",
                "service desk",
                "2026-10-01 09:00:00",
            ),
            i(2, "2026-10-02 08:00:00", "2026-10-02 08:00:00", "network"),
            i(3, "2026-10-02 08:30:00", "2026-10-02 08:00:00", "payroll", prio="1"),  # same instant
            i(4, "2026-10-03 08:00:00", "2026-10-02 08:00:00", "network"),  # as #2, #3
            i(
                5,
                "2026-10-04 08:00:00",
                "2026-10-05 08:00:00",
                "hr helpdesk",
                "2026-10-05 08:00:00",
            ),
        ]

    def change(self) -> None:
        i = self.inc
        self.fake.incidents[1] = i(
            2, "2026-10-02 08:00:00", "2026-11-06 10:00:00", "network", "2026-11-06 10:00:00"
        )
        self.fake.incidents += [i(6, "2026-11-07 08:00:00", "2026-11-07 08:00:00", "service desk")]


class JiraScenario(Scenario):
    tool, feed, fake_class = "jira", "tickets", servers.FakeJira

    def tool_entry(self) -> dict[str, Any]:
        return {"email": self.fake.email, "jql": "project = SD"}

    def write_mapping(self) -> None:
        self.mapping.write_text(JIRA_MAPPING, encoding="utf-8")

    def settings(self, **changes: Any) -> SourceSettings:
        s = JiraSettings(
            **self.base(), email=self.fake.email, api_token=self.fake.token, jql="project = SD"
        )
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(api_token="expired-jira-token")

    def secrets(self) -> list[str]:
        return [self.fake.token]

    @staticmethod
    def issue(
        n: int, created: str, updated: str, team: str, resolved: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": str(10000 + n),
            "key": f"SD-{n}",
            "fields": {
                "created": created, "updated": updated, "resolutiondate": resolved,
                "status": {"name": "Done" if resolved else "Open"}, "priority": {"name": "High"},
                "reporter": {"accountId": f"acc{n}"}, "assignee": {"accountId": "agent"},
                "components": [{"name": team}],
            },
        }  # fmt: skip

    def seed(self) -> None:
        i = self.issue
        self.fake.issues += [
            i(
                1,
                "2026-10-01T08:00:00.000+0000",
                "2026-10-01T09:00:00.000+0000",
                "Platform",
                "2026-10-01T09:00:00.000+0000",
            ),
            i(2, "2026-10-02T08:00:00.000+0000", "2026-10-02T08:00:00.000+0000", "People"),
            i(3, "2026-10-03T08:00:00.000+0000", "2026-10-03T08:00:00.000+0000", "Platform"),
        ]

    def change(self) -> None:
        i = self.issue
        self.fake.issues[1] = i(
            2,
            "2026-10-02T08:00:00.000+0000",
            "2026-11-06T08:00:00.000+0000",
            "People",
            "2026-11-06T08:00:00.000+0000",
        )
        self.fake.issues += [
            i(4, "2026-11-08T08:00:00.000+0000", "2026-11-08T08:00:00.000+0000", "Platform")
        ]


class ZendeskScenario(Scenario):
    tool, feed, fake_class = "zendesk", "tickets", servers.FakeZendesk

    def tool_entry(self) -> dict[str, Any]:
        return {"email": self.fake.email}

    def write_mapping(self) -> None:
        shutil.copy(EXAMPLES / "tickets_zendesk.yaml", self.mapping)

    def settings(self, **changes: Any) -> SourceSettings:
        s = ZendeskSettings(**self.base(), email=self.fake.email, api_token=self.fake.token)
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(api_token="expired-zendesk-token")

    def secrets(self) -> list[str]:
        return [self.fake.token]

    @staticmethod
    def ticket(
        n: int,
        created: str,
        updated: str,
        group: int,
        solved: str | None = None,
        status: str = "open",
    ) -> dict[str, Any]:
        return {
            "id": n, "created_at": created, "updated_at": updated, "status": status,
            "group_id": group, "requester_id": 500 + n, "assignee_id": 900, "priority": "normal",
            "solved_at": solved, "reopens": 0, "satisfaction_rating": None,
        }  # fmt: skip

    def seed(self) -> None:
        t = self.ticket
        self.fake.tickets += [
            t(
                1,
                "2026-10-01T08:00:00Z",
                "2026-10-01T10:00:00Z",
                11,
                "2026-10-01T10:00:00Z",
                "solved",
            ),
            t(2, "2026-10-02T08:00:00Z", "2026-10-02T08:00:00Z", 12),
            t(3, "2026-10-03T08:00:00Z", "2026-10-03T08:00:00Z", 11),
        ]
        self.fake.ratings += [
            {"ticket_id": 1, "score": "good", "updated_at": "2026-10-01T11:00:00Z"}
        ]

    def change(self) -> None:
        t = self.ticket
        self.fake.tickets[1] = t(
            2, "2026-10-02T08:00:00Z", "2026-11-06T08:00:00Z", 12, "2026-11-06T08:00:00Z", "solved"
        )
        self.fake.tickets += [t(4, "2026-11-07T08:00:00Z", "2026-11-07T08:00:00Z", 11)]
        self.fake.ratings += [
            {"ticket_id": 2, "score": "bad", "updated_at": "2026-11-06T09:00:00Z"}
        ]


class BambooHRScenario(Scenario):
    tool, feed, fake_class = "bamboohr", "hr", servers.FakeBambooHR

    def tool_entry(self) -> dict[str, Any]:
        return {"company_domain": "acme"}

    def write_mapping(self) -> None:
        shutil.copy(EXAMPLES / "hr_roster.yaml", self.mapping)

    def settings(self, **changes: Any) -> SourceSettings:
        s = BambooHRSettings(**self.base(), company_domain="acme", api_key=self.fake.key)
        return replace(s, **changes)

    def bad_settings(self) -> SourceSettings:
        return self.settings(api_key="expired-bamboo-key")

    def secrets(self) -> list[str]:
        return [self.fake.key]

    @staticmethod
    def emp(
        n: int, dept: str, hired: str, left: str = "0000-00-00", kind: str | None = None
    ) -> dict[str, str]:
        return {
            "id": str(n), "employeeNumber": f"E{n:03d}", "department": dept, "hireDate": hired,
            "terminationDate": left, "terminationTypeId": kind,
        }  # fmt: skip

    def seed(self) -> None:
        e = self.emp
        self.fake.employees += [
            e(1, "Finance", "2020-01-06"),
            e(2, "R&D", "2021-03-01"),
            e(3, "Sales", "2019-05-01"),
        ]

    def change(self) -> None:
        e = self.emp
        self.fake.employees[2] = e(3, "Sales", "2019-05-01", "2026-11-07", "Resignation")
        self.fake.employees += [e(4, "Finance", "2026-11-09")]


SCENARIOS = [
    QualtricsScenario,
    SurveyMonkeyScenario,
    ServiceNowScenario,
    JiraScenario,
    ZendeskScenario,
    BambooHRScenario,
]
