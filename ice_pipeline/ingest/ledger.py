"""The source-file ledger: every landing file accounted for row by row, failed files named.

Belongs here: the partition window (rows whose period no partition reads are quarantined with
that reason, never dropped), each file's accounting rows_read = rows_kept + rows_quarantined +
rows_excluded after the window, the ledger rows of ``ice_ops.source_files`` (``status`` ok or
failed, with the failure's one-line reason) and writing them with their quarantine rows. The
parse cache (ice_pipeline.cache) keeps each file's parse as the reader made it; the window is
applied here, when the ledger is written, so a month that completes moves its rows from
quarantined to kept without parsing any file again.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.cache import CachedParse
from ice_pipeline.ingest.common import QUARANTINE_COLUMNS

PERIOD_COLUMN = "(period)"  # quarantine column_name of a record whose period no partition reads
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_LEDGER_COMPARED = ("source_file", "periods", "rows_read", "rows_kept", "rows_quarantined")


@dataclass(frozen=True)
class PartitionWindow:
    """The first and last monthly partition (``ICE_FIRST_PERIOD`` .. last complete month)."""

    first: str
    last: str

    def reason(self, period: str) -> str | None:
        """Why rows of ``period`` are read by no partition; None when a partition reads them."""
        if not _MONTH.match(period):
            return (
                f"period {period} is not a month: every partition is a month "
                f"({self.first}..{self.last})"
            )
        if period < self.first:
            return (
                f"period {period} is before the first partition {self.first} "
                "(ICE_FIRST_PERIOD); set ICE_FIRST_PERIOD earlier to compute it"
            )
        if period > self.last:
            return (
                f"period {period} is after the last partition {self.last}: the month is not "
                "complete yet and is computed once it is"
            )
        return None


@dataclass
class FileAccounting:
    """One file's row accounting once the partition window is applied."""

    counts: dict[str, int]
    outside: dict[str, int]  # period -> records read by no partition

    @property
    def balanced(self) -> bool:
        c = self.counts
        return c["rows_read"] == c["rows_kept"] + c["rows_quarantined"] + c["rows_excluded"]


def file_accounting(parse: CachedParse, window: PartitionWindow | None) -> FileAccounting:
    """The parse's counts with records outside ``window`` moved from kept to quarantined."""
    counts = {
        key: int(parse.counts.get(key, 0))
        for key in ("rows_read", "rows_kept", "rows_quarantined", "rows_excluded")
    }
    outside: dict[str, int] = {}
    if window is not None:
        for period, records in parse.kept_by_period().items():
            if window.reason(period) is not None and records:
                outside[period] = int(records)
    moved = min(sum(outside.values()), counts["rows_kept"])
    counts["rows_kept"] -= moved
    counts["rows_quarantined"] += moved
    return FileAccounting(counts, outside)


def outside_quarantine(
    parse: CachedParse, window: PartitionWindow, outside: dict[str, int]
) -> pd.DataFrame:
    """Quarantine rows for the records of ``outside`` periods: one per record, with the reason."""
    parts: list[pd.DataFrame] = []
    for period in sorted(outside):
        rows = _records_of_period(parse, period)
        if not len(rows):
            rows = np.array([0], dtype="int64")  # an aggregated file: one row for the period
        reason = window.reason(period)
        if len(rows) == 1 and outside[period] > 1:
            reason = f"{reason} ({outside[period]} responses)"
        parts.append(
            pd.DataFrame(
                {
                    "feed": parse.feed,
                    "source_file": parse.source_file,
                    "source_sha256": parse.source_sha256,
                    "source_row": rows,
                    "column_name": PERIOD_COLUMN,
                    "value": period,
                    "reason": reason,
                }
            )[QUARANTINE_COLUMNS]
        )
    if not parts:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _records_of_period(parse: CachedParse, period: str) -> np.ndarray:
    """The distinct source rows of ``period`` over every table of the parse."""
    found: list[np.ndarray] = []
    for table in parse.meta["tables"]:
        if period not in parse.table_periods(table):
            continue
        folder = parse.coded_folder(table, period)
        if folder is not None:  # coded survey ratings: the source rows are the responses'
            from ice_pipeline.ingest.survey_coded import source_rows

            found.append(source_rows(folder).to_numpy(dtype="int64"))
            continue
        frame = parse.table(table, period)
        if frame is not None and "source_row" in frame.columns:
            found.append(frame["source_row"].to_numpy(dtype="int64"))
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype="int64")


