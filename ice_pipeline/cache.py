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
                                      <table>/<period>.parquet   (tables with a period column;
                                      staged survey ratings: <period>/, coded, survey_coded.py)
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
from ice_pipeline.ingest.common import RULES_VERSION, ParseResult, distinct_text, raw_tables
from ice_pipeline.ingest.names import spelling_counts

PERIOD_COLUMNS = ("period", "snapshot_period")
# Part of every cache key: raise it when the stored layout changes, so that older parses are
# parsed again rather than misread (coded-1: staged survey ratings stored coded, survey_coded.py).
CACHE_FORMAT = "coded-1"
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


def _read_parquet(path: Path) -> pd.DataFrame:
    """A cached table as pandas: text columns as categoricals when DuckDB wrote the file.

    A file pandas wrote carries its dtypes (categoricals included) and round-trips as is. The
    staged survey parse writes its Parquet with DuckDB (plain strings): read as Python strings,
    3M answers x 10 text columns cost seconds and gigabytes; as dictionaries they are codes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    if b"pandas" in (schema.metadata or {}):
        return pd.read_parquet(path)
    text = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    return pq.read_table(path, read_dictionary=text).to_pandas()


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
            frames = [self._period_frame(table, p) for p in wanted if p in info["periods"]]
            if not frames:
                return None
            return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return _read_parquet(self.directory / f"{table}.parquet")

    def _period_frame(self, table: str, period: str) -> pd.DataFrame:
        folder = self.coded_folder(table, period)
        if folder is not None:  # a staged survey parse, stored coded (ingest/survey_coded.py)
            from ice_pipeline.ingest.survey_coded import read_wide

            return read_wide(folder)
        return _read_parquet(self.directory / table / f"{period}.parquet")

    def table_file(self, table: str, period: str) -> Path | None:
        """The Parquet file of ``table``'s rows of ``period`` (split long tables only), or None."""
        info = self.meta["tables"].get(table)
        if info is None or not info["split"] or info.get("layout") or period not in info["periods"]:
            return None
        return self.directory / table / f"{period}.parquet"

    def coded_folder(self, table: str, period: str) -> Path | None:
        """The folder of ``table``'s coded files of ``period`` (survey_coded.py), or None."""
        info = self.meta["tables"].get(table)
        if info is None or info.get("layout") != "coded" or period not in info["periods"]:
            return None
        return self.directory / table / period

    def quarantine(self) -> pd.DataFrame:
        return pd.read_parquet(self.directory / _QUARANTINE)

    def name_spellings(self) -> dict[str, dict[str, int]]:
        """How often each department and dimension spelling occurs in this file (names.py)."""
        stored = self.meta.get("name_spellings")
        if stored is None:  # a parse cached before the counts were stored
            tables = {name: self.table(name) for name in self.meta["tables"]}
            stored = spelling_counts({k: v for k, v in tables.items() if v is not None})
        return stored

    def kept_by_period(self) -> dict[str, int]:
        """Kept records per period (for the partition window); computed once for old parses."""
        stored = self.meta.get("kept_by_period")
        if stored is None:
            tables = {name: self.table(name) for name in self.meta["tables"]}
            stored = kept_by_period({k: v for k, v in tables.items() if v is not None})
            self.meta["kept_by_period"] = stored
            meta_path = self.directory / _META
            staging = meta_path.with_suffix(".tmp")
            staging.write_text(json.dumps(self.meta, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(staging, meta_path)
        return {str(k): int(v) for k, v in stored.items()}


def kept_by_period(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Records kept per period: distinct source rows (or responses of aggregated rows).

    The largest count over the tables of a file: comments come from the same records as
    ratings, and an aggregated table (external metrics) counts its responses in n_responses.
    """
    found: dict[str, int] = {}
    for frame in raw_tables(tables).values():
        if "period" not in frame.columns or frame.empty:
            continue
        staged = getattr(frame, "kept_by_period", None)
        if staged:  # a table staged in DuckDB (ingest/survey_stage.py): counted in SQL
            for period, count in staged().items():
                found[period] = max(found.get(period, 0), count)
            continue
        # Per distinct period (a wave is one period of 2.5M rating rows: no per-row Python).
        codes, labels = pd.factorize(frame["period"])
        rows = frame["source_row"].to_numpy() if "source_row" in frame.columns else None
        responses = (
            pd.to_numeric(frame["n_responses"]).fillna(0).to_numpy()
            if "n_responses" in frame.columns
            else None
        )
        for code, period in enumerate(labels):
            pick = slice(None) if len(labels) == 1 and (codes == 0).all() else codes == code
            if responses is not None:
                count = int(responses[pick].sum())
            elif rows is not None:
                count = len(pd.unique(rows[pick]))
            else:
                count = int((codes == code).sum())
            found[str(period)] = max(found.get(str(period), 0), count)
    return found


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
        material = "\n".join(
            [
                _package_version("ice-pipeline"),
                RULES_VERSION,
                CACHE_FORMAT,
                mapping_sha,
                salt_sha,
                extra,
            ]
        )
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
        for name, frame in raw_tables(result.tables).items():
            if hasattr(frame, "write_parquet"):  # staged in DuckDB: written by COPY
                from ice_pipeline.ingest.survey_coded import put_staged

                tables[name] = put_staged(staging, name, frame)
                continue
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
            "kept_by_period": kept_by_period(result.tables),
            "name_spellings": spelling_counts(result.tables),
            "name_variants": result.name_variants,
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
    failed_files: list[str] = field(default_factory=list)  # the file of each problem, in order

    @property
    def failures(self) -> list[tuple[str, str]]:
        """(file, one-line reason) of every file that could not be used."""
        return [(f, str(p)) for f, p in zip(self.failed_files, self.problems, strict=True)]

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
    max_file_mb: float | None = None,
) -> FeedParse:
    """Parse every export of ``feed`` in the landing directory, each file at most once.

    A file with a file-level problem (``FileProblem``, a mapping ``ConfigError``, or a file the
    operating system cannot read) is recorded in ``problems`` and contributes nothing; the other
    files go on. A survey file must have a mapping with rating rules (``landing_survey_problem``).
    A file larger than ``max_file_mb`` (``ingest.max_file_mb``) is refused unread, the same way.
    """
    from ice_pipeline.ingest.feeds import landing_exports, landing_survey_problem
    from ice_pipeline.ingest.limits import oversized_file

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
        try:
            too_large = oversized_file(export.path, max_file_mb)
            if too_large is not None:  # refused before hashing: that alone reads every byte
                outcome.problems.append(too_large)
                outcome.failed_files.append(str(export.path))
                continue
            sha = file_sha256(export.path)
            context = ParseCache.context_key(export.mapping_path, salt, extra)
        except OSError as err:
            outcome.problems.append(unreadable(export.path, err))
            outcome.failed_files.append(str(export.path))
            continue
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
                if feed == "surveys":  # after reading: a file-level problem says more
                    landing_survey_problem(export)
                # Issue 16: a file that lost more than its limit to quarantine stops the feed.
                from ice_pipeline.ingest.loss import check_quarantine_share

                check_quarantine_share(result, export.mapping_path)
            except IceError as err:  # FileProblem, or ConfigError from the mapping file
                outcome.problems.append(err)
                outcome.failed_files.append(str(export.path))
                continue
            except OSError as err:  # unreadable after all (permissions, I/O error)
                outcome.problems.append(unreadable(export.path, err))
                outcome.failed_files.append(str(export.path))
                continue
            cached = cache.put(sha, context, result)
            outcome.newly_parsed.append(cached)
        outcome.parses.append(cached)
    return outcome


def unreadable(path: Path, err: OSError) -> IceError:
    """The one-line problem of a landing file (or its mapping) the system cannot read."""
    from ice_pipeline.errors import FileProblem

    return FileProblem(
        str(path),
        f"the file cannot be read ({err.strerror or err})",
        fix="check the file's permissions and the disk; the other files were ingested",
    )


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
