"""``ice-pipeline inspect``: parse and validate one export, write nothing, summarise it as JSON.

Belongs here: building the summary a data engineer reads while onboarding a new export (format,
encoding, row accounting, periods, which columns the mapping uses). With a mapping the file goes
through the same reader the pipeline uses; without one it is read structurally (layout, rows,
columns, periods of a known date column). Nothing is written anywhere, and pseudonyms are made
with a fixed, non-secret salt because none leave this function.
"""

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import DecodedFile, ParseResult, decode_file, period_of
from ice_pipeline.ingest.feeds import _reader, resolve_feed
from ice_pipeline.ingest.loss import quarantine_share
from ice_pipeline.ingest.mapping import Mapping, find_mapping, load_mapping
from ice_pipeline.ingest.names import normalise_names
from ice_pipeline.ingest.privacy import is_personal_column
from ice_pipeline.ingest.surveys import SURVEY_FORMATS, parse_response_dates, read_layout

INSPECT_SALT = "ice-inspect-not-secret"

# Date columns recognised without a mapping (structural mode), in order of preference.
KNOWN_DATE_COLUMNS = (
    "RecordedDate",
    "EndDate",
    "End Date",
    "Date submitted",
    "Timestamp",
    "responded_at",
    "opened_at",
    "sys_created_at",
    "Created",
    "created_at",
    "Date",
    "date",
    "snapshot_date",
)


def inspect_file(
    path: Path,
    *,
    file_format: str | None = None,
    mapping_path: Path | None = None,
    feed: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON-ready summary of one export; FileProblem/ConfigError on bad input."""
    path = Path(path)
    chosen_mapping = mapping_path if mapping_path is not None else find_mapping(path)
    mapping = load_mapping(chosen_mapping) if chosen_mapping is not None else Mapping.empty()
    decoded = decode_file(path, mapping.encoding)
    refuse_non_table(decoded)
    chosen_feed = resolve_feed(path, mapping, decoded, feed)
    reference_now = now or datetime.now(UTC).replace(tzinfo=None)
    if chosen_mapping is None and not (chosen_feed == "surveys" and (file_format or "") == "long"):
        summary = _structural(decoded, chosen_feed, file_format)
        summary["layout"] = _layout(chosen_feed, summary["format"])
        return summary
    reader = _reader(chosen_feed)
    result = reader(
        decoded,
        mapping,
        file_format=file_format,
        salt=INSPECT_SALT,
        hr_employees=None,
        now=reference_now,
    )
    summary = _summary(decoded, normalise_names(result), chosen_mapping)
    # The same figures the nightly run stops a feed on (loss.py).
    summary["quarantine_share"] = quarantine_share(result, mapping.raw).as_dict()
    summary["layout"] = _layout(result.feed, result.file_format)
    return summary


def _layout(feed: str, file_format: str) -> dict[str, Any] | None:
    """The registry's entry for the layout read (vendors/__init__.py)."""
    from ice_pipeline.ingest.vendors import layout_of

    found = layout_of(feed, file_format)
    return found.describe() if found else None


def _summary(
    decoded: DecodedFile, result: ParseResult, mapping_path: Path | None
) -> dict[str, Any]:
    counts = dict(result.counts)
    respondents = counts.get("respondents")
    if respondents is None and "survey_ratings" in result.tables:
        respondents = int(result.tables["survey_ratings"]["respondent_id"].nunique())
    personal = [c for c in _header_names(decoded, result.file_format) if is_personal_column(c)]
    return {
        "file": str(decoded.path),
        "sha256": decoded.sha256,
        "size_bytes": decoded.size_bytes,
        "feed": result.feed,
        "format": result.file_format,
        "encoding": result.encoding,
        "mode": "mapped",
        "mapping": str(mapping_path) if mapping_path else None,
        "rows_read": counts.get("rows_read", 0),
        "rows_kept": counts.get("rows_kept", 0),
        "rows_excluded": counts.get("rows_excluded", 0),
        "rows_excluded_by_reason": dict(sorted(result.excluded_by_reason.items())),
        "rows_quarantined": counts.get("rows_quarantined", 0),
        "rows_quarantined_by_reason": dict(sorted(result.quarantined_by_reason.items())),
        "quarantine_records": len(result.quarantine),
        "respondents": respondents,
        "periods": result.periods,
        "table_rows": {name: len(frame) for name, frame in result.tables.items()},
        "columns_mapped": list(result.columns_mapped),
        "columns_unmapped": [c for c in result.columns_unmapped if c not in personal],
        "columns_dropped_personal": personal,
        "ambiguous_dates": result.ambiguous_dates,
        # Spellings read as one name (NFKC, case, spaces): display name -> other spellings.
        "name_variants": result.name_variants,
        # Status values the mapping does not place, with their count and the YAML that places them.
        "unplaced_values": list(result.unplaced_values),
        "counts": counts,
    }


def _header_names(decoded: DecodedFile, file_format: str) -> list[str]:
    """Column names as the survey layouts build them; other feeds have one plain header row."""
    try:
        layout_format = file_format if file_format in SURVEY_FORMATS else None
        return read_layout(_head_only(decoded), layout_format, allow_unknown=True).columns
    except Exception:  # noqa: BLE001 - the names are a courtesy; the reader already accepted the file
        return []


def _head_only(decoded: DecodedFile, max_chars: int = 200_000) -> DecodedFile:
    text = decoded.text
    if len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars)
        text = text[: cut if cut > 0 else max_chars]
    return DecodedFile(decoded.path, text, decoded.encoding, decoded.sha256, decoded.size_bytes)


