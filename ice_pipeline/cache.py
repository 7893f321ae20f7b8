"""The parse cache: every export file is parsed once, and its canonical rows kept as Parquet.

Belongs here: the cache layout under ``<ICE_DATA_DIR>/cache``, parsing a landing feed through
it (``parse_feed``), the per-feed manifest of the files a raw asset ingested, and reading one
period's rows back from the cached parses (``rows_for_period``). Parsing itself is
``ice_pipeline.ingest.feeds.read_export``; writing the warehouse is ``ice_pipeline.warehouse``.
No Dagster here: the raw and canonical assets call these functions.

Why a cache: the raw assets are unpartitioned (they look at every file in the landing
directory), the canonical assets are partitioned by period; without it each of 24 partitions
would parse every file again. Layout::

    cache/<file sha256>/<context key>/meta.json
                                      quarantine.parquet
                                      <table>.parquet            (e.g. employees)
                                      <table>/<period>.parquet   (tables with a period column)
    cache/manifests/<feed>.json       the parses the last successful raw run used, in order

The context key covers everything besides the bytes that changes the parse: the mapping file's
content, the salt (only its hash is stored), the HR roster used to map ticket requesters, and
the package version. A file whose bytes are unchanged is never parsed again.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as _package_version
from pathlib import Path
from typing import Any

import pandas as pd

from ice_pipeline.errors import IceError
from ice_pipeline.ingest.common import ParseResult, distinct_text

PERIOD_COLUMNS = ("period", "snapshot_period")
_META = "meta.json"
_QUARANTINE = "quarantine.parquet"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_fingerprint(frame: pd.DataFrame | None) -> str:
    """A stable hash of a frame's content (used to key ticket parses on the HR roster)."""
    if frame is None or frame.empty:
        return "none"
    hashed = pd.util.hash_pandas_object(frame.sort_index(axis=1), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


@dataclass
class CachedParse:
    """One export's parse as stored in the cache; frames are read from Parquet on demand."""

    directory: Path
    meta: dict[str, Any]

    @property
    def feed(self) -> str:
        return str(self.meta["feed"])

    @property
    def source_file(self) -> str:
        return str(self.meta["source_file"])

    @property
    def source_sha256(self) -> str:
        return str(self.meta["source_sha256"])

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.meta["counts"].items()}

    @property
    def periods(self) -> list[str]:
        return list(self.meta["periods"])

    def table_periods(self, table: str) -> list[str]:
        return list(self.meta["tables"].get(table, {}).get("periods", []))

    def has_table(self, table: str) -> bool:
        return table in self.meta["tables"]

    def table(self, table: str, period: str | None = None) -> pd.DataFrame | None:
        """The cached rows of ``table`` (only ``period``'s when given); None when absent."""
        info = self.meta["tables"].get(table)
        if info is None:
            return None
        if info["split"]:
            wanted = [period] if period is not None else info["periods"]
            frames = [
                pd.read_parquet(self.directory / table / f"{p}.parquet")
                for p in wanted
                if p in info["periods"]
            ]
            if not frames:
                return None
            return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        frame = pd.read_parquet(self.directory / f"{table}.parquet")
        return frame

    def quarantine(self) -> pd.DataFrame:
        return pd.read_parquet(self.directory / _QUARANTINE)


