"""Local HTTP servers that speak the six vendors' protocols, for the connector tests.

Each fake keeps its records in memory (tests add and update them between pulls), checks the
vendor's auth header, pages the way the vendor documents, and logs every request. ``faults``
injects what real APIs do on a bad day, matched by path fragment, each used up once:
``("429", seconds)`` with Retry-After, ``("500", None)``, and ``("drop", None)`` (headers and
half the body, then the connection is closed). Loopback only (127.0.0.1, a free port).
"""

import base64
import csv
import io
import json
import re
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, payload: Any, status: int = 200) -> "Reply":
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class FakeApi:
    """The server shell: logging, auth, faults; subclasses answer in ``answer``."""

    def __init__(self) -> None:
        self.requests: list[Req] = []
        self.faults: list[tuple[str, str, float | None]] = []
        self.broken: tuple[str, int] | None = None  # (path fragment, requests that still work)
        # (path fragment, requests that pass, reached, release): later requests wait for release
        self.stall: tuple[str, int, threading.Event, threading.Event] | None = None
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Req(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                stall = fake.stall
                if stall and stall[0] in req.path and fake.hits(stall[0]) >= stall[1]:
                    stall[2].set()  # the client is waiting on this answer now
                    stall[3].wait(timeout=60)
                with fake.lock:
                    fake.requests.append(req)
                    fault = fake._take_fault(req.path)
                    reply = None if fault else fake.reply(req)
                if fault is not None:
                    kind, seconds = fault
                    if kind == "drop":
                        body = fake.reply(req).body or b'{"x": "' + b"y" * 200 + b'"}'
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    reply = Reply.of({"error": kind}, int(kind))
                    if seconds is not None:
                        reply.headers["Retry-After"] = str(seconds)
                assert reply is not None
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = _serve
            do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _take_fault(self, path: str) -> tuple[str, float | None] | None:
        if self.broken and self.broken[0] in path and self.hits(self.broken[0]) > self.broken[1]:
            return "503", None
        for i, (fragment, kind, seconds) in enumerate(self.faults):
            if fragment in path:
                del self.faults[i]
                return kind, seconds
        return None

    def hits(self, fragment: str) -> int:
        return sum(1 for r in self.requests if fragment in r.path)

    def reply(self, req: Req) -> Reply:
        if not self.authorized(req):
            return Reply.of({"error": "invalid credentials"}, 401)
        return self.answer(req)

    def authorized(self, req: Req) -> bool:
        raise NotImplementedError

    def answer(self, req: Req) -> Reply:
        raise NotImplementedError


# --- Qualtrics -------------------------------------------------------------------------------

QUALTRICS_COLUMNS = ["StartDate", "EndDate", "Status", "Progress", "Finished", "RecordedDate"]
QUALTRICS_COLUMNS += ["ResponseId", "Q_DEPT", "Q_IT_1", "Q_IT_2", "Q_IT_3", "Q_HR_1", "Q_IT_TEXT"]


class FakeQualtrics(FakeApi):
    token = "qualtrics-secret-token-123"

    def __init__(self) -> None:
        self.responses: list[dict[str, str]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls_in_progress = 1
        self.fail_next = False
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("x-api-token") == self.token

    def csv_for(self, rows: list[dict[str, str]]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(QUALTRICS_COLUMNS)
        writer.writerow([f"text of {c}" for c in QUALTRICS_COLUMNS])
        writer.writerow([json.dumps({"ImportId": c}) for c in QUALTRICS_COLUMNS])
        for row in rows:
            writer.writerow([row.get(c, "") for c in QUALTRICS_COLUMNS])
        return out.getvalue().encode("utf-8-sig")

    def answer(self, req: Req) -> Reply:
        m = re.fullmatch(r"/API/v3/surveys/(\w+)/export-responses(?:/([\w-]+))?(/file)?", req.path)
        if not m:
            return Reply.of({"meta": {"error": "not found"}}, 404)
        if req.method == "POST":
            body = req.json()
            start = ts(body["startDate"]) if body.get("startDate") else None
            end = ts(body["endDate"])
            rows = [
                r
                for r in self.responses
                if (start is None or ts(r["RecordedDate"]) >= start) and ts(r["RecordedDate"]) < end
            ]
            job = f"ES_{len(self.jobs) + 1}"
            self.jobs[job] = {"rows": rows, "polls": 0, "failed": self.fail_next}
            self.fail_next = False
            return Reply.of(
                {"result": {"progressId": job, "percentComplete": 0, "status": "inProgress"}}
            )
        if m.group(3):
            job = self.jobs[m.group(2).removeprefix("file-")]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("survey.csv", self.csv_for(job["rows"]))
            return Reply(200, buffer.getvalue(), {"Content-Type": "application/octet-stream"})
        job = self.jobs[m.group(2)]
        job["polls"] += 1
        if job["failed"]:
            return Reply.of(
                {
                    "result": {
                        "status": "failed",
                        "percentComplete": 0,
                        "error": {"errorMessage": "export broke"},
                    }
                }
            )
        if job["polls"] <= self.polls_in_progress:
            return Reply.of(
                {"result": {"status": "inProgress", "percentComplete": 50.0, "fileId": None}}
            )
        return Reply.of(
            {
                "result": {
                    "status": "complete",
                    "percentComplete": 100.0,
                    "fileId": f"file-{m.group(2)}",
                }
            }
        )


# --- SurveyMonkey ----------------------------------------------------------------------------


class FakeSurveyMonkey(FakeApi):
    token = "sm-secret-access-token-456"
    details = {
        "id": "42",
        "pages": [
            {
                "id": "p1",
                "questions": [
                    {"id": "q0", "family": "presentation", "headings": [{"heading": "Welcome"}]},
                    {
                        "id": "q1",
                        "family": "single_choice",
                        "headings": [{"heading": "Which department do you work in?"}],
                        "answers": {
                            "choices": [
                                {"id": "d1", "text": "Finance"},
                                {"id": "d2", "text": "Sales"},
                            ]
                        },
                    },
                    {
                        "id": "q2",
                        "family": "matrix",
                        "headings": [{"heading": "How would you rate Information Technology?"}],
                        "answers": {
                            "rows": [
                                {"id": "r1", "text": "Responsiveness"},
                                {"id": "r2", "text": "Quality"},
                            ],
                            "choices": [
                                {"id": f"c{i}", "text": t}
                                for i, t in enumerate(
                                    [
                                        "Strongly disagree",
                                        "Disagree",
                                        "Neither agree nor disagree",
                                        "Agree",
                                        "Strongly agree",
                                    ],
                                    start=1,
                                )
                            ],
                        },
                    },
                    {
                        "id": "q3",
                        "family": "open_ended",
                        "headings": [{"heading": "Anything else about Information Technology?"}],
                    },
                ],
            }
        ],
    }

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.token}"

    @staticmethod
    def response(
        rid: str, when: str, dept: str, r1: int, r2: int, text: str = "", modified: str = ""
    ) -> dict[str, Any]:
        questions = [
            {"id": "q1", "answers": [{"choice_id": dept}]},
            {
                "id": "q2",
                "answers": [
                    {"row_id": "r1", "choice_id": f"c{r1}"},
                    {"row_id": "r2", "choice_id": f"c{r2}"},
                ],
            },
        ]
        if text:
            questions.append({"id": "q3", "answers": [{"text": text}]})
        return {
            "id": rid,
            "collector_id": "col1",
            "response_status": "completed",
            "date_created": when,
            "date_modified": modified or when,
            "pages": [{"id": "p1", "questions": questions}],
        }

    def answer(self, req: Req) -> Reply:
        if req.path == "/v3/surveys/42/details":
            return Reply.of(self.details)
        if req.path != "/v3/surveys/42/responses/bulk":
            return Reply.of({"error": "not found"}, 404)
        q = req.query
        start = ts(q["start_modified_at"] + "Z") if q.get("start_modified_at") else None
        end = ts(q["end_modified_at"] + "Z")
        rows = sorted(
            (
                r
                for r in self.responses
                if (start is None or ts(r["date_modified"]) >= start)
                and ts(r["date_modified"]) < end
            ),
            key=lambda r: (r["date_modified"], r["id"]),
        )
        per_page, page = int(q["per_page"]), int(q.get("page", 1))
        chunk = rows[(page - 1) * per_page : page * per_page]
        links = {"self": "..."}
        if page * per_page < len(rows):
            following = dict(q, page=str(page + 1))
            links["next"] = f"{self.url}{req.path}?" + "&".join(
                f"{k}={v}" for k, v in following.items()
            )
        return Reply.of(
            {"data": chunk, "page": page, "per_page": per_page, "total": len(rows), "links": links}
        )


# --- ServiceNow ------------------------------------------------------------------------------


class FakeServiceNow(FakeApi):
    user, password = "ice_integration", "snow-secret-password-789"

    def __init__(self) -> None:
        self.incidents: list[dict[str, str]] = []
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("authorization") == basic(self.user, self.password)

    def answer(self, req: Req) -> Reply:
        if req.path != "/api/now/table/incident":
            return Reply.of({"error": {"message": "Invalid table"}}, 400)
        rows = list(self.incidents)
        for part in req.query["sysparm_query"].split("^"):
            if m := re.fullmatch(r"sys_updated_on(>=|<)(.+)", part):
                op, bound = m.groups()
                rows = [r for r in rows if (r["sys_updated_on"] >= bound) == (op == ">=")]
        rows.sort(key=lambda r: (r["sys_updated_on"], r["sys_id"]))
        offset, limit = int(req.query["sysparm_offset"]), int(req.query["sysparm_limit"])
        fields = req.query["sysparm_fields"].split(",")
        labels = {"priority": {"1": "1 - Critical", "3": "3 - Moderate"}}
        result = [
            {
                f: {
                    "value": r.get(f, ""),
                    "display_value": labels.get(f, {}).get(r.get(f, ""), r.get(f, "").title()),
                }
                for f in fields
            }
            for r in rows[offset : offset + limit]
        ]
        return Reply.of({"result": result})


# --- Jira ------------------------------------------------------------------------------------


class FakeJira(FakeApi):
    email, token = "bot@example.com", "jira-secret-api-token-abc"

    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("authorization") == basic(self.email, self.token)

    def answer(self, req: Req) -> Reply:
        if req.path == "/rest/api/3/search":
            return Reply.of({"errorMessages": ["This endpoint has been removed"]}, 410)
        if req.path != "/rest/api/3/search/jql":
            return Reply.of({"errorMessages": ["not found"]}, 404)
        jql = req.query["jql"]
        fmt = "%Y/%m/%d %H:%M"
        lo = re.search(r'updated >= "([^"]+)"', jql)
        hi = re.search(r'updated < "([^"]+)"', jql)
        low = datetime.strptime(lo.group(1), fmt).replace(tzinfo=UTC) if lo else None
        high = datetime.strptime(hi.group(1), fmt).replace(tzinfo=UTC)
        rows = [
            i
            for i in self.issues
            if (low is None or ts(i["fields"]["updated"]) >= low)
            and ts(i["fields"]["updated"]) < high
        ]
        rows.sort(key=lambda i: (i["fields"]["updated"], i["key"]))
        start = int(req.query.get("nextPageToken", "0").removeprefix("tok"))
        size = int(req.query["maxResults"])
        chunk = rows[start : start + size]
        body: dict[str, Any] = {"issues": chunk, "isLast": start + size >= len(rows)}
        if not body["isLast"]:
            body["nextPageToken"] = f"tok{start + size}"
        return Reply.of(body)


# --- Zendesk ---------------------------------------------------------------------------------


class FakeZendesk(FakeApi):
    email, token = "bot@example.com", "zendesk-secret-api-token-def"

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []
        self.ratings: list[dict[str, Any]] = []
        self.groups = [{"id": 11, "name": "Support"}, {"id": 12, "name": "Billing"}]
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("authorization") == basic(f"{self.email}/token", self.token)

    def answer(self, req: Req) -> Reply:
        if req.path == "/api/v2/groups":
            return Reply.of({"groups": self.groups, "meta": {"has_more": False}, "links": {}})
        if req.path == "/api/v2/satisfaction_ratings":
            lo = int(req.query.get("start_time", 0))
            hi = int(req.query["end_time"])
            chosen = [r for r in self.ratings if lo <= ts(r["updated_at"]).timestamp() < hi]
            return Reply.of(
                {"satisfaction_ratings": chosen, "meta": {"has_more": False}, "links": {}}
            )
        if req.path != "/api/v2/incremental/tickets/cursor.json":
            return Reply.of({"error": "not found"}, 404)
        order = sorted(self.tickets, key=lambda t: (t["updated_at"], t["id"]))
        if "cursor" in req.query:
            after = json.loads(base64.b64decode(req.query["cursor"]))
            rows = [t for t in order if (t["updated_at"], t["id"]) > tuple(after)]
        else:
            start = int(req.query["start_time"])
            rows = [t for t in order if ts(t["updated_at"]).timestamp() >= start]
        size = int(req.query["per_page"])
        chunk = rows[:size]
        last = (chunk[-1]["updated_at"], chunk[-1]["id"]) if chunk else None
        cursor = (
            base64.b64encode(json.dumps(last).encode()).decode()
            if last
            else req.query.get("cursor")
        )
        metrics = [
            {"ticket_id": t["id"], "solved_at": t.get("solved_at"), "reopens": t.get("reopens", 0)}
            for t in chunk
        ]
        return Reply.of(
            {
                "tickets": chunk,
                "metric_sets": metrics,
                "after_cursor": cursor,
                "after_url": None,
                "end_of_stream": len(rows) <= size,
            }
        )


# --- BambooHR --------------------------------------------------------------------------------


class FakeBambooHR(FakeApi):
    key = "bamboo-secret-api-key-ghi"

    def __init__(self) -> None:
        self.employees: list[dict[str, str]] = []
        super().__init__()

    def authorized(self, req: Req) -> bool:
        return req.headers.get("authorization") == basic(self.key, "x")

    def answer(self, req: Req) -> Reply:
        if req.path != "/api/gateway.php/acme/v1/reports/custom" or req.method != "POST":
            return Reply.of({"error": "not found"}, 404)
        wanted = req.json()["fields"]
        rows = [{f: e.get(f) for f in wanted} for e in self.employees]
        return Reply.of({"title": "x", "fields": [{"id": f} for f in wanted], "employees": rows})
