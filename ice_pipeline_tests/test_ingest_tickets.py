"""Ticket exports: ServiceNow list and audit log, Jira, Zendesk, generic; departments and KPIs."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.common import DecodedFile, ParseResult, decode_file
from ice_pipeline.ingest.privacy import pseudonymize
from ice_pipeline.ingest.tickets import detect_ticket_format, read_tickets

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "ice_pipeline" / "ingest" / "mapping_examples"
NOW = datetime(2026, 6, 1)
SALT = "test-salt"


def realdata(*parts: str) -> Path:
    """The fixture copy of a real export (what CI has), else the shared original."""
    copy = FIXTURES.joinpath("realdata", *parts)
    return (
        copy
        if copy.exists()
        else Path(__file__).resolve().parents[2].joinpath("shared", "realdata", *parts)
    )


def _read(
    tmp_path: Path,
    text: str,
    mapping: dict,
    *,
    name: str = "t.csv",
    hr: pd.DataFrame | None = None,
    encoding: str = "utf-8",
) -> ParseResult:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return read_tickets(
        decode_file(path), mapping, file_format=None, salt=SALT, hr_employees=hr, now=NOW
    )


def _accounted(result: ParseResult) -> bool:
    c = result.counts
    return c["rows_kept"] + c["rows_quarantined"] + c["rows_excluded"] == c["rows_read"]


def test_real_servicenow_event_log_collapses_5998_events_to_890_tickets() -> None:
    mapping = yaml.safe_load(
        (FIXTURES / "mappings" / "tickets_servicenow_incident_log.mapping.yaml").read_text()
    )
    decoded = decode_file(realdata("tickets_servicenow_incident_log", "incident_event_log.csv"))
    result = read_tickets(decoded, mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW)
    assert result.file_format == "servicenow_audit"
    assert result.counts == {
        "rows_read": 5998,
        "rows_kept": 873,
        "rows_quarantined": 17,
        "rows_excluded": 5108,
    }
    tickets = result.tables["tickets"]
    # 873 kept + 17 tickets without an assignment group = the 890 distinct incidents of SOURCE.md.
    assert tickets["ticket_id"].nunique() + result.quarantine["source_row"].nunique() == 890
    assert set(result.quarantine["reason"]) == {
        "assignment group is missing, so the provider department is unknown"
    }
    first = tickets.set_index("ticket_id").loc["INC0000045"]
    assert first["period"] == "2016-02" and first["provider_department"] == "Group 56"
    assert first["opened_at"] == pd.Timestamp("2016-02-29 01:16")
    assert first["resolved_at"] == pd.Timestamp("2016-02-29 11:29")
    assert first["resolution_hours"] == pytest.approx(10.2167, abs=1e-3)
    assert first["priority"] == 3 and bool(first["sla_met"]) and not bool(first["reopened"])
    assert first["source_row"] == 5  # the 4th event (sys_mod_count 4) of INC0000045, header = row 1
    assert pd.isna(first["first_assignee_resolved"])  # assigned_to is '?' in every event
    second = tickets.set_index("ticket_id").loc["INC0000047"]
    assert bool(second["first_assignee_resolved"])  # Resolver 89 first and at the latest state
    assert tickets["priority"].value_counts().to_dict() == {3: 743, 4: 83, 2: 32, 1: 15}
    assert _accounted(result)


AUDIT = (
    "number,sys_mod_count,sys_updated_at,opened_at,resolved_at,assignment_group,"
    "caller_id,priority,made_sla,reopen_count,assigned_to,resolved_by\n"
    """\
