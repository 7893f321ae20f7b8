"""The compute engine of a period: where its row-level SQL runs (moments, hashes, audits).

Belongs here: choosing the engine a period's row-level queries run on, and keeping the local
copy that makes PostgreSQL warehouses fast. On a DuckDB warehouse the warehouse itself is the
compute engine. On PostgreSQL the coded survey tables of the period (``writes_surveys.py``) are
also kept in a local DuckDB file, written right after the warehouse write commits
(:func:`store_compute_copy`); the period's moments then run in-process (issue 13, item 5: an
enterprise month's moments through PostgreSQL's view took seconds, in DuckDB a fraction).
Results are still written to PostgreSQL; earlier periods without a valid copy are read there.

A copy is only used when it matches the warehouse: with it is stored a fingerprint of the
period's coded rows computed *by PostgreSQL* (counts, key sums, sums of the rounded values and
of a hash of each response's and item's text) inside the write's transaction, and every use
computes the fingerprint again (one scan of the period's answers, ~0.3 s for 3M rows) and
checks the file's own counts. A missing, stale (the period was written again elsewhere) or
damaged copy is rebuilt from PostgreSQL (``COPY ... TO STDOUT``, one snapshot) or, for an
earlier period, not used at all: a copy can make a step faster, never its numbers different.

Files: ``<ICE_DATA_DIR>/cache/compute/<warehouse hash>/<period>.<state>-<random>.duckdb``, per
warehouse and period, so concurrent runs of different partitions never share a file; a file is
written under a temporary name and renamed into place (readers see a whole file or none), and a
new copy always gets a new path (see :func:`_new_path`); the period's older copies are removed.
Other steps (key drivers, the survey_ratings expectation suite) use :func:`period_compute` the
same way: an engine to run period SQL on.
"""

import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy

from ice_pipeline.warehouse.bulk import _driver_connection, _qualified, _sql_cast_type
from ice_pipeline.warehouse.engine import bound_duckdb_memory, limit_duckdb_memory
from ice_pipeline.warehouse.schema import (
    survey_answers,
    survey_items,
    survey_ratings,
    survey_responses,
)

log = logging.getLogger(__name__)

CODED_TABLES = (survey_items, survey_responses, survey_answers)
_META = "ice_compute.meta"
# The fingerprint PostgreSQL computes of a period's coded rows: exact integers only (a float sum
# may differ in its last bits between parallel plans), so two computations of unchanged rows
# are equal. hashtext covers the text columns of responses and items.
_FINGERPRINT_SQL = """
SELECT
  (SELECT json_build_array(count(*), sum(response_key), sum(item_key),
          sum(round(score * 1000000)::bigint), sum(round(rating_raw * 1000000)::bigint),
          count(*) FILTER (WHERE favourable))::text
   FROM {answers} WHERE period = %(period)s),
  (SELECT json_build_array(count(*), sum(response_key), sum(hashtext(concat_ws('|',
          respondent_id, consumer_department, responded_at::text, source_file, source_sha256,
          source_row::text))::bigint))::text
   FROM {responses} WHERE period = %(period)s),
  (SELECT json_build_array(count(*), sum(item_key), sum(hashtext(concat_ws('|',
          provider_department, dimension, scale_min::text, scale_max::text,
          reversed::text))::bigint))::text
   FROM {items} WHERE period = %(period)s)
"""
# What the file's own rows must add up to (cheap in DuckDB; the same integers PostgreSQL sums).
_LOCAL_SQL = """
SELECT (SELECT count(*) FROM ice_private.survey_answers),
       (SELECT coalesce(sum(response_key), 0) FROM ice_private.survey_answers),
       (SELECT coalesce(sum(item_key), 0) FROM ice_private.survey_answers),
       (SELECT count(*) FROM ice_private.survey_responses),
       (SELECT count(*) FROM ice_private.survey_items)
"""
# survey_ratings' columns, each from the coded table that holds it (as the warehouse's view).
_SOURCE = {
    **{c.name: "r" for c in survey_responses.columns},
    **{c.name: "i" for c in survey_items.columns},
    **{c.name: "a" for c in survey_answers.columns},
}
_VIEW_SQL = (
    "CREATE VIEW ice_private.survey_ratings AS SELECT "
    + ", ".join(f"{_SOURCE[c.name]}.{c.name}" for c in survey_ratings.columns)
    + " FROM ice_private.survey_answers a"
    " JOIN ice_private.survey_responses r ON r.response_key = a.response_key"
    " JOIN ice_private.survey_items i ON i.item_key = a.item_key"
)


