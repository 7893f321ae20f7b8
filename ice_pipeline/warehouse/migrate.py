"""Schema migrations: bring a warehouse to the newest revision, then (re)create the analyst views.

Alembic runs the scripts in ``ice_pipeline/warehouse/migrations/versions`` (written explicitly
from ``schema.py``); its version table is ``ice_ops.alembic_version``. The views in
``sql/views/*.sql`` are not versioned: each is a ``CREATE OR REPLACE VIEW`` applied after the
tables on every upgrade, in file-name order, so editing a view file and upgrading is enough.
Everything happens in one transaction: a failed upgrade leaves the warehouse as it was.
"""

import re
from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.ddl.postgresql import PostgresqlImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ice_pipeline.paths import sql_dir
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.schema import ALL_SCHEMAS, OPS_SCHEMA

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE_SCHEMA = OPS_SCHEMA
# Any constant works; it only has to be the same for every process upgrading one database.
_PG_UPGRADE_LOCK_KEY = 727_100_001
_VIEW_NAME = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+([A-Za-z_][\w]*\.[A-Za-z_][\w]*)", re.I)


class DuckDBImpl(PostgresqlImpl):
    """Alembic DDL support for DuckDB, which duckdb-engine does not register.

    DuckDB speaks the PostgreSQL dialect closely enough for create_table, add_column and
    create_index, and it runs DDL inside transactions, so a failed migration rolls back whole.
    Defining the class registers it with Alembic (by ``__dialect__``).
    """

    __dialect__ = "duckdb"
    transactional_ddl = True


def register_duckdb_impl() -> type[DuckDBImpl]:
    """Return the DuckDB implementation; importing this module has already registered it."""
    return DuckDBImpl


def _alembic_config(connection: sqlalchemy.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of ice_pipeline."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    if head is None:  # only possible if the versions/ directory was lost from the install
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS_DIR / 'versions'}")
    return head


def view_files() -> list[Path]:
    """The analyst view definitions, in the order they are applied (file name order)."""
    return sorted((sql_dir() / "views").glob("*.sql"))


def _view_name(path: Path, sql_text: str) -> str:
    match = _VIEW_NAME.search(sql_text)
    if match is None:
        raise ValueError(f"{path} must hold one 'CREATE OR REPLACE VIEW schema.name AS ...'")
    return match.group(1)


def apply_views(connection: sqlalchemy.Connection) -> list[str]:
    """(Re)create every analyst view on an open connection; return the view names in order.

    CREATE OR REPLACE keeps PostgreSQL grants on the view. PostgreSQL refuses to replace a view
    whose columns changed other than by appending, so there the view is dropped and created
    again (grants then come back through the analyst role's default privileges).
    """
    names = []
    postgres = connection.dialect.name == "postgresql"
    for path in view_files():
        sql_text = path.read_text(encoding="utf-8")
        name = _view_name(path, sql_text)
        if postgres:
            savepoint = connection.begin_nested()
            try:
                connection.exec_driver_sql(sql_text)
                savepoint.commit()
            except sqlalchemy.exc.DBAPIError:
                savepoint.rollback()
                connection.exec_driver_sql(f"DROP VIEW IF EXISTS {name} CASCADE")
                connection.exec_driver_sql(sql_text)
        else:
            connection.exec_driver_sql(sql_text)
        names.append(name)
    return names


def upgrade_connection(connection: sqlalchemy.Connection) -> str:
    """Create the schemas, run migrations to head and apply the views on an open transaction."""
    if connection.dialect.name == "postgresql":
        # Two processes upgrading at once (a run and the CLI) would race on CREATE TABLE.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_UPGRADE_LOCK_KEY})")
    # Alembic's version table lives in ice_ops, so the schemas must exist before Alembic starts.
    for schema_name in ALL_SCHEMAS:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema_name}")
    command.upgrade(_alembic_config(connection), "head")
    apply_views(connection)
    revision = _current_revision_on(connection)
    if revision is None:  # cannot happen after a successful upgrade; guards a broken install
        raise RuntimeError("the warehouse has no revision after upgrading")
    return revision


def upgrade(url: str) -> str:
    """Bring the warehouse at ``url`` to the newest revision and recreate the views.

    Idempotent: on an up-to-date warehouse nothing changes. Returns the head revision.
    Raises ConfigError (from connect_warehouse) for a wrong URL or unreachable warehouse.
    """
    engine = connect_warehouse(url)
    try:
        with engine.begin() as connection:
            return upgrade_connection(connection)
    finally:
        engine.dispose()


def _current_revision_on(connection: sqlalchemy.Connection) -> str | None:
    context = MigrationContext.configure(
        connection, opts={"version_table_schema": VERSION_TABLE_SCHEMA}
    )
    return context.get_current_revision()


def current_revision(url: str) -> str | None:
    """The warehouse's revision, or None for a warehouse never upgraded."""
    engine = connect_warehouse(url)
    try:
        with engine.connect() as connection:
            return _current_revision_on(connection)
    finally:
        engine.dispose()


__all__ = [
    "DuckDBImpl",
    "apply_views",
    "current_revision",
    "head_revision",
    "upgrade",
    "upgrade_connection",
    "view_files",
]
