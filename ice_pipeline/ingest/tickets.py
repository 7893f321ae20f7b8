"""Helpdesk ticket exports -> canonical ``tickets`` rows (one per ticket at its latest state).

Belongs here: reading ServiceNow list exports, ServiceNow audit event logs (one row per update,
collapsed per ticket), Jira CSV (localised headers through the mapping; repeated column names
arrive suffixed ``.1``, ``.2`` from ``frame_from_rows``), Zendesk CSV and a generic CSV; mapping
assignment groups to provider departments and requesters to consumer departments; and the
per-ticket KPIs. The table helpers at the bottom (column resolution, missing codes, dates) are
shared with hr.py and external.py.

Documented rules (docs/mappings.md, Tickets):

* priority: a leading digit wins ("3 - Moderate" -> 3); else the text through ``priority_values``
  (default: Critical/Highest/Urgent/Blocker 1, High 2, Medium/Moderate/Normal 3, Low/Minor 4,
  Lowest/Trivial/Planning 5). Unknown text is quarantined, not guessed.
* satisfaction: numbers are kept (1-5); Zendesk ``good`` -> 5, ``bad`` -> 1, ``offered`` and
  ``unoffered`` (no answer) -> missing.
* sla_met: the SLA column (TRUE/FALSE) when mapped, else ``sla_hours`` per priority against the
  resolution time; otherwise missing.
* reopened: ``reopen_count`` > 0 (or a true/false column).
* first_assignee_resolved, rule ``first_assignee_rule``: ``resolved_by`` (default: the resolver is
  the first assignee seen: in an audit log the first non-missing ``assigned_to`` in update order,
  in a list export the ``assigned_to`` column), ``last_assignee`` (the assignee at the latest state
  is still the first one; for logs such as the UCI ServiceNow log whose ``resolved_by`` ids use a
  different namespace than ``assigned_to``), or ``reassignment_count`` (no reassignment).
  Missing while the ticket is unresolved or the people are unknown.
* audit logs: events are ordered by ``sys_mod_count`` then ``sys_updated_at`` then file order;
  the last event is the ticket's state; earlier events are counted as excluded
  ("superseded audit event").
* consumer department: ``requester_departments`` (raw requester id -> department), else with
  ``requester_departments_from_hr: true`` the requester id pseudonymised with the same salt and
  looked up in the HR roster (latest snapshot); unmatched requesters leave it missing (the
  expectations suite warns about the null rate). Requester ids are never stored.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import (
    DecodedFile,
    ParseResult,
    column_names,
    empty_quarantine,
    frame_from_rows,
    header_shape,
    parse_dates,
    period_of,
    quarantine_frame,
    read_csv_records_fast,
    read_csv_rows,
    sniff_delimiter,
)
from ice_pipeline.ingest.fixed import ExtraHeader, skip_leading_lines
from ice_pipeline.ingest.languages import (
    english_month_names,
    layout_from_aliases,
    priority_words,
    with_aliases,
)
from ice_pipeline.ingest.names import fold
from ice_pipeline.ingest.privacy import is_personal_column, pseudonymize
from ice_pipeline.ingest.values import plain_counts


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


FEED = "tickets"
FORMATS = ("servicenow", "servicenow_audit", "jira", "zendesk", "generic")

# Export columns each format usually has, per canonical role (matched without regard to case).
DEFAULT_COLUMNS: dict[str, dict[str, list[str]]] = {
    "servicenow": {
        "ticket_id": ["number"],
        "opened_at": ["opened_at", "opened"],
        "resolved_at": ["resolved_at", "resolved"],
        "assignment_group": ["assignment_group", "assignment group"],
        "requester": ["caller_id", "caller"],
        "priority": ["priority"],
        "sla_met": ["made_sla", "made sla"],
        "reopen_count": ["reopen_count", "reopen count"],
        "first_assignee": ["assigned_to", "assigned to"],
        "resolved_by": ["resolved_by", "resolved by"],
        "reassignment_count": ["reassignment_count", "reassignment count"],
        "satisfaction": ["u_satisfaction", "satisfaction"],
    },
    "jira": {
        "ticket_id": ["issue key"],
        "opened_at": ["created"],
        "resolved_at": ["resolved"],
        "assignment_group": ["custom field (team)", "team", "component/s"],
        "requester": ["reporter id", "reporter"],
        "priority": ["priority"],
        "first_assignee": ["assignee id", "assignee"],
        "satisfaction": [
            "custom field (satisfaction rating)",
            "satisfaction rating",
            "satisfaction",
        ],
    },
    "zendesk": {
        "ticket_id": ["id", "ticket id"],
        "opened_at": ["created at"],
        "resolved_at": ["solved at"],
        "assignment_group": ["group"],
        "requester": ["requester id", "requester external id", "requester"],
        "priority": ["priority"],
        "first_assignee": ["assignee id", "assignee"],
        "satisfaction": ["satisfaction score"],
        "reopen_count": ["reopens"],
    },
    "generic": {
        role: [role]
        for role in (
            "ticket_id",
            "opened_at",
            "resolved_at",
            "assignment_group",
            "requester",
            "priority",
            "sla_met",
            "reopen_count",
            "reopened",
            "first_assignee",
            "resolved_by",
            "satisfaction",
            "consumer_department",
            "provider_department",
        )
    },
}
DEFAULT_COLUMNS["servicenow_audit"] = {
    **DEFAULT_COLUMNS["servicenow"],
    "mod_count": ["sys_mod_count"],
    "updated_at": ["sys_updated_at"],
}
# Issue 16: localised header names (Jira in German, French, Spanish, ...) from languages.py.
DEFAULT_COLUMNS = with_aliases(DEFAULT_COLUMNS, "tickets")
REQUIRED_ROLES = ("ticket_id", "opened_at")

DEFAULT_PRIORITY_VALUES = {
    "critical": 1,
    "highest": 1,
    "urgent": 1,
    "blocker": 1,
    "high": 2,
    "medium": 3,
    "moderate": 3,
    "normal": 3,
    "low": 4,
    "minor": 4,
    "lowest": 5,
    "trivial": 5,
    "planning": 5,
}
DEFAULT_SATISFACTION_VALUES: dict[str, float | None] = {
    "good": 5.0,
    "good with comment": 5.0,
    "bad": 1.0,
    "bad with comment": 1.0,
    "offered": None,
    "unoffered": None,
}
DEFAULT_MISSING = ("", "?", "NULL", "null", "None", "N/A", "n/a", "NA", "-")
_TRUE_TEXT = {"true", "t", "yes", "y", "1"}
_FALSE_TEXT = {"false", "f", "no", "n", "0"}


# ------------------------------------------------------------------------------------------------
# Shared table helpers (also used by hr.py and external.py)
# ------------------------------------------------------------------------------------------------


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
    """Header + data rows -> (string frame, source_row per frame row, blank lines skipped).

    ``source_row`` is the 1-based CSV record number with the header as record 1 (a quoted newline
    does not start a new record). A file with a header but no data rows is a file problem.
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
    header, body, filled = _records(decoded, str(delimiter) if delimiter else None)
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
    frame = body if filled.all() else body.loc[filled].reset_index(drop=True)
    if len(frame.columns) == 1 and len(header) == 1 and any(ch in header[0] for ch in ",;\t|"):
        separators = ", ".join(repr(ch) for ch in ",;\t|" if ch in header[0])
        raise FileProblem(
            str(decoded.path),
            "the header is one single column, so the delimiter is wrong (it is "
            f"{len(header[0])} characters long and holds {separators})",
            fix="set 'delimiter:' in the mapping to the character that separates the columns",
        )
    numbers = np.arange(2, len(filled) + 2) + skipped
    source_rows = numbers[filled]
    frame, source_rows = ExtraHeader.of(raw_mapping).drop(frame, source_rows)
    return frame, pd.Series(source_rows, index=frame.index, dtype="int64"), int((~filled).sum())


