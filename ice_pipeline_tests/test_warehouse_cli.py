"""`ice-pipeline warehouse upgrade` end to end, including every wrong configuration.

A wrong setting must end with exit status 2, one line on stderr naming the setting, no
traceback, and nothing created.
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ice_pipeline.warehouse.migrate import head_revision

CLI = Path(sys.executable).parent / "ice-pipeline"


def _run(args: list[str], env_overrides: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICE_")}
    env.update(env_overrides)
    return subprocess.run(
        [str(CLI), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*"))


def test_upgrade_default_duckdb_in_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run(["warehouse", "upgrade"], {"ICE_DATA_DIR": str(data_dir)}, tmp_path)
    assert result.returncode == 0, result.stderr
    warehouse = data_dir / "warehouse.duckdb"
    assert f"warehouse at revision {head_revision()}: duckdb:///{warehouse}" in result.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT version_num FROM ice_ops.alembic_version").fetchall() == [
            (head_revision(),)
        ]
        views = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'ice' ORDER BY 1"
        ).fetchall()
    assert [v for (v,) in views] == [
        "v_correlations",
        "v_departments",
        "v_index_by_provider",
        "v_provider_consumer_matrix",
        "v_report_archive",
        "v_trend",
        "v_turnover",
    ]
    again = _run(["warehouse", "upgrade"], {"ICE_DATA_DIR": str(data_dir)}, tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"revision {head_revision()}" in again.stdout


def test_upgrade_postgres(postgres_url: str, tmp_path: Path) -> None:
    result = _run(
        ["warehouse", "upgrade"],
        {"ICE_WAREHOUSE_URL": postgres_url, "ICE_DATA_DIR": str(tmp_path / "data")},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"warehouse at revision {head_revision()}" in result.stdout
    assert not (tmp_path / "data").exists()  # a PostgreSQL warehouse needs no data directory


def _assert_config_failure(result: subprocess.CompletedProcess, setting: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ice-pipeline: {setting}: ")
    assert "Fix: " in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/ice", "cannot connect to PostgreSQL"),
        ("mysql://root@127.0.0.1/ice", "the database driver 'mysql' is not supported"),
        ("postgresql://postgres@127.0.0.1/ice", "postgresql+psycopg://postgres@127.0.0.1/ice"),
        ("::nonsense::", "is not a database URL"),
    ],
)
def test_wrong_warehouse_url(url: str, expected: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run(
        ["warehouse", "upgrade"],
        {"ICE_WAREHOUSE_URL": url, "ICE_DATA_DIR": str(data_dir)},
        tmp_path,
    )
    _assert_config_failure(result, "ICE_WAREHOUSE_URL")
    assert expected in result.stderr
    assert not data_dir.exists()
    assert _files_under(tmp_path) == []


def test_data_dir_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    result = _run(["warehouse", "upgrade"], {"ICE_DATA_DIR": str(blocker / "data")}, tmp_path)
    _assert_config_failure(result, "ICE_DATA_DIR")
    assert "point ICE_DATA_DIR at a directory this user can write" in result.stderr
    assert _files_under(tmp_path) == [blocker]


def test_explicit_duckdb_url_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    url = f"duckdb:///{blocker / 'wh' / 'warehouse.duckdb'}"
    result = _run(["warehouse", "upgrade"], {"ICE_WAREHOUSE_URL": url}, tmp_path)
    _assert_config_failure(result, "ICE_WAREHOUSE_URL")
    assert _files_under(tmp_path) == [blocker]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only directories")
def test_data_dir_in_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = _run(["warehouse", "upgrade"], {"ICE_DATA_DIR": str(locked / "data")}, tmp_path)
        _assert_config_failure(result, "ICE_DATA_DIR")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_grant_analyst_on_duckdb_explains_read_only_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run(
        ["warehouse", "grant-analyst", "ice_analyst"], {"ICE_DATA_DIR": str(data_dir)}, tmp_path
    )
    _assert_config_failure(result, "ICE_WAREHOUSE_URL")
    assert "duckdb -readonly" in result.stderr
    assert not data_dir.exists()
