"""Email delivery of archived reports: settings, recipients, MIME building, transports, the ledger.

What belongs here: the SMTP settings and recipient configuration (``email:`` YAML section), building
a mail-safe ``multipart/alternative`` message (text + ``multipart/related`` HTML with CID PNGs),
inside ``multipart/mixed`` with the archived PDF attached when the version has one (issue 14),
and :func:`deliver`, which claims each (period, kind, audience, version, recipient) in
``ice_ops.delivery_ledger`` before handing the message to a transport, so that a report version
reaches each recipient exactly once, however often and however concurrently the run is repeated.

The ledger's states, the atomic claim and the operator commands are described in ``ledger.py``;
the transports and how their failures are classified in ``transports.py`` (both re-exported
here, where callers have always imported them from).

A dry run renders and archives only: the caller simply does not call :func:`deliver`.
"""

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import sqlalchemy

from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline.reports import ledger
from ice_pipeline.reports.archive import ArchivedReport, _file_stem
from ice_pipeline.reports.ledger import DONE_STATUSES, ledger_rows
from ice_pipeline.reports.render import RenderedReport
from ice_pipeline.reports.transports import (
    MailSettingsError,
    NotHandedOverError,
    OutboxTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TemporaryDeliveryError,
    Transport,
    UncertainDeliveryError,
)

__all__ = [
    "DONE_STATUSES",
    "DeliveryOutcome",
    "MailSettingsError",
    "NotHandedOverError",
    "OutboxTransport",
    "PermanentDeliveryError",
    "RecipientConfig",
    "RetryPolicy",
    "SmtpSettings",
    "SmtpTransport",
    "TemporaryDeliveryError",
    "Transport",
    "UncertainDeliveryError",
    "build_message",
    "deliver",
    "ledger_rows",
    "message_id_for",
    "parse_address",
    "recipients_from_section",
    "retry_from_section",
]
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


def retry_from_section(section: Mapping[str, Any]) -> RetryPolicy:
    """``email.retry`` ({attempts, backoff_s, factor}) of the YAML config, defaults if absent."""
    values = dict(section.get("retry") or {})
    unknown = sorted(set(values) - set(RetryPolicy.__dataclass_fields__))
    if unknown:
        raise ConfigError(
            f"email.retry.{unknown[0]}",
            "is not a known retry setting",
            fix="use attempts, backoff_s and factor",
        )
    policy_ = RetryPolicy(**values)
    if int(policy_.attempts) < 1:
        raise ConfigError("email.retry.attempts", "must be at least 1", fix="set it to 3")
    return policy_


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
    attachments: Mapping[str, bytes] | None = None,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (HTML + PNGs by Content-ID).

    ``report_html`` must already be mail-safe (``RenderedReport.email_html``); every key of
    ``images`` is a Content-ID referenced as ``cid:<key>`` in it. ``attachments`` (file name ->
    PDF bytes) make the message multipart/mixed with each PDF attached after the alternatives;
    the HTML part stays as it is, so its size is unchanged by them.
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
    for filename, pdf in sorted((attachments or {}).items()):
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def pdf_attachment_name(report: ArchivedReport) -> str:
    """``ice-<period>-<kind>.pdf``: what the recipient's mail program saves the PDF as."""
    return f"ice-{report.period}-{_file_stem(report.kind).replace('_', '-')}.pdf"


# ---------------------------------------------------------------------------------------------
# Delivery with the ledger
# ---------------------------------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    """What one deliver() call did, per recipient (ledger.py explains the states)."""

    sent: list[str] = field(default_factory=list)  # delivered now (status sent or outbox)
    skipped: list[str] = field(default_factory=list)  # delivered earlier, or abandoned
    retrying: list[str] = field(default_factory=list)  # temporary failures; the next run retries
    failed_permanent: list[str] = field(default_factory=list)  # 5xx: an operator decides
    uncertain: list[str] = field(default_factory=list)  # may have arrived: an operator decides
    in_progress: list[str] = field(default_factory=list)  # claimed by another running delivery
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.retrying or self.failed_permanent or self.uncertain)


def _note_existing(outcome: DeliveryOutcome, recipient: str, row: Mapping[str, Any]) -> None:
    """Record a key this delivery did not claim, by the state another delivery left it in."""
    status = row["status"]
    if status in DONE_STATUSES or status == "abandoned":
        outcome.skipped.append(recipient)
    elif status == "failed_permanent":
        outcome.failed_permanent.append(recipient)
        outcome.errors[recipient] = row["last_error"] or "refused by the server"
    elif status == "uncertain":
        outcome.uncertain.append(recipient)
        outcome.errors[recipient] = (
            f"{row['last_error'] or 'the hand-over was interrupted'}; it may have arrived, so it "
            "is not sent again automatically"
        )
    else:  # pending (or retrying) under a live claim of another delivery
        outcome.in_progress.append(recipient)


