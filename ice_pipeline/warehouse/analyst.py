"""Analyst access: a read-only PostgreSQL role that sees the aggregate schema ``ice`` only.

The role gets USAGE on ``ice`` and SELECT on its views and aggregate tables (none of which holds
one row per person), default privileges so views recreated by later upgrades stay readable, and
no privilege at all on ``ice_private`` (respondent-level rows) or ``ice_ops`` (report HTML,
recipients, run state). ``default_transaction_read_only`` is set as a second guard.

DuckDB has no roles: analysts open the file read-only (``duckdb -readonly warehouse.duckdb``).
"""

import os
import re

import psycopg
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.schema import AGGREGATE_SCHEMA, OPS_SCHEMA, PRIVATE_SCHEMA

# Plain lower-case identifiers only: no quoting surprises in pg_hba.conf or psql.
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED_PREFIXES = ("pg_",)


def _check_role_name(role: str) -> None:
    if not _ROLE_NAME.match(role) or role.startswith(_RESERVED_PREFIXES) or role == "public":
        raise IceError(
            f"{role!r} cannot be used as an analyst role name",
            fix="use lower-case letters, digits and underscores, starting with a letter, at "
            "most 63 characters, not starting with pg_ (for example ice_analyst)",
            where="ROLE",
        )


def _password(password_env: str | None) -> str | None:
    if password_env is None:
        return None
    password = os.environ.get(password_env, "")
    if not password:
        raise ConfigError(
            password_env,
            "the environment variable named by --password-env is empty or not set",
            fix=f"export {password_env}=<the role's password>, or leave out --password-env to "
            "create a NOLOGIN group role",
        )
    return password


def _grant_statements(
    role: str, password: str | None, database: str, as_superuser: bool
) -> list[pg_sql.Composable]:
    ident = pg_sql.Identifier(role)
    aggregate = pg_sql.Identifier(AGGREGATE_SCHEMA)
    login = (
        pg_sql.SQL("LOGIN PASSWORD {}").format(pg_sql.Literal(password))
        if password is not None
        else pg_sql.SQL("NOLOGIN")
    )
    # Only a superuser may name the SUPERUSER attribute at all, even to switch it off.
    attributes = pg_sql.SQL(" NOSUPERUSER NOCREATEDB NOCREATEROLE" if as_superuser else "")
    statements: list[pg_sql.Composable] = [
        pg_sql.SQL("ALTER ROLE {} WITH {}{}").format(ident, login, attributes),
        pg_sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident),
        pg_sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(pg_sql.Identifier(database), ident),
    ]
    for schema in (PRIVATE_SCHEMA, OPS_SCHEMA):
        name = pg_sql.Identifier(schema)
        # Also from PUBLIC: a grant to everybody would reach the analyst role too.
        statements += [
            pg_sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(name),
            pg_sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(name),
            pg_sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(name, ident),
            pg_sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(name, ident),
            pg_sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} REVOKE ALL ON TABLES FROM {}").format(
                name, ident
            ),
        ]
    statements += [
        pg_sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(aggregate, ident),
        pg_sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(aggregate, ident),
        pg_sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(aggregate, ident),
        pg_sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(aggregate, ident),
        # Views and tables created later by this owner (upgrades) are readable too.
        pg_sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
            aggregate, ident
        ),
    ]
    return statements


def grant_analyst(url: str, role: str, password_env: str | None = None) -> str:
    """Create or update the read-only analyst ``role`` on the PostgreSQL warehouse at ``url``.

    Idempotent. With ``password_env`` the role can log in with the password held in that
    environment variable; without it the role is a NOLOGIN group to grant to analysts' own
    logins (``GRANT role TO alice``). Run ``warehouse upgrade`` first. Returns a message saying
    what the role can read.
    """
    _check_role_name(role)
    password = _password(password_env)
    if _backend(url) == "duckdb":  # before connecting, so nothing is created
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            "analyst roles exist only on PostgreSQL; DuckDB has no roles or grants",
            fix="give analysts read-only access to the DuckDB file itself: "
            "`duckdb -readonly <path to warehouse.duckdb>` (or duckdb.connect(path, "
            "read_only=True)); set ICE_WAREHOUSE_URL to a postgresql+psycopg:// URL to "
            "create a role",
        )
    engine = connect_warehouse(url)
    try:
        with engine.begin() as connection:
            _require_schemas(connection)
            raw = connection.connection.driver_connection
            exists = connection.exec_driver_sql(
                "SELECT 1 FROM pg_roles WHERE rolname = %(role)s", {"role": role}
            ).first()
            database, as_superuser = connection.exec_driver_sql(
                "SELECT current_database(), rolsuper FROM pg_roles WHERE rolname = current_user"
            ).one()
            try:
                with raw.cursor() as cursor:
                    if not exists:
                        cursor.execute(pg_sql.SQL("CREATE ROLE {}").format(pg_sql.Identifier(role)))
                    for statement in _grant_statements(role, password, database, as_superuser):
                        cursor.execute(statement)
            except psycopg.errors.InsufficientPrivilege as err:
                raise ConfigError(
                    "ICE_WAREHOUSE_URL",
                    f"the database user of ICE_WAREHOUSE_URL may not manage role {role} "
                    f"({str(err).strip().splitlines()[0]})",
                    fix="run grant-analyst as the warehouse owner with the CREATEROLE privilege "
                    "(or a superuser)",
                ) from err
            views = [
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT table_name FROM information_schema.views WHERE table_schema = "
                    "%(schema)s ORDER BY table_name",
                    {"schema": AGGREGATE_SCHEMA},
                )
            ]
    finally:
        engine.dispose()
    action = "updated" if exists else "created"
    access = (
        "can log in with the password from " + password_env
        if password
        else (f"cannot log in itself (NOLOGIN): grant it to analysts with GRANT {role} TO <login>")
    )
    return (
        f"role {role} {action}: read-only SELECT on schema {AGGREGATE_SCHEMA} "
        f"({len(views)} views: {', '.join(views)}; and its aggregate tables), no access to "
        f"{PRIVATE_SCHEMA} or {OPS_SCHEMA}; it {access}"
    )


def _backend(url: str) -> str | None:
    try:
        return make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return None  # connect_warehouse reports the unparsable URL


def _require_schemas(connection: sqlalchemy.Connection) -> None:
    found = {
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT nspname FROM pg_namespace WHERE nspname IN (%(a)s, %(p)s, %(o)s)",
            {"a": AGGREGATE_SCHEMA, "p": PRIVATE_SCHEMA, "o": OPS_SCHEMA},
        )
    }
    if len(found) < 3:
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            "the warehouse has not been created yet (schemas ice, ice_private, ice_ops missing)",
            fix="run `ice-pipeline warehouse upgrade` first, then grant the analyst role",
        )