def _structural(decoded: DecodedFile, feed: str, file_format: str | None) -> dict[str, Any]:
    """No mapping: what the file is, its rows, its columns and (if dated) its periods."""
    layout_format = file_format if file_format in SURVEY_FORMATS else None
    table = read_layout(decoded, layout_format, allow_unknown=True)
    columns = table.columns
    personal = [c for c in columns if is_personal_column(c)]
    periods: list[str] = []
    ambiguous = 0
    date_column = next((c for c in KNOWN_DATE_COLUMNS if c in columns), None)
    if date_column is not None:
        dates = parse_response_dates(table.body[date_column].str.strip(), "AUTO")
        periods = sorted(period_of(dates.values).dropna().unique().tolist())
        ambiguous = int(dates.ambiguous.sum())
    return {
        "file": str(decoded.path),
        "sha256": decoded.sha256,
        "size_bytes": decoded.size_bytes,
        "feed": feed,
        "format": file_format or table.file_format,
        "encoding": decoded.encoding,
        "mode": "structural",
        "mapping": None,
        "header_rows": table.header_rows,
        "rows_read": len(table.body),
        # Described, not read as data: every row is accounted for as excluded.
        "rows_kept": 0,
        "rows_excluded": len(table.body),
        "rows_excluded_by_reason": (
            {"not scored: no mapping (structural description)": len(table.body)}
            if len(table.body)
            else {}
        ),
        "rows_quarantined": 0,
        "rows_quarantined_by_reason": {},
        "respondents": None,
        "periods": periods,
        "date_column": date_column,
        "columns_mapped": [],
        "columns_unmapped": [c for c in columns if c not in personal],
        "columns_dropped_personal": personal,
        "ambiguous_dates": ambiguous,
        "hint": (
            "no mapping found: write NAME.mapping.yaml beside the file or pass --mapping "
            "(docs/mappings.md)"
        ),
    }


# Suffixes of files that are documents or containers, never an export (issue 16: ``inspect
# README.md`` read a Markdown file as survey data and exited 0).
NOT_EXPORT_SUFFIXES = (".md", ".markdown", ".rst", ".html", ".htm", ".pdf", ".docx", ".pptx")
NOT_EXPORT_SUFFIXES += (".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".tar", ".json", ".yaml")


def refuse_non_table(decoded: DecodedFile) -> None:
    """One-line refusal of a file that is not a table: a document by its name or content.

    Binary files and archives are already refused by decode_file (NUL bytes). Here: a known
    document suffix, a first line that is a Markdown heading, or a header of one column (no
    feed has one-column exports; a prose file reads as one).
    """
    path = str(decoded.path)
    suffix = decoded.path.suffix.lower()
    first = decoded.text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if suffix in NOT_EXPORT_SUFFIXES or first.startswith(("# ", "## ", "<!", "<html", "%PDF")):
        kind = suffix.lstrip(".") or "text"
        raise FileProblem(
            path,
            f"the file is a document ({kind}), not a table export",
            fix="inspect the CSV, TSV or XLSX export the tool wrote (first line: column headers)",
        )
    from ice_pipeline.ingest.common import sniff_delimiter

    delimiter = sniff_delimiter(first)
    if first and delimiter not in first:
        raise FileProblem(
            path,
            f"the file is not a table: its first line has one column ({first[:60]!r})",
            fix="inspect the export itself; if it is one, set 'delimiter:' in its mapping",
        )


def write_summary(summary: dict[str, Any], stream: TextIO | None = None) -> None:
    """Print the JSON summary; a reader that closes the pipe early (``| head``) ends quietly."""
    out = stream or sys.stdout
    try:
        out.write(json.dumps(summary, indent=2, default=str) + "\n")
        out.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
