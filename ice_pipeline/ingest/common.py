"""What every ingester shares: decoding bytes, reading CSV text, dates, and the result shape.

Belongs here: format-independent reading (encodings, BOM, CRLF, quoted newlines), the quarantine
record builder, categorical text columns, and ``ParseResult``, the one shape every feed's reader
returns. The date parser that reports ambiguity instead of guessing is in dates.py (its names
are importable from here). Feed-specific parsing lives in surveys.py,
tickets.py, hr.py and external.py.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.dates import (  # dates.py; importable from here as before
    _DISTINCT_MAX_SHARE,
    _DISTINCT_MIN_ROWS,
    _ORDER_FORMATS,
    ParsedDates,
    _expand,
    _parse_dates,
    _parse_with_formats,
    parse_dates,
    period_of,
)

FEEDS = ("surveys", "tickets", "hr", "external")
# Part of every parse-cache key: raise it when a rule changes what a reader makes of the same
# bytes and mapping (issue 12: strict values, normalised names), so no stale parse is reused.
RULES_VERSION = "rules-2"

# Quarantine rows use these columns (ice_private.quarantine without run_id/quarantined_at,
# which the writer stamps).
QUARANTINE_COLUMNS = [
    "feed",
    "source_file",
    "source_sha256",
    "source_row",
    "column_name",
    "value",
    "reason",
]
QUARANTINE_VALUE_MAX = 200


@dataclass
class DecodedFile:
    """An export file's text with what was learned while decoding it."""

    path: Path
    text: str
    encoding: str  # 'utf-8', 'utf-8-sig', 'cp1252', 'utf-16', or 'xlsx' (spreadsheet.py)
    sha256: str
    size_bytes: int
    # Set by a caller that has no further use for ``text`` (feeds.read_export): a reader may
    # then drop it once parsed (``release_text``), not hold 2-4x the export to the end.
    disposable: bool = False

    def release_text(self) -> None:
        """Drop the text when the caller said it will not read it again (``disposable``)."""
        if self.disposable:
            self.text = ""


@dataclass
class ParseResult:
    """Everything one export file produced.

    ``tables`` maps schema table names (``survey_ratings``, ``survey_comments``, ``tickets``,
    ``employees``, ``external_metrics``) to canonical frames whose columns are those tables'
    columns. ``quarantine`` holds one row per rejected (row, column) with the reason; good rows of
    the same file go on. ``counts`` always has rows_read, rows_kept, rows_quarantined and
    rows_excluded (policy exclusions such as survey previews, not errors), and
    ``excluded_by_reason`` breaks the exclusions down.
    """

    feed: str
    source_file: str
    source_sha256: str
    file_format: str
    encoding: str
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    counts: dict[str, int]
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    columns_mapped: list[str] = field(default_factory=list)
    columns_unmapped: list[str] = field(default_factory=list)
    ambiguous_dates: int = 0
    # Names that differ only by Unicode form, case or spaces, read as one (names.py):
    # {"consumer_department": {"IT": ["It ", "ＩＴ"]}} -- canonical name -> other spellings seen.
    name_variants: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Values of a coded column the mapping does not place (HR statuses, hr_status.py): each
    # {"column", "value", "count", "yaml_to_add"}; inspect shows them, the cache does not keep them.
    unplaced_values: list[dict[str, object]] = field(default_factory=list)

    @property
    def periods(self) -> list[str]:
        found: set[str] = set()
        for frame in raw_tables(self.tables).values():
            for column in ("period", "snapshot_period"):
                if column in frame.columns:
                    staged = getattr(frame, "distinct", None)
                    found.update(staged(column) if staged else distinct_text(frame[column]))
        return sorted(found)


def raw_tables(tables: dict[str, Any]) -> dict[str, Any]:
    """A result's tables as they are held: pandas frames or tables staged in DuckDB.

    A staged table (survey_stage.StagedTable) becomes a pandas frame when read through
    ``ParseResult.tables[name]``; callers that can work in SQL (the parse cache, name
    harmonisation) take it from here instead, so the long table never becomes a frame.
    """
    raw_items = getattr(tables, "raw_items", None)
    return dict(raw_items()) if raw_items else dict(tables)


