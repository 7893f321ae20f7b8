"""Staging a table export's body (tickets, HR, external metrics) as Arrow text columns.

Belongs here: ``StagedTable`` (the body's records as Arrow text columns, or the csv module's
frame for files Arrow refuses, with the export's column names), ``stage_records`` (reading the
header and body, finding the blank records) and the per-distinct-value cleaning of the columns
a reader uses. What the readers check about the header and the rows is table_read.py's.

Why (issue 13 item 1): the readers use a handful of a ticket or roster export's columns, but
the string frame they were handed held every column as one Python string per cell (free-text
descriptions, names, e-mails): at the 20x month that frame was a main part of the peak memory.
Here the body stays in Arrow (about the file's size) and only the used columns become pandas
object columns, each cell pointing at its distinct value's one cleaned string. Arrow's reader
refuses blank lines and ragged records exactly like the reader before staging (survey_stage.py
says why DuckDB's read_csv is not used), so row numbers and messages stay byte-identical.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ice_pipeline.ingest.common import (
    DecodedFile,
    column_names,
    frame_from_rows,
    read_csv_rows,
    read_rectangular_csv,
    sniff_delimiter,
)


@dataclass
class StagedTable:
    """The data records of an export (blank ones dropped), by export column name.

    ``arrow`` holds one text column per export column (named by position) when Arrow read the
    file; ``fallback`` the csv module's string frame otherwise. ``fixed`` holds the constant
    columns a mapping adds (fixed.add_fixed_columns, through ``assign``).
    """

    columns: pd.Index
    n: int
    arrow: pa.Table | None = None
    fallback: pd.DataFrame | None = None
    fixed: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.n

    def assign(self, **values: str) -> "StagedTable":
        """The table with constant columns added at the end (as ``DataFrame.assign``)."""
        names = [name for name in values if name not in self.columns]
        return StagedTable(
            pd.Index([*self.columns, *names], dtype=object),
            self.n,
            self.arrow,
            self.fallback,
            {**self.fixed, **values},
        )

    def take(self, positions: np.ndarray) -> "StagedTable":
        """The records at ``positions`` (0-based, in order): the blank ones dropped."""
        return StagedTable(
            self.columns,
            len(positions),
            None if self.arrow is None else self.arrow.take(pa.array(positions)),
            None if self.fallback is None else self.fallback.iloc[positions].reset_index(drop=True),
            dict(self.fixed),
        )

    def slice(self, start: int) -> "StagedTable":
        """The records from ``start`` on (extra header records dropped)."""
        return StagedTable(
            self.columns,
            max(self.n - start, 0),
            None if self.arrow is None else self.arrow.slice(start),
            None if self.fallback is None else self.fallback.iloc[start:].reset_index(drop=True),
            dict(self.fixed),
        )

    def frame(self, used: Iterable[str] | None = None) -> pd.DataFrame:
        """The named columns (all when None) as read, object strings, in the export's order."""
        return self._frame(used, None)

    def cleaned(self, used: Iterable[str], codes: set[str]) -> pd.DataFrame:
        """The used columns stripped, missing-value ``codes`` -> None, in the export's order."""
        return self._frame(used, codes)

    def _frame(self, used: Iterable[str] | None, codes: set[str] | None) -> pd.DataFrame:
        wanted = None if used is None else set(used)
        data: dict[str, np.ndarray] = {}
        for position, name in enumerate(self.columns):
            if wanted is not None and name not in wanted:
                continue
            if name in self.fixed:
                cells = np.full(self.n, self.fixed[name], dtype=object)
                data[name] = cells if codes is None else _clean_values(cells, codes)
            elif self.arrow is not None:
                data[name] = _arrow_cells(self.arrow.column(position), codes)
            else:
                assert self.fallback is not None
                cells = self.fallback[name].to_numpy(dtype=object)
                data[name] = cells if codes is None else _clean_values(cells, codes)
        names = list(data)
        return pd.DataFrame(data, index=pd.RangeIndex(self.n), columns=names, dtype=object)


def _arrow_cells(column: pa.ChunkedArray, codes: set[str] | None) -> np.ndarray:
    """One Arrow text column as an object array, cleaned per distinct value when ``codes``.

    Each distinct value becomes one Python string shared by its cells: exports repeat a few
    states, groups and priorities on 100k rows. The chunks Arrow read in parallel are joined
    first (as large strings: a column may hold more than 2 GB), so a value is cleaned once.
    """
    if column.num_chunks == 0:
        return np.empty(0, dtype=object)
    encoded = column.cast(pa.large_string()).combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)
    if codes is not None:
        values = _cleaned_distinct(encoded.dictionary, values, codes)
    return values[encoded.indices.to_numpy(zero_copy_only=False)]


