"""Writing a period's ratings staged in DuckDB to the coded tables, streamed, never in pandas.

Belongs here: the SQL form of what ``writes.replace_partition`` does for ``survey_ratings``
rows given as a frame: the writer's checks, the coding of ``writes_surveys.encode``/``keyed``
(codes in order of first appearance, so the tables are identical), and the load: DuckDB
inserts from Arrow record batches read off the staging database, PostgreSQL receives them by
COPY; one transaction with the run_log row (and on PostgreSQL ANALYZE and the fingerprint),
then the compute copy from the same staged rows.

The checks only detect: rows that fail one (an empty key, a too long text, a row of another
period, a repeated key) are written by the frame path instead, whose messages users know
(``StreamRefused``); valid rows never need it.
"""

import io
import uuid
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy import BigInteger, Float, Integer, String

from ice_pipeline.ingest.survey_period_sql import KEYS, MEMORY_LIMIT, TABLE, StagedRatings
from ice_pipeline.warehouse.bulk import (
    _bulk_insert,
    _delete_keys,
    _driver_connection,
    _qualified,
    _sql_cast_type,
)
from ice_pipeline.warehouse.compute import (
    CodedPeriod,
    store_compute_copy,
    uses_compute_copy,
    warehouse_fingerprint,
)
from ice_pipeline.warehouse.schema import (
    run_log,
    survey_answers,
    survey_items,
    survey_ratings,
    survey_responses,
)
from ice_pipeline.warehouse.writes_surveys import (
    ITEM_COLUMNS,
    RESPONSE_COLUMNS,
    _analyze,
    _delete_period,
    _first_key,
    _lock,
)

_BATCH_ROWS = 200_000  # rows per Arrow batch streamed to the warehouse (as bulk's COPY chunks)
_INT32 = (-(2**31), 2**31 - 1)
_ANSWER_VALUES = [c.name for c in survey_answers.columns if not c.name.endswith("_key")]


class StreamRefused(Exception):  # noqa: N818 (not an error: a signal to take the frame path)
    """The staged rows fail a check of the writer; the frame path raises its own message."""


def _checks(period: str) -> dict[str, str]:
    """The writer's checks of survey_ratings rows: label -> a count of the rows failing it."""
    checks = {"outside": f"count(*) FILTER (period IS DISTINCT FROM {_literal(period)})"}
    for column in survey_ratings.columns:
        name = column.name
        if not column.nullable:
            nan = f" OR isnan({name})" if isinstance(column.type, Float) else ""
            checks[f"null {name}"] = f"count(*) FILTER ({name} IS NULL{nan})"
        if isinstance(column.type, Integer) and not isinstance(column.type, BigInteger):
            checks[f"range {name}"] = (
                f"count(*) FILTER ({name} < {_INT32[0]} OR {name} > {_INT32[1]})"
            )
        if isinstance(column.type, String) and column.type.length:
            checks[f"length {name}"] = f"count(*) FILTER (length({name}) > {column.type.length})"
    return checks


