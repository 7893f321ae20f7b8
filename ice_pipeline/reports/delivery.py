"""Email delivery of archived reports: settings, recipients, MIME building, transports, the ledger.

What belongs here: the SMTP settings and recipient configuration (``email:`` YAML section), building
a mail-safe ``multipart/alternative`` message (text + ``multipart/related`` HTML with CID PNGs),
the two transports (:class:`SmtpTransport` over smtplib, :class:`OutboxTransport` writing ``.eml``
files, the demo default) and :func:`deliver`, which uses ``ice_ops.delivery_ledger`` keyed by
(period, kind, audience, version, recipient) so that a report version reaches each recipient at
most once, however often the run is repeated.

Ledger states and what :func:`deliver` does with each on a later call:

* ``sent`` / ``outbox``   delivered; never sent again.
* ``failed_permanent``   the server refused for good (5xx); not retried (fix the address, which
                         makes a new ledger key, or delete the row to force a retry).
* ``retrying``           temporary failures (connection refused, timeout, 4xx) used up this call's
                         attempts; the next call tries again, ``attempts`` keeps counting.
* ``pending``            written just before a hand-over to the server. Finding it on a later call
                         means the earlier process died mid-send and the mail may have gone, so it
                         is NOT resent (at most once) and is reported as ``uncertain``.

A dry run renders and archives only: the caller simply does not call :func:`deliver`.
"""

import hashlib
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy
from sqlalchemy import insert, select, update

from ice_pipeline.errors import ConfigError
from ice_pipeline.reports.archive import ArchivedReport, _file_stem, _write_atomically
from ice_pipeline.reports.render import RenderedReport
from ice_pipeline.warehouse import schema

