"""great-expectations suites per canonical table: the checks pandera's row checks cannot make.

Belongs here: running a table's suite (planned in expectations_plan.py: volume against the
previous period, null rates, value sets, score bounds, freshness, duplicate keys, departments
unknown to HR) and shaping its results into plain ``CheckOutcome`` records that the Dagster
layer turns into ``AssetCheckResult``s; and ``build_data_docs``. Row-level validation is
validation.py; GX contexts, data sources and locks are gx_context.py.

Two ways to run the same plan (issue 13 item 3):
- ``run_suite_in_warehouse``, the nightly path: GX's SQL data source runs the expectations as
  SQL where the rows are (DuckDB file or PostgreSQL); the previous period, the duplicate keys and
  the roster's departments are small SQL aggregates (expectations_engine.py). Nothing is read
  back into pandas: on 2.4M survey ratings that read alone took ~3.8 s. On a PostgreSQL
  warehouse the survey ratings' row-level work runs on the period's local DuckDB compute copy
  instead (``suite_rows``; 12.8 s of an enterprise month in PostgreSQL), with the same outcomes
  as a DuckDB warehouse's.
- ``run_suite`` on a pandas frame: for frames that are not (yet) stored, and the tests.
GX is imported lazily (about 3-5 s, mostly scipy.stats), keeps everything on disk under
``gx_dir`` (or in memory), draws no progress bars and makes no network calls.
"""

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ice_pipeline.ingest.expectations_plan import (
    FRESHNESS_COLUMNS,
    FRESHNESS_DAYS,
    KEYS,
    MAX_NULL_RATE,
    TABLES,
    VOLUME_HIGH_RATIO,
    VOLUME_LOW_RATIO,
    PeriodSummary,
    Planned,
    period_bounds,
    plan_suite,
)
from ice_pipeline.ingest.gx_context import (
    DATA_DOCS_SITE,
    context_for,
    exclusive,
    gx_disk_guard,
    open_context,
    pages_to_draw,
    pandas_batch_definition,
    persist_duckdb_connections,
    release_warehouse,
    sql_batch_definition,
    stored_definition,
    stored_suite,
)

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy

log = logging.getLogger(__name__)

# Names the tests and older callers import from here.
_context, _open_context = context_for, open_context
__all__ = [
    "DATA_DOCS_SITE",
    "FRESHNESS_DAYS",
    "KEYS",
    "MAX_NULL_RATE",
    "TABLES",
    "VOLUME_HIGH_RATIO",
    "VOLUME_LOW_RATIO",
    "CheckOutcome",
    "build_data_docs",
    "period_bounds",
    "persist_duckdb_connections",
    "run_suite",
    "run_suite_in_warehouse",
]
# The columns of GX's result kept as check metadata.
_RESULT_KEYS = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
    "partial_unexpected_list",
)


@dataclass
class CheckOutcome:
    """The result of one expectation, shaped for a Dagster ``AssetCheckResult``."""

    check_name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _check_table(table_name: str) -> None:
    if table_name not in TABLES:
        raise ValueError(
            f"no expectation suite for table {table_name!r}; known: {', '.join(TABLES)}"
        )


def summarise_frame(previous: "pd.DataFrame | None") -> PeriodSummary | None:
    """The previous period's rows as the plan needs them (row count, latest dates)."""
    import pandas as pd

    if previous is None:
        return None
    period = None
    if "period" in previous.columns and not previous["period"].isna().all():
        period = str(previous["period"].dropna().iloc[0])
    latest: dict[str, Any] = {}
    for column in set(FRESHNESS_COLUMNS.values()) & set(previous.columns):
        value = pd.to_datetime(previous[column], errors="coerce").max()
        latest[column] = None if pd.isna(value) else value.to_pydatetime()
    return PeriodSummary(period, len(previous), latest)


def _plan(
    table_name: str,
    frame: "pd.DataFrame",
    previous: "pd.DataFrame | None",
    known_departments: set[str] | None,
    known_dimensions: set[str] | None,
    period: str,
    freshness_days: int,
) -> list[Planned]:
    """The pandas path's plan (``frame`` is unused: kept for the callers' signature)."""
    del frame
    summary = summarise_frame(previous)
    return plan_suite(
        table_name, summary, known_departments, known_dimensions, period, freshness_days
    )


