"""Qualtrics: the response export flow (start, poll progress, download the zip, unzip).

Belongs here: the Qualtrics v3 ``export-responses`` protocol as ropensci/qualtRics and the API
reference describe it: ``POST /API/v3/surveys/{surveyId}/export-responses`` with ``format: csv``
and ``startDate``/``endDate`` (``endDate`` is exclusive, so the last pull's end is the next
start without duplicates), ``GET .../export-responses/{progressId}`` until ``status`` is
``complete`` (``fileId`` is only set then) or ``failed``, and ``GET .../{fileId}/file`` for a
zip holding one CSV. That CSV already has the three-header-row layout the survey parser reads
(row 3 carries ``{"ImportId": ...}``), so it is landed byte for byte. Auth: ``X-API-TOKEN``.
"""

import csv
import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from ice_pipeline.connectors.http import ApiClient, require
from ice_pipeline.connectors.source import Extract, SourceSettings, Window, iso_z
from ice_pipeline.errors import IceError

TOOL = "qualtrics"
FEED = "surveys"
CREDENTIAL_ENV = "ICE_QUALTRICS_API_TOKEN"


@dataclass(frozen=True, kw_only=True)
class QualtricsSettings(SourceSettings):
    survey_id: str
    api_token: str | None = None
    use_labels: bool = False  # False: numeric codes, as mapping_examples/surveys_qualtrics.yaml
    poll_seconds: float = 2.0
    max_wait_seconds: float = 1800.0

    def secrets(self) -> tuple[str, ...]:
        return (self.api_token or "",)


def client_for(settings: QualtricsSettings, **kwargs: object) -> ApiClient:
    token = settings.need(settings.api_token)
    return ApiClient(
        tool=TOOL,
        base_url=settings.base_url,
        secret_setting=settings.secret_setting,
        headers={"X-API-TOKEN": token},
        timeout_seconds=settings.timeout_seconds,
        retry=settings.retry,
        secrets=settings.secrets(),
        **kwargs,  # type: ignore[arg-type]
    )


def _start(client: ApiClient, s: QualtricsSettings, window: Window) -> str:
    body: dict[str, object] = {
        "format": "csv",
        "endDate": iso_z(window.until),
        "useLabels": s.use_labels,
        "breakoutSets": True,
    }
    if window.since is not None:
        body["startDate"] = iso_z(window.since)
    answer = client.post_json(f"/API/v3/surveys/{s.survey_id}/export-responses", body)
    return str(require(answer, "result.progressId", tool=TOOL, what="the export start answer"))


def _wait_for_file(
    client: ApiClient,
    s: QualtricsSettings,
    progress_id: str,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> str:
    deadline = time.monotonic() + s.max_wait_seconds
    while True:
        answer = client.get_json(f"/API/v3/surveys/{s.survey_id}/export-responses/{progress_id}")
        result = require(answer, "result", tool=TOOL, what="the export progress answer")
        status = require(answer, "result.status", tool=TOOL, what="the export progress answer")
        if status == "complete":
            return str(require(answer, "result.fileId", tool=TOOL, what="a complete export"))
        if status == "failed":
            error = result.get("error") or {}
            reason = client.redact(str(error.get("errorMessage") or error or "no reason given"))
            raise IceError(
                f"the Qualtrics export of survey {s.survey_id} failed ({reason})",
                fix="run the pull again; if it keeps failing, export once in the Qualtrics UI "
                "to see the message",
                where=s.name,
            )
        if status != "inProgress":
            raise IceError(
                f"Qualtrics reported an unknown export status {status!r}",
                fix="check the Qualtrics API changelog (expected inProgress, complete, failed)",
                where=s.name,
            )
        if time.monotonic() > deadline:
            raise IceError(
                f"the Qualtrics export did not complete within {s.max_wait_seconds:.0f} s",
                fix="raise max_wait_seconds for this source, or pull a shorter range (--since)",
                where=s.name,
            )
        say(f"{s.name}: export {result.get('percentComplete', 0):.0f}% complete")
        sleep(s.poll_seconds)


def _csv_from_zip(content: bytes, source: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise IceError(
                    "the Qualtrics export zip holds no CSV file",
                    fix="check the export format (format: csv) and pull again",
                    where=source,
                )
            return archive.read(names[0])
    except zipfile.BadZipFile as err:
        raise IceError(
            "the Qualtrics export download is not a zip file (cut off?)",
            fix="run the pull again",
            where=source,
        ) from err


def count_records(content: bytes, source: str) -> int:
    """Data rows of a Qualtrics CSV; checks its third row is the ImportId row."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    if len(rows) < 3 or not any(cell.startswith('{"ImportId"') for cell in rows[2]):
        raise IceError(
            "the Qualtrics export has not the three header rows (ids, question text, ImportId)",
            fix="export with format csv (the connector's default); nothing was landed",
            where=source,
        )
    return sum(1 for row in rows[3:] if any(cell.strip() for cell in row))


def fetch(
    client: ApiClient,
    s: QualtricsSettings,
    window: Window,
    *,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda line: None,
) -> Extract:
    progress_id = _start(client, s, window)
    file_id = _wait_for_file(client, s, progress_id, sleep, say)
    content = _csv_from_zip(
        client.get_bytes(f"/API/v3/surveys/{s.survey_id}/export-responses/{file_id}/file"),
        s.name,
    )
    query = {
        "survey_id": s.survey_id,
        "startDate": iso_z(window.since) if window.since else None,
        "endDate": iso_z(window.until),
    }
    return Extract(
        content=content,
        records=count_records(content, s.name),
        cursor_to={"until": iso_z(window.until)},
        query=query,
    )