def _send_claimed(
    engine: sqlalchemy.Engine,
    key: ledger.LedgerKey,
    token: str,
    attempts: int,
    hand_over: Callable[[], None],
    success_status: str,
    policy_: RetryPolicy,
    sleep: Callable[[float], None],
    outcome: DeliveryOutcome,
) -> None:
    """Hand a claimed message over with retries for temporary failures; record the outcome."""
    recipient = key.recipient
    for attempt in range(1, policy_.attempts + 1):
        attempts += 1
        ledger.record(engine, key, token, attempts=attempts)
        try:
            hand_over()
        except TemporaryDeliveryError as err:
            if attempt < policy_.attempts:
                sleep(policy_.backoff_s * policy_.factor ** (attempt - 1))
                continue
            ledger.record(engine, key, token, status="retrying", last_error=str(err)[:2000])
            outcome.retrying.append(recipient)
            outcome.errors[recipient] = str(err)
        except PermanentDeliveryError as err:
            ledger.record(engine, key, token, status="failed_permanent", last_error=str(err)[:2000])
            outcome.failed_permanent.append(recipient)
            outcome.errors[recipient] = str(err)
        except UncertainDeliveryError as err:
            ledger.record(engine, key, token, status="uncertain", last_error=str(err)[:2000])
            outcome.uncertain.append(recipient)
            outcome.errors[recipient] = f"{err}; it may have arrived, so it is not sent again"
        except NotHandedOverError as err:
            # Nothing reached the transport (e.g. the disk is full): release the claim so that
            # the next run sends it, and stop: every other message would meet the same problem.
            ledger.record(engine, key, token, status="retrying", last_error=str(err)[:2000])
            if err.cause is not None:
                raise err.cause from err
            raise
        except IceError as err:  # a mail setting to fix: no recipient can succeed until then
            ledger.record(engine, key, token, status="retrying", last_error=str(err)[:2000])
            raise
        else:
            ledger.record(engine, key, token, status=success_status, last_error=None)
            outcome.sent.append(recipient)
        return


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
    """Send ``content`` (the email form of ``report``) to each recipient exactly once.

    ``report`` is the archived version (its key is the ledger key); ``content`` is the
    :class:`RenderedReport` it was archived from (``content.html == report.html``). Each
    (version, recipient) is claimed in the ledger before the hand-over, so concurrent calls
    never both send it. One recipient's failure does not stop the others; a mail setting to
    fix or a full disk (IceError) stops the call after releasing the claim it held.
    """
    if content.html != report.html:
        raise ValueError("content is not the rendering that was archived as this report version")
    policy_ = retry or RetryPolicy()
    outcome = DeliveryOutcome()
    folder, stem = report.period, f"{_file_stem(report.kind)}-v{report.version}"
    # The PDF archived with this version (never a fresh print): what was audited is what is sent.
    attachments = {pdf_attachment_name(report): report.pdf} if report.pdf else {}
    target_of = getattr(transport, "target", None)
    with ledger.active_claims() as token:
        for recipient in dict.fromkeys(address.strip() for address in recipients):
            key = ledger.LedgerKey(
                report.period, report.kind, report.audience, report.version, recipient
            )
            message_id = message_id_for(
                report.period, report.kind, report.audience, report.version, recipient, from_address
            )
            # Built before claiming: a message that cannot be built never holds a claim.
            message = build_message(
                content.email_html,
                content.text,
                content.images,
                content.subject,
                from_address,
                recipient,
                message_id=message_id,
                attachments=attachments,
            )
            target = target_of(recipient, folder=folder, stem=stem) if target_of else None
            claimed = ledger.claim(engine, key, token, target)
            if not claimed.won:
                _note_existing(outcome, recipient, claimed.row or {"status": "pending"})
                continue
            ledger.record(engine, key, token, message_id=message_id)

            def hand_over(message: EmailMessage = message, recipient: str = recipient) -> None:
                if target_of is None:  # a transport without folder/stem (tests, older code)
                    transport.send(message, recipient)
                else:
                    transport.send(message, recipient, folder=folder, stem=stem)

            _send_claimed(
                engine,
                key,
                token,
                claimed.attempts,
                hand_over,
                transport.success_status,
                policy_,
                sleep,
                outcome,
            )
    return outcome


def parse_address(address: str) -> str:
    """The bare address of 'Name <a@b>' or 'a@b'."""
    return parseaddr(address)[1]