def ledger_row(parse: CachedParse, accounting: FileAccounting, stamp: datetime) -> dict[str, Any]:
    """The ``ice_ops.source_files`` row of a file that was read."""
    return {
        "feed": parse.feed,
        "source_sha256": parse.source_sha256,
        "source_file": parse.source_file,
        "file_format": parse.meta["file_format"],
        "encoding": parse.meta["encoding"],
        "periods": ",".join(parse.periods),
        **accounting.counts,
        "ingested_at": stamp,
        "status": "ok",
        "problem": None,
    }


def failed_sha256(feed: str, path: str) -> str:
    """The ledger key of a failed file: from its path (an unreadable file has no content hash)."""
    return hashlib.sha256(f"failed\x1f{feed}\x1f{path}".encode()).hexdigest()


def failed_row(feed: str, path: str, problem: str, stamp: datetime) -> dict[str, Any]:
    """The ``ice_ops.source_files`` row of a file that could not be used."""
    return {
        "feed": feed,
        "source_sha256": failed_sha256(feed, path),
        "source_file": path,
        "file_format": "unknown",
        "encoding": "unknown",
        "periods": "",
        "rows_read": 0,
        "rows_kept": 0,
        "rows_quarantined": 0,
        "rows_excluded": 0,
        "ingested_at": stamp,
        "status": "failed",
        "problem": problem,
    }


@dataclass
class LedgerWrite:
    """What ``record_ledger`` wrote."""

    files_recorded: int
    quarantine_rows: int
    files_failed: int


def record_ledger(
    engine: Any,
    feed: str,
    parses: list[CachedParse],
    failures: list[tuple[str, str]],
    window: PartitionWindow | None,
    run_id: str | None,
    *,
    reparsed: set[str] | frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> LedgerWrite:
    """Bring ``ice_ops.source_files`` and the quarantine of ``feed`` up to date.

    A file is (re)recorded when the ledger lacks it, its accounting changed (the window moved,
    or it was parsed again under a new mapping: ``reparsed`` holds those sha256s); its quarantine
    rows are replaced whole. Failed files (``failures``: path, one-line reason) replace the
    feed's previous failed rows, so the ledger names exactly the files failing now.
    """
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.writes import read_frame, replace_partition, upsert_rows

    stamp = (now or datetime.now()).replace(microsecond=0)
    known = read_frame(engine, schema.source_files, where={"feed": feed, "status": "ok"})
    known_rows = {
        row["source_sha256"]: row for row in known.to_dict("records")
    }  # a few hundred files at most
    to_record: dict[str, tuple[CachedParse, FileAccounting]] = {}
    for parse in parses:
        accounting = file_accounting(parse, window)
        row = ledger_row(parse, accounting, stamp)
        old = known_rows.get(parse.source_sha256)
        changed = old is None or any(
            str(old.get(k)) != str(row[k]) for k in (*_LEDGER_COMPARED, "rows_excluded")
        )
        if changed or parse.source_sha256 in reparsed:
            to_record[parse.source_sha256] = (parse, accounting)
    quarantined = 0
    for parse, accounting in to_record.values():
        rows = [parse.quarantine()]
        if accounting.outside and window is not None:
            rows.append(outside_quarantine(parse, window, accounting.outside))
        frame = pd.concat([r for r in rows if not r.empty] or [rows[0]], ignore_index=True)
        # One (row, column) can fail in two canonical tables of the same export; keep one record.
        frame = frame.drop_duplicates(["source_row", "column_name"], keep="first").assign(
            run_id=run_id, quarantined_at=stamp
        )
        quarantined += replace_partition(
            engine,
            schema.quarantine,
            frame,
            {"feed": parse.feed, "source_sha256": parse.source_sha256},
        )
    if to_record:
        upsert_rows(
            engine,
            schema.source_files,
            pd.DataFrame([ledger_row(p, a, stamp) for p, a in to_record.values()]),
        )
    failed = pd.DataFrame(
        [failed_row(feed, path, problem, stamp) for path, problem in failures],
        columns=[c.name for c in schema.source_files.columns],
    ).drop_duplicates(["source_sha256"])
    replace_partition(engine, schema.source_files, failed, {"feed": feed, "status": "failed"})
    return LedgerWrite(len(to_record), quarantined, len(failed))


def feed_totals(parses: list[CachedParse], window: PartitionWindow | None) -> dict[str, int]:
    """The feed's row accounting after the window (the raw asset's metadata, the closing line)."""
    totals = {"rows_read": 0, "rows_kept": 0, "rows_quarantined": 0, "rows_excluded": 0}
    outside = 0
    for parse in parses:
        accounting = file_accounting(parse, window)
        for key in totals:
            totals[key] += accounting.counts[key]
        outside += sum(accounting.outside.values())
    return {**totals, "rows_outside_partitions": outside}
