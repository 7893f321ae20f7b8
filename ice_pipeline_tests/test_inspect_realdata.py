"""Every real third-party export goes through ``ice-pipeline inspect`` with its SOURCE.md counts.

Rows read = parsed CSV records minus header rows. Some files go through the installed CLI (a
subprocess, as a data engineer runs it), the rest through ``inspect_file`` directly; every file is
inspected both without a mapping (structural mode) and with its mapping from fixtures/mappings.
"""

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ice_pipeline.ingest.inspect import inspect_file

MAPPINGS = Path(__file__).resolve().parent / "fixtures" / "mappings"
CLI = Path(sys.executable).parent / "ice-pipeline"
NOW = datetime(2026, 11, 15)

# file -> (rows read, encoding, structural format) from each folder's SOURCE.md
REALDATA = {
    "surveymonkey_fivethirtyeight/StarWars.csv": (1186, "cp1252", "surveymonkey"),
    "surveymonkey_fivethirtyeight/steak-risk-survey.csv": (550, "utf-8", "surveymonkey"),
    "qualtrics_qualtrics_pkg/sample.csv": (1, "utf-8", "qualtrics"),
    "qualtrics_qualtrics_pkg/sample_legacy.csv": (1, "utf-8-sig", "qualtrics_legacy"),
    "nps_carpentries_surveys/20180908_post_clean.csv": (967, "utf-8", "csv"),
    "nps_carpentries_surveys/2020-12-long-term-other_questions-no-open.csv": (87, "utf-8", "csv"),
    "hr_ibm_attrition/emp_attrition.csv": (1470, "utf-8-sig", "csv"),
    "tickets_servicenow_incident_log/incident_event_log.csv": (5998, "utf-8", "csv"),
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "inspect", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_every_realdata_file_is_covered(realdata_dir: Path) -> None:
    found = sorted(str(p.relative_to(realdata_dir)) for p in realdata_dir.glob("*/*.csv"))
    assert found == sorted(REALDATA)
    for folder in {p.split("/")[0] for p in REALDATA}:
        assert (realdata_dir / folder / "SOURCE.md").is_file()


@pytest.mark.parametrize("relative", sorted(REALDATA))
def test_structural_inspect_counts(realdata_dir: Path, relative: str) -> None:
    rows, encoding, file_format = REALDATA[relative]
    summary = inspect_file(realdata_dir / relative, now=NOW)
    assert summary["mode"] == "structural"
    assert (summary["rows_read"], summary["encoding"], summary["format"]) == (
        rows,
        encoding,
        file_format,
    )
    assert summary["columns_mapped"] == []
    # Without a mapping or a landing folder the feed comes from the header.
    expected_feed = {"hr_ibm_attrition": "hr", "tickets_servicenow_incident_log": "tickets"}
    assert summary["feed"] == expected_feed.get(relative.split("/")[0], "surveys")


def test_cli_structural_starwars_keeps_the_mangled_column(realdata_dir: Path) -> None:
    done = run_cli(str(realdata_dir / "surveymonkey_fivethirtyeight" / "StarWars.csv"))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["rows_read"], summary["encoding"], summary["header_rows"]) == (
        1186,
        "cp1252",
        2,
    )
    columns = summary["columns_unmapped"]
    assert len(columns) == 38
    # The two bytes that are not UTF-8 are decoded (cp1252), not dropped, and the column survives.
    assert "Do you consider yourself to be a fan of the Expanded Universe?\u0152\u00e6" in columns
    assert (
        "Please rank the Star Wars films in order of preference with 1 being your favorite film "
        "in the franchise and 6 being your least favorite film. "
        "| Star Wars: Episode I  The Phantom Menace" in columns
    )


