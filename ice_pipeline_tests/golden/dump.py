"""Dump every pipeline-owned table and view of a warehouse into a canonical, comparable form.

Belongs here: which tables and columns are part of the reference and why, the canonical form of
a value, the two kinds of dump (full rows for aggregates, digests for row-level tables) and the
comparison that names table, column and first differing row. Does not belong here: running the
demo (demo.py) or reading and writing the reference files (record.py).

What is left out, and why (everything else is compared):
- ``ice_ops.alembic_version``: the migration head; a new migration changes it by design.
- ``ice_ops.run_log``: the record of execution (run ids, step names, timestamps, fingerprints of
  the settings); its rows follow the job's step structure, which a refactor may change.
- Columns, wherever they appear, that say when or in which run something happened rather than
  what the data is: ``*_at`` run timestamps (ingested_at, quarantined_at, generated_at,
  updated_at, claimed_at, started_at, finished_at), run_id, claimed_by (host, pid and a random
  token) and inputs_fingerprint (hashes the settings, which name the engine's URL).
- Paths: the demo's data directory is a temporary directory, so in every text value it is
  replaced by ``$ICE_DATA_DIR`` (source_file, file_path, target, paths quoted in the HTML).
- ``input_fingerprints`` (report archive): sha256 of each input table of a report with floats
  at 12 significant digits. Those tables are compared here themselves, to 1e-9; hashed, float
  noise far below that (a sum of squares in SQL instead of pandas) would flip a 12th digit
  somewhere and change every hash.
Kept on purpose: content hashes (source_sha256, answers_hash, content_sha256 and the report HTML,
whose figures are rounded for display) and Message-IDs, functions of content and keys only.

Values are compared by column NAME (columns in name order), so a table that becomes a view with
the same columns (``ice_private.survey_ratings``) still matches, and a column or table added later
is ignored; a reference table or column that is missing is a difference.
"""

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SCHEMAS = ("ice", "ice_private", "ice_ops")
EXCLUDED_TABLES = {"ice_ops.alembic_version", "ice_ops.run_log"}
RUN_TIME_COLUMNS = {
    "ingested_at",
    "quarantined_at",
    "generated_at",
    "updated_at",
    "claimed_at",
    "claimed_by",
    "started_at",
    "finished_at",
    "run_id",
    "inputs_fingerprint",
    # The browser stamps a creation time into every PDF it prints; the PDF's text is checked
    # by test_report_pdf.py, and the HTML it was printed from is compared here.
    "pdf_base64",
}
# Hashes of tables compared elsewhere with a float tolerance (see the module docstring).
HASHED_TABLE_COLUMNS = {"input_fingerprints"}
# Text columns holding JSON whose numbers are computed figures: parsed, so that float noise is
# compared with the same tolerance as a float column (the JSON text repeats 17 digits).
JSON_COLUMNS = {("ice_ops.published_figures", "row_json")}
# Row-level tables (and the report HTML): stored as digests and per-column summaries, not rows.
DIGEST_SCHEMAS = {"ice_private"}
DIGEST_TABLES = {"ice_ops.report_archive"}
DATA_DIR_PLACEHOLDER = "$ICE_DATA_DIR"
SIGNIFICANT = 9  # digits kept of a float in digests and sort keys
REL_TOL = 1e-9
# Values that are mathematically zero (a change of 0, a CI bound at 0) come out as 1e-15 or so
# from a different order of summation; relative tolerance alone would call that a difference.
ABS_TOL = 1e-12
FLOAT_TYPES = ("double", "float", "real", "numeric", "decimal")


@dataclass
class Difference:
    """One way the current dump differs from the reference, as a line for the failure message."""

    table: str
    text: str

    def __str__(self) -> str:
        return f"{self.table}: {self.text}"


@dataclass
class TableDump:
    """A table's reference: full rows (``rows``) or digests and column summaries (``digest``)."""

    name: str
    kind: str  # "rows" or "digest"
    columns: list[str]
    float_columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    row_count: int = 0
    digest: str = ""
    row_digests: list[str] = field(default_factory=list)
    column_stats: dict[str, dict[str, Any]] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


