"""HR rosters and attrition snapshots -> canonical employees rows."""

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.hr import detect_hr_format, read_hr
from ice_pipeline.ingest.privacy import pseudonymize

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "ice_pipeline" / "ingest" / "mapping_examples"
NOW = datetime(2026, 6, 1)
SALT = "test-salt"


def realdata(*parts: str) -> Path:
    copy = FIXTURES.joinpath("realdata", *parts)
    return (
        copy
        if copy.exists()
        else Path(__file__).resolve().parents[2].joinpath("shared", "realdata", *parts)
    )


def _read(
    tmp_path: Path, text: str, mapping: dict, name: str = "roster_2026-03.csv"
) -> ParseResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_hr(
        decode_file(path), mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW
    )


def test_real_ibm_attrition_snapshot_counts() -> None:
    mapping = yaml.safe_load((FIXTURES / "mappings" / "hr_ibm_attrition.mapping.yaml").read_text())
    decoded = decode_file(realdata("hr_ibm_attrition", "emp_attrition.csv"))
    result = read_hr(decoded, mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW)
    assert decoded.encoding == "utf-8-sig"  # BOM + CRLF
    assert result.file_format == "snapshot"
    assert result.counts == {
        "rows_read": 1470,
        "rows_kept": 1470,
        "rows_quarantined": 0,
        "rows_excluded": 0,
    }
    employees = result.tables["employees"]
    assert int(employees["attrited"].sum()) == 237
    assert employees["department"].value_counts().to_dict() == {
        "Research & Development": 961,
        "Sales": 446,
        "Human Resources": 63,
    }
    assert set(employees["snapshot_period"]) == {"2017-12"}
    # EmployeeNumber 1 is pseudonymised with the salt; the raw number is not stored.
    assert employees.loc[0, "employee_id"] == pseudonymize(pd.Series(["1"]), SALT)[0]
    assert employees["hire_date"].isna().all()
    assert "Gender" in result.columns_unmapped


ROSTER = (
    "Employee ID,First Name,Last Name,Work Email,"
    "Department,Location,Hire Date,Termination Date,Termination Type\n"
    """\
E1,Ann,Lee,ann@example.com,Finance,Berlin,2019-04-01,,
E2,Bob,Ray,bob@example.com,R&D,Paris,2020-01-15,2026-02-28,Resignation
E3,Cy,Kim,cy@example.com,Sales,Rome,2021-05-01,2026-03-10,Dismissal
E4,Di,Fox,di@example.com,Sales,Oslo,2022-05-01,2021-01-01,Voluntary
E5,Ed,Ng,ed@example.com,,Oslo,2022-05-01,,
E6,Flo,Wu,flo@example.com,Finance,Kyiv,2023-02-30,,
E7,Gus,Ho,gus@example.com,Finance,Riga,2023-02-01,2026-03-01,Sabbatical
E1,Ann,Lee,ann@example.com,Finance,Berlin,2019-04-01,,
E8,Hal,Oz,hal@example.com,Retail,Riga,2024-02-01,2026-01-31,Retired
"""
)


def test_roster_maps_types_drops_personal_columns_and_quarantines_bad_rows(tmp_path: Path) -> None:
    mapping = yaml.safe_load((EXAMPLES / "hr_roster.yaml").read_text(encoding="utf-8"))
    result = _read(tmp_path, ROSTER, mapping)
    employees = result.tables["employees"]
    assert result.file_format == "roster"
    assert set(employees["snapshot_period"]) == {"2026-03"}  # from the file name
    assert employees["department"].tolist() == [
        "Finance",
        "Research & Development",
        "Sales",
        "Retail",
    ]
    assert employees["termination_type"].tolist() == [None, "voluntary", "involuntary", "voluntary"]
    assert employees["termination_date"].tolist()[1] == pd.Timestamp("2026-02-28")
    reasons = dict(zip(result.quarantine["source_row"], result.quarantine["reason"], strict=True))
    assert reasons == {
        5: "termination_date 2021-01-01 is before hire_date 2022-05-01",
        6: "department is missing",
        7: "Hire Date '2023-02-30' is not a date in YMD order",
        8: "termination type 'Sabbatical' is not mapped to voluntary or involuntary; "
        "add it to termination_types in "
        "the mapping",
        9: "employee id appears more than once in the file (the first row is kept)",
    }
    assert result.counts == {
        "rows_read": 9,
        "rows_kept": 4,
        "rows_quarantined": 5,
        "rows_excluded": 0,
    }
    stored = set(employees.astype(str).to_numpy().ravel()) | set(
        result.quarantine["value"].astype(str)
    )
    assert not stored & {"Ann", "Lee", "ann@example.com", "Berlin", "E1", "E2"}
    assert {
        "First Name (personal, dropped)",
        "Work Email (personal, dropped)",
        "Location (personal, dropped)",
    } <= set(result.columns_unmapped)


def test_snapshot_period_falls_back_to_the_latest_date(tmp_path: Path) -> None:
    text = (
        "Employee ID,Department,Hire Date,Termination Date\n"
        "A,IT,2025-01-01,\nB,IT,2024-01-01,2026-04-15\n"
    )
    result = _read(tmp_path, text, {"format": "roster"}, name="roster.csv")
    assert set(result.tables["employees"]["snapshot_period"]) == {"2026-04"}


def test_snapshot_without_any_period_is_a_file_problem(tmp_path: Path) -> None:
    text = "EmployeeNumber,Department,Attrition\n1,Sales,Yes\n"
    with pytest.raises(
        FileProblem, match="snapshot period cannot be told.*Fix: set 'snapshot_period: YYYY-MM'"
    ):
        _read(tmp_path, text, {}, name="attrition.csv")


def test_format_detection() -> None:
    assert detect_hr_format(["EmployeeNumber", "Department", "Attrition"]) == "snapshot"
    assert detect_hr_format(["Employee ID", "Department", "Hire Date"]) == "roster"


def test_hr_mapping_examples_load() -> None:
    from ice_pipeline.ingest.mapping import load_mapping

    for path in sorted(EXAMPLES.glob("hr_*.yaml")):
        assert load_mapping(path).feed == "hr", path
