"""The project-local Dagster instance of CLI runs, with its SQLite connections kept open.

Belongs here: opening the instance of ``DAGSTER_HOME`` for ``ice-pipeline run`` / ``demo``
(runner.py) and, when that instance keeps its runs and event logs in Dagster's default SQLite
files, making those files cheap to write from this one process. What a run does is in ``defs/``;
executing it is runner.py.

Why: Dagster's SQLite storages open a new SQLAlchemy engine and connection for every statement
(``NullPool``) and close it afterwards. The files are in WAL mode, and closing the last
connection of a WAL file checkpoints it and syncs it to disk: a period's run stores ~150 events
through ~950 connections, which took seconds per period on a busy disk (a 24-period backfill
spent more time there than in any step). Here each file gets one engine that keeps its
connection open while the process runs, with ``PRAGMA synchronous=NORMAL`` (WAL's usual
setting: a commit is written to the WAL without waiting for the disk; a power cut may lose the
last events, never corrupt the file). Nothing on disk changes: the same files, tables and WAL
mode, which ``dagster dev`` and the daemon read with their own (unchanged) storages while or
after the CLI runs. Other instances (PostgreSQL in production, deploy/dagster.yaml) are used as
configured.

The storages are Dagster's own classes, re-classed to subclasses that override only how a
connection is obtained (``SqliteEventLogStorage._connect`` and ``has_table``,
``SqliteRunStorage.connect``); Dagster is pinned exactly (pyproject.toml), and
test_dagster_local.py checks the override points still exist.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# Engines kept open per storage: the cross-run index and the latest runs' own files. A finished
# run's file is closed (checkpointed once) when newer runs push it out.
KEEP_OPEN = 4


def _sqlite_engine(conn_string: str) -> Engine:
    """One pooled engine for a SQLite file: its connection stays open, commits do not fsync."""
    engine = create_engine(conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # Dagster switches a new file to WAL only after creating its ~30 tables and indexes, each
        # committed (and synced) on its own in the default journal mode: about a second of disk
        # waits per run. WAL from the start (a no-op on the existing files, all WAL already).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class OpenEngines:
    """Engines by connection string, the least recently used disposed beyond ``keep``."""

    def __init__(self, keep: int = KEEP_OPEN) -> None:
        self.keep = keep
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn_string: str) -> Engine:
        with self._lock:
            engine = self._engines.pop(conn_string, None) or _sqlite_engine(conn_string)
            self._engines[conn_string] = engine
            while len(self._engines) > self.keep:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class OpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's per-run SQLite event log, through engines kept open (``_ice_engines``)."""

    _ice_engines: OpenEngines

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As SqliteEventLogStorage._connect, with a kept engine instead of a new NullPool one.
        with self._db_lock:
            engine = self._ice_engines.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Asked of the index file on every asset event: through its kept engine too.
        engine = self._ice_engines.get(self.conn_string_for_shard(INDEX_SHARD_NAME))
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def dispose(self) -> None:
        super().dispose()
        self._ice_engines.dispose()


class OpenSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (runs.db), through one engine kept open."""

    _ice_engines: OpenEngines

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        engine = self._ice_engines.get(self._conn_string)
        with engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        self._ice_engines.dispose()


def keep_sqlite_open(instance: Any) -> Any:
    """Re-class ``instance``'s default SQLite run and event storages (others are left alone)."""
    storages = (
        (instance.event_log_storage, SqliteEventLogStorage, OpenSqliteEventLogStorage),
        (instance.run_storage, SqliteRunStorage, OpenSqliteRunStorage),
    )
    for storage, default, opened in storages:
        if type(storage) is default:  # exactly Dagster's class: a subclass may connect its way
            storage._ice_engines = OpenEngines()
            storage.__class__ = opened
    return instance


def local_instance() -> Any:
    """The instance of ``DAGSTER_HOME`` (dagster.yaml) for runs executed in this process."""
    import dagster as dg

    return keep_sqlite_open(dg.DagsterInstance.get())