def list_relations(engine: sa.Engine) -> dict[str, list[tuple[str, str]]]:
    """``schema.table`` -> [(column, data type)] of every table and view of SCHEMAS."""
    query = sa.text(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema IN ('ice', 'ice_private', 'ice_ops') "
        "ORDER BY table_schema, table_name, column_name"
    )
    relations: dict[str, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        for schema, table, column, data_type in conn.execute(query):
            relations.setdefault(f"{schema}.{table}", []).append((column, str(data_type)))
    return relations


def dump_warehouse(engine: sa.Engine, data_dir: Path) -> dict[str, TableDump]:
    """Every compared table and view of the warehouse, canonical and sorted."""
    dumps = {}
    for name, columns in sorted(list_relations(engine).items()):
        if name in EXCLUDED_TABLES:
            continue
        left_out = RUN_TIME_COLUMNS | HASHED_TABLE_COLUMNS
        kept = sorted((c, t) for c, t in columns if c not in left_out)
        dumps[name] = dump_table(engine, name, kept, str(data_dir))
    return dumps


def dump_table(
    engine: sa.Engine, name: str, columns: list[tuple[str, str]], data_dir: str
) -> TableDump:
    schema, table = name.split(".")
    names = [c for c, _ in columns]
    floats = [c for c, t in columns if t.lower().startswith(FLOAT_TYPES)]
    quoted = ", ".join(f'"{c}"' for c in names)
    with engine.connect() as conn:
        raw = conn.execute(sa.text(f'SELECT {quoted} FROM "{schema}"."{table}"')).all()  # noqa: S608 - names come from information_schema
    json_columns = {i for i, c in enumerate(names) if (name, c) in JSON_COLUMNS}
    rows = [
        [plain(v, data_dir, parse_json=i in json_columns) for i, v in enumerate(row)] for row in raw
    ]
    order = [names.index(c) for c in names if c not in floats] + [names.index(c) for c in floats]
    rows.sort(key=lambda row: [canonical(row[i]) for i in order])
    dump = TableDump(name=name, kind="rows", columns=names, float_columns=floats, rows=rows)
    dump.row_count = len(rows)
    if name.split(".")[0] in DIGEST_SCHEMAS or name in DIGEST_TABLES:
        summarise(dump, rows)  # the rows stay in memory for comparing; only digests are saved
    return dump


def plain(value: Any, data_dir: str, *, parse_json: bool = False) -> Any:
    """A JSON-able value: dates as ISO text, Decimal as float, the data directory replaced."""
    if isinstance(value, str):
        value = value.replace(data_dir, DATA_DIR_PLACEHOLDER)
        return json.loads(value) if parse_json else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None  # pandas-written NULLs of float columns may land as NaN
    return value


def canonical(value: Any) -> str:
    """Text that equal values share: floats to SIGNIFICANT digits, 5 and 5.0 alike, JSON sorted."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if number == 0:
            return "0"  # -0.0 and 0.0
        return format(number, f".{SIGNIFICANT}g")
    if isinstance(value, dict | list):
        return json.dumps(_rounded(value), sort_keys=True, ensure_ascii=False)
    return str(value)


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        return canonical(value)
    return value


def _sha(lines: Iterable[str], length: int = 64) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:length]


def summarise(dump: TableDump, rows: list[list[Any]]) -> None:
    """Digest of the sorted canonical rows, a short digest per row, and per-column summaries."""
    dump.kind = "digest"
    texts = sorted(json.dumps([canonical(v) for v in row], ensure_ascii=False) for row in rows)
    dump.row_count = len(texts)
    dump.digest = _sha(texts)
    dump.row_digests = [_sha([text], 12) for text in texts]
    for i, column in enumerate(dump.columns):
        values = [row[i] for row in rows]
        texts_of_column = sorted(canonical(v) for v in values)
        stats: dict[str, Any] = {
            "nulls": sum(v is None for v in values),
            "distinct": len(set(texts_of_column)),
            "digest": _sha(texts_of_column, 16),
        }
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers:
            stats["sum"] = canonical(math.fsum(numbers))
        dump.column_stats[column] = stats


# ------------------------------------------------------------------------------------------------
# Comparing
# ------------------------------------------------------------------------------------------------


def compare(reference: dict[str, TableDump], current: dict[str, TableDump]) -> list[Difference]:
    """Every reference table must be present with equal content; new tables are ignored."""
    differences = []
    for name, ref in sorted(reference.items()):
        now = current.get(name)
        if now is None:
            differences.append(Difference(name, "table or view is missing from the warehouse"))
            continue
        missing = [c for c in ref.columns if c not in now.columns]
        if missing:
            differences.append(Difference(name, f"columns missing: {', '.join(missing)}"))
            continue
        now = _project(now, ref.columns, ref.float_columns)
        if ref.kind == "rows":
            found = compare_rows(_project(ref, ref.columns, ref.float_columns), now)
        else:
            found = compare_digests(ref, now)
        if found:
            differences.append(Difference(name, found))
    return differences


def _project(dump: TableDump, columns: list[str], float_columns: list[str]) -> TableDump:
    """The current table restricted to the reference's columns, sorted as the reference is."""
    index = [dump.columns.index(c) for c in columns]
    rows = [[row[i] for i in index] for row in dump.rows]
    order = [columns.index(c) for c in columns if c not in float_columns] + [
        columns.index(c) for c in float_columns
    ]
    rows.sort(key=lambda row: [canonical(row[i]) for i in order])
    projected = TableDump(
        name=dump.name, kind="rows", columns=columns, float_columns=float_columns, rows=rows
    )
    projected.row_count = len(rows)
    return projected


def values_equal(ref: Any, now: Any) -> bool:
    """Floats to REL_TOL (ABS_TOL near zero), everything else exactly; JSON recursively."""
    if isinstance(ref, bool) or isinstance(now, bool):
        return type(ref) is type(now) and ref == now
    if isinstance(ref, int | float) and isinstance(now, int | float):
        return math.isclose(ref, now, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(ref, dict) and isinstance(now, dict):
        return ref.keys() == now.keys() and all(values_equal(ref[k], now[k]) for k in ref)
    if isinstance(ref, list) and isinstance(now, list):
        return len(ref) == len(now) and all(
            values_equal(a, b) for a, b in zip(ref, now, strict=True)
        )
    return ref == now


def _row_text(columns: list[str], row: list[Any]) -> str:
    return json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str)[:600]


def compare_rows(ref: TableDump, now: TableDump) -> str | None:
    """Row by row in sorted order; names the first differing row and its differing columns."""
    if len(ref.rows) != len(now.rows):
        ref_keys = {canonical_row(r) for r in ref.rows}
        now_keys = {canonical_row(r) for r in now.rows}
        extra = next((r for r in now.rows if canonical_row(r) not in ref_keys), None)
        lost = next((r for r in ref.rows if canonical_row(r) not in now_keys), None)
        text = f"{len(now.rows)} rows, the reference has {len(ref.rows)}"
        if lost is not None:
            text += f"; first reference row not found: {_row_text(ref.columns, lost)}"
        if extra is not None:
            text += f"; first new row: {_row_text(now.columns, extra)}"
        return text
    for number, (a, b) in enumerate(zip(ref.rows, now.rows, strict=True)):
        columns = [c for c, x, y in zip(ref.columns, a, b, strict=True) if not values_equal(x, y)]
        if columns:
            detail = ", ".join(
                f"{c}: reference {a[ref.columns.index(c)]!r}, now {b[ref.columns.index(c)]!r}"
                for c in columns
            )
            return (
                f"column {', '.join(columns)} differs in sorted row {number}: {detail}; "
                f"reference row {_row_text(ref.columns, a)}"
            )
    return None


def canonical_row(row: list[Any]) -> str:
    return json.dumps([canonical(v) for v in row], ensure_ascii=False)


def compare_digests(ref: TableDump, now: TableDump) -> str | None:
    """Digests and column summaries; names the columns and the first differing sorted row."""
    current = TableDump(now.name, "rows", now.columns, now.float_columns)
    summarise(current, now.rows)
    if current.digest == ref.digest:
        return None
    columns = [
        f"{c} (reference {ref.column_stats[c]}, now {current.column_stats[c]})"
        for c in ref.columns
        if ref.column_stats.get(c) != current.column_stats[c]
    ]
    texts = sorted(canonical_row(row) for row in now.rows)
    first = next(
        (
            i
            for i, (a, b) in enumerate(zip(ref.row_digests, current.row_digests, strict=False))
            if a != b
        ),
        min(len(ref.row_digests), len(current.row_digests)),
    )
    if first < len(texts):
        row = _row_text(now.columns, json.loads(texts[first]))
    else:
        row = "(none: the table has fewer rows than the reference)"
    return (
        f"{current.row_count} rows (reference {ref.row_count}); columns that differ: "
        f"{'; '.join(columns) or 'none by summary'}; "
        f"first differing sorted row {first} is now {row}"
    )
