"""Attacks 3 and 5 of issue 11, on one real run of the nightly job (DuckDB warehouse, SMTP login).

Attack 3: a DuckDB analyst opens the file the docs tell them to open. It used to be the warehouse
itself, with every answer (``ice_private``) and the delivery ledger (``ice_ops``) in it; now it is
the analyst file, which holds schema ``ice`` and nothing else.

Attack 5: the pseudonym salt and the SMTP password used to be literal resource config, stored in
clear in every run's job snapshot. The run below uses both for real (ids are hashed with the salt,
the job logs in to an aiosmtpd server with the password); afterwards neither may be found
anywhere: the Dagster instance (run storage, event logs, snapshots, compressed or not), the
warehouse, the analyst file, the cache, the reports, the outbox and the runner's output.
"""

import io
import json
import os
import socket
import sqlite3
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.runner import Runner, RunSummary
from ice_pipeline.warehouse.analyst_file import ANALYST_FILE_NAME

pytestmark = pytest.mark.slow

PERIOD = "2026-10"
SALT = f"salt-{uuid.uuid4().hex}"
SMTP_PASSWORD = f"pw-{uuid.uuid4().hex}"
SMTP_USER = "svc-ice"
SECRETS = {"salt": SALT, "smtp password": SMTP_PASSWORD}


class LoginRecorder:
    """An SMTP handler that keeps the messages and the logins it accepted."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.original_content)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):  # noqa: ANN201
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password.decode() == SMTP_PASSWORD, handled=False)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One run of the job for PERIOD, with a salt and an SMTP login; what it left behind."""
    root = tmp_path_factory.mktemp("attack")
    data_dir, home = root / "data", root / "dagster_home"
    generate_demo(data_dir / "landing", employees=300, periods=2, end_period=PERIOD)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    config = root / "ice.yaml"
    config.write_text(
        "email:\n  recipients:\n    executive_summary: [ceo@example.com]\n"
        "  allowed_domains: [example.com]\n"
    )
    recorder = LoginRecorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=recorder.authenticate,
        auth_required=True,
        auth_require_tls=False,  # loopback only; the point here is where the password ends up
    )
    controller.start()
    environ = {
        "ICE_DATA_DIR": str(data_dir),
        "ICE_CONFIG": str(config),
        "ICE_PSEUDONYM_SALT": SALT,
        "ICE_SMTP_HOST": "127.0.0.1",
        "ICE_SMTP_PORT": str(controller.port),
        "ICE_SMTP_SECURITY": "none",
        "ICE_SMTP_USER": SMTP_USER,
        "ICE_SMTP_PASSWORD": SMTP_PASSWORD,
        "ICE_SMTP_FROM": "ice-reports@example.com",
        "DAGSTER_HOME": str(home),
    }
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("ICE_")]:
            patch.delenv(name)
        for name, value in environ.items():
            patch.setenv(name, value)  # the CLI's path: the process environment
        try:
            summary: RunSummary = Runner(out=output).run([PERIOD])
            instance_dump = _instance_dump(dg.DagsterInstance.get())
        finally:
            dispose_engines()
            controller.stop()
    yield {
        "summary": summary,
        "data_dir": data_dir,
        "home": home,
        "output": output.getvalue(),
        "recorder": recorder,
        "instance_dump": instance_dump,
    }


# --- Attack 5: the secrets ----------------------------------------------------------------------


def _instance_dump(instance: dg.DagsterInstance) -> str:
    """Everything the instance API serves about every run: config, tags, snapshots, event logs."""
    from dagster._serdes import serialize_value

    parts = []
    for run in instance.get_runs():
        parts.append(json.dumps(run.run_config, default=str))
        parts.append(json.dumps(dict(run.tags)))
        if run.job_snapshot_id:
            parts.append(serialize_value(instance.get_job_snapshot(run.job_snapshot_id)))
        if run.execution_plan_snapshot_id:
            plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            parts.append(serialize_value(plan))
        for record in instance.all_logs(run.run_id):
            parts.append(serialize_value(record))
    return "\n".join(parts)