def distinct_text(values: pd.Series) -> list[str]:
    """The distinct non-missing values of a column as text (distinct first: columns are long)."""
    return sorted({str(v) for v in values.dropna().unique()})


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_file(path: Path, encoding: str = "auto") -> DecodedFile:
    """Read and decode an export: UTF-8 (with or without BOM), else cp1252, else a clear failure.

    cp1252 is the fallback because spreadsheet tools on Windows write it; bytes that cp1252 cannot
    map (0x81, 0x8D, 0x8F, 0x90, 0x9D) fall back to latin-1 so no column is lost.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise FileProblem(str(path), "the file does not exist", fix="check the path") from err
    except OSError as err:
        raise FileProblem(
            str(path),
            f"the file cannot be read ({err.strerror})",
            fix="check the file's permissions",
        ) from err
    digest = sha256_bytes(data)
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileProblem(
            str(path),
            "the file is empty",
            fix="re-export the data from the source tool; an empty export holds no rows",
        )
    # Issue 16: workbooks and UTF-16 text (Qualtrics' and SurveyMonkey's "tab-separated,
    # Unicode" exports) hold NUL bytes but are tables: read them before refusing binaries.
    from ice_pipeline.ingest.spreadsheet import is_workbook, workbook_text

    if is_workbook(path, data):
        return DecodedFile(path, workbook_text(path, data), "xlsx", digest, len(data))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding in ("auto", "utf-16"):
        try:
            return DecodedFile(path, data.decode("utf-16"), "utf-16", digest, len(data))
        except UnicodeDecodeError as err:
            raise FileProblem(
                str(path),
                f"the file starts like UTF-16 text but cannot be decoded ({err.reason})",
                fix="re-export the file; it was probably cut off or converted twice",
            ) from err
    if b"\x00" in data[:65536]:
        raise FileProblem(
            str(path),
            "the file is binary, not a CSV text export (it contains NUL bytes)",
            fix="export the data as CSV (comma-separated text), not as Excel or PDF",
        )
    if encoding != "auto":
        try:
            return DecodedFile(path, data.decode(encoding), encoding, digest, len(data))
        except (UnicodeDecodeError, LookupError) as err:
            raise FileProblem(
                str(path),
                f"the file cannot be decoded as {encoding} ({err})",
                fix="set 'encoding: auto' in the mapping, or name the encoding the tool used",
            ) from err
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return DecodedFile(path, data[3:].decode("utf-8"), "utf-8-sig", digest, len(data))
        except UnicodeDecodeError:
            pass
    try:
        return DecodedFile(path, data.decode("utf-8"), "utf-8", digest, len(data))
    except UnicodeDecodeError:
        pass
    try:
        return DecodedFile(path, data.decode("cp1252"), "cp1252", digest, len(data))
    except UnicodeDecodeError:
        return DecodedFile(path, data.decode("latin-1"), "latin-1", digest, len(data))


_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")


def _cell_kind(cell: str) -> str:
    text = cell.strip()
    if not text:
        return "empty"
    try:
        float(text.replace(",", "."))
        return "number"
    except ValueError:
        pass
    return "date" if _DATE_LIKE.match(text) else "text"


def header_shape(cells: list[str], limit: int = 8) -> str:
    """A record's shape for messages: its cell count and the kind of its first cells.

    Messages about a file that is not recognised say this instead of showing the cells: such a
    file may be anything the service user can read, and its first lines would otherwise travel
    into the error, the event log and the failure e-mail.
    """
    kinds = ", ".join(_cell_kind(cell) for cell in cells[:limit])
    more = ", ..." if len(cells) > limit else ""
    noun = "cell" if len(cells) == 1 else "cells"
    return f"{len(cells)} {noun}: {kinds}{more}" if cells else "no cells"


def sniff_delimiter(text: str) -> str:
    """Comma unless the header clearly uses semicolons or tabs (European spreadsheet exports)."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_csv_rows(decoded: DecodedFile, delimiter: str | None = None) -> list[list[str]]:
    """Parse CSV text into rows of strings (quoted newlines, CRLF and ragged rows handled).

    Uses the csv module rather than pandas here because header rows must be seen raw (Qualtrics
    and SurveyMonkey put meaning in rows 2-3) and repeated column names must survive.
    """
    csv.field_size_limit(64 * 1024 * 1024)
    sep = delimiter or sniff_delimiter(decoded.text)
    try:
        rows = list(csv.reader(io.StringIO(decoded.text, newline=""), delimiter=sep))
    except csv.Error as err:
        raise FileProblem(
            str(decoded.path),
            f"the CSV structure is broken ({err})",
            fix="re-export the file; a quote is probably unbalanced or the file was truncated",
        ) from err
    ensure_not_truncated(decoded, sep)
    if (
        rows
        and len(rows) > 1
        and not decoded.text.endswith(("\n", "\r"))
        and 0 < len(rows[-1]) < len(rows[0])
    ):
        raise FileProblem(
            str(decoded.path),
            f"the last record (record {len(rows)}) has {len(rows[-1])} of {len(rows[0])} fields "
            "and the file does not end with a line break, so it was probably truncated",
            fix="export or copy the file again completely; nothing from it was written",
        )
    return rows


