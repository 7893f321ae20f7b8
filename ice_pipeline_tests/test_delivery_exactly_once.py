"""Exactly-once delivery (issue 12): concurrent runs, flaky SMTP servers, operator resolution.

Every test runs a real SMTP server (aiosmtpd on 127.0.0.1) that counts what it accepted, and the
ledger on both engines (``warehouse_url``: DuckDB, and PostgreSQL when ICE_TEST_POSTGRES_URL is
set). "Healthy re-run" means: the same delivery again against a server that behaves.
"""

import asyncio
import re
import socket
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, insert

from ice_pipeline.cli import main
from ice_pipeline.reports.archive import archive_report, input_fingerprints
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.delivery import (
    DeliveryOutcome,
    MailSettingsError,
    OutboxTransport,
    RetryPolicy,
    SmtpSettings,
    SmtpTransport,
    deliver,
    ledger_rows,
)
from ice_pipeline.reports.delivery_ops import delivery_verdict
from ice_pipeline.reports.ledger import now
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.migrate import upgrade

PERIOD = "2026-10"
FROM = "ice-reports@example.com"
FAST = RetryPolicy(attempts=3, backoff_s=0.01, factor=2.0)
KINDS = ("executive_summary", "provider:IT", "provider:HR")
RECIPIENTS = [f"person{i:02d}@example.com" for i in range(12)]


class CountingHandler:
    """Accepts and counts messages; scripted misbehaviour per test."""

    def __init__(
        self,
        *,
        refuse: str | None = None,
        quit_reply: str | None = None,
        drop_at_quit: bool = False,
        data_delay_s: float = 0.0,
    ) -> None:
        self.refuse = refuse
        self.quit_reply = quit_reply
        self.drop_at_quit = drop_at_quit
        self.data_delay_s = data_delay_s
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, envelope.original_content))
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)  # stored, but answers after the client gave up
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        if self.drop_at_quit:
            server.transport.abort()
        return self.quit_reply or "221 Bye"

    def count(self) -> Counter:
        with self.lock:
            return Counter(
                (rcpt, message_from_bytes(raw, policy=policy.default)["Message-ID"])
                for rcpt, raw in self.messages
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    started = []

    def start(handler: CountingHandler, **kwargs) -> int:
        controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **kwargs)
        controller.start()
        started.append(controller)
        return controller.port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def rendered():
    tables = sample_tables(PERIOD)
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    return render_report(view, audience="executives"), input_fingerprints(tables)


def _settings(port: int, timeout_s: float = 5, username: str | None = None) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        from_address=FROM,
        timeout_s=timeout_s,
        username=username,
    )


def _archive_all(url: str, tmp_path: Path, rendered_pair, kinds=KINDS):
    """The same rendering archived under several kinds: one report version each."""
    report, prints = rendered_pair
    upgrade(url)  # the migrated ledger, as `ice-pipeline delivery` expects
    engine = create_engine(url)
    archived = [
        archive_report(
            engine,
            period=PERIOD,
            kind=kind,
            audience=report.audience,
            html=report.html,
            input_fingerprints=prints,
            run_id="r1",
            reports_dir=tmp_path / "reports",
        )
        for kind in kinds
    ]
    return engine, archived, report


def _deliver_all(engine, archived, report, recipients, transport, **kwargs):
    return {
        a.kind: deliver(
            engine, a, recipients, transport, content=report, from_address=FROM, **kwargs
        )
        for a in archived
    }


def _statuses(engine, archived) -> Counter:
    return Counter(row["status"] for a in archived for row in ledger_rows(engine, a).values())


