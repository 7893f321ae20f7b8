"""Reading and writing warehouse rows: idempotent partition replacement, upserts and fast reads.

Every write is one transaction: delete what is being replaced, then bulk-load the new rows through
the engine's native path (DuckDB: register an Arrow table and ``INSERT ... SELECT``; PostgreSQL:
psycopg 3 ``COPY ... FROM STDIN`` in CSV). A writer killed mid-way leaves the previous contents,
and writing the same partition twice leaves exactly the same rows. Nothing here loads row by row.

Frames are converted once to an Arrow table typed from ``schema.py`` (NaN/NaT/None become NULL,
tz-aware timestamps become naive UTC, categorical text stays dictionary-encoded until the
PostgreSQL path writes it as CSV); both engine paths load that same Arrow table, and reads
come back with the same pandas dtypes on both engines:

=========  ==================  ===========================
SQL type   pandas dtype        notes
=========  ==================  ===========================
Integer    ``Int64``           nullable integer
Float      ``float64``         NULL -> NaN
Boolean    ``boolean``         nullable boolean
Text       ``object``          str, NULL -> None
Date       ``datetime64[ns]``  midnight
DateTime   ``datetime64[ns]``  naive (UTC)
=========  ==================  ===========================

Schema changes belong in ``migrate.py``; connecting in ``engine.py``.
"""

import io
from collections.abc import Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy import Date, DateTime, String, Table

# The checks, the Arrow conversion and the bulk paths live in bulk.py; they are imported by
# name so that tests can patch ``writes._bulk_insert`` around a write.
from ice_pipeline.warehouse.bulk import (
    _arrow_type,
    _bulk_insert,
    _check_partition,
    _check_rows_in_partition,
    _check_unique_keys,
    _delete_keys,
    _driver_connection,
    _frame_to_arrow,
    _qualified,
    _quoted_columns,
)
from ice_pipeline.warehouse.compute import store_compute_copy
from ice_pipeline.warehouse.engine import dialect_name
from ice_pipeline.warehouse.schema import run_log
from ice_pipeline.warehouse.writes_surveys import is_coded, replace_coded_partition

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def replace_partition(
    engine: sqlalchemy.Engine,
    table: Table,
    frame: pd.DataFrame,
    partition: dict[str, object],
    log: Mapping[str, object] | None = None,
) -> int:
    """Replace the rows of ``table`` in ``partition`` by the rows of ``frame``; return rows written.

    ``partition`` maps columns to values (``{"period": "2026-09"}``); ``{}`` replaces the whole
    table. Partition columns missing from the frame are filled with the partition value; a row
    with another value is refused. The delete and the load are one transaction, so a failure or
    a killed process leaves the previous rows, and writing the same partition twice leaves the
    same rows. Raises ValueError for a frame that does not fit the table (unknown or missing
    columns, values of the wrong type, repeated primary keys), before anything is written.

    ``log``, when given, is an ``ice_ops.run_log`` row (run_id, step, partition_key, ...); it is
    written in the same transaction with ``rows_written`` and ``finished_at`` filled in, so the
    log never claims a partition that was rolled back, nor misses one that was committed.

    ``schema.survey_ratings`` is a view: its rows are written to the coded tables behind it
    (``writes_surveys.py``), with the same checks and the same single transaction.
    """
    _check_partition(table, partition)
    rows = _frame_to_arrow(table, frame, partition)
    _check_rows_in_partition(table, rows, partition)
    _check_unique_keys(table, frame, rows, constant=partition)
    delete = table.delete()
    for name, value in partition.items():
        delete = delete.where(table.c[name] == value)
    log_rows = _run_log_rows(log, rows.num_rows) if log is not None else None
    coded = None
    with engine.begin() as connection:
        if is_coded(table):
            coded = replace_coded_partition(connection, rows, partition)
        else:
            connection.execute(delete)
            _bulk_insert(connection, table, rows)
        if log_rows is not None:
            _delete_keys(connection, run_log, log_rows.select(_key_names(run_log)))
            _bulk_insert(connection, run_log, log_rows)
    if coded is not None:  # PostgreSQL: the period's compute copy, once the write is committed
        store_compute_copy(engine, coded)
    return rows.num_rows


