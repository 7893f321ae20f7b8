"""Issue 13 item 1: table exports staged in Arrow (ingest/table_stage.py).

The staged read (Arrow text columns, only the used columns made pandas, cleaned per distinct
value) must give the same tables, quarantine and counts as the csv module's reader, which
still reads the files Arrow refuses: each file here is read both ways and compared.
"""

import hmac
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from ice_pipeline.ingest import table_stage
from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.hr import read_hr
from ice_pipeline.ingest.privacy import PSEUDONYM_LENGTH, _hmac_hex
from ice_pipeline.ingest.tickets import read_tickets

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 6, 1)

TICKETS = (
    "number,opened_at,short_description,caller_id,priority,assignment_group,assigned_to,"
    "resolved_by,resolved_at,made_sla,reopen_count,u_satisfaction,caller_id\n"
    "INC1,14-05-2026 10:00,VPN,E1,3 - Moderate,Service Desk,Ann,Ann,15-05-2026 10:00,TRUE,0,4,x\n"
    ",  ,\u00a0,,\t,,,,,,,,\n"  # blank once stripped: a blank line
    "INC2, 15-05-2026 11:00 ,Mail,E2, High ,Service Desk,Bob,Ann,?,yes,1,good,y\n"
    "\u3000,,,,,,,,,,,,\x1c\n"  # Unicode spaces and a separator: blank for str.strip
    "INC3,31-02-2026 10:00,é,E3,Whenever,Unknown,Bob,Bob,01-12-2026 11:00,maybe,-1,9,z\n"
    "INC4,16-05-2026 09:00,ü,E1,NULL,,Ann,,,N/A,2,bad,\n"
)
TICKET_MAPPING: dict[str, Any] = {
    "date_order": "DMY",
    "missing_values": ["?"],
    "columns": {"requester": "caller_id", "satisfaction": "u_satisfaction"},
    "provider_departments": {"Service Desk": "IT"},
}
ROSTER = (
    "HR export\n"
    "Employee ID,First Name,Hire Date,Termination Date,Termination Type,Location\n"
    "id,first,hired,left,type,where\n"
    "E1,Ann,2020-01-01,,,Leeds\n"
    " , ,,, ,\n"
    "E2,Bob,2021-13-01,2026-01-31,Voluntary,York\n"
    "E3,Cy,2019-05-05,2026-02-30,Fired,\n"
)
ROSTER_MAPPING: dict[str, Any] = {
    "skip_rows": 1,
    "header_rows": 2,
    "department_fixed": "Finance",
    "snapshot_period": "2026-05",
    "date_order": "YMD",
    "columns": {
        "employee_id": "Employee ID",
        "hire_date": "Hire Date",
        "termination_date": "Termination Date",
        "termination_type": "Termination Type",
    },
    "termination_types": {"Voluntary": "voluntary"},
}


