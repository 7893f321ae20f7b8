"""SurveyMonkey: survey details plus the bulk responses, paginated, as the expanded CSV export.

Belongs here: ``GET /v3/surveys/{id}/details`` (pages, questions, choices and rows),
``GET /v3/surveys/{id}/responses/bulk`` with ``start_modified_at``/``end_modified_at``,
``sort_by=date_modified``, ``per_page`` (at most 100) and ``links.next`` until there is none,
and turning both into the "All responses data > CSV > expanded" layout the survey parser
already reads (row 1 the question once over its group, row 2 the sub-label: ``Response``,
``Open-Ended Response``, a matrix row or a checkbox choice). Converting instead of landing JSON
keeps one mapping format (mapping_examples/surveys_surveymonkey.yaml) for exports and pulls.
``End Date`` holds the response's creation time, not its last modification: an edited response
then keeps its period, and the later file replaces its earlier version by Respondent ID.
Auth: ``Authorization: Bearer <access token>``.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.landing import csv_bytes
from ice_pipeline.connectors.source import (
    Extract,
    SourceSettings,
    Window,
    iso_z,
    parse_instant,
)

TOOL = "surveymonkey"
FEED = "surveys"
CREDENTIAL_ENV = "ICE_SURVEYMONKEY_ACCESS_TOKEN"
META_COLUMNS = ["Respondent ID", "Collector ID", "Start Date", "End Date"]
DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"  # as the CSV export writes (date_order MDY)


@dataclass(frozen=True, kw_only=True)
class SurveyMonkeySettings(SourceSettings):
    survey_id: str
    access_token: str | None = None
    completed_only: bool = True  # partial responses are pulled once they are completed

    def secrets(self) -> tuple[str, ...]:
        return (self.access_token or "",)


def client_for(settings: SurveyMonkeySettings, **kwargs: object) -> ApiClient:
    token = settings.need(settings.access_token)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        headers={"Authorization": f"Bearer {token}"},
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Column:
    """One CSV column of a question: which answers fill it."""

    question_id: str
    heading: str
    label: str
    row_id: str | None = None  # matrix / multi-row text
    choice_id: str | None = None  # one checkbox of a multiple-choice question


def question_columns(details: Mapping[str, Any]) -> tuple[list[Column], dict[str, str]]:
    """The CSV columns of the survey, and choice id -> choice text."""
    columns: list[Column] = []
    choices: dict[str, str] = {}
    for page in require(details, "pages", tool=TOOL, what="the survey details"):
        for question in page.get("questions", []):
            qid = str(require(question, "id", tool=TOOL, what="a question"))
            family = question.get("family", "")
            if family == "presentation":
                continue
            headings = question.get("headings") or [{}]
            heading = str(headings[0].get("heading", qid))
            answers = question.get("answers") or {}
            for choice in answers.get("choices", []):
                choices[str(choice["id"])] = str(choice.get("text", ""))
            other = answers.get("other")
            if other:
                choices[str(other["id"])] = str(other.get("text", "Other"))
            rows = answers.get("rows", [])
            if family == "multiple_choice":
                columns += [
                    Column(qid, heading, str(c.get("text", "")), choice_id=str(c["id"]))
                    for c in answers.get("choices", [])
                ]
            elif rows:
                columns += [
                    Column(qid, heading, str(r.get("text", "")), row_id=str(r["id"])) for r in rows
                ]
            elif family == "open_ended":
                columns.append(Column(qid, heading, "Open-Ended Response"))
            else:
                columns.append(Column(qid, heading, "Response"))
            if other and family != "open_ended":
                columns.append(Column(qid, heading, "Other (please specify)", choice_id="other"))
    return columns, choices


def _cell(column: Column, answers: list[Mapping[str, Any]], choices: Mapping[str, str]) -> str:
    for answer in answers:
        if column.choice_id == "other":
            if answer.get("other_id"):
                return str(answer.get("text", ""))
            continue
        if column.row_id is not None and str(answer.get("row_id")) != column.row_id:
            continue
        if column.choice_id is not None:
            if str(answer.get("choice_id")) == column.choice_id:
                return choices.get(column.choice_id, "")
            continue
        if answer.get("choice_id"):
            return choices.get(str(answer["choice_id"]), "")
        if "text" in answer and not answer.get("other_id"):
            return str(answer["text"])
    return ""


def _export_date(text: str | None) -> str:
    moment = parse_instant(text)
    return moment.strftime(DATE_FORMAT) if moment else ""


def response_row(
    response: Mapping[str, Any], columns: list[Column], choices: Mapping[str, str]
) -> list[str]:
    """One respondent's CSV row."""
    by_question: dict[str, list[Mapping[str, Any]]] = {}
    for page in response.get("pages", []):
        for question in page.get("questions", []):
            by_question[str(question.get("id"))] = list(question.get("answers", []))
    return [
        str(require(response, "id", tool=TOOL, what="a response")),
        str(response.get("collector_id", "")),
        _export_date(require(response, "date_created", tool=TOOL, what="a response")),
        # The period of a response must not move when it is edited later (ingest keys ratings by
        # period), so End Date is the creation time too; date_modified only selects the window.
        _export_date(response["date_created"]),
        *(_cell(c, by_question.get(c.question_id, []), choices) for c in columns),
    ]


def header_rows(columns: list[Column]) -> list[list[str]]:
    top, sub, previous = list(META_COLUMNS), [""] * len(META_COLUMNS), None
    for column in columns:
        top.append(column.heading if column.question_id != previous else "")
        sub.append(column.label)
        previous = column.question_id
    return [top, sub]


def _pages(
    client: ApiClient, s: SurveyMonkeySettings, window: Window, say: Callable[[str], None]
) -> Iterator[list[Mapping[str, Any]]]:
    first: dict[str, Any] = {
        "per_page": min(s.page_size, 100),
        "page": 1,
        "sort_by": "date_modified",
        "sort_order": "ASC",
        "end_modified_at": iso_z(window.until)[:-1],  # SurveyMonkey takes UTC without the Z
    }
    if window.since is not None:
        first["start_modified_at"] = iso_z(window.since)[:-1]
    if s.completed_only:
        first["status"] = "completed"
    params: dict[str, Any] | None = first  # next pages: links.next already carries them
    path = f"/v3/surveys/{s.survey_id}/responses/bulk"
    page = 0
    while path:
        answer = client.get_json(path, params)
        page += 1
        data = require(answer, "data", tool=TOOL, what="a responses page")
        say(f"{s.name}: responses page {page}, {len(data)} responses")
        yield data
        following = (answer.get("links") or {}).get("next")
        path, params = (client.same_origin(following), None) if following else ("", None)


def fetch(
    client: ApiClient,
    s: SurveyMonkeySettings,
    window: Window,
    *,
    say: Callable[[str], None] = lambda line: None,
    **_: object,
) -> Extract:
    details = client.get_json(f"/v3/surveys/{s.survey_id}/details")
    columns, choices = question_columns(details)
    latest: dict[str, list[str]] = {}
    for data in _pages(client, s, window, say):
        for response in data:
            row = response_row(response, columns, choices)
            latest[row[0]] = row  # pages are in date_modified order: the last version wins
    return Extract(
        content=csv_bytes(header_rows(columns), latest.values()),
        records=len(latest),
        cursor_to={"until": iso_z(window.until)},
        query={
            "survey_id": s.survey_id,
            "start_modified_at": iso_z(window.since) if window.since else None,
            "end_modified_at": iso_z(window.until),
            "status": "completed" if s.completed_only else "any",
        },
    )