def _records(
    decoded: DecodedFile, delimiter: str | None
) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """(header cells, every data record as a string frame, which records hold anything).

    A rectangular file is read column-wise by Arrow (``read_csv_records_fast``); any other goes
    through the csv module (``read_csv_rows``), which keeps ragged rows and reports a cut-off
    last record.
    """
    fast = read_csv_records_fast(decoded.text, delimiter or sniff_delimiter(decoded.text))
    if fast is not None and len(fast[0]) > 1:
        header = [str(column.iloc[0]) for column in fast]
        body = pd.DataFrame(
            {
                name: column.to_numpy()[1:]
                for name, column in zip(column_names(header), fast, strict=True)
            },
            dtype=object,
        )
        filled = np.zeros(len(body), dtype=bool)
        for name in body.columns:
            filled |= (body[name].str.strip() != "").to_numpy()
        return header, body, filled
    rows = read_csv_rows(decoded, delimiter=delimiter)
    if not rows:
        return [], pd.DataFrame(), np.zeros(0, dtype=bool)
    header, records = rows[0], rows[1:]
    filled = np.array([any(cell.strip() for cell in row) for row in records], dtype=bool)
    return header, frame_from_rows(header, records), filled


def resolve_columns(
    decoded: DecodedFile,
    frame: pd.DataFrame,
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


def clean_missing(
    frame: pd.DataFrame, raw_mapping: dict[str, Any], extra: Iterable[str] = ()
) -> pd.DataFrame:
    """Strip cells; missing-value codes (mapping ``missing_values`` plus defaults) become None."""
    codes = (
        {str(v).strip() for v in raw_mapping.get("missing_values", [])}
        | set(DEFAULT_MISSING)
        | set(extra)
    )
    cleaned = {}
    for column in frame.columns:
        # Per distinct value: exports repeat a few states, groups and priorities 100k times.
        values = frame[column].to_numpy(dtype=object)
        value_codes, distinct = pd.factorize(values)
        text = pd.Series(np.asarray(distinct, dtype=object)).str.strip()
        text = text.where(~text.isin(codes), None).to_numpy(dtype=object)
        out = text[value_codes] if len(text) else np.empty(len(values), dtype=object)
        missing = value_codes == -1  # None/NaN cells stay as they were
        out[missing] = values[missing]
        cleaned[column] = out
    return pd.DataFrame(cleaned, index=frame.index, columns=frame.columns, dtype=object)


_NAMED_MONTH_FORMATS = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d/%b/%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
)