def read_rectangular_csv(data: bytes | Path, delimiter: str, width: int) -> pa.Table | None:
    """Every record of ``data`` (UTF-8 bytes, or a UTF-8 file) as ``width`` text columns (named
    "0", "1", ...), read by Arrow.

    None when a record has another number of fields (blank lines, ragged or cut-off rows): the
    callers then read the file with a reader that keeps such records.
    """
    names = [str(i) for i in range(width)]
    try:
        return pa_csv.read_csv(
            io.BytesIO(data) if isinstance(data, bytes) else str(data),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None


def ensure_not_truncated(decoded: DecodedFile, delimiter: str) -> None:
    """Fail if the text ends inside a quoted field: the export was cut off mid-record.

    A lenient CSV reader silently takes such a file (the rest becomes one cell, or the last record
    is short) and the cut record's data would be scored as if complete. Quotes come in pairs in a
    well-formed file, so only an odd count needs the strict parse that tells for certain.
    """
    if decoded.text.count('"') % 2 == 0:
        return
    try:
        for _ in csv.reader(
            io.StringIO(decoded.text, newline=""), delimiter=delimiter, strict=True
        ):
            pass
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise FileProblem(
                str(decoded.path),
                "the file ends inside a quoted field, so it was probably truncated during export "
                "or transfer",
                fix="export or copy the file again completely; nothing from it was written",
            ) from err


def column_names(header: list[str]) -> list[str]:
    """Header cells stripped; repeated names become ``name``, ``name.1``, ... as in pandas."""
    seen: dict[str, int] = {}
    names: list[str] = []
    for raw in header:
        name = raw.strip()
        if name in seen:
            seen[name] += 1
            names.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            names.append(name)
    return names


def frame_from_rows(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """Strings-only frame; repeated header names become ``name``, ``name.1``, ... as in pandas."""
    names = column_names(header)
    width = len(names)
    fixed = [(r + [""] * (width - len(r)))[:width] for r in rows]
    return pd.DataFrame(fixed, columns=names, dtype=object)


def quarantine_frame(
    feed: str,
    decoded: DecodedFile,
    source_rows: pd.Series | np.ndarray | list[int],
    column_name: str | pd.Series,
    values: pd.Series | list[object],
    reason: str | pd.Series,
) -> pd.DataFrame:
    """Build quarantine records; values are kept as text, truncated, never interpreted."""
    rows = pd.Series(np.asarray(source_rows), dtype="int64")
    n = len(rows)
    vals = pd.Series(
        list(values) if not isinstance(values, pd.Series) else values.to_list(), dtype=object
    )
    text = vals.map(
        lambda v: (
            None
            if v is None or (isinstance(v, float) and np.isnan(v))
            else str(v)[:QUARANTINE_VALUE_MAX]
        )
    )
    return pd.DataFrame(
        {
            "feed": [feed] * n,
            "source_file": [str(decoded.path)] * n,
            "source_sha256": [decoded.sha256] * n,
            "source_row": rows.to_numpy(),
            "column_name": column_name.to_numpy()
            if isinstance(column_name, pd.Series)
            else [column_name] * n,
            "value": text.to_numpy(),
            "reason": reason.to_numpy() if isinstance(reason, pd.Series) else [reason] * n,
        },
        columns=QUARANTINE_COLUMNS,
    )


# Below this many rows, categorical text columns save nothing worth their surprises.
CATEGORICAL_MIN_ROWS = 100_000


def categorical_take(values: np.ndarray, index: np.ndarray) -> pd.Categorical:
    """``values[index]`` as a categorical, without building one Python object per element.

    ``values`` is small (one entry per record or per answer column), ``index`` long (one per
    rating). Missing values (None/NaN) stay missing.
    """
    codes, categories = pd.factorize(values)
    return pd.Categorical.from_codes(codes[index], categories=categories)


def compact_text_columns(frame: pd.DataFrame, min_rows: int | None = None) -> pd.DataFrame:
    """Large frames: repeated text as categoricals; small ones: plain text (values unchanged).

    A long survey table repeats each department, dimension, period and respondent on many rows;
    as Python strings those columns dominate writing the parse cache (Parquet) and loading the
    warehouse. Categoricals write dictionary-encoded and read back as categoricals. Below
    ``min_rows`` categoricals save nothing worth their surprises, so they are decoded.
    """
    if len(frame) < (CATEGORICAL_MIN_ROWS if min_rows is None else min_rows):
        return text_columns(frame)
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        categorical = pd.Categorical(frame[column])
        if len(categorical.categories) <= len(frame) // 2:
            frame[column] = categorical
    return frame


def to_text(values: pd.Series) -> pd.Series:
    """A categorical column as plain object text (missing values as None)."""
    text = values.astype(object)
    return text.where(text.notna(), None)


def text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every categorical column as plain text (for pandera, which checks dtypes)."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    frame = frame.copy(deep=False)
    for column in categorical:
        frame[column] = to_text(frame[column])
    return frame


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "source_row" else object) for c in QUARANTINE_COLUMNS}
    )


__all__ = [
    "CATEGORICAL_MIN_ROWS",
    "FEEDS",
    "QUARANTINE_COLUMNS",
    "QUARANTINE_VALUE_MAX",
    "RULES_VERSION",
    "_DISTINCT_MAX_SHARE",
    "_DISTINCT_MIN_ROWS",
    "_ORDER_FORMATS",
    "DecodedFile",
    "ParseResult",
    "ParsedDates",
    "_expand",
    "_parse_dates",
    "_parse_with_formats",
    "categorical_take",
    "column_names",
    "compact_text_columns",
    "decode_file",
    "distinct_text",
    "empty_quarantine",
    "ensure_not_truncated",
    "frame_from_rows",
    "header_shape",
    "parse_dates",
    "period_of",
    "quarantine_frame",
    "read_csv_rows",
    "read_rectangular_csv",
    "sha256_bytes",
    "sniff_delimiter",
    "text_columns",
    "to_text",
]
