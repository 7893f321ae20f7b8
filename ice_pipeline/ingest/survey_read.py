"""Reading a survey export's layout: header rows, the layout they show, column names, body.

Belongs here: the first step of reading a survey (``read_layout``): the header records parsed
with the csv module (they carry meaning), the layout detected from them through the registry
(vendors/) or checked when forced, one column name per column (the layout's own naming), and the
body read as strings in one pass. What tells one vendor's layout apart from another lives in
its vendor module, not here; what the columns mean is survey_columns.py's job.
"""

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import (
    DecodedFile,
    ensure_not_truncated,
    header_shape,
    read_rectangular_csv,
    sniff_delimiter,
)
from ice_pipeline.ingest.vendors import Layout, detect, layout_of, layouts_of

FEED = "surveys"
SURVEY_FORMATS = tuple(layout.format for layout in layouts_of(FEED))
HEADER_ROWS = {layout.format: layout.header_rows for layout in layouts_of(FEED)}


@dataclass
class SurveyTable:
    """The export as read: one string column per export column, one row per response record."""

    file_format: str
    columns: list[str]
    body: pd.DataFrame  # object strings ('' for empty), columns = ``columns``
    source_rows: np.ndarray  # 1-based physical record number of each body row (header rows counted)
    header_rows: int


def _head_records(text: str, delimiter: str, count: int = 3) -> tuple[list[list[str]], list[int]]:
    """The first records and the text offset after each (quoted newlines handled by csv).

    Parses a growing prefix of the text: copying a 100 MB export into a StringIO to read three
    header rows would cost more than parsing its body.
    """
    csv.field_size_limit(64 * 1024 * 1024)
    size = 1 << 20
    while True:
        prefix = text[:size]
        buffer = io.StringIO(prefix, newline="")
        reader = csv.reader(buffer, delimiter=delimiter)
        records: list[list[str]] = []
        offsets: list[int] = []
        try:
            for _ in range(count):
                records.append(next(reader))
                offsets.append(buffer.tell())
        except StopIteration:
            pass
        except csv.Error:
            if len(prefix) == len(text):
                raise
            size *= 4
            continue
        # Done when the prefix is the whole text, or the last record wanted ended inside it.
        if len(prefix) == len(text) or (len(records) == count and offsets[-1] < len(prefix)):
            return records, offsets
        size *= 4


def detect_survey_format(records: list[list[str]]) -> str | None:
    """The survey layout from the header shape, or None when it is not one we know."""
    return detect(FEED, records)


def _shown(record: list[str]) -> str:
    # The shape only, never the cells: an unrecognised file may be anything (common.header_shape).
    return f"[{header_shape(record)}]"


def _format_problem(
    decoded: DecodedFile, records: list[list[str]], forced: str | None, seen: str | None
) -> FileProblem:
    row1 = _shown(records[0]) if records else "nothing"
    row2 = _shown(records[1]) if len(records) > 1 else "nothing"
    formats = ", ".join(SURVEY_FORMATS)
    if forced:
        detected = (
            f"its header looks like {seen}" if seen else "its header matches no known survey layout"
        )
        return FileProblem(
            str(decoded.path),
            f"the file does not have the {forced} layout that was forced "
            f"(row 1 has {row1}, row 2 has "
            f"{row2}; {detected})",
            fix=f"use --format {seen}"
            if seen
            else f"remove --format / the mapping's 'format:' or choose one of {formats}",
        )
    return FileProblem(
        str(decoded.path),
        f"the survey layout is not recognised (row 1 has {row1}, row 2 has {row2})",
        fix=f"name the layout with --format or the mapping key 'format:' (one of {formats})",
    )


def _check_forced(decoded: DecodedFile, records: list[list[str]], forced: str) -> None:
    """A forced format must fit the file's header, or the rows would be silently misread."""
    seen = detect_survey_format(records)
    layout = layout_of(FEED, forced)
    assert layout is not None  # the caller checked ``forced`` is a survey format
    if not layout.fits_header(records, seen):
        raise _format_problem(decoded, records, forced, seen)


def _unique_names(names: list[str]) -> list[str]:
    """Repeated names get ``.1``, ``.2`` like pandas; empty names become ``(column N)``."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"(column {i + 1})"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _column_names(layout: Layout, records: list[list[str]]) -> list[str]:
    """One name per column: the layout's naming over its header rows, repeats numbered."""
    width = max(len(r) for r in records[: layout.header_rows])
    return _unique_names(layout.column_names(records, width))


