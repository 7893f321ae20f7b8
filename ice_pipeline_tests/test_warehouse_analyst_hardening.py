"""The PostgreSQL analyst role cannot be turned against the warehouse (issue 11, items 4 and 7).

Read-only rests on privileges, not on a setting: after ``SET default_transaction_read_only = off``
every write still fails, TEMP is refused, and v_report_archive shows no server path.
grant-analyst refuses the current user, the owners and existing roles it did not create (unless
``--allow-existing-role``), never turns a login role into NOLOGIN, and rolls back whole when
the role would not end up read-only.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy.engine import make_url

from ice_pipeline.cli import main
from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline.reports.archive import archive_report
from ice_pipeline.warehouse.analyst import grant_analyst
from ice_pipeline.warehouse.analyst_checks import ROLE_MARK, read_only_problems
from ice_pipeline_tests.test_warehouse_analyst import _libpq, drop_role, migrate_with_rows

PASSWORD_ENV = "ICE_TEST_ANALYST_PASSWORD"


@pytest.fixture
def migrated_postgres(postgres_url: str) -> str:
    return migrate_with_rows(postgres_url)


@pytest.fixture
def role_name(postgres_url: str) -> Iterator[str]:
    role = f"ice_analyst_{uuid.uuid4().hex[:10]}"
    yield role
    drop_role(postgres_url, role)


@pytest.fixture
def extra_roles(postgres_url: str) -> Iterator[list[str]]:
    """Roles a test creates itself, dropped afterwards (roles are global to the cluster)."""
    created: list[str] = []
    yield created
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        for role in reversed(created):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(
                    pg_sql.SQL("REASSIGN OWNED BY {} TO postgres").format(pg_sql.Identifier(role))
                )
                conn.execute(pg_sql.SQL("DROP OWNED BY {}").format(pg_sql.Identifier(role)))
                conn.execute(pg_sql.SQL("DROP ROLE {}").format(pg_sql.Identifier(role)))


def _admin(url: str, *statements: str) -> None:
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _role_state(url: str, role: str) -> tuple:
    with psycopg.connect(_libpq(url)) as conn:
        return conn.execute(
            "SELECT rolcanlogin, shobj_description(oid, 'pg_authid'), "
            "has_table_privilege(rolname, 'ice_private.survey_ratings', 'SELECT') "
            "FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone()


def test_no_write_after_turning_read_only_off_and_no_temp(
    migrated_postgres: str, role_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "analyst-pw")
    message = grant_analyst(migrated_postgres, role_name, password_env=PASSWORD_ENV)
    assert "no write or TEMP privilege anywhere" in message
    login = _libpq(migrated_postgres, username=role_name, password="analyst-pw")
    attempts = [
        "INSERT INTO ice.ice_scores (period, provider_department, n_respondents, suppressed, "
        "no_tickets) VALUES ('2025-02', 'HR', 5, false, false)",
        "UPDATE ice.ice_scores SET ice_p = 0",
        "DELETE FROM ice.ice_scores",
        "TRUNCATE ice.ice_scores",
        "CREATE TEMPORARY TABLE scratch (x int)",
        "CREATE TABLE public.scratch (x int)",
        "CREATE TABLE ice.scratch (x int)",
        "SELECT * FROM ice_private.survey_ratings",
    ]
    for statement in attempts:
        with psycopg.connect(login) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
            conn.commit()
            # The setting did turn off: what stops the write below is the missing privilege.
            assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with psycopg.connect(login) as conn:
        assert conn.execute("SELECT ice_p FROM ice.ice_scores").fetchall() == [(71.5,)]
    engine = sqlalchemy.create_engine(migrated_postgres)
    try:
        with engine.connect() as connection:
            assert read_only_problems(connection, role_name) == []
            # The pipeline's own user keeps TEMP (upserts stage rows in temporary tables).
            connection.exec_driver_sql("CREATE TEMPORARY TABLE staging (x int)")
    finally:
        engine.dispose()


def test_report_archive_view_shows_no_server_path(
    migrated_postgres: str, role_name: str, tmp_path: Path
) -> None:
    engine = sqlalchemy.create_engine(migrated_postgres)
    try:
        archived = archive_report(
            engine,
            period="2025-01",
            kind="executive_summary",
            audience="executives",
            html="<p>report</p>",
            input_fingerprints={"t": "x"},
            run_id="r1",
            reports_dir=tmp_path / "srv" / "reports",
        )
    finally:
        engine.dispose()
    assert archived.file_path and archived.file_path.startswith(str(tmp_path))
    grant_analyst(migrated_postgres, role_name)
    with psycopg.connect(_libpq(migrated_postgres)) as conn:
        conn.execute(pg_sql.SQL("SET ROLE {}").format(pg_sql.Identifier(role_name)))
        cursor = conn.execute("SELECT * FROM ice.v_report_archive")
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    assert "file_path" not in names
    assert rows[0][names.index("file_name")] == Path(archived.file_path).name
    assert "/" not in repr(rows) and str(tmp_path) not in repr(rows)


def test_existing_login_role_is_refused_unless_allowed(
    migrated_postgres: str, extra_roles: list[str]
) -> None:
    person = f"alice_{uuid.uuid4().hex[:8]}"
    extra_roles.append(person)
    _admin(
        migrated_postgres,
        f"CREATE ROLE {person} LOGIN PASSWORD 'alice-pw'",
        f"GRANT USAGE ON SCHEMA ice_private TO {person}",
        f"GRANT SELECT ON ice_private.survey_ratings TO {person}",
    )
    before = _role_state(migrated_postgres, person)
    with pytest.raises(IceError, match="already exists \\(a login role\\).*--allow-existing-role"):
        grant_analyst(migrated_postgres, person)
    assert _role_state(migrated_postgres, person) == before == (True, None, True)

    message = grant_analyst(migrated_postgres, person, allow_existing=True)
    assert "keeps its LOGIN" in message and "were revoked" in message
    assert _role_state(migrated_postgres, person) == (True, ROLE_MARK, False)


@pytest.mark.parametrize("allow_existing", [False, True])
def test_current_user_and_owner_are_always_refused(
    migrated_postgres: str, extra_roles: list[str], allow_existing: bool
) -> None:
    with pytest.raises(IceError, match="the user grant-analyst runs as"):
        grant_analyst(migrated_postgres, "postgres", allow_existing=allow_existing)
    owner = f"ice_owner_{uuid.uuid4().hex[:8]}"
    extra_roles.append(owner)
    _admin(
        migrated_postgres,
        f"CREATE ROLE {owner} LOGIN",
        f"ALTER TABLE ice.ice_scores OWNER TO {owner}",
    )
    with pytest.raises(IceError, match="an owner of the warehouse"):
        grant_analyst(migrated_postgres, owner, allow_existing=allow_existing)
    with psycopg.connect(_libpq(migrated_postgres)) as conn:
        assert conn.execute(
            "SELECT rolcanlogin, has_table_privilege(%s, 'ice.ice_scores', 'INSERT') "
            "FROM pg_roles WHERE rolname = %s",
            (owner, owner),
        ).fetchone() == (True, True)


def test_a_role_that_would_still_write_is_rolled_back(
    migrated_postgres: str, extra_roles: list[str]
) -> None:
    writer, member = (f"ice_writer_{uuid.uuid4().hex[:8]}", f"bob_{uuid.uuid4().hex[:8]}")
    extra_roles.extend([member, writer])
    _admin(
        migrated_postgres,
        f"CREATE ROLE {writer} NOLOGIN",
        f"GRANT USAGE ON SCHEMA ice TO {writer}",
        f"GRANT INSERT ON ice.ice_scores TO {writer}",
        f"CREATE ROLE {member} LOGIN IN ROLE {writer}",
    )
    with pytest.raises(ConfigError, match="would not be read-only.*INSERT on ice.ice_scores"):
        grant_analyst(migrated_postgres, member, allow_existing=True)
    # Nothing of the attempt stayed: no mark, no grant.
    assert _role_state(migrated_postgres, member) == (True, None, False)


def test_cli_refuses_the_pipelines_own_user(
    migrated_postgres: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("ICE_WAREHOUSE_URL", migrated_postgres)
    user = make_url(migrated_postgres).username
    assert main(["warehouse", "grant-analyst", str(user), "--allow-existing-role"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("ice-pipeline: grant-analyst: role postgres is the user")
        and err.count("\n") == 1
    )
