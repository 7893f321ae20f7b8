"""What grant-analyst checks before and after granting: whose role it is, and that it only reads.

Belongs here: the facts about an existing role (does it exist, did grant-analyst make it, is it
the current user or an owner of the warehouse), the refusal of roles that must not be taken
over, and :func:`require_read_only`, which asks PostgreSQL itself (``has_*_privilege``, which
follows role membership and PUBLIC) whether the role could write anything, create anything,
use TEMP, or read ``ice_private``/``ice_ops``. The grants themselves are in ``analyst.py``.
"""

from dataclasses import dataclass, field

import sqlalchemy

from ice_pipeline.errors import ConfigError, IceError, printable
from ice_pipeline.warehouse.schema import ALL_SCHEMAS, OPS_SCHEMA, PRIVATE_SCHEMA

# Written on every role grant-analyst creates; a role bearing it may be updated again.
ROLE_MARK = "ice-pipeline analyst role (made by ice-pipeline warehouse grant-analyst)"
# Predefined roles that would let a member write data or files on the server.
_DANGEROUS_MEMBERSHIPS = (
    "pg_write_all_data",
    "pg_read_all_data",
    "pg_write_server_files",
    "pg_read_server_files",
    "pg_execute_server_program",
)
_WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@dataclass
class RoleFacts:
    """The role asked for, and who is asking."""

    role: str
    database: str
    current_user: str
    session_user: str
    as_superuser: bool  # the current user is a superuser
    exists: bool = False
    ours: bool = False  # carries ROLE_MARK
    can_login: bool = False
    superuser: bool = False
    owners: set[str] = field(default_factory=set)  # of the database and the warehouse objects


def role_facts(connection: sqlalchemy.Connection, role: str) -> RoleFacts:
    database, current, session, as_superuser = connection.exec_driver_sql(
        "SELECT current_database(), current_user, session_user, "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    ).one()
    facts = RoleFacts(role, database, current, session, bool(as_superuser))
    found = connection.exec_driver_sql(
        "SELECT rolcanlogin, rolsuper, shobj_description(oid, 'pg_authid') "
        "FROM pg_roles WHERE rolname = %(role)s",
        {"role": role},
    ).first()
    if found is not None:
        facts.exists = True
        facts.can_login, facts.superuser = bool(found[0]), bool(found[1])
        facts.ours = found[2] == ROLE_MARK
    facts.owners = {
        owner
        for (owner,) in connection.exec_driver_sql(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database() "
            "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
            "WHERE nspname = ANY(%(schemas)s) "
            "UNION SELECT pg_get_userbyid(c.relowner) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(schemas)s)",
            {"schemas": list(ALL_SCHEMAS)},
        )
    }
    return facts


def refuse_role(facts: RoleFacts, *, allow_existing: bool) -> None:
    """Raise IceError for a role grant-analyst must not turn into an analyst."""
    role = facts.role
    if role in {facts.current_user, facts.session_user} or role in facts.owners:
        who = (
            "the user grant-analyst runs as (the pipeline's own database user)"
            if role in {facts.current_user, facts.session_user}
            else "an owner of the warehouse database or its objects"
        )
        raise IceError(
            f"role {role} is {who}; making it a read-only analyst would revoke what the "
            "pipeline needs to write",
            fix="give analysts a role of their own, e.g. `ice-pipeline warehouse grant-analyst "
            "ice_analyst`",
            where="grant-analyst",
        )
    if facts.exists and facts.superuser:
        raise IceError(
            f"role {role} is an existing superuser, which no grant can make read-only",
            fix="choose a new role name for analysts",
            where="grant-analyst",
        )
    if facts.exists and not facts.ours and not allow_existing:
        kind = "a login role" if facts.can_login else "a group role"
        raise IceError(
            f"role {role} already exists ({kind}) and was not created by grant-analyst; "
            f"making it an analyst would revoke its privileges on {PRIVATE_SCHEMA} and "
            f"{OPS_SCHEMA} and its write privileges",
            fix="choose a new role name, or pass --allow-existing-role to make this existing "
            "role read-only on purpose (its login is kept)",
            where="grant-analyst",
        )


