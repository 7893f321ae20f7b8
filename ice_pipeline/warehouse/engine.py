"""Opening the warehouse: turn ICE_WAREHOUSE_URL into a checked SQLAlchemy engine.

Two engines are supported: an embedded DuckDB file (``duckdb:///path/warehouse.duckdb``, the
default) and PostgreSQL through psycopg 3 (``postgresql+psycopg://user@host/db``). Every way the
URL can be wrong ends in one :class:`ConfigError` naming the setting to fix, before anything is
written. Schema changes live in ``migrate.py``; reading and writing rows in ``writes.py``.
"""

import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from ice_pipeline.errors import ConfigError, IceError

# Seconds to wait for a PostgreSQL server before calling it unreachable.
CONNECT_TIMEOUT_SECONDS = 5
# DuckDB's own default memory_limit is 80% of RAM, and its buffer cache fills up to it: a 200 MB
# survey export's ratings table grew the process by 2.2 GB in ice_tables and 1.6 GB in the
# expectation suite. Under this bound DuckDB evicts cached blocks and spills operators to its
# temp_directory (``<file>.tmp`` beside a warehouse file) instead; a ``memory_limit`` in
# ICE_WAREHOUSE_URL wins. At 1 GB the enterprise month and the 200 MB export both complete, and
# the latter's peak fell from 4.1 to 2.0 GB (docs/warehouse.md, "Memory").
DUCKDB_MEMORY_LIMIT = "1GB"

SUPPORTED_DRIVERS = ("duckdb", "postgresql+psycopg")
_EXAMPLES = (
    "duckdb:///path/to/warehouse.duckdb, or postgresql+psycopg://user:password@host:5432/database"
)


def dialect_name(engine: sqlalchemy.Engine) -> str:
    """Return ``"duckdb"`` or ``"postgresql"``."""
    return engine.dialect.name


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as err:
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            f"{url!r} is not a database URL",
            fix=f"write it as {_EXAMPLES}",
        ) from err


def _check_driver(parsed: URL) -> None:
    driver = parsed.drivername
    if driver in SUPPORTED_DRIVERS:
        return
    if parsed.get_backend_name() in {"postgresql", "postgres"}:
        # A bare postgresql:// would silently use psycopg2 (pulled in by dagster-postgres),
        # whose COPY path and type handling the warehouse does not use.
        host_part = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            f"the driver {driver!r} is not supported; the warehouse talks to PostgreSQL "
            "through psycopg 3 only",
            fix=f"write the URL as {host_part}",
        )
    raise ConfigError(
        "ICE_WAREHOUSE_URL",
        f"the database driver {driver!r} is not supported (supported: duckdb, postgresql+psycopg)",
        fix=f"use {_EXAMPLES}",
    )


def _duckdb_setting() -> str:
    """Name the setting a person should change for a bad DuckDB location.

    The default URL is derived from ICE_DATA_DIR, so that is the setting to fix unless
    ICE_WAREHOUSE_URL was given explicitly.
    """
    return "ICE_WAREHOUSE_URL" if os.environ.get("ICE_WAREHOUSE_URL") else "ICE_DATA_DIR"


def _prepare_duckdb_file(parsed: URL) -> None:
    """Create the DuckDB file's directory and prove it is writable, or raise ConfigError."""
    database = parsed.database or ":memory:"
    if database == ":memory:":
        return
    if database.startswith("md:"):  # would download an extension and call a remote service
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            "MotherDuck (md:) warehouses are not supported",
            fix="use a local DuckDB file (duckdb:///path/warehouse.duckdb) or PostgreSQL",
        )
    setting = _duckdb_setting()
    path = Path(database).expanduser()
    fix = (
        "point ICE_DATA_DIR at a directory this user can write"
        if setting == "ICE_DATA_DIR"
        else "point ICE_WAREHOUSE_URL at a DuckDB file in a directory this user can write"
    )
    if path.is_dir():
        raise ConfigError(
            setting, f"the DuckDB warehouse path {path} is a directory, not a file", fix=fix
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            setting,
            f"cannot create the directory {path.parent} for the DuckDB warehouse "
            f"({err.strerror or err})",
            fix=fix,
        ) from err
    writable = os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)
    if not writable:
        raise ConfigError(
            setting,
            f"the DuckDB warehouse {path} is not writable by this user",
            fix=fix + ", or fix its permissions",
        )


_DUCKDB_LOCK = re.compile(
    r"Could not set lock on file .*?Conflicting lock is held in (.+?) \(PID (\d+)\)"
)