@dataclass(frozen=True)
class CodedPeriod:
    """One period's coded rows as written to the warehouse, and PostgreSQL's fingerprint of them."""

    period: str
    # Tables, or streams of their rows (the survey_tables step's rows staged in DuckDB).
    items: pa.Table | pa.RecordBatchReader
    responses: pa.Table | pa.RecordBatchReader
    answers: pa.Table | pa.RecordBatchReader
    fingerprint: str


def uses_compute_copy(engine: sqlalchemy.Engine | sqlalchemy.Connection) -> bool:
    """Whether the warehouse computes on a local copy (PostgreSQL) or on itself (DuckDB)."""
    return engine.dialect.name == "postgresql"


def compute_root() -> Path:
    """Where the compute copies live: the data directory's cache."""
    from ice_pipeline.settings import load_settings

    return load_settings().data_dir / "cache" / "compute"


def compute_folder(engine: sqlalchemy.Engine) -> Path:
    """The copies of this warehouse (its URL, without password, names the folder)."""
    url = engine.url.render_as_string(hide_password=True)
    return compute_root() / hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def compute_files(engine: sqlalchemy.Engine, period: str) -> list[Path]:
    """The copies of ``period`` present (normally one; another only while a copy is replaced)."""
    return sorted(compute_folder(engine).glob(f"{period}.*.duckdb"))


def _new_path(engine: sqlalchemy.Engine, period: str, fingerprint: str) -> Path:
    """A fresh name for a copy: never a path a copy had before.

    DuckDB shares one database instance per path within a process while any connection to it
    is open, so a file replaced under a path it had opened would be read as the old one (seen:
    a second run in the same process computed the first run's rows). The fingerprint's hash
    names which warehouse state the file holds; the random part makes every file's path new.
    """
    digest = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:12]
    return compute_folder(engine) / f"{period}.{digest}-{uuid.uuid4().hex[:8]}.duckdb"


def _drop_others(engine: sqlalchemy.Engine, period: str, keep: Path) -> None:
    """Remove the period's other copies (a process still reading one keeps its open file)."""
    for path in compute_files(engine, period):
        if path != keep:
            path.unlink(missing_ok=True)


def warehouse_fingerprint(connection: sqlalchemy.Connection, period: str) -> str:
    """PostgreSQL's fingerprint of the period's coded rows (see the module doc)."""
    sql = _FINGERPRINT_SQL.format(
        answers=_qualified(connection, survey_answers),
        responses=_qualified(connection, survey_responses),
        items=_qualified(connection, survey_items),
    )
    row = connection.exec_driver_sql(sql, {"period": period}).one()
    return json.dumps(list(row))


def store_compute_copy(engine: sqlalchemy.Engine, coded: CodedPeriod) -> Path | None:
    """Write the compute copy of a period just committed to the warehouse.

    A failure here (disk full, permissions) loses only speed: the step that needs the copy
    rebuilds it from the warehouse, so the error is logged, not raised.
    """
    path = _new_path(engine, coded.period, coded.fingerprint)
    try:
        _write_file(path, coded)
        _drop_others(engine, coded.period, path)
    except (OSError, duckdb.Error) as err:
        log.warning("compute copy of %s not written (%s); it is rebuilt when needed", path, err)
        return None
    return path


