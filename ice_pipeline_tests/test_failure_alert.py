"""A failing step makes the run-failure sensor send exactly one email to a real SMTP server."""

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from ice_pipeline.defs.resources import EmailResource
from ice_pipeline.defs.sensors import (
    ALERT_SENT_TAG,
    FAILURE_SENSOR_NAME,
    FailureAlert,
    StepFailure,
    alert_recipients,
    ice_run_failure_email,
)
from ice_pipeline.errors import ConfigError


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    handler = RecordingHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("ICE_CONFIG", raising=False)
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ICE_ALERT_RECIPIENTS", "data-eng@example.org")
    monkeypatch.setenv("ICE_DAGSTER_BASE_URL", "https://dagster.example.org/")
    with dg.DagsterInstance.from_config(str(home)) as dagster_instance:
        yield dagster_instance


monthly = dg.MonthlyPartitionsDefinition(start_date="2026-01", fmt="%Y-%m", end_offset=0)


@dg.asset(partitions_def=monthly)
def survey_ratings() -> int:
    return 3


@dg.asset(partitions_def=monthly)
def ice_scores(survey_ratings: int) -> int:
    raise ValueError(f"provider 'IT' has {survey_ratings} ratings, need 5\nsecond line of detail")


alerting_test_job = dg.define_asset_job("alerting_test_job", selection="*", partitions_def=monthly)


def _email_resource(port: int, tmp_path: Path) -> EmailResource:
    return EmailResource(
        outbox_dir=str(tmp_path / "outbox"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        from_address="ice-pipeline@example.org",
        timeout_seconds=10,
    )


def _run_failing_job(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    defs = dg.Definitions(assets=[survey_ratings, ice_scores], jobs=[alerting_test_job])
    result = defs.resolve_job_def("alerting_test_job").execute_in_process(
        instance=instance, partition_key="2026-03", raise_on_error=False
    )
    assert not result.success
    return result


def _failure_context(instance: dg.DagsterInstance, run_id: str, resource: EmailResource) -> object:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert len(records) == 1
    return dg.build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR_NAME,
        dagster_event=records[0].dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"email": resource},
    ).for_run_failure()


def test_failing_step_sends_exactly_one_email(
    instance: dg.DagsterInstance, smtp_server: tuple[RecordingHandler, int], tmp_path: Path
) -> None:
    handler, port = smtp_server
    run_id = _run_failing_job(instance).run_id
    resource = _email_resource(port, tmp_path)

    ice_run_failure_email(_failure_context(instance, run_id, resource))
    assert len(handler.messages) == 1
    recipients, raw = handler.messages[0]
    assert recipients == ["data-eng@example.org"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    subject = message["Subject"]
    assert subject == (
        "[ICE] alerting_test_job 2026-03 failed in ice_scores: "
        "ValueError: provider 'IT' has 3 ratings, need 5"
    )
    assert "second line" not in subject and "Traceback" not in subject
    body = message.get_content()
    assert f"https://dagster.example.org/runs/{run_id}" in body
    assert "Failed steps: ice_scores" in body
    assert "second line of detail" in body  # the body carries the whole error text
    assert message["From"] == "ice-pipeline@example.org"
    assert instance.get_run_by_id(run_id).tags[ALERT_SENT_TAG]

    # Evaluating the same failure again (a retry, a reset cursor) sends nothing more.
    ice_run_failure_email(_failure_context(instance, run_id, resource))
    assert len(handler.messages) == 1


def test_sensor_evaluation_loop_alerts_once_per_failed_run(
    instance: dg.DagsterInstance, smtp_server: tuple[RecordingHandler, int], tmp_path: Path
) -> None:
    """The daemon's path: the sensor reads failures from the event log from its cursor onward."""
    handler, port = smtp_server
    defs = dg.Definitions(
        assets=[survey_ratings, ice_scores],
        jobs=[alerting_test_job],
        sensors=[ice_run_failure_email],
        resources={"email": _email_resource(port, tmp_path)},
    )
    repository = defs.get_repository_def()

    def tick(cursor: str | None) -> str | None:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            repository_def=repository,
            resources={"email": _email_resource(port, tmp_path)},
        )
        return ice_run_failure_email.evaluate_tick(context).cursor

    cursor = tick(None)  # the first tick only places the cursor at "now"
    first = defs.resolve_job_def("alerting_test_job").execute_in_process(
        instance=instance, partition_key="2026-03", raise_on_error=False
    )
    second = defs.resolve_job_def("alerting_test_job").execute_in_process(
        instance=instance, partition_key="2026-04", raise_on_error=False
    )
    cursor = tick(cursor)
    cursor = tick(cursor)
    assert len(handler.messages) == 2
    subjects = sorted(
        email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
        for _, raw in handler.messages
    )
    assert [" 2026-03 " in subjects[0], " 2026-04 " in subjects[1]] == [True, True]
    bodies = b"".join(raw for _, raw in handler.messages)
    assert first.run_id.encode() in bodies and second.run_id.encode() in bodies