def _parse_named_months(named: pd.Series, remaining: pd.Series, values: pd.Series) -> None:
    """Read values with month names by each named-month format; mark what was read."""
    for fmt in _NAMED_MONTH_FORMATS:
        candidates = named[remaining.reindex(named.index)]
        if candidates.empty:
            return
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce")
        hit = parsed[parsed.notna()]
        values.loc[hit.index] = hit
        remaining.loc[hit.index] = False


def parse_date_column(
    raw: pd.Series, raw_mapping: dict[str, Any], column: str
) -> tuple[pd.Series, pd.Series, int]:
    """Dates of one export column -> (naive timestamps, reasons where unusable, ambiguous count).

    ``date_format`` (strptime, one or a list) wins. Else ``date_order`` (YMD/DMY/MDY) reads
    numeric dates; values that another order would read differently are kept (the order was
    configured) and counted as ambiguous only when no value of the column confirms the order
    (e.g. a day above 12). Without ``date_order`` (or with
    ``auto``) the order is taken from unambiguous values of the same column; when they give no
    single answer, ambiguous values are quarantined rather than guessed.
    """
    values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    reasons = pd.Series(None, index=raw.index, dtype=object)
    present = raw.notna()
    if not present.any():
        return values, reasons, 0
    formats = raw_mapping.get("date_format")
    if formats:
        remaining = present.copy()
        for fmt in [formats] if isinstance(formats, str) else list(formats):
            parsed = pd.to_datetime(raw[remaining], format=fmt, errors="coerce")
            hit = parsed.notna()
            values.loc[hit[hit].index] = parsed[hit]
            remaining.loc[hit[hit].index] = False
        reasons[remaining] = [
            f"{column} '{v}' does not match date_format {formats!r}" for v in raw[remaining]
        ]
        return values, reasons, 0
    # Month names are unambiguous whatever the order (Jira writes 03/Mar/26 10:15 AM).
    remaining = present.copy()
    named = raw[present]
    named = named[named.str.contains(r"[^\W\d_]{3}", regex=True, na=False)]
    _parse_named_months(named, remaining, values)
    left = named[remaining.reindex(named.index)]
    if not left.empty:
        # Month names in the export's language (ene, janv., März, mrt) -> Jan ... (CLDR); only
        # the values English names did not read pay for the translation.
        _parse_named_months(english_month_names(left), remaining, values)
    order = str(raw_mapping.get("date_order") or "auto").upper()
    rest = raw[remaining]
    ambiguous_count = 0
    if order in ("YMD", "DMY", "MDY"):
        parsed = parse_dates(rest, order)
        values.loc[rest.index] = parsed.values
        bad = parsed.invalid
        reasons.loc[bad[bad].index] = [
            f"{column} '{v}' is not a date in {order} order" for v in rest[bad]
        ]
        if order != "YMD":
            # A value readable only under the configured order (31-01-2016) confirms it for the
            # column; without any such value the ambiguous ones are reported (still read as
            # configured).
            other = parsed.other_order_values  # the other order's reading, parsed already
            confirmed = (parsed.values.notna() & other.isna()).any()
            ambiguous_count = 0 if confirmed else int(parsed.ambiguous.sum())
        return values, reasons, ambiguous_count
    ymd = parse_dates(rest, "YMD")
    dmy = parse_dates(rest, "DMY")
    mdy_values = dmy.other_order_values  # the month-first reading, parsed already
    chosen = ymd.values.copy()
    need = chosen.isna()
    only_dmy = need & dmy.values.notna() & mdy_values.isna()
    only_mdy = need & mdy_values.notna() & dmy.values.isna()
    both_same = need & dmy.values.notna() & (dmy.values == mdy_values)
    both_differ = need & dmy.values.notna() & mdy_values.notna() & (dmy.values != mdy_values)
    chosen[only_dmy] = dmy.values[only_dmy]
    chosen[only_mdy] = mdy_values[only_mdy]
    chosen[both_same] = dmy.values[both_same]
    evidence = (
        "DMY"
        if only_dmy.any() and not only_mdy.any()
        else "MDY"
        if only_mdy.any() and not only_dmy.any()
        else None
    )
    if evidence is not None:
        source_values = dmy.values if evidence == "DMY" else mdy_values
        chosen[both_differ] = source_values[both_differ]
        ambiguous_count = int(both_differ.sum())
    elif both_differ.any():
        mixed = (
            " (the column mixes day-first and month-first dates)"
            if only_dmy.any() and only_mdy.any()
            else ""
        )
        reasons.loc[both_differ[both_differ].index] = [
            f"{column} '{v}' is ambiguous: day-first reads {d:%Y-%m-%d}, "
            f"month-first reads {m:%Y-%m-%d}{mixed}; "
            "set date_order in the mapping"
            for v, d, m in zip(
                rest[both_differ], dmy.values[both_differ], mdy_values[both_differ], strict=True
            )
        ]
        ambiguous_count = int(both_differ.sum())
    values.loc[rest.index] = chosen
    bad = chosen.isna() & ~both_differ
    reasons.loc[bad[bad].index] = [f"{column} '{v}' is not a date" for v in rest[bad]]
    return values, reasons, ambiguous_count


