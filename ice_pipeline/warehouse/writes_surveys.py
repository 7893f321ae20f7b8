"""Survey ratings in the coded long layout: answers with integer keys, responses and items apart.

Belongs here: turning a period's ``survey_ratings`` rows (the 15 columns analysts read) into the
three coded tables of ``schema.py`` and replacing the period in them, inside the transaction
``writes.replace_partition`` opened. Reading needs nothing from here: the view
``ice_private.survey_ratings`` (migration 0008_coded) joins the tables back into the 15 columns.

Why: storing a text column of 2.4M rows cost ~0.6-0.75 s of CPU even when it repeats one value,
so the 15-column long table cost ~7.5 s to store per enterprise month. Coded, each answer holds
two integer keys and three numbers; the respondent's text is stored once per response (one per
export row of a wide export) and the provider/dimension/scale once per item.

A *response* is every distinct combination of the per-response columns and an *item* every
distinct combination of the per-item columns among the rows written, so any rows round-trip
exactly (a long export, one answer per source row, simply has one response per answer). Keys
are allocated inside the write's transaction (PostgreSQL: under a table lock, so two periods
written at once cannot take the same keys; DuckDB allows one writing process, and the primary
key refuses a clash): the period's previous range again when the new rows fit in it (writing the
same rows again gives the same keys), else the table's largest key + 1 onwards. A period's keys
are therefore one contiguous range, which lets a delete of one period skip the others' blocks.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy

from ice_pipeline.warehouse.bulk import _bulk_insert, _qualified
from ice_pipeline.warehouse.compute import CodedPeriod, uses_compute_copy, warehouse_fingerprint
from ice_pipeline.warehouse.schema import (
    survey_answers,
    survey_items,
    survey_ratings,
    survey_responses,
)

RESPONSE_COLUMNS = [c.name for c in survey_responses.columns if c.name != "response_key"]
ITEM_COLUMNS = [c.name for c in survey_items.columns if c.name != "item_key"]
ANSWER_COLUMNS = [c.name for c in survey_answers.columns if not c.name.endswith("_key")]
# The columns that usually tell responses (items) apart first: the others then cost one
# comparison each when they follow from them (see group_codes).
_IDENTIFYING_FIRST = {
    "responses": ["source_sha256", "source_row"]
    + [name for name in RESPONSE_COLUMNS if name not in ("source_sha256", "source_row")],
    "items": ["provider_department", "dimension"]
    + [name for name in ITEM_COLUMNS if name not in ("provider_department", "dimension")],
}


def is_coded(table: sqlalchemy.Table) -> bool:
    """Whether ``table`` is stored in the coded layout (writes go to the tables of this module)."""
    return table is survey_ratings


@dataclass
class CodedRows:
    """A period's ratings split into responses, items and answers, keyed from 0."""

    responses: pa.Table  # RESPONSE_COLUMNS, one row per response code 0..n-1
    items: pa.Table  # ITEM_COLUMNS, one row per item code 0..n-1
    response_codes: np.ndarray  # per rating: its response's code
    item_codes: np.ndarray  # per rating: its item's code
    values: pa.Table  # ANSWER_COLUMNS, per rating

    def keyed(self, response_base: int, item_base: int) -> tuple[pa.Table, pa.Table, pa.Table]:
        """Rows of survey_responses, survey_items and survey_answers, keys from the bases."""
        response_keys = np.arange(len(self.responses), dtype=np.int64) + response_base
        item_keys = np.arange(len(self.items), dtype=np.int64) + item_base
        responses = self.responses.add_column(0, "response_key", pa.array(response_keys))
        items = self.items.add_column(0, "item_key", pa.array(item_keys))
        answers = self.values.add_column(0, "item_key", pa.array(self.item_codes + item_base))
        answers = answers.add_column(
            0, "response_key", pa.array(self.response_codes + response_base)
        )
        return responses, items, answers