def _keys_unique(frame: "pd.DataFrame", keys: list[str]) -> tuple[bool, dict[str, Any]]:
    repeated = frame.duplicated(keys, keep="first")
    shown = frame.loc[repeated, keys].head(5).astype(str)
    examples = [" / ".join(row) for row in shown.itertuples(index=False, name=None)]
    return not bool(repeated.any()), {"duplicate_rows": int(repeated.sum()), "examples": examples}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return str(value)


def _decided_without_gx(
    plans: list[Planned], period: str, rows: int, key_details: Any
) -> dict[str, CheckOutcome]:
    """Outcomes of the skipped checks and of the key check (``key_details()``: passed, details)."""
    outcomes: dict[str, CheckOutcome] = {}
    for plan in plans:
        if plan.key_check:
            passed, details = key_details()
            metadata = {"period": period, "rows": rows, **details}
            outcomes[plan.check_name] = CheckOutcome(
                plan.check_name, passed, plan.blocking, plan.description, metadata
            )
        elif plan.expectation is None:
            outcomes[plan.check_name] = CheckOutcome(
                plan.check_name,
                True,
                plan.blocking,
                plan.description,
                {"skipped": plan.skipped, "period": period},
            )
    return outcomes


def _used_columns(runnable: list[Planned], columns: list[str]) -> list[str]:
    """The columns the expectations read: GX copies and profiles what it is given."""
    return [
        c
        for c in columns
        if any(
            getattr(p.expectation, "column", None) == c
            or c in str(getattr(p.expectation, "row_condition", None) or "")
            for p in runnable
        )
    ]