def _problems(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """Names of the writer's checks the staged rows fail (empty when they may be written)."""
    checks = _checks(period)
    row = con.execute(f"SELECT {', '.join(checks.values())} FROM {TABLE}").fetchone()  # noqa: S608
    found = [label for label, count in zip(checks, row, strict=True) if count]
    # Grouped by the keys' 64-bit hash: far less memory than the text (20M keys). Equal keys
    # have equal hashes; a collision (~1e-5 at 20M rows) only sends the rows to the frame path.
    (repeated,) = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} GROUP BY hash({', '.join(KEYS)}) "  # noqa: S608
        "HAVING count(*) > 1)"
    ).fetchone()
    return [*found, "repeated keys"] if repeated else found


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _code(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Responses, items and answers of the staged rows, coded 0.. in order of first appearance.

    All three are stored in the order they are written, before the write: the warehouse's load
    then only scans them, so the staging's joins and sorts never run beside the warehouse's.
    """
    con.execute("SET preserve_insertion_order = true")  # the tables are scanned in their order
    for name, columns in (("ice_responses", RESPONSE_COLUMNS), ("ice_items", ITEM_COLUMNS)):
        listed = ", ".join(columns)
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT {listed}, "  # noqa: S608
            f"row_number() OVER (ORDER BY first) - 1 AS code "
            f"FROM (SELECT {listed}, min(ord) AS first FROM {TABLE} GROUP BY ALL) ORDER BY code"
        )
    values = ", ".join(f"k.{name}" for name in _ANSWER_VALUES)
    con.execute(
        "CREATE OR REPLACE TABLE ice_answers AS SELECT r.code AS response_code, "  # noqa: S608
        f"i.code AS item_code, {values} FROM {TABLE} k "
        f"JOIN ice_responses r ON {_join('r', RESPONSE_COLUMNS)} "
        f"JOIN ice_items i ON {_join('i', ITEM_COLUMNS)} ORDER BY k.ord"
    )
    (responses,) = con.execute("SELECT count(*) FROM ice_responses").fetchone()
    (items,) = con.execute("SELECT count(*) FROM ice_items").fetchone()
    return int(responses), int(items)


def _join(alias: str, columns: list[str]) -> str:
    # responded_at may be NULL, and NULL is one value in a response's identity (group_codes).
    return " AND ".join(f"{alias}.{c} IS NOT DISTINCT FROM k.{c}" for c in columns)


def _select(table: sqlalchemy.Table, response_base: int, item_base: int) -> str:
    """The staged rows of one coded table, keys from the bases, in the writers' order."""
    if table is survey_items:
        return (
            f"SELECT code + {item_base} AS item_key, {', '.join(ITEM_COLUMNS)} "  # noqa: S608
            "FROM ice_items"
        )
    if table is survey_responses:
        return (
            f"SELECT code + {response_base} AS response_key, {', '.join(RESPONSE_COLUMNS)} "  # noqa: S608
            "FROM ice_responses"
        )
    return (
        f"SELECT response_code + {response_base} AS response_key, "  # noqa: S608
        f"item_code + {item_base} AS item_key, {', '.join(_ANSWER_VALUES)} FROM ice_answers"
    )


def _reader(
    staged: StagedRatings, table: sqlalchemy.Table, bases: tuple[int, int]
) -> pa.RecordBatchReader:
    """A stream of the table's rows (its own cursor: several may be open on one staging)."""
    casts = ", ".join(f"CAST({c.name} AS {_sql_cast_type(c)}) AS {c.name}" for c in table.columns)
    sql = f"SELECT {casts} FROM ({_select(table, *bases)})"  # noqa: S608
    return staged.con.cursor().execute(sql).fetch_record_batch(_BATCH_ROWS)


def _load(
    connection: sqlalchemy.Connection, table: sqlalchemy.Table, rows: pa.RecordBatchReader
) -> None:
    """Append the stream to ``table``: DuckDB scans it, PostgreSQL gets it by COPY in CSV."""
    if connection.dialect.name == "duckdb":
        raw = _driver_connection(connection)
        view = f"ice_stream_{uuid.uuid4().hex}"
        # The warehouse's own limit (by default 80% of RAM) would let it cache the whole
        # period's blocks; during the load it gets the staging's, then its own again.
        (limit,) = raw.execute("SELECT current_setting('memory_limit')").fetchone()
        raw.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        raw.register(view, rows)
        try:
            raw.execute(
                f"INSERT INTO {_qualified(connection, table)} ({', '.join(rows.schema.names)}) "  # noqa: S608
                f"SELECT * FROM {view}"
            )
        finally:
            raw.unregister(view)
            raw.execute(f"SET memory_limit = '{limit}'")
        return
    target = pg_sql.Identifier(table.schema, table.name)
    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, pg_sql.SQL(", ").join(pg_sql.Identifier(n) for n in rows.schema.names)
    )
    with _driver_connection(connection).cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in _csv_batches(rows):
            copy.write(chunk)


def _csv_batches(rows: pa.RecordBatchReader) -> Iterator[bytes]:
    """CSV text per batch, as ``bulk._csv_chunks`` writes it (NULL: an empty unquoted field)."""
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in rows:
        buffer = io.BytesIO()
        pa_csv.write_csv(batch, buffer, options)
        yield buffer.getvalue()


def replace_staged_period(
    engine: sqlalchemy.Engine,
    staged: StagedRatings,
    period: str,
    log_rows: "pa.Table | None",
) -> int:
    """Replace ``period`` of survey_ratings by the staged rows; return the rows written.

    Raises ``StreamRefused`` before anything is written when the rows fail a writer's check.
    """
    if staged.coded:  # gathered coded (ingest/survey_period_coded.py): checked and coded so
        from ice_pipeline.ingest.survey_period_coded import code_coded, coded_problems

        problems = coded_problems(staged.con, period, _checks(period))
    else:
        problems = _problems(staged.con, period)
    if problems:
        raise StreamRefused(", ".join(problems))
    if staged.coded:
        responses, items = code_coded(staged.con, period, RESPONSE_COLUMNS, ITEM_COLUMNS)
    else:
        responses, items = _code(staged.con)
    partition = {"period": period}
    coded = None
    with engine.begin() as connection:
        _lock(connection)
        bases = (
            _first_key(connection, survey_responses, "response_key", partition, responses),
            _first_key(connection, survey_items, "item_key", partition, items),
        )
        _delete_period(connection, partition)
        if staged.rows:
            for table in (survey_items, survey_responses, survey_answers):
                _load(connection, table, _reader(staged, table, bases))
        _analyze(connection)
        if uses_compute_copy(connection):
            coded = (bases, warehouse_fingerprint(connection, period))
        if log_rows is not None:
            _delete_keys(
                connection, run_log, log_rows.select([c.name for c in run_log.primary_key.columns])
            )
            _bulk_insert(connection, run_log, log_rows)
    if coded is not None:  # PostgreSQL: the compute copy from the same staged rows
        bases, fingerprint = coded
        store_compute_copy(
            engine,
            CodedPeriod(
                period,
                *(
                    _reader(staged, t, bases)
                    for t in (survey_items, survey_responses, survey_answers)
                ),
                fingerprint,
            ),
        )
    return staged.rows
