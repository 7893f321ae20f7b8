"""connect_warehouse: every wrong ICE_WAREHOUSE_URL ends in one ConfigError naming the setting."""

from pathlib import Path

import pytest
import sqlalchemy

from ice_pipeline.errors import ConfigError
from ice_pipeline.warehouse.engine import connect_warehouse, dialect_name


def test_duckdb_creates_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "warehouse.duckdb"
    engine = connect_warehouse(f"duckdb:///{path}")
    try:
        assert dialect_name(engine) == "duckdb"
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_postgres_dialect_name(postgres_url: str) -> None:
    engine = connect_warehouse(postgres_url)
    try:
        assert dialect_name(engine) == "postgresql"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url at all", "is not a database URL"),
        ("mysql://user@localhost/ice", "'mysql' is not supported"),
        ("postgresql://postgres@127.0.0.1/ice", "write the URL as postgresql+psycopg://"),
        ("postgresql+psycopg2://postgres@127.0.0.1/ice", "write the URL as postgresql+psycopg://"),
        ("sqlite:///x.db", "'sqlite' is not supported"),
    ],
)
def test_bad_url_names_the_setting(url: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        connect_warehouse(url)
    assert caught.value.setting == "ICE_WAREHOUSE_URL"
    assert expected in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_password_never_appears_in_messages() -> None:
    with pytest.raises(ConfigError) as caught:
        connect_warehouse("postgresql://ice:s3cret-pw@127.0.0.1:1/ice")
    assert "s3cret-pw" not in str(caught.value)


def test_unreachable_postgres(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        connect_warehouse("postgresql+psycopg://postgres:pw@127.0.0.1:1/ice")
    message = str(caught.value)
    assert caught.value.setting == "ICE_WAREHOUSE_URL"
    assert (
        "cannot connect to PostgreSQL at postgresql+psycopg://postgres:***@127.0.0.1:1/ice"
        in message
    )
    assert "pw@" not in message


def test_duckdb_under_a_file_used_as_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICE_WAREHOUSE_URL", "set")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as caught:
        connect_warehouse(f"duckdb:///{blocker / 'data' / 'warehouse.duckdb'}")
    assert caught.value.setting == "ICE_WAREHOUSE_URL"
    assert "cannot create the directory" in str(caught.value)
    assert blocker.read_text() == "x"


def test_default_duckdb_location_names_ice_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without ICE_WAREHOUSE_URL the file sits in ICE_DATA_DIR, so that is the setting to fix.
    monkeypatch.delenv("ICE_WAREHOUSE_URL", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as caught:
        connect_warehouse(f"duckdb:///{blocker / 'warehouse.duckdb'}")
    assert caught.value.setting == "ICE_DATA_DIR"
    assert str(caught.value).startswith("ICE_DATA_DIR: ")


def test_duckdb_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        connect_warehouse(f"duckdb:///{tmp_path}")
    assert "is a directory, not a file" in str(caught.value)


def test_duckdb_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_text("this is not a DuckDB file")
    with pytest.raises(ConfigError) as caught:
        connect_warehouse(f"duckdb:///{path}")
    assert f"cannot open the DuckDB warehouse {path}" in str(caught.value)
    assert path.read_text() == "this is not a DuckDB file"


def _setting(engine: sqlalchemy.Engine, name: str) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql(f"SELECT current_setting('{name}')").scalar())


def test_duckdb_memory_is_bounded_and_spills_beside_the_file(tmp_path: Path) -> None:
    """DuckDB's default (80% of RAM) let its cache hold whole tables; the bound applies to
    every connection, the expectation suite's own engine on the same file included."""
    path = tmp_path / "warehouse.duckdb"
    engine = connect_warehouse(f"duckdb:///{path}")
    other = sqlalchemy.create_engine(f"duckdb:///{path}")  # as GX opens it: the plain URL
    try:
        assert _setting(engine, "memory_limit") == "953.6 MiB"  # 1GB, as DuckDB shows it
        assert _setting(other, "memory_limit") == "953.6 MiB"
        assert _setting(engine, "temp_directory") == f"{path}.tmp"
    finally:
        other.dispose()
        engine.dispose()


def test_duckdb_memory_limit_in_the_url_wins(tmp_path: Path) -> None:
    engine = connect_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}?memory_limit=2GB")
    try:
        assert _setting(engine, "memory_limit") == "1.8 GiB"
    finally:
        engine.dispose()