INC1,2,03-03-2026 10:00,01-03-2026 09:00,03-03-2026 10:00,Service Desk,C1,2 - High,TRUE,1,Ann,Bob
INC1,0,01-03-2026 09:00,01-03-2026 09:00,?,Service Desk,C1,3 - Moderate,TRUE,0,?,?
INC1,1,02-03-2026 09:00,01-03-2026 09:00,?,Service Desk,C1,3 - Moderate,TRUE,0,Bob,?
INC2,1,05-03-2026 12:00,04-03-2026 08:00,05-03-2026 12:00,Network,C2,4 - Low,FALSE,0,Cy,?
INC2,1,05-03-2026 11:00,04-03-2026 08:00,?,Network,C2,4 - Low,TRUE,0,Cy,?
"""
)


def test_audit_log_keeps_the_latest_state_and_the_first_assignee(tmp_path: Path) -> None:
    mapping = {
        "format": "servicenow_audit",
        "date_order": "DMY",
        "provider_departments": {"Service Desk": "IT", "Network": "IT"},
    }
    result = _read(tmp_path, AUDIT, mapping)
    tickets = result.tables["tickets"].set_index("ticket_id")
    assert result.counts == {
        "rows_read": 5,
        "rows_kept": 2,
        "rows_quarantined": 0,
        "rows_excluded": 3,
    }
    # INC1: highest sys_mod_count (2) wins although it is the first line of the file.
    assert tickets.loc["INC1", "priority"] == 2 and tickets.loc["INC1", "source_row"] == 2
    assert bool(tickets.loc["INC1", "reopened"])
    # First non-missing assignee was Bob (mod 1), who resolved it although Ann holds it at the end.
    assert bool(tickets.loc["INC1", "first_assignee_resolved"])
    # INC2: equal sys_mod_count, so the later sys_updated_at (line 5 of the file, 12:00) wins.
    assert tickets.loc["INC2", "source_row"] == 5 and not bool(tickets.loc["INC2", "sla_met"])
    assert tickets.loc["INC2", "resolution_hours"] == pytest.approx(28.0)


LIST_EXPORT = (
    "number,opened_at,resolved_at,assignment_group,caller_id,"
    "priority,made_sla,reopen_count,assigned_to,resolved_by\n"
    """\
INC100,2026-03-02 09:00:00,2026-03-02 13:30:00,Service Desk,E001,3 - Moderate,true,0,Ann,Ann
INC101,2026-03-05 10:00:00,,Payroll,E002,1 - Critical,false,2,Ann,
INC102,2026-03-06 10:00:00,2026-03-07 10:00:00,Group 99,E003,2 - High,true,0,Bob,Cy
INC103,2026-03-07 10:00:00,2026-03-07 12:00:00,Service Desk,E999,4 - Low,true,0,Bob,Cy
"""
)


def test_servicenow_list_maps_groups_and_requesters_through_hr(tmp_path: Path) -> None:
    hr = pd.DataFrame(
        {
            "snapshot_period": ["2026-02", "2026-02", "2026-03"],
            "employee_id": pseudonymize(pd.Series(["E001", "E002", "E001"]), SALT),
            "department": ["Old Dept", "Finance", "Sales"],
        }
    )
    mapping = {
        "format": "servicenow",
        "provider_departments": {"Service Desk": "IT", "Payroll": "Finance"},
        "requester_departments_from_hr": True,
    }
    result = _read(tmp_path, LIST_EXPORT, mapping, hr=hr)
    tickets = result.tables["tickets"].set_index("ticket_id")
    assert list(tickets.index) == ["INC100", "INC101", "INC103"]
    assert tickets["provider_department"].tolist() == ["IT", "Finance", "IT"]
    # E001 is taken from the latest roster snapshot; E999 is unknown to HR and stays missing.
    assert tickets["consumer_department"].tolist() == ["Sales", "Finance", None]
    assert tickets["priority"].tolist() == [3, 1, 4]
    assert tickets.loc["INC100", "resolution_hours"] == pytest.approx(4.5)
    assert bool(tickets.loc["INC100", "first_assignee_resolved"])
    assert pd.isna(tickets.loc["INC101", "first_assignee_resolved"])  # not resolved yet
    assert not bool(tickets.loc["INC103", "first_assignee_resolved"])
    assert bool(tickets.loc["INC101", "reopened"]) and not bool(tickets.loc["INC101", "sla_met"])
    assert result.quarantine[["source_row", "column_name", "value", "reason"]].to_dict(
        "records"
    ) == [
        {
            "source_row": 4,
            "column_name": "assignment_group",
            "value": "Group 99",
            "reason": "assignment group 'Group 99' is not mapped to a provider department",
        }
    ]
    assert _accounted(result)
    # Requester ids never leave the reader.
    flat = result.tables["tickets"].astype(str).to_numpy().ravel().tolist()
    assert not any(v in {"E001", "E002", "E003", "E999", "Ann", "Bob", "Cy"} for v in flat)


def test_explicit_requester_map_wins_and_same_file_gives_same_rows(tmp_path: Path) -> None:
    mapping = {
        "format": "servicenow",
        "provider_departments": {"Service Desk": "IT", "Payroll": "Finance", "Group 99": "IT"},
        "requester_departments": {"E001": "Legal", "E003": "Sales"},
    }
    first = _read(tmp_path, LIST_EXPORT, mapping)
    second = _read(tmp_path, LIST_EXPORT, mapping)
    assert first.tables["tickets"]["consumer_department"].tolist() == ["Legal", None, "Sales", None]
    pd.testing.assert_frame_equal(first.tables["tickets"], second.tables["tickets"])


JIRA_DE = (
    "Zusammenfassung,Schlüssel,Priorität,Team,Autor,Bearbeiter,"
    "Erstellt,Gelöst,Labels,Labels,Sprint,Sprint\n"
    """\