class ParseCache:
    """Parses of export files keyed by their bytes and parse context, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def context_key(mapping_path: Path | None, salt: str, extra: str = "") -> str:
        mapping_sha = (
            file_sha256(mapping_path)
            if mapping_path is not None and mapping_path.is_file()
            else "none"
        )
        salt_sha = hashlib.sha256(salt.encode("utf-8")).hexdigest()
        material = "\n".join([_package_version("ice-pipeline"), mapping_sha, salt_sha, extra])
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]

    def directory(self, sha: str, context: str) -> Path:
        return self.root / sha / context

    def get(self, sha: str, context: str) -> CachedParse | None:
        directory = self.directory(sha, context)
        meta_path = directory / _META
        if not meta_path.is_file():
            return None
        return CachedParse(directory, json.loads(meta_path.read_text(encoding="utf-8")))

    def put(self, sha: str, context: str, result: ParseResult) -> CachedParse:
        """Store a parse atomically: written to a temporary directory, then renamed into place."""
        target = self.directory(sha, context)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        tables: dict[str, dict[str, Any]] = {}
        for name, frame in result.tables.items():
            period_column = next((c for c in PERIOD_COLUMNS if c in frame.columns), None)
            if period_column == "period":
                (staging / name).mkdir()
                periods = distinct_text(frame["period"])
                # Per distinct period; a file of one period (the usual monthly wave) is written
                # as it is, without splitting 2.5M rows into a copy.
                # (index=False: the frame index is never stored, so no reset_index copy either.)
                codes, labels = pd.factorize(frame["period"])
                whole = len(labels) == 1 and bool((codes == 0).all())
                for code, label in enumerate(labels):
                    rows = frame if whole else frame[codes == code]
                    rows.to_parquet(staging / name / f"{label}.parquet", index=False)
                tables[name] = {"split": True, "periods": periods, "rows": len(frame)}
            else:
                frame.to_parquet(staging / f"{name}.parquet", index=False)
                periods = distinct_text(frame[period_column]) if period_column else []
                tables[name] = {"split": False, "periods": periods, "rows": len(frame)}
        result.quarantine.to_parquet(staging / _QUARANTINE, index=False)
        meta = {
            "feed": result.feed,
            "source_file": result.source_file,
            "source_sha256": result.source_sha256,
            "file_format": result.file_format,
            "encoding": result.encoding,
            "counts": {k: int(v) for k, v in result.counts.items()},
            "excluded_by_reason": {k: int(v) for k, v in result.excluded_by_reason.items()},
            "quarantined_by_reason": {k: int(v) for k, v in result.quarantined_by_reason.items()},
            "periods": result.periods,
            "tables": tables,
            "parsed_at": datetime.now().isoformat(timespec="seconds"),
        }
        (staging / _META).write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / _META).is_file():
                raise
            # Another process parsed the same bytes first: its result is the same; keep it.
            shutil.rmtree(staging, ignore_errors=True)
        return CachedParse(target, meta)

    # The manifest: which parses the last successful raw run of a feed used.
    def manifest_path(self, feed: str) -> Path:
        return self.root / "manifests" / f"{feed}.json"

    def write_manifest(self, feed: str, parses: Iterable[CachedParse]) -> None:
        path = self.manifest_path(feed)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = [str(p.directory.relative_to(self.root)) for p in parses]
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(staging, path)

    def read_manifest(self, feed: str) -> list[CachedParse] | None:
        """The parses of the last successful raw run of ``feed``; None if it never ran."""
        path = self.manifest_path(feed)
        if not path.is_file():
            return None
        parses = []
        for entry in json.loads(path.read_text(encoding="utf-8")):
            meta_path = self.root / entry / _META
            if meta_path.is_file():
                parses.append(
                    CachedParse(
                        self.root / entry, json.loads(meta_path.read_text(encoding="utf-8"))
                    )
                )
        return parses


@dataclass
class FeedParse:
    """What the landing files of one feed gave: parses in file order, and the files refused."""

    feed: str
    parses: list[CachedParse] = field(default_factory=list)
    newly_parsed: list[CachedParse] = field(default_factory=list)
    problems: list[IceError] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_kept", "rows_quarantined", "rows_excluded")
        return {k: sum(p.counts.get(k, 0) for p in self.parses) for k in keys}


ReadExport = Callable[..., ParseResult]


def parse_feed(
    landing_dir: Path,
    feed: str,
    cache: ParseCache,
    *,
    salt: str,
    hr_employees: pd.DataFrame | None = None,
    now: datetime | None = None,
    read_export: ReadExport | None = None,
) -> FeedParse:
    """Parse every export of ``feed`` in the landing directory, each file at most once.

    A file with a file-level problem (``FileProblem`` or a mapping ``ConfigError``) is recorded
    in ``problems`` and contributes nothing; the other files go on.
    """
    from ice_pipeline.ingest.feeds import landing_exports

    reader = read_export
    if reader is None:
        from ice_pipeline.ingest.feeds import read_export as reader
    extra = f"hr={frame_fingerprint(hr_employees)}" if feed == "tickets" else ""
    outcome = FeedParse(feed=feed)
    scan = landing_exports(Path(landing_dir))
    # Symbolic links and paths leading outside the landing folder: refused, never read.
    outcome.problems.extend(entry.problem for entry in scan.refused if entry.feed == feed)
    for export in scan.exports:
        if export.feed != feed:
            continue
        sha = file_sha256(export.path)
        context = ParseCache.context_key(export.mapping_path, salt, extra)
        cached = cache.get(sha, context)
        if cached is None:
            try:
                result = reader(
                    export.path,
                    feed=feed,
                    mapping_path=export.mapping_path,
                    salt=salt,
                    hr_employees=hr_employees,
                    now=now,
                )
            except IceError as err:  # FileProblem, or ConfigError from the mapping file
                outcome.problems.append(err)
                continue
            cached = cache.put(sha, context, result)
            outcome.newly_parsed.append(cached)
        outcome.parses.append(cached)
    return outcome


def primary_key(table: str) -> list[str]:
    from ice_pipeline.warehouse import schema

    for candidate in schema.metadata.tables.values():
        if candidate.name == table:
            return [c.name for c in candidate.primary_key.columns]
    raise KeyError(table)


@dataclass
class PeriodRows:
    """One table's rows of one period gathered from several parses."""

    frame: pd.DataFrame
    files: int
    duplicates_dropped: int


