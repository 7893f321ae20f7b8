"""Shared fixtures: a fresh warehouse on every engine, and the realdata location.

``warehouse_url`` is parametrised over DuckDB (a file in tmp_path) and PostgreSQL (a throwaway
database created on the server named by ICE_TEST_POSTGRES_URL). Without that variable the
PostgreSQL cases skip locally, but fail under CI=true so a CI run can never pass on DuckDB alone.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _postgres_admin_url() -> str | None:
    url = os.environ.get("ICE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "CI=true but ICE_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI"
            )
        return None
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip("ICE_TEST_POSTGRES_URL is not set")
    name = f"ice_t_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty warehouse URL on each engine in turn."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def realdata_dir() -> Path:
    """The real third-party exports, copied into the fixtures with their SOURCE.md."""
    return FIXTURES / "realdata"