class WarehouseBusy(IceError):
    """Another process holds the DuckDB file (DuckDB allows one process per file)."""

    def __init__(self, database: str, program: str, pid: int) -> None:
        self.pid = pid
        super().__init__(
            f"in use by another process (PID {pid}, {program}); DuckDB lets one process open "
            "the file at a time",
            fix=f"wait for that run to finish, then start this one again (`ps -p {pid} -o args` "
            f"shows what it is; stop it with `kill {pid}` only if it hangs); to run pipelines "
            "concurrently, use PostgreSQL (ICE_WAREHOUSE_URL)",
            where=f"DuckDB warehouse {database}",
        )


def duckdb_lock_holder(error: BaseException | str) -> tuple[str, int] | None:
    """(program, PID) from DuckDB's "Conflicting lock is held in ... (PID n)" error, else None."""
    match = _DUCKDB_LOCK.search(str(error))
    return None if match is None else (match.group(1), int(match.group(2)))


def _name_the_lock_holder(engine: sqlalchemy.Engine, database: str) -> None:
    """Turn DuckDB's lock conflict into :class:`WarehouseBusy` wherever a connection is opened
    (and a full disk into ``DiskFull``).

    The file lock is taken when a connection opens, which may be at the first write of a step
    long after the resources were set up (the pool opens connections lazily): the same message
    then, whatever the timing.
    """

    @sqlalchemy.event.listens_for(engine, "handle_error")
    def _busy(context: sqlalchemy.engine.ExceptionContext) -> None:
        from ice_pipeline.disk import disk_error

        holder = duckdb_lock_holder(context.original_exception)
        if holder is not None:
            raise WarehouseBusy(database, *holder) from context.original_exception
        # DuckDB reports a full disk as its own IOException: one line naming the directory.
        full = disk_error(context.original_exception, Path(database).parent, needed_bytes=None)
        if full is not None:
            raise full from context.original_exception


def limit_duckdb_memory(connection: Any) -> None:
    """Bound a DuckDB database's memory (``SET`` applies to the whole database instance)."""
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")


def bound_duckdb_memory(engine: sqlalchemy.Engine) -> None:
    """Apply :data:`DUCKDB_MEMORY_LIMIT` to every connection ``engine`` opens.

    A ``SET`` on connect, not a URL/config option: DuckDB refuses a second connection to a file
    in one process with another configuration, and the expectation suites open the warehouse
    through their own engine from the user's URL; the setting reaches theirs too (one instance).
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def _limit(dbapi_connection: Any, _record: Any) -> None:
        limit_duckdb_memory(dbapi_connection)


def _probe(engine: sqlalchemy.Engine, url: URL) -> None:
    """Open and close one connection so a bad server fails here, not mid-run."""
    shown = url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except WarehouseBusy:
        engine.dispose()
        raise
    except DBAPIError as err:
        engine.dispose()
        detail = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        if url.get_backend_name() == "duckdb":
            problem = f"cannot open the DuckDB warehouse {url.database}: {detail}"
            fix = (
                "if another process holds the file, stop it (DuckDB allows one writer); "
                "otherwise point ICE_WAREHOUSE_URL at a valid DuckDB file"
            )
            raise ConfigError(_duckdb_setting(), problem, fix=fix) from err
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            f"cannot connect to PostgreSQL at {shown}: {detail}",
            fix="check host, port, database, user and password in ICE_WAREHOUSE_URL, and that "
            "the server is running and reachable from this machine",
        ) from err


def connect_warehouse(url: str) -> sqlalchemy.Engine:
    """Return an engine for the warehouse at ``url`` after checking it can be reached.

    Creates the DuckDB file's parent directory when needed. Raises ConfigError (naming
    ICE_WAREHOUSE_URL, or ICE_DATA_DIR for the default DuckDB location) when the URL cannot be
    parsed, names an unsupported driver, points at an unreachable server, or at a DuckDB file in
    a directory that cannot be created or written.
    """
    parsed = _parse(url)
    _check_driver(parsed)
    if parsed.drivername == "duckdb":
        _prepare_duckdb_file(parsed)
        engine = sqlalchemy.create_engine(parsed)
        _name_the_lock_holder(engine, str(parsed.database))
        if "memory_limit" not in parsed.query:
            bound_duckdb_memory(engine)
    else:
        engine = sqlalchemy.create_engine(
            parsed,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            pool_pre_ping=True,
        )
    _probe(engine, parsed)
    return engine
