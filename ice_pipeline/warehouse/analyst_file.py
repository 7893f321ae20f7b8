"""The analyst's DuckDB file: the aggregate ``ice`` schema, exported after every run, nothing else.

DuckDB has no roles or grants: whoever can open the pipeline's warehouse file reads every schema
in it, ``ice_private`` (one row per answer, with timestamps) and ``ice_ops`` (recipients, report
HTML, the delivery ledger) included. So analysts on DuckDB never open that file. After every run
the pipeline copies the tables and views of the ``ice`` schema into a separate file
(``ICE_ANALYST_DUCKDB``, default ``<ICE_DATA_DIR>/analyst/ice_analyst.duckdb``) and analysts open
that one. Views are stored as tables (a view reading ``ice_ops`` could not be resolved there, and
a snapshot is what an analyst wants anyway); columns that may hold a server path
(``PATH_COLUMNS``) keep only the file name.

The file is written under a temporary name in the same directory and renamed into place, so an
analyst never sees a half-written file, and a reader holding the old file open keeps reading
its snapshot while the pipeline replaces it (a rename does not wait for readers).

Belongs here: where the file lives and how it is written. The PostgreSQL analyst role is
``analyst.py``; the Dagster asset that calls this after each period is ``defs/assets_analyst.py``.
"""

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy

from ice_pipeline.errors import ConfigError
from ice_pipeline.warehouse.schema import AGGREGATE_SCHEMA

ANALYST_FILE_NAME = "ice_analyst.duckdb"
# Columns that may hold an absolute path on the pipeline's server: only the name is exported.
PATH_COLUMNS = ("source_file", "file_path", "file_name")
_EXPORT_ALIAS = "ice_analyst_export"


def default_analyst_path(data_dir: Path) -> Path:
    """``<data_dir>/analyst/ice_analyst.duckdb``: a folder of its own, to share on its own."""
    return Path(data_dir).resolve() / "analyst" / ANALYST_FILE_NAME


def analyst_path(data_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """ICE_ANALYST_DUCKDB if set, else :func:`default_analyst_path`."""
    env = os.environ if environ is None else environ
    given = env.get("ICE_ANALYST_DUCKDB")
    return Path(given).expanduser().resolve() if given else default_analyst_path(data_dir)


@dataclass
class AnalystExport:
    """What one export wrote."""

    path: Path
    tables: list[str] = field(default_factory=list)  # ice.<name>, views included
    rows: int = 0
    size_bytes: int = 0


def _relations(connection: sqlalchemy.Connection) -> list[tuple[str, str]]:
    """(name, 'BASE TABLE' | 'VIEW') of every relation of schema ``ice`` in the warehouse."""
    return [
        (name, kind)
        for name, kind in connection.exec_driver_sql(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? "
            "ORDER BY table_type, table_name",
            (AGGREGATE_SCHEMA,),
        )
    ]


def _path_columns(connection: sqlalchemy.Connection, name: str) -> list[str]:
    return [
        column
        for (column,) in connection.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            (AGGREGATE_SCHEMA, name),
        )
        if column in PATH_COLUMNS
    ]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _copy_relation(connection: sqlalchemy.Connection, name: str) -> int:
    source = f"{AGGREGATE_SCHEMA}.{_quote(name)}"
    target = f"{_EXPORT_ALIAS}.{AGGREGATE_SCHEMA}.{_quote(name)}"
    replaced = [
        # Everything up to the last / or \ is a directory of the pipeline's server.
        f"regexp_replace({_quote(column)}, '^.*[/\\\\]', '') AS {_quote(column)}"
        for column in _path_columns(connection, name)
    ]
    columns = f"* REPLACE ({', '.join(replaced)})" if replaced else "*"
    connection.exec_driver_sql(f"CREATE TABLE {target} AS SELECT {columns} FROM {source}")  # noqa: S608 - names come from the catalog, quoted
    return int(connection.exec_driver_sql(f"SELECT count(*) FROM {target}").scalar_one())  # noqa: S608


def export_analyst_file(engine: sqlalchemy.Engine, path: Path) -> AnalystExport:
    """Write the ``ice`` schema of the DuckDB warehouse behind ``engine`` to ``path``, atomically.

    Only schema ``ice`` is copied: no ``ice_private``, no ``ice_ops``, no server paths. Raises
    ValueError for a PostgreSQL engine (there analysts use the role of ``grant-analyst``) and
    ConfigError when ``path`` is the warehouse file itself.
    """
    if engine.dialect.name != "duckdb":
        raise ValueError("the analyst DuckDB file is exported from a DuckDB warehouse only")
    path = Path(path).resolve()
    warehouse = engine.url.database
    if warehouse and Path(warehouse).expanduser().resolve() == path:
        raise ConfigError(
            "ICE_ANALYST_DUCKDB",
            f"the analyst file {path} would replace the warehouse itself",
            fix="point ICE_ANALYST_DUCKDB at a file of its own, e.g. <ICE_DATA_DIR>/analyst/"
            f"{ANALYST_FILE_NAME}",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    export = AnalystExport(path=path)
    try:
        with engine.connect() as connection:
            literal = str(staging).replace("'", "''")
            connection.exec_driver_sql(f"ATTACH '{literal}' AS {_EXPORT_ALIAS}")
            try:
                connection.exec_driver_sql(f"CREATE SCHEMA {_EXPORT_ALIAS}.{AGGREGATE_SCHEMA}")
                for name, _kind in _relations(connection):
                    export.rows += _copy_relation(connection, name)
                    export.tables.append(f"{AGGREGATE_SCHEMA}.{name}")
                connection.commit()
                connection.exec_driver_sql(f"CHECKPOINT {_EXPORT_ALIAS}")
            finally:
                connection.rollback()
                connection.exec_driver_sql(f"DETACH DATABASE IF EXISTS {_EXPORT_ALIAS}")
                connection.commit()
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
        Path(f"{staging}.wal").unlink(missing_ok=True)
    export.size_bytes = path.stat().st_size
    return export


def analyst_file_present(warehouse_url: str, data_dir: Path, environ: dict[str, str]) -> bool:
    """The analysts' file exists, or there is none to write (a PostgreSQL warehouse)."""
    return not warehouse_url.startswith("duckdb") or analyst_path(data_dir, environ).is_file()


def refresh_analyst_file(
    engine: sqlalchemy.Engine, data_dir: Path, environ: dict[str, str] | None = None
) -> AnalystExport | None:
    """Write the analysts' file where the settings say (None: a PostgreSQL warehouse has none)."""
    if engine.dialect.name != "duckdb":
        return None
    return export_analyst_file(engine, analyst_path(data_dir, environ))
