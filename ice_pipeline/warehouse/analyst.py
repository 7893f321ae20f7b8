"""Analyst access: a read-only PostgreSQL role that sees the aggregate schema ``ice`` only.

The role gets USAGE on ``ice`` and SELECT on its views and aggregate tables (none of which holds
one row per person), default privileges so views recreated by later upgrades stay readable, and
no privilege at all on ``ice_private`` (respondent-level rows) or ``ice_ops`` (report HTML,
recipients, run state).

Read-only is guaranteed by privileges, not by a setting: the role holds no write privilege on
any table, sequence, schema or the database (no TEMP either: TEMP is taken from PUBLIC and given
to the pipeline's own user), and grant-analyst checks exactly that with ``has_*_privilege``
before it commits, so ``SET default_transaction_read_only = off`` gains the role nothing
(``default_transaction_read_only`` is still set, as a courtesy that makes mistakes fail early).

Existing roles are not taken over silently: grant-analyst refuses the current user, the owner of
the database or of the warehouse objects, superusers, and any existing role it did not create
itself (marked by a comment on the role) unless ``allow_existing`` (``--allow-existing-role``)
says so; it never turns an existing login role into NOLOGIN.

DuckDB has no roles: analysts open the analyst file (``warehouse/analyst_file.py``), never the
pipeline's warehouse file.
"""

import os
import re

import psycopg
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline.warehouse.analyst_checks import (
    ROLE_MARK,
    RoleFacts,
    refuse_role,
    require_read_only,
    role_facts,
)
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
    role: str,
    password: str | None,
    database: str,
    *,
    as_superuser: bool,
    create: bool,
    pipeline_user: str,
) -> list[pg_sql.Composable]:
    ident = pg_sql.Identifier(role)
    aggregate = pg_sql.Identifier(AGGREGATE_SCHEMA)
    db = pg_sql.Identifier(database)
    statements: list[pg_sql.Composable] = []
    if create:
        statements.append(pg_sql.SQL("CREATE ROLE {}").format(ident))
    # A password makes it a login role; a new role without one is a NOLOGIN group. An existing
    # role keeps whatever login it had: turning a person's login off is not ours to decide.
    if password is not None:
        statements.append(
            pg_sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                ident, pg_sql.Literal(password)
            )
        )
    elif create:
        statements.append(pg_sql.SQL("ALTER ROLE {} WITH NOLOGIN").format(ident))
    if as_superuser:  # only a superuser may name the SUPERUSER attribute at all
        statements.append(
            pg_sql.SQL("ALTER ROLE {} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident)
        )
    statements += [
        pg_sql.SQL("COMMENT ON ROLE {} IS {}").format(ident, pg_sql.Literal(ROLE_MARK)),
        pg_sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident),
        pg_sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, ident),
        # TEMP is granted to PUBLIC by default, and a grant to PUBLIC cannot be withheld from one
        # role: take it from PUBLIC and give it back to the pipeline's user, which stages upserts
        # in temporary tables (the database owner keeps it through its own ACL entry).
        pg_sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(db),
        pg_sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(
            db, pg_sql.Identifier(pipeline_user)
        ),
        pg_sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM {}").format(db, ident),
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


def grant_analyst(
    url: str, role: str, password_env: str | None = None, *, allow_existing: bool = False
) -> str:
    """Create or update the read-only analyst ``role`` on the PostgreSQL warehouse at ``url``.

    Idempotent for a role grant-analyst created. With ``password_env`` the role can log in with
    the password held in that environment variable; a new role without it is a NOLOGIN group to
    grant to analysts' own logins (``GRANT role TO alice``). An existing role it did not create
    is refused unless ``allow_existing``; the current user, the owners and superusers always
    are. Everything happens in one transaction, which is rolled back unless the role ends up
    with read access to ``ice`` and nothing else. Run ``warehouse upgrade`` first. Returns a
    message saying what the role can read.
    """
    _check_role_name(role)
    password = _password(password_env)
    if _backend(url) == "duckdb":  # before connecting, so nothing is created
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            "analyst roles exist only on PostgreSQL; DuckDB has no roles or grants",
            fix="give DuckDB analysts the analyst file the pipeline writes after every run, "
            "never the warehouse file: `duckdb -readonly <ICE_DATA_DIR>/analyst/"
            "ice_analyst.duckdb` (or ICE_ANALYST_DUCKDB); set ICE_WAREHOUSE_URL to a "
            "postgresql+psycopg:// URL to create a role",
        )
    engine = connect_warehouse(url)
    try:
        with engine.begin() as connection:
            _require_schemas(connection)
            raw = connection.connection.driver_connection
            facts = role_facts(connection, role)
            refuse_role(facts, allow_existing=allow_existing)
            try:
                with raw.cursor() as cursor:
                    statements = _grant_statements(
                        role,
                        password,
                        facts.database,
                        as_superuser=facts.as_superuser,
                        create=not facts.exists,
                        pipeline_user=facts.current_user,
                    )
                    for statement in statements:
                        cursor.execute(statement)
            except psycopg.errors.InsufficientPrivilege as err:
                raise ConfigError(
                    "ICE_WAREHOUSE_URL",
                    f"the database user of ICE_WAREHOUSE_URL may not manage role {role} "
                    f"({str(err).strip().splitlines()[0]})",
                    fix="run grant-analyst as the warehouse owner with the CREATEROLE privilege "
                    "(or a superuser)",
                ) from err
            require_read_only(connection, role)
            views = [
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT table_name FROM information_schema.views WHERE table_schema = "
                    "%(schema)s ORDER BY table_name",
                    {"schema": AGGREGATE_SCHEMA},
                )
            ]
            can_login = connection.exec_driver_sql(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = %(role)s", {"role": role}
            ).scalar_one()
    finally:
        engine.dispose()
    return _summary(role, facts, views, password_env if password else None, can_login)


def _summary(
    role: str, facts: RoleFacts, views: list[str], password_env: str | None, can_login: bool
) -> str:
    """What grant-analyst did, in one line."""
    action = "updated" if facts.exists else "created"
    if password_env:
        access = "can log in with the password from " + password_env
    elif can_login:
        access = "keeps its LOGIN (and its password)"
    else:
        access = (
            f"cannot log in itself (NOLOGIN): grant it to analysts with GRANT {role} TO <login>"
        )
    taken = (
        f"; its privileges on {PRIVATE_SCHEMA} and {OPS_SCHEMA} were revoked"
        if facts.exists and not facts.ours
        else ""
    )
    return (
        f"role {role} {action}: read-only SELECT on schema {AGGREGATE_SCHEMA} "
        f"({len(views)} views: {', '.join(views)}; and its aggregate tables), no access to "
        f"{PRIVATE_SCHEMA} or {OPS_SCHEMA}, no write or TEMP privilege anywhere{taken}; it "
        f"{access}"
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
