"""great-expectations suites per canonical table: the checks pandera's row checks cannot make.

Belongs here: what a whole period of a table must look like (volume against the previous period,
null rates, value sets, score bounds, freshness, duplicate keys, departments unknown to HR), run
with GX's pandas data source on DataFrames (GX cannot validate DuckDB through SQLAlchemy; see
../shared/STACK.md), returned as plain ``CheckOutcome`` records that the Dagster layer turns into
``AssetCheckResult``s; and ``build_data_docs``. Row-level validation is validation.py.

Blocking checks are those where publishing would spread wrong numbers (scores out of range,
duplicate keys, values outside their enumeration); the others warn. GX is imported lazily
(about 4-5 s, mostly scipy.stats), keeps everything on disk under ``gx_dir`` (or in memory),
draws no progress bars and makes no network calls (1.24 has no analytics module; the
environment switch below is belt and braces).
"""

import fcntl
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ice_pipeline.ingest.validation import (
    EXTERNAL_METRIC_RANGES,
    EXTERNAL_METRICS,
    TERMINATION_TYPES,
    TICKET_PRIORITIES,
)

TABLES = ("survey_ratings", "survey_comments", "tickets", "employees", "external_metrics")
KEYS = {
    "survey_ratings": ["period", "respondent_id", "provider_department", "dimension"],
    "survey_comments": ["period", "respondent_id", "provider_department"],
    "tickets": ["period", "ticket_id"],
    "employees": ["snapshot_period", "employee_id"],
    "external_metrics": ["period", "business_unit", "metric"],
}
VOLUME_LOW_RATIO = 0.5
VOLUME_HIGH_RATIO = 2.0
MAX_NULL_RATE = 0.05
FRESHNESS_DAYS = 7
DATA_DOCS_SITE = "ice_local_site"


