"""What every connector shares: a source's common settings, the pull window and the extract.

Belongs here: ``SourceSettings`` (the settings every tool has: name, base URL, the env var of the
credential, timeouts, page size, retries, first start, mapping), ``Window`` (what a pull asks
for: from the committed cursor or ``--since`` up to the moment the pull started), ``Extract``
(what a vendor module hands back: CSV bytes in a layout the ingest parsers read, the record
count, the query and the new cursor) and the timestamp helpers. Vendor rules live in the vendor
modules; landing and committing in ``landing``/``cursor``; running a pull in ``pull``.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ice_pipeline.connectors.http import RetryPolicy
from ice_pipeline.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class SourceSettings:
    """Settings every source has; each tool's settings class adds its own fields."""

    name: str
    base_url: str
    secret_setting: str  # the ICE_* variable holding the credential (named in messages)
    timeout_seconds: float = 30.0
    page_size: int = 100
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    start: datetime | None = None  # lower bound of the very first pull (None: everything)
    mapping: Path | None = None  # copied to landing/<feed>/<name>/mapping.yaml

    def secrets(self) -> tuple[str, ...]:
        """The credential values (blanked out of any message); tools override."""
        return ()

    def need(self, value: str | None, setting: str | None = None) -> str:
        """A credential that must be set, or a ConfigError naming its variable."""
        if not value:
            name = setting or self.secret_setting
            raise ConfigError(
                name,
                f"is not set, so source '{self.name}' cannot authenticate",
                fix=f"export {name}=<the API credential> (never put it in ice.yaml)",
            )
        return value


@dataclass(frozen=True)
class Window:
    """One pull's range: records changed in [since, until); ``cursor`` is the last cursor_to."""

    since: datetime | None
    until: datetime
    cursor: dict[str, Any]
    forced: bool = False  # since came from --since, not from the cursor


@dataclass(frozen=True)
class Extract:
    """A vendor's answer, ready to land: CSV bytes the feed's parser reads, and provenance."""

    content: bytes
    records: int
    cursor_to: dict[str, Any]
    query: dict[str, Any]
    snapshot_period: str | None = None  # HR: the month the snapshot describes


def utc(value: datetime) -> datetime:
    """Aware UTC (a naive value is read as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_z(value: datetime) -> str:
    """``2026-11-30T12:00:00Z``."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant (``Z``, ``+00:00``, ``+0000`` or naive UTC), or None when empty."""
    if not text:
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-3] != ":" and "T" in cleaned:
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]  # Jira writes +0000
    return utc(datetime.fromisoformat(cleaned))


def sql_utc(text: str | None) -> str:
    """An instant as ``YYYY-MM-DD HH:MM:SS`` UTC (what the ticket parsers read as YMD)."""
    moment = parse_instant(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""
