"""The bad-input corpus: every broken export gets its specific message or quarantine reason.

File-level problems raise ``FileProblem`` naming the file, the problem and the fix (nothing of the
file is used); row-level problems quarantine the row with a reason while every good row of the
same file goes on (rows_kept + rows_quarantined + rows_excluded == rows_read). A few cases also
go through the ``ice-pipeline inspect`` CLI to prove no traceback reaches the user. Most inputs
are generated here; the small stored ones are in fixtures/bad_inputs/.

Spreadsheet formulas (``=HYPERLINK(...)``) and HTML/script in comments are kept as inert text:
nothing in ingest evaluates or renders them (reports autoescape; CSV exports of comments must
prefix such cells with a quote, which is the exporter's job).
"""

import io
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ice_pipeline.errors import FileProblem, IceError
from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.external import read_external
from ice_pipeline.ingest.feeds import read_export
from ice_pipeline.ingest.hr import read_hr
from ice_pipeline.ingest.tickets import read_tickets

NOW = datetime(2026, 6, 1)
SALT = "corpus-salt"
STORED = Path(__file__).resolve().parent / "fixtures" / "bad_inputs"
REPO = Path(__file__).resolve().parent.parent
READERS = {"tickets": read_tickets, "hr": read_hr, "external": read_external}

TICKET_HEADER = (
    "number,opened_at,resolved_at,assignment_group,caller_id,priority,made_sla,reopen_count"
)
TICKET_MAPPING: dict[str, Any] = {
    "feed": "tickets",
    "format": "servicenow",
    "date_order": "YMD",
    "provider_departments": {"Service Desk": "IT", "Network": "IT"},
}
GOOD_TICKET = "INC1,2026-03-02 09:00,2026-03-02 11:00,Service Desk,C1,3 - Moderate,true,0"
ROSTER_HEADER = "Employee ID,Department,Hire Date,Termination Date,Termination Type"
ROSTER_MAPPING: dict[str, Any] = {
    "feed": "hr",
    "format": "roster",
    "date_order": "YMD",
    "snapshot_period": "2026-03",
}


@dataclass
class Case:
    """One bad input: the file's bytes, how it is read, and what must come out."""

    feed: str
    data: bytes
    mapping: dict[str, Any]
    problem: str | None = None  # FileProblem message fragment
    reason: str | None = None  # a quarantine reason that must appear
    kept: int | None = None  # good rows that must survive
    file_format: str | None = None
    name: str = "export.csv"


def _text(*lines: str, crlf: bool = False) -> bytes:
    return (("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")).encode("utf-8")


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


BINARY_FIX = "export the data as CSV (comma-separated text), not as Excel or PDF"