Drucker,HD-1,Hoch,Plattform,u1,u7,03.03.2026 10:15,03.03.2026 14:15,printer,urgent,S1,S2
Laptop,HD-2,Niedrig,Personal,u2,u8,04.03.2026 09:00,10.03.2026 09:00,,,S2,
Zugang,HD-3,Blocker-ish,Plattform,u3,u7,05.03.2026 09:00,,access,,,
"""
)


def test_jira_with_localised_headers_and_repeated_columns(tmp_path: Path) -> None:
    mapping = yaml.safe_load((EXAMPLES / "tickets_jira.yaml").read_text(encoding="utf-8"))
    result = _read(tmp_path, JIRA_DE, mapping)
    assert result.file_format == "jira"
    tickets = result.tables["tickets"].set_index("ticket_id")
    assert list(tickets.index) == ["HD-1", "HD-2"]
    assert tickets["provider_department"].tolist() == ["Information Technology", "Human Resources"]
    assert tickets["priority"].tolist() == [2, 4]
    # sla_hours: priority 2 -> 8 h (4 h taken: met); priority 4 -> 72 h (144 h taken: missed).
    assert tickets["sla_met"].tolist() == [True, False]
    assert tickets["first_assignee_resolved"].tolist() == [True, True]
    assert {"Labels", "Labels.1", "Sprint", "Sprint.1"} <= set(result.columns_unmapped)
    assert result.quarantine["reason"].tolist() == [
        "priority 'Blocker-ish' is not a known priority; add it to priority_values in the mapping"
    ]


def test_jira_english_default_dates_with_month_names(tmp_path: Path) -> None:
    text = (
        "Issue key,Summary,Priority,Team,Reporter,Assignee,Created,Resolved\n"
        "IT-7,VPN,Highest,Network,r1,a1,03/Mar/26 9:15 AM,03/Mar/26 1:15 PM\n"
    )
    result = _read(tmp_path, text, {"provider_departments": {"Network": "IT"}})
    row = result.tables["tickets"].iloc[0]
    assert result.file_format == "jira"
    assert row["opened_at"] == pd.Timestamp("2026-03-03 09:15") and row["resolution_hours"] == 4.0
    assert row["priority"] == 1


ZENDESK = (
    "Id,Requester,Requester id,Group,Assignee,"
    "Assignee id,Priority,Created at,Solved at,Satisfaction Score,Reopens\n"
    """\
