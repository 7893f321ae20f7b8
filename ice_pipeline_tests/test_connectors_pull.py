"""Connectors against local servers that speak each vendor's protocol (loopback only).

For every tool: one clean pull, a full pull followed by an incremental one after records were
added and updated, and a pull stopped midway (by the server failing, and by a crash between the
data file's rename and its commit) then resumed all leave landing files whose canonical rows,
parsed by the real ingest code, are the same. Plus the protocol details: auth headers, paging
to the last page, the Qualtrics export states, and a missing field named.
"""

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.connectors.pull import pull_source
from ice_pipeline.errors import ConfigError, IceError
from ice_pipeline_tests.connector_scenarios import (
    SCENARIOS,
    T1,
    T2,
    T3,
    Scenario,
    canonical,
)

# Where each tool is stopped midway (path fragment, requests to it that still succeed).
MIDWAY = {
    "qualtrics": ("/file", 0),
    "surveymonkey": ("responses/bulk", 0),  # after the survey details
    "servicenow": ("table/incident", 1),
    "jira": ("search/jql", 0),
    "zendesk": ("incremental", 0),  # after groups and ratings
    "bamboohr": ("reports/custom", 0),
}
# Records the incremental pull fetches: only what changed (BambooHR: the whole roster).
CHANGED = {
    "qualtrics": 2,
    "surveymonkey": 2,
    "servicenow": 2,
    "jira": 2,
    "zendesk": 2,
    "bamboohr": 4,
}