def _key_names(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def _run_log_rows(log: Mapping[str, object], rows_written: int) -> pa.Table:
    """The one-row Arrow table of a run_log entry for a write of ``rows_written`` rows."""
    from datetime import UTC, datetime

    entry = {column.name: None for column in run_log.columns}
    entry.update({"status": "written", **log})
    entry["rows_written"] = rows_written
    entry["finished_at"] = datetime.now(UTC).replace(tzinfo=None)
    return _frame_to_arrow(run_log, pd.DataFrame([entry]), {})


def upsert_rows(engine: sqlalchemy.Engine, table: Table, frame: pd.DataFrame) -> int:
    """Insert ``frame``'s rows, replacing rows with the same primary key; return rows written.

    For the ledgers (source_files, quarantine, report_archive, delivery_ledger, run_log): one
    transaction deletes the rows whose keys the frame holds, then bulk-loads the frame.
    """
    keys = [column.name for column in table.primary_key.columns]
    if not keys or is_coded(table):
        raise ValueError(f"{table.fullname} has no primary key to upsert by")
    rows = _frame_to_arrow(table, frame, {})
    _check_unique_keys(table, frame, rows)
    with engine.begin() as connection:
        _delete_keys(connection, table, rows.select(keys))
        _bulk_insert(connection, table, rows)
    return rows.num_rows


def _arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([(column.name, _arrow_type(column)) for column in table.columns])


def _arrow_to_frame(table: Table, rows: pa.Table, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Give every engine's result the same pandas dtypes (see the module docstring)."""
    schema = _arrow_schema(table)
    for name in categorical:
        index = rows.schema.get_field_index(name)
        column = rows.column(index)
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column.cast(pa.string()))
        rows = rows.set_column(index, name, column)
        schema = schema.set(index, pa.field(name, column.type))
    rows = rows.cast(schema)
    dtype_of = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = rows.to_pandas(types_mapper=dtype_of.get, date_as_object=False)
    for column in table.columns:
        if isinstance(column.type, DateTime | Date):
            frame[column.name] = frame[column.name].astype("datetime64[ns]")
    for name in categorical:
        # Categories in sorted order, so pd.factorize(sort=True) and sorting give the same
        # order as for plain text (otherwise categorical order is first appearance).
        values = frame[name]
        if not isinstance(values.dtype, pd.CategoricalDtype):  # an empty result
            values = values.astype("category")
        frame[name] = values.cat.reorder_categories(sorted(values.cat.categories))
    return frame


def _where_sql(
    connection: sqlalchemy.Connection, where: Mapping[str, object], placeholder: str
) -> tuple[str, list[object]]:
    """A WHERE clause with one placeholder per value; lists become IN, None becomes IS NULL."""
    quote = connection.dialect.identifier_preparer.quote
    clauses, params = [], []
    for name, value in where.items():
        if value is None:
            clauses.append(f"{quote(name)} IS NULL")
        elif isinstance(value, list | tuple | set | frozenset):
            values = list(value)
            if not values:
                clauses.append("FALSE")
                continue
            clauses.append(f"{quote(name)} IN ({', '.join([placeholder] * len(values))})")
            params.extend(values)
        else:
            clauses.append(f"{quote(name)} = {placeholder}")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def read_frame(
    engine: sqlalchemy.Engine,
    table: Table,
    where: dict[str, object] | None = None,
    order_by: list[str] | None = None,
    categorical: Sequence[str] = (),
) -> pd.DataFrame:
    """Read ``table`` (optionally filtered by column = value, or IN a list) as typed pandas.

    Uses the bulk paths (DuckDB: Arrow result; PostgreSQL: ``COPY (SELECT ...) TO STDOUT``), so
    millions of rows read in seconds. Column dtypes are the same on both engines. Text columns
    named in ``categorical`` come back as pandas categoricals with sorted categories: for
    millions of rows that repeat a few values, cheaper to build and to group by than strings.
    """
    where = where or {}
    order_by = order_by or []
    for name in [*where, *order_by, *categorical]:
        if name not in table.columns:
            raise ValueError(f"{table.fullname} has no column {name!r}")
    for name in categorical:
        if not isinstance(table.columns[name].type, String):
            raise ValueError(f"{table.fullname}.{name} is not text; only text reads as categorical")
    with engine.connect() as connection:
        quote = connection.dialect.identifier_preparer.quote
        select = f"SELECT {_quoted_columns(connection, table.columns.keys())} FROM " + _qualified(
            connection, table
        )
        order = (" ORDER BY " + ", ".join(quote(name) for name in order_by)) if order_by else ""
        raw = _driver_connection(connection)
        if dialect_name(engine) == "duckdb":
            clause, params = _where_sql(connection, where, "?")
            result = raw.execute(select + clause + order, params)
            rows = _encoded_batches(result, categorical) if categorical else result.to_arrow_table()
        else:
            rows = _postgres_copy_out(raw, table, select, where, order, connection)
    return _arrow_to_frame(table, rows, categorical)


# Rows per Arrow batch when text is read as categorical: bounds the plain-text copy in memory.
_READ_BATCH_ROWS = 1_000_000


def _encoded_batches(result: object, categorical: Sequence[str]) -> pa.Table:
    """A DuckDB result read batch by batch, the ``categorical`` columns dictionary-encoded as
    each batch arrives: the whole result never exists as plain strings at once (memory: 12.5M
    ratings repeat a few hundred thousand distinct values).
    """
    reader = result.fetch_record_batch(_READ_BATCH_ROWS)  # type: ignore[attr-defined]
    batches = []
    for batch in reader:
        columns = [
            pc.dictionary_encode(column) if name in categorical else column
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]
        batches.append(pa.RecordBatch.from_arrays(columns, names=batch.schema.names))
    if not batches:
        return reader.schema.empty_table()
    return pa.Table.from_batches(batches).unify_dictionaries()


def _postgres_copy_out(
    raw: object,
    table: Table,
    select: str,
    where: Mapping[str, object],
    order: str,
    connection: sqlalchemy.Connection,
) -> pa.Table:
    # COPY takes no server-side parameters, so values are bound client-side as quoted literals.
    clause, params = _where_sql(connection, where, "{}")
    query = pg_sql.SQL(select + clause + order).format(*(pg_sql.Literal(p) for p in params))
    statement = pg_sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:
            buffer.write(data)
    schema = _arrow_schema(table)
    if buffer.tell() == 0:
        return schema.empty_table()
    buffer.seek(0)
    return pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=schema.names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
