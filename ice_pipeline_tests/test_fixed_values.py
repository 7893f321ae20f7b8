"""Issue 16 item 4: fixed values for a missing column, and rows to skip above/below the header."""

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.external import read_external
from ice_pipeline.ingest.feeds import read_export
from ice_pipeline.ingest.hr import read_hr
from ice_pipeline.ingest.tickets import read_tickets

NOW = datetime(2026, 6, 1)
SALT = "fixed-salt"
NPS = "Date,Likely to recommend\n2026-03-02,10\n2026-03-03,9\n2026-03-04,3\n2026-03-05,8\n"
NPS_MAPPING = {
    "feed": "external",
    "format": "nps_responses",
    "date_order": "YMD",
    "columns": {"responded_at": "Date", "score": "Likely to recommend"},
    "business_unit_fixed": "Retail Banking",
    "business_unit_departments": {"Retail Banking": "Sales"},
}


def _read(reader, tmp_path: Path, text: str, mapping: dict, name: str = "export.csv"):  # noqa: ANN001, ANN202
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return reader(
        decode_file(path), mapping, file_format=None, salt=SALT, hr_employees=None, now=NOW
    )


def test_external_file_without_a_business_unit_column_uses_the_fixed_unit(tmp_path: Path) -> None:
    result = _read(read_external, tmp_path, NPS, NPS_MAPPING)
    metrics = result.tables["external_metrics"]
    assert metrics["business_unit"].tolist() == ["Retail Banking"]
    assert metrics["department"].tolist() == ["Sales"]
    nps = metrics.loc[metrics["metric"] == "nps"] if "metric" in metrics else metrics
    assert int(nps["n_responses"].iloc[0]) == 4
    assert result.counts["rows_kept"] == 4 and result.counts["rows_quarantined"] == 0
    assert "business_unit: (business_unit fixed by the mapping)" in result.columns_mapped


def test_fixing_and_mapping_the_same_column_is_refused(tmp_path: Path) -> None:
    mapping = {**NPS_MAPPING, "columns": {**NPS_MAPPING["columns"], "business_unit": "Date"}}
    with pytest.raises(FileProblem, match="both fixes business_unit"):
        _read(read_external, tmp_path, NPS, mapping)


def test_hr_roster_without_a_department_column_uses_the_fixed_department(tmp_path: Path) -> None:
    text = "Employee ID,Hire Date\nE1,2020-01-01\nE2,2021-01-01\n"
    mapping = {
        "feed": "hr",
        "format": "roster",
        "date_order": "YMD",
        "snapshot_period": "2026-03",
        "department_fixed": "Finance",
    }
    result = _read(read_hr, tmp_path, text, mapping)
    assert result.tables["employees"]["department"].tolist() == ["Finance", "Finance"]


TICKETS = (
    "number,opened_at,resolved_at,assignment_group,caller_id,priority\n"
    "INC1,2026-03-02 09:00,2026-03-02 11:00,Service Desk,C1,3 - Moderate\n"
    "INC2,2026-03-03 09:00,,Service Desk,C2,2 - High\n"
)
TICKET_MAPPING = {
    "feed": "tickets",
    "format": "servicenow",
    "date_order": "YMD",
    "provider_departments": {"Service Desk": "IT"},
}


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_line(
    tmp_path: Path,
) -> None:
    plain = _read(read_tickets, tmp_path, TICKETS, TICKET_MAPPING, "plain.csv")
    titled = _read(
        read_tickets,
        tmp_path,
        "Incident report\nExported 2026-04-01 by ServiceNow\n" + TICKETS,
        {**TICKET_MAPPING, "skip_rows": 2},
        "titled.csv",
    )
    columns = ["ticket_id", "opened_at", "resolved_at", "provider_department", "priority"]
    pd.testing.assert_frame_equal(
        plain.tables["tickets"][columns], titled.tables["tickets"][columns]
    )
    assert titled.counts == plain.counts
    assert titled.tables["tickets"]["source_row"].tolist() == [4, 5]


def test_extra_header_rows_of_an_unknown_layout_are_not_data(tmp_path: Path) -> None:
    """A long survey file with a question-text row under its header (header_rows: 2)."""
    header = "respondent_id,consumer_department,provider,dimension,rating,responded_at"
    rows = ["R1,Sales,IT,quality,4,2026-03-02", "R2,Sales,IT,quality,5,2026-03-03"]
    results = []
    for name, extra, settings in (
        ("plain", [], {}),
        (
            "two_headers",
            ["Respondent,Your department,Team,Aspect,Score (1-5),When"],
            {"header_rows": 2},
        ),
    ):
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join([header, *extra, *rows]) + "\n", encoding="utf-8")
        mapping = tmp_path / f"{name}.mapping.yaml"
        spec = {"feed": "surveys", "format": "long", "scale": "1-5", **settings}
        mapping.write_text(yaml.safe_dump(spec), encoding="utf-8")
        results.append(read_export(path, mapping_path=mapping, salt=SALT, now=NOW))
    plain, two = results
    assert two.counts == plain.counts
    assert (two.counts["rows_read"], two.counts["rows_kept"], two.counts["ratings"]) == (2, 2, 2)
    ratings = ["respondent_id", "provider_department", "dimension", "score", "period"]
    pd.testing.assert_frame_equal(
        plain.tables["survey_ratings"][ratings].reset_index(drop=True),
        two.tables["survey_ratings"][ratings].reset_index(drop=True),
    )
