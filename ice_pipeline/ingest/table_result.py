"""Rows and results of the table readers (tickets, HR, external metrics).

Belongs here: ``ExportRows`` (the cleaned rows of an export with their role -> column map),
``RowProblems`` (reader-level row problems that become quarantine rows),
``truthy`` (TRUE/FALSE-like text), and ``finish_result``, which validates the candidate rows
with the pandera models and counts every row into a ``ParseResult``. The pandera models live in
validation.py and are imported on use.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import (
    DecodedFile,
    ParseResult,
    empty_quarantine,
    quarantine_frame,
)


def canonical_columns(table_name: str) -> list[str]:
    """Column names of a canonical table (validation.py, imported on use: it loads pandera and
    SQLAlchemy, which ``ice-pipeline inspect`` of a structural file must not pay for).
    """
    from ice_pipeline.ingest.validation import canonical_columns as columns_of

    return columns_of(table_name)


def validate_canonical(*args: Any, **kwargs: Any) -> Any:
    """validation.validate_canonical, imported on use (see canonical_columns)."""
    from ice_pipeline.ingest.validation import validate_canonical as validate

    return validate(*args, **kwargs)


_TRUE_TEXT = {"true", "t", "yes", "y", "1"}
_FALSE_TEXT = {"false", "f", "no", "n", "0"}


def truthy(raw: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
    """TRUE/FALSE-like text -> nullable booleans, with a reason where the text is neither.

    Classified once per distinct value (a flag column holds a handful on 100k rows).
    """
    codes, distinct = pd.factorize(raw.to_numpy(dtype=object))  # a missing cell -> code -1
    flags = np.full(len(distinct) + 1, -1, dtype="int8")  # -1: neither; the last: missing
    why = np.full(len(distinct) + 1, None, dtype=object)
    for position, value in enumerate(distinct):
        text = str(value).lower()
        if text in _TRUE_TEXT:
            flags[position] = 1
        elif text in _FALSE_TEXT:
            flags[position] = 0
        else:
            why[position] = f"{column} '{value}' is not true/false"
    per_row = flags[codes]
    out = pd.Series(pd.array(per_row == 1, dtype="boolean"), index=raw.index)
    out[per_row == -1] = pd.NA
    return out, pd.Series(why[codes], index=raw.index, dtype=object)


class RowProblems:
    """Collects (frame index, column, value, reason) for rows quarantined before validation."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, reasons: pd.Series, column: str, values: pd.Series) -> None:
        hit = reasons.notna()
        if hit.any():
            self.parts.append(
                pd.DataFrame(
                    {
                        "index": reasons.index[hit],
                        "column": column,
                        "value": values[hit].to_numpy(),
                        "reason": reasons[hit].to_numpy(),
                    }
                )
            )

    def add_mask(
        self, mask: pd.Series, column: str, values: pd.Series, reason: str | pd.Series
    ) -> None:
        reasons = pd.Series(None, index=mask.index, dtype=object)
        reasons[mask] = reason[mask] if isinstance(reason, pd.Series) else reason
        self.add(reasons, column, values)

    @property
    def index(self) -> pd.Index:
        if not self.parts:
            return pd.Index([], dtype="int64")
        return pd.Index(pd.concat(self.parts)["index"].unique())

    def quarantine(self, feed: str, decoded: DecodedFile, source_rows: pd.Series) -> pd.DataFrame:
        if not self.parts:
            return empty_quarantine()
        found = pd.concat(self.parts, ignore_index=True)
        found["source_row"] = source_rows.reindex(found["index"]).to_numpy()
        merged = (
            found.groupby(["source_row", "column"], sort=True)
            .agg(value=("value", "first"), reason=("reason", lambda r: "; ".join(dict.fromkeys(r))))
            .reset_index()
        )
        return quarantine_frame(
            feed, decoded, merged["source_row"], merged["column"], merged["value"], merged["reason"]
        )


def finish_result(
    feed: str,
    decoded: DecodedFile,
    file_format: str,
    table_name: str,
    candidate: pd.DataFrame,
    source_rows: pd.Series,
    problems: RowProblems,
    *,
    rows_read: int,
    excluded_by_reason: dict[str, int],
    columns_mapped: list[str],
    columns_unmapped: list[str],
    ambiguous_dates: int,
) -> ParseResult:
    """Drop rows with reader-level problems, validate the rest with pandera, count every row."""
    early = problems.quarantine(feed, decoded, source_rows)
    dropped = problems.index
    # Without reader-level problems (the usual file) the candidate is validated as it is: drop()
    # of nothing would copy every column.
    remaining = candidate.drop(index=dropped) if len(dropped) else candidate
    good, late = validate_canonical(table_name, remaining, feed, decoded)
    quarantine = (
        pd.concat([q for q in (early, late) if not q.empty], ignore_index=True)
        if not (early.empty and late.empty)
        else empty_quarantine()
    )
    by_reason: dict[str, int] = {}
    for reason in quarantine["reason"]:
        # Counted by the reason's kind, not its value: "priority 'X' is not ..." -> one bucket.
        kind = re.sub(r"'[^']*'|\b\d[\d\-:. ]*\b", "…", str(reason))
        by_reason[kind] = by_reason.get(kind, 0) + 1
    rows_quarantined = int(quarantine["source_row"].nunique()) if not quarantine.empty else 0
    rows_excluded = sum(excluded_by_reason.values())
    counts = {
        "rows_read": rows_read,
        "rows_kept": len(good),
        "rows_quarantined": rows_quarantined,
        "rows_excluded": rows_excluded,
    }
    return ParseResult(
        feed=feed,
        source_file=str(decoded.path),
        source_sha256=decoded.sha256,
        file_format=file_format,
        encoding=decoded.encoding,
        tables={table_name: good},
        quarantine=quarantine,
        counts=counts,
        excluded_by_reason=excluded_by_reason,
        quarantined_by_reason=by_reason,
        columns_mapped=columns_mapped,
        columns_unmapped=columns_unmapped,
        ambiguous_dates=ambiguous_dates,
    )


@dataclass
class ExportRows:
    """The cleaned export rows, their role -> column map, the mapping, and the problems found."""

    frame: pd.DataFrame
    columns: dict[str, str]
    raw_mapping: dict[str, Any]
    problems: RowProblems = field(default_factory=RowProblems)

    def column(self, role: str) -> pd.Series:
        """The export column of a role, or an all-missing column when the export has none."""
        if role in self.columns:
            return self.frame[self.columns[role]]
        return pd.Series(None, index=self.frame.index, dtype=object)

    def name(self, role: str) -> str:
        """The export column's name of a role (the role itself when the export has none)."""
        return self.columns.get(role, role)