def test_no_recipients_means_no_email_and_no_tag(
    instance: dg.DagsterInstance,
    smtp_server: tuple[RecordingHandler, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, port = smtp_server
    monkeypatch.delenv("ICE_ALERT_RECIPIENTS")
    run_id = _run_failing_job(instance).run_id
    ice_run_failure_email(_failure_context(instance, run_id, _email_resource(port, tmp_path)))
    assert handler.messages == []
    assert ALERT_SENT_TAG not in instance.get_run_by_id(run_id).tags


def test_recipients_from_config_file(tmp_path: Path) -> None:
    config = tmp_path / "ice.yaml"
    config.write_text("alerts:\n  recipients: [data-eng@example.org]\n")
    assert alert_recipients({"ICE_CONFIG": str(config), "ICE_DATA_DIR": str(tmp_path)}) == [
        "data-eng@example.org"
    ]
    assert alert_recipients(
        {"ICE_CONFIG": str(config), "ICE_ALERT_RECIPIENTS": "a@x.org,b@x.org"}
    ) == ["a@x.org", "b@x.org"]
    with pytest.raises(ConfigError) as caught:
        alert_recipients({"ICE_ALERT_RECIPIENTS": "data-eng"})
    assert caught.value.setting == "ICE_ALERT_RECIPIENTS"


def test_subject_is_one_short_line() -> None:
    alert = FailureAlert(
        run_id="r1",
        job_name="ice_nightly_job",
        partition_key=None,
        run_url="http://x/runs/r1",
        step_failures=(StepFailure("ingest_tickets", "\n  " + "x" * 400 + "\nTraceback ..."),),
        run_error_text="",
    )
    assert "\n" not in alert.subject and len(alert.subject) == 180
    assert alert.subject.startswith("[ICE] ice_nightly_job failed in ingest_tickets: xxx")
    launch_failure = FailureAlert(
        run_id="r2",
        job_name="j",
        partition_key="2026-10",
        run_url="u",
        step_failures=(),
        run_error_text="Run launcher died\nmore",
    )
    assert launch_failure.subject == "[ICE] j 2026-10 failed: Run launcher died"


def test_every_recipient_gets_one_copy_and_the_outbox_works_without_smtp(
    instance: dg.DagsterInstance,
    smtp_server: tuple[RecordingHandler, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, port = smtp_server
    monkeypatch.setenv("ICE_ALERT_RECIPIENTS", "data-eng@example.org,oncall@example.org")
    run_id = _run_failing_job(instance).run_id
    ice_run_failure_email(_failure_context(instance, run_id, _email_resource(port, tmp_path)))
    assert sorted(recipients for recipients, _ in handler.messages) == [
        ["data-eng@example.org"],
        ["oncall@example.org"],
    ]

    # No SMTP host (the demo default): the alert is written to the outbox as .eml files instead.
    other_run_id = _run_failing_job(instance).run_id
    outbox_only = EmailResource(outbox_dir=str(tmp_path / "outbox"), from_address="ice@example.org")
    ice_run_failure_email(_failure_context(instance, other_run_id, outbox_only))
    written = sorted(path.name for path in (tmp_path / "outbox").rglob("*.eml"))
    assert len(written) == 2 and all(other_run_id in name for name in written)
    assert len(handler.messages) == 2