def _found(connection: sqlalchemy.Connection, sql: str, role: str) -> list[str]:
    return [str(row[0]) for row in connection.exec_driver_sql(sql, {"role": role})]


def read_only_problems(connection: sqlalchemy.Connection, role: str) -> list[str]:
    """Everything ``role`` could do beyond reading schema ``ice`` (empty: read-only)."""
    writes = ", ".join(f"('{p}')" for p in _WRITE_PRIVILEGES)
    user_schemas = "n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'"
    problems = _found(
        connection,
        f"SELECT p.priv || ' on ' || n.nspname || '.' || c.relname FROM pg_class AS c "  # noqa: S608 - constants only
        f"JOIN pg_namespace AS n ON n.oid = c.relnamespace CROSS JOIN (VALUES {writes}) AS p(priv) "
        f"WHERE {user_schemas} AND CASE WHEN c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        # CASE: PostgreSQL may evaluate the privilege function before the relkind test.
        "THEN has_table_privilege(%(role)s, c.oid, p.priv) ELSE false END ORDER BY 1",
        role,
    )
    problems += _found(
        connection,
        "SELECT 'UPDATE on sequence ' || n.nspname || '.' || c.relname FROM pg_class AS c "  # noqa: S608
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        f"WHERE {user_schemas} AND CASE WHEN c.relkind = 'S' "
        "THEN has_sequence_privilege(%(role)s, c.oid, 'UPDATE') ELSE false END ORDER BY 1",
        role,
    )
    problems += _found(
        connection,
        "SELECT 'CREATE on schema ' || n.nspname FROM pg_namespace AS n "  # noqa: S608
        f"WHERE {user_schemas} AND has_schema_privilege(%(role)s, n.oid, 'CREATE') ORDER BY 1",
        role,
    )
    problems += [
        f"{privilege} on {schema}"
        for schema in (PRIVATE_SCHEMA, OPS_SCHEMA)
        for (privilege,) in connection.exec_driver_sql(
            "SELECT 'USAGE' WHERE has_schema_privilege(%(role)s, %(schema)s, 'USAGE') "
            "UNION ALL SELECT 'SELECT on a table' WHERE EXISTS (SELECT 1 FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s "
            "AND CASE WHEN c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "THEN has_table_privilege(%(role)s, c.oid, 'SELECT') ELSE false END)",
            {"role": role, "schema": schema},
        )
    ]
    problems += _found(
        connection,
        "SELECT p || ' on the database' FROM unnest(ARRAY['CREATE', 'TEMPORARY']) AS p "
        "WHERE has_database_privilege(%(role)s, current_database(), p) ORDER BY 1",
        role,
    )
    problems += _found(
        connection,
        "SELECT 'attribute ' || a FROM pg_roles AS r, LATERAL (VALUES "
        "('SUPERUSER', r.rolsuper), ('CREATEROLE', r.rolcreaterole), ('CREATEDB', r.rolcreatedb), "
        "('REPLICATION', r.rolreplication), ('BYPASSRLS', r.rolbypassrls)) AS f(a, v) "
        "WHERE r.rolname = %(role)s AND f.v ORDER BY 1",
        role,
    )
    problems += [
        f"member of {name}"
        for (name,) in connection.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%(dangerous)s) "
            "AND pg_has_role(%(role)s, oid, 'MEMBER') ORDER BY 1",
            {"role": role, "dangerous": list(_DANGEROUS_MEMBERSHIPS)},
        )
    ]
    return problems


def require_read_only(connection: sqlalchemy.Connection, role: str) -> None:
    """Raise ConfigError (the caller's transaction then rolls back) unless ``role`` only reads."""
    problems = read_only_problems(connection, role)
    if problems:
        shown = "; ".join(problems[:6]) + (
            f"; {len(problems) - 6} more" if len(problems) > 6 else ""
        )
        raise ConfigError(
            "ICE_WAREHOUSE_URL",
            f"role {printable(role)} would not be read-only after granting ({shown}), so "
            "nothing was changed",
            fix="remove those privileges or memberships from the role (or from PUBLIC), or "
            "choose a new role name",
        )