DONE_STATUSES = ("sent", "outbox")
_ADDRESS = re.compile(r"^[^@\s<>\"']+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server. The password is read from ``password_env`` when sending."""

    host: str
    from_address: str
    port: int = 587
    security: str = "starttls"  # 'starttls' | 'ssl' (implicit TLS, usually 465) | 'none'
    username: str | None = None  # the login, distinct from from_address
    password_env: str = "ICE_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in {"starttls", "ssl", "none"}:
            raise ConfigError(
                "email.smtp.security",
                f"is {self.security!r}",
                fix="use 'starttls' (port 587), 'ssl' (port 465) or 'none'",
            )
        if not _ADDRESS.match(self.from_address or ""):
            raise ConfigError(
                "email.smtp.from_address",
                f"{self.from_address!r} is not an email address",
                fix="write it as reports@example.com",
            )
        if self.timeout_s <= 0:
            raise ConfigError("email.smtp.timeout_s", "must be positive", fix="set it to 30")

    def password(self, environ: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if environ is None else environ
        if self.username is None:
            return None
        secret = env.get(self.password_env)
        if not secret:
            raise ConfigError(
                self.password_env,
                f"is not set, but email.smtp.username {self.username!r} needs a password",
                fix=f"export {self.password_env} with the SMTP password",
            )
        return secret

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> "SmtpSettings":
        """Build from ``email.smtp`` of the YAML config."""
        known = set(cls.__dataclass_fields__)
        for key in section:
            if key not in known:
                raise ConfigError(
                    f"email.smtp.{key}",
                    "is not a known SMTP setting",
                    fix=f"use one of: {', '.join(sorted(known))}",
                )
        for required in ("host", "from_address"):
            if not section.get(required):
                raise ConfigError(
                    f"email.smtp.{required}",
                    "is missing",
                    fix=f"set email.smtp.{required} in the config file",
                )
        return cls(**section)


@dataclass(frozen=True)
class RecipientConfig:
    """Who receives one kind of report, checked against the allowed domains."""

    kind: str  # 'executive_summary', or 'provider' for every provider page
    recipients: tuple[str, ...]
    allowed_domains: tuple[str, ...]

    def __post_init__(self) -> None:
        key = f"email.recipients.{self.kind}"
        allowed = {domain.lower().lstrip("@") for domain in self.allowed_domains}
        if not allowed:
            raise ConfigError(
                "email.allowed_domains",
                "is empty, so no recipient can be accepted",
                fix="list the company's mail domains, e.g. [example.com]",
            )
        for address in self.recipients:
            match = _ADDRESS.match(address)
            if not match:
                raise ConfigError(
                    key,
                    f"{address!r} is not an email address",
                    fix="write plain addresses such as cfo@example.com",
                )
            domain = match.group(1).lower()
            if domain not in allowed:
                raise ConfigError(
                    key,
                    f"{address!r} is outside the allowed domains ({', '.join(sorted(allowed))})",
                    fix="remove the address, or add its domain to "
                    "email.allowed_domains if it really may receive reports",
                )


def recipients_from_section(section: Mapping[str, Any]) -> dict[str, RecipientConfig]:
    """Read ``email.recipients`` (kind -> list of addresses) with ``email.allowed_domains``."""
    allowed = tuple(section.get("allowed_domains") or ())
    recipients = section.get("recipients") or {}
    if not isinstance(recipients, Mapping):
        raise ConfigError(
            "email.recipients",
            "must map report kinds to lists of addresses",
            fix="write e.g. 'executive_summary: [ceo@example.com]'",
        )
    configs = {}
    for kind, addresses in recipients.items():
        if isinstance(addresses, str) or not isinstance(addresses, Iterable):
            raise ConfigError(
                f"email.recipients.{kind}",
                "must be a list of addresses",
                fix="write it as [a@example.com, b@example.com]",
            )
        configs[str(kind)] = RecipientConfig(str(kind), tuple(str(a) for a in addresses), allowed)
    return configs


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per deliver() call for temporary failures, waiting backoff_s * factor**(n-1)."""

    attempts: int = 3
    backoff_s: float = 2.0
    factor: float = 2.0


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def message_id_for(
    period: str, kind: str, audience: str, version: int, recipient: str, from_address: str
) -> str:
    """A Message-ID fixed per (report version, recipient): a retried send carries the same id."""
    key = "\x1f".join((period, kind, audience, str(version), recipient.lower()))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    domain = from_address.rsplit("@", 1)[-1]
    return f"<ice-{digest}@{domain}>"


def build_message(
    report_html: str,
    text: str,
    images: Mapping[str, bytes],
    subject: str,
    from_address: str,
    to: str,
    *,
    message_id: str | None = None,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (HTML + PNGs by Content-ID).

    ``report_html`` must already be mail-safe (``RenderedReport.email_html``); every key of
    ``images`` is a Content-ID referenced as ``cid:<key>`` in it.
    """
    lowered = report_html.lower()
    if "<svg" in lowered or "<script" in lowered:
        raise ValueError("email HTML must contain neither <svg> nor <script>")
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = " ".join(subject.split())  # no CR/LF: no header injection
    message["From"] = from_address
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=from_address.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(report_html, subtype="html", charset="utf-8")
    html_part = message.get_payload()[1]
    for content_id, png in sorted(images.items()):
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{content_id}>",
            filename=f"{content_id.split('@', 1)[0]}.png",
            disposition="inline",
        )
    return message


# ---------------------------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------------------------


class TemporaryDeliveryError(Exception):
    """Worth retrying later: connection refused, timeout, 4xx."""


class PermanentDeliveryError(Exception):
    """Will not succeed by retrying: 5xx, refused login."""


class Transport(Protocol):
    success_status: str

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Hand the message over, or raise Temporary/PermanentDeliveryError."""


def _classify_smtp(err: smtplib.SMTPException) -> Exception:
    code = getattr(err, "smtp_code", None)
    detail = getattr(err, "smtp_error", b"")
    if isinstance(err, smtplib.SMTPRecipientsRefused) and err.recipients:
        code, detail = next(iter(err.recipients.values()))
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    text = f"{code} {detail}".strip() if code else f"{type(err).__name__}: {err}"
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentDeliveryError(text)
    return TemporaryDeliveryError(text)  # 4xx, or a dropped connection


class SmtpTransport:
    """Send through an SMTP server with STARTTLS, implicit TLS or (tests only) plain text."""

    success_status = "sent"

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        environ: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._environ = environ
        self._ssl_context = ssl_context

    def send(self, message: EmailMessage, recipient: str) -> None:
        settings = self.settings
        context = self._ssl_context or ssl.create_default_context()
        try:
            if settings.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout_s, context=context
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
            with client:
                if settings.security == "starttls":
                    client.starttls(context=context)
                password = settings.password(self._environ)
                if settings.username is not None and password is not None:
                    client.login(settings.username, password)
                client.send_message(message, from_addr=settings.from_address, to_addrs=[recipient])
        except smtplib.SMTPAuthenticationError as err:
            raise PermanentDeliveryError(
                f"login refused for email.smtp.username {settings.username!r}: {err.smtp_code}"
            ) from err
        except smtplib.SMTPException as err:
            raise _classify_smtp(err) from err
        except (ConnectionError, TimeoutError, OSError) as err:
            raise TemporaryDeliveryError(
                f"{type(err).__name__}: {err} ({settings.host}:{settings.port})"
            ) from err


class OutboxTransport:
    """Write each message as ``<directory>/<period>/<kind>-v<version>-<recipient>.eml``."""

    success_status = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, recipient: str) -> None:
        subdir = message.get("X-ICE-Period", "undated")
        stem = message.get("X-ICE-File-Stem", "report")
        path = self.directory / _file_stem(subdir) / f"{stem}-{_file_stem(recipient)}.eml"
        _write_atomically(path, message.as_bytes(policy=policy.SMTP).decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------
# Delivery with the ledger
# ---------------------------------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    """What one deliver() call did, per recipient."""

    sent: list[str] = field(default_factory=list)  # delivered now (status sent or outbox)
    skipped: list[str] = field(default_factory=list)  # already delivered earlier
    retrying: list[str] = field(default_factory=list)  # temporary failures; the next run retries
    failed_permanent: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # 'pending' from a process that died
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.failed_permanent or self.uncertain)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _ledger_key(report: ArchivedReport, recipient: str) -> dict[str, Any]:
    return {
        "period": report.period,
        "kind": report.kind,
        "audience": report.audience,
        "version": report.version,
        "recipient": recipient,
    }


def _ledger_write(engine: sqlalchemy.Engine, key: Mapping[str, Any], **values: Any) -> None:
    table = schema.delivery_ledger
    where = [table.c[name] == value for name, value in key.items()]
    with engine.begin() as conn:
        exists = conn.execute(select(table.c.status).where(*where)).first()
        if exists is None:
            conn.execute(insert(table).values(**key, **values, updated_at=_now()))
        else:
            conn.execute(update(table).where(*where).values(**values, updated_at=_now()))


def ledger_rows(engine: sqlalchemy.Engine, report: ArchivedReport) -> dict[str, dict[str, Any]]:
    """Recipient -> ledger row of this report version."""
    table = schema.delivery_ledger
    with engine.connect() as conn:
        rows = conn.execute(
            select(table).where(
                table.c.period == report.period,
                table.c.kind == report.kind,
                table.c.audience == report.audience,
                table.c.version == report.version,
            )
        ).mappings()
        return {row["recipient"]: dict(row) for row in rows}


def deliver(
    engine: sqlalchemy.Engine,
    report: ArchivedReport,
    recipients: Iterable[str],
    transport: Transport,
    *,
    content: RenderedReport,
    from_address: str,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """Send ``content`` (the email form of ``report``) to each recipient at most once.

    ``report`` is the archived version (its key is the ledger key); ``content`` is the
    :class:`RenderedReport` it was archived from (``content.html == report.html``).
    """
    if content.html != report.html:
        raise ValueError("content is not the rendering that was archived as this report version")
    policy_ = retry or RetryPolicy()
    outcome = DeliveryOutcome()
    existing = ledger_rows(engine, report)
    for recipient in dict.fromkeys(address.strip() for address in recipients):
        row = existing.get(recipient)
        status = row["status"] if row else None
        if status in DONE_STATUSES:
            outcome.skipped.append(recipient)
            continue
        if status == "failed_permanent":
            outcome.failed_permanent.append(recipient)
            outcome.errors[recipient] = row["last_error"] or ""
            continue
        if status == "pending":
            outcome.uncertain.append(recipient)
            outcome.errors[recipient] = (
                "an earlier run stopped while handing this message to "
                "the server; check the server log, then delete the "
                "ledger row to send again"
            )
            continue
        attempts = int(row["attempts"]) if row else 0
        message_id = message_id_for(
            report.period, report.kind, report.audience, report.version, recipient, from_address
        )
        message = build_message(
            content.email_html,
            content.text,
            content.images,
            content.subject,
            from_address,
            recipient,
            message_id=message_id,
        )
        message["X-ICE-Period"] = report.period
        message["X-ICE-File-Stem"] = f"{_file_stem(report.kind)}-v{report.version}"
        key = _ledger_key(report, recipient)
        for attempt in range(1, policy_.attempts + 1):
            attempts += 1
            _ledger_write(engine, key, status="pending", attempts=attempts)
            try:
                transport.send(message, recipient)
            except TemporaryDeliveryError as err:
                _ledger_write(
                    engine, key, status="retrying", attempts=attempts, last_error=str(err)[:2000]
                )
                if attempt == policy_.attempts:
                    outcome.retrying.append(recipient)
                    outcome.errors[recipient] = str(err)
                else:
                    sleep(policy_.backoff_s * policy_.factor ** (attempt - 1))
                continue
            except PermanentDeliveryError as err:
                _ledger_write(
                    engine,
                    key,
                    status="failed_permanent",
                    attempts=attempts,
                    last_error=str(err)[:2000],
                )
                outcome.failed_permanent.append(recipient)
                outcome.errors[recipient] = str(err)
                break
            _ledger_write(
                engine,
                key,
                status=transport.success_status,
                attempts=attempts,
                last_error=None,
                message_id=message_id,
            )
            outcome.sent.append(recipient)
            break
    return outcome


def parse_address(address: str) -> str:
    """The bare address of 'Name <a@b>' or 'a@b'."""
    return parseaddr(address)[1]
