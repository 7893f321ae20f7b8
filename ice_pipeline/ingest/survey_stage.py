"""Staging a survey export's body in an in-process DuckDB (issue 13, items 1 and 7).

Belongs here: reading the body of a survey export into a DuckDB table (one VARCHAR column per
export column, with its record number and source row), the narrow pandas frame of the few
non-rating columns the record checks read, and ``StagedTable``, a canonical table that lives in
DuckDB until a caller asks for a pandas frame. The SQL over the staged rating columns (cells,
classification, ratings, quarantine) is survey_sql.py's.

The body is parsed by Arrow's CSV reader (multi-threaded, and it refuses blank lines and ragged
records exactly like the reader before staging, so source row numbers stay byte-identical) and
handed to DuckDB without a pandas copy; files Arrow refuses take survey_read's fallback readers.
DuckDB's own read_csv skips blank lines and cannot keep fields beyond the header, which would
change row numbers and quarantine reasons of the bad-input corpus: that is why it is not used.
"""

import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ice_pipeline.ingest.common import (
    DecodedFile,
    read_rectangular_csv,
)
from ice_pipeline.ingest.fixed import ExtraHeader
from ice_pipeline.ingest.survey_read import _read_body, header_and_body_start

# DuckDB spills to disk above this (bounded memory on a 200 MB export, issue 13 item 7). Its
# order-preserving steps cannot always spill: the 20x month's 600 MB export ran out of memory
# at 512 MB, so larger exports get twice their size (the bound stays proportional to the file).
STAGE_MEMORY_LIMIT_MB = 512


def quote(name: str) -> str:
    """A SQL identifier for ``name``."""
    return '"' + name.replace('"', '""') + '"'


