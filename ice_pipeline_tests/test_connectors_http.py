"""The connectors' HTTP client on a bad day: 429 + Retry-After, 5xx, a connection dropped
mid-page, an answer cut off, give-up bounds, and no credential in any message.

Counts are of requests the local server saw; sleeps are recorded instead of slept.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ice_pipeline.connectors.http import ApiClient, RetryPolicy, retry_after_seconds
from ice_pipeline.connectors.pull import pull_source
from ice_pipeline.errors import IceError
from ice_pipeline_tests.connector_scenarios import T1, ServiceNowScenario, ZendeskScenario


@pytest.fixture
def snow(tmp_path: Path) -> Iterator[ServiceNowScenario]:
    s = ServiceNowScenario(tmp_path)
    s.seed()
    yield s
    s.fake.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_429_waits_what_retry_after_says(snow: ServiceNowScenario, tmp_path: Path) -> None:
    sleeps = Sleeps()
    snow.fake.faults.append(("table/incident", "429", 2))
    outcome = pull_source(snow.settings(), tmp_path / "l", now=T1, sleep=sleeps)
    assert outcome.records == 5
    assert sleeps == [2.0]
    assert snow.fake.hits("table/incident") == 4  # 3 pages + the refused one


def test_5xx_then_success_backs_off_with_jitter(snow: ServiceNowScenario, tmp_path: Path) -> None:
    sleeps = Sleeps()
    snow.fake.faults += [("table/incident", "503", None), ("table/incident", "500", None)]
    outcome = pull_source(snow.settings(), tmp_path / "l", now=T1, sleep=sleeps)
    assert outcome.records == 5 and snow.fake.hits("table/incident") == 5
    assert len(sleeps) == 2 and all(0 <= s <= 0.01 for s in sleeps)  # full jitter, capped


def test_connection_dropped_mid_page_is_retried(snow: ServiceNowScenario, tmp_path: Path) -> None:
    snow.fake.faults.append(("table/incident", "drop", None))
    outcome = pull_source(snow.settings(), tmp_path / "l", now=T1, sleep=Sleeps())
    assert outcome.records == 5 and snow.fake.hits("table/incident") == 4
    assert outcome.requests == 4


def test_gives_up_after_max_attempts_with_one_line(
    snow: ServiceNowScenario, tmp_path: Path
) -> None:
    snow.fake.broken = ("table/incident", 0)
    with pytest.raises(IceError) as caught:
        pull_source(snow.settings(), tmp_path / "l", now=T1, sleep=Sleeps())
    assert snow.fake.hits("table/incident") == 4  # FAST_RETRY.max_attempts
    message = str(caught.value)
    assert "still failed after 4 attempts" in message and "HTTP 503" in message
    assert "\n" not in message
    assert not list((tmp_path / "l").rglob("*.csv"))


def test_total_time_is_bounded(snow: ServiceNowScenario, tmp_path: Path) -> None:
    sleeps = Sleeps()
    snow.fake.faults.append(("table/incident", "429", 3600))
    short = RetryPolicy(max_attempts=10, max_total_seconds=5, initial_seconds=0.001, max_seconds=1)
    with pytest.raises(IceError, match="still failed after 1 attempts"):
        pull_source(snow.settings(retry=short), tmp_path / "l", now=T1, sleep=sleeps)
    assert sleeps == []  # an hour's Retry-After exceeds the 5 s budget: stop, do not sleep


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 5, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Thu, 05 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds("soon", now) is None


def test_zendesk_rate_limit_and_drop_on_the_export(tmp_path: Path) -> None:
    s = ZendeskScenario(tmp_path)
    try:
        s.seed()
        sleeps = Sleeps()
        s.fake.faults += [("incremental", "429", 3), ("incremental", "drop", None)]
        outcome = pull_source(s.settings(), tmp_path / "l", now=T1, sleep=sleeps)
        assert outcome.records == 3
        assert s.fake.hits("incremental") == 2 + 2  # two export pages, one 429, one dropped
        assert sleeps[0] == 3.0 and len(sleeps) == 2
        sent = [r for r in s.fake.requests if "incremental" in r.path]
        assert sent[0].query == {"per_page": "2", "include": "metric_sets", "start_time": "0"}
        assert "cursor" in sent[-1].query  # the second page follows after_cursor
    finally:
        s.fake.close()


def test_a_credential_echoed_by_the_server_is_blanked(snow: ServiceNowScenario) -> None:
    client = ApiClient(
        tool="servicenow",
        base_url=snow.fake.url,
        secret_setting="ICE_SERVICENOW_PASSWORD",
        auth=(snow.fake.user, snow.fake.password),
        secrets=(snow.fake.password,),
        retry=RetryPolicy(max_attempts=1),
    )
    with client, pytest.raises(IceError) as caught:
        client.get_json(f"/api/now/table/no_such_table_{snow.fake.password}")
    assert snow.fake.password not in str(caught.value) and "***" in str(caught.value)
    assert "HTTP 400" in str(caught.value)


def test_a_next_page_link_to_another_host_is_refused(snow: ServiceNowScenario) -> None:
    client = ApiClient(tool="surveymonkey", base_url=snow.fake.url, secret_setting="ICE_X")
    with client, pytest.raises(IceError, match="another host"):
        client.same_origin("https://evil.example.com/v3/next")
