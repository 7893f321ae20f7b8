"""Zendesk: the cursor-based incremental ticket export, plus satisfaction ratings.

Belongs here: ``GET /api/v2/incremental/tickets/cursor.json`` (``start_time`` on the first pull,
then the stored ``after_cursor``; pages until ``end_of_stream``; at most 10 requests a minute,
so 429 + ``Retry-After`` is normal) with ``include=metric_sets`` for the solved time and reopen
count, the group names from ``GET /api/v2/groups`` (cursor pagination, ``page[size]``,
``meta.has_more``, ``links.next``), and ``GET /api/v2/satisfaction_ratings`` for the ratings
given in the window. The tickets are written as the Zendesk ticket CSV export
(mapping_examples/tickets_zendesk.yaml): ``Id``, ``Created at``, ``Solved at``, ``Group``,
``Requester id``, ``Priority``, ``Satisfaction Score``, ``Reopens``. A rating changes its
ticket's ``updated_at``, so every rated ticket is in the same export; the ratings endpoint is
what gives the score when the ticket carries none. Deleted tickets are left out.
Auth: HTTP Basic ``{email}/token`` with an API token.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.landing import csv_bytes
from ice_pipeline.connectors.source import Extract, SourceSettings, Window, iso_z, sql_utc, utc

TOOL = "zendesk"
FEED = "tickets"
CREDENTIAL_ENV = "ICE_ZENDESK_API_TOKEN"
COLUMNS = [
    "Id",
    "Created at",
    "Updated at",
    "Solved at",
    "Status",
    "Group",
    "Requester id",
    "Assignee id",
    "Priority",
    "Satisfaction Score",
    "Reopens",
]


@dataclass(frozen=True, kw_only=True)
class ZendeskSettings(SourceSettings):
    email: str
    api_token: str | None = None
    include_ratings: bool = True

    def secrets(self) -> tuple[str, ...]:
        return (self.api_token or "",)


def client_for(settings: ZendeskSettings, **kwargs: object) -> ApiClient:
    token = settings.need(settings.api_token)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        auth=(f"{settings.email}/token", token),
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


def _cursor_pages(client: ApiClient, path: str, params: dict[str, Any]) -> Iterator[Any]:
    """Zendesk cursor pagination: ``links.next`` while ``meta.has_more``."""
    next_path: str | None = path
    next_params: dict[str, Any] | None = params
    while next_path:
        answer = client.get_json(next_path, next_params)
        yield answer
        meta = answer.get("meta") or {}
        following = (answer.get("links") or {}).get("next")
        next_path = client.same_origin(following) if meta.get("has_more") and following else None
        next_params = None


def group_names(client: ApiClient, page_size: int) -> dict[str, str]:
    names: dict[str, str] = {}
    for answer in _cursor_pages(client, "/api/v2/groups", {"page[size]": min(page_size, 100)}):
        for group in require(answer, "groups", tool=TOOL, what="a groups page"):
            names[str(group["id"])] = str(group.get("name", ""))
    return names


def ratings(client: ApiClient, window: Window, page_size: int) -> dict[str, str]:
    """Ticket id -> the newest score given in the window (good / bad / offered)."""
    params: dict[str, Any] = {
        "page[size]": min(page_size, 100),
        "end_time": int(utc(window.until).timestamp()),
    }
    if window.since is not None:
        params["start_time"] = int(utc(window.since).timestamp())
    scores: dict[str, tuple[str, str]] = {}
    for answer in _cursor_pages(client, "/api/v2/satisfaction_ratings", params):
        for rating in require(answer, "satisfaction_ratings", tool=TOOL, what="a ratings page"):
            ticket = str(require(rating, "ticket_id", tool=TOOL, what="a satisfaction rating"))
            stamp = str(rating.get("updated_at") or "")
            if ticket not in scores or stamp >= scores[ticket][0]:
                scores[ticket] = (stamp, str(rating.get("score") or ""))
    return {ticket: score for ticket, (_, score) in scores.items()}


def _tickets(
    client: ApiClient, s: ZendeskSettings, window: Window, say: Callable[[str], None]
) -> Iterator[tuple[list[Mapping[str, Any]], dict[str, Mapping[str, Any]], str | None]]:
    params: dict[str, Any] = {"per_page": min(s.page_size, 1000), "include": "metric_sets"}
    if window.cursor.get("after_cursor") and not window.forced:
        params["cursor"] = window.cursor["after_cursor"]
    else:
        params["start_time"] = int(utc(window.since).timestamp()) if window.since else 0
    page = 0
    while True:
        answer = client.get_json("/api/v2/incremental/tickets/cursor.json", params)
        tickets = require(answer, "tickets", tool=TOOL, what="an incremental export page")
        end = require(answer, "end_of_stream", tool=TOOL, what="an incremental export page")
        metrics = {str(m.get("ticket_id")): m for m in answer.get("metric_sets") or []}
        page += 1
        say(f"{s.name}: export page {page}, {len(tickets)} tickets")
        yield tickets, metrics, answer.get("after_cursor")
        if end or not answer.get("after_cursor"):
            return
        params = {"per_page": params["per_page"], "include": "metric_sets"}
        params["cursor"] = answer["after_cursor"]


def ticket_row(
    ticket: Mapping[str, Any],
    metrics: Mapping[str, Any] | None,
    groups: Mapping[str, str],
    scores: Mapping[str, str],
) -> list[str]:
    ticket_id = str(require(ticket, "id", tool=TOOL, what="a ticket"))
    embedded = (ticket.get("satisfaction_rating") or {}).get("score") or ""
    score = scores.get(ticket_id) or embedded
    return [
        ticket_id,
        sql_utc(require(ticket, "created_at", tool=TOOL, what="a ticket")),
        sql_utc(require(ticket, "updated_at", tool=TOOL, what="a ticket")),
        sql_utc((metrics or {}).get("solved_at")),
        str(ticket.get("status") or ""),
        groups.get(str(ticket.get("group_id")), "") if ticket.get("group_id") else "",
        str(ticket.get("requester_id") or ""),
        str(ticket.get("assignee_id") or ""),
        str(ticket.get("priority") or ""),
        "" if score in ("offered", "unoffered") else score,
        str((metrics or {}).get("reopens", "") if metrics else ""),
    ]


def fetch(
    client: ApiClient,
    s: ZendeskSettings,
    window: Window,
    *,
    say: Callable[[str], None] = lambda line: None,
    **_: object,
) -> Extract:
    groups = group_names(client, s.page_size)
    scores = ratings(client, window, s.page_size) if s.include_ratings else {}
    latest: dict[str, tuple[str, list[str]]] = {}
    after = window.cursor.get("after_cursor")
    for tickets, metrics, cursor in _tickets(client, s, window, say):
        after = cursor or after
        for ticket in tickets:
            row = ticket_row(ticket, metrics.get(str(ticket.get("id"))), groups, scores)
            if ticket.get("status") == "deleted":
                latest.pop(row[0], None)
                continue
            if row[0] not in latest or row[2] >= latest[row[0]][0]:
                latest[row[0]] = (row[2], row)
    return Extract(
        content=csv_bytes([COLUMNS], (row for _, row in latest.values())),
        records=len(latest),
        cursor_to={"after_cursor": after, "until": iso_z(window.until)},
        query={
            "export": "incremental/tickets/cursor",
            "start": (
                "after_cursor of the last pull"
                if window.cursor.get("after_cursor") and not window.forced
                else (iso_z(window.since) if window.since else "the beginning")
            ),
            "ratings_since": iso_z(window.since) if window.since else None,
        },
    )