def connect(export_bytes: int = 0) -> duckdb.DuckDBPyConnection:
    """A private DuckDB in a temporary file, with bounded memory and a spill directory.

    A database file (not ``:memory:``) lets DuckDB compress the staged tables and evict their
    blocks under ``memory_limit``: the bound holds whatever the export's size. The directory
    goes when the process ends or the connection is collected.
    """
    spill = tempfile.mkdtemp(prefix="ice-survey-stage-")
    con = duckdb.connect(str(Path(spill) / "stage.duckdb"))
    weakref.finalize(con, shutil.rmtree, spill, True)
    limit_mb = max(STAGE_MEMORY_LIMIT_MB, 2 * export_bytes // 1_000_000)
    con.execute(f"SET memory_limit = '{limit_mb}MB'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = true")
    return con


def spill_directory(con: duckdb.DuckDBPyConnection) -> Path:
    """The private directory of a ``connect`` database (removed with it)."""
    row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    assert row is not None
    return Path(str(row[0]))


@dataclass
class StagedSurvey:
    """The export's records (Arrow, ``raw``) and, once ``load`` ran, DuckDB table ``body``.

    ``body`` holds ``_rec`` (0-based record), ``_row`` (source row) and the loaded columns
    (c0..cN): only the rating columns are copied into DuckDB, the rest is never needed there.
    """

    con: duckdb.DuckDBPyConnection
    file_format: str
    columns: list[str]  # export column names, in order
    sql_names: dict[str, str]  # export column name -> staged column (c0, c1, ...)
    n: int
    source_rows: np.ndarray
    header_rows: int
    raw: pa.Table | None  # c0..cN, one row per record; released by ``load``

    def frame(self, columns: list[str]) -> pd.DataFrame:
        """The named columns as object strings, one row per record (a narrow pandas frame)."""
        if not columns:
            return pd.DataFrame(index=pd.RangeIndex(self.n))
        assert self.raw is not None, "read the frame before load() releases the records"
        part = self.raw.select([self.sql_names[c] for c in columns])
        frame = part.to_pandas().astype(object)
        frame.columns = list(columns)
        return frame

    def load(self, columns: list[str]) -> None:
        """Table ``body`` with the named columns, copied into DuckDB's own storage (compressed,
        spillable: DuckDB cannot push its join filters into a scan of an Arrow table); the
        Arrow records are released.
        """
        assert self.raw is not None
        table = pa.table(
            {
                "_rec": pa.array(np.arange(self.n, dtype="int64")),
                "_row": pa.array(self.source_rows),
                **{self.sql_names[c]: self.raw.column(self.sql_names[c]) for c in columns},
            }
        )
        self.raw = None
        self.con.register("raw_body", table)
        self.con.execute("CREATE TABLE body AS SELECT * FROM raw_body")
        self.con.unregister("raw_body")


# Characters of the body encoded at a time into the file Arrow reads (a few MB of bytes).
BODY_CHUNK_CHARS = 4 << 20


def _blank_from(text: str, start: int) -> bool:
    """Whether ``text[start:]`` is only whitespace, without copying it (chunk by chunk)."""
    return not any(
        text[i : i + BODY_CHUNK_CHARS].strip() for i in range(start, len(text), BODY_CHUNK_CHARS)
    )


def _raw_body(decoded: DecodedFile, start: int, delimiter: str, width: int, spill: Path) -> Any:
    """The body (``decoded.text`` from ``start``) as an Arrow table (or a pandas frame for files
    Arrow refuses), columns 0..w-1.

    The body goes to Arrow through a UTF-8 file in the spill directory, written a chunk at a
    time: neither a copy of the body's text nor its encoded bytes are held whole (issue 13
    item 7: a 200 MB export with accented comments is 400 MB as text).
    """
    text = decoded.text
    if not _blank_from(text, start):
        body = spill / "body.csv"
        with body.open("wb") as out:
            for i in range(start, len(text), BODY_CHUNK_CHARS):
                out.write(text[i : i + BODY_CHUNK_CHARS].encode("utf-8"))
        table = read_rectangular_csv(body, delimiter, width)
        body.unlink()
        if table is not None:
            return table
    frame = _read_body(decoded, text[start:], delimiter, width)
    frame.columns = [str(c) for c in frame.columns]
    return pa.Table.from_pandas(frame.astype(str), preserve_index=False)


def _records(raw: pa.Table, extra: int) -> tuple[pa.Table, np.ndarray]:
    """The records left when blank ones are dropped (their numbers consumed), then the extra
    header records; and the 0-based position of each in the body (for its source row).
    """
    blank = np.ones(raw.num_rows, dtype=bool)
    for column in raw.columns:
        blank &= np.asarray(pc.equal(column, ""), dtype=bool)
    keep = np.flatnonzero(~blank)[extra:]
    if len(keep) < raw.num_rows:
        raw = raw.take(pa.array(keep))
    names = [f"c{i}" for i in range(raw.num_columns)]
    return raw.rename_columns(names), keep.astype("int64")


def stage_layout(
    decoded: DecodedFile,
    file_format: str | None,
    *,
    allow_unknown: bool,
    skipped: int,
    extra: ExtraHeader,
) -> StagedSurvey:
    """survey_read.read_layout, then fixed.shift_table, with the body staged in DuckDB."""
    delimiter, layout, names, start = header_and_body_start(decoded, file_format, allow_unknown)
    header_rows = layout.header_rows
    con = connect(decoded.size_bytes)
    raw = _raw_body(decoded, start, delimiter, len(names), spill_directory(con))
    decoded.release_text()  # the records are read: no later step reads the text (item 7)
    if raw.num_columns > len(names):
        names = names + [f"(column {i + 1})" for i in range(len(names), raw.num_columns)]
    sql_names = {name: f"c{i}" for i, name in enumerate(names)}
    # Unnamed columns that hold nothing (legacy Qualtrics' trailing comma) are not columns
    # (checked after blank records are dropped, before the extra header rows: as read_layout).
    blank = np.ones(raw.num_rows, dtype=bool)
    for column in raw.columns:
        blank &= np.asarray(pc.equal(column, ""), dtype=bool)
    kept = raw.filter(pa.array(~blank)) if blank.any() else raw
    empty = {
        c
        for c in names
        if c.startswith("(column ")
        and bool(pc.all(pc.equal(kept.column(int(sql_names[c][1:])), "")).as_py() in (True, None))
    }
    del kept
    names = [c for c in names if c not in empty]
    records, positions = _records(raw, extra.rows)
    del raw
    return StagedSurvey(
        con,
        layout.format,
        names,
        {c: sql_names[c] for c in names},
        len(positions),
        positions + header_rows + 1 + skipped,
        header_rows + extra.rows,
        records,
    )


class StagedTable:
    """A canonical table held in DuckDB (``relation`` names it); pandas only when asked.

    ``columns`` are the canonical columns; ``dtypes`` the pandas dtypes a frame gets back, so a
    materialised table equals the one built in pandas before staging.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        relation: str,
        columns: list[str],
        dtypes: dict[str, Any],
        stored_in: dict[str, tuple[str, str, str]] | None = None,
        base: str | None = None,
    ) -> None:
        self.con = con
        self.relation = relation
        self.columns = pd.Index(columns)
        self.dtypes = dtypes
        # When ``relation`` is a view over a narrow ``base`` table (one row per table row,
        # with ``_ord``): where a column's values are stored, (table, column, key in base).
        self.stored_in = stored_in or {}
        self.base = base
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            row = self.con.execute(f"SELECT count(*) FROM {self.relation}").fetchone()
            self._len = int(row[0]) if row else 0
        return self._len

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def select(self) -> str:
        return ", ".join(quote(c) for c in self.columns)

    def to_frame(self) -> pd.DataFrame:
        """The table as the pandas frame the reader built before staging."""
        from ice_pipeline.ingest.common import compact_text_columns

        # Arrow's to_pandas shares one Python string per distinct value (DuckDB's .df(): one
        # per row): the long table repeats file, period, department on every row.
        query = f"SELECT {self.select()} FROM {self.relation} ORDER BY _ord"
        frame = self.con.execute(query).fetch_arrow_table().to_pandas()
        for column, dtype in self.dtypes.items():
            if dtype is object:
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
            else:
                frame[column] = frame[column].astype(dtype)
        return compact_text_columns(frame)

    def _values(self, column: str) -> str:
        """A subquery (v, n, f): each value of ``column`` with its row count and first _ord.

        A column stored per key (per record or per rating column, ``stored_in``) is counted
        from the narrow base table grouped by that key: no join over the long table's text.
        """
        if column in self.stored_in and self.base:
            table, stored, key = self.stored_in[column]
            return (
                f"(SELECT t.{quote(stored)} AS v, b.n, b.f FROM (SELECT {key}, count(*) AS n, "
                f"min(_ord) AS f FROM {self.base} GROUP BY {key}) b JOIN {table} t USING ({key}))"
            )
        return f"(SELECT {quote(column)} AS v, 1 AS n, _ord AS f FROM {self.relation})"

    def spellings(self, column: str) -> list[tuple[str, int]]:
        """(value, count) of the non-missing values of ``column``, in first-seen order."""
        rows = self.con.execute(
            f"SELECT v, sum(n), min(f) AS first FROM {self._values(column)} "
            "WHERE v IS NOT NULL GROUP BY v ORDER BY first"
        ).fetchall()
        return [(str(v), int(n)) for v, n, _ in rows]

    def count_distinct(self, column: str) -> int:
        row = self.con.execute(f"SELECT count(DISTINCT v) FROM {self._values(column)}").fetchone()
        return int(row[0]) if row else 0

    def distinct_values(self, column: str) -> np.ndarray:
        """The distinct values of ``column`` (missing ones included), unsorted."""
        return self.con.execute(f"SELECT DISTINCT v FROM {self._values(column)}").fetchnumpy()["v"]

    def rename_values(self, column: str, chosen: dict[str, str]) -> None:
        """Replace spellings of ``column`` by their display names (names.normalise_names)."""
        table, stored, _ = self.stored_in.get(column, (self.relation, column, ""))
        for spelling, name in chosen.items():
            if spelling != name:
                self.con.execute(
                    f"UPDATE {table} SET {quote(stored)} = ? WHERE {quote(stored)} = ?",
                    [name, spelling],
                )

    def kept_by_period(self) -> dict[str, int]:
        """Distinct source rows per period (cache.kept_by_period)."""
        source = self.relation
        if self.base and "period" in self.stored_in and "source_row" in self.stored_in:
            table, _, key = self.stored_in["period"]
            source = f"(SELECT t.* FROM (SELECT DISTINCT {key} FROM {self.base}) JOIN {table} t "
            source += f"USING ({key}))"
        rows = self.con.execute(
            f"SELECT period, count(DISTINCT source_row) FROM {source} "
            "WHERE period IS NOT NULL GROUP BY 1"
        ).fetchall()
        return {str(p): int(n) for p, n in rows}

    def distinct(self, column: str) -> list[str]:
        rows = self.con.execute(
            f"SELECT DISTINCT v FROM {self._values(column)} WHERE v IS NOT NULL"
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def write_parquet(self, path: Path, period: str | None = None) -> None:
        """COPY the rows (of one period) to Parquet with DuckDB: never a pandas frame."""
        where = "" if period is None else "WHERE period = ?"
        params = [] if period is None else [period]
        target = str(path).replace("'", "''")
        self.con.execute(
            # No ORDER BY: the base table is stored in _ord order and the view's joins keep
            # the order of their probe side (a sort would hold the whole long table).
            f"COPY (SELECT {self.select()} FROM {self.relation} {where}) "
            f"TO '{target}' (FORMAT parquet)",
            params,
        )


class LazyTables(dict):  # type: ignore[type-arg]
    """``ParseResult.tables`` whose staged tables become pandas frames when first read."""

    def staged(self, name: str) -> StagedTable | None:
        value = dict.get(self, name)
        return value if isinstance(value, StagedTable) else None

    def __getitem__(self, name: str) -> Any:
        value = dict.__getitem__(self, name)
        if isinstance(value, StagedTable):
            value = value.to_frame()
            dict.__setitem__(self, name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def values(self) -> Any:  # type: ignore[override]
        return [self[name] for name in self]

    def items(self) -> Any:  # type: ignore[override]
        return [(name, self[name]) for name in self]

    def raw_items(self) -> list[tuple[str, Any]]:
        """(name, table) without materialising staged tables."""
        return list(dict.items(self))
