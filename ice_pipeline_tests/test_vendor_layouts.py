"""Issue 16 item 1: vendor layouts (ingest/vendors/) detected as the tools wrote them.

The same Qualtrics survey, exported three ways: legacy (V1..Vn), 2016-2018 (a third header row
of single-quoted ImportId dicts) and current (JSON ImportId row). All give the same ratings.
"""

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.feeds import detect_feed, read_export
from ice_pipeline.ingest.vendors import LAYOUTS, qualtrics


@pytest.fixture(autouse=True, params=["pandas", "staged"])
def survey_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: small wide exports read in pandas (the default) and staged in DuckDB
    (what large exports take, surveys.STAGE_MIN_CELLS): both paths must give the same results.
    """
    from ice_pipeline.ingest import surveys

    if request.param == "staged":
        monkeypatch.setattr(surveys, "STAGE_MIN_CELLS", 0)
    return str(request.param)


NOW = datetime(2026, 6, 1)
SALT = "vendor-salt"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "mappings.md"

# (response id, end date, department, Q1_1, Q1_2); -1 = "no basis to judge", -2 = "don't know".
ANSWERS = [
    ("R_1a", "2017-05-02 09:05:00", "Sales", "4", "5"),
    ("R_2b", "2017-05-03 10:00:00", "Sales", "-1", "3"),
    ("R_3c", "2017-05-04 11:30:00", "Finance", "2", "-2"),
    ("R_4d", "2017-05-05 12:00:00", "Finance", "5", "4"),
]
COMMON_MAPPING = {
    "feed": "surveys",
    "consumer_department": "Q2",
    "not_applicable": [-1, -2],
    "ratings": [
        {"column": "Q1_1", "provider": "IT", "dimension": "quality", "scale": "1-5"},
        {"column": "Q1_2", "provider": "IT", "dimension": "speed", "scale": "1-5"},
    ],
}


def _legacy() -> str:
    lines = [
        "V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,Q1_1,Q1_2,Q2",
        "ResponseID,ResponseSet,Name,ExternalDataReference,EmailAddress,IPAddress,Status,"
        "StartDate,EndDate,Finished,Rate IT - Quality,Rate IT - Speed,Your department",
    ]
    lines += [
        f"{rid},Default Response Set,Anonymous,,,10.0.0.1,0,{end},{end},1,{a},{b},{dept}"
        for rid, end, dept, a, b in ANSWERS
    ]
    return "\n".join(lines) + "\n"


def _current(import_row: list[str]) -> str:
    lines = [
        "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,"
        "RecordedDate,ResponseId,Q1_1,Q1_2,Q2",
        "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,"
        "Recorded Date,Response ID,Rate IT - Quality,Rate IT - Speed,Your department",
        ",".join(import_row),
    ]
    lines += [
        f"{end},{end},0,10.0.0.1,100,300,True,{end},{rid},{a},{b},{dept}"
        for rid, end, dept, a, b in ANSWERS
    ]
    return "\n".join(lines) + "\n"


IDS = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished"]
IDS += ["recordedDate", "_recordId", "QID1_1", "QID1_2", "QID2_TEXT"]
SINGLE = [
    f"\"{{'ImportId': '{i}', 'timeZone': 'America/Denver'}}\""
    if i in ("startDate", "endDate", "recordedDate")
    else f"{{'ImportId': '{i}'}}"
    for i in IDS
]
DOUBLE = [f'"{{""ImportId"":""{i}""}}"' for i in IDS]


def _read(tmp_path: Path, name: str, text: str, mapping: dict) -> pd.DataFrame:
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    mapping_path = tmp_path / f"{name}.mapping.yaml"
    mapping_path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return read_export(path, mapping_path=mapping_path, salt=SALT, now=NOW)


def test_the_2016_2018_layout_gives_the_same_ratings_as_the_legacy_export(
    tmp_path: Path,
) -> None:
    legacy = _read(tmp_path, "legacy", _legacy(), COMMON_MAPPING)
    older = _read(tmp_path, "y2017", _current(SINGLE), COMMON_MAPPING)
    newer = _read(tmp_path, "y2019", _current(DOUBLE), COMMON_MAPPING)
    assert (legacy.file_format, older.file_format, newer.file_format) == (
        "qualtrics_legacy",
        "qualtrics",
        "qualtrics",
    )
    columns = ["respondent_id", "consumer_department", "provider_department", "dimension"]
    columns += ["score", "period", "responded_at"]
    expected = legacy.tables["survey_ratings"][columns].reset_index(drop=True)
    assert len(expected) == 6  # 8 answers, 2 of them "no basis" codes
    for result in (older, newer):
        pd.testing.assert_frame_equal(
            result.tables["survey_ratings"][columns].reset_index(drop=True), expected
        )
        assert result.counts["ratings_not_applicable"] == 2
        assert result.counts["rows_quarantined"] == 0 and result.counts["rows_kept"] == 4


def test_the_single_quoted_import_id_row_is_a_survey_without_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(_current(SINGLE), encoding="utf-8")
    assert detect_feed(decode_file(path)) == "surveys"
    assert qualtrics.is_import_id_cell("{'ImportId': 'QID1_1'}")
    assert qualtrics.is_import_id_cell('{"ImportId":"QID1_1"}')
    assert not qualtrics.is_import_id_cell("ImportId QID1_1")


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.format)
def test_every_registered_layout_is_documented(layout) -> None:  # noqa: ANN001
    assert f"`{layout.format}`" in DOCS.read_text(encoding="utf-8")


# ---- .xlsx and UTF-16 tab-separated exports beside CSV ---------------------------------------


def _xlsx(rows: list[list[str]]) -> bytes:
    """A minimal workbook as Excel writes it: text as inline strings, whole numbers as numbers."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref: str, value: str) -> str:
        if value.lstrip("-").isdigit():
            return f'<c r="{ref}"><v>{value}</v></c>'
        if value == "":
            return ""
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    def column(i: int) -> str:
        return chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26)

    sheet_rows = "".join(
        f'<row r="{r + 1}">'
        + "".join(cell(f"{column(c)}{r + 1}", v) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows)
    )
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}>'
            f"<sheetData>{sheet_rows}</sheetData></worksheet>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_xlsx_and_utf16_tab_separated_exports_give_the_same_rows_as_their_csv(
    tmp_path: Path,
) -> None:
    import csv
    import io

    text = _current(DOUBLE)
    rows = list(csv.reader(io.StringIO(text)))
    tsv = io.StringIO()
    csv.writer(tsv, delimiter="\t", lineterminator="\r\n").writerows(rows)
    exports = {
        "export.csv": text.encode("utf-8"),
        "export.xlsx": _xlsx(rows),
        "export.tsv": tsv.getvalue().encode("utf-16"),  # with its BOM, as Excel writes it
    }
    results = {}
    for name, data in exports.items():
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        mapping = folder / "mapping.yaml"
        mapping.write_text(yaml.safe_dump(COMMON_MAPPING), encoding="utf-8")
        results[name] = read_export(path, mapping_path=mapping, salt=SALT, now=NOW)
    assert results["export.xlsx"].encoding == "xlsx"
    assert results["export.tsv"].encoding == "utf-16"
    columns = ["respondent_id", "consumer_department", "provider_department", "dimension"]
    columns += ["score", "period", "responded_at", "source_row"]
    expected = results["export.csv"].tables["survey_ratings"][columns].reset_index(drop=True)
    assert len(expected) == 6
    for name in ("export.xlsx", "export.tsv"):
        assert results[name].file_format == "qualtrics"
        assert results[name].counts == results["export.csv"].counts, name
        pd.testing.assert_frame_equal(
            results[name].tables["survey_ratings"][columns].reset_index(drop=True), expected
        )


def test_landing_folders_pick_up_tsv_and_xlsx_exports(tmp_path: Path) -> None:
    from ice_pipeline.ingest.feeds import discover_exports

    folder = tmp_path / "surveys"
    folder.mkdir()
    for name in ("a.csv", "b.tsv", "c.xlsx", "notes.md", "mapping.yaml"):
        (folder / name).write_text("x", encoding="utf-8")
    assert [e.path.name for e in discover_exports(tmp_path)] == ["a.csv", "b.tsv", "c.xlsx"]


def test_inspect_names_the_registered_layout(tmp_path: Path) -> None:
    from ice_pipeline.ingest.inspect import inspect_file

    path = tmp_path / "y2017.csv"
    path.write_text(_current(SINGLE), encoding="utf-8")
    layout = inspect_file(path)["layout"]
    assert (layout["feed"], layout["format"], layout["vendor"]) == (
        "surveys",
        "qualtrics",
        "qualtrics",
    )
    assert "2016-2018" in layout["recognised_by"]