def _both_ways(read: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[ParseResult, ParseResult]:
    arrow_reads: list[bool] = []
    real = table_stage._arrow_records

    def spy(text: str, delimiter: str) -> Any:
        table = real(text, delimiter)
        arrow_reads.append(table is not None)
        return table

    with monkeypatch.context() as patch:
        patch.setattr(table_stage, "_arrow_records", spy)
        staged = read()
    assert arrow_reads == [True]  # the file is rectangular: Arrow read it
    with monkeypatch.context() as patch:
        patch.setattr(table_stage, "_arrow_records", lambda text, delimiter: None)
        fallback = read()
    return staged, fallback


def _assert_same(staged: ParseResult, fallback: ParseResult) -> None:
    for name, table in fallback.tables.items():
        pd.testing.assert_frame_equal(staged.tables[name], table)
    pd.testing.assert_frame_equal(staged.quarantine, fallback.quarantine)
    for field in (
        "counts",
        "excluded_by_reason",
        "quarantined_by_reason",
        "columns_mapped",
        "columns_unmapped",
        "ambiguous_dates",
        "file_format",
    ):
        assert getattr(staged, field) == getattr(fallback, field), field


def _tickets(path: Path, mapping: dict[str, Any]) -> ParseResult:
    return read_tickets(
        decode_file(path), mapping, file_format=None, salt="s", hr_employees=None, now=NOW
    )


def test_planted_ticket_file_same_both_ways(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(TICKETS, encoding="utf-8")
    staged, fallback = _both_ways(lambda: _tickets(path, TICKET_MAPPING), monkeypatch)
    _assert_same(staged, fallback)
    assert staged.excluded_by_reason == {"blank line": 2}
    assert not staged.quarantine.empty and staged.counts["rows_kept"] == 2
    assert "short_description" in staged.columns_unmapped


def test_planted_roster_same_both_ways(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "roster_2026-05.csv"
    path.write_text(ROSTER, encoding="utf-8")

    def read() -> ParseResult:
        decoded = decode_file(path)
        return read_hr(
            decoded, ROSTER_MAPPING, file_format=None, salt="s", hr_employees=None, now=NOW
        )

    staged, fallback = _both_ways(read, monkeypatch)
    _assert_same(staged, fallback)
    assert set(staged.quarantine["source_row"]) == {6, 7}  # physical lines of the file
    assert "(department fixed by the mapping)" in str(staged.columns_mapped)


def test_real_ticket_log_same_both_ways(monkeypatch) -> None:
    folder = FIXTURES / "realdata" / "tickets_servicenow_incident_log"
    mapping = yaml.safe_load(
        (FIXTURES / "mappings" / "tickets_servicenow_incident_log.mapping.yaml").read_text()
    )
    path = folder / "incident_event_log.csv"
    _assert_same(*_both_ways(lambda: _tickets(path, mapping), monkeypatch))


def test_lines_as_stringio_gives_them() -> None:
    for text in ["a,b\r\nc,d\r\n", "a\rb\nc", "", "x", "a\n\n\r\r\n", '"a\nb",c\r\n1,2']:
        assert list(table_stage._lines(text)) == list(io.StringIO(text, newline=""))


def test_hmac_written_out_equals_hmac_digest() -> None:
    texts = ["E0000001", "", "ä日本", "a" * 200]
    for key in [b"", b"s", b"x" * 64, b"y" * 65, "é salt".encode() * 20]:
        expected = [
            hmac.digest(key, t.encode(), "sha256").hex()[:PSEUDONYM_LENGTH] if t else None
            for t in texts
        ]
        assert _hmac_hex(key, texts) == expected


def test_cleaning_per_distinct_equals_str_strip() -> None:
    values = ["a", " a", "a ", "\u00a0x", "x\u00a0", "é", " é ", "", " ", "?", " ? ", "NA"]
    values += ["a b", "\x1cq", "q\x1c", "a\nb", "\n", "ab\n", "日本", "!", "~", " - ", "\u3000"]
    column = pa.chunked_array([pa.array(values), pa.array(values[::-1])])
    codes = {"", "?", "NA", "-"}
    expected = [None if v.strip() in codes else v.strip() for v in values + values[::-1]]
    assert list(table_stage._arrow_cells(column, codes)) == expected
    assert list(table_stage._arrow_cells(column, None)) == values + values[::-1]


def test_a_name_made_twice_keeps_its_last_column(tmp_path: Path) -> None:
    """Header a, a, a.1 names its columns a, a.1, a.1: the last a.1 is the one read (as the
    pandas frame built from the names did), so a record filled only in the first is blank."""
    path = tmp_path / "dup.csv"
    path.write_text(
        "number,opened_at,assignment_group,notes,notes,notes.1,priority\n"
        "INC1,14-05-2026 10:00,SD,a,b,,3\n"
        "INC2,15-05-2026 10:00,SD,,,,bad\n"
        ",,,,x,,\n",
        encoding="utf-8",
    )
    result = read_tickets(
        decode_file(path),
        {"date_order": "DMY"},
        file_format="servicenow",
        salt="s",
        hr_employees=None,
        now=NOW,
    )
    assert result.columns_unmapped == ["notes", "notes.1"]
    assert result.excluded_by_reason == {"blank line": 1}
    assert result.counts["rows_kept"] == 1 and result.quarantine["source_row"].tolist() == [3]