def _validate(
    context: Any, table_name: str, period: str, batch: Any, runnable: list[Planned], **params: Any
) -> Any:
    """Run the plans' expectations on ``batch`` as the table's suite, stored in ``context``."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    # Expectations given to the constructor: add_expectation looked the suite up in the
    # store and compared it with every expectation already added, once per expectation.
    suite = gx.ExpectationSuite(
        name=f"ice_{table_name}", expectations=[plan.expectation for plan in runnable]
    )
    suite = stored_suite(context, suite)
    definition = stored_definition(context, f"ice_{table_name}", batch, suite)
    return definition.run(
        result_format="SUMMARY", run_id=RunIdentifier(run_name=f"{table_name}-{period}"), **params
    )


def _gx_outcomes(
    result: Any, runnable: list[Planned], period: str, rows: int
) -> dict[str, CheckOutcome]:
    outcomes: dict[str, CheckOutcome] = {}
    for item in result.results:
        name = item.expectation_config.meta.get("check_name")
        plan = next(p for p in runnable if p.check_name == name)
        details = item.result or {}
        metadata: dict[str, Any] = {"period": period, "rows": rows}
        for key in _RESULT_KEYS:
            if key in details:
                metadata[key] = _json_value(details[key])
        if "partial_unexpected_list" in metadata:
            # Distinct examples read better than twenty copies of the same value.
            metadata["partial_unexpected_list"] = list(
                dict.fromkeys(map(str, metadata["partial_unexpected_list"]))
            )
        if item.exception_info and item.exception_info.get("raised_exception"):
            metadata["error"] = str(item.exception_info.get("exception_message"))
        outcomes[name] = CheckOutcome(
            name, bool(item.success), plan.blocking, plan.description, metadata
        )
    return outcomes


def run_suite(
    table_name: str,
    frame: "pd.DataFrame",
    *,
    previous: "pd.DataFrame | None",
    known_departments: set[str] | None,
    period: str,
    gx_dir: Path | None,
    known_dimensions: set[str] | None = None,
    freshness_days: int = FRESHNESS_DAYS,
) -> list[CheckOutcome]:
    """Run the table's expectation suite on one period's rows in pandas; one outcome per check.

    ``previous`` is the previous period's rows (volume check), ``known_departments`` the HR
    roster's departments (reference checks), ``known_dimensions`` the dimension names of the
    survey mapping. A check that cannot run (no previous period, no roster) passes with
    ``metadata['skipped']`` saying why. With ``gx_dir`` the suite and results are kept there
    for ``build_data_docs``; without it GX runs in memory.
    """
    _check_table(table_name)
    plans = _plan(
        table_name, frame, previous, known_departments, known_dimensions, period, freshness_days
    )
    outcomes = _decided_without_gx(
        plans, period, len(frame), lambda: _keys_unique(frame, KEYS[table_name])
    )
    runnable = [p for p in plans if p.expectation is not None]
    if runnable:
        with gx_disk_guard(gx_dir), exclusive(gx_dir), warnings.catch_warnings():
            context = context_for(gx_dir)
            warnings.simplefilter("ignore")
            batch = pandas_batch_definition(context, table_name, keep=gx_dir is not None)
            used = _used_columns(runnable, list(frame.columns))
            data = frame[used] if used else frame.iloc[:, :1]
            result = _validate(
                context, table_name, period, batch, runnable, batch_parameters={"dataframe": data}
            )
        outcomes.update(_gx_outcomes(result, runnable, period, len(frame)))
    return [outcomes[p.check_name] for p in plans]


# The tables whose period rows a PostgreSQL warehouse's compute copy holds (compute.py copies
# the coded survey tables and builds the survey_ratings view over them; comments, tickets and
# the rest are only in the warehouse, and small).
_IN_COMPUTE_COPY = ("survey_ratings",)


@contextmanager
def suite_rows(
    engine: "sqlalchemy.Engine", table_name: str, period: str | None
) -> "Iterator[sqlalchemy.Engine]":
    """The engine a suite reads the period's rows from (issue 13 item 5).

    On PostgreSQL the survey ratings' row-level work (GX's expectations, the key check, the
    contract's row checks: ~12.8 s of an enterprise month there) runs on the period's local
    DuckDB copy (``warehouse.compute.period_compute``, checked against the warehouse and rebuilt
    if stale, as for the index), which the index and key drivers read too; every other table
    and every DuckDB warehouse: the warehouse itself.
    """
    import duckdb

    from ice_pipeline.warehouse.compute import period_compute, uses_compute_copy

    if period is None or table_name not in _IN_COMPUTE_COPY or not uses_compute_copy(engine):
        yield engine
        return
    with ExitStack() as stack:
        try:
            rows = stack.enter_context(period_compute(engine, period))
        except (OSError, duckdb.Error) as err:
            # A copy that cannot be made (disk full, permissions) costs speed, not the check:
            # the suite then reads the warehouse, as it did before the copy existed.
            log.warning("survey suite of %s reads PostgreSQL: no compute copy (%s)", period, err)
            rows = engine
        yield rows


def run_suite_in_warehouse(
    table_name: str,
    engine: "sqlalchemy.Engine",
    *,
    period: str | None,
    previous_period: str | None,
    gx_dir: Path | None,
    known_departments: set[str] | None = None,
    known_dimensions: set[str] | None = None,
    freshness_days: int = FRESHNESS_DAYS,
    rows: "sqlalchemy.Engine | None" = None,
) -> list[CheckOutcome]:
    """Run the table's suite where its rows are stored, through GX's SQL data source.

    The same plan and outcomes as :func:`run_suite` on the rows read back (tested on both
    engines), without reading them back. ``period`` None (the roster) checks the whole table at
    its latest snapshot period. ``known_departments`` None reads the roster's departments.
    ``rows``: the engine holding the period's rows, the warehouse itself or a DuckDB compute copy
    (None: :func:`suite_rows` chooses). The
    previous period's summary and the roster's departments, small aggregates the copy does not
    hold, are always read from the warehouse ``engine``.
    """
    from ice_pipeline.ingest import expectations_engine as sql

    _check_table(table_name)
    if table_name == "employees":
        period, previous = sql.snapshot_period(engine), None
    elif period is None:
        raise ValueError(f"the suite of {table_name} runs for one period; none was given")
    else:
        previous = sql.summarise_period(engine, table_name, previous_period or "")
    if known_departments is None:
        known_departments = sql.known_departments(engine)
    plans = plan_suite(
        table_name,
        previous,
        known_departments,
        known_dimensions,
        period,
        freshness_days,
        in_sql=True,
    )
    if rows is not None:
        return _run_on_rows(table_name, rows, plans, period, gx_dir, copy=rows is not engine)
    with suite_rows(engine, table_name, period) as chosen:
        return _run_on_rows(table_name, chosen, plans, period, gx_dir, copy=chosen is not engine)


def _run_on_rows(
    table_name: str,
    rows: "sqlalchemy.Engine",
    plans: list[Planned],
    period: str,
    gx_dir: Path | None,
    *,
    copy: bool,
) -> list[CheckOutcome]:
    """The plan's row-level checks (keys, GX, contract) on the engine holding the rows.

    ``copy``: ``rows`` is a compute copy, not the warehouse; GX reads it read-only (other steps
    and processes read the same file) through its one stable data source (gx_context.py).
    """
    from ice_pipeline.ingest import expectations_engine as sql

    key = sql.key_check(rows, table_name, period)
    outcomes = _decided_without_gx(
        plans,
        period,
        key.rows,
        lambda: (
            key.duplicate_rows == 0,
            {"duplicate_rows": key.duplicate_rows, "examples": key.examples},
        ),
    )
    runnable = [p for p in plans if p.expectation is not None]
    if runnable:
        columns = sql.column_names(table_name)
        used = _used_columns(runnable, columns) or KEYS[table_name][:1]
        query = sql.period_query(rows, table_name, period, used)
        url = rows.url.render_as_string(hide_password=False)
        with gx_disk_guard(gx_dir), exclusive(gx_dir), warnings.catch_warnings():
            context = context_for(gx_dir)
            warnings.simplefilter("ignore")
            batch = sql_batch_definition(context, url, table_name, query, copy=copy)
            try:
                result = _validate(context, table_name, period, batch, runnable)
            finally:
                release_warehouse(context, url, copy=copy)
        outcomes.update(_gx_outcomes(result, runnable, period, key.rows))
    return [outcomes[p.check_name] for p in plans] + [_contract_outcome(rows, table_name, period)]


CONTRACT_CHECK = "rows_meet_contract"


def _contract_outcome(engine: "sqlalchemy.Engine", table_name: str, period: str) -> CheckOutcome:
    """The pandera contract's row checks run as SQL on the stored period (warehouse path only).

    Ingest validated these rows before storing them; re-checking them where they are costs one
    scan and holds whatever wrote the table (a SQL staging path too) to the same contract. It
    warns rather than blocks: the suite's blocking expectations already stop delivery on the
    defects that would make the index wrong, and one defect must not count as two.
    """
    from ice_pipeline.ingest import expectations_engine as sql

    result = sql.contract_check(engine, table_name, None if table_name == "employees" else period)
    failed = {label: n for label, n in result.failures.items() if n}
    return CheckOutcome(
        f"{table_name}_{CONTRACT_CHECK}",
        result.passed,
        False,
        f"every row meets the {table_name} contract (the pandera model's row checks, run in "
        "the warehouse)",
        {"period": period, "rows": result.rows, "failed_checks": failed},
    )


def build_data_docs(gx_dir: Path) -> Path | None:
    """Render GX Data Docs of all stored suites and results into ``gx_dir/data_docs``; its index.

    Only the pages not drawn yet (new results) and the suites' pages are rendered, then the
    index (see :func:`~ice_pipeline.ingest.gx_context.pages_to_draw`).
    """
    if not (Path(gx_dir) / "gx").is_dir():
        return None
    with gx_disk_guard(Path(gx_dir)), exclusive(Path(gx_dir)), warnings.catch_warnings():
        context = context_for(Path(gx_dir))
        warnings.simplefilter("ignore")
        context.build_data_docs(
            site_names=[DATA_DOCS_SITE], resource_identifiers=pages_to_draw(context, gx_dir)
        )
    index = Path(gx_dir).resolve() / "data_docs" / "index.html"
    return index if index.is_file() else None
