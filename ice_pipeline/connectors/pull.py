"""Running pulls: one source (window, fetch, land, commit) and several, each on its own.

Belongs here: ``pull_source`` (the window from the committed cursor or ``--since``, the vendor
fetch, landing and committing), ``pull_sources`` (every configured source, or one; a source that
fails is reported and the others go on) and ``PullOutcome`` (what happened, as the CLI and the
asset metadata show it). Vendor protocols are in the vendor modules.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ice_pipeline.connectors import tool_module
from ice_pipeline.connectors.cursor import committed, last_commit, next_batch
from ice_pipeline.connectors.landing import (
    SIDECAR_SUFFIX,
    batch_file_name,
    install_mapping,
    land_batch,
    remove_stale_parts,
    source_dir,
)
from ice_pipeline.connectors.source import SourceSettings, Window, iso_z, parse_instant, utc
from ice_pipeline.errors import IceError

Say = Callable[[str], None]


@dataclass
class PullOutcome:
    """One source's pull: ``status`` is landed, nothing_new, dry_run or failed."""

    source: str
    tool: str
    feed: str
    status: str = "failed"
    records: int = 0
    file: str | None = None
    query: dict[str, Any] = field(default_factory=dict)
    cursor_from: dict[str, Any] = field(default_factory=dict)
    cursor_to: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    user_error: bool = True  # False: an unexpected failure (a bug), not a setting or the vendor
    requests: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.source} ({self.tool}): FAILED: {self.error}"
        where = f" -> {self.file}" if self.file else ""
        what = {"landed": "landed", "nothing_new": "nothing new", "dry_run": "dry run, not landed"}
        return (
            f"{self.source} ({self.tool}): {self.records} records, {what[self.status]}{where} "
            f"({self.requests} requests, {self.seconds:.1f} s)"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tool_of(settings: SourceSettings) -> str:
    return type(settings).__module__.rsplit(".", 1)[-1]


def window_for(
    settings: SourceSettings, folder: Path, since: datetime | None, now: datetime
) -> Window:
    """Since ``--since`` when given, else the committed cursor's end, else the configured start."""
    last = last_commit(folder)
    cursor = dict(last.get("cursor_to") or {}) if last else {}
    if since is not None:
        return Window(utc(since), now, cursor, forced=True)
    previous = parse_instant(cursor.get("until")) if cursor else None
    return Window(previous or settings.start, now, cursor)


def remove_uncommitted(folder: Path) -> int:
    """Delete what a stopped pull left: temporary files, and data files no sidecar commits.

    The range of such a file was not committed, so this pull asks for it again; the folder
    belongs to the connector (put hand-made exports beside it, not in it).
    """
    removed = remove_stale_parts(folder)
    if not folder.is_dir():
        return removed
    kept = {record["file"] for record in committed(folder)}
    for path in folder.glob("*.csv"):
        if path.name not in kept:
            path.unlink()
            removed += 1
    for sidecar in folder.glob(f"*{SIDECAR_SUFFIX}"):
        if sidecar.name.removesuffix(SIDECAR_SUFFIX) + ".csv" not in kept:
            sidecar.unlink()
    return removed


def pull_source(
    settings: SourceSettings,
    landing_dir: Path,
    *,
    since: datetime | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    say: Say = lambda line: None,
    before_commit: Callable[[], None] | None = None,
) -> PullOutcome:
    """Pull one source and land what is new; raises IceError when the source fails."""
    started = time.perf_counter()
    tool = tool_of(settings)
    module = tool_module(tool)
    outcome = PullOutcome(source=settings.name, tool=tool, feed=module.FEED)
    folder = source_dir(landing_dir, module.FEED, settings.name)
    moment = utc(now or datetime.now(UTC)).replace(microsecond=0)
    window = window_for(settings, folder, since, moment)
    outcome.cursor_from = {**window.cursor, "since": iso_z(window.since) if window.since else None}
    say(
        f"{settings.name} ({tool}): pulling changes "
        f"{'since ' + iso_z(window.since) if window.since else 'from the beginning'} "
        f"until {iso_z(window.until)}"
    )
    client = module.client_for(settings, sleep=sleep, progress=say)
    try:
        extract = module.fetch(client, settings, window, sleep=sleep, say=say)
    finally:
        outcome.requests = client.requests
        client.close()
    outcome.records, outcome.query, outcome.cursor_to = (
        extract.records,
        extract.query,
        extract.cursor_to,
    )
    if dry_run or extract.records == 0:
        outcome.status = "dry_run" if dry_run else "nothing_new"
        outcome.seconds = time.perf_counter() - started
        return outcome
    remove_uncommitted(folder)
    install_mapping(folder, settings.mapping)
    batch = next_batch(folder)
    landed = land_batch(
        folder,
        batch_file_name(settings.name, batch, extract.snapshot_period),
        extract.content,
        {
            "source": settings.name,
            "tool": tool,
            "feed": module.FEED,
            "batch": batch,
            "query": extract.query,
            "cursor_from": outcome.cursor_from,
            "cursor_to": extract.cursor_to,
            "records": extract.records,
            "pulled_at": iso_z(moment),
        },
        before_commit=before_commit,
    )
    outcome.status, outcome.file = "landed", str(landed.data_path)
    outcome.seconds = time.perf_counter() - started
    return outcome


def pull_sources(
    sources: Sequence[SourceSettings],
    landing_dir: Path,
    *,
    only: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    say: Say = lambda line: None,
) -> list[PullOutcome]:
    """Pull every source (or ``only`` that one); a failure is recorded and the next goes on."""
    chosen = [s for s in sources if only in (None, s.name, tool_of(s))]
    if only is not None and not chosen:
        names = ", ".join(s.name for s in sources) or "none are configured"
        raise IceError(
            f"no configured source is called {only!r}",
            fix=f"use a source name or tool from connectors.sources in ICE_CONFIG ({names})",
            where="pull",
        )
    outcomes = []
    for settings in chosen:
        started = time.perf_counter()
        try:
            outcome = pull_source(
                settings, landing_dir, since=since, dry_run=dry_run, sleep=sleep, say=say
            )
        except Exception as err:  # noqa: BLE001 - one source's failure must not stop the others
            outcome = failed_outcome(settings, err)
            outcome.seconds = time.perf_counter() - started
        say(outcome.line())
        outcomes.append(outcome)
    return outcomes


def failed_outcome(settings: SourceSettings, err: Exception) -> PullOutcome:
    """The outcome of a source that raised; the message is redacted of its credentials."""
    tool = tool_of(settings)
    text = str(err) if isinstance(err, IceError) else f"{type(err).__name__}: {err}"
    for secret in settings.secrets():
        if secret:
            text = text.replace(secret, "***")
    return PullOutcome(
        source=settings.name,
        tool=tool,
        feed=tool_module(tool).FEED,
        error=text.splitlines()[0] if text else type(err).__name__,
        user_error=isinstance(err, IceError),
    )


def parse_since(text: str | None) -> datetime | None:
    """``--since`` as an instant: a date (midnight UTC) or an ISO date-time."""
    if not text:
        return None
    try:
        return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError as err:
        raise IceError(
            f"{text!r} is not a date",
            fix="write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
            where="--since",
        ) from err


def pull_command(
    source: str | None, since: str | None, dry_run: bool, *, out: Any, err: Any
) -> int:
    """``ice-pipeline pull``: progress on ``out``, one line per failed source on ``err``.

    Exit status 0 when every source succeeded; 2 when a source failed for a reason a person can
    fix (a refused credential, a setting, the vendor unreachable); 1 when one failed unexpectedly.
    """
    import os

    from ice_pipeline.config import config_path, load_config
    from ice_pipeline.connectors.config import load_sources
    from ice_pipeline.settings import ensure_data_dir, load_settings

    env = dict(os.environ)
    settings = load_settings(env)
    sources = load_sources(load_config(config_path(settings, env)), env)
    if not sources:
        print(
            "no connectors are configured (ICE_CONFIG connectors.sources): nothing to pull",
            file=out,
        )
        return 0
    landing = ensure_data_dir(settings) / "landing"
    outcomes = pull_sources(
        sources,
        landing,
        only=source,
        since=parse_since(since),
        dry_run=dry_run,
        say=lambda line: print(line, file=out, flush=True),
    )
    failed = [o for o in outcomes if not o.ok]
    landed = sum(o.records for o in outcomes if o.status == "landed")
    print(
        f"pulled {len(outcomes) - len(failed)} of {len(outcomes)} sources, "
        f"{landed} records landed{' (dry run: nothing landed)' if dry_run else ''}",
        file=out,
    )
    for outcome in failed:
        print(f"ice-pipeline: pull {outcome.source} failed: {outcome.error}", file=err)
    if not failed:
        return 0
    return 2 if all(o.user_error for o in failed) else 1
