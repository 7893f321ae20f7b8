"""Reading a one-header-row table export (tickets, HR, external metrics): staged records.

Belongs here: what every table reader does before it knows anything about its feed: the mapping's
YAML dict and name, choosing the format (forced, detected or refused), reading the header and
data records with their source row numbers, resolving canonical roles to export columns, turning
missing-value codes into None, and naming the unused (and personal) columns. Nothing here parses
a value of a particular role: dates are table_dates.py, rows and results table_result.py, ticket
fields ticket_fields.py, vendor layouts ingest/vendors/. The records stay in Arrow
(table_stage.py, ``stage_table``) until a reader takes the columns it uses (``clean_staged``);
``read_table`` gives every column as a string frame (draft mappings only).
"""

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import (
    DecodedFile,
    header_shape,
)
from ice_pipeline.ingest.fixed import ExtraHeader, skip_leading_lines
from ice_pipeline.ingest.privacy import is_personal_column
from ice_pipeline.ingest.table_stage import StagedTable, stage_records

DEFAULT_MISSING = ("", "?", "NULL", "null", "None", "N/A", "n/a", "NA", "-")


def mapping_dict(mapping: Any) -> dict[str, Any]:
    """The YAML dict of a mapping: accepts ``mapping.Mapping`` (its ``.raw``), a dict or None."""
    if mapping is None:
        return {}
    raw = getattr(mapping, "raw", mapping)
    return dict(raw) if isinstance(raw, dict) else {}


def mapping_name(mapping: Any) -> str:
    path = getattr(mapping, "path", None)
    return str(path) if path else "the mapping"


def choose_format(
    decoded: DecodedFile,
    columns: Any,
    requested: str | None,
    detected: str | None,
    formats: Any,
    what: str,
    header_noun: str | None = None,
) -> str:
    """The format to read with: forced (--format or mapping), else detected, else refused."""
    chosen = requested or detected
    if chosen is None:
        # The header's shape only: an unrecognised file's first line may be anything.
        shown = header_shape([str(column) for column in columns])
        raise FileProblem(
            str(decoded.path),
            f"the {header_noun or what} format cannot be recognised from its header ({shown})",
            fix=f"set 'format:' in the mapping (or --format) to one of {', '.join(formats)}",
        )
    if chosen not in formats:
        raise FileProblem(
            str(decoded.path),
            f"unknown {what} format {chosen!r}",
            fix=f"use one of {', '.join(formats)}",
        )
    return chosen


def read_table(
    decoded: DecodedFile, raw_mapping: dict[str, Any], what: str
) -> tuple[pd.DataFrame, pd.Series, int]:
    """Header + data rows -> (string frame of every column, source_row per row, blank lines).

    ``stage_table`` with the whole body as a pandas frame (``draft``, which shows every column).
    """
    staged, source_rows, blank_lines = stage_table(decoded, raw_mapping, what)
    return staged.frame(), source_rows, blank_lines


def stage_table(
    decoded: DecodedFile, raw_mapping: dict[str, Any], what: str
) -> tuple[StagedTable, pd.Series, int]:
    """Header + data rows -> (staged records, source_row per record, blank lines skipped).

    ``source_row`` is the 1-based CSV record number with the header as record 1 (a quoted newline
    does not start a new record). A file with a header but no data rows is a file problem. The
    records stay in Arrow (table_stage.py) until a reader asks for the columns it uses.
    """
    decoded, skipped = skip_leading_lines(decoded, raw_mapping)  # issue 16: titles above
    delimiter = raw_mapping.get("delimiter")
    # Quotes in valid CSV come in pairs (an escaped quote is written twice); an odd count means the
    # file ends inside a quoted field, which the csv module would silently swallow into one cell.
    if decoded.text.count('"') % 2 == 1:
        raise FileProblem(
            str(decoded.path),
            "the file ends inside a quoted field (a quote is never closed), "
            "so it was probably cut off while being copied or exported",
            fix="re-export the file from the source tool and check that it was copied completely",
        )
    header, body, filled = stage_records(decoded, str(delimiter) if delimiter else None)
    if not any(cell.strip() for cell in header):
        raise FileProblem(
            str(decoded.path),
            "the file has no header row",
            fix=f"export the {what} with column headers in the first line",
        )
    if not filled.any():
        raise FileProblem(
            str(decoded.path),
            f"the file has a header but no data rows (no {what})",
            fix="re-export including the data rows, or remove the file if the period has none",
        )
    staged = body if filled.all() else body.take(np.flatnonzero(filled))
    if len(staged.columns) == 1 and len(header) == 1 and any(ch in header[0] for ch in ",;\t|"):
        separators = ", ".join(repr(ch) for ch in ",;\t|" if ch in header[0])
        raise FileProblem(
            str(decoded.path),
            "the header is one single column, so the delimiter is wrong (it is "
            f"{len(header[0])} characters long and holds {separators})",
            fix="set 'delimiter:' in the mapping to the character that separates the columns",
        )
    numbers = np.arange(2, len(filled) + 2) + skipped
    extra = ExtraHeader.of(raw_mapping).rows
    source_rows = numbers[filled][extra:]
    staged = staged.slice(extra) if extra else staged
    return staged, pd.Series(source_rows, dtype="int64"), int((~filled).sum())


