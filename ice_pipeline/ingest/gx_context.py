"""great-expectations' machinery for the expectation suites: contexts, data sources, locks.

Belongs here: opening (and caching) the GX context of a project directory, the batch definitions
of the pandas and SQL data sources, serialising suite runs on one directory, turning a full disk
under GX into one ``DiskFull``, and the DuckDB fix for GX's SQL data source. What the suites
check is expectations_plan.py; running them and shaping outcomes is expectations.py.

GX is imported inside the functions (about 3-5 s, mostly scipy.stats): importing this module
costs nothing.
"""

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DATA_DOCS_SITE = "ice_local_site"


@contextmanager
def exclusive(gx_dir: Path | None) -> Iterator[None]:
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
    """Keeps GX's log records instead of printing them (see :func:`gx_disk_guard`)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def gx_disk_guard(gx_dir: Path | None) -> Iterator[None]:
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


def context_for(gx_dir: Path | None) -> Any:
    """The GX context of ``gx_dir`` (opened once per process), or an ephemeral one."""
    if gx_dir is not None:
        key = str(Path(gx_dir).resolve())
        cached = _FILE_CONTEXTS.get(key)
        if cached is not None and (Path(gx_dir) / "gx" / "great_expectations.yml").is_file():
            return cached
        context = open_context(gx_dir)
        _FILE_CONTEXTS[key] = context
        return context
    return open_context(None)


def open_context(gx_dir: Path | None) -> Any:
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
        compact_config_variables(Path(gx_dir) / "gx" / "uncommitted" / "config_variables.yml")
        context.variables.save()
    return context


# The pandas data source, asset and batch definition never change; setting them up again for
# every suite rewrote great_expectations.yml three times (about a third of a small suite's run).
_BATCH_DEFINITIONS: dict[tuple[int, str], Any] = {}


def pandas_batch_definition(context: Any, table_name: str, *, keep: bool) -> Any:
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


def compact_config_variables(path: Path) -> None:
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


def _data_source(context: Any, name: str) -> Any:
    """The context's data source ``name`` (None if it has none), attached to the context.

    Looked up by key, not by iterating ``all().values()``: a cached data source reached by
    iteration can come without its data context, and GX then fails inside ``get_batch`` (seen
    on PostgreSQL when a second suite of a run reused the source: "'ConfigStr' object has no
    attribute 'startswith'" after a MissingDataContextError).
    """
    sources = context.data_sources.all()
    return sources[name] if name in sources else None


# The compute copy's data source (PostgreSQL warehouses, issue 13 item 5). Every copy of a
# period has a new random path (compute.py ``_new_path``), so a source per connection string, as
# for warehouses, would add one to great_expectations.yml on every run. Instead one stable
# source reads its connection string from this variable, set to the copy's URL before each run;
# GX substitutes variables when it builds its execution engine, and the engines of the previous
# copy are dropped (see :func:`_forget_engines`). The yml holds one source whatever the runs.
COMPUTE_COPY_SOURCE = "ice_compute_copy"
_COMPUTE_COPY_VARIABLE = "ICE_GX_COMPUTE_COPY"


def _source_names(url: str, copy: bool) -> tuple[str, str]:
    """The data source's name and its connection-string variable (see the constants above)."""
    if copy:
        return COMPUTE_COPY_SOURCE, _COMPUTE_COPY_VARIABLE
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"ice_warehouse_{digest}", f"ICE_GX_WAREHOUSE_{digest.upper()}"


def sql_batch_definition(
    context: Any, url: str, table_name: str, query: str, *, copy: bool = False
) -> Any:
    """A whole-table batch definition of ``query`` on the warehouse at ``url`` (GX SQL source).

    The data source's connection string is a ``${ICE_GX_WAREHOUSE_...}`` placeholder that GX
    resolves from this process's environment: a file context writes its data sources into
    great_expectations.yml, and a PostgreSQL password must not land there. One data source per
    warehouse URL (GX caches its engine per connection string), one query asset per table
    whose query is replaced when the period changes. ``copy``: ``url`` is a period's compute
    copy, read through the one stable source ``COMPUTE_COPY_SOURCE``.
    """
    name, variable = _source_names(url, copy)
    os.environ[variable] = url
    persist_duckdb_connections()
    source = _data_source(context, name)
    if source is None or source._data_context is None:
        # A source GX hands back without its context fails inside get_batch
        # (MissingDataContextError): replace it by a fresh one, attached to this context.
        # A copy is opened read-only, as period_compute opens it: other steps and processes
        # read the same file, and DuckDB refuses a second connection to a file in one process
        # with another configuration (connect_args: a URL's access_mode counts as different).
        options = {"kwargs": {"connect_args": {"read_only": True}}} if copy else {}
        source = context.data_sources.add_or_update_sql(
            name, connection_string="${" + variable + "}", **options
        )
    elif copy:
        _forget_engines(source)  # engines opened on an earlier copy's path
    asset = next((a for a in source.assets if a.name == table_name), None)
    if asset is not None and asset._datasource is not source:
        source.delete_asset(table_name)
        asset = None
    if asset is None:
        asset = source.add_query_asset(table_name, query=query)
    batch = next(
        (b for b in asset.batch_definitions if b.name == "whole_period"), None
    ) or asset.add_batch_definition_whole_table("whole_period")
    if asset.query != query:
        # A new period changes only the query: changed in place and written once (one write of
        # great_expectations.yml, not three for a deleted and re-added asset); the asset and
        # batch definition keep their ids, so the validation definition stays as stored.
        # (``BatchDefinition.save`` would not do: a file context keeps it in memory only.)
        asset.query = query
        context.update_datasource(source)
    return batch


def stored_suite(context: Any, suite: Any) -> Any:
    """``suite`` as stored in ``context``, written only if its expectations changed.

    ``add_or_update`` rewrites the suite on every run, and the validation definition's
    ``add_or_update`` wrote it a second time; most tables' suites change only with the
    previous period's row count. Unchanged: the stored suite (with its expectations' ids), as
    ``add_or_update`` would have left it.
    """
    from great_expectations.exceptions import DataContextError

    try:
        existing = context.suites.get(name=suite.name)
    except DataContextError:
        return context.suites.add(suite)
    same = (
        len(existing.expectations) == len(suite.expectations)
        and all(
            old.copy(update={"id": None}) == new
            for old, new in zip(existing.expectations, suite.expectations, strict=True)
        )
        and (existing.meta, existing.notes, existing.suite_parameters)
        == (suite.meta, suite.notes, suite.suite_parameters)
    )
    return existing if same else context.suites.add_or_update(suite)


def stored_definition(context: Any, name: str, batch: Any, suite: Any) -> Any:
    """The validation definition ``name`` of ``batch`` and ``suite``, written only if it changed.

    ``suite`` and ``batch`` are already stored (:func:`stored_suite`, the batch definitions
    above); GX's ``add_or_update`` would write both again and then the definition itself.
    """
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    definition = gx.ValidationDefinition(name=name, data=batch, suite=suite)
    try:
        existing = context.validation_definitions.get(name=name)
    except DataContextError:
        return context.validation_definitions.add(definition)
    definition.id = existing.id
    if existing.data.id != batch.id or existing.suite.id != suite.id:
        definition.save()
    return definition


def release_warehouse(context: Any, url: str, *, copy: bool = False) -> None:
    """Close the connection GX keeps open to the warehouse at ``url`` after a suite run.

    With ``persist_duckdb_connections`` GX holds one connection for as long as its data source
    lives (this process, through the cached context); on DuckDB that would keep the file locked
    against every other process until this one exits. ``_connection`` is GX's private name for
    it (pinned with the other one; test_expectations_sql proves the file is free afterwards).
    ``copy``: the compute copy's source, whose engines are also dropped (the next run's copy has
    another path).
    """
    source = _data_source(context, _source_names(url, copy)[0])
    if source is None:
        return
    if copy:
        _forget_engines(source)
        return
    engine = getattr(source, "_execution_engine", None)  # never create one just to close it
    if engine is None:
        return
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
        engine._connection = None
    engine.engine.dispose()
    pooled = getattr(source, "_engine", None)  # the data source's own, used to check assets
    if pooled is not None:
        pooled.dispose()


def _forget_engines(source: Any) -> None:
    """Make GX build the compute copy source's engines anew from its (changed) variable.

    GX rebuilds its execution engine when the substituted connection string changes, but the
    source's own engine (``_engine``, used to check assets) is cached per *unsubstituted*
    string, which never changes: left alone it would open the previous copy's path (DuckDB
    would create an empty file there). Private names, as the other fixes here (GX is pinned).
    """
    for attribute in ("_execution_engine", "_engine"):
        engine = getattr(source, attribute, None)
        if engine is not None:
            connection = getattr(engine, "_connection", None)
            if connection is not None:
                connection.close()
            (engine.engine if attribute == "_execution_engine" else engine).dispose()
            setattr(source, attribute, None)


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


def pages_to_draw(context: Any, gx_dir: Path) -> list[Any] | None:
    """What a Data Docs build must render: every suite and each result without a page yet.

    A result never changes once stored, and its page is rendered from it alone, so a page
    drawn by an earlier build is what a full build would draw again; GX's ``build_data_docs``
    redraws only ``resource_identifiers`` (its public incremental build) and always rebuilds
    the index from every stored result. A suite's page shows its latest version, so suites are
    always redrawn (five small pages). None (draw everything): no index yet, or no suite.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    site = Path(gx_dir).resolve() / "data_docs"
    suites = [ExpectationSuiteIdentifier(suite.name) for suite in context.suites.all()]
    if not (site / "index.html").is_file() or not suites:
        return None
    # The page of a result mirrors its key: validations/<suite>/<run>/<time>/<batch>.html.
    missing = [
        key
        for key in context.validation_results_store.list_keys()
        if not site.joinpath(
            "validations", *key.to_tuple()[:-1], f"{key.to_tuple()[-1]}.html"
        ).is_file()
    ]
    return [*suites, *missing]