def test_two_concurrent_runs_deliver_each_version_to_each_recipient_once(
    warehouse_url, tmp_path, smtp_server, rendered
):
    """Two runs at once, each with its own connection pool, racing for the same 36 deliveries."""
    handler = CountingHandler()
    port = smtp_server(handler)
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered)
    barrier = threading.Barrier(2)
    results: dict[str, dict[str, DeliveryOutcome]] = {}
    errors: list[BaseException] = []

    def run(name: str, order: list[str]) -> None:
        own_engine = create_engine(warehouse_url)  # separate connections, as two runs have
        try:
            barrier.wait()
            results[name] = _deliver_all(
                own_engine, archived, report, order, SmtpTransport(_settings(port)), retry=FAST
            )
        except BaseException as err:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(err)
        finally:
            own_engine.dispose()

    threads = [
        threading.Thread(target=run, args=("a", RECIPIENTS)),
        threading.Thread(target=run, args=("b", list(reversed(RECIPIENTS)))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    counts = handler.count()
    assert len(handler.messages) == len(KINDS) * len(RECIPIENTS) == 36
    assert set(counts.values()) == {1}  # no (version, recipient) twice
    sent_by_both = sum(len(o.sent) for run in results.values() for o in run.values())
    assert sent_by_both == 36
    assert _statuses(engine, archived) == Counter({"sent": 36})
    assert {row["attempts"] for a in archived for row in ledger_rows(engine, a).values()} == {1}
    # A healthy re-run sends nothing more.
    again = _deliver_all(engine, archived, report, RECIPIENTS, SmtpTransport(_settings(port)))
    assert all(o.sent == [] and len(o.skipped) == 12 for o in again.values())
    assert len(handler.messages) == 36
    engine.dispose()


@pytest.mark.parametrize("misbehaviour", ["421_at_quit", "dropped_at_quit"])
def test_reply_lost_after_data_accepted_counts_as_sent(
    warehouse_url, tmp_path, smtp_server, rendered, misbehaviour
):
    handler = CountingHandler(
        quit_reply="421 4.3.2 closing" if misbehaviour == "421_at_quit" else None,
        drop_at_quit=misbehaviour == "dropped_at_quit",
    )
    port = smtp_server(handler)
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered, kinds=KINDS[:1])
    waits: list[float] = []
    outcome = deliver(
        engine,
        archived[0],
        RECIPIENTS[:3],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert outcome.sent == RECIPIENTS[:3] and outcome.ok and waits == []
    assert len(handler.messages) == 3
    rows = ledger_rows(engine, archived[0])
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("sent", 1)}
    assert all(r["target"] == f"smtp://127.0.0.1:{port}" for r in rows.values())
    engine.dispose()


def test_answer_after_client_timeout_is_uncertain_and_never_resent(
    warehouse_url, tmp_path, smtp_server, rendered, monkeypatch, capsys
):
    late = CountingHandler(data_delay_s=2.5)
    late_port = smtp_server(late)
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered, kinds=KINDS[:1])
    waits: list[float] = []
    outcome = deliver(
        engine,
        archived[0],
        ["ceo@example.com", "cfo@example.com"],
        SmtpTransport(_settings(late_port, timeout_s=1)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert outcome.uncertain == ["ceo@example.com", "cfo@example.com"] and waits == []
    assert "not sent again" in outcome.errors["ceo@example.com"]
    rows = ledger_rows(engine, archived[0])
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("uncertain", 1)}
    assert "after the end of DATA" in rows["ceo@example.com"]["last_error"]
    assert len(late.messages) == 2  # the late server did keep both
    # A healthy re-run does not resend an uncertain delivery.
    healthy = CountingHandler()
    port = smtp_server(healthy)
    again = deliver(
        engine,
        archived[0],
        ["ceo@example.com", "cfo@example.com", "cto@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
    )
    assert again.sent == ["cto@example.com"]
    assert again.uncertain == ["ceo@example.com", "cfo@example.com"]
    assert [rcpt for rcpt, _ in healthy.messages] == ["cto@example.com"]
    verdict = delivery_verdict(
        PERIOD, {"executive_summary": again}, retries_left=3, retry_delay_s=60
    )
    assert not verdict.ok and not verdict.retry  # an uncertain row is never retried by Dagster
    assert f"ice-pipeline delivery resolve {PERIOD}" in verdict.message

    # The operator reads the server log and settles them: one arrived, one to send again.
    monkeypatch.setenv("ICE_WAREHOUSE_URL", warehouse_url)
    assert main(["delivery", "status", PERIOD]) == 1
    shown = capsys.readouterr().out
    assert "uncertain: 2" in shown and "ceo@example.com" in shown
    assert (
        main(["delivery", "resolve", PERIOD, "--recipient", "ceo@example.com", "--as", "sent"]) == 0
    )
    assert main(["delivery", "resolve", PERIOD, "--as", "retry", "--note", "not in the log"]) == 0
    rows = ledger_rows(engine, archived[0])
    assert rows["ceo@example.com"]["status"] == "sent"
    assert rows["ceo@example.com"]["resolution"].startswith("sent by ")
    assert rows["cfo@example.com"]["status"] == "retrying"
    assert "not in the log" in rows["cfo@example.com"]["resolution"]
    capsys.readouterr()
    assert main(["delivery", "resolve", PERIOD, "--as", "sent"]) == 2  # nothing left to settle
    assert "no uncertain or failed_permanent delivery" in capsys.readouterr().err
    final = deliver(
        engine,
        archived[0],
        ["ceo@example.com", "cfo@example.com", "cto@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
    )
    assert final.sent == ["cfo@example.com"] and final.ok
    assert sorted(rcpt for rcpt, _ in healthy.messages) == ["cfo@example.com", "cto@example.com"]
    assert main(["delivery", "status", PERIOD]) == 0
    engine.dispose()


def test_server_without_auth_fails_at_once_naming_the_setting(
    warehouse_url, tmp_path, smtp_server, rendered
):
    handler = CountingHandler()
    port = smtp_server(handler)  # aiosmtpd offers no AUTH without an authenticator
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered, kinds=KINDS[:1])
    transport = SmtpTransport(
        _settings(port, username="svc-ice"), environ={"ICE_SMTP_PASSWORD": "s3cret"}
    )
    waits: list[float] = []
    began = time.perf_counter()
    with pytest.raises(MailSettingsError) as caught:
        deliver(
            engine,
            archived[0],
            RECIPIENTS[:3],
            transport,
            content=report,
            from_address=FROM,
            retry=FAST,
            sleep=waits.append,
        )
    assert time.perf_counter() - began < 3 and waits == []
    message = str(caught.value)
    assert "offers no AUTH" in message and "ICE_SMTP_USER" in message and "\n" not in message
    # The claim was released: nothing is stuck, nothing was sent.
    assert {r["status"] for r in ledger_rows(engine, archived[0]).values()} == {"retrying"}
    assert handler.messages == []
    # After the fix (no login for this relay), a healthy re-run reaches everyone once.
    fixed = deliver(
        engine,
        archived[0],
        RECIPIENTS[:3],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
    )
    assert fixed.sent == RECIPIENTS[:3]
    assert sorted(rcpt for rcpt, _ in handler.messages) == RECIPIENTS[:3]
    engine.dispose()


def test_one_refused_recipient_does_not_stop_the_others(
    warehouse_url, tmp_path, smtp_server, rendered, monkeypatch
):
    refused = RECIPIENTS[1]
    handler = CountingHandler(refuse=refused)
    port = smtp_server(handler)
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered)
    first = _deliver_all(
        engine, archived, report, RECIPIENTS[:4], SmtpTransport(_settings(port)), retry=FAST
    )
    for outcome in first.values():  # every report (executive and providers) was attempted
        assert outcome.failed_permanent == [refused]
        assert outcome.sent == [r for r in RECIPIENTS[:4] if r != refused]
    assert _statuses(engine, archived) == Counter({"sent": 9, "failed_permanent": 3})
    verdict = delivery_verdict(PERIOD, first, retries_left=3, retry_delay_s=60)
    assert not verdict.ok and not verdict.retry and "550" in verdict.message
    # Healthy re-run: nobody gets a second copy, the refused address is not hammered again.
    healthy = CountingHandler()
    healthy_port = smtp_server(healthy)
    again = _deliver_all(
        engine, archived, report, RECIPIENTS[:4], SmtpTransport(_settings(healthy_port))
    )
    assert all(o.sent == [] for o in again.values()) and healthy.messages == []
    # The operator fixed the mailbox and asks for a retry: then it arrives, once per version.
    monkeypatch.setenv("ICE_WAREHOUSE_URL", warehouse_url)
    assert main(["delivery", "resolve", PERIOD, "--recipient", refused, "--as", "retry"]) == 0
    final = _deliver_all(
        engine, archived, report, RECIPIENTS[:4], SmtpTransport(_settings(healthy_port))
    )
    assert all(o.sent == [refused] and o.ok for o in final.values())
    assert Counter(rcpt for rcpt, _ in healthy.messages) == Counter({refused: 3})
    assert len(handler.messages) == 9
    assert _statuses(engine, archived) == Counter({"sent": 12})
    engine.dispose()


def test_internal_headers_never_reach_recipients(duckdb_url, tmp_path, smtp_server, rendered):
    handler = CountingHandler()
    port = smtp_server(handler)
    engine, archived, report = _archive_all(duckdb_url, tmp_path, rendered, kinds=KINDS[:1])
    deliver(
        engine,
        archived[0],
        ["ceo@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
    )
    outbox = tmp_path / "outbox"
    deliver(
        engine,
        archived[0],
        ["cfo@example.com"],
        OutboxTransport(outbox),
        content=report,
        from_address=FROM,
    )
    eml = next(outbox.rglob("*.eml")).read_bytes()
    for raw in (handler.messages[0][1], eml):
        headers = raw.split(b"\r\n\r\n", 1)[0].lower()
        assert b"x-ice-" not in headers
    row = ledger_rows(engine, archived[0])["cfo@example.com"]
    assert row["target"] == str(next(outbox.rglob("*.eml")))  # kept in the ledger instead
    engine.dispose()


def _dead_claim(engine, archived, recipient: str, target: str | None) -> None:
    """The row a run killed during the hand-over leaves behind (its process is gone)."""
    with engine.begin() as conn:
        conn.execute(
            insert(schema.delivery_ledger).values(
                period=archived.period,
                kind=archived.kind,
                audience=archived.audience,
                version=archived.version,
                recipient=recipient,
                status="pending",
                attempts=1,
                updated_at=now(),
                claimed_by=f"{socket.gethostname()}:999999999:deadbeef",
                claimed_at=now(),
                target=target,
            )
        )


def test_killed_outbox_hand_over_is_settled_by_the_file(warehouse_url, tmp_path, rendered):
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered, kinds=KINDS[:1])
    outbox = OutboxTransport(tmp_path / "outbox")
    stem = f"executive_summary-v{archived[0].version}"
    written = outbox.path("ceo@example.com", folder=PERIOD, stem=stem)
    lost = outbox.path("cfo@example.com", folder=PERIOD, stem=stem)
    written.parent.mkdir(parents=True)
    written.write_text("Subject: already written before the kill\r\n\r\nbody\r\n")
    _dead_claim(engine, archived[0], "ceo@example.com", str(written))
    _dead_claim(engine, archived[0], "cfo@example.com", str(lost))
    outcome = deliver(
        engine,
        archived[0],
        ["ceo@example.com", "cfo@example.com"],
        outbox,
        content=report,
        from_address=FROM,
    )
    assert outcome.skipped == ["ceo@example.com"] and outcome.sent == ["cfo@example.com"]
    assert outcome.ok
    rows = ledger_rows(engine, archived[0])
    assert rows["ceo@example.com"]["status"] == "outbox"
    assert "file exists" in rows["ceo@example.com"]["resolution"]
    assert written.read_text().startswith("Subject: already written")  # not rewritten
    assert (rows["cfo@example.com"]["status"], rows["cfo@example.com"]["attempts"]) == ("outbox", 2)
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 2
    engine.dispose()


def test_killed_smtp_hand_over_becomes_uncertain(warehouse_url, tmp_path, smtp_server, rendered):
    handler = CountingHandler()
    port = smtp_server(handler)
    engine, archived, report = _archive_all(warehouse_url, tmp_path, rendered, kinds=KINDS[:1])
    _dead_claim(engine, archived[0], "ceo@example.com", f"smtp://127.0.0.1:{port}")
    outcome = deliver(
        engine,
        archived[0],
        ["ceo@example.com", "cfo@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
    )
    assert outcome.uncertain == ["ceo@example.com"] and outcome.sent == ["cfo@example.com"]
    assert [rcpt for rcpt, _ in handler.messages] == ["cfo@example.com"]
    assert ledger_rows(engine, archived[0])["ceo@example.com"]["status"] == "uncertain"
    engine.dispose()


def test_live_claim_of_another_run_is_left_alone(duckdb_url, tmp_path, rendered):
    engine, archived, report = _archive_all(duckdb_url, tmp_path, rendered, kinds=KINDS[:1])
    with engine.begin() as conn:  # another machine's run, claimed a minute ago
        conn.execute(
            insert(schema.delivery_ledger).values(
                period=PERIOD,
                kind=archived[0].kind,
                audience=archived[0].audience,
                version=archived[0].version,
                recipient="ceo@example.com",
                status="pending",
                attempts=1,
                updated_at=now(),
                claimed_by="other-host:123:abc",
                claimed_at=now(),
                target="smtp://mail:25",
            )
        )
    outcome = deliver(
        engine,
        archived[0],
        ["ceo@example.com"],
        OutboxTransport(tmp_path / "o"),
        content=report,
        from_address=FROM,
    )
    assert outcome.in_progress == ["ceo@example.com"] and outcome.ok
    assert not (tmp_path / "o").exists()
    engine.dispose()


def test_verdict_promises_a_retry_only_when_one_will_happen():
    temporary = DeliveryOutcome(
        retrying=["ceo@example.com"], errors={"ceo@example.com": "451 later"}
    )
    first = delivery_verdict(
        PERIOD, {"executive_summary": temporary}, retries_left=3, retry_delay_s=60
    )
    assert first.retry and "retried in 60 s (3 automatic retries left)" in first.message
    last = delivery_verdict(
        PERIOD, {"executive_summary": temporary}, retries_left=0, retry_delay_s=None
    )
    assert not last.retry and "retried" not in last.message
    assert "no automatic retry is left" in last.message
    assert f"ice-pipeline run --partition {PERIOD}" in last.message
    fine = delivery_verdict(
        PERIOD,
        {"executive_summary": DeliveryOutcome(sent=["a@example.com"])},
        retries_left=3,
        retry_delay_s=60,
    )
    assert fine.ok and fine.message == f"{PERIOD}: 1 sent"


def test_report_delivery_asset_retry_policy_matches_the_verdict():
    """The step's Dagster retry policy is what the verdict's numbers are computed from."""
    from ice_pipeline.defs.assets_reports import DELIVERY_RETRY, _retry_delay, report_delivery

    assert report_delivery.op.retry_policy == DELIVERY_RETRY
    assert [_retry_delay(n) for n in range(3)] == [60.0, 180.0, 420.0]
    assert re.search(r"exactly once", report_delivery.op.description or "")


def test_report_delivery_attempts_every_report_whatever_fails(
    warehouse_url, tmp_path, smtp_server, rendered
):
    """The asset's loop: a refused and an uncertain recipient leave the provider pages going."""
    from dataclasses import replace

    from ice_pipeline.defs.assets_reports import deliver_period
    from ice_pipeline.defs.resources import WarehouseResource
    from ice_pipeline.reports.delivery import recipients_from_section, retry_from_section

    upgrade(warehouse_url)
    handler = CountingHandler(refuse="gone@example.com")
    port = smtp_server(handler)
    report, prints = rendered
    contents = [replace(report, kind=kind) for kind in KINDS]
    engine = create_engine(warehouse_url)
    for content in contents:
        archive_report(
            engine,
            period=PERIOD,
            kind=content.kind,
            audience=content.audience,
            html=content.html,
            input_fingerprints=prints,
            run_id="r1",
            reports_dir=tmp_path / "reports",
        )
    section = {
        "allowed_domains": ["example.com"],
        "recipients": {
            "executive_summary": ["gone@example.com", "ceo@example.com"],
            "provider": ["gone@example.com", "heads@example.com"],
        },
        "retry": {"attempts": 2, "backoff_s": 0.01},
    }
    outcomes = deliver_period(
        WarehouseResource(url=warehouse_url),
        PERIOD,
        contents,
        recipients_from_section(section),
        SmtpTransport(_settings(port)),
        FROM,
        retry_from_section(section),
    )
    assert list(outcomes) == list(KINDS)
    assert all(o.failed_permanent == ["gone@example.com"] for o in outcomes.values())
    assert [o.sent for o in outcomes.values()] == [
        ["ceo@example.com"],
        ["heads@example.com"],
        ["heads@example.com"],
    ]
    verdict = delivery_verdict(PERIOD, outcomes, retries_left=3, retry_delay_s=60.0)
    assert not verdict.ok and not verdict.retry
    assert verdict.counts["sent"] == 3 and verdict.counts["failed_permanent"] == 3
    assert "3 need a decision" in verdict.message and "\n" not in verdict.message
    engine.dispose()


def test_delivery_commands_name_what_to_do(duckdb_url, monkeypatch, capsys):
    """A warehouse before 0002_delivery, an empty month: one line each, never a traceback."""
    from alembic import command

    from ice_pipeline.warehouse.migrate import _alembic_config
    from ice_pipeline.warehouse.schema import ALL_SCHEMAS

    engine = create_engine(duckdb_url)
    with engine.begin() as conn:  # the warehouse as the previous release left it
        for name in ALL_SCHEMAS:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
        command.upgrade(_alembic_config(conn), "0001")
    engine.dispose()
    monkeypatch.setenv("ICE_WAREHOUSE_URL", duckdb_url)
    assert main(["delivery", "status", PERIOD]) == 2
    assert "ice-pipeline warehouse upgrade" in capsys.readouterr().err
    upgrade(duckdb_url)  # 0001 -> 0002_delivery on an existing ledger
    assert main(["delivery", "status", PERIOD]) == 0
    assert f"no deliveries recorded for {PERIOD}" in capsys.readouterr().out
    assert main(["delivery", "resolve", PERIOD, "--as", "retry"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"ice-pipeline delivery status {PERIOD}" in err