def resolve_columns(
    decoded: DecodedFile,
    frame: pd.DataFrame | StagedTable,
    raw_mapping: dict[str, Any],
    defaults: dict[str, list[str]],
    required: Iterable[str],
    mapping_label: str,
    what: str,
) -> dict[str, str]:
    """Canonical role -> export column. Mapping entries must exist; defaults are matched caselessly.

    A mapping naming a column the file lacks, or a required role with no column, is a file problem.
    """
    by_lower: dict[str, str] = {}
    for name in frame.columns:
        by_lower.setdefault(str(name).strip().lower(), str(name))
    explicit = raw_mapping.get("columns") or {}
    if not isinstance(explicit, dict):
        raise FileProblem(
            str(decoded.path),
            f"{mapping_label}: 'columns' must map canonical names to columns",
            fix="write it as 'columns: {ticket_id: number, opened_at: opened_at}'",
        )
    resolved: dict[str, str] = {}
    for role, column in explicit.items():
        if column is None:
            continue
        actual = column if column in frame.columns else by_lower.get(str(column).strip().lower())
        if actual is None:
            shown = ", ".join(map(str, list(frame.columns)[:15])) + (
                " ..." if len(frame.columns) > 15 else ""
            )
            raise FileProblem(
                str(decoded.path),
                f"{mapping_label} names column {column!r} for {role}, "
                f"but the file has no such column (its columns: {shown})",
                fix=f"correct 'columns: {{{role}: ...}}' in the mapping to a column of the file",
            )
        resolved[str(role)] = actual
    for role, candidates in defaults.items():
        if role in resolved or role in explicit:
            continue
        for candidate in candidates:
            if candidate in by_lower:
                resolved[role] = by_lower[candidate]
                break
    missing = [role for role in required if role not in resolved]
    if missing:
        role = missing[0]
        looked = ", ".join(repr(c) for c in defaults.get(role, [role]))
        raise FileProblem(
            str(decoded.path),
            f"the {what} has no column for {role} (looked for {looked})",
            fix=f"add 'columns: {{{role}: <column name>}}' to the mapping, or export that column",
        )
    return resolved


def clean_staged(
    staged: StagedTable, raw_mapping: dict[str, Any], used: Iterable[str]
) -> pd.DataFrame:
    """The used columns of a staged export, cleaned as ``clean_missing`` (only these columns
    become pandas: the readers reach cells only through their resolved roles).
    """
    return staged.cleaned(used, _missing_codes(raw_mapping, ()))


def clean_missing(
    frame: pd.DataFrame, raw_mapping: dict[str, Any], extra: Iterable[str] = ()
) -> pd.DataFrame:
    """Strip cells; missing-value codes (mapping ``missing_values`` plus defaults) become None."""
    codes = _missing_codes(raw_mapping, extra)
    cleaned = {column: _cleaned(frame[column], codes) for column in frame.columns}
    return pd.DataFrame(cleaned, index=frame.index, columns=frame.columns, dtype=object)


def _missing_codes(raw_mapping: dict[str, Any], extra: Iterable[str]) -> set[str]:
    return (
        {str(v).strip() for v in raw_mapping.get("missing_values", [])}
        | set(DEFAULT_MISSING)
        | set(extra)
    )


def _cleaned(column: pd.Series, codes: set[str]) -> np.ndarray:
    """One column's cells stripped, missing-value codes -> None, per distinct value."""
    # Per distinct value: exports repeat a few states, groups and priorities 100k times.
    values = column.to_numpy(dtype=object)
    value_codes, distinct = pd.factorize(values)
    text = pd.Series(np.asarray(distinct, dtype=object)).str.strip()
    text = text.where(~text.isin(codes), None).to_numpy(dtype=object)
    out = text[value_codes] if len(text) else np.empty(len(values), dtype=object)
    missing = value_codes == -1  # None/NaN cells stay as they were
    out[missing] = values[missing]
    return out


# Ticket and HR exports name people in these columns (privacy.is_personal_column covers the rest).
PERSON_COLUMNS = {
    "requester",
    "requester name",
    "assignee",
    "reporter",
    "submitter",
    "caller",
    "opened by",
    "assigned to",
    "resolved by",
    "closed by",
    "manager",
    "supervisor",
    "employee",
    "worker",
    "preferred name",
    "legal name",
    "location",
    "work location",
    "city",
    "home city",
}


def unmapped_columns(frame: pd.DataFrame | StagedTable, used: Iterable[str]) -> list[str]:
    """Columns not used, personal ones named as dropped (none of them is ever stored)."""
    used_set = set(used)

    def personal(name: str) -> bool:
        return (
            is_personal_column(name)
            or re.sub(r"\.\d+$", "", name).strip().lower() in PERSON_COLUMNS
        )

    return [
        f"{c} (personal, dropped)" if personal(str(c)) else str(c)
        for c in frame.columns
        if c not in used_set
    ]


def text_map(raw_mapping: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw_mapping.get(key) or {}
    return {str(k).strip(): v for k, v in value.items()} if isinstance(value, dict) else {}
