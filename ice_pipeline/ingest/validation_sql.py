"""The pandera contract of a canonical table, executed as SQL where the rows are (issue 13 item 3).

Belongs here: turning each pandera model of validation.py (the documented contract of every
canonical table) into SQL conditions, one per check, and running them in one scan of a table,
view or staged relation on DuckDB or PostgreSQL. The conditions are generated from the model's
own column specs (nullable, ``in_range``, ``ge``, ``isin``) and, for its custom checks, from
``CUSTOM_CHECKS`` keyed by the check's name: a check added to a model without a SQL spelling
raises ``UntranslatedCheck``, and the tests compare both executions on good and bad frames, so
the two cannot drift apart. Dtypes are not checked here: the warehouse's column types hold them.

Why: pandera on 2.4M survey ratings in pandas took 4-6 s; the same row checks as one DuckDB
query 0.16 s (../shared/STACK.md).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ice_pipeline.ingest.validation import (
    EXTERNAL_METRIC_RANGES,
    MODELS,
    PERIOD_PATTERN,
    SHA256_PATTERN,
    canonical_columns,
)

# How many failing rows a result keeps as examples.
EXAMPLES = 20
# Name of the key check: a window over the relation, not a per-row condition.
KEY_CHECK = "key_unique"

# (relation, connection) -> SQL boolean, true where a row FAILS
Condition = Callable[[Any, sa.Connection], Any]


class UntranslatedCheck(LookupError):
    """A pandera check with no SQL spelling: add it to CUSTOM_CHECKS (the tests will demand it)."""


def _failing(condition: Any) -> Any:
    """A failure only where the condition is true: a NULL comparison is not a failure."""
    return sa.func.coalesce(condition, sa.false())


def _on_columns(condition: Callable[[Any], Any]) -> Condition:
    """A condition written over the relation's columns (``c.score``)."""
    return lambda relation, _connection: condition(relation.c)


def _pattern(column: str, pattern: str) -> Condition:
    """Rows holding one of the column's distinct values that ``pattern`` does not match.

    As validation._matches does, the regex (Python's, the very one pandera runs) is applied
    once per distinct value: periods and file hashes repeat millions of times. In SQL,
    PostgreSQL pushed the regex below a DISTINCT and ran it on every row (500k ratings: 9.7 s
    against 0.3 s for the distinct values). Missing values are the not-nullable check's.
    """
    compiled = re.compile(pattern)

    def failing(relation: Any, connection: sa.Connection) -> Any:
        values = connection.execute(sa.select(relation.c[column]).distinct()).scalars()
        bad = [v for v in values if v is not None and not compiled.fullmatch(str(v))]
        return _failing(relation.c[column].in_(bad)) if bad else sa.false()

    return failing


def _metric_bound(c: Any, index: int) -> Any:
    return sa.case(
        *((c.metric == metric, bounds[index]) for metric, bounds in EXTERNAL_METRIC_RANGES.items())
    )


def _outside_metric_range(c: Any) -> Any:
    return _failing(sa.or_(c.value < _metric_bound(c, 0), c.value > _metric_bound(c, 1)))


def _interval_excludes_value(c: Any) -> Any:
    return sa.or_(
        _failing(c.value_ci_low > c.value + 1e-9), _failing(c.value_ci_high < c.value - 1e-9)
    )


# The models' custom checks by name: (column check) pattern, (dataframe check) row condition.
CUSTOM_CHECKS: dict[str, Callable[[str | None], Condition]] = {
    "period_format": lambda column: _pattern(str(column), PERIOD_PATTERN),
    "sha256_format": lambda column: _pattern(str(column), SHA256_PATTERN),
    # pandas: (raw >= min) & (raw <= max) is False on a missing value, so the row fails.
    "rating_within_scale": lambda _: _on_columns(
        lambda c: sa.not_(
            _failing(sa.and_(c.rating_raw >= c.scale_min, c.rating_raw <= c.scale_max))
        )
    ),
    "resolved_after_opened": lambda _: _on_columns(lambda c: _failing(c.resolved_at < c.opened_at)),
    "terminated_after_hired": lambda _: _on_columns(
        lambda c: _failing(c.termination_date < c.hire_date)
    ),
    "value_within_range": lambda _: _on_columns(_outside_metric_range),
    "interval_holds_value": lambda _: _on_columns(_interval_excludes_value),
}


@dataclass(frozen=True)
class RowCheck:
    """One check of the contract: pandera's check name, its column (None: whole row), SQL."""

    name: str
    column: str | None
    failing: Condition


def _builtin(name: str, column: str, stats: dict[str, Any]) -> Condition:
    if name == "greater_than_or_equal_to":
        return _on_columns(lambda c: _failing(c[column] < stats["min_value"]))
    if name == "in_range" and stats.get("include_min", True) and stats.get("include_max", True):
        return _on_columns(
            lambda c: _failing(
                sa.or_(c[column] < stats["min_value"], c[column] > stats["max_value"])
            )
        )
    if name == "isin":
        return _on_columns(lambda c: _failing(c[column].not_in(list(stats["allowed_values"]))))
    raise UntranslatedCheck(f"pandera check {name!r} on {column!r} has no SQL spelling")


