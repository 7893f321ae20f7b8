"""The run-failure alert: a failed run emails the data engineers once, with a link to it.

Belongs here: ``ice_run_failure_email``, a run-failure sensor that emails the data-engineering
recipients (``alerts: {recipients: [...]}`` in ICE_CONFIG, or ``ICE_ALERT_RECIPIENTS``) with the
failing step, its error and a link to the run (``ICE_DAGSTER_BASE_URL``), and the plain
functions that build and send that message. A run is alerted about once: the sent alert is
recorded as a tag on the failed run in the Dagster instance.

Not here: the landing sensor (defs/sensors.py), the report e-mail (``reports.delivery``).
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg

from ice_pipeline.defs.resources import EmailResource
from ice_pipeline.errors import ConfigError

FAILURE_SENSOR_NAME = "ice_run_failure_email"
DEFAULT_BASE_URL = "http://localhost:3000"
ALERT_SENT_TAG = "ice/failure_alert_sent_at"


@dataclass(frozen=True)
class StepFailure:
    """One failed step of a run: its key and the error as the user should read it."""

    step_key: str
    error_text: str  # the full message (a dagster.Failure's description, else "Class: message")

    @property
    def first_line(self) -> str:
        lines = [line.strip() for line in self.error_text.splitlines() if line.strip()]
        return lines[0] if lines else "(no error message)"


@dataclass(frozen=True)
class FailureAlert:
    """What the data engineers are told about one failed run."""

    run_id: str
    job_name: str
    partition_key: str | None
    run_url: str
    step_failures: tuple[StepFailure, ...]
    run_error_text: str  # the run-level message, used when no step failed (e.g. a launch error)

    @property
    def subject(self) -> str:
        where = f" {self.partition_key}" if self.partition_key else ""
        if self.step_failures:
            first = self.step_failures[0]
            more = f" (+{len(self.step_failures) - 1} more)" if len(self.step_failures) > 1 else ""
            text = (
                f"[ICE] {self.job_name}{where} failed in {first.step_key}{more}: {first.first_line}"
            )
        else:
            first_line = (self.run_error_text.strip().splitlines() or ["(no error message)"])[0]
            text = f"[ICE] {self.job_name}{where} failed: {first_line}"
        # Subjects are one line; long ones are cut, the full text is in the body.
        text = " ".join(text.split())
        return text if len(text) <= 180 else text[:177] + "..."

    @property
    def body(self) -> str:
        lines = [
            f"The Dagster run {self.run_id} of {self.job_name} failed.",
            "",
            f"Run:       {self.run_url}",
            f"Job:       {self.job_name}",
            f"Partition: {self.partition_key or '(not partitioned)'}",
        ]
        if self.step_failures:
            lines.append(f"Failed steps: {', '.join(step.step_key for step in self.step_failures)}")
            for step in self.step_failures:
                lines += ["", f"--- step {step.step_key} ---", step.error_text.rstrip()]
        else:
            lines += ["", "--- run error ---", self.run_error_text.rstrip()]
        lines += [
            "",
            "Open the run link for the full logs; docs/operations.md (Reading an alert) says what",
            "to do next.",
            "Re-run only the failed steps from the run page (Re-execute > From failure).",
        ]
        return "\n".join(lines) + "\n"


def alert_base_url(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("ICE_DAGSTER_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def alert_recipients(environ: dict[str, str] | None = None) -> list[str]:
    """The data-engineering recipients: ``ICE_ALERT_RECIPIENTS`` (comma-separated), else the
    ``alerts: {recipients: [...]}`` section of ICE_CONFIG. Empty means alerts are not configured.
    """
    from ice_pipeline.config import config_path, load_config, section
    from ice_pipeline.settings import load_settings

    env = dict(os.environ if environ is None else environ)
    if env.get("ICE_ALERT_RECIPIENTS"):
        recipients = [
            part.strip() for part in env["ICE_ALERT_RECIPIENTS"].split(",") if part.strip()
        ]
    else:
        configured = section(load_config(config_path(load_settings(env), env)), "alerts").get(
            "recipients"
        )
        if configured is None:
            configured = []
        if not isinstance(configured, list):
            raise ConfigError(
                "alerts.recipients",
                "must be a list of email addresses",
                fix="write alerts: {recipients: [data-eng@example.org]}",
            )
        recipients = [str(item).strip() for item in configured if str(item).strip()]
    for address in recipients:
        if "@" not in address:
            raise ConfigError(
                "ICE_ALERT_RECIPIENTS",
                f"{address!r} is not an email address",
                fix="list addresses like data-eng@example.org, separated by commas",
            )
    return recipients


def _error_text(step_failure_data: Any) -> str:
    user_failure = getattr(step_failure_data, "user_failure_data", None)
    if user_failure is not None and user_failure.description:
        return str(
            user_failure.description
        )  # a dagster.Failure / IceError message, already readable
    error = step_failure_data.error
    if error is None:
        return "(no error recorded)"
    # Dagster may wrap user code errors; the cause is what the user's code raised.
    while error.cls_name and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip()


def failure_alert_for_run(
    instance: dg.DagsterInstance, run: Any, run_failure_message: str, base_url: str
) -> FailureAlert:
    """Collect the failed steps of ``run`` from the instance's event log into an alert."""
    step_failures = tuple(
        StepFailure(
            step_key=record.dagster_event.step_key or "?",
            error_text=_error_text(record.dagster_event.step_failure_data),
        )
        for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        if record.dagster_event is not None
    )
    return FailureAlert(
        run_id=run.run_id,
        job_name=run.job_name,
        partition_key=run.tags.get("dagster/partition"),
        run_url=f"{base_url}/runs/{run.run_id}",
        step_failures=step_failures,
        run_error_text=run_failure_message,
    )