def rows_for_period(
    parses: Iterable[CachedParse], table: str, period: str | None, columns: list[str]
) -> PeriodRows:
    """Concatenate ``table``'s rows of ``period`` from the parses (all rows when period is None).

    When two files hold the same key (an export re-sent with corrections), the later file in
    landing order wins: discovery sorts by path, so a re-export named with a later date replaces
    the earlier rows instead of colliding with them.
    """
    frames = []
    for parse in parses:
        frame = parse.table(table, period)
        if frame is not None and not frame.empty:
            frames.append(frame)
    if not frames:
        return PeriodRows(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), 0, 0)
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    combined = combined[[c for c in columns if c in combined.columns]]
    before = len(combined)
    if len(frames) > 1:
        combined = combined.drop_duplicates(subset=primary_key(table), keep="last").reset_index(
            drop=True
        )
    return PeriodRows(combined, len(frames), before - len(combined))


def latest_roster(parses: Iterable[CachedParse], columns: list[str]) -> pd.DataFrame:
    """Every employee's row from the newest roster snapshot they appear in.

    Leavers who drop out of later snapshots keep their last known row (with its termination
    date), which is what turnover needs; one row per employee keeps the table small.
    """
    every = rows_for_period(parses, "employees", None, columns).frame
    if every.empty:
        return every
    ordered = every.sort_values(["employee_id", "snapshot_period"], kind="stable")
    return ordered.drop_duplicates("employee_id", keep="last").sort_values(
        ["department", "employee_id"], ignore_index=True
    )


def unrecorded(engine: Any, feed: str, parses: Iterable[CachedParse]) -> list[CachedParse]:
    """The parses whose file is not yet in ``ice_ops.source_files`` (the ledger is written once)."""
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.writes import read_frame

    known = set(read_frame(engine, schema.source_files, where={"feed": feed})["source_sha256"])
    return [p for p in parses if p.source_sha256 not in known]


def record_source_files(
    engine: Any, parses: list[CachedParse], run_id: str | None, now: datetime | None = None
) -> tuple[int, int]:
    """Write the raw layer's ledger: one ``source_files`` row per file and its quarantine rows.

    Upserts by key, so recording the same file again changes nothing.
    Returns (files, quarantine rows).
    """
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.writes import upsert_rows

    if not parses:
        return 0, 0
    stamp = (now or datetime.now()).replace(microsecond=0)
    files = pd.DataFrame(
        [
            {
                "feed": p.feed,
                "source_sha256": p.source_sha256,
                "source_file": p.source_file,
                "file_format": p.meta["file_format"],
                "encoding": p.meta["encoding"],
                "periods": ",".join(p.periods),
                "rows_read": p.counts.get("rows_read", 0),
                "rows_kept": p.counts.get("rows_kept", 0),
                "rows_quarantined": p.counts.get("rows_quarantined", 0),
                "ingested_at": stamp,
            }
            for p in parses
        ]
    ).drop_duplicates(["feed", "source_sha256"], keep="last")
    quarantine = [p.quarantine() for p in parses]
    quarantine = [q for q in quarantine if not q.empty]
    quarantined = 0
    if quarantine:
        rows = pd.concat(quarantine, ignore_index=True).assign(run_id=run_id, quarantined_at=stamp)
        # One (row, column) can fail in two canonical tables of the same export; keep one record.
        rows = rows.drop_duplicates(
            ["feed", "source_sha256", "source_row", "column_name"], keep="first"
        )
        quarantined = upsert_rows(engine, schema.quarantine, rows)
    upsert_rows(engine, schema.source_files, files)
    return len(files), quarantined