def _header_records(decoded: DecodedFile, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first three records and their end offsets; a file without a header fails."""
    try:
        records, offsets = _head_records(decoded.text, delimiter)
    except csv.Error as err:
        raise FileProblem(
            str(decoded.path),
            f"the CSV header is broken ({err})",
            fix="re-export the file; a quote is probably unbalanced or the file was truncated",
        ) from err
    if not records or not any(c.strip() for c in records[0]):
        raise FileProblem(
            str(decoded.path),
            "the file has no header row",
            fix="re-export the survey with its header row(s)",
        )
    return records, offsets


def _choose_layout(
    decoded: DecodedFile, records: list[list[str]], file_format: str | None, allow_unknown: bool
) -> Layout:
    """The forced layout (checked to fit), else the detected one, else ``csv`` if allowed."""
    if file_format:
        if file_format not in SURVEY_FORMATS:
            raise FileProblem(
                str(decoded.path),
                f"unknown survey format {file_format!r}",
                fix=f"use one of {', '.join(SURVEY_FORMATS)}",
            )
        _check_forced(decoded, records, file_format)
        chosen = file_format
    else:
        detected = detect_survey_format(records)
        if detected is None:
            if not allow_unknown:
                raise _format_problem(decoded, records, None, None)
            detected = "csv"
        chosen = detected
    layout = layout_of(FEED, chosen)
    assert layout is not None
    if len(records) < layout.header_rows:
        raise FileProblem(
            str(decoded.path),
            f"the file ends inside its {layout.header_rows} header rows ({chosen})",
            fix="re-export the whole file; it looks truncated",
        )
    return layout


def read_header(
    decoded: DecodedFile, file_format: str | None, allow_unknown: bool
) -> tuple[str, Layout, list[str], str]:
    """The delimiter, layout and column names from an export's header rows, and the text of its
    body (after the last header row); a truncated file is refused first. Used by the pandas
    read (``read_layout``); the DuckDB staging takes ``body_start`` instead of a copy of the body.
    """
    delimiter, layout, names, start = header_and_body_start(decoded, file_format, allow_unknown)
    return delimiter, layout, names, decoded.text[start:]


def header_and_body_start(
    decoded: DecodedFile, file_format: str | None, allow_unknown: bool
) -> tuple[str, Layout, list[str], int]:
    """``read_header`` with the offset in ``decoded.text`` where the body starts, not its text.

    A 200 MB export with accented comments is 400 MB as a Python string: a copy of its body
    would double that (issue 13 item 7).
    """
    delimiter = sniff_delimiter(decoded.text[:65536])
    ensure_not_truncated(decoded, delimiter)
    records, offsets = _header_records(decoded, delimiter)
    layout = _choose_layout(decoded, records, file_format, allow_unknown)
    names = _column_names(layout, records)
    return delimiter, layout, names, offsets[layout.header_rows - 1]


def read_layout(
    decoded: DecodedFile, file_format: str | None = None, *, allow_unknown: bool = False
) -> SurveyTable:
    """Read the header rows and body of a survey export (format detected unless forced)."""
    delimiter, layout, names, body_text = read_header(decoded, file_format, allow_unknown)
    header_rows = layout.header_rows
    body = _read_body(decoded, body_text, delimiter, len(names))
    if body.shape[1] > len(names):
        names = names + [f"(column {i + 1})" for i in range(len(names), body.shape[1])]
    body.columns = names
    source_rows = np.arange(header_rows + 1, header_rows + 1 + len(body), dtype="int64")
    body, source_rows = _drop_blank_records(body, source_rows)
    # Unnamed columns that hold nothing (legacy Qualtrics' trailing comma) are not columns.
    empty_unnamed = [c for c in names if c.startswith("(column ") and (body[c] == "").all()]
    body = body.drop(columns=empty_unnamed)
    return SurveyTable(layout.format, list(body.columns), body, source_rows, header_rows)


def _drop_blank_records(
    body: pd.DataFrame, source_rows: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Blank records (a stray empty line) hold nothing; the first column is tested before all."""
    blank = np.ones(len(body), bool)
    if len(body.columns):
        blank = (body.iloc[:, 0] == "").to_numpy()
        if blank.any():
            blank[blank] = (body.loc[blank] == "").all(axis=1).to_numpy()
    if blank.any():  # (a copy of the whole body otherwise)
        body = body.loc[~blank].reset_index(drop=True)
        source_rows = source_rows[~blank]
    return body, source_rows


def _read_body(decoded: DecodedFile, text: str, delimiter: str, width: int) -> pd.DataFrame:
    """Body records as strings in one pass of Arrow's CSV reader; ragged files go through csv.

    Arrow's reader is multi-threaded and about twice as fast as pandas' C parser on a 100k-row
    export; it refuses records with another number of fields than the header (blank lines,
    ragged rows), which then take pandas' C parser and, for rows wider than the header, csv.
    """
    if not text.strip():
        return pd.DataFrame({i: pd.Series(dtype=object) for i in range(width)})
    data = text.encode("utf-8")
    table = read_rectangular_csv(data, delimiter, width)
    if table is not None:
        # Converted column by column, each Arrow buffer released once converted (peak memory
        # of a 500,000-row export); repeated strings share one Python object.
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
        frame.columns = list(range(width))
        return frame
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=list(range(width)),
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=delimiter,
            encoding="utf-8",
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
        )
        return frame.fillna("")
    except (pd.errors.ParserError, ValueError):
        pass
    # Rows wider than the header: keep every field (no data is cut off), name extras later.
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise FileProblem(
            str(decoded.path),
            f"the CSV structure is broken ({err})",
            fix="re-export the file; a quote is probably unbalanced or the file was truncated",
        ) from err
    wide = max([width, *(len(r) for r in rows)])
    fixed = [r + [""] * (wide - len(r)) for r in rows]
    return pd.DataFrame(fixed, columns=list(range(wide)), dtype=object)