def row_checks(table_name: str) -> list[RowCheck]:
    """Every row check of the table's pandera model, as SQL conditions (key check excluded)."""
    model = MODELS[table_name].to_schema()
    checks: list[RowCheck] = []
    for column, spec in model.columns.items():
        if not spec.nullable:
            checks.append(
                RowCheck(
                    "not_nullable", column, _on_columns(lambda c, col=column: c[col].is_(None))
                )
            )
        for check in spec.checks:
            if check.name in CUSTOM_CHECKS:
                condition = CUSTOM_CHECKS[check.name](column)
            else:
                condition = _builtin(check.name, column, dict(check.statistics or {}))
            checks.append(RowCheck(check.name, column, condition))
    for check in model.checks:
        if check.name == KEY_CHECK:
            continue
        if check.name not in CUSTOM_CHECKS:
            raise UntranslatedCheck(f"pandera check {check.name!r} of {table_name} has no SQL")
        checks.append(RowCheck(check.name, None, CUSTOM_CHECKS[check.name](None)))
    return checks


def key_columns(table_name: str) -> list[str]:
    """The key the model's ``key_unique`` check holds unique (the table's primary key)."""
    from ice_pipeline.ingest.validation import _KEYS

    return list(_KEYS[table_name])


@dataclass(frozen=True)
class ContractResult:
    """Failures per check (``column:check`` or ``check``) and a few failing rows' ids."""

    rows: int
    failures: dict[str, int]
    examples: list[tuple[Any, str]]  # (row id, failed check)

    @property
    def passed(self) -> bool:
        return not any(self.failures.values())


def _label(check: RowCheck) -> str:
    return f"{check.column}:{check.name}" if check.column else check.name


def check_contract(
    connection: sa.Connection,
    table_name: str,
    relation: sa.FromClause,
    *,
    row_id: str | None = None,
    keys: bool = True,
) -> ContractResult:
    """Run the table's contract over ``relation`` in one scan (plus the key check's).

    ``relation`` has the canonical columns (a table, view or staged SELECT); ``row_id`` names a
    column that orders its rows and identifies them in the examples (with it, the key check
    fails every repeat of a key after the first, as pandas' ``duplicated(keep="first")``).
    Pattern checks first read their column's distinct values (see ``_pattern``).
    """
    checks = row_checks(table_name)
    conditions = [check.failing(relation, connection) for check in checks]
    rows_query = sa.select(
        sa.func.count(), *(sa.func.count().filter(condition) for condition in conditions)
    ).select_from(relation)
    total, *counts = connection.execute(rows_query).one()
    failures = {_label(check): int(n) for check, n in zip(checks, counts, strict=True)}
    examples: list[tuple[Any, str]] = []
    if row_id is not None and any(counts):
        flags = [condition.label(f"f{i}") for i, condition in enumerate(conditions)]
        shown = (
            sa.select(relation.c[row_id], *flags)
            .where(sa.or_(*conditions))
            .order_by(relation.c[row_id])
            .limit(EXAMPLES)
        )
        for row in connection.execute(shown):
            examples.extend((row[0], _label(checks[i])) for i, hit in enumerate(row[1:]) if hit)
    if keys:
        repeats, key_examples = _key_repeats(connection, table_name, relation, row_id)
        failures[KEY_CHECK] = repeats
        examples.extend((row, KEY_CHECK) for row in key_examples)
    return ContractResult(int(total), failures, examples)


def _key_repeats(
    connection: sa.Connection, table_name: str, relation: sa.FromClause, row_id: str | None
) -> tuple[int, list[Any]]:
    """Rows repeating a key after its first row (by ``row_id``), and a few of their ids."""
    c = relation.c
    keys = [c[k] for k in key_columns(table_name)]
    order = [c[row_id]] if row_id else keys
    ranked = sa.select(
        *([c[row_id]] if row_id else []),
        sa.func.row_number().over(partition_by=keys, order_by=order).label("key_rank"),
    ).subquery()
    repeats = connection.execute(
        sa.select(sa.func.count()).where(ranked.c.key_rank > 1)
    ).scalar_one()
    if not repeats or row_id is None:
        return int(repeats or 0), []
    shown = (
        sa.select(ranked.c[row_id])
        .where(ranked.c.key_rank > 1)
        .order_by(ranked.c[row_id])
        .limit(EXAMPLES)
    )
    return int(repeats), list(connection.execute(shown).scalars())


def canonical_relation(table_name: str, schema_name: str | None) -> sa.TableClause:
    """The stored canonical table (or the view standing for it), by name."""
    columns = (sa.column(name) for name in canonical_columns(table_name))
    return sa.table(table_name, *columns, schema=schema_name)