def _sqlite_texts(path: Path) -> Iterator[str]:
    """Every value of every table of a SQLite file, compressed blobs (Dagster snapshots) opened."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes):
                        try:
                            yield zlib.decompress(value).decode("utf-8", "replace")
                        except zlib.error:
                            yield value.decode("utf-8", "replace")
                    elif value is not None:
                        yield str(value)


def _duckdb_texts(path: Path) -> Iterator[str]:
    """Every row of every table and view of a DuckDB file (its strings are stored compressed)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        relations = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        for schema, name in relations:
            yield repr(connection.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall())  # noqa: S608


def _file_texts(path: Path) -> Iterator[str]:
    yield path.read_bytes().decode("utf-8", "replace")
    if path.suffix == ".db" or path.name.endswith((".sqlite", ".sqlite3")):
        yield from _sqlite_texts(path)
    elif path.suffix == ".duckdb":
        yield from _duckdb_texts(path)
    elif path.suffix == ".parquet":
        yield repr(pq.read_table(path).to_pylist())


def _where_found(roots: list[Path], needle: str) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if any(needle in text for text in _file_texts(path)):
                found.append(str(path.relative_to(root.parent)))
    return found


def test_the_run_used_both_secrets(real_run: dict[str, Any]) -> None:
    summary = real_run["summary"]
    assert summary.ok, f"{summary.failed_step}: {summary.failure}"
    recorder: LoginRecorder = real_run["recorder"]
    assert (SMTP_USER, SMTP_PASSWORD) in recorder.logins  # the password really was resolved
    assert recorder.messages, "no report was delivered over SMTP"
    # Ids were hashed with this salt: the cached parses of the surveys name it by its hash only.
    assert any((real_run["data_dir"] / "cache").rglob("*.parquet"))


def test_no_secret_in_the_instance_warehouse_files_or_output(real_run: dict[str, Any]) -> None:
    roots = [real_run["home"], real_run["data_dir"]]
    assert (real_run["data_dir"] / "analyst" / ANALYST_FILE_NAME).is_file()
    assert list((real_run["home"]).rglob("*.db")), "the instance keeps its runs in SQLite files"
    # The scan looks inside the stored snapshots: it finds the variables' names there.
    assert _where_found([real_run["home"]], "ICE_SMTP_PASSWORD")
    assert "ICE_PSEUDONYM_SALT" in real_run["instance_dump"]
    for label, secret in SECRETS.items():
        assert _where_found(roots, secret) == [], f"the {label} was found"
        assert secret not in real_run["instance_dump"], f"the {label} is served by the instance"
        assert secret not in real_run["output"], f"the {label} was printed"


# --- Attack 3: the DuckDB file analysts open ----------------------------------------------------


def test_the_warehouse_file_is_not_for_analysts(real_run: dict[str, Any]) -> None:
    """The attack as it was: the warehouse file itself reads every answer."""
    with duckdb.connect(str(real_run["data_dir"] / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ice_private.survey_ratings").fetchone()[0] > 0


def test_the_analyst_file_holds_the_aggregates_and_nothing_personal(
    real_run: dict[str, Any],
) -> None:
    data_dir = real_run["data_dir"]
    warehouse, analyst = data_dir / "warehouse.duckdb", data_dir / "analyst" / ANALYST_FILE_NAME
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ice'"
            ).fetchall()
        }
        private_ids = {
            value
            for (value,) in con.execute(
                "SELECT respondent_id FROM ice_private.survey_ratings UNION "
                "SELECT employee_id FROM ice_private.employees"
            ).fetchall()
        }
        private_tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('ice_private', 'ice_ops')"
            ).fetchall()
        }
    assert private_ids and private_tables
    with duckdb.connect(str(analyst), read_only=True) as con:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        for hidden in sorted(private_tables):
            with pytest.raises(duckdb.CatalogException):
                con.execute(f"SELECT * FROM {hidden}")  # noqa: S608
        columns = {
            column
            for (column,) in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database()"
            ).fetchall()
        }
        contents = "".join(_duckdb_texts(analyst))
        top = con.execute("SELECT count(*) FROM ice.v_index_by_provider").fetchone()[0]
    assert {schema for schema, _ in relations} == {"ice"}
    assert {name for _, name in relations} == expected
    assert top > 0
    assert not columns & {"respondent_id", "employee_id", "responded_at", "comment", "html"}
    assert not [value for value in private_ids if value in contents]
    assert str(data_dir) not in contents and str(data_dir.resolve()) not in contents
    assert "@example.com" not in contents  # no recipient of the delivery ledger