# Text whose first and last characters are printable ASCII other than space: ``str.strip``
# leaves it as it is, so only the other values (few: spaces, non-ASCII ends) are stripped.
_UNSTRIPPED = r"(?s)^[!-~](.*[!-~])?$"


def _cleaned_distinct(dictionary: pa.Array, values: np.ndarray, codes: set[str]) -> np.ndarray:
    """Distinct cells stripped (``str.strip``), missing-value codes -> None."""
    kept = pc.match_substring_regex(dictionary, _UNSTRIPPED).to_numpy(zero_copy_only=False)
    out = values.copy()
    todo = np.flatnonzero(~np.asarray(kept, dtype=bool))
    if len(todo):
        out[todo] = [value.strip() for value in values[todo]]
    missing = pd.Series(out, dtype=object).isin(list(codes)).to_numpy()
    out[missing] = None
    return out


def _clean_values(values: np.ndarray, codes: set[str]) -> np.ndarray:
    """Cells stripped, missing-value codes -> None, per distinct value (None cells stay None)."""
    value_codes, distinct = pd.factorize(values)
    text = pd.Series(np.asarray(distinct, dtype=object)).str.strip()
    text = text.where(~text.isin(codes), None).to_numpy(dtype=object)
    out = text[value_codes] if len(text) else np.empty(len(values), dtype=object)
    missing = value_codes == -1
    out[missing] = values[missing]
    return out


def stage_records(
    decoded: DecodedFile, delimiter: str | None
) -> tuple[list[str], StagedTable, np.ndarray]:
    """(header cells, every data record, which records hold anything).

    A rectangular file is read column-wise by Arrow; any other goes through the csv module
    (``read_csv_rows``), which keeps ragged rows and reports a cut-off last record.
    """
    text = decoded.text
    chosen = delimiter or sniff_delimiter(text)
    table = _arrow_records(text, chosen)
    if table is not None and table.num_rows > 1:
        header = [str(column[0].as_py()) for column in table.columns]
        # A name made twice ("a", "a", "a.1" -> a, a.1, a.1) keeps its last column, as the
        # pandas frame built from a dict of the names did before staging.
        last = {name: position for position, name in enumerate(column_names(header))}
        body = table.slice(1).select(list(last.values()))
        staged = StagedTable(pd.Index(list(last), dtype=object), body.num_rows, body)
        return header, staged, _filled(body)
    rows = read_csv_rows(decoded, delimiter=delimiter)
    if not rows:
        return [], StagedTable(pd.Index([], dtype=object), 0, fallback=pd.DataFrame()), _none()
    header, records = rows[0], rows[1:]
    filled = np.array([any(cell.strip() for cell in row) for row in records], dtype=bool)
    frame = frame_from_rows(header, records)
    return header, StagedTable(frame.columns, len(frame), fallback=frame), filled


def _none() -> np.ndarray:
    return np.zeros(0, dtype=bool)


def _arrow_records(text: str, delimiter: str) -> pa.Table | None:
    """Every record (the header first) as text columns, or None when Arrow refuses the file."""
    try:
        first = next(csv.reader(_lines(text), delimiter=delimiter), None)
    except csv.Error:
        return None
    if not first:
        return None
    return read_rectangular_csv(text.encode("utf-8"), delimiter, len(first))


_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings, as ``io.StringIO(text, newline="")`` gives them,
    made one at a time: the header needs the first few, and a StringIO copies the whole export.
    """
    start = 0
    for end in _LINE_END.finditer(text):
        yield text[start : end.end()]
        start = end.end()
    if start < len(text):
        yield text[start:]


def _filled(body: pa.Table) -> np.ndarray:
    """Which records hold a cell that is more than blank (``str.strip``), column by column.

    Only the records not yet known to hold something are looked at in the next column (usually
    none after the id). A cell with a printable ASCII character is not blank; the few others are
    stripped once per distinct value.
    """
    filled = np.zeros(body.num_rows, dtype=bool)
    for column in body.columns:
        todo = np.flatnonzero(~filled)
        if not len(todo):
            break
        cells = column if len(todo) == body.num_rows else column.take(pa.array(todo))
        quick = np.asarray(pc.match_substring_regex(cells, "[!-~]").to_numpy(), dtype=bool)
        filled[todo[quick]] = True
        rest = todo[~quick]
        if len(rest):
            others = cells.filter(pa.array(~quick))
            strings = _arrow_cells(others, None)
            verdict = {value: bool(value.strip()) for value in set(strings)}
            filled[rest] = np.fromiter((verdict[s] for s in strings), bool, len(strings))
    return filled
