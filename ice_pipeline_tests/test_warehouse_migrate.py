"""Migrations: upgrade creates exactly schema.py's tables and the views, on both engines."""

import shutil
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String, inspect

from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    head_revision,
    upgrade,
    upgrade_connection,
    view_files,
)

EXPECTED_VIEWS = [
    "v_correlations",
    "v_departments",
    "v_index_by_provider",
    "v_provider_consumer_matrix",
    "v_report_archive",
    "v_trend",
    "v_turnover",
]


def _type_family(sql_type: sqlalchemy.types.TypeEngine) -> str:
    """Compare declared and reflected types by family (DuckDB reflects DOUBLE as FLOAT etc.)."""
    if isinstance(sql_type, Boolean):
        return "bool"
    if isinstance(sql_type, Integer):
        return "int"
    if isinstance(sql_type, Float | sqlalchemy.types.Double):
        return "float"
    if isinstance(sql_type, DateTime):
        return "timestamp"
    if isinstance(sql_type, Date):
        return "date"
    if isinstance(sql_type, String):
        return "text"
    return repr(sql_type)


def _float_is_double(engine: sqlalchemy.Engine, table: sqlalchemy.Table, column: str) -> bool:
    with engine.connect() as conn:
        data_type = conn.exec_driver_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = "
            f"'{table.schema}' AND table_name = '{table.name}' AND column_name = '{column}'"
        ).scalar_one()
    return data_type.upper() in {"DOUBLE", "DOUBLE PRECISION"}


def _primary_key(engine: sqlalchemy.Engine, table: sqlalchemy.Table) -> list[str]:
    if engine.dialect.name == "duckdb":  # duckdb-engine does not reflect primary keys
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = "
                f"'{table.schema}' AND table_name = '{table.name}' "
                "AND constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        return list(rows[0][0]) if rows else []
    return inspect(engine).get_pk_constraint(table.name, schema=table.schema)["constrained_columns"]


def test_upgrade_is_idempotent_and_reports_head(warehouse_url: str) -> None:
    assert current_revision(warehouse_url) is None
    assert upgrade(warehouse_url) == head_revision() == "0008_coded"  # issue 13's coded table
    assert current_revision(warehouse_url) == head_revision()
    engine = connect_warehouse(warehouse_url)
    try:
        with engine.connect() as conn:
            before = conn.exec_driver_sql(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('ice', 'ice_private', 'ice_ops') ORDER BY 1, 2"
            ).fetchall()
        assert upgrade(warehouse_url) == head_revision()
        with engine.connect() as conn:
            after = conn.exec_driver_sql(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('ice', 'ice_private', 'ice_ops') ORDER BY 1, 2"
            ).fetchall()
            versions = conn.exec_driver_sql("SELECT version_num FROM ice_ops.alembic_version").all()
    finally:
        engine.dispose()
    assert before == after
    assert versions == [(head_revision(),)]
    # the tables of record (survey_ratings among them, as a view) + alembic_version + views
    assert len(after) == len(schema.metadata.tables) + 1 + len(EXPECTED_VIEWS)


def test_migrated_schema_matches_schema_of_record(warehouse_url: str) -> None:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    try:
        inspector = inspect(engine)
        for table_schema in schema.ALL_SCHEMAS:
            declared = {
                t.name
                for t in schema.metadata.tables.values()
                if t.schema == table_schema and not schema.is_view(t)
            }
            found = set(inspector.get_table_names(schema=table_schema)) - {"alembic_version"}
            assert found == declared, table_schema
        assert inspector.get_view_names(schema="ice_private") == ["survey_ratings"]
        for table in schema.metadata.tables.values():
            reflected = {
                c["name"]: c for c in inspector.get_columns(table.name, schema=table.schema)
            }
            assert list(reflected) == list(table.columns.keys()), table.fullname
            for column in table.columns:
                got = reflected[column.name]
                where = f"{table.fullname}.{column.name}"
                # A view's columns are nullable in the catalogue; its tables hold the NOT NULLs.
                assert got["nullable"] == column.nullable or schema.is_view(table), where
                assert _type_family(got["type"]) == _type_family(column.type), where
                if isinstance(column.type, Float):
                    assert _float_is_double(engine, table, column.name), where
            declared_pk = [c.name for c in table.primary_key.columns]
            if table in schema.BULK_FEED_TABLES or schema.is_view(table):
                assert _primary_key(engine, table) == [], table.fullname
            else:
                assert _primary_key(engine, table) == declared_pk, table.fullname
        assert sorted(inspector.get_view_names(schema="ice")) == EXPECTED_VIEWS
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                brin = (
                    conn.exec_driver_sql(
                        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin' ORDER BY 1"
                    )
                    .scalars()
                    .all()
                )
            assert brin == [
                "ix_employees_snapshot_period",
                "ix_survey_answers_period",
                "ix_survey_answers_response_key",
                "ix_survey_comments_period",
                "ix_survey_responses_period",
                "ix_tickets_period",
            ]
    finally:
        engine.dispose()


def test_view_files_apply_in_name_order() -> None:
    names = [path.name for path in view_files()]
    assert names == sorted(names)
    assert [name.split("_", 1)[1].removesuffix(".sql") for name in names] == [
        "v_index_by_provider",
        "v_provider_consumer_matrix",
        "v_trend",
        "v_turnover",
        "v_correlations",
        "v_report_archive",
        "v_departments",
    ]


def test_a_later_revision_applies_on_top(warehouse_url: str, tmp_path: Path) -> None:
    """Future migrations work on both engines: Alembic updates its version row on DuckDB too."""
    upgrade(warehouse_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_test.py").write_text(
        '"""Test revision."""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "9999_test"\ndown_revision = "{head_revision()}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.add_column("run_log", sa.Column("host", sa.Text()), schema="ice_ops")\n'
        "\n\ndef downgrade() -> None:\n"
        '    op.drop_column("run_log", "host", schema="ice_ops")\n'
    )
    engine = connect_warehouse(warehouse_url)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(scripts))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        assert current_revision(warehouse_url) == "9999_test"
        columns = [c["name"] for c in inspect(engine).get_columns("run_log", schema="ice_ops")]
        assert columns[-1] == "host"
    finally:
        engine.dispose()


def test_failed_upgrade_leaves_nothing(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables, version row and views go in one transaction: a broken view rolls all back."""
    from ice_pipeline.warehouse import migrate

    def broken_views(connection: sqlalchemy.Connection) -> list[str]:
        connection.exec_driver_sql("CREATE OR REPLACE VIEW ice.v_broken AS SELECT * FROM ice.nope")
        return []

    monkeypatch.setattr(migrate, "apply_views", broken_views)
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        upgrade(warehouse_url)
    assert current_revision(warehouse_url) is None
    engine = connect_warehouse(warehouse_url)
    try:
        assert inspect(engine).get_table_names(schema="ice") == []
    finally:
        engine.dispose()


def test_upgrade_connection_in_callers_transaction(duckdb_url: str) -> None:
    engine = connect_warehouse(duckdb_url)
    try:
        with engine.begin() as conn:
            assert upgrade_connection(conn) == head_revision()
        assert current_revision(duckdb_url) == head_revision()
    finally:
        engine.dispose()
