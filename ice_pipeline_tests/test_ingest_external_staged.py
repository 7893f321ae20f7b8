"""Issue 13 item 1: external metrics exports read through the staged reader (table_stage.py).

As for tickets and HR, an external file's body stays in Arrow and only the columns its roles use
become pandas; the others (free-text comments, names, e-mails) are only named, as unmapped. The
expected tables, quarantine, counts and column lists below were recorded from the reader before
staging (every column as a string frame, every column cleaned) on the same planted files; each
file is also read through the csv module's fallback and compared.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ice_pipeline.ingest import table_read, table_stage
from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.external import read_external
from ice_pipeline_tests.test_table_stage import _assert_same, _both_ways

NOW = datetime(2026, 6, 1)
MISSING_UNIT = (
    "business unit is missing; set business_unit_default in the mapping to keep such answers"
)

ANSWERS = (
    "Date,Business Unit,Likely to recommend,Email,Name,Comment,Comment\n"
    "2026-03-01,Retail,9,a@example.com,Ann,fine,x\n"
    "\n"
    "2026-03-02,Retail\u00a0Banking,11,b@example.com,Bob,,\n"
    "2026-03-03,  ,-1,,,,\n"
    " , , ,\u00a0, , ,\n"  # blank once stripped: a blank line
    "2026-03-04,Retail,N/A,,,,\n"
    "2026-03-05,Retail, - ,,,,\n"
    "2026-03-06,Retail,7.5,,,,\n"
    "2026-03-07,Retail,ten,,,,\n"
    "2027-03-08,Retail,8,,,,\n"
    "2026-02-30,Insurance,10,,,,\n"
    ",Insurance,10,,,,\n"
    "2026-04-01,?,3,,,,\n"
    " 2026-04-03 , Digital ,\t10 ,,,,\n"
    "2026-04-04,Caf\u00e9,0,,,,\n"
    '2026-04-05,Retail Banking,10,c@example.com,,"two\nlines",\n'
)
ANSWERS_MAPPING: dict[str, Any] = {
    "format": "nps_responses",
    "date_order": "YMD",
    "missing_values": ["-"],
    "business_unit_departments": {"Retail": "R", "Retail Banking": "RB"},
}
ANSWERS_RECORDED: dict[str, Any] = {
    "counts": {"rows_read": 16, "rows_kept": 4, "rows_quarantined": 8, "rows_excluded": 4},
    "excluded_by_reason": {"blank line": 2, "no answer in Likely to recommend": 2},
    "quarantined_by_reason": {
        "Likely to recommend …is outside …": 2,
        MISSING_UNIT: 2,
        "Likely to recommend …is not a whole number": 1,
        "Likely to recommend … is not a number": 1,
        "Date …is in the future (after …)": 1,
        "Date … is not a date in YMD order": 1,
        "the response date is missing": 1,
    },
    "columns_mapped": [
        "responded_at: Date",
        "business_unit: Business Unit",
        "score: Likely to recommend",
    ],
    "columns_unmapped": [
        "Email (personal, dropped)",
        "Name (personal, dropped)",
        "Comment",
        "Comment.1",
    ],
    "ambiguous_dates": 0,
    "quarantine": [
        (4, "Likely to recommend", "11", "Likely to recommend 11 is outside 0-10"),
        (5, "Business Unit", None, MISSING_UNIT),
        (5, "Likely to recommend", "-1", "Likely to recommend -1 is outside 0-10"),
        (9, "Likely to recommend", "7.5", "Likely to recommend 7.5 is not a whole number"),
        (10, "Likely to recommend", "ten", "Likely to recommend 'ten' is not a number"),
        (
            11,
            "Date",
            "2027-03-08",
            "Date 2027-03-08 00:00 is in the future (after 2026-06-01 00:00)",
        ),
        (12, "Date", "2026-02-30", "Date '2026-02-30' is not a date in YMD order"),
        (13, "Date", None, "the response date is missing"),
        (14, "Business Unit", None, MISSING_UNIT),
    ],
    "table": [
        ("2026-03", "Retail", "nps", "R", 100.0, 1, 100.0, 100.0),
        ("2026-04", "Café", "nps", None, -100.0, 1, -100.0, -100.0),
        ("2026-04", "Digital", "nps", None, 100.0, 1, 100.0, 100.0),
        ("2026-04", "Retail Banking", "nps", "RB", 100.0, 1, 100.0, 100.0),
    ],
}

METRICS = (
    "Period,Business Unit,Metric,Value,N,CI Low,CI High,Department,Owner,Owner\n"
    "2026-01,Retail,NPS,32.5,120,20,45,Retail Dept,Ann,x\n"
    "2026-01,Retail,CSAT %,81,118,75,86,,Bob,y\n"
    "\n"
    "2026-01,Insurance,Net Promoter Score,abc,100,,,Ins,,\n"
    "2026-02,Insurance,weird,10,5,,,Ins,,\n"
    "2026-02,Insurance\u00a0Co,top-2-box %,70,12.6,60,80,,,\n"
    "2026-13,?,nps,10,-,1,2,,,\n"
    " 2026-03 , Digital , NPS , 12 , 30 ,,, Dig ,,\n"
    "2026-03,Digital,NPS,12,30,,,Dig,,\n"
)
METRICS_MAPPING: dict[str, Any] = {
    "format": "metrics",
    "columns": {"n_responses": "N", "value_ci_low": "CI Low", "value_ci_high": "CI High"},
    "metric_names": {"weird": "nps"},
    "business_unit_departments": {"Retail": "R"},
}
DUPLICATE = "duplicate key (period, business_unit, metric) 2026-03 / Digital / nps"
METRICS_RECORDED: dict[str, Any] = {
    "counts": {"rows_read": 9, "rows_kept": 5, "rows_quarantined": 3, "rows_excluded": 1},
    "excluded_by_reason": {"blank line": 1},
    "quarantined_by_reason": {
        "value … is not a number": 1,
        "business_unit is missing": 1,
        "period … is not a period (YYYY-MM or YYYY-Qn)": 1,
        "the interval …to …does not contain the value …": 1,
        "duplicate key (period, business_unit, metric) … / Digital / nps: "
        "an earlier row has the same key": 1,
    },
    "columns_mapped": [
        "n_responses: N",
        "value_ci_low: CI Low",
        "value_ci_high: CI High",
        "period: Period",
        "business_unit: Business Unit",
        "metric: Metric",
        "value: Value",
        "department: Department",
    ],
    "columns_unmapped": ["Owner", "Owner.1"],
    "ambiguous_dates": 0,
    "quarantine": [
        (5, "Value", "abc", "value 'abc' is not a number"),
        (8, "business_unit", None, "business_unit is missing"),
        (8, "period", "2026-13", "period '2026-13' is not a period (YYYY-MM or YYYY-Qn)"),
        (8, "value_ci_low", "10.0", "the interval 1 to 2 does not contain the value 10"),
        (10, "metric", "2026-03 / Digital / nps", DUPLICATE + ": an earlier row has the same key"),
    ],
    "table": [
        ("2026-01", "Retail", "nps", "Retail Dept", 32.5, 120, 20.0, 45.0),
        ("2026-01", "Retail", "csat_pct", None, 81.0, 118, 75.0, 86.0),
        ("2026-02", "Insurance", "nps", "Ins", 10.0, 5, None, None),
        ("2026-02", "Insurance Co", "csat_pct", None, 70.0, 13, 60.0, 80.0),
        ("2026-03", "Digital", "nps", "Dig", 12.0, 30, None, None),
    ],
}
PLANTED = {
    "answers": (ANSWERS, ANSWERS_MAPPING, ANSWERS_RECORDED),
    "metrics": (METRICS, METRICS_MAPPING, METRICS_RECORDED),
}


def _read(path: Path, mapping: dict[str, Any]) -> ParseResult:
    return read_external(
        decode_file(path), mapping, file_format=None, salt="s", hr_employees=None, now=NOW
    )


def _summary(result: ParseResult) -> dict[str, Any]:
    """What the recorded values hold: every field but the file's path and hash."""
    quarantine = result.quarantine[["source_row", "column_name", "value", "reason"]]
    table = result.tables["external_metrics"].drop(columns=["source_file", "source_sha256"])
    table = table.astype(object).where(table.notna(), None)
    return {
        "counts": result.counts,
        "excluded_by_reason": result.excluded_by_reason,
        "quarantined_by_reason": result.quarantined_by_reason,
        "columns_mapped": result.columns_mapped,
        "columns_unmapped": result.columns_unmapped,
        "ambiguous_dates": result.ambiguous_dates,
        "quarantine": [tuple(row) for row in quarantine.itertuples(index=False)],
        "table": [tuple(row) for row in table.itertuples(index=False)],
    }


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_external_file_as_recorded_before_staging(tmp_path: Path, name: str) -> None:
    text, mapping, recorded = PLANTED[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    assert _summary(_read(path, mapping)) == recorded


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_external_file_same_both_ways(tmp_path: Path, monkeypatch, name: str) -> None:
    text, mapping, _recorded = PLANTED[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    _assert_same(*_both_ways(lambda: _read(path, mapping), monkeypatch))


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_external_stages_and_materialises_only_its_used_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A reader that bypasses stage_records, or asks for every column (read_table's full
    frame), fails here: the comments, names and e-mails must never become pandas."""
    text, mapping, recorded = PLANTED[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    staged_reads: list[str] = []
    materialised: list[Any] = []
    real_stage, real_frame = table_read.stage_records, table_stage.StagedTable._frame

    def stage(decoded: Any, delimiter: Any) -> Any:
        staged_reads.append(decoded.path.name)
        return real_stage(decoded, delimiter)

    def frame(self: Any, used: Any, codes: Any) -> Any:
        used = None if used is None else list(used)
        materialised.append(used)
        return real_frame(self, used, codes)

    monkeypatch.setattr(table_read, "stage_records", stage)
    monkeypatch.setattr(table_stage.StagedTable, "_frame", frame)
    result = _read(path, mapping)
    assert staged_reads == [path.name]
    assert None not in materialised  # never the whole body
    mapped = {entry.split(": ", 1)[1] for entry in recorded["columns_mapped"]}
    assert {column for used in materialised for column in used} == mapped
    assert result.columns_unmapped == recorded["columns_unmapped"]
