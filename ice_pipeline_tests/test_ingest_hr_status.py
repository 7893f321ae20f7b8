"""Issue 16 item 3: a roster status column mapped as it is (employed, voluntary, involuntary)."""

from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

from ice_pipeline.index.turnover import compute_turnover
from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.hr import read_hr
from ice_pipeline.ingest.inspect import inspect_file

NOW = datetime(2026, 6, 1)
SALT = "status-salt"
ROSTER = (
    "\n".join(
        [
            "Employee ID,Full Name,Department,Hire Date,Termination Date,EmploymentStatus",
            "E1,Ann,IT,2020-01-01,,Active",
            "E2,Bob,IT,2020-01-01,,Active",
            "E3,Cy,IT,2021-06-01,2026-03-10,Voluntarily Terminated",
            "E4,Di,IT,2021-06-01,2026-03-20,Terminated for Cause",
            "E5,Ed,Sales,2019-02-01,,Active",
            "E6,Flo,Sales,2019-02-01,2026-03-05,Voluntarily Terminated",
            "E7,Gus,Sales,2022-02-01,,On Leave",
        ]
    )
    + "\n"
)
MAPPING = {
    "feed": "hr",
    "format": "roster",
    "date_order": "YMD",
    "snapshot_period": "2026-03",
    "columns": {"termination_type": "EmploymentStatus"},
    "active_values": ["Active"],
    "voluntary_values": ["Voluntarily Terminated"],
    "involuntary_values": ["Terminated for Cause"],
}


def _read(tmp_path: Path, mapping: dict, text: str = ROSTER) -> pd.DataFrame:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return read_hr(
        decode_file(path), mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW
    )


def test_status_column_gives_the_right_headcount_and_leavers(tmp_path: Path) -> None:
    result = _read(tmp_path, {**MAPPING, "active_values": ["Active", "On Leave"]})
    assert result.counts == {
        "rows_read": 7,
        "rows_kept": 7,
        "rows_quarantined": 0,
        "rows_excluded": 0,
    }
    employees = result.tables["employees"]
    assert employees["termination_type"].tolist() == [
        None,
        None,
        "voluntary",
        "involuntary",
        None,
        "voluntary",
        None,
    ]
    turnover = compute_turnover(employees, ["2026-03"]).set_index("department")
    # IT: 4 employed on 1 March, 2 left in March -> 2 at the end; Sales: 3 -> 2.
    assert turnover.loc["IT", ["headcount_start", "headcount_end", "leavers"]].tolist() == [4, 2, 2]
    assert turnover.loc["IT", ["voluntary_leavers", "involuntary_leavers"]].tolist() == [1, 1]
    assert turnover.loc["Sales", ["headcount_start", "headcount_end", "leavers"]].tolist() == [
        3,
        2,
        1,
    ]
    assert result.unplaced_values == []


def test_an_unplaced_value_is_reported_with_its_count_and_the_yaml_that_fixes_it(
    tmp_path: Path,
) -> None:
    result = _read(tmp_path, MAPPING)
    assert result.counts["rows_quarantined"] == 1
    assert result.quarantine["reason"].tolist() == [
        "termination type 'On Leave' is not mapped to voluntary or involuntary; "
        "add it to termination_types in the mapping"
    ]
    (unplaced,) = result.unplaced_values
    assert (unplaced["column"], unplaced["value"], unplaced["count"]) == (
        "EmploymentStatus",
        "On Leave",
        1,
    )
    # The advice, followed: paste the YAML into the mapping and the row is kept, still employed.
    fixed = {**MAPPING, **yaml.safe_load(unplaced["yaml_to_add"])}
    assert fixed["active_values"] == ["Active", "On Leave"]
    again = _read(tmp_path, fixed)
    assert again.counts["rows_kept"] == 7 and again.unplaced_values == []

    # inspect shows the same, from the mapping file beside the export.
    export = tmp_path / "roster.csv"
    export.with_name("roster.mapping.yaml").write_text(yaml.safe_dump(MAPPING), "utf-8")
    summary = inspect_file(export, now=NOW)
    assert summary["unplaced_values"] == result.unplaced_values


def test_the_message_advice_active_null_in_termination_types_works(tmp_path: Path) -> None:
    mapping = {k: v for k, v in MAPPING.items() if not k.endswith("_values")}
    mapping["termination_types"] = {
        "Active": None,
        "On Leave": "active",
        "Voluntarily Terminated": "voluntary",
        "Terminated for Cause": "involuntary",
    }
    result = _read(tmp_path, mapping)
    assert result.counts["rows_kept"] == 7
    assert result.tables["employees"]["termination_type"].notna().sum() == 3


def test_a_leaver_status_without_a_termination_date_is_quarantined(tmp_path: Path) -> None:
    text = ROSTER.replace("E3,Cy,IT,2021-06-01,2026-03-10,", "E3,Cy,IT,2021-06-01,,")
    result = _read(tmp_path, {**MAPPING, "active_values": ["Active", "On Leave"]}, text)
    assert result.counts["rows_quarantined"] == 1
    assert result.quarantine["reason"].tolist() == [
        "status 'Voluntarily Terminated' says the employee left but the termination date is missing"
    ]
