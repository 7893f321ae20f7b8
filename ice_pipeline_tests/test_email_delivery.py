"""Email delivery to a real SMTP server (aiosmtpd on 127.0.0.1) with the ledger on both engines.

Temporary failures (connection refused, 4xx) are retried within one deliver() call up to
RetryPolicy.attempts and then stay 'retrying' for the next run; 5xx ends in 'failed_permanent'.
"""

import re
import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine

from ice_pipeline.errors import ConfigError
from ice_pipeline.reports.archive import archive_report, input_fingerprints
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.delivery import (
    MailSettingsError,
    OutboxTransport,
    RecipientConfig,
    RetryPolicy,
    SmtpSettings,
    SmtpTransport,
    build_message,
    deliver,
    ledger_rows,
    recipients_from_section,
)
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import (
    HOSTILE_PROVIDER,
    create_report_tables,
    sample_comments,
    sample_quality,
    sample_tables,
)
from ice_pipeline.reports.viewmodel import build_executive_view, build_provider_view

PERIOD = "2026-10"
FROM = "ice-reports@example.com"
FAST = RetryPolicy(attempts=3, backoff_s=0.01, factor=2.0)


@pytest.fixture(scope="module")
def rendered():
    tables = sample_tables(PERIOD, hostile=True)
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    return render_report(view, audience="executives"), input_fingerprints(tables)


@pytest.fixture(scope="module")
def hostile_page():
    tables = sample_tables(PERIOD, hostile=True)
    view = build_provider_view(
        PERIOD, HOSTILE_PROVIDER, tables, sample_comments(PERIOD, hostile=True), ReportConfig()
    )
    return render_report(view, audience="department_heads")


class RecordingHandler:
    """Stores accepted messages; answers scripted replies to DATA (e.g. a 451 once) or RCPT."""

    def __init__(self, data_replies: list[str] | None = None, rcpt_reply: str | None = None):
        self.data_replies = list(data_replies or [])
        self.rcpt_reply = rcpt_reply
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    started = []

    def start(handler: RecordingHandler) -> int:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def _settings(port: int) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1", port=port, security="none", from_address=FROM, timeout_s=5
    )


def _archive(url: str, tmp_path: Path, rendered_pair):
    report, prints = rendered_pair
    engine = create_engine(url)
    create_report_tables(engine)
    archived = archive_report(
        engine,
        period=PERIOD,
        kind=report.kind,
        audience=report.audience,
        html=report.html,
        input_fingerprints=prints,
        run_id="r1",
        reports_dir=tmp_path / "reports",
    )
    return engine, archived, report


