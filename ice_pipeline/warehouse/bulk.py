"""Frames to typed Arrow tables, and Arrow tables into the warehouse by each engine's bulk path.

Belongs here: the checks a frame must pass against its ``schema.py`` table before anything is
written, the conversion to an Arrow table typed from the schema, and the engine-specific bulk
loads (DuckDB: register the Arrow table and ``INSERT ... SELECT``; PostgreSQL: psycopg 3
``COPY ... FROM STDIN`` in CSV). Every function here runs inside a transaction its caller opened;
the transactional public API (replace_partition, upsert_rows, read_frame) is in ``writes.py``,
the coded survey layout in ``writes_surveys.py``.
"""

import io
import uuid
from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, String, Table

# Rows per CSV chunk streamed into COPY: bounds the memory of the text copy of a big frame.
_COPY_CHUNK_ROWS = 200_000
# INTEGER is 32 bits on both engines.
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------


def _arrow_type(column: sqlalchemy.Column) -> pa.DataType:
    """The Arrow type a column is loaded and read as (the DuckDB/PostgreSQL type maps onto it)."""
    sql_type = column.type
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, Float):
        return pa.float64()
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, Date):
        return pa.date32()
    if isinstance(sql_type, String):  # Text is a String
        return pa.string()
    raise TypeError(f"no Arrow mapping for {column.table.fullname}.{column.name} ({sql_type})")


def _sql_cast_type(column: sqlalchemy.Column) -> str:
    """The SQL type name used in the DuckDB INSERT ... SELECT casts."""
    sql_type = column.type
    if isinstance(sql_type, Boolean):
        return "BOOLEAN"
    if isinstance(sql_type, BigInteger):
        return "BIGINT"
    if isinstance(sql_type, Integer):
        return "INTEGER"
    if isinstance(sql_type, Float):
        return "DOUBLE"
    if isinstance(sql_type, DateTime):
        return "TIMESTAMP"
    if isinstance(sql_type, Date):
        return "DATE"
    return "VARCHAR"


