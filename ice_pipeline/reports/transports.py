"""The two mail transports and how their failures are classified.

What belongs here: :class:`SmtpTransport` (smtplib, STARTTLS / implicit TLS / plain for local
relays) and :class:`OutboxTransport` (one ``.eml`` file per message, the demo default), and the
exceptions a hand-over can end in. The ledger that decides *whether* to hand a message over lives
in ``ledger.py``; :func:`ice_pipeline.reports.delivery.deliver` ties the two together.

A hand-over ends in exactly one of:

* success                         the server answered 250 to the end of DATA (whatever happens
                                  after, e.g. a 421 or a dropped connection at QUIT), or the .eml
                                  file was renamed into place;
* :class:`TemporaryDeliveryError`  nothing was accepted and trying later may work (4xx, refused
                                  connection, a timeout before the end of DATA);
* :class:`PermanentDeliveryError`  this recipient is refused for good (5xx);
* :class:`MailSettingsError`       no recipient can succeed until a setting is fixed (AUTH or
                                  STARTTLS not offered, login refused, untrusted certificate);
* :class:`UncertainDeliveryError`  the end of DATA reached the server but its answer did not
                                  come back (timeout, lost connection): it may have been accepted,
                                  so it is never retried automatically;
* :class:`NotHandedOverError`     the message never reached the transport (e.g. no space left to
                                  write the .eml); releasing the claim is safe.

Internal ``X-ICE-*`` headers are removed before a message leaves: they never reach a recipient.
"""

import errno
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ice_pipeline.errors import IceError
from ice_pipeline.reports.archive import _file_stem, _write_atomically

if TYPE_CHECKING:
    from ice_pipeline.reports.delivery import SmtpSettings

INTERNAL_HEADER_PREFIX = "x-ice-"


class TemporaryDeliveryError(Exception):
    """Nothing was accepted; worth retrying later: connection refused, timeout, 4xx."""


class PermanentDeliveryError(Exception):
    """This recipient will not succeed by retrying: 5xx."""


class UncertainDeliveryError(Exception):
    """The end of DATA was sent but the server's answer was lost: it may have been delivered."""