def _column_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a column's values (equal values, equal codes; NULL its own code)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    # Dictionary indices of a categorical: its categories are distinct; NULL becomes -1.
    return pc.fill_null(array.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for codes numbered in order of appearance (a row holds a
    new code exactly when its code exceeds every code before it).
    """
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))


def _follows_groups(column: pa.ChunkedArray, leaders: pa.Array) -> bool:
    """Whether every row's value equals the value on its group's first row (``leaders``: that
    row's index, per row); NULL equals NULL here.
    """
    values = column.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.indices  # one dictionary for the whole column: equal index, equal value
    reference = values.take(leaders)
    same = pc.if_else(
        pc.is_null(values), pc.is_null(reference), pc.fill_null(pc.equal(values, reference), False)
    )
    return bool(pc.all(same).as_py())


def group_codes(rows: pa.Table, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the code of its combination of ``names`` (0, 1, ... in order of first appearance),
    and the row index where each code first appears.

    A column whose value is the same on every row of each group found so far cannot split a
    group and costs one comparison instead of hashing: list the identifying columns first
    (``source_sha256, source_row`` for responses), and the columns that follow from them cost
    almost nothing. Codes are re-densified after each column, so they stay below rows x values.
    """
    codes = np.zeros(rows.num_rows, dtype=np.int64)
    first = _first_rows(codes)
    leaders = pa.array(np.zeros(rows.num_rows, dtype=np.int64))
    for name in names:
        column = rows.column(name)
        if rows.num_rows == 0 or _follows_groups(column, leaders):
            continue
        values = _column_codes(column) + 1  # NULL -> 0
        codes = pd.factorize(codes * (int(values.max()) + 1) + values)[0].astype(np.int64)
        first = _first_rows(codes)
        leaders = pa.array(first[codes])
    return codes, first


def encode(rows: pa.Table) -> CodedRows:
    """Split ``survey_ratings`` rows (all 15 columns, typed by ``bulk._frame_to_arrow``)."""
    response_codes, response_rows = group_codes(rows, _IDENTIFYING_FIRST["responses"])
    item_codes, item_rows = group_codes(rows, _IDENTIFYING_FIRST["items"])
    return CodedRows(
        responses=rows.select(RESPONSE_COLUMNS).take(pa.array(response_rows)),
        items=rows.select(ITEM_COLUMNS).take(pa.array(item_rows)),
        response_codes=response_codes,
        item_codes=item_codes,
        values=rows.select(ANSWER_COLUMNS),
    )


def _lock(connection: sqlalchemy.Connection) -> None:
    """PostgreSQL: writers of the coded tables take turns (keys are read, then allocated)."""
    if connection.dialect.name == "postgresql":
        # Self-conflicting, so concurrent writers of other periods wait; readers do not.
        connection.exec_driver_sql(
            f"LOCK TABLE {_qualified(connection, survey_responses)}, "
            f"{_qualified(connection, survey_items)} IN SHARE ROW EXCLUSIVE MODE"
        )


def _first_key(
    connection: sqlalchemy.Connection,
    table: sqlalchemy.Table,
    key: str,
    partition: Mapping[str, object],
    needed: int,
) -> int:
    """The first of ``needed`` consecutive keys for the partition's rows of ``table``.

    The period's own range again when the new rows fit in it (so writing the same rows twice
    gives the same keys, and keys do not grow with every rewrite), else the table's largest
    key + 1 onwards. A range is reused only while it is whole (its rows fill it), the
    invariant every write keeps; the keys are read before the period's rows are deleted.
    """
    name = _qualified(connection, table)
    low, high, count, top = connection.execute(
        sqlalchemy.text(
            f"SELECT min(p.{key}), max(p.{key}), count(*), (SELECT max({key}) FROM {name}) "  # noqa: S608
            f"FROM {name} p WHERE p.period = :period"
        ),
        {"period": partition.get("period")},
    ).one()
    if low is not None and high - low + 1 == count and needed <= count:
        return int(low)
    return int(top or 0) + 1


def _delete_period(connection: sqlalchemy.Connection, partition: Mapping[str, object]) -> None:
    """Delete the partition's answers, responses and items (``{}``: everything)."""
    answers = _qualified(connection, survey_answers)
    responses = _qualified(connection, survey_responses)
    items = _qualified(connection, survey_items)
    if not partition:
        for name in (answers, responses, items):
            connection.exec_driver_sql(f"DELETE FROM {name}")  # noqa: S608 (our table names)
        return
    period = {"period": partition["period"]}
    low, high, count = connection.execute(
        sqlalchemy.text(
            f"SELECT min(response_key), max(response_key), count(*) FROM {responses} "  # noqa: S608
            "WHERE period = :period"
        ),
        period,
    ).one()
    if low is not None:
        # A whole range (its rows fill it: every write keeps it so) holds this period's keys
        # only, and the range alone lets DuckDB's zone maps and PostgreSQL's BRIN index skip the
        # other periods; otherwise the subquery keeps the delete exact.
        exact = ""
        if high - low + 1 != count:
            exact = (
                f" AND response_key IN (SELECT response_key FROM {responses} "  # noqa: S608
                "WHERE period = :period)"
            )
        connection.execute(
            sqlalchemy.text(
                f"DELETE FROM {answers} WHERE response_key BETWEEN :low AND :high{exact}"  # noqa: S608
            ),
            {**period, "low": low, "high": high},
        )
    for name in (responses, items):
        connection.execute(
            sqlalchemy.text(f"DELETE FROM {name} WHERE period = :period"),  # noqa: S608
            period,
        )


def replace_coded_partition(
    connection: sqlalchemy.Connection, rows: pa.Table, partition: Mapping[str, object]
) -> CodedPeriod | None:
    """Replace the partition of ``survey_ratings`` by ``rows`` (checked, typed Arrow rows of its
    15 columns, all inside the partition) in the coded tables, on an open transaction.

    On PostgreSQL, returns the period's coded rows with the warehouse's fingerprint of them
    (taken in this transaction) for the compute copy written after the commit (``compute.py``).
    """
    unknown = set(partition) - {"period"}
    if unknown:
        raise ValueError(
            f"{survey_ratings.fullname} is replaced by period (or whole); not by {sorted(unknown)}"
        )
    coded = encode(rows)
    _lock(connection)
    response_base = _first_key(
        connection, survey_responses, "response_key", partition, len(coded.responses)
    )
    item_base = _first_key(connection, survey_items, "item_key", partition, len(coded.items))
    _delete_period(connection, partition)
    responses, items, answers = coded.keyed(response_base, item_base)
    _bulk_insert(connection, survey_items, items)
    _bulk_insert(connection, survey_responses, responses)
    _bulk_insert(connection, survey_answers, answers)
    _analyze(connection)
    if not uses_compute_copy(connection) or "period" not in partition:
        return None
    period = str(partition["period"])
    fingerprint = warehouse_fingerprint(connection, period)
    return CodedPeriod(period, items, responses, answers, fingerprint)


def _analyze(connection: sqlalchemy.Connection) -> None:
    """PostgreSQL: refresh the planner's statistics of the coded tables after a write.

    Without them (autovacuum has not run yet after a bulk COPY) PostgreSQL estimates one row per
    period and plans the index's moments query through the view as nested loops: an enterprise
    month took over ten minutes instead of seconds. ANALYZE samples ~30,000 rows per table
    (well under a second) and runs inside the write's transaction. DuckDB needs nothing.
    """
    if connection.dialect.name != "postgresql":
        return
    tables = ", ".join(
        _qualified(connection, table) for table in (survey_items, survey_responses, survey_answers)
    )
    connection.exec_driver_sql(f"ANALYZE {tables}")