CASES: dict[str, Case] = {
    # ---- file-level problems -----------------------------------------------------------------
    "empty_file": Case("tickets", b"", TICKET_MAPPING, problem="the file is empty"),
    "whitespace_only_with_bom": Case(
        "hr", b"\xef\xbb\xbf\r\n \r\n", ROSTER_MAPPING, problem="the file is empty"
    ),
    "header_only": Case(
        "tickets",
        _text(TICKET_HEADER),
        TICKET_MAPPING,
        problem="the file has a header but no data rows (no tickets)",
    ),
    "random_binary_garbage": Case(
        "tickets",
        random.Random(7).randbytes(4096),
        TICKET_MAPPING,
        problem="the file is binary, not a CSV text export",
    ),
    "zip_renamed_csv": Case(
        "hr",
        (STORED / "archive_renamed.csv").read_bytes()
        if (STORED / "archive_renamed.csv").exists()
        else b"PK\x03\x04\x00\x00",
        ROSTER_MAPPING,
        problem="the file is binary, not a CSV text export",
    ),
    "xlsx_renamed_csv": Case(
        "external",
        _xlsx_bytes(),
        {"feed": "external", "format": "nps_responses"},
        problem="the file is binary, not a CSV text export",
    ),
    "truncated_mid_quoted_field": Case(
        "tickets",
        _text(TICKET_HEADER + ",description", GOOD_TICKET + ",ok")
        + b'INC2,2026-03-03 09:00,,Network,C2,2 - High,true,0,"the printer on floor 3 keeps',
        TICKET_MAPPING,
        problem="the file ends inside a quoted field",
    ),
    "semicolon_file_with_comma_mapping": Case(
        "tickets",
        _text(TICKET_HEADER.replace(",", ";"), GOOD_TICKET.replace(",", ";")),
        {**TICKET_MAPPING, "delimiter": ","},
        problem="the delimiter is wrong",
    ),
    "missing_required_column": Case(
        "tickets",
        _text("number,resolved_at,assignment_group", "INC1,2026-03-02 11:00,Service Desk"),
        TICKET_MAPPING,
        problem="the ticket export has no column for opened_at",
    ),
    "mapping_names_a_missing_column": Case(
        "hr",
        _text(ROSTER_HEADER, "E1,IT,2020-01-01,,"),
        {**ROSTER_MAPPING, "columns": {"department": "Dept"}},
        problem="names column 'Dept' for department, but the file has no such column",
    ),
    "unknown_format_by_header": Case(
        "tickets",
        _text("foo,bar", "1,2"),
        {"feed": "tickets"},
        problem="the ticket export format cannot be recognised from its header",
    ),
    "unknown_format_forced": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET),
        TICKET_MAPPING,
        file_format="excel",
        problem="unknown ticket format 'excel'",
    ),
    "external_unknown_format": Case(
        "external",
        _text("when,who", "2026-03-01,A"),
        {"feed": "external"},
        problem="the external metrics format cannot be recognised",
    ),
    "hr_snapshot_without_period": Case(
        "hr",
        _text("EmployeeNumber,Department,Attrition", "1,Sales,No"),
        {"feed": "hr"},
        name="attrition.csv",
        problem="the roster's snapshot period cannot be told",
    ),
    # ---- row-level problems: the row is quarantined, the good rows go on ----
    "unknown_assignment_group": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET, "INC2,2026-03-03 09:00,,Group 99,C2,2 - High,true,0"),
        TICKET_MAPPING,
        reason="assignment group 'Group 99' is not mapped to a provider department",
        kept=1,
    ),
    "negative_resolution_time": Case(
        "tickets",
        _text(
            TICKET_HEADER,
            GOOD_TICKET,
            "INC2,2026-03-05 09:00,2026-03-04 09:00,Network,C2,4 - Low,true,0",
        ),
        TICKET_MAPPING,
        reason="resolved_at 2026-03-04 09:00 is before opened_at 2026-03-05 09:00 "
        "(negative resolution time)",
        kept=1,
    ),
    "unknown_priority": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET, "INC2,2026-03-03 09:00,,Network,C2,Panic,true,0"),
        TICKET_MAPPING,
        reason="priority 'Panic' is not a known priority; add it to priority_values in the mapping",
        kept=1,
    ),
    "future_dates": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET, "INC2,2030-01-01 09:00,,Network,C2,2 - High,true,0"),
        TICKET_MAPPING,
        reason="opened_at 2030-01-01 09:00 is in the future (after 2026-06-01 00:00)",
        kept=1,
    ),
    "duplicate_ticket_ids": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET, GOOD_TICKET.replace("11:00", "12:00")),
        TICKET_MAPPING,
        reason="duplicate key (period, ticket_id) 2026-03 / INC1: an earlier row has the same key",
        kept=1,
    ),
    "invalid_date": Case(
        "tickets",
        _text(TICKET_HEADER, GOOD_TICKET, "INC2,2026-02-30 09:00,,Network,C2,2 - High,true,0"),
        TICKET_MAPPING,
        reason="opened_at '2026-02-30 09:00' is not a date in YMD order",
        kept=1,
    ),
    "ambiguous_dates_without_date_order": Case(
        "tickets",
        _text(
            TICKET_HEADER,
            "INC1,03/04/2026 09:00,,Network,C1,2 - High,true,0",
            "INC2,2026-03-02 09:00,,Network,C2,2 - High,true,0",
        ),
        {**TICKET_MAPPING, "date_order": None},
        reason="opened_at '03/04/2026 09:00' is ambiguous: day-first reads 2026-04-03, "
        "month-first reads 2026-03-04; "
        "set date_order in the mapping",
        kept=1,
    ),
    "mixed_date_formats": Case(
        "tickets",
        _text(
            TICKET_HEADER,
            "INC1,13/03/2026 09:00,,Network,C1,2 - High,true,0",
            "INC2,03/14/2026 09:00,,Network,C2,2 - High,true,0",
            "INC3,03/04/2026 09:00,,Network,C3,2 - High,true,0",
            "INC4,2026-03-05 09:00,,Network,C4,2 - High,true,0",
        ),
        {**TICKET_MAPPING, "date_order": None},
        reason="opened_at '03/04/2026 09:00' is ambiguous: day-first reads 2026-04-03, "
        "month-first reads 2026-03-04 "
        "(the column mixes day-first and month-first dates); set date_order in the mapping",
        kept=3,
    ),
    "termination_before_hire": Case(
        "hr",
        _text(ROSTER_HEADER, "E1,IT,2020-01-01,,", "E2,IT,2022-05-01,2021-01-01,Voluntary"),
        ROSTER_MAPPING,
        reason="termination_date 2021-01-01 is before hire_date 2022-05-01",
        kept=1,
    ),
    "unknown_termination_type": Case(
        "hr",
        _text(ROSTER_HEADER, "E1,IT,2020-01-01,,", "E2,IT,2020-01-01,2026-03-01,Sabbatical"),
        ROSTER_MAPPING,
        reason="termination type 'Sabbatical' is not mapped to voluntary or involuntary; "
        "add it to termination_types "
        "in the mapping",
        kept=1,
    ),
    "hr_missing_department_and_duplicate_id": Case(
        "hr",
        _text(ROSTER_HEADER, "E1,IT,2020-01-01,,", "E2,,2020-01-01,,", "E1,IT,2020-01-01,,"),
        ROSTER_MAPPING,
        reason="department is missing",
        kept=1,
    ),
    "external_scores_out_of_range": Case(
        "external",
        _text(
            "Date,Business Unit,Likely to recommend",
            "2026-03-01,Retail,9",
            "2026-03-02,Retail,11",
            "2026-03-03,Retail,-1",
        ),
        {"feed": "external", "format": "nps_responses", "date_order": "YMD"},
        reason="Likely to recommend 11 is outside 0-10",
        kept=1,
    ),
    "external_na_codes_are_not_scores": Case(
        "external",
        _text(
            "Date,Business Unit,Likely to recommend",
            "2026-03-01,Retail,9",
            "2026-03-02,Retail,N/A",
            "2026-03-03,Retail,NA",
            "2026-03-04,Retail,",
        ),
        {"feed": "external", "format": "nps_responses", "date_order": "YMD"},
        kept=1,
    ),
    # ---- encodings and CSV structure that must be read correctly ----
    "bom_and_crlf": Case(
        "hr",
        b"\xef\xbb\xbf" + _text(ROSTER_HEADER, "E1,IT,2020-01-01,,", crlf=True),
        ROSTER_MAPPING,
        kept=1,
    ),
    "cp1252_bytes": Case(
        "tickets",
        _text(TICKET_HEADER).replace(b"\n", b"\r\n")
        + "INC1,2026-03-02 09:00,,Zürich Desk,C1,3 - Moderate,true,0\r\n".encode("cp1252"),
        {**TICKET_MAPPING, "provider_departments": {"Zürich Desk": "Facilities"}},
        kept=1,
    ),
    "newline_inside_quotes": Case(
        "tickets",
        _text(
            TICKET_HEADER + ",description",
            GOOD_TICKET + ',"line one\nline two, with comma"',
            "INC2,2026-03-03 09:00,,Group 99,C2,2 - High,true,0,plain",
        ),
        TICKET_MAPPING,
        reason="assignment group 'Group 99' is not mapped to a provider department",
        kept=1,
    ),
    "ten_megabyte_field": Case(
        "tickets",
        _text(TICKET_HEADER + ",description", GOOD_TICKET + ',"' + "x" * (10 * 1024 * 1024) + '"'),
        TICKET_MAPPING,
        kept=1,
    ),
}


