"""Sensors: new export files start runs for their periods; failed runs email the data engineers.

Belongs here:

* ``ice_landing_sensor`` watches the landing location (``ICE_LANDING_URL``, default
  ``<ICE_DATA_DIR>/landing``; any fsspec URL such as ``s3://bucket/landing`` lists the same way)
  for new or changed ``landing/<feed>/*.csv`` exports (every suffix in
  ``ice_pipeline.ingest.feeds.EXPORT_SUFFIXES``: .tsv, .xlsx, .xlsm too; links are skipped).
  Files are recognised by the sha256 of their bytes, kept in the sensor cursor, so a renamed or
  touched file never starts a second run and a changed file always does. The new files of a
  tick form one file set, which requests ONE run: for the newest period the set holds rows
  for (``ice_pipeline.ingest.feeds.periods_in_export``), with
  ``run_key = "<sha256 of the set>:<period>"``. Earlier periods in the set are logged, not
  launched one run each (a fresh instance would otherwise start a run per historical period).
  Before anything, the settings every run needs are checked (``defs/readiness.py``): while one
  is missing the sensor skips with a reason naming it and keeps its cursor.
* ``sensors``, the list definitions.py loads: the landing sensor and the run-failure e-mail
  (``ice_run_failure_email``, in defs/alerts.py).

Not here: parsing exports (``ingest``), the email transport (``reports.delivery``), the job itself.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
from fsspec.implementations.local import LocalFileSystem

# The failure alert lives in defs/alerts.py; its names stay importable from here.
from ice_pipeline.defs.alerts import (  # noqa: F401
    ALERT_SENT_TAG,
    DEFAULT_BASE_URL,
    FAILURE_SENSOR_NAME,
    FailureAlert,
    StepFailure,
    alert_base_url,
    alert_recipients,
    build_alert_message,
    failure_alert_for_run,
    ice_run_failure_email,
    send_alert_message,
)
from ice_pipeline.defs.jobs import ice_nightly_job
from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.defs.schedules import latest_complete_period
from ice_pipeline.errors import IceError, printable

LANDING_SENSOR_NAME = "ice_landing_sensor"
FEED_FOLDERS = ("surveys", "tickets", "hr", "external")
# The cursor remembers this many most recent file hashes; older ones are forgotten so the cursor
# (stored by Dagster on every tick) stays small. 2,000 hashes are ~140 kB of JSON.
MAX_SEEN_HASHES = 2000
_PERIOD_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(0[1-9]|1[0-2])(?!\d)")
_HASH_CHUNK_BYTES = 1 << 20


# --- landing: listing, hashing, the cursor ------------------------------------------------------


def landing_url(environ: dict[str, str] | None = None) -> str:
    """The landing location: ``ICE_LANDING_URL`` if set, else ``<ICE_DATA_DIR>/landing``."""
    from ice_pipeline.settings import load_settings

    env = dict(os.environ if environ is None else environ)
    return env.get("ICE_LANDING_URL") or str(load_settings(env).landing_dir)


@dataclass(frozen=True)
class LandingFile:
    """One export file seen in the landing location."""

    path: str  # as the filesystem names it (no protocol)
    feed: str
    size_bytes: int
    version: str  # modification marker (mtime, ETag...); "" when the filesystem has none


@dataclass
class LandingCursor:
    """What the sensor already knows: per present file its version and hash; recent hashes seen."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (version, sha256)
    seen_hashes: list[str] = field(default_factory=list)  # oldest first, at most MAX_SEEN_HASHES

    @classmethod
    def from_json(cls, text: str | None) -> "LandingCursor":
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            files={path: (entry[0], entry[1]) for path, entry in raw.get("files", {}).items()},
            seen_hashes=list(raw.get("seen", [])),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "files": {path: list(entry) for path, entry in sorted(self.files.items())},
                "seen": self.seen_hashes,
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class NewExport:
    """A landing file whose bytes the sensor has not seen before."""

    file: LandingFile
    sha256: str


def _version_of(info: dict[str, Any]) -> str:
    # Each fsspec backend names its modification marker differently.
    for key in ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "created"):
        if info.get(key) is not None:
            return f"{info.get('size')}:{info[key]}"
    return ""