class Crash(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it)."""


@pytest.fixture(params=SCENARIOS, ids=lambda c: c.tool)
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scenario]:
    made = request.param(tmp_path)
    yield made
    made.fake.close()


def _no_sleep(seconds: float) -> None:
    pass


def _pull(s: Scenario, landing: Path, now, **kwargs):  # type: ignore[no-untyped-def]
    return pull_source(s.settings(), landing, now=now, sleep=_no_sleep, **kwargs)


def _secrets_absent(s: Scenario, root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in s.secrets():
                assert secret.encode() not in data, f"{secret!r} found in {path}"


def test_full_incremental_and_resumed_pulls_equal_one_clean_pull(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    incremental, resumed, clean = tmp_path / "inc", tmp_path / "res", tmp_path / "clean"
    s.seed()
    first = _pull(s, incremental, T1)
    assert first.status == "landed" and first.records >= 3
    assert _pull(s, resumed, T1).status == "landed"
    before_change = canonical(incremental, s.feed, tmp_path)
    s.change()

    one_clean = _pull(s, clean, T2)
    assert one_clean.status == "landed"
    expected = canonical(clean, s.feed, tmp_path)
    main_table = next(iter(expected))
    assert len(expected[main_table]) > len(before_change[main_table]) or s.tool == "surveymonkey"
    assert not expected[main_table].equals(before_change[main_table])

    second = _pull(s, incremental, T2)
    assert second.status == "landed" and second.records == CHANGED[s.tool]
    for table, frame in canonical(incremental, s.feed, tmp_path).items():
        pd.testing.assert_frame_equal(frame, expected[table], obj=f"{s.tool} incremental {table}")

    # Stopped midway by the server: nothing counts, the cursor stays where it was.
    fragment, still_ok = MIDWAY[s.tool]
    s.fake.broken = (fragment, s.fake.hits(fragment) + still_ok)
    with pytest.raises(IceError, match="still failed"):
        _pull(s, resumed, T2)
    s.fake.broken = None
    # Killed after the data file was renamed into place, before its sidecar commits it.
    with pytest.raises(Crash):
        _pull(s, resumed, T2, before_commit=lambda: (_ for _ in ()).throw(Crash()))
    resumed_pull = _pull(s, resumed, T3)
    assert resumed_pull.status == "landed"
    for table, frame in canonical(resumed, s.feed, tmp_path).items():
        pd.testing.assert_frame_equal(frame, expected[table], obj=f"{s.tool} resumed {table}")
    sidecars = sorted((resumed / s.feed / f"{s.tool}_src").glob("*.provenance.json"))
    assert len(sidecars) == 2  # the first pull and the resumed one; the crashed one left nothing
    assert not list((resumed / s.feed / f"{s.tool}_src").glob(".*.part"))

    # Nothing new: no file, no cursor movement.
    assert _pull(s, incremental, T3).status in ("nothing_new", "landed")
    _secrets_absent(s, tmp_path)


def test_sidecar_records_provenance(scenario: Scenario, tmp_path: Path) -> None:
    import hashlib
    import json

    s = scenario
    s.seed()
    outcome = _pull(s, tmp_path, T1)
    data = Path(outcome.file or "")
    sidecar = json.loads(data.with_name(data.stem + ".provenance.json").read_text())
    assert sidecar["source"] == f"{s.tool}_src" and sidecar["tool"] == s.tool
    assert sidecar["records"] == outcome.records >= 3
    assert sidecar["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert sidecar["cursor_to"]["until"] == "2026-11-05T00:00:00Z" and sidecar["query"]
    assert (data.parent / "mapping.yaml").read_bytes() == s.mapping.read_bytes()


def test_expired_token_fails_at_once_naming_the_setting(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    s.seed()
    with pytest.raises(ConfigError) as caught:
        pull_source(s.bad_settings(), tmp_path, now=T1, sleep=_no_sleep)
    message = str(caught.value)
    assert message.startswith(f"ICE_{s.tool.upper()}_SECRET: ") and "\n" not in message
    assert "401" in message
    assert len(s.fake.requests) == 1  # no retry of a refused credential
    bad = s.bad_settings().secrets()[0]
    assert bad not in message  # the wrong credential itself is not echoed
    assert not list(tmp_path.rglob("*.csv"))


def test_paging_reaches_the_last_page_with_auth_on_every_request(tmp_path: Path) -> None:
    from ice_pipeline_tests.connector_scenarios import ServiceNowScenario

    s = ServiceNowScenario(tmp_path)
    try:
        s.seed()
        outcome = _pull(s, tmp_path / "landing", T1)
        assert outcome.records == 5
        pages = [r for r in s.fake.requests if "table/incident" in r.path]
        # INC2-4 share one sys_updated_on: page 2 starts at that instant with offset 1 (INC2 was
        # read), page 3 at the same instant with offset 3.
        assert len(pages) == 3
        assert [r.query["sysparm_offset"] for r in pages] == ["0", "1", "3"]
        assert all(r.headers["authorization"].startswith("Basic ") for r in s.fake.requests)
        assert all(r.query["sysparm_display_value"] == "all" for r in pages)
        text = Path(outcome.file or "").read_text()
        assert "3 - Moderate" in text and "Service Desk" in text  # display values
    finally:
        s.fake.close()


def test_qualtrics_export_states(tmp_path: Path) -> None:
    from ice_pipeline_tests.connector_scenarios import QualtricsScenario

    s = QualtricsScenario(tmp_path)
    try:
        s.seed()
        s.fake.polls_in_progress = 3
        outcome = _pull(s, tmp_path / "a", T1)
        assert outcome.records == 3
        assert s.fake.hits("/export-responses/ES_1") == 4  # 3 in progress, then complete
        assert s.fake.hits("/export-responses/file-ES_1/file") == 1
        start = s.fake.requests[0]
        assert start.method == "POST" and start.json()["format"] == "csv"
        assert start.json()["endDate"] == "2026-11-05T00:00:00Z" and "startDate" not in start.json()
        assert all(r.headers["x-api-token"] == s.fake.token for r in s.fake.requests)
        s.fake.fail_next = True
        with pytest.raises(IceError, match="export of survey SV_1 failed \\(export broke\\)"):
            _pull(s, tmp_path / "a", T2)
        second = [r for r in s.fake.requests if r.method == "POST"][-1].json()
        assert second["startDate"] == "2026-11-05T00:00:00Z"  # from the committed cursor
    finally:
        s.fake.close()


def test_a_missing_field_is_named_and_nothing_lands(tmp_path: Path) -> None:
    from ice_pipeline_tests.connector_scenarios import ZendeskScenario

    s = ZendeskScenario(tmp_path)
    try:
        s.seed()
        del s.fake.tickets[2]["created_at"]
        with pytest.raises(IceError, match="without the field 'created_at' in a ticket"):
            _pull(s, tmp_path / "landing", T1)
        assert not list((tmp_path / "landing").rglob("*.csv"))
    finally:
        s.fake.close()


def test_since_overrides_the_cursor(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ice_pipeline_tests.connector_scenarios import JiraScenario

    s = JiraScenario(tmp_path)
    try:
        s.seed()
        _pull(s, tmp_path / "l", T1)
        again = _pull(s, tmp_path / "l", T2, since=datetime(2026, 10, 2, tzinfo=UTC))
        assert again.records == 2  # SD-2 and SD-3 were updated on or after 2026-10-02
        jql = s.fake.requests[-1].query["jql"]
        assert 'updated >= "2026/10/02 00:00"' in jql and jql.startswith("(project = SD)")
        assert s.fake.hits("/rest/api/3/search/jql") == 3  # 2 pages, then 1
        assert not [r for r in s.fake.requests if r.path == "/rest/api/3/search"]  # 410 Gone
    finally:
        s.fake.close()