class NotHandedOverError(Exception):
    """The message never reached the transport (nothing can have been delivered)."""

    def __init__(self, message: str, *, cause: IceError | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class MailSettingsError(IceError):
    """No message can be sent until a mail setting is fixed; ``where`` names the setting."""


class Transport(Protocol):
    success_status: str

    def target(self, recipient: str, *, folder: str, stem: str) -> str:
        """Where a message for ``recipient`` goes (kept in the ledger's ``target``)."""

    def send(self, message: EmailMessage, recipient: str, *, folder: str, stem: str) -> None:
        """Hand the message over, or raise one of this module's exceptions."""


def without_internal_headers(message: EmailMessage) -> EmailMessage:
    """``message`` without ``X-ICE-*`` headers (a copy only when there were any)."""
    internal = [key for key in message.keys() if key.lower().startswith(INTERNAL_HEADER_PREFIX)]
    if not internal:
        return message
    clean = EmailMessage(policy=message.policy)
    clean.set_payload(message.get_payload())
    for key, value in message.items():
        if not key.lower().startswith(INTERNAL_HEADER_PREFIX):
            clean[key] = value
    return clean


def _legacy_location(
    message: EmailMessage, folder: str | None, stem: str | None
) -> tuple[str, str]:
    """Callers written before ``folder``/``stem`` existed passed them as X-ICE-* headers."""
    return (
        folder or str(message.get("X-ICE-Period") or "undated"),
        stem or str(message.get("X-ICE-File-Stem") or "report"),
    )


# ---------------------------------------------------------------------------------------------
# SMTP
# ---------------------------------------------------------------------------------------------


class _HandOverTracking:
    """Notes the moment the end of DATA has been written to the server.

    smtplib cannot tell "the server never got the message" from "the server got it and its
    answer was lost"; the difference decides between retrying (safe) and an uncertain row (a
    retry could be a duplicate). ``data`` is smtplib's own, with one flag set in between.
    """

    data_sent = False

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")  # noqa: SLF001 - smtplib's own helper
        body = smtplib._quote_periods(msg)  # noqa: SLF001 - smtplib's own helper
        if body[-2:] != smtplib.bCRLF:
            body += smtplib.bCRLF
        self.send(body + b"." + smtplib.bCRLF)  # type: ignore[attr-defined]
        self.data_sent = True
        return self.getreply()  # type: ignore[attr-defined]


class _Smtp(_HandOverTracking, smtplib.SMTP):
    pass


class _SmtpSsl(_HandOverTracking, smtplib.SMTP_SSL):
    pass


def _smtp_text(err: smtplib.SMTPException) -> tuple[int | None, str]:
    code = getattr(err, "smtp_code", None)
    detail = getattr(err, "smtp_error", b"")
    if isinstance(err, smtplib.SMTPRecipientsRefused) and err.recipients:
        code, detail = next(iter(err.recipients.values()))
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    text = f"{code} {detail}".strip() if code else f"{type(err).__name__}: {err}"
    return (code if isinstance(code, int) else None), text


class SmtpTransport:
    """Send through an SMTP server with STARTTLS, implicit TLS or (local relays) plain text."""

    success_status = "sent"

    def __init__(
        self,
        settings: "SmtpSettings",
        *,
        environ: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._environ = environ
        self._ssl_context = ssl_context

    def target(self, recipient: str, *, folder: str = "", stem: str = "") -> str:
        return f"smtp://{self.settings.host}:{self.settings.port}"

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "ssl":
            return _SmtpSsl(
                settings.host, settings.port, timeout=settings.timeout_s, context=context
            )
        return _Smtp(settings.host, settings.port, timeout=settings.timeout_s)

    def _settings_error(self, setting: str, problem: str, fix: str) -> MailSettingsError:
        where = f"{setting} ({self.settings.host}:{self.settings.port})"
        return MailSettingsError(problem, fix=fix, where=where)

    def _login(self, client: smtplib.SMTP) -> None:
        settings = self.settings
        password = settings.password(self._environ)
        if settings.username is None or password is None:
            return
        client.ehlo_or_helo_if_needed()
        if not client.has_extn("auth"):
            raise self._settings_error(
                "email.smtp.username / ICE_SMTP_USER",
                f"the server offers no AUTH, but the user {settings.username!r} is configured",
                "unset the user for a relay that needs no login, or use security starttls/ssl "
                "(many servers offer AUTH only over TLS)",
            )
        try:
            client.login(settings.username, password)
        except smtplib.SMTPAuthenticationError as err:
            raise self._settings_error(
                "email.smtp.username / ICE_SMTP_PASSWORD",
                f"login refused for user {settings.username!r}: {err.smtp_code}",
                "check the user and the password in the environment variable "
                f"{settings.password_env}",
            ) from err
        except smtplib.SMTPException as err:  # e.g. no AUTH mechanism in common
            raise self._settings_error(
                "email.smtp.username / ICE_SMTP_USER",
                f"cannot log in as {settings.username!r}: {err}",
                "ask the mail administrators which login the server accepts",
            ) from err

    def send(
        self, message: EmailMessage, recipient: str, *, folder: str = "", stem: str = ""
    ) -> None:
        settings = self.settings
        context = self._ssl_context or ssl.create_default_context()
        outgoing = without_internal_headers(message)
        client: smtplib.SMTP | None = None
        try:
            client = self._connect(context)
            if settings.security == "starttls":
                client.starttls(context=context)
            self._login(client)
            client.send_message(outgoing, from_addr=settings.from_address, to_addrs=[recipient])
        except smtplib.SMTPNotSupportedError as err:  # STARTTLS not offered
            raise self._settings_error(
                "email.smtp.security / ICE_SMTP_SECURITY",
                f"the server refused {settings.security}: {err}",
                "use ssl for implicit TLS (port 465), or none only for a local relay",
            ) from err
        except ssl.SSLCertVerificationError as err:
            raise self._settings_error(
                "email.smtp.host / ICE_SMTP_HOST",
                f"the server's certificate is not trusted: {err.verify_message}",
                "use the host name on the server's certificate, or install its CA on this machine",
            ) from err
        except smtplib.SMTPSenderRefused as err:
            code, text = _smtp_text(err)
            if code is not None and 500 <= code < 600:
                raise self._settings_error(
                    "email.smtp.from_address / ICE_SMTP_FROM",
                    f"the server refuses the sender {settings.from_address!r}: {text}",
                    "use a sender address this server accepts for the configured login",
                ) from err
            raise TemporaryDeliveryError(text) from err
        except smtplib.SMTPException as err:
            code, text = _smtp_text(err)
            if isinstance(err, smtplib.SMTPServerDisconnected) and _data_sent(client):
                raise UncertainDeliveryError(
                    f"connection lost after the end of DATA: {text}"
                ) from err
            if code is not None and 500 <= code < 600:
                raise PermanentDeliveryError(text) from err
            raise TemporaryDeliveryError(text) from err
        except OSError as err:  # refused, reset, timeout (TimeoutError is an OSError)
            where = f"({settings.host}:{settings.port})"
            if _data_sent(client):
                raise UncertainDeliveryError(
                    f"no answer after the end of DATA: {type(err).__name__}: {err} {where}"
                ) from err
            raise TemporaryDeliveryError(f"{type(err).__name__}: {err} {where}") from err
        finally:
            _close_quietly(client)


def _data_sent(client: smtplib.SMTP | None) -> bool:
    return bool(getattr(client, "data_sent", False))


def _close_quietly(client: smtplib.SMTP | None) -> None:
    """QUIT, ignoring its answer: once DATA was accepted, a 421 or a lost reply changes nothing."""
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


# ---------------------------------------------------------------------------------------------
# Outbox
# ---------------------------------------------------------------------------------------------


class OutboxTransport:
    """Write each message as ``<directory>/<folder>/<stem>-<recipient>.eml`` (atomically)."""

    success_status = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, recipient: str, *, folder: str, stem: str) -> Path:
        return self.directory / _file_stem(folder) / f"{stem}-{_file_stem(recipient)}.eml"

    def target(self, recipient: str, *, folder: str, stem: str) -> str:
        return str(self.path(recipient, folder=folder, stem=stem))

    def send(
        self, message: EmailMessage, recipient: str, *, folder: str = "", stem: str = ""
    ) -> None:
        folder, stem = _legacy_location(message, folder, stem)
        path = self.path(recipient, folder=folder, stem=stem)
        text = without_internal_headers(message).as_bytes(policy=policy.SMTP)
        try:
            _write_atomically(path, text.decode("utf-8", "replace"))
        except OSError as err:
            # _write_atomically removed its temporary file: nothing reached the outbox.
            from ice_pipeline.disk import disk_error

            cause = disk_error(err, path.parent, needed_bytes=len(text))
            if cause is None and err.errno not in (errno.EACCES, errno.EROFS, errno.EDQUOT):
                raise
            raise NotHandedOverError(str(cause or err), cause=cause) from err