def build_alert_message(
    alert: FailureAlert, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-ICE-Run-Id"] = alert.run_id
    # Where the outbox transport files it: <outbox>/alerts/run-failure-<run id>-<recipient>.eml
    message["X-ICE-Period"] = "alerts"
    message["X-ICE-File-Stem"] = f"run-failure-{alert.run_id}"
    message.set_content(alert.body)
    return message


def alert_transport(email: EmailResource) -> Any:
    """The reports' transport (``ice_pipeline.reports.delivery``) for the email resource's settings.

    Alerts go out exactly as reports do: over SMTP when ``ICE_SMTP_HOST`` is set, else as .eml
    files in the outbox (the demo default, no network).
    """
    from ice_pipeline.reports.delivery import OutboxTransport, SmtpSettings, SmtpTransport

    if not email.smtp_host:
        return OutboxTransport(Path(email.outbox_dir))
    settings = SmtpSettings(
        host=email.smtp_host,
        from_address=email.from_address,
        port=email.smtp_port,
        # The resource says "tls" for implicit TLS where the transport says "ssl".
        security={"tls": "ssl"}.get(email.smtp_security, email.smtp_security),
        username=email.smtp_user,
        timeout_s=email.timeout_seconds,
    )
    # The resource has already resolved the password (a dg.EnvVar); hand it over under the name
    # the transport asks for instead of re-reading the process environment.
    return SmtpTransport(settings, environ={settings.password_env: email.smtp_password or ""})


def send_alert_message(
    email: EmailResource, message: EmailMessage, recipients: Sequence[str]
) -> str:
    """Send one copy per recipient; returns where it went. Delivery errors propagate (the tick fails
    and the daemon evaluates the failure again on the next tick).
    """
    transport = alert_transport(email)
    for recipient in recipients:
        transport.send(message, recipient)
    return f"smtp://{email.smtp_host}:{email.smtp_port}" if email.smtp_host else email.outbox_dir


@dg.run_failure_sensor(
    name=FAILURE_SENSOR_NAME,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Emails the data-engineering recipients (ICE_ALERT_RECIPIENTS or alerts.recipients) "
        "the failing "
        "step, its error and a link to the run, once per failed run."
    ),
)
def ice_run_failure_email(context: dg.RunFailureSensorContext, email: EmailResource) -> None:
    run = context.dagster_run
    fresh = context.instance.get_run_by_id(run.run_id) or run
    if fresh.tags.get(ALERT_SENT_TAG):
        context.log.info(f"run {run.run_id}: alert already sent at {fresh.tags[ALERT_SENT_TAG]}")
        return
    recipients = alert_recipients()
    if not recipients:
        context.log.warning(
            f"run {run.run_id} failed but no alert recipients are configured "
            "(set ICE_ALERT_RECIPIENTS or alerts.recipients in ICE_CONFIG)"
        )
        return
    alert = failure_alert_for_run(
        context.instance, fresh, context.failure_event.message or "", alert_base_url()
    )
    message = build_alert_message(alert, email.from_address, recipients)
    sent_to = send_alert_message(email, message, recipients)
    # Recorded on the run itself (instance storage), so a re-evaluation or a reset sensor cursor
    # never mails the same failure twice. Sent first, tagged second: a lost tag can repeat an
    # alert, but a failed send never silently drops one.
    context.instance.add_run_tags(run.run_id, {ALERT_SENT_TAG: datetime.now(UTC).isoformat()})
    context.log.info(
        f"run {run.run_id}: failure alert for {len(recipients)} recipient(s) sent via {sent_to}"
    )