@dataclass
class CheckOutcome:
    """The result of one expectation, shaped for a Dagster ``AssetCheckResult``."""

    check_name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Planned:
    check_name: str
    blocking: bool
    description: str
    expectation: Any  # a GX expectation, or None for a check decided without GX
    skipped: str | None = None
    local: Callable[[pd.DataFrame], tuple[bool, dict[str, Any]]] | None = None


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a ``YYYY-MM`` or ``YYYY-Qn`` period."""
    year = int(period[:4])
    if "Q" in period:
        quarter = int(period[-1])
        start = datetime(year, 3 * quarter - 2, 1)
        months = 3
    else:
        start = datetime(year, int(period[5:7]), 1)
        months = 1
    month_index = start.month - 1 + months
    end = datetime(year + month_index // 12, month_index % 12 + 1, 1)
    return start, end


def _reach_into_period(previous: pd.DataFrame | None, column: str) -> timedelta | None:
    """How far past its period's start the previous period's latest ``column`` value was."""
    if previous is None or previous.empty or column not in previous.columns:
        return None
    latest = pd.to_datetime(previous[column], errors="coerce").max()
    if pd.isna(latest) or "period" not in previous.columns or previous["period"].isna().all():
        return None
    previous_start, _ = period_bounds(str(previous["period"].dropna().iloc[0]))
    return latest.to_pydatetime().replace(tzinfo=None) - previous_start


def _plan(
    table_name: str,
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    known_departments: set[str] | None,
    known_dimensions: set[str] | None,
    period: str,
    freshness_days: int,
) -> list[_Planned]:
    import great_expectations.expectations as gxe

    plans: list[_Planned] = []

    def add(name: str, blocking: bool, description: str, expectation: Any) -> None:
        expectation.meta = {"check_name": name}
        plans.append(_Planned(name, blocking, description, expectation))

    def skip(name: str, blocking: bool, description: str, why: str) -> None:
        plans.append(_Planned(name, blocking, description, None, skipped=why))

    # Volume against the previous period.
    volume = f"{table_name}_volume_vs_previous_period"
    volume_text = (
        f"row count within {VOLUME_LOW_RATIO:g}x-{VOLUME_HIGH_RATIO:g}x of the previous period's"
    )
    if previous is None or len(previous) == 0:
        skip(volume, False, volume_text, "no previous period to compare with")
    else:
        add(
            volume,
            False,
            volume_text,
            gxe.ExpectTableRowCountToBeBetween(
                min_value=math.ceil(VOLUME_LOW_RATIO * len(previous)),
                max_value=math.floor(VOLUME_HIGH_RATIO * len(previous)),
            ),
        )

    # Key uniqueness runs in pandas: GX's compound-uniqueness expectation took 4 s of CPU on 2.5M
    # survey ratings where DataFrame.duplicated takes about 0.5 s.
    plans.append(
        _Planned(
            f"{table_name}_key_unique",
            True,
            f"no two rows share the key ({', '.join(KEYS[table_name])})",
            None,
            local=lambda data: _keys_unique(data, KEYS[table_name]),
        )
    )

    def in_set(
        name: str, column: str, values: set[str] | list[Any], blocking: bool, text: str
    ) -> None:
        add(
            name,
            blocking,
            text,
            gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)),
        )

    def references(columns: list[str]) -> None:
        for column in columns:
            name = f"{table_name}_{column}_known_to_hr"
            text = f"every {column} is a department in the HR roster"
            if known_departments:
                in_set(name, column, known_departments, False, text)
            else:
                skip(name, False, text, "no HR departments known")

    def freshness(column: str) -> None:
        # A feed is stale when its rows stop earlier in the period than they did in the previous
        # one (an export taken before the survey wave closed, a ticket feed that stopped). A
        # fixed distance from the period end would fail every survey wave that closes mid-month.
        start, end = period_bounds(period)
        name = f"{table_name}_{column}_fresh"
        reach = _reach_into_period(previous, column)
        if reach is None:
            earliest = start
            text = f"the latest {column} falls within the period (no previous period to compare)"
        else:
            earliest = min(max(start + reach - timedelta(days=freshness_days), start), end)
            text = (
                f"the latest {column} reaches {earliest:%Y-%m-%d} or later: no more than "
                f"{freshness_days} days short of how far into its period the previous period's "
                "data reached"
            )
        add(
            name,
            False,
            text,
            gxe.ExpectColumnMaxToBeBetween(column=column, min_value=earliest, max_value=end),
        )

    def null_rate(column: str) -> None:
        add(
            f"{table_name}_{column}_null_rate",
            False,
            f"{column} is missing in under {MAX_NULL_RATE:.0%} of rows",
            gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=1 - MAX_NULL_RATE),
        )

    if table_name == "survey_ratings":
        add(
            "survey_ratings_score_0_100",
            True,
            "every score is within 0-100",
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100),
        )
        name, text = "survey_ratings_dimension_known", "every dimension is one the mapping names"
        if known_dimensions:
            in_set(name, "dimension", known_dimensions, False, text)
        else:
            skip(name, False, text, "no dimension names given")
        null_rate("responded_at")
        freshness("responded_at")
        references(["consumer_department"])
    elif table_name == "survey_comments":
        references(["consumer_department"])
    elif table_name == "tickets":
        in_set("tickets_priority_1_5", "priority", TICKET_PRIORITIES, True, "every priority is 1-5")
        add(
            "tickets_satisfaction_1_5",
            True,
            "every satisfaction score is within 1-5",
            gxe.ExpectColumnValuesToBeBetween(column="satisfaction", min_value=1, max_value=5),
        )
        add(
            "tickets_resolution_hours_not_negative",
            True,
            "no ticket is resolved before it was opened",
            gxe.ExpectColumnValuesToBeBetween(column="resolution_hours", min_value=0),
        )
        null_rate("consumer_department")
        freshness("opened_at")
        references(["provider_department", "consumer_department"])
    elif table_name == "employees":
        in_set(
            "employees_termination_type_known",
            "termination_type",
            TERMINATION_TYPES,
            True,
            "every termination type is voluntary or involuntary",
        )
        null_rate("department")
    elif table_name == "external_metrics":
        in_set(
            "external_metrics_metric_known",
            "metric",
            EXTERNAL_METRICS,
            True,
            "every metric is nps or csat_pct",
        )
        for metric, (low, high) in EXTERNAL_METRIC_RANGES.items():
            add(
                f"external_metrics_{metric}_in_range",
                True,
                f"every {metric} value is within {low:g}-{high:g}",
                gxe.ExpectColumnValuesToBeBetween(
                    column="value",
                    min_value=low,
                    max_value=high,
                    row_condition=f'metric=="{metric}"',
                    condition_parser="pandas",
                ),
            )
        add(
            "external_metrics_n_responses_positive",
            True,
            "every metric has at least one response",
            gxe.ExpectColumnValuesToBeBetween(column="n_responses", min_value=1),
        )
    return plans


def _keys_unique(frame: pd.DataFrame, keys: list[str]) -> tuple[bool, dict[str, Any]]:
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


@contextmanager
def _exclusive(gx_dir: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on the GX project directory for the duration of a suite run.

    A file context rewrites its great_expectations.yml and stores on every run; two partitions
    validated at the same time (concurrent runs) would otherwise corrupt each other's config.
    A GX run takes well under a second, so serialising it costs little.
    """
    if gx_dir is None:
        yield
        return
    gx_dir.mkdir(parents=True, exist_ok=True)
    with open(gx_dir / ".ice-gx.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _HeldRecords(logging.Handler):
    """Keeps GX's log records instead of printing them (see :func:`_gx_disk_guard`)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _gx_disk_guard(gx_dir: Path | None) -> Iterator[None]:
    """A full disk under ``gx_dir`` becomes one :class:`~ice_pipeline.disk.DiskFull`.

    GX catches write errors while rendering Data Docs and logs each with its traceback (twenty
    of them for one full disk), then fails later with an unrelated error. Its records are held
    while GX runs: if one of them, or the exception, is a full disk, that is the one failure;
    otherwise they are passed on to GX's logger as usual.
    """
    from ice_pipeline.disk import disk_error, is_disk_full

    gx_logger = logging.getLogger("great_expectations")
    held = _HeldRecords()
    propagate = gx_logger.propagate
    gx_logger.addHandler(held)
    gx_logger.propagate = False
    failure: BaseException | None = None
    try:
        yield
    except Exception as err:
        failure = err
    finally:
        gx_logger.removeHandler(held)
        gx_logger.propagate = propagate
    full = any(is_disk_full(Exception(r.getMessage())) for r in held.records)
    if gx_dir is not None and (full or (failure is not None and is_disk_full(failure))):
        raise disk_error(OSError(28, "No space left on device"), gx_dir, needed_bytes=None) from (
            failure
        )
    for record in held.records:
        gx_logger.handle(record)
    if failure is not None:
        raise failure


# One file context per project directory per process: opening it reads and rewrites its config,
# about a third of a small table's suite run; the backfill runs five suites for every period.
_FILE_CONTEXTS: dict[str, Any] = {}


def _context(gx_dir: Path | None) -> Any:
    """The GX context of ``gx_dir`` (opened once per process), or an ephemeral one."""
    if gx_dir is not None:
        key = str(Path(gx_dir).resolve())
        cached = _FILE_CONTEXTS.get(key)
        if cached is not None and (Path(gx_dir) / "gx" / "great_expectations.yml").is_file():
            return cached
        context = _open_context(gx_dir)
        _FILE_CONTEXTS[key] = context
        return context
    return _open_context(None)


def _open_context(gx_dir: Path | None) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if gx_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        gx_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
        site = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(gx_dir).resolve() / "data_docs"),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        sites = context.get_config().data_docs_sites or {}
        if DATA_DOCS_SITE not in sites:
            for name in list(sites):
                context.delete_data_docs_site(name)
            context.add_data_docs_site(DATA_DOCS_SITE, site)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if gx_dir is not None:
        _compact_config_variables(Path(gx_dir) / "gx" / "uncommitted" / "config_variables.yml")
        context.variables.save()
    return context


# The pandas data source, asset and batch definition never change; setting them up again for
# every suite rewrote great_expectations.yml three times (about a third of a small suite's run).
_BATCH_DEFINITIONS: dict[tuple[int, str], Any] = {}


def _batch_definition(context: Any, table_name: str, *, keep: bool) -> Any:
    """The whole-dataframe batch definition of ``table_name`` in ``context``.

    With ``keep`` (a file context, which lives as long as the process) it is made once; an
    ephemeral context is new on every call, so nothing of it is kept.
    """
    key = (id(context), table_name)
    cached = _BATCH_DEFINITIONS.get(key) if keep else None
    if cached is not None:
        return cached
    source = context.data_sources.add_or_update_pandas("ice_canonical")
    asset = next(
        (a for a in source.assets if a.name == table_name), None
    ) or source.add_dataframe_asset(name=table_name)
    batch = next(
        (b for b in asset.batch_definitions if b.name == "whole_period"), None
    ) or asset.add_batch_definition_whole_dataframe("whole_period")
    if keep:
        _BATCH_DEFINITIONS[key] = batch
    return batch


def _compact_config_variables(path: Path) -> None:
    """Drop the comment block GX writes into its config-variables file (values unchanged).

    GX parses that file on each of the ~18 configuration lookups of every suite run; the
    20-line comment template made that a third of a small suite's cost (ruamel parses comments
    slowly). The variables themselves (GX's instance id) are kept as they were.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    if not text.lstrip().startswith("#"):
        return
    variables = yaml.safe_load(text) or {}
    if isinstance(variables, dict):
        path.write_text(yaml.safe_dump(variables, sort_keys=True), encoding="utf-8")


def run_suite(
    table_name: str,
    frame: pd.DataFrame,
    *,
    previous: pd.DataFrame | None,
    known_departments: set[str] | None,
    period: str,
    gx_dir: Path | None,
    known_dimensions: set[str] | None = None,
    freshness_days: int = FRESHNESS_DAYS,
) -> list[CheckOutcome]:
    """Run the table's expectation suite on one period's rows; one outcome per check.

    ``previous`` is the previous period's rows (volume check), ``known_departments`` the HR
    roster's departments (reference checks), ``known_dimensions`` the dimension names of the
    survey mapping. A check that cannot run (no previous period, no roster) passes with
    ``metadata['skipped']`` saying why. With ``gx_dir`` the suite and results are kept there
    for ``build_data_docs``; without it GX runs in memory.
    """
    if table_name not in TABLES:
        raise ValueError(
            f"no expectation suite for table {table_name!r}; known: {', '.join(TABLES)}"
        )
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    plans = _plan(
        table_name, frame, previous, known_departments, known_dimensions, period, freshness_days
    )
    outcomes: dict[str, CheckOutcome] = {}
    for plan in plans:
        if plan.local is not None:
            passed, details = plan.local(frame)
            outcomes[plan.check_name] = CheckOutcome(
                plan.check_name,
                passed,
                plan.blocking,
                plan.description,
                {"period": period, "rows": len(frame), **details},
            )
        elif plan.expectation is None:
            outcomes[plan.check_name] = CheckOutcome(
                plan.check_name,
                True,
                plan.blocking,
                plan.description,
                {"skipped": plan.skipped, "period": period},
            )
    runnable = [p for p in plans if p.expectation is not None]
    if not runnable:
        return [outcomes[p.check_name] for p in plans]
    with _gx_disk_guard(gx_dir), _exclusive(gx_dir), warnings.catch_warnings():
        context = _context(gx_dir)
        warnings.simplefilter("ignore")
        batch = _batch_definition(context, table_name, keep=gx_dir is not None)
        # Expectations given to the constructor: add_expectation looked the suite up in the
        # store and compared it with every expectation already added, once per expectation.
        suite = gx.ExpectationSuite(
            name=f"ice_{table_name}", expectations=[plan.expectation for plan in runnable]
        )
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"ice_{table_name}", data=batch, suite=suite)
        )
        # Only the columns the expectations read: GX copies and profiles what it is given.
        used = [
            c
            for c in frame.columns
            if any(
                getattr(p.expectation, "column", None) == c
                or c in str(getattr(p.expectation, "row_condition", None) or "")
                for p in runnable
            )
        ]
        result = definition.run(
            batch_parameters={"dataframe": frame[used] if used else frame.iloc[:, :1]},
            result_format="SUMMARY",
            run_id=RunIdentifier(run_name=f"{table_name}-{period}"),
        )
    for item in result.results:
        name = item.expectation_config.meta.get("check_name")
        plan = next(p for p in runnable if p.check_name == name)
        details = item.result or {}
        metadata: dict[str, Any] = {"period": period, "rows": len(frame)}
        for key in (
            "observed_value",
            "element_count",
            "unexpected_count",
            "unexpected_percent",
            "missing_count",
            "partial_unexpected_list",
        ):
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
    return [outcomes[p.check_name] for p in plans]