501,Jane Doe,9001,Support,Agent A,71,Urgent,2026-03-01T08:00:00Z,2026-03-01T10:30:00Z,good,0
502,John Roe,9002,Billing,Agent B,72,Normal,2026-03-02T08:00:00Z,2026-03-04T08:00:00Z,bad,1
503,Ann Poe,9003,Support,Agent A,71,Low,2026-03-03T08:00:00Z,,offered,0
504,Max Moe,9004,Support,Agent A,71,Normal,2026-03-03T09:00:00Z,2026-03-03T10:00:00Z,unoffered,0
"""
)


def test_zendesk_satisfaction_labels_priority_and_iso_timestamps(tmp_path: Path) -> None:
    mapping = yaml.safe_load((EXAMPLES / "tickets_zendesk.yaml").read_text(encoding="utf-8"))
    result = _read(tmp_path, ZENDESK, mapping)
    tickets = result.tables["tickets"].set_index("ticket_id")
    assert tickets["satisfaction"].tolist()[:2] == [5.0, 1.0]
    assert tickets["satisfaction"].isna().tolist() == [False, False, True, True]
    assert tickets["priority"].tolist() == [1, 3, 4, 3]
    assert tickets["provider_department"].tolist() == [
        "Information Technology",
        "Finance",
        "Information Technology",
        "Information Technology",
    ]
    assert tickets.loc["501", "opened_at"] == pd.Timestamp("2026-03-01 08:00")
    assert tickets.loc["501", "resolution_hours"] == 2.5
    assert tickets["reopened"].tolist() == [False, True, False, False]
    assert (
        tickets.loc["501", "sla_met"] and not tickets.loc["502", "sla_met"]
    )  # 2.5 h <= 4 h; 48 h > 24 h
    assert "Requester (personal, dropped)" in result.columns_unmapped
    flat = set(result.tables["tickets"].astype(str).to_numpy().ravel())
    assert not flat & {"Jane Doe", "9001", "Agent A"}


def test_generic_csv_uses_group_names_as_departments(tmp_path: Path) -> None:
    text = (
        "ticket_id,opened_at,resolved_at,assignment_group,priority,sla_met,consumer_department\n"
        "T1,2026-04-01 08:00,2026-04-01 09:00,Facilities,2,yes,Sales\n"
    )
    result = _read(tmp_path, text, {"format": "generic"})
    row = result.tables["tickets"].iloc[0]
    assert (row["provider_department"], row["consumer_department"], row["period"]) == (
        "Facilities",
        "Sales",
        "2026-04",
    )
    assert bool(row["sla_met"]) and row["priority"] == 2


def test_format_detection_from_headers() -> None:
    assert detect_ticket_format(["number", "sys_mod_count", "opened_at"]) == "servicenow_audit"
    assert detect_ticket_format(["Number", "Opened", "Assignment group"]) == "servicenow"
    assert detect_ticket_format(["Summary", "Issue key"]) == "jira"
    assert detect_ticket_format(["Id", "Created at", "Group"]) == "zendesk"
    assert detect_ticket_format(["ticket_id", "opened_at"]) == "generic"
    assert detect_ticket_format(["foo", "bar"]) is None


def test_mapping_examples_load_through_the_mapping_loader() -> None:
    from ice_pipeline.ingest.mapping import load_mapping

    for path in sorted(EXAMPLES.glob("tickets_*.yaml")):
        assert load_mapping(path).feed == "tickets", path


def test_reader_accepts_a_mapping_object(tmp_path: Path) -> None:
    from ice_pipeline.ingest.mapping import Mapping

    path = tmp_path / "t.csv"
    path.write_text(LIST_EXPORT)
    mapping = Mapping(raw={"format": "servicenow"}, path=None)
    result = read_tickets(
        decode_file(path), mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW
    )
    assert len(result.tables["tickets"]) == 4
    assert isinstance(result.quarantine, pd.DataFrame) and isinstance(
        decode_file(path), DecodedFile
    )


def test_clean_missing_equals_stripping_every_cell() -> None:
    from ice_pipeline.ingest.tickets import DEFAULT_MISSING, clean_missing

    rng = np.random.default_rng(3)
    pool = np.array([" IT ", "IT", "N/A", "", " ", "-", "Closed\t", "x", "None", "n/a "], object)
    frame = pd.DataFrame({c: rng.choice(pool, 500) for c in ("state", "group", "note")})
    frame.loc[[3, 7], "note"] = None
    frame.loc[[5], "group"] = np.nan
    mapping = {"missing_values": ["x"]}
    codes = {"x", *DEFAULT_MISSING}
    expected = pd.DataFrame(
        {
            c: frame[c].str.strip().where(~frame[c].str.strip().isin(codes), None)
            for c in frame.columns
        }
    )
    pd.testing.assert_frame_equal(clean_missing(frame, mapping), expected)