def test_delivered_message_parses_with_all_parts(warehouse_url, tmp_path, smtp_server, rendered):
    handler = RecordingHandler()
    port = smtp_server(handler)
    engine, archived, report = _archive(warehouse_url, tmp_path, rendered)
    recipients = ["ceo@example.com", "cfo@example.com"]
    transport = SmtpTransport(_settings(port))

    outcome = deliver(
        engine, archived, recipients, transport, content=report, from_address=FROM, retry=FAST
    )
    assert outcome.sent == recipients and outcome.ok
    # A re-run sends nothing twice.
    rerun = deliver(
        engine, archived, recipients, transport, content=report, from_address=FROM, retry=FAST
    )
    assert rerun.sent == [] and rerun.skipped == recipients
    assert sorted(rcpt[0] for rcpt, _ in handler.messages) == recipients
    assert len(handler.messages) == 2

    ledger = ledger_rows(engine, archived)
    assert {r: (row["status"], row["attempts"]) for r, row in ledger.items()} == {
        "ceo@example.com": ("sent", 1),
        "cfo@example.com": ("sent", 1),
    }

    raw = handler.messages[0][1]
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == ledger[message["To"]]["message_id"]
    plain = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert plain is not None and html_part is not None
    assert "INTERNAL CUSTOMER INDEX - 2026-10" in plain.get_content()
    html = html_part.get_content()
    assert "<svg" not in html.lower() and "<script" not in html.lower()
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    assert len(referenced) == 3
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert referenced == set(images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    assert images["provider_ranking@ice-report"] == report.images["provider_ranking@ice-report"]
    engine.dispose()


def test_refused_connection_stays_retrying(duckdb_url, tmp_path, rendered):
    engine, archived, report = _archive(duckdb_url, tmp_path, rendered)
    closed_port = _free_port()  # nothing listens here: connection refused
    waits: list[float] = []
    outcome = deliver(
        engine,
        archived,
        ["ceo@example.com"],
        SmtpTransport(_settings(closed_port)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert outcome.retrying == ["ceo@example.com"] and not outcome.ok
    assert waits == [0.01, 0.02]  # exponential backoff between the 3 attempts
    row = ledger_rows(engine, archived)["ceo@example.com"]
    assert (row["status"], row["attempts"]) == ("retrying", 3)
    assert "ConnectionRefusedError" in row["last_error"]
    # The next run tries again and keeps counting.
    deliver(
        engine,
        archived,
        ["ceo@example.com"],
        SmtpTransport(_settings(closed_port)),
        content=report,
        from_address=FROM,
        retry=RetryPolicy(attempts=1),
        sleep=waits.append,
    )
    assert ledger_rows(engine, archived)["ceo@example.com"]["attempts"] == 4
    engine.dispose()


def test_451_then_accept_is_sent_on_second_attempt(warehouse_url, tmp_path, smtp_server, rendered):
    handler = RecordingHandler(data_replies=["451 4.3.0 try later"])
    port = smtp_server(handler)
    engine, archived, report = _archive(warehouse_url, tmp_path, rendered)
    waits: list[float] = []
    outcome = deliver(
        engine,
        archived,
        ["ceo@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert outcome.sent == ["ceo@example.com"]
    row = ledger_rows(engine, archived)["ceo@example.com"]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert waits == [0.01]
    assert len(handler.messages) == 1
    engine.dispose()


def test_550_is_failed_permanent_and_not_retried(warehouse_url, tmp_path, smtp_server, rendered):
    handler = RecordingHandler(rcpt_reply="550 5.1.1 mailbox unavailable")
    port = smtp_server(handler)
    engine, archived, report = _archive(warehouse_url, tmp_path, rendered)
    waits: list[float] = []
    outcome = deliver(
        engine,
        archived,
        ["gone@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert outcome.failed_permanent == ["gone@example.com"] and waits == []
    row = ledger_rows(engine, archived)["gone@example.com"]
    assert (row["status"], row["attempts"]) == ("failed_permanent", 1)
    assert row["last_error"].startswith("550") and "mailbox unavailable" in row["last_error"]
    again = deliver(
        engine,
        archived,
        ["gone@example.com"],
        SmtpTransport(_settings(port)),
        content=report,
        from_address=FROM,
        retry=FAST,
        sleep=waits.append,
    )
    assert again.failed_permanent == ["gone@example.com"]
    assert ledger_rows(engine, archived)["gone@example.com"]["attempts"] == 1
    engine.dispose()


def test_interrupted_send_is_not_repeated(duckdb_url, tmp_path, rendered):
    """A 'pending' row means an earlier process died mid-send: at most once wins."""
    engine, archived, report = _archive(duckdb_url, tmp_path, rendered)

    class Crashing:
        success_status = "sent"

        def send(self, message, recipient):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deliver(
            engine,
            archived,
            ["ceo@example.com"],
            Crashing(),
            content=report,
            from_address=FROM,
            retry=FAST,
        )
    outbox = tmp_path / "outbox"
    outcome = deliver(
        engine,
        archived,
        ["ceo@example.com"],
        OutboxTransport(outbox),
        content=report,
        from_address=FROM,
        retry=FAST,
    )
    assert outcome.uncertain == ["ceo@example.com"] and not outbox.exists()
    engine.dispose()


def test_outbox_writes_eml_once(duckdb_url, tmp_path, rendered):
    engine, archived, report = _archive(duckdb_url, tmp_path, rendered)
    outbox = tmp_path / "outbox"
    for _ in range(2):
        deliver(
            engine,
            archived,
            ["ceo@example.com"],
            OutboxTransport(outbox),
            content=report,
            from_address=FROM,
            retry=FAST,
        )
    files = sorted(outbox.rglob("*.eml"))
    assert len(files) == 1
    assert re.fullmatch(
        r"2026-10/executive_summary-v1-ceo_example\.com-[0-9a-f]{8}\.eml",
        files[0].relative_to(outbox).as_posix(),
    )
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == "ceo@example.com" and parsed.get_body(("html",)) is not None
    assert ledger_rows(engine, archived)["ceo@example.com"]["status"] == "outbox"
    engine.dispose()


def test_hostile_page_email_is_inert(hostile_page):
    message = build_message(
        hostile_page.email_html,
        hostile_page.text,
        hostile_page.images,
        hostile_page.subject,
        FROM,
        "cfo@example.com",
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "<script" not in html.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'INTERNAL CUSTOMER INDEX - \'=HYPERLINK("http://evil","x")' in text
    assert "'@SUM(1)" in text and "\n  @SUM" not in text


def test_recipient_outside_allow_list_names_the_key():
    section = {
        "allowed_domains": ["example.com"],
        "recipients": {"executive_summary": ["ceo@example.com", "spy@evil.test"]},
    }
    with pytest.raises(ConfigError) as caught:
        recipients_from_section(section)
    assert caught.value.setting == "email.recipients.executive_summary"
    assert "spy@evil.test" in str(caught.value)
    ok = recipients_from_section(
        {"allowed_domains": ["Example.com"], "recipients": {"provider": ["head@example.com"]}}
    )
    assert ok["provider"] == RecipientConfig("provider", ("head@example.com",), ("Example.com",))


def test_smtp_settings_are_checked_and_password_comes_from_env():
    with pytest.raises(ConfigError) as caught:
        SmtpSettings.from_section({"host": "mail", "from_address": FROM, "security": "tls"})
    assert caught.value.setting == "email.smtp.security"
    settings = SmtpSettings.from_section(
        {"host": "mail", "from_address": FROM, "username": "svc-ice", "password_env": "ICE_SMTP_PW"}
    )
    assert settings.username != settings.from_address
    assert settings.password({"ICE_SMTP_PW": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError) as caught:
        settings.password({})
    assert caught.value.setting == "ICE_SMTP_PW"


def test_publish_period_archives_and_sends_once(duckdb_url, tmp_path):
    from ice_pipeline.reports.publish import EmailConfig, publish_period

    engine = create_engine(duckdb_url)
    create_report_tables(engine)
    email = EmailConfig.from_section(
        {
            "allowed_domains": ["example.com"],
            "recipients": {
                "executive_summary": ["ceo@example.com"],
                "provider": ["ops@example.com"],
            },
        }
    )
    # Two providers keep the test quick: 3 reports rendered per publish.
    tables = {
        name: frame[frame["provider_department"].isin(["IT", "Legal"])]
        if "provider_department" in frame
        else frame
        for name, frame in sample_tables(PERIOD).items()
    }
    common = dict(
        period=PERIOD,
        tables=tables,
        quality=sample_quality(),
        comments=sample_comments(PERIOD),
        config=ReportConfig(),
        email=email,
        run_id="run-1",
        reports_dir=tmp_path / "reports",
        outbox_dir=tmp_path / "outbox",
    )
    blocked = publish_period(engine, **common, blocking_checks_failed=True)
    assert blocked.deliveries == {} and "blocking" in blocked.delivery_skipped_reason
    kinds = [report.kind for report in blocked.archived]
    assert kinds == ["executive_summary", "methodology", "correlations"] + [
        "provider:IT",
        "provider:Legal",
    ]
    assert not (tmp_path / "outbox").exists()
    sent = publish_period(engine, **common)
    assert [report.created for report in sent.archived] == [False] * len(kinds)
    assert sent.deliveries["executive_summary"].sent == ["ceo@example.com"]
    assert sent.deliveries["provider:IT"].sent == ["ops@example.com"]
    again = publish_period(engine, **common)
    assert all(outcome.sent == [] for outcome in again.deliveries.values())
    # Every kind but the methodology and correlations pages (no recipients) is sent once.
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == len(kinds) - 2
    engine.dispose()


def _self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with cryptography (a dependency already)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_and_login_as_a_user_distinct_from_the_sender(duckdb_url, tmp_path, rendered):
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_path, key_path = _self_signed_cert(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            logins.append((auth_data.login.decode(), auth_data.password.decode()))
            # handled=False: let aiosmtpd answer 535 itself on a wrong password.
            return AuthResult(success=auth_data.password == b"s3cret", handled=False)
        return AuthResult(success=False, handled=False)

    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=controller.port,
            security="starttls",
            username="svc-ice",
            password_env="ICE_SMTP_PASSWORD",
            from_address=FROM,
            timeout_s=5,
        )
        client_context = ssl.create_default_context(cafile=str(cert_path))
        transport = SmtpTransport(
            settings, environ={"ICE_SMTP_PASSWORD": "s3cret"}, ssl_context=client_context
        )
        engine, archived, report = _archive(duckdb_url, tmp_path, rendered)
        outcome = deliver(
            engine, archived, ["ceo@example.com"], transport, content=report, from_address=FROM
        )
        assert outcome.sent == ["ceo@example.com"]
        assert logins == [("svc-ice", "s3cret")]
        message = message_from_bytes(handler.messages[0][1], policy=policy.default)
        assert message["From"] == FROM
        wrong = SmtpTransport(
            settings, environ={"ICE_SMTP_PASSWORD": "wrong"}, ssl_context=client_context
        )
        # A refused login is a setting to fix: it fails at once (no retries) naming the setting,
        # and the claim is released so that the run after the fix sends it.
        with pytest.raises(MailSettingsError) as refused:
            deliver(engine, archived, ["cfo@example.com"], wrong, content=report, from_address=FROM)
        assert "svc-ice" in str(refused.value) and "ICE_SMTP_PASSWORD" in str(refused.value)
        assert ledger_rows(engine, archived)["cfo@example.com"]["status"] == "retrying"
        engine.dispose()
    finally:
        controller.stop()


def test_implicit_tls_and_login(duckdb_url, tmp_path, rendered):
    """security='ssl': TLS from the first byte (SMTPS, usually port 465), then AUTH LOGIN."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_path, key_path = _self_signed_cert(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            logins.append(auth_data.login.decode())
            return AuthResult(success=auth_data.password == b"s3cret", handled=False)
        return AuthResult(success=False, handled=False)

    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        ssl_context=server_context,  # implicit TLS: the whole session is encrypted
        authenticator=authenticator,
        auth_required=True,
        # aiosmtpd only treats STARTTLS sessions as TLS when deciding to offer AUTH; this session
        # is TLS from the first byte (the untrusting client below proves it), so allow AUTH.
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=controller.port,
            security="ssl",
            username="svc-ice",
            password_env="ICE_SMTP_PASSWORD",
            from_address=FROM,
            timeout_s=5,
        )
        client_context = ssl.create_default_context(cafile=str(cert_path))
        transport = SmtpTransport(
            settings, environ={"ICE_SMTP_PASSWORD": "s3cret"}, ssl_context=client_context
        )
        engine, archived, report = _archive(duckdb_url, tmp_path, rendered)
        outcome = deliver(
            engine, archived, ["ceo@example.com"], transport, content=report, from_address=FROM
        )
        assert outcome.sent == ["ceo@example.com"], outcome.errors
        assert logins == ["svc-ice"]
        assert len(handler.messages) == 1
        # A client that does not trust the server's certificate must not send.
        untrusting = SmtpTransport(
            settings,
            environ={"ICE_SMTP_PASSWORD": "s3cret"},
            ssl_context=ssl.create_default_context(),
        )
        with pytest.raises(MailSettingsError) as refused:
            deliver(
                engine, archived, ["cfo@example.com"], untrusting, content=report, from_address=FROM
            )
        assert "certificate" in str(refused.value)
        assert len(handler.messages) == 1
        engine.dispose()
    finally:
        controller.stop()