def _column_to_arrow(column: sqlalchemy.Column, values: pd.Series) -> pa.Array:
    """Convert one frame column to its Arrow type; NaN, NaT, None and pd.NA become NULL."""
    sql_type = column.type
    if isinstance(sql_type, Boolean):
        return pa.array(values.astype("boolean"), type=pa.bool_())
    if isinstance(sql_type, Integer):
        return pa.array(values.astype("Int64"), type=pa.int64())
    if isinstance(sql_type, Float):
        numbers = pd.to_numeric(values, errors="raise").astype("float64")
        return pa.array(numbers, type=pa.float64(), from_pandas=True)
    if isinstance(sql_type, DateTime | Date):
        # Naive values are taken as UTC already; aware ones are converted to UTC.
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = values
        else:
            stamps = pd.to_datetime(values, format="ISO8601", utc=True)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        if isinstance(sql_type, Date):
            stamps = stamps.dt.normalize()
            return pa.array(stamps.astype("datetime64[us]"), from_pandas=True).cast(pa.date32())
        return pa.array(stamps.astype("datetime64[us]"), type=pa.timestamp("us"), from_pandas=True)
    # Text: accept object, pandas string and categorical columns, but never silently str() numbers.
    array = pa.array(values, from_pandas=True)
    if array.null_count == len(array):  # empty, or all missing (read as float NaN by pandas)
        return pa.nulls(len(values), type=pa.string())
    if pa.types.is_dictionary(array.type):
        # A categorical stays dictionary-encoded: decoding 2.5M rows of repeated strings costs
        # seconds and DuckDB reads the dictionary directly (PostgreSQL's path decodes it).
        if not _is_text(array.type.value_type):
            raise TypeError(f"holds {array.type.value_type} categories, expected text")
        return array.cast(pa.dictionary(pa.int32(), pa.string()))
    if not _is_text(array.type):
        raise TypeError(f"holds {array.type} values, expected text")
    return array.cast(pa.string())


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _decoded(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A dictionary-encoded text column as plain strings; anything else unchanged."""
    if pa.types.is_dictionary(array.type):
        return array.cast(array.type.value_type)
    return array


def _decode_dictionaries(rows: pa.Table) -> pa.Table:
    return pa.Table.from_arrays([_decoded(c) for c in rows.columns], names=rows.column_names)


def _frame_to_arrow(table: Table, frame: pd.DataFrame, fill: Mapping[str, object]) -> pa.Table:
    """Check ``frame`` against ``table`` and return it as an Arrow table in the table's order.

    Unknown columns and missing NOT NULL columns are rejected; missing nullable columns become
    NULL; columns named in ``fill`` (the partition) are added with that value when absent.
    """
    known = list(table.columns.keys())
    unknown = [name for name in frame.columns if name not in table.columns]
    if unknown:
        raise ValueError(
            f"{table.fullname}: the frame has columns the table does not: {unknown}; "
            f"the table's columns are {known}"
        )
    if frame.columns.duplicated().any():
        raise ValueError(f"{table.fullname}: the frame repeats column names")
    arrays = []
    for column in table.columns:
        if column.name in frame.columns:
            try:
                array = _column_to_arrow(column, frame[column.name])
            except (TypeError, ValueError, pa.ArrowException) as err:
                raise ValueError(
                    f"{table.fullname}.{column.name}: cannot store the frame's values as "
                    f"{column.type}: {err}"
                ) from err
        elif column.name in fill:
            array = pa.repeat(pa.scalar(fill[column.name], type=_arrow_type(column)), len(frame))
        elif column.nullable:
            array = pa.nulls(len(frame), type=_arrow_type(column))
        else:
            raise ValueError(
                f"{table.fullname}: the frame lacks the required column {column.name!r}"
            )
        if not column.nullable and array.null_count:
            raise ValueError(
                f"{table.fullname}.{column.name}: {array.null_count} empty value(s) in a column "
                "that must always have a value"
            )
        if (
            isinstance(column.type, Integer)
            and not isinstance(column.type, BigInteger)
            and len(array)
            and array.null_count < len(array)
        ):
            low, high = pc.min_max(array).values()
            if low.as_py() < _INT32_MIN or high.as_py() > _INT32_MAX:
                raise ValueError(
                    f"{table.fullname}.{column.name}: values from {low} to {high} do not fit "
                    "an INTEGER column (32 bits)"
                )
        if isinstance(column.type, String) and column.type.length and len(array):
            values = array.dictionary if pa.types.is_dictionary(array.type) else array
            longest = (pc.max(pc.utf8_length(values)).as_py() or 0) if len(values) else 0
            if longest > column.type.length:
                raise ValueError(
                    f"{table.fullname}.{column.name}: a value of {longest} characters exceeds "
                    f"the column's limit of {column.type.length}"
                )
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=known)


def _check_unique_keys(
    table: Table, frame: pd.DataFrame, rows: pa.Table, constant: Iterable[str] = ()
) -> None:
    """Refuse a frame that holds one primary key twice (the bulk feeds have no unique index).

    Checked on the frame's own columns (cheaper than converting the Arrow copy back); key
    columns that are ``constant`` (the partition's) cannot make two rows differ and are skipped.
    """
    keys = [column.name for column in table.primary_key.columns]
    if not keys or rows.num_rows < 2:
        return
    varying = [name for name in keys if name not in set(constant)]
    if varying:
        key_frame = frame[varying].reset_index(drop=True)
        duplicated = key_frame.duplicated(keep=False)
    else:  # the whole key is the partition: every row has the same key
        key_frame = _decode_dictionaries(rows.select(keys)).to_pandas()
        duplicated = pd.Series(True, index=key_frame.index)
    if duplicated.any():
        example = key_frame[duplicated].iloc[0].to_dict()
        raise ValueError(
            f"{table.fullname}: {int(duplicated.sum())} rows share a primary key {keys} "
            f"(for example {example}); each key may appear once"
        )


def _check_partition(table: Table, partition: Mapping[str, object]) -> None:
    unknown = [name for name in partition if name not in table.columns]
    if unknown:
        raise ValueError(f"{table.fullname}: partition columns {unknown} are not in the table")


def _check_rows_in_partition(table: Table, rows: pa.Table, partition: Mapping[str, object]) -> None:
    """Every row must belong to the partition, or a rewrite would not replace it."""
    for name, value in partition.items():
        column = _decoded(rows.column(name))
        expected = pa.scalar(value, type=column.type)
        outside = pc.sum(pc.invert(pc.fill_null(pc.equal(column, expected), False))).as_py()
        if outside:
            raise ValueError(
                f"{table.fullname}: {outside} row(s) have {name} other than the partition's "
                f"{value!r}; write each partition separately"
            )


# --------------------------------------------------------------------------------------------
# Engine-specific bulk paths (called inside an open transaction)
# --------------------------------------------------------------------------------------------


def _driver_connection(connection: sqlalchemy.Connection) -> object:
    return connection.connection.driver_connection


def _quoted_columns(connection: sqlalchemy.Connection, names: Iterable[str]) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return ", ".join(quote(name) for name in names)


def _qualified(connection: sqlalchemy.Connection, table: Table) -> str:
    return connection.dialect.identifier_preparer.format_table(table)


def _duckdb_insert(connection: sqlalchemy.Connection, table: Table, rows: pa.Table) -> None:
    raw = _driver_connection(connection)
    view_name = f"ice_load_{uuid.uuid4().hex}"
    quote = connection.dialect.identifier_preparer.quote
    casts = ", ".join(
        f"CAST({quote(column.name)} AS {_sql_cast_type(column)})" for column in table.columns
    )
    raw.register(view_name, rows)
    try:
        raw.execute(
            f"INSERT INTO {_qualified(connection, table)} "
            f"({_quoted_columns(connection, table.columns.keys())}) "
            f"SELECT {casts} FROM {view_name}"
        )
    finally:
        raw.unregister(view_name)


def _csv_chunks(rows: pa.Table) -> Iterable[bytes]:
    """CSV text for COPY: NULL is an empty unquoted field, text is always quoted by Arrow."""
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    rows = _decode_dictionaries(rows)
    for batch in rows.to_batches(max_chunksize=_COPY_CHUNK_ROWS):
        buffer = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_batches([batch], schema=rows.schema), buffer, options)
        yield buffer.getvalue()


def _postgres_copy_in(
    connection: sqlalchemy.Connection, schema: str | None, name: str, rows: pa.Table
) -> None:
    raw = _driver_connection(connection)
    target = pg_sql.Identifier(schema, name) if schema else pg_sql.Identifier(name)
    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, pg_sql.SQL(", ").join(pg_sql.Identifier(column) for column in rows.column_names)
    )
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in _csv_chunks(rows):
            copy.write(chunk)


def _bulk_insert(connection: sqlalchemy.Connection, table: Table, rows: pa.Table) -> None:
    """Append ``rows`` to ``table`` through the engine's native bulk path."""
    if rows.num_rows == 0:
        return
    if connection.dialect.name == "duckdb":
        _duckdb_insert(connection, table, rows)
    else:
        _postgres_copy_in(connection, table.schema, table.name, rows)


def _delete_keys(connection: sqlalchemy.Connection, table: Table, keys: pa.Table) -> None:
    """Delete the rows whose primary key appears in ``keys`` (bulk, not one statement per key)."""
    if keys.num_rows == 0:
        return
    quote = connection.dialect.identifier_preparer.quote
    match = " AND ".join(
        f"{_qualified(connection, table)}.{quote(name)} = k.{quote(name)}"
        for name in keys.column_names
    )
    if connection.dialect.name == "duckdb":
        raw = _driver_connection(connection)
        view_name = f"ice_keys_{uuid.uuid4().hex}"
        raw.register(view_name, keys)
        try:
            raw.execute(
                f"DELETE FROM {_qualified(connection, table)} USING {view_name} k WHERE {match}"
            )
        finally:
            raw.unregister(view_name)
        return
    temp_name = f"ice_keys_{uuid.uuid4().hex}"
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {temp_name} ON COMMIT DROP AS "
        f"SELECT {_quoted_columns(connection, keys.column_names)} "
        f"FROM {_qualified(connection, table)} WITH NO DATA"
    )
    _postgres_copy_in(connection, None, temp_name, keys)
    connection.exec_driver_sql(
        f"DELETE FROM {_qualified(connection, table)} USING {temp_name} k WHERE {match}"
    )
