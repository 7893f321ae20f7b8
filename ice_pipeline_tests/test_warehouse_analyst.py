"""The analyst role: SELECT on the aggregate views, refused on respondent-level and ops tables."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import sqlalchemy
from psycopg import sql as pg_sql
from sqlalchemy.engine import make_url

from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.analyst import grant_analyst
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition


def _libpq(url: str, **changes: str) -> str:
    """A psycopg connection string for a SQLAlchemy URL (optionally as another user)."""
    parsed = make_url(url).set(drivername="postgresql", **changes)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def migrated_postgres(postgres_url: str) -> str:
    return migrate_with_rows(postgres_url)


def migrate_with_rows(postgres_url: str) -> str:
    """Upgrade the database and write one aggregate and one respondent-level row."""
    upgrade(postgres_url)
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        replace_partition(
            engine,
            schema.ice_scores,
            pd.DataFrame(
                {
                    "provider_department": ["IT"],
                    "n_respondents": [12],
                    "suppressed": [False],
                    "ice_p": [71.5],
                    "no_tickets": [False],
                }
            ),
            {"period": "2025-01"},
        )
        replace_partition(
            engine,
            schema.survey_ratings,
            pd.DataFrame(
                {
                    "respondent_id": ["r1"],
                    "provider_department": ["IT"],
                    "dimension": ["speed"],
                    "consumer_department": ["Sales"],
                    "rating_raw": [4.0],
                    "scale_min": [1.0],
                    "scale_max": [5.0],
                    "reversed": [False],
                    "score": [75.0],
                    "favourable": [True],
                    "source_file": ["s.csv"],
                    "source_sha256": ["e" * 64],
                    "source_row": [4],
                }
            ),
            {"period": "2025-01"},
        )
    finally:
        engine.dispose()
    return postgres_url


@pytest.fixture
def role_name(postgres_url: str) -> Iterator[str]:
    """A unique role name; roles are global to the cluster, so drop it after the test."""
    role = f"ice_analyst_{uuid.uuid4().hex[:10]}"
    yield role
    drop_role(postgres_url, role)


def drop_role(postgres_url: str, role: str) -> None:
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            conn.execute(pg_sql.SQL("DROP OWNED BY {}").format(pg_sql.Identifier(role)))
            conn.execute(pg_sql.SQL("DROP ROLE {}").format(pg_sql.Identifier(role)))


def _as_role(url: str, role: str, statement: str) -> list[tuple]:
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute(pg_sql.SQL("SET ROLE {}").format(pg_sql.Identifier(role)))
        return conn.execute(statement).fetchall()


def test_role_reads_views_and_is_refused_elsewhere(migrated_postgres: str, role_name: str) -> None:
    message = grant_analyst(migrated_postgres, role_name)
    assert f"role {role_name} created" in message
    views = len(list((Path(__file__).parents[1] / "sql" / "views").glob("*.sql")))
    assert f"{views} views" in message and "NOLOGIN" in message

    rows = _as_role(
        migrated_postgres,
        role_name,
        "SELECT period, provider_department, ice_p FROM ice.v_index_by_provider",
    )
    assert rows == [("2025-01", "IT", 71.5)]
    assert _as_role(migrated_postgres, role_name, "SELECT count(*) FROM ice.v_report_archive") == [
        (0,)
    ]

    refused = [
        "SELECT * FROM ice_private.survey_ratings",
        "SELECT * FROM ice_private.survey_answers",  # the coded tables behind the view
        "SELECT * FROM ice_private.survey_responses",
        "SELECT * FROM ice_private.survey_items",
        "SELECT * FROM ice_private.employees",
        "SELECT * FROM ice_ops.delivery_ledger",
        "SELECT html FROM ice_ops.report_archive",
        "INSERT INTO ice.ice_scores (period, provider_department, n_respondents, suppressed, "
        "no_tickets) VALUES ('2025-02', 'HR', 5, false, false)",
        "DELETE FROM ice.ice_scores",
        "CREATE TABLE ice.mine (x int)",
        "CREATE VIEW ice.peek AS SELECT 1 AS x",
    ]
    for statement in refused:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as_role(migrated_postgres, role_name, statement)


def test_login_role_is_read_only_and_idempotent(
    migrated_postgres: str, role_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICE_TEST_ANALYST_PASSWORD", "analyst-pw")
    grant_analyst(migrated_postgres, role_name, password_env="ICE_TEST_ANALYST_PASSWORD")
    # A second run updates the same role and grants nothing more.
    message = grant_analyst(migrated_postgres, role_name, password_env="ICE_TEST_ANALYST_PASSWORD")
    assert f"role {role_name} updated" in message
    assert "can log in with the password from ICE_TEST_ANALYST_PASSWORD" in message

    login = _libpq(migrated_postgres, username=role_name, password="analyst-pw")
    with psycopg.connect(login) as conn:  # trust auth on the test server: the login itself works
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SELECT ice_p FROM ice.v_trend").fetchall() == [(71.5,)]
    with psycopg.connect(login) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM ice_private.tickets")

    with psycopg.connect(_libpq(migrated_postgres)) as conn:
        privileges = conn.execute(
            "SELECT table_schema, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s GROUP BY 1, 2 ORDER BY 1, 2",
            (role_name,),
        ).fetchall()
        attributes = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = %s",
            (role_name,),
        ).fetchone()
    assert privileges == [("ice", "SELECT")]
    assert attributes == (True, False, False, False)


def test_views_recreated_by_upgrade_stay_readable(migrated_postgres: str, role_name: str) -> None:
    grant_analyst(migrated_postgres, role_name)
    engine = sqlalchemy.create_engine(migrated_postgres)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP VIEW ice.v_trend")
    engine.dispose()
    upgrade(migrated_postgres)  # creates v_trend anew: default privileges grant it again
    assert _as_role(migrated_postgres, role_name, "SELECT count(*) FROM ice.v_trend") == [(1,)]


@pytest.mark.parametrize(
    "bad", ["Robert'); DROP TABLE x;--", "pg_monitor", "1abc", "UPPER", "public"]
)
def test_role_name_is_validated(bad: str) -> None:
    with pytest.raises(IceError, match="cannot be used as an analyst role name"):
        grant_analyst("postgresql+psycopg://postgres@127.0.0.1:1/none", bad)


def test_missing_password_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICE_NO_SUCH_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as caught:
        grant_analyst(
            "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "ice_analyst",
            password_env="ICE_NO_SUCH_PASSWORD",
        )
    assert caught.value.setting == "ICE_NO_SUCH_PASSWORD"


def test_warehouse_must_be_upgraded_first(postgres_url: str, role_name: str) -> None:
    with pytest.raises(ConfigError, match="run `ice-pipeline warehouse upgrade` first"):
        grant_analyst(postgres_url, role_name)


def test_duckdb_has_no_roles(tmp_path: Path) -> None:
    path = tmp_path / "data" / "warehouse.duckdb"
    with pytest.raises(ConfigError) as caught:
        grant_analyst(f"duckdb:///{path}", "ice_analyst")
    assert "duckdb -readonly" in str(caught.value)
    assert not path.parent.exists()


def test_user_without_createrole_gets_a_clear_message(
    migrated_postgres: str, role_name: str
) -> None:
    weak = f"ice_weak_{uuid.uuid4().hex[:10]}"
    admin = _libpq(migrated_postgres)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(pg_sql.SQL("CREATE ROLE {} LOGIN").format(pg_sql.Identifier(weak)))
    try:
        weak_url = make_url(migrated_postgres).set(username=weak).render_as_string(False)
        with pytest.raises(ConfigError) as caught:
            grant_analyst(weak_url, role_name)
        assert "may not manage role" in str(caught.value)
        assert "CREATEROLE" in str(caught.value)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(pg_sql.SQL("DROP ROLE {}").format(pg_sql.Identifier(weak)))