def build_data_docs(gx_dir: Path) -> Path | None:
    """Render GX Data Docs of all stored suites and results into ``gx_dir/data_docs``; its index."""
    if not (Path(gx_dir) / "gx").is_dir():
        return None
    with _gx_disk_guard(Path(gx_dir)), _exclusive(Path(gx_dir)), warnings.catch_warnings():
        context = _context(Path(gx_dir))
        warnings.simplefilter("ignore")
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
    index = Path(gx_dir).resolve() / "data_docs" / "index.html"
    return index if index.is_file() else None


class _DuckDBDialectName(str):
    """``"duckdb"`` with the ``.value`` GX reads from its dialect enum (which has no DuckDB)."""

    value = "duckdb"


def persist_duckdb_connections() -> None:
    """Make GX's SQL data source keep one connection open on DuckDB (issue 13 item 3).

    GX 1.24.1 closes its connection before fetching on dialects not in its private
    ``_PERSISTED_CONNECTION_DIALECTS`` (SQLite, SQL Server, ...); on DuckDB that returns no
    rows (an ``IndexError``, or a check that passes on nothing). Adding DuckDB there is the fix
    measured in ../shared/bench. A private name, so great-expectations is pinned and
    ``test_expectations.py::test_gx_sql_source_on_duckdb`` fails if a GX upgrade moves it.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as gx_sql

    dialects = gx_sql._PERSISTED_CONNECTION_DIALECTS
    if "duckdb" not in [str(getattr(d, "value", d)) for d in dialects]:
        gx_sql._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName("duckdb"))