def list_landing_files(fs: fsspec.AbstractFileSystem, root: str) -> list[LandingFile]:
    """Every ``<root>/<feed>/**/*<suffix>`` export (``EXPORT_SUFFIXES``).

    Hidden and partial files are skipped, and so are links (the reader refuses them; a run for
    one would only fail).
    """
    from ice_pipeline.ingest.feeds import EXPORT_SUFFIXES

    root = root.rstrip("/")
    if not fs.exists(root):
        return []
    found: list[LandingFile] = []
    for path, info in sorted(fs.find(root, detail=True).items()):
        relative = path[len(root) :].lstrip("/").split("/")
        name = relative[-1]
        if len(relative) < 2 or relative[0] not in FEED_FOLDERS:
            continue
        # Exporters that write in place are caught half-way; atomic writers use a temporary name.
        if name.startswith((".", "_", "~")) or not name.lower().endswith(EXPORT_SUFFIXES):
            continue
        if info.get("type", "file") != "file" or info.get("islink"):
            continue
        found.append(
            LandingFile(
                path=path,
                feed=relative[0],
                size_bytes=int(info.get("size") or 0),
                version=_version_of(info),
            )
        )
    return found


def sha256_of(fs: fsspec.AbstractFileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def scan_landing(
    fs: fsspec.AbstractFileSystem, root: str, cursor: LandingCursor, max_seen: int = MAX_SEEN_HASHES
) -> tuple[list[NewExport], LandingCursor]:
    """The exports with never-seen bytes, and the cursor that records them as seen.

    A file is only re-hashed when its size or modification marker changed, so a quiet tick costs
    one listing. The new cursor keeps only files still present and the newest ``max_seen`` hashes.
    """
    seen = set(cursor.seen_hashes)
    seen_order = list(cursor.seen_hashes)
    files: dict[str, tuple[str, str]] = {}
    new_exports: list[NewExport] = []
    for landing_file in list_landing_files(fs, root):
        known = cursor.files.get(landing_file.path)
        if known and landing_file.version and known[0] == landing_file.version:
            files[landing_file.path] = known
            continue
        sha = sha256_of(fs, landing_file.path)
        files[landing_file.path] = (landing_file.version, sha)
        if sha in seen:
            continue  # the same bytes under another name, or a touched file
        seen.add(sha)
        seen_order.append(sha)
        new_exports.append(NewExport(file=landing_file, sha256=sha))
    # Hashes of files still present are never forgotten, or a long-lived file would fire again.
    present = {sha for _version, sha in files.values()}
    overflow = max(0, len(seen_order) - max_seen)
    kept = [sha for index, sha in enumerate(seen_order) if index >= overflow or sha in present]
    return new_exports, LandingCursor(files=files, seen_hashes=kept)


def periods_from_name(name: str) -> list[str]:
    """``YYYY-MM`` periods written in a file name (the fallback when the file cannot be parsed)."""
    return sorted({f"{year}-{month}" for year, month in _PERIOD_IN_NAME.findall(name)})


def _local_copy(fs: fsspec.AbstractFileSystem, landing_file: LandingFile, workdir: Path) -> Path:
    """A local path for the file: itself on a local filesystem, else a copy with its mapping."""
    if isinstance(fs, LocalFileSystem):
        return Path(landing_file.path)
    folder = workdir / landing_file.feed
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(landing_file.path).name
    fs.get(landing_file.path, str(target))
    # The reader looks for mapping.yaml beside the file; bring it along when the feed has one.
    mapping = f"{landing_file.path.rsplit('/', 1)[0]}/mapping.yaml"
    if fs.exists(mapping):
        fs.get(mapping, str(folder / "mapping.yaml"))
    return target


def periods_of_export(
    fs: fsspec.AbstractFileSystem, landing_file: LandingFile, now: datetime, log: Any | None = None
) -> list[str]:
    """The periods a landing file contributes to.

    ``periods_in_export`` parses the file; if that fails with a problem the user must fix, the
    run is still requested so the failure shows up in the run (and its alert): the periods then
    come from a ``YYYY-MM`` in the file name, else the latest complete period.
    """
    from ice_pipeline.ingest.feeds import periods_in_export

    workdir = Path(tempfile.mkdtemp(prefix="ice-landing-"))
    try:
        try:
            periods = periods_in_export(
                _local_copy(fs, landing_file, workdir), feed=landing_file.feed
            )
        except IceError as err:
            if log is not None:
                log.warning(
                    printable(
                        f"{landing_file.path}: cannot read its periods ({err}); using the name"
                    )
                )
            periods = []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return (
        sorted(set(periods))
        or periods_from_name(landing_file.path.rsplit("/", 1)[-1])
        or [latest_complete_period(now)]
    )


def landing_run_requests(
    new_exports: Iterable[NewExport],
    periods_by_sha: dict[str, list[str]],
    valid_periods: Sequence[str],
) -> tuple[list[dg.RunRequest], list[str], list[str]]:
    """One run request for the new file set: its newest period within the partitions.

    The run's unpartitioned ingest assets read every landing file anyway, so one run takes in
    the whole set; its partition is the newest period the set holds rows for (normally the one
    month just exported). Older periods in the set (the history on a fresh instance, a re-export
    of past months) are returned as ``older`` instead of one run each: ``ice-pipeline run`` or a
    backfill from the UI computes them. Returns (requests, outside the partitions, older).
    """
    exports = list(new_exports)
    valid = set(valid_periods)
    outside: list[str] = []
    periods: set[str] = set()
    for export in exports:
        for period in periods_by_sha[export.sha256]:
            if period in valid:
                periods.add(period)
            else:
                outside.append(printable(f"{export.file.path}: {period}"))
    if not periods:
        return [], outside, []
    newest = max(periods)
    file_set = hashlib.sha256(
        "\n".join(sorted(export.sha256 for export in exports)).encode("utf-8")
    ).hexdigest()
    request = dg.RunRequest(
        run_key=f"{file_set}:{newest}",
        partition_key=newest,
        tags={
            "ice/trigger": "landing",
            "ice/source_files": str(len(exports)),
            "ice/source_set_sha256": file_set,
            "ice/source_file": printable(exports[-1].file.path)[-200:],
        },
    )
    return [request], outside, sorted(periods - {newest})


@dg.sensor(
    name=LANDING_SENSOR_NAME,
    job=ice_nightly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests one ice_nightly_job run per set of new or changed export files in the landing "
        "location (ICE_LANDING_URL, default <ICE_DATA_DIR>/landing; any fsspec URL), for the "
        "newest period they hold. Files are recognised by sha256, so renaming or touching a file "
        "never starts a second run. Skips, naming the setting, while a setting every run needs "
        "(ICE_PSEUDONYM_SALT, ICE_CONFIG) is missing or wrong."
    ),
)
def ice_landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from ice_pipeline.defs.readiness import settings_problem

    problem = settings_problem()
    if problem:
        # The cursor stays where it is: once the setting is fixed, the files count as new.
        return dg.SensorResult(skip_reason=problem)
    url = landing_url()
    fs, root = fsspec.core.url_to_fs(url)
    new_exports, next_cursor = scan_landing(fs, root, LandingCursor.from_json(context.cursor))
    now = datetime.now(UTC)
    periods_by_sha = {
        export.sha256: periods_of_export(fs, export.file, now, context.log)
        for export in new_exports
    }
    valid_periods = monthly_partitions.get_partition_keys(current_time=now)
    requests, outside, older = landing_run_requests(new_exports, periods_by_sha, valid_periods)
    for entry in outside:
        context.log.info(f"not a partition of ice_nightly_job, no run requested: {entry}")
    if older:
        context.log.info(
            f"the new files also hold {len(older)} earlier period(s) ({older[0]}..{older[-1]}); "
            "no run each: `ice-pipeline run` or a backfill in the UI computes them"
        )
    if not requests:
        return dg.SensorResult(
            skip_reason=f"no new export files in {url}"
            if not new_exports
            else f"{len(new_exports)} new file(s) in {url}, none with a period in the partitions",
            cursor=next_cursor.to_json(),
        )
    return dg.SensorResult(run_requests=requests, cursor=next_cursor.to_json())


sensors: list[dg.SensorDefinition] = [ice_landing_sensor, ice_run_failure_email]