def future_reasons(values: pd.Series, now: datetime, column: str) -> pd.Series:
    """Reason text where a timestamp lies after the run time (a clock or export error)."""
    future = (values > pd.Timestamp(now)).fillna(False)
    reasons = pd.Series(None, index=values.index, dtype=object)
    reasons[future] = [
        f"{column} {v:%Y-%m-%d %H:%M} is in the future (after {now:%Y-%m-%d %H:%M})"
        for v in values[future]
    ]
    return reasons


def truthy(raw: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
    """TRUE/FALSE-like text -> nullable booleans, with a reason where the text is neither."""
    text = raw.str.lower()
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[text.isin(_TRUE_TEXT)] = True
    out[text.isin(_FALSE_TEXT)] = False
    bad = raw.notna() & out.isna()
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[bad] = [f"{column} '{v}' is not true/false" for v in raw[bad]]
    return out, reasons


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
    remaining = candidate.drop(index=problems.index)
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


def unmapped_columns(frame: pd.DataFrame, used: Iterable[str]) -> list[str]:
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


# ------------------------------------------------------------------------------------------------
# Tickets
# ------------------------------------------------------------------------------------------------


def detect_ticket_format(columns: Iterable[str]) -> str | None:
    """The ticket export format from its header, or None when it cannot be told."""
    names = {str(c).strip().lower() for c in columns}
    if "number" in names and "sys_mod_count" in names:
        return "servicenow_audit"
    if "number" in names and names & {
        "assignment_group",
        "assignment group",
        "opened_at",
        "opened",
    }:
        return "servicenow"
    if "issue key" in names:
        return "jira"
    if {"id", "created at"} <= names or "satisfaction score" in names:
        return "zendesk"
    if {"ticket_id", "opened_at"} <= names:
        return "generic"
    return layout_from_aliases("tickets", list(columns))  # a localised export (languages.py)


def parse_priority(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Priority text -> 1 (most urgent) .. 5, with reasons for values that are not understood."""
    custom = {k.lower(): v for k, v in text_map(raw_mapping, "priority_values").items()}
    lookup = {**DEFAULT_PRIORITY_VALUES, **priority_words(), **custom}
    out = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    digits = raw.str.extract(r"^\s*(\d+)\b", expand=False)
    has_digit = digits.notna()
    out[has_digit] = digits[has_digit].astype(int)
    text = raw.str.lower().str.strip()
    by_text = text[~has_digit & raw.notna()].map(lookup)
    out[by_text.index] = pd.array(pd.to_numeric(by_text, errors="coerce"), dtype="Int64")
    bad = raw.notna() & out.isna()
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[bad] = [
        f"priority '{v}' is not a known priority; add it to priority_values in the mapping"
        for v in raw[bad]
    ]
    return out, reasons


def parse_satisfaction(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    custom = {k.lower(): v for k, v in text_map(raw_mapping, "satisfaction_values").items()}
    lookup = {**DEFAULT_SATISFACTION_VALUES, **custom}
    numbers = pd.to_numeric(raw, errors="coerce")
    text = raw.str.lower().str.strip()
    known = text.isin(list(lookup))
    labelled = pd.to_numeric(text[known].map(lookup), errors="coerce")
    numbers.loc[labelled.index] = labelled
    bad = raw.notna() & numbers.isna() & ~known
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[bad] = [
        f"satisfaction '{v}' is neither a 1-5 score nor a known label (good, bad, offered, "
        "unoffered); add it to satisfaction_values in the mapping"
        for v in raw[bad]
    ]
    return numbers.astype("float64"), reasons


def _collapse_audit(
    frame: pd.DataFrame,
    source_rows: pd.Series,
    columns: dict[str, str],
    raw_mapping: dict[str, Any],
) -> tuple[pd.DataFrame, pd.Series, pd.Series, int]:
    """One row per ticket at its latest state; also each ticket's first non-missing assignee.

    Returns (latest rows, their first assignee, superseded event count, ambiguous dates).
    """
    ticket = frame[columns["ticket_id"]]
    mod = (
        pd.to_numeric(frame[columns["mod_count"]], errors="coerce")
        if "mod_count" in columns
        else pd.Series(np.nan, index=frame.index)
    )
    ambiguous = 0
    if "updated_at" in columns:
        updated, _, ambiguous = parse_date_column(
            frame[columns["updated_at"]], raw_mapping, columns["updated_at"]
        )
    else:
        updated = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    order = pd.DataFrame({"ticket": ticket, "mod": mod, "updated": updated, "row": source_rows})
    order = order.sort_values(
        ["ticket", "mod", "updated", "row"], na_position="first", kind="mergesort"
    )
    first_assignee = pd.Series(dtype=object)
    if "first_assignee" in columns:
        assignees = frame[columns["first_assignee"]].reindex(order.index)
        seen = pd.DataFrame({"ticket": order["ticket"], "assignee": assignees}).dropna()
        first_assignee = seen.groupby("ticket", sort=False)["assignee"].first()
    latest_index = order.dropna(subset=["ticket"]).groupby("ticket", sort=False).tail(1).index
    # Events without a ticket number stay as rows so the ticket_id check quarantines them.
    keep = latest_index.union(order.index[order["ticket"].isna()])
    latest = frame.loc[keep].sort_index()
    superseded = len(frame) - len(latest)
    return latest, latest[columns["ticket_id"]].map(first_assignee), superseded, ambiguous


def read_tickets(
    decoded: DecodedFile,
    mapping: Any,
    *,
    file_format: str | None,
    salt: str,
    hr_employees: pd.DataFrame | None,
    now: datetime,
) -> ParseResult:
    """Parse a ticket export into canonical ``tickets`` rows and quarantine rows."""
    raw_mapping = mapping_dict(mapping)
    label = mapping_name(mapping)
    frame, source_rows, blank_lines = read_table(decoded, raw_mapping, "tickets")
    requested = file_format or raw_mapping.get("format")
    detected = None if requested else detect_ticket_format(frame.columns)
    chosen = choose_format(
        decoded, frame.columns, requested, detected, FORMATS, "ticket", "ticket export"
    )
    fixed_provider = raw_mapping.get("provider_department")
    required = [*REQUIRED_ROLES, *([] if fixed_provider else ["assignment_group"])]
    columns = resolve_columns(
        decoded, frame, raw_mapping, DEFAULT_COLUMNS[chosen], required, label, "ticket export"
    )
    frame = clean_missing(frame, raw_mapping)
    rows_read = len(frame) + blank_lines
    excluded: dict[str, int] = {"blank line": blank_lines} if blank_lines else {}

    first_assignee_seen: pd.Series | None = None
    ambiguous = 0
    if chosen == "servicenow_audit":
        frame, first_assignee_seen, superseded, ambiguous = _collapse_audit(
            frame, source_rows, columns, raw_mapping
        )
        source_rows = source_rows.loc[frame.index]
        if superseded:
            excluded["superseded audit event (collapsed into the ticket's latest state)"] = (
                superseded
            )

    problems = RowProblems()
    col = columns.get

    def column(role: str) -> pd.Series:
        return (
            frame[columns[role]]
            if role in columns
            else pd.Series(None, index=frame.index, dtype=object)
        )

    ticket_id = column("ticket_id")
    opened, opened_reasons, amb1 = parse_date_column(
        column("opened_at"), raw_mapping, col("opened_at", "opened_at")
    )
    resolved, resolved_reasons, amb2 = parse_date_column(
        column("resolved_at"), raw_mapping, col("resolved_at", "resolved_at")
    )
    ambiguous += amb1 + amb2
    problems.add(opened_reasons, columns["opened_at"], column("opened_at"))
    problems.add(resolved_reasons, col("resolved_at", "resolved_at"), column("resolved_at"))
    problems.add(
        future_reasons(opened, now, columns["opened_at"]), columns["opened_at"], column("opened_at")
    )
    problems.add(
        future_reasons(resolved, now, col("resolved_at", "resolved_at")),
        col("resolved_at", "resolved_at"),
        column("resolved_at"),
    )

    # Provider department: fixed, or the assignment group through the mapping.
    if fixed_provider:
        provider = pd.Series(str(fixed_provider), index=frame.index, dtype=object)
    else:
        groups = column("assignment_group")
        group_map = text_map(raw_mapping, "provider_departments")
        if "provider_departments" in raw_mapping:
            # Group names match the map after NFKC, case folding and spaces (names.py).
            folded_map = {fold(str(k)): v for k, v in group_map.items()}
            lookup = {
                g: group_map.get(g, folded_map.get(fold(str(g)))) for g in groups.dropna().unique()
            }
            provider = groups.map(lambda g: None if g is None else lookup.get(g)).astype(object)
            unmapped = groups.notna() & provider.isna()
            problems.add_mask(
                unmapped,
                columns["assignment_group"],
                groups,
                "assignment group '"
                + groups.fillna("")
                + "' is not mapped to a provider department",
            )
        else:
            # Without a map the group names are the departments (generic exports).
            provider = groups.astype(object)
        problems.add_mask(
            groups.isna(),
            columns["assignment_group"],
            groups,
            "assignment group is missing, so the provider department is unknown",
        )

    # Consumer department: explicit column, explicit requester map, or the HR roster.
    consumer = pd.Series(None, index=frame.index, dtype=object)
    if "consumer_department" in columns:
        consumer = column("consumer_department").astype(object)
    requester = column("requester")
    requester_map = text_map(raw_mapping, "requester_departments")
    if requester_map:
        mapped = requester.map(lambda r: None if r is None else requester_map.get(r))
        consumer = consumer.where(consumer.notna(), mapped)
    if (
        raw_mapping.get("requester_departments_from_hr")
        and hr_employees is not None
        and not hr_employees.empty
        and "requester" in columns
    ):
        roster = hr_employees
        if "snapshot_period" in roster.columns:
            roster = roster.sort_values("snapshot_period")
        departments = roster.drop_duplicates("employee_id", keep="last").set_index("employee_id")[
            "department"
        ]
        pseudonyms = pseudonymize(requester, salt)
        consumer = consumer.where(consumer.notna(), pseudonyms.map(departments))

    consumer = consumer.astype(object).where(consumer.notna(), None)
    priority, priority_reasons = parse_priority(column("priority"), raw_mapping)
    problems.add(priority_reasons, col("priority", "priority"), column("priority"))
    satisfaction, satisfaction_reasons = parse_satisfaction(column("satisfaction"), raw_mapping)
    problems.add(satisfaction_reasons, col("satisfaction", "satisfaction"), column("satisfaction"))

    resolution_hours = (resolved - opened).dt.total_seconds() / 3600.0
    if "sla_met" in columns:
        sla_met, sla_reasons = truthy(column("sla_met"), columns["sla_met"])
        problems.add(sla_reasons, columns["sla_met"], column("sla_met"))
    elif raw_mapping.get("sla_hours"):
        limits = {int(k): float(v) for k, v in raw_mapping["sla_hours"].items()}
        limit = priority.map(limits, na_action="ignore").astype("float64")
        sla_met = pd.Series(
            (resolution_hours <= limit).to_numpy(), index=frame.index, dtype="boolean"
        )
        sla_met[resolution_hours.isna() | limit.isna()] = pd.NA
    else:
        sla_met = pd.Series(pd.NA, index=frame.index, dtype="boolean")

    if "reopen_count" in columns:
        # Plain non-negative whole numbers only (values.py): -1, 1e0 or 2.5 reopens are not counts.
        reopen_count, reopen_reasons = plain_counts(column("reopen_count"), "reopen count")
        problems.add(reopen_reasons, columns["reopen_count"], column("reopen_count"))
        reopened = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        reopened[reopen_count.notna()] = (reopen_count[reopen_count.notna()] > 0).to_numpy()
    elif "reopened" in columns:
        reopened, reopen_reasons = truthy(column("reopened"), columns["reopened"])
        problems.add(reopen_reasons, columns["reopened"], column("reopened"))
    else:
        reopened = pd.Series(pd.NA, index=frame.index, dtype="boolean")

    first_assignee_resolved = _first_assignee_resolved(
        raw_mapping, columns, frame, first_assignee_seen, resolved
    )

    candidate = pd.DataFrame(
        {
            "period": period_of(opened, str(raw_mapping.get("period") or "month")).astype(object),
            "ticket_id": ticket_id.astype(object),
            "provider_department": provider,
            "consumer_department": consumer,
            "priority": priority,
            "opened_at": opened,
            "resolved_at": resolved,
            "resolution_hours": resolution_hours,
            "sla_met": sla_met,
            "reopened": reopened,
            "first_assignee_resolved": first_assignee_resolved,
            "satisfaction": satisfaction,
            "source_file": str(decoded.path),
            "source_sha256": decoded.sha256,
            "source_row": source_rows,
        },
        index=frame.index,
    )
    candidate["period"] = candidate["period"].where(candidate["period"].notna(), None)
    candidate = candidate[canonical_columns("tickets")]
    used = set(columns.values())
    return finish_result(
        FEED,
        decoded,
        chosen,
        "tickets",
        candidate,
        source_rows,
        problems,
        rows_read=rows_read,
        excluded_by_reason=excluded,
        columns_mapped=[f"{role}: {name}" for role, name in columns.items()],
        columns_unmapped=unmapped_columns(frame, used),
        ambiguous_dates=ambiguous,
    )


def _first_assignee_resolved(
    raw_mapping: dict[str, Any],
    columns: dict[str, str],
    frame: pd.DataFrame,
    first_assignee_seen: pd.Series | None,
    resolved: pd.Series,
) -> pd.Series:
    rule = str(raw_mapping.get("first_assignee_rule") or "resolved_by")
    out = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    if rule == "reassignment_count" and "reassignment_count" in columns:
        count = pd.to_numeric(frame[columns["reassignment_count"]], errors="coerce")
        known = count.notna()
        out[known] = (count[known] == 0).to_numpy()
    elif "first_assignee" in columns:
        first = (
            first_assignee_seen
            if first_assignee_seen is not None
            else frame[columns["first_assignee"]]
        )
        if rule == "last_assignee":
            other = frame[columns["first_assignee"]]
        elif "resolved_by" in columns:
            other = frame[columns["resolved_by"]]
        else:
            return out
        known = first.notna() & other.notna()
        out[known] = (first[known] == other[known]).to_numpy()
    out[resolved.isna()] = pd.NA
    return out
