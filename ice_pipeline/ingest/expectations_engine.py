"""What the expectation suites ask of the warehouse when they run where the data is.

Belongs here: the SQL (SQLAlchemy Core, no hand-built strings) that gives a suite its inputs
without reading the rows back into Python: the period's query for GX's SQL data source, the
previous period's row count and latest dates, duplicate keys, and the HR roster's departments.
Tables are queried by name and column names only, so a canonical table that becomes a view
(survey_ratings over the coded tables) is read the same way.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ice_pipeline.ingest.expectations_plan import FRESHNESS_COLUMNS, KEYS, PeriodSummary

# How many duplicate keys a failed key check shows as examples (as the pandas path does).
EXAMPLES = 5


@dataclass(frozen=True)
class KeyCheck:
    """Duplicate keys of one period: how many rows repeat a key, and a few of those keys."""

    rows: int
    duplicate_rows: int
    examples: list[str]


def _schema_table(table_name: str) -> sa.Table:
    from ice_pipeline.warehouse import schema

    return next(t for t in schema.metadata.tables.values() if t.name == table_name)


def relation(table_name: str, columns: list[str]) -> sa.TableClause:
    """``table_name`` (table or view) with just ``columns``, in its warehouse schema."""
    return sa.table(
        table_name, *(sa.column(c) for c in columns), schema=_schema_table(table_name).schema
    )


def column_names(table_name: str) -> list[str]:
    """The canonical table's columns, as the schema of record names them."""
    return list(_schema_table(table_name).columns.keys())


def period_column(table_name: str) -> str:
    return "snapshot_period" if table_name == "employees" else "period"


def _where(table: sa.TableClause, table_name: str, period: str | None) -> Any:
    """The period's rows (the roster is one snapshot: all of it)."""
    if table_name == "employees" or period is None:
        return sa.true()
    return table.c.period == period


def period_query(engine: sa.Engine, table_name: str, period: str | None, columns: list[str]) -> str:
    """The SELECT of ``columns`` for the period, as literal SQL for a GX query asset.

    GX query assets take SQL text, not bound parameters; the period is rendered by SQLAlchemy's
    literal rendering for the dialect (quoted), never pasted into the string by hand.
    """
    table = relation(table_name, list(dict.fromkeys([*columns, period_column(table_name)])))
    query = sa.select(*(table.c[c] for c in columns)).where(_where(table, table_name, period))
    return str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def summarise_period(engine: sa.Engine, table_name: str, period: str) -> PeriodSummary:
    """Row count and latest freshness date of ``period`` in the warehouse, in one query."""
    column = FRESHNESS_COLUMNS.get(table_name)
    table = relation(table_name, ["period", *([column] if column else [])])
    selected = [sa.func.count()]
    if column:
        selected.append(sa.func.max(table.c[column]))
    with engine.connect() as connection:
        row = connection.execute(sa.select(*selected).where(table.c.period == period)).one()
    latest = _as_datetime(row[1]) if column else None
    return PeriodSummary(period, int(row[0]), {column: latest} if column else {})


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def snapshot_period(engine: sa.Engine) -> str:
    """The roster's snapshot period ('' when there is no roster)."""
    table = relation("employees", ["snapshot_period"])
    with engine.connect() as connection:
        latest = connection.execute(sa.select(sa.func.max(table.c.snapshot_period))).scalar()
    return "" if latest is None else str(latest)


def key_check(engine: sa.Engine, table_name: str, period: str | None) -> KeyCheck:
    """Rows and duplicate keys of the period: one GROUP BY over the key columns.

    ``duplicate_rows`` counts the rows beyond the first of each key, as
    ``DataFrame.duplicated(keep="first")`` does; the examples are the first repeated keys in
    key order (the pandas path shows them in row order).
    """
    keys = KEYS[table_name]
    table = relation(table_name, keys)
    grouped = (
        sa.select(*(table.c[k] for k in keys), sa.func.count().label("n"))
        .where(_where(table, table_name, period))
        .group_by(*(table.c[k] for k in keys))
        .subquery()
    )
    totals = sa.select(
        sa.func.coalesce(sa.func.sum(grouped.c.n), 0),
        sa.func.coalesce(sa.func.sum(grouped.c.n - 1), 0),
    )
    examples = (
        sa.select(*(grouped.c[k] for k in keys))
        .where(grouped.c.n > 1)
        .order_by(*(grouped.c[k] for k in keys))
        .limit(EXAMPLES)
    )
    with engine.connect() as connection:
        rows, duplicates = connection.execute(totals).one()
        shown = connection.execute(examples).all() if duplicates else []
    return KeyCheck(int(rows), int(duplicates), [" / ".join(str(v) for v in row) for row in shown])


def contract_check(engine: sa.Engine, table_name: str, period: str | None) -> Any:
    """The period's rows against the table's pandera contract, as SQL (validation_sql.py).

    The key check is left out: ``key_check`` above counts the same duplicates for the suite.
    """
    from ice_pipeline.ingest.validation import canonical_columns
    from ice_pipeline.ingest.validation_sql import check_contract

    table = relation(table_name, canonical_columns(table_name))
    rows = sa.select(table).where(_where(table, table_name, period)).subquery()
    with engine.connect() as connection:
        return check_contract(connection, table_name, rows, keys=False)


def known_departments(engine: sa.Engine) -> set[str]:
    """The HR roster's departments, read as their distinct values."""
    table = relation("employees", ["department"])
    query = sa.select(table.c.department).where(table.c.department.is_not(None)).distinct()
    with engine.connect() as connection:
        return {str(v) for v in connection.execute(query).scalars()}