def _run(case: Case, tmp_path: Path) -> ParseResult:
    path = tmp_path / case.name
    path.write_bytes(case.data)
    mapping = {k: v for k, v in case.mapping.items() if v is not None}
    return READERS[case.feed](
        decode_file(path),
        mapping,
        file_format=case.file_format,
        salt=SALT,
        hr_employees=None,
        now=NOW,
    )


def test_the_corpus_has_at_least_25_bad_inputs_across_feeds() -> None:
    assert len(CASES) + len(SURVEY_CASES) >= 25
    assert {c.feed for c in CASES.values()} == {"tickets", "hr", "external"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    if case.problem is not None:
        with pytest.raises(FileProblem) as raised:
            _run(case, tmp_path)
        message = str(raised.value)
        # One message: which file, what is wrong, and the fix.
        assert message.startswith(str(tmp_path / case.name) + ": ")
        assert case.problem in message and ". Fix: " in message
        return
    result = _run(case, tmp_path)
    counts = result.counts
    assert (
        counts["rows_kept"] + counts["rows_quarantined"] + counts["rows_excluded"]
        == counts["rows_read"]
    )
    if case.reason is not None:
        assert case.reason in set(result.quarantine["reason"]), result.quarantine["reason"].tolist()
    if case.kept is not None:
        assert counts["rows_kept"] == case.kept


def test_specific_details_of_readable_bad_inputs(tmp_path: Path) -> None:
    bom = _run(CASES["bom_and_crlf"], tmp_path)
    assert bom.encoding == "utf-8-sig" and bom.tables["employees"]["department"].tolist() == ["IT"]
    cp = _run(CASES["cp1252_bytes"], tmp_path)
    assert cp.encoding == "cp1252" and cp.tables["tickets"]["provider_department"].tolist() == [
        "Facilities"
    ]
    quoted = _run(CASES["newline_inside_quotes"], tmp_path)
    # The quoted newline does not start a record: the bad ticket is record 3 of the file.
    assert quoted.quarantine["source_row"].tolist() == [3]
    na = _run(CASES["external_na_codes_are_not_scores"], tmp_path)
    assert na.excluded_by_reason == {"no answer in Likely to recommend": 3}
    assert na.tables["external_metrics"]["n_responses"].tolist() == [1]
    dup = _run(CASES["hr_missing_department_and_duplicate_id"], tmp_path)
    assert sorted(dup.quarantine["reason"]) == [
        "department is missing",
        "employee id appears more than once in the file (the first row is kept)",
    ]
    # Duplicate raw ids are reported by pseudonym, never by the raw id.
    assert "E1" not in set(dup.quarantine["value"])


# ---- surveys: through the dispatcher, so the survey reader's own messages are asserted -----------

SURVEY_HEADER = "respondent_id,consumer_department,provider,dimension,rating,responded_at,comment"
FORMULA = '=HYPERLINK("http://evil","click")'
SCRIPT = "<script>alert('x')</script><b>bold</b>"
SURVEY_CASES: dict[str, tuple[bytes, str]] = {
    "survey_formula_and_html_comments": (
        _text(
            SURVEY_HEADER,
            'R1,Sales,IT,quality,4,2026-03-02,"=HYPERLINK(""http://evil"",""click"")"',
            f'R2,Sales,IT,quality,5,2026-03-02,"{SCRIPT}"',
        ),
        "",
    ),
    "survey_score_out_of_range": (
        _text(
            SURVEY_HEADER, "R1,Sales,IT,quality,4,2026-03-02,", "R2,Sales,IT,quality,9,2026-03-02,"
        ),
        "rating 9 outside scale 1-5",
    ),
    "survey_duplicate_response_ids": (
        _text(
            SURVEY_HEADER, "R1,Sales,IT,quality,4,2026-03-02,", "R1,Sales,IT,quality,2,2026-03-02,"
        ),
        "second rating of IT on quality by the same respondent in 2026-03",
    ),
    "survey_ten_megabyte_comment": (
        _text(SURVEY_HEADER, 'R1,Sales,IT,quality,4,2026-03-02,"' + "x" * 10_485_760 + '"'),
        "comment of 10,485,760 characters is over the 10,000-character",
    ),
    # Issue 12: numbers a 1-5 scale cannot hold, in notations Python's float() would accept.
    "survey_fraction_on_a_likert_scale": (
        _text(
            SURVEY_HEADER,
            "R1,Sales,IT,quality,4,2026-03-02,",
            "R2,Sales,IT,quality,4.999,2026-03-02,",
        ),
        "rating 4.999 is not a whole number on scale 1-5",
    ),
    "survey_exponent_and_sign": (
        _text(
            SURVEY_HEADER,
            "R1,Sales,IT,quality,4,2026-03-02,",
            "R2,Sales,IT,quality,1e0,2026-03-02,",
            "R3,Sales,IT,quality,+4,2026-03-02,",
        ),
        "rating '1e0' on scale 1-5 is not written in plain digits 0-9",
    ),
    "survey_full_width_and_arabic_indic_digits": (
        _text(
            SURVEY_HEADER,
            "R1,Sales,IT,quality,4,2026-03-02,",
            "R2,Sales,IT,quality,\uff14,2026-03-02,",
            "R3,Sales,IT,quality,\u0664,2026-03-02,",
        ),
        "rating '\u0664' on scale 1-5 is not written in plain digits 0-9",
    ),
}


def _survey(tmp_path: Path, data: bytes) -> ParseResult:
    path = tmp_path / "wave.csv"
    path.write_bytes(data)
    mapping = tmp_path / "wave.mapping.yaml"
    mapping.write_text(yaml.safe_dump({"feed": "surveys", "format": "long", "scale": "1-5"}))
    return read_export(path, mapping_path=mapping, salt=SALT, now=NOW)


@pytest.mark.parametrize("name", sorted(SURVEY_CASES))
def test_bad_survey_input(name: str, tmp_path: Path) -> None:
    data, reason = SURVEY_CASES[name]
    result = _survey(tmp_path, data)
    if reason:
        assert any(reason in r for r in result.quarantine["reason"]), result.quarantine[
            "reason"
        ].tolist()
    # The survey's first respondent is good in every case and is kept.
    assert "R1" not in set(result.tables["survey_ratings"]["respondent_id"])  # pseudonymised
    assert result.counts["rows_kept"] >= 1
    counts = result.counts
    assert (
        counts["rows_kept"] + counts["rows_quarantined"] + counts["rows_excluded"]
        == counts["rows_read"]
    )


# ---- issue 12: the accounting identity for every readable file, in inspect and in the ledger -----


def _readable_corpus(folder: Path) -> list[Path]:
    """Every readable corpus file in a landing folder of its feed, with its own mapping."""
    written = []
    for name, case in sorted(CASES.items()):
        if case.problem is not None:
            continue
        path = folder / case.feed / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        mapping = {k: v for k, v in case.mapping.items() if v is not None}
        # These files are about accounting, not the quarantine-share stop (issue 16):
        # most of them are a few rows with one bad, far above the default 5% limit.
        mapping["max_quarantined_pct"] = 100
        path.with_name(f"{name}.mapping.yaml").write_text(yaml.safe_dump(mapping), "utf-8")
        written.append(path)
    for name, (data, _reason) in sorted(SURVEY_CASES.items()):
        path = folder / "surveys" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(f"{name}.mapping.yaml").write_text(
            yaml.safe_dump(
                {"feed": "surveys", "format": "long", "scale": "1-5", "max_quarantined_pct": 100}
            ),
            "utf-8",
        )
        written.append(path)
    return written


def test_inspect_balances_every_readable_corpus_file(tmp_path: Path) -> None:
    from ice_pipeline.ingest.inspect import inspect_file

    files = _readable_corpus(tmp_path / "landing")
    assert len(files) == sum(c.problem is None for c in CASES.values()) + len(SURVEY_CASES)
    for path in files:
        summary = inspect_file(path, now=NOW)
        assert summary["rows_read"] == (
            summary["rows_kept"] + summary["rows_quarantined"] + summary["rows_excluded"]
        ), path.name


def test_the_ledger_balances_every_readable_corpus_file(tmp_path: Path, warehouse_url: str) -> None:
    from ice_pipeline.cache import ParseCache, parse_feed
    from ice_pipeline.ingest.ledger import PartitionWindow, record_ledger
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import read_frame

    landing = tmp_path / "landing"
    files = _readable_corpus(landing)
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    cache = ParseCache(tmp_path / "cache")
    # A window that leaves some corpus rows outside (2026-03 only): they are quarantined, counted.
    window = PartitionWindow("2026-03", "2026-03")
    try:
        for feed in ("hr", "tickets", "external", "surveys"):
            outcome = parse_feed(landing, feed, cache, salt=SALT, now=NOW)
            assert outcome.problems == [], outcome.problems
            record_ledger(engine, feed, outcome.parses, [], window, "corpus")
        ledger = read_frame(engine, schema.source_files)
    finally:
        engine.dispose()
    assert sorted(ledger["source_file"]) == sorted(str(p) for p in files)
    balance = ledger["rows_kept"] + ledger["rows_quarantined"] + ledger["rows_excluded"]
    assert (balance == ledger["rows_read"]).all(), ledger[balance != ledger["rows_read"]]


def test_formulas_and_html_stay_inert_text(tmp_path: Path) -> None:
    result = _survey(tmp_path, SURVEY_CASES["survey_formula_and_html_comments"][0])
    assert sorted(result.tables["survey_comments"]["comment_text"]) == sorted([FORMULA, SCRIPT])
    assert result.quarantine.empty


# ---- the CLI: no traceback, exit 2 for file-level problems -----------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("ice-pipeline")
    env = {**os.environ, "ICE_DATA_DIR": str(cwd / "data")}
    return subprocess.run(
        [str(executable), "inspect", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "name",
    [
        "empty_file",
        "xlsx_renamed_csv",
        "mapping_names_a_missing_column",
        "truncated_mid_quoted_field",
    ],
)
def test_cli_reports_file_problems_without_traceback(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    export = tmp_path / case.name
    export.write_bytes(case.data)
    mapping = tmp_path / "export.mapping.yaml"
    mapping.write_text(yaml.safe_dump(case.mapping), encoding="utf-8")
    completed = _cli(str(export), "--mapping", str(mapping), cwd=tmp_path)
    assert "Traceback" not in completed.stderr
    assert completed.returncode == IceError.exit_code == 2, completed.stderr
    assert case.problem in completed.stderr and str(export) in completed.stderr


def test_cli_summarises_a_partly_bad_file(tmp_path: Path) -> None:
    import json

    case = CASES["unknown_assignment_group"]
    export = tmp_path / case.name
    export.write_bytes(case.data)
    mapping = tmp_path / "export.mapping.yaml"
    mapping.write_text(yaml.safe_dump(case.mapping), encoding="utf-8")
    completed = _cli(str(export), "--mapping", str(mapping), cwd=tmp_path)
    assert completed.returncode == 0 and "Traceback" not in completed.stderr, completed.stderr
    summary = json.loads(completed.stdout)
    assert (summary["rows_read"], summary["rows_kept"], summary["rows_quarantined"]) == (2, 1, 1)
    assert summary["rows_quarantined_by_reason"] == {
        "assignment group \u2026 is not mapped to a provider department": 1
    }