def test_cli_qualtrics_sample_with_mapping(realdata_dir: Path) -> None:
    done = run_cli(
        str(realdata_dir / "qualtrics_qualtrics_pkg" / "sample.csv"),
        "--mapping",
        str(MAPPINGS / "qualtrics_sample.mapping.yaml"),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sha256"] == "3f55357fe3768d0f539dc8a47f39707f77344824ce40c675e941f2531ae2aaea"
    assert (
        summary["format"],
        summary["rows_read"],
        summary["rows_kept"],
        summary["respondents"],
    ) == ("qualtrics", 1, 1, 1)
    assert summary["periods"] == ["2017-07"]
    assert summary["table_rows"] == {"survey_ratings": 1, "survey_comments": 1}
    assert set(summary["columns_dropped_personal"]) == {
        "IPAddress",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
    }
    assert "Q1" in summary["columns_mapped"] and "Q2 - Topics" in summary["columns_unmapped"]


def test_cli_servicenow_audit_log_collapses_to_tickets(realdata_dir: Path) -> None:
    done = run_cli(
        str(realdata_dir / "tickets_servicenow_incident_log" / "incident_event_log.csv"),
        "--mapping",
        str(MAPPINGS / "tickets_servicenow_incident_log.mapping.yaml"),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["feed"], summary["format"], summary["rows_read"]) == (
        "tickets",
        "servicenow_audit",
        5998,
    )
    # 5,998 events of 890 incidents: one row per incident, kept or quarantined, the rest superseded.
    assert summary["rows_kept"] + summary["rows_quarantined"] == 890
    assert summary["rows_excluded"] == 5998 - 890
    assert summary["periods"] == ["2016-02", "2016-03"]


def test_cli_file_problem_is_one_line_exit_2(realdata_dir: Path) -> None:
    done = run_cli(
        str(realdata_dir / "surveymonkey_fivethirtyeight" / "steak-risk-survey.csv"),
        "--format",
        "qualtrics",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert (
        "steak-risk-survey.csv: the file does not have the qualtrics layout that was forced"
        in lines[0]
    )
    assert lines[0].endswith("Fix: use --format surveymonkey")


@pytest.mark.parametrize(
    ("relative", "mapping", "expected"),
    [
        (
            "surveymonkey_fivethirtyeight/StarWars.csv",
            "starwars",
            {
                "rows_read": 1186,
                "rows_kept": 811,
                "rows_excluded": 357,
                "rows_quarantined": 18,
                "respondents": 811,
                "periods": ["2014-06"],
                "rows_excluded_by_reason": {"no rating answered": 357},
                "rows_quarantined_by_reason": {"missing respondent department": 18},
            },
        ),
        (
            "surveymonkey_fivethirtyeight/steak-risk-survey.csv",
            "steak",
            {
                "rows_read": 550,
                "rows_kept": 411,
                "rows_excluded": 118,
                "rows_quarantined": 21,
                "respondents": 411,
                "periods": ["2014-05"],
            },
        ),
        (
            "qualtrics_qualtrics_pkg/sample_legacy.csv",
            "qualtrics_legacy_sample",
            {
                "rows_read": 1,
                "rows_kept": 1,
                "rows_excluded": 0,
                "rows_quarantined": 0,
                "respondents": 1,
                "encoding": "utf-8-sig",
                "format": "qualtrics_legacy",
                "periods": ["2017-07"],
            },
        ),
        (
            "nps_carpentries_surveys/20180908_post_clean.csv",
            "external_carpentries_post",
            {"feed": "external", "rows_read": 967, "rows_kept": 889, "rows_excluded": 78},
        ),
        (
            "nps_carpentries_surveys/2020-12-long-term-other_questions-no-open.csv",
            "external_carpentries_longterm",
            {"feed": "external", "rows_read": 87, "rows_kept": 87, "periods": ["2020-12"]},
        ),
        (
            "nps_carpentries_surveys/20180908_post_clean.csv",
            "carpentries_post_survey",
            {
                "feed": "surveys",
                "format": "csv",
                "rows_read": 967,
                "rows_kept": 911,
                "rows_excluded": 56,
                "rows_quarantined": 0,
                "ambiguous_dates": 256,
                "table_rows": {"survey_ratings": 4541, "survey_comments": 0},
            },
        ),
        (
            "hr_ibm_attrition/emp_attrition.csv",
            "hr_ibm_attrition",
            {
                "feed": "hr",
                "format": "snapshot",
                "rows_read": 1470,
                "rows_kept": 1470,
                "rows_quarantined": 0,
                "encoding": "utf-8-sig",
            },
        ),
    ],
)
def test_mapped_inspect_counts(
    realdata_dir: Path, relative: str, mapping: str, expected: dict
) -> None:
    summary = inspect_file(
        realdata_dir / relative, mapping_path=MAPPINGS / f"{mapping}.mapping.yaml", now=NOW
    )
    assert summary["mode"] == "mapped"
    assert {key: summary[key] for key in expected} == expected
    assert (
        summary["rows_read"]
        == summary["rows_kept"] + summary["rows_excluded"] + summary["rows_quarantined"]
    )


def test_carpentries_post_periods_span_the_survey(realdata_dir: Path) -> None:
    summary = inspect_file(
        realdata_dir / "nps_carpentries_surveys" / "20180908_post_clean.csv",
        mapping_path=MAPPINGS / "external_carpentries_post.mapping.yaml",
        now=NOW,
    )
    # Responses June 2016 - September 2018 (SOURCE.md), every month present.
    assert summary["periods"][0] == "2016-06" and summary["periods"][-1] == "2018-09"
    assert len(summary["periods"]) == 28


def test_inspect_writes_nothing(tmp_path: Path, realdata_dir: Path) -> None:
    folder = tmp_path / "landing" / "surveys"
    folder.mkdir(parents=True)
    shutil.copy(
        realdata_dir / "surveymonkey_fivethirtyeight" / "StarWars.csv", folder / "StarWars.csv"
    )
    shutil.copy(MAPPINGS / "starwars.mapping.yaml", folder / "StarWars.mapping.yaml")
    before = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    summary = inspect_file(folder / "StarWars.csv", now=NOW)  # mapping found beside the file
    assert (
        summary["mapping"] == str(folder / "StarWars.mapping.yaml") and summary["rows_kept"] == 811
    )
    after = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    assert after == before