def _write_file(path: Path, coded: CodedPeriod) -> None:
    """The DuckDB file of ``coded``: the three tables, the view, the fingerprint; atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.stem}-{uuid.uuid4().hex}.tmp")
    try:
        with contextlib.closing(duckdb.connect(str(staging))) as con:
            limit_duckdb_memory(con)
            con.execute("CREATE SCHEMA ice_private")
            con.execute("CREATE SCHEMA ice_compute")
            for table, rows in zip(
                CODED_TABLES, (coded.items, coded.responses, coded.answers), strict=True
            ):
                _create_and_load(con, table, rows)
            con.execute(_VIEW_SQL)
            local = json.dumps([int(v) for v in con.execute(_LOCAL_SQL).fetchone()])
            con.execute(
                f"CREATE TABLE {_META} (period VARCHAR, fingerprint VARCHAR, local VARCHAR)"
            )
            con.execute(
                f"INSERT INTO {_META} VALUES (?, ?, ?)", [coded.period, coded.fingerprint, local]
            )
            con.execute("CHECKPOINT")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)


def _create_and_load(
    con: duckdb.DuckDBPyConnection,
    table: sqlalchemy.Table,
    rows: pa.Table | pa.RecordBatchReader,
) -> None:
    columns = ", ".join(f"{c.name} {_sql_cast_type(c)}" for c in table.columns)
    con.execute(f"CREATE TABLE ice_private.{table.name} ({columns})")
    casts = ", ".join(f"CAST({c.name} AS {_sql_cast_type(c)})" for c in table.columns)
    con.register("ice_rows", rows)
    try:
        con.execute(f"INSERT INTO ice_private.{table.name} SELECT {casts} FROM ice_rows")
    finally:
        con.unregister("ice_rows")


def _file_matches(path: Path, period: str, fingerprint: str) -> bool:
    """Whether the copy at ``path`` holds exactly the warehouse's rows of ``period``."""
    if not path.is_file():
        return False
    try:
        with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
            limit_duckdb_memory(con)
            stored = con.execute(f"SELECT period, fingerprint, local FROM {_META}").fetchall()
            local = json.dumps([int(v) for v in con.execute(_LOCAL_SQL).fetchone()])
    except duckdb.Error:  # damaged, half-written by an older version, or not ours
        return False
    return stored == [(period, fingerprint, local)]


def _rebuild(engine: sqlalchemy.Engine, period: str) -> Path:
    """Copy the period's coded rows out of PostgreSQL into a new compute file (one snapshot)."""
    from ice_pipeline.warehouse.writes import _postgres_copy_out

    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as connection, connection.begin():
        fingerprint = warehouse_fingerprint(connection, period)
        raw = _driver_connection(connection)
        tables = []
        for table in CODED_TABLES:
            names = ", ".join(c.name for c in table.columns)
            select = f"SELECT {names} FROM {_qualified(connection, table)}"  # noqa: S608
            tables.append(
                _postgres_copy_out(raw, table, select, {"period": period}, "", connection)
            )
    path = _new_path(engine, period, fingerprint)
    _write_file(path, CodedPeriod(period, *tables, fingerprint=fingerprint))
    _drop_others(engine, period, path)
    return path


@contextlib.contextmanager
def period_compute(
    engine: sqlalchemy.Engine, period: str, *, rebuild: bool = True
) -> Iterator[sqlalchemy.Engine]:
    """The engine to run ``period``'s row-level SQL on (its ``ice_private.survey_ratings`` view
    and coded tables hold that period's rows; other tables are the warehouse's only).

    DuckDB warehouse: the warehouse. PostgreSQL: the period's local copy after checking it
    against the warehouse; a missing or stale copy is rebuilt (``rebuild``) or the warehouse
    itself is used (``rebuild=False``: an earlier period read once, cheaper in PostgreSQL than
    copied out).
    """
    if not uses_compute_copy(engine):
        yield engine
        return
    with engine.connect() as connection:
        fingerprint = warehouse_fingerprint(connection, period)
    path = next(
        (p for p in compute_files(engine, period) if _file_matches(p, period, fingerprint)), None
    )
    if path is None:
        if not rebuild:
            yield engine
            return
        log.info("compute copy of %s missing or stale: rebuilding it from the warehouse", period)
        path = _rebuild(engine, period)
    compute = sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    bound_duckdb_memory(compute)
    try:
        yield compute
    finally:
        compute.dispose()
