"""Survey ingestion: every layout, the mapping, the exclusion policy, quarantine reasons, privacy.

Small exports are written by hand into tmp_path in each tool's layout and read with the example
mappings shipped in ice_pipeline/ingest/mapping_examples (so the examples are proven to work);
the real third-party exports under fixtures/realdata are read with fixtures/mappings.
"""

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ice_pipeline.errors import ConfigError, FileProblem
from ice_pipeline.ingest import surveys
from ice_pipeline.ingest.common import ParseResult, decode_file
from ice_pipeline.ingest.feeds import discover_exports, periods_in_export, read_export
from ice_pipeline.ingest.mapping import find_mapping, load_mapping
from ice_pipeline.ingest.privacy import pseudonymize


@pytest.fixture(autouse=True, params=["pandas", "staged"])
def survey_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: small wide exports read in pandas (the default) and staged in DuckDB
    (what large exports take, surveys.STAGE_MIN_CELLS): both paths must give the same results.
    """
    from ice_pipeline.ingest import surveys

    if request.param == "staged":
        monkeypatch.setattr(surveys, "STAGE_MIN_CELLS", 0)
    return str(request.param)


EXAMPLES = Path(__file__).resolve().parent.parent / "ice_pipeline" / "ingest" / "mapping_examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAPPINGS = FIXTURES / "mappings"
NOW = datetime(2026, 11, 15)
SALT = "test-salt"
RATING_COLUMNS = [
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "rating_raw",
    "scale_min",
    "scale_max",
    "reversed",
    "score",
    "favourable",
    "responded_at",
    "source_file",
    "source_sha256",
    "source_row",
]


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    bom: bool = False,
    quote_all: bool = False,
    trailing_comma: bool = False,
    newline: str = "\n",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=newline
    )
    for row in rows:
        writer.writerow(row + ([""] if trailing_comma else []))
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


def read(path: Path, mapping: Path | None, **kwargs: object) -> ParseResult:
    return read_export(path, mapping_path=mapping, salt=SALT, now=NOW, **kwargs)  # type: ignore[arg-type]


def ratings_of(result: ParseResult) -> pd.DataFrame:
    return result.tables["survey_ratings"]


def reasons(result: ParseResult) -> list[str]:
    return sorted(result.quarantine["reason"].tolist())


# --------------------------------------------------------------------------------------------
# Qualtrics (current layout) with the example mapping: the full policy in one small file
# --------------------------------------------------------------------------------------------

QUALTRICS_IDS = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientEmail",
    "LocationLatitude",
    "Q_DEPT",
    "Q_IT_1",
    "Q_IT_2",
    "Q_IT_3",
    "Q_HR_1",
    "Q_IT_TEXT",
]


def qualtrics_row(
    rid: str,
    *,
    status: str = "IP Address",
    progress: str = "100",
    finished: str = "1",
    recorded: str = "2026-10-05 09:00:00",
    dept: str = "1",
    it: tuple[str, str, str] = ("", "", ""),
    hr: str = "",
    text: str = "",
) -> list[str]:
    return [
        "2026-10-05 08:55:00",
        recorded,
        status,
        "192.0.2.7",
        progress,
        finished,
        recorded,
        rid,
        "jane.doe@example.com",
        "47.11",
        dept,
        *it,
        hr,
        text,
    ]


def qualtrics_file(tmp_path: Path, rows: list[list[str]], name: str = "wave.csv") -> Path:
    labels = [f"Label of {c}" for c in QUALTRICS_IDS]
    imports = [json.dumps({"ImportId": c}) for c in QUALTRICS_IDS]
    return write_csv(tmp_path / name, [QUALTRICS_IDS, labels, imports, *rows])


@pytest.fixture
def qualtrics_result(tmp_path: Path) -> ParseResult:
    rows = [
        qualtrics_row(
            "R_1", it=("5", "4", "2"), hr="-1", text='Great <b>team</b> =HYPERLINK("x")'
        ),  # row 4
        qualtrics_row("R_2", status="Survey Preview", it=("1", "1", "1")),  # 5: preview
        qualtrics_row("R_3", progress="50", finished="0", it=("1", "", "")),  # 6: incomplete
        qualtrics_row("R_4", it=("-1", "N/A", "-2"), hr="NA"),  # 7: nothing answered
        qualtrics_row("R_5", it=("9", "3", ""), hr="4"),  # 8: one answer out of range
        qualtrics_row("R_1", it=("1", "1", "1")),  # 9: duplicate id
        qualtrics_row("R_6", dept="", it=("3", "3", "3")),  # 10: no department
        qualtrics_row("R_7", recorded="2031-01-01 10:00:00", it=("3", "3", "3")),  # 11: future
        qualtrics_row("R_8", recorded="xx", it=("3", "3", "3")),  # 12: unparsable date
        qualtrics_row("R_9", dept="7", it=("3", "3", "3")),  # 13: unknown department code
    ]
    path = qualtrics_file(tmp_path, rows)
    return read(path, EXAMPLES / "surveys_qualtrics.yaml")


def test_qualtrics_row_accounting(qualtrics_result: ParseResult) -> None:
    r = qualtrics_result
    assert r.file_format == "qualtrics"
    assert r.counts["rows_read"] == 10
    assert r.counts["rows_excluded"] == 3
    assert r.excluded_by_reason == {
        "status Survey Preview": 1,
        "not finished": 1,
        "no rating answered": 1,
    }
    assert r.counts["rows_quarantined"] == 5
    assert r.counts["rows_kept"] == 2
    assert (
        r.counts["rows_read"]
        == r.counts["rows_kept"] + r.counts["rows_excluded"] + r.counts["rows_quarantined"]
    )
    assert r.quarantined_by_reason == {
        "duplicate response id": 1,
        "missing respondent department": 1,
        "responded_at in the future": 1,
        "unparsable date": 1,
        "unknown department code": 1,
        "rating outside scale": 1,
    }


def test_qualtrics_quarantine_reasons_are_specific(qualtrics_result: ParseResult) -> None:
    q = qualtrics_result.quarantine.set_index("source_row")
    assert q.loc[9, "reason"] == "duplicate response id R_1 (first seen on row 4)"
    assert q.loc[10, "reason"] == "missing respondent department"
    assert q.loc[11, "reason"] == "responded_at in the future (2031-01-01)"
    assert q.loc[12, "reason"] == "unparsable date 'xx'"
    assert q.loc[13, "reason"] == "unknown department code '7' (not in consumer_department_values)"
    assert q.loc[8, "reason"] == "rating 9 outside scale 1-5"
    assert q.loc[8, "column_name"] == "Q_IT_1"
    assert q.loc[8, "value"] == "9"
    assert set(q["feed"]) == {"surveys"}
    assert set(q["source_sha256"]) == {qualtrics_result.source_sha256}


def test_qualtrics_ratings_scores_reversal_and_not_applicable(
    qualtrics_result: ParseResult,
) -> None:
    frame = ratings_of(qualtrics_result)
    assert list(frame.columns) == RATING_COLUMNS
    got = frame[
        [
            "source_row",
            "provider_department",
            "dimension",
            "rating_raw",
            "reversed",
            "score",
            "favourable",
        ]
    ]
    expected = pd.DataFrame(
        {
            "source_row": [4, 4, 4, 8, 8],
            "provider_department": ["Information Technology"] * 3
            + ["Information Technology", "Human Resources"],
            "dimension": ["responsiveness", "quality", "red_tape", "quality", "responsiveness"],
            "rating_raw": [5.0, 4.0, 2.0, 3.0, 4.0],
            "reversed": [False, False, True, False, False],
            "score": [100.0, 75.0, 75.0, 50.0, 75.0],  # red tape 2 reversed -> 4 -> 75
            "favourable": [True, True, True, False, True],
        }
    )
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    assert set(frame["consumer_department"]) == {"Finance"}
    assert set(frame["period"]) == {"2026-10"}
    assert frame["responded_at"].iloc[0] == pd.Timestamp("2026-10-05 09:00:00")
    # R_1 answered HR with -1: no HR row for R_1, so HR's mean is R_5's 4 alone (75),
    # not dragged down.
    hr = frame[frame["provider_department"] == "Human Resources"]
    assert hr["source_row"].tolist() == [8]
    assert hr["score"].mean() == 75.0
    assert qualtrics_result.counts["ratings_not_applicable"] == 1  # R_1's -1 (R_4 was excluded)


def test_qualtrics_comments_kept_verbatim(qualtrics_result: ParseResult) -> None:
    comments = qualtrics_result.tables["survey_comments"]
    assert comments["comment_text"].tolist() == ['Great <b>team</b> =HYPERLINK("x")']
    assert comments["provider_department"].tolist() == ["Information Technology"]
    assert comments["source_row"].tolist() == [4]


def test_personal_columns_never_leave_the_reader(qualtrics_result: ParseResult) -> None:
    canonical = pd.concat(
        [ratings_of(qualtrics_result), qualtrics_result.tables["survey_comments"]]
    ).to_csv()
    everything = canonical + qualtrics_result.quarantine.to_csv()
    for secret in ("jane.doe@example.com", "192.0.2.7", "47.11"):
        assert secret not in everything
    # Response ids are hashed in the canonical rows (quarantine reasons name them, by design).
    assert "R_1" not in canonical and "R_5" not in canonical
    assert "RecipientEmail" not in qualtrics_result.columns_unmapped
    assert "IPAddress" not in qualtrics_result.columns_mapped + qualtrics_result.columns_unmapped


def test_pseudonyms_are_salted_and_stable(tmp_path: Path) -> None:
    path = qualtrics_file(tmp_path, [qualtrics_row("R_1", it=("5", "4", "2"))])
    first = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    again = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    other_salt = read_export(
        path, mapping_path=EXAMPLES / "surveys_qualtrics.yaml", salt="another", now=NOW
    )
    ids = set(ratings_of(first)["respondent_id"])
    assert ids == {pseudonymize(pd.Series(["R_1"]), SALT).iloc[0]}
    assert ids == set(ratings_of(again)["respondent_id"])
    assert ids.isdisjoint(set(ratings_of(other_salt)["respondent_id"]))


def test_same_file_twice_gives_identical_frames(tmp_path: Path) -> None:
    rows = [
        qualtrics_row(f"R_{i}", it=(str(1 + i % 5), "3", "-1"), hr=str(1 + i % 3))
        for i in range(30)
    ]
    path = qualtrics_file(tmp_path, rows)
    first = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    second = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    pd.testing.assert_frame_equal(ratings_of(first), ratings_of(second))
    pd.testing.assert_frame_equal(first.quarantine, second.quarantine)
    assert len(ratings_of(first)) == 30 * 3


def test_progress_threshold_excludes(tmp_path: Path) -> None:
    path = qualtrics_file(
        tmp_path, [qualtrics_row("R_1", progress="80", finished="1", it=("5", "", ""))]
    )
    result = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    assert result.excluded_by_reason == {"progress below 100%": 1}
    assert ratings_of(result).empty


# --------------------------------------------------------------------------------------------
# The other layouts
# --------------------------------------------------------------------------------------------


def test_qualtrics_legacy_bom_trailing_comma(tmp_path: Path) -> None:
    row1 = [
        "V1",
        "V2",
        "V3",
        "V4",
        "V5",
        "V6",
        "V7",
        "V8",
        "V9",
        "V10",
        "Q_DEPT",
        "Q_IT_1",
        "Q_IT_3",
        "Q_HR_2",
    ]
    row2 = [
        "ResponseID",
        "ResponseSet",
        "Name",
        "ExternalDataReference",
        "EmailAddress",
        "IPAddress",
        "Status",
        "StartDate",
        "EndDate",
        "Finished",
        "Department?",
        "IT responsive",
        "IT red tape",
        "HR quality",
    ]
    data = [
        [
            "R_a",
            "Default",
            "Anonymous",
            "",
            "a@example.com",
            "198.51.100.1",
            "0",
            "2026-09-01 10:00:00",
            "2026-09-01 10:05:00",
            "1",
            "2",
            "4",
            "5",
            "3",
        ],
        [
            "R_b",
            "Default",
            "Anonymous",
            "",
            "",
            "198.51.100.2",
            "1",
            "2026-09-02 10:00:00",
            "2026-09-02 10:05:00",
            "1",
            "2",
            "4",
            "5",
            "3",
        ],
    ]
    path = write_csv(tmp_path / "legacy.csv", [row1, row2, *data], bom=True, trailing_comma=True)
    result = read(path, EXAMPLES / "surveys_qualtrics_legacy.yaml")
    assert (result.file_format, result.encoding) == ("qualtrics_legacy", "utf-8-sig")
    assert result.counts["rows_read"] == 2
    assert result.excluded_by_reason == {"status Survey Preview": 1}
    frame = ratings_of(result)
    assert frame[["dimension", "rating_raw", "score"]].values.tolist() == [
        ["responsiveness", 4.0, 75.0],
        ["red_tape", 5.0, 0.0],
        ["quality", 3.0, 50.0],
    ]
    assert set(frame["consumer_department"]) == {"Sales"}
    assert set(frame["source_row"]) == {3}
    assert not any(c.startswith("(column") for c in result.columns_unmapped)


SM_ROW1 = [
    "Respondent ID",
    "Start Date",
    "End Date",
    "Email Address",
    "Which department do you work in?",
    "How would you rate Information Technology?",
    "",
    "",
    "How would you rate Finance?",
    "",
    "Anything else about Finance?",
]
SM_ROW2 = [
    "",
    "",
    "",
    "",
    "Response",
    "Responsiveness",
    "Quality",
    "There is too much red tape",
    "Responsiveness",
    "Quality",
    "Open-Ended Response",
]


def test_surveymonkey_labels_not_applicable_and_unknown_label(tmp_path: Path) -> None:
    data = [
        [
            "1001",
            "10/03/2026 01:55:00 PM",
            "10/03/2026 02:05:22 PM",
            "x@example.com",
            "Sales",
            "Strongly agree",
            "Agree",
            "Disagree",
            "No basis for evaluation",
            "N/A",
            "Too slow",
        ],
        [
            "1002",
            "10/04/2026 09:00:00 AM",
            "10/04/2026 09:10:00 AM",
            "",
            "Finance",
            "Sorta",
            "Neither agree nor disagree",
            "",
            "Strongly disagree",
            "Agree",
            "",
        ],
    ]
    path = write_csv(tmp_path / "monkey.csv", [SM_ROW1, SM_ROW2, *data])
    result = read(path, EXAMPLES / "surveys_surveymonkey.yaml")
    assert result.file_format == "surveymonkey"
    frame = ratings_of(result)
    first = frame[frame["source_row"] == 3]
    assert first[
        ["provider_department", "dimension", "rating_raw", "score", "favourable"]
    ].values.tolist() == [
        ["Information Technology", "responsiveness", 5.0, 100.0, True],
        ["Information Technology", "quality", 4.0, 75.0, True],
        [
            "Information Technology",
            "red_tape",
            2.0,
            75.0,
            True,
        ],  # disagreeing with red tape is good
    ]
    # 'No basis for evaluation' and 'N/A' for Finance: no Finance rating from respondent 1001.
    assert "Finance" not in set(first["provider_department"])
    assert first["responded_at"].iloc[0] == pd.Timestamp("2026-10-03 14:05:22")
    assert reasons(result) == ["unknown rating label 'Sorta'"]
    assert result.quarantine["column_name"].tolist() == [
        "How would you rate Information Technology? | Responsiveness"
    ]
    assert result.tables["survey_comments"]["comment_text"].tolist() == ["Too slow"]
    assert result.counts["ratings_not_applicable"] == 2


def test_limesurvey_all_values_quoted(tmp_path: Path) -> None:
    header = [
        "Response ID",
        "Date submitted",
        "Last page",
        "Start language",
        "IP address",
        "Which department do you work in?",
        "How would you rate Finance? [Responsiveness]",
        "How would you rate Finance? [There is too much red tape]",
        "Anything else about Finance?",
    ]
    data = [
        [
            "1",
            "2026-10-01 12:00:00",
            "3",
            "en",
            "203.0.113.9",
            "Operations",
            "5",
            "1",
            "Line one\nline two",
        ],
        ["2", "", "1", "en", "203.0.113.9", "Operations", "2", "", ""],
    ]
    path = write_csv(tmp_path / "lime.csv", [header, *data], quote_all=True)
    result = read(path, EXAMPLES / "surveys_limesurvey.yaml")
    assert result.file_format == "limesurvey"
    assert result.excluded_by_reason == {"not finished": 1}
    assert ratings_of(result)[["dimension", "score"]].values.tolist() == [
        ["responsiveness", 100.0],
        ["red_tape", 100.0],
    ]
    assert result.tables["survey_comments"]["comment_text"].tolist() == ["Line one\nline two"]
    # The quoted newline makes record 2 two physical lines; source_row counts records.
    assert result.quarantine.empty and set(ratings_of(result)["source_row"]) == {2}


def test_google_forms_zero_to_ten(tmp_path: Path) -> None:
    header = [
        "Timestamp",
        "Email address",
        "Which department do you work in?",
        "How would you rate Finance? [Responsiveness]",
        "How would you rate Finance? [Quality]",
    ]
    data = [
        ["10/3/2026 14:05:22", "a@example.com", "Sales", "10", "8"],
        ["10/4/2026 9:00:00", "b@example.com", "Sales", "0", "11"],
    ]
    path = write_csv(tmp_path / "forms.csv", [header, *data], newline="\r\n")
    result = read(path, EXAMPLES / "surveys_google_forms.yaml")
    frame = ratings_of(result)
    assert result.file_format == "google_forms"
    assert frame[["rating_raw", "score", "favourable"]].values.tolist() == [
        [10.0, 100.0, True],
        [8.0, 80.0, False],
        [0.0, 0.0, False],
    ]
    assert reasons(result) == ["rating 11 outside scale 0-10"]
    assert frame["respondent_id"].nunique() == 2
    assert set(frame["period"]) == {"2026-10"}


def test_long_format_duplicates_and_comment(tmp_path: Path) -> None:
    header = [
        "respondent_id",
        "consumer_department",
        "provider",
        "dimension",
        "rating",
        "responded_at",
        "comment",
    ]
    data = [
        ["e1", "Sales", "Finance", "quality", "7", "2026-10-02", "Fast"],
        ["e1", "Sales", "Finance", "red_tape", "7", "2026-10-02", ""],
        ["e1", "Sales", "Finance", "quality", "1", "2026-10-02", ""],  # duplicate of row 2
        ["e2", "", "Finance", "quality", "4", "2026-10-02", ""],  # no department
        ["e3", "Sales", "Finance", "quality", "N/A", "2026-10-02", ""],
    ]
    path = write_csv(tmp_path / "long.csv", [header, *data])
    result = read(path, EXAMPLES / "surveys_long.yaml")
    frame = ratings_of(result)
    assert result.file_format == "long"
    assert frame[["dimension", "rating_raw", "score", "reversed"]].values.tolist() == [
        ["quality", 7.0, 100.0, False],
        ["red_tape", 7.0, 0.0, True],
    ]
    assert reasons(result) == [
        "missing respondent department",
        "second rating of Finance on quality by the same respondent in 2026-10 "
        "(first seen on row 2)",
    ]
    assert result.excluded_by_reason == {"no rating answered": 1}
    assert result.counts["rows_read"] == 5
    assert result.tables["survey_comments"]["comment_text"].tolist() == ["Fast"]


# --------------------------------------------------------------------------------------------
# Dates: configured order counts ambiguity, auto quarantines it
# --------------------------------------------------------------------------------------------


def _dated_long(tmp_path: Path, order: str) -> ParseResult:
    header = [
        "respondent_id",
        "consumer_department",
        "provider",
        "dimension",
        "rating",
        "responded_at",
    ]
    data = [
        ["a", "Sales", "IT", "q", "3", "03/04/2026"],
        ["b", "Sales", "IT", "q", "3", "25/04/2026"],
    ]
    path = write_csv(tmp_path / "dated.csv", [header, *data])
    mapping = tmp_path / "dated.mapping.yaml"
    mapping.write_text(
        yaml.safe_dump({"feed": "surveys", "format": "long", "scale": "1-5", "date_order": order})
    )
    return read(path, mapping)


def test_configured_date_order_reads_and_counts_ambiguous(tmp_path: Path) -> None:
    result = _dated_long(tmp_path, "DMY")
    assert result.ambiguous_dates == 1
    assert ratings_of(result)["responded_at"].tolist() == [
        pd.Timestamp("2026-04-03"),
        pd.Timestamp("2026-04-25"),
    ]
    assert result.quarantine.empty


def test_auto_date_order_quarantines_ambiguous(tmp_path: Path) -> None:
    result = _dated_long(tmp_path, "auto")
    assert ratings_of(result)["responded_at"].tolist() == [pd.Timestamp("2026-04-25")]
    assert reasons(result) == [
        "ambiguous date '03/04/2026' under date_order auto (day and month could be either way)"
    ]


# --------------------------------------------------------------------------------------------
# File-level problems: one message naming the file, the problem and the fix
# --------------------------------------------------------------------------------------------


def test_forced_wrong_format_names_the_layout_seen(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "monkey.csv", [SM_ROW1, SM_ROW2, ["1", "", "", "", "Sales"] + [""] * 6]
    )
    with pytest.raises(FileProblem) as err:
        read(path, None, file_format="qualtrics", feed="surveys")
    message = str(err.value)
    assert message.startswith(
        f"{path}: the file does not have the qualtrics layout that was forced"
    )
    assert "its header looks like surveymonkey" in message
    assert message.endswith("Fix: use --format surveymonkey")


def test_unknown_layout_says_what_was_seen(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "odd.csv", [["a", "b"], ["1", "2"]])
    mapping = tmp_path / "odd.mapping.yaml"
    mapping.write_text(
        "feed: surveys\nratings: [{column: a, provider: IT, dimension: q, scale: 1-5}]\n"
    )
    with pytest.raises(FileProblem) as err:
        read(path, mapping)
    # The shape of the rows, never their cells (an unrecognised file may be anything).
    assert (
        "the survey layout is not recognised (row 1 has [2 cells: text, text], "
        "row 2 has [2 cells: number, number])" in str(err.value)
    )
    assert "--format" in str(err.value)


def test_mapping_naming_missing_column(tmp_path: Path) -> None:
    path = qualtrics_file(tmp_path, [qualtrics_row("R_1", it=("5", "4", "2"))])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "feed": "surveys",
                "consumer_department": "Q_DEPARTMENT",
                "ratings": [
                    {"column": "Q_IT_1", "provider": "IT", "dimension": "q", "scale": "1-5"}
                ],
            }
        )
    )
    with pytest.raises(FileProblem) as err:
        read(path, mapping)
    message = str(err.value)
    assert message.startswith(
        f"{path}: the mapping {mapping} names column 'Q_DEPARTMENT' (key 'consumer_department')"
    )
    assert "similar columns: 'Q_DEPT'" in message
    assert "Fix: correct the column name in the mapping" in message


def test_mapping_pattern_matching_nothing(tmp_path: Path) -> None:
    path = qualtrics_file(tmp_path, [qualtrics_row("R_1", it=("5", "4", "2"))])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "feed": "surveys",
                "consumer_department": "Q_DEPT",
                "ratings": [{"pattern": "^QX_(?P<provider>.+)$", "dimension": "q", "scale": "1-5"}],
            }
        )
    )
    with pytest.raises(
        FileProblem,
        match=r"key 'ratings\[0\]\.pattern' \('\^QX_\(\?P<provider>\.\+\)\$'\) matches no "
        r"column",
    ):
        read(path, mapping)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(FileProblem, match="the file is empty. Fix: re-export"):
        read(path, EXAMPLES / "surveys_qualtrics.yaml")


def test_header_only_file_reads_zero_rows(tmp_path: Path) -> None:
    path = qualtrics_file(tmp_path, [])
    result = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    assert result.counts["rows_read"] == 0 and ratings_of(result).empty


@pytest.mark.parametrize(
    ("content", "key", "expected"),
    [
        (
            "feed: surveys\nratings: [{column: Q1, provider: X, dimension: d, scale: agree}]\n",
            "ratings[0].scale",
            "scale 'agree' is not defined under 'scales:'",
        ),
        (
            "feed: surveys\nscales: {s: {min: 5, max: 1}}\n",
            "scales.s",
            "scale max (1) must be above min (5)",
        ),
        (
            "feed: surveys\nratings: [{column: Q1, dimension: d, scale: 1-5}]\n",
            "ratings[0]",
            "the rule does not say which provider is rated",
        ),
        ("feed: surveys\ndate_order: DDMM\n", "date_order", "unknown date order 'DDMM'"),
        ("feed: surveys\nformat: jira\n", "format", "unknown format 'jira' for feed surveys"),
    ],
)
def test_mapping_errors_name_file_and_key(
    tmp_path: Path, content: str, key: str, expected: str
) -> None:
    mapping = tmp_path / "bad.mapping.yaml"
    mapping.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_mapping(mapping)
    assert str(err.value).startswith(f"{mapping} key '{key}': {expected}")
    assert "Fix: " in str(err.value)


def test_mapping_invalid_yaml(tmp_path: Path) -> None:
    mapping = tmp_path / "broken.yaml"
    mapping.write_text("feed: surveys\nratings: [\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: the mapping is not valid YAML at line \d"):
        load_mapping(mapping)


def test_huge_comment_is_quarantined_not_fatal(tmp_path: Path) -> None:
    huge = "x" * (10 * 1024 * 1024)
    path = qualtrics_file(
        tmp_path,
        [
            qualtrics_row("R_1", it=("5", "4", "2"), text=huge),
            qualtrics_row("R_2", it=("4", "4", "4"), text="ok"),
        ],
    )
    result = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    assert reasons(result) == [
        "comment of 10,485,760 characters is over the 10,000-character limit"
    ]
    assert len(result.quarantine["value"].iloc[0]) == 200
    assert result.tables["survey_comments"]["comment_text"].tolist() == ["ok"]
    assert len(ratings_of(result)) == 6  # both respondents' ratings go on


def test_every_example_mapping_loads() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("surveys_*.yaml"))
    assert names == [
        "surveys_csv.yaml",
        "surveys_google_forms.yaml",
        "surveys_limesurvey.yaml",
        "surveys_long.yaml",
        "surveys_qualtrics.yaml",
        "surveys_qualtrics_legacy.yaml",
        "surveys_surveymonkey.yaml",
    ]
    for path in EXAMPLES.glob("*.yaml"):
        assert load_mapping(path).feed in ("surveys", "tickets", "hr", "external"), path


# --------------------------------------------------------------------------------------------
# Real exports
# --------------------------------------------------------------------------------------------


def test_starwars_favourability_matrix(realdata_dir: Path) -> None:
    result = read(
        realdata_dir / "surveymonkey_fivethirtyeight" / "StarWars.csv",
        MAPPINGS / "starwars.mapping.yaml",
    )
    frame = ratings_of(result)
    assert (result.encoding, result.file_format) == ("cp1252", "surveymonkey")
    assert result.counts["rows_read"] == 1186
    assert frame["provider_department"].nunique() == 14
    assert len(frame) == 5166 + 2569 + 1647 + 654 + 641 - _starwars_dropped(result)
    # 'Unfamiliar (N/A)' answers are missing, never a low score: 852 in the file, 782 of them from
    # respondents who are kept or quarantined (the rest answered nothing else and are excluded).
    assert result.counts["ratings_not_applicable"] == 782
    assert frame["rating_raw"].between(1, 5).all()
    han = frame[frame["provider_department"] == "Han Solo"]
    assert han["favourable"].mean() > 0.85
    jar_jar = frame[frame["provider_department"] == "Jar Jar Binks"]
    assert jar_jar["score"].mean() < han["score"].mean()


def _starwars_dropped(result: ParseResult) -> int:
    """Answers of the 18 respondents quarantined for a missing census region."""
    layout = surveys.read_layout(decode_file(Path(result.source_file)))
    body = layout.body
    fav = [c for c in body.columns if c.startswith("Please state whether")]
    quarantined_rows = set(result.quarantine["source_row"])
    picked = body[np.isin(layout.source_rows, list(quarantined_rows))][fav]
    return int((~picked.isin(["", "Unfamiliar (N/A)"])).to_numpy().sum())


def test_steak_doneness_labels(realdata_dir: Path) -> None:
    result = read(
        realdata_dir / "surveymonkey_fivethirtyeight" / "steak-risk-survey.csv",
        MAPPINGS / "steak.mapping.yaml",
    )
    frame = ratings_of(result)
    assert result.counts["rows_read"] == 550
    # 430 answered the doneness question; 21 of them have no census region and are quarantined.
    assert result.counts["rows_kept"] == 411 and result.counts["rows_quarantined"] == 21
    assert frame["rating_raw"].value_counts().sort_index().to_dict() == {
        1.0: 22,
        2.0: 158,
        3.0: 126,
        4.0: 70,
        5.0: 35,
    }


def test_qualtrics_samples_current_and_legacy_agree(realdata_dir: Path) -> None:
    folder = realdata_dir / "qualtrics_qualtrics_pkg"
    current = read(folder / "sample.csv", MAPPINGS / "qualtrics_sample.mapping.yaml")
    legacy = read(folder / "sample_legacy.csv", MAPPINGS / "qualtrics_legacy_sample.mapping.yaml")
    columns = [c for c in RATING_COLUMNS if c not in ("source_file", "source_sha256", "source_row")]
    pd.testing.assert_frame_equal(ratings_of(current)[columns], ratings_of(legacy)[columns])
    assert ratings_of(current)["rating_raw"].tolist() == [2.0]
    assert ratings_of(current)["source_row"].tolist() == [4]
    assert ratings_of(legacy)["source_row"].tolist() == [3]
    assert current.tables["survey_comments"]["comment_text"].tolist() == ["Hello World!"]


# --------------------------------------------------------------------------------------------
# Dispatcher and discovery
# --------------------------------------------------------------------------------------------


def test_discover_exports_and_mapping_precedence(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / "surveys"
    folder.mkdir(parents=True)
    shared = folder / "mapping.yaml"
    shared.write_text((EXAMPLES / "surveys_qualtrics.yaml").read_text())
    qualtrics_file(folder, [qualtrics_row("R_1", it=("5", "4", "2"))], name="b.csv")
    qualtrics_file(folder, [qualtrics_row("R_1", it=("5", "4", "2"))], name="a.csv")
    own = folder / "a.mapping.yaml"
    own.write_text(shared.read_text())
    (landing / "tickets").mkdir()
    (landing / "tickets" / "notes.txt").write_text("not an export")
    found = discover_exports(landing)
    assert [
        (e.path.name, e.feed, e.mapping_path.name if e.mapping_path else None) for e in found
    ] == [("a.csv", "surveys", "a.mapping.yaml"), ("b.csv", "surveys", "mapping.yaml")]
    assert find_mapping(folder / "c.csv") == shared
    assert find_mapping(tmp_path / "x.csv") is None
    # The folder names the feed and the mapping is found beside the file: no arguments needed.
    result = read_export(folder / "b.csv", salt=SALT, now=NOW)
    assert result.feed == "surveys" and len(ratings_of(result)) == 3
    assert periods_in_export(folder / "b.csv", now=NOW) == ["2026-10"]


def test_compressed_validation_matches_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        qualtrics_row(f"R_{i}", it=(str(1 + i % 5), str(1 + (i * 7) % 5), "-1"), hr=str(1 + i % 3))
        for i in range(40)
    ]
    path = qualtrics_file(tmp_path, rows)
    full = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    monkeypatch.setattr(surveys, "FULL_VALIDATION_MAX_ROWS", 0)
    sampled = read(path, EXAMPLES / "surveys_qualtrics.yaml")
    pd.testing.assert_frame_equal(ratings_of(full), ratings_of(sampled))


def _large_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a small file take the enterprise-size path: sampled validation, categorical text."""
    from ice_pipeline.ingest import common

    monkeypatch.setattr(surveys, "FULL_VALIDATION_MAX_ROWS", 0)
    monkeypatch.setattr(common, "CATEGORICAL_MIN_ROWS", 0)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    from ice_pipeline.ingest.common import text_columns

    return text_columns(frame)


@pytest.mark.parametrize("layout", ["qualtrics", "surveymonkey", "google_forms"])
def test_large_path_gives_the_same_values_as_the_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    from ice_pipeline.demo.generator import generate_demo

    generate_demo(tmp_path, employees=120, periods=1, survey_format=layout)
    export = next(e for e in discover_exports(tmp_path) if e.feed == "surveys")
    small = read(export.path, export.mapping_path)
    _large_path(monkeypatch)
    large = read(export.path, export.mapping_path)
    big = ratings_of(large)
    text = ["period", "respondent_id", "provider_department", "dimension", "source_file"]
    assert all(isinstance(big[c].dtype, pd.CategoricalDtype) for c in text)
    assert all(ratings_of(small)[c].dtype == object for c in text)
    assert len(big) > 500
    pd.testing.assert_frame_equal(_as_text(big), ratings_of(small))
    assert large.counts == small.counts


def test_large_path_long_format_keeps_the_first_of_a_repeated_rating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = ["respondent_id", "consumer_department", "provider", "dimension", "rating"]
    data = [
        ["e1", "Sales", "Finance", "quality", "7"],
        ["e1", "Sales", "IT", "quality", "2"],
        ["e1", "Sales", "Finance", "quality", "1"],  # repeats row 2's provider and dimension
        ["e2", "Ops", "Finance", "red_tape", "3"],
        ["e2", "", "IT", "quality", "4"],  # no department: e2's record is quarantined
    ]
    header.append("responded_at")
    data = [[*row, "2026-10-02"] for row in data]
    path = write_csv(tmp_path / "long.csv", [header, *data])
    small = read(path, EXAMPLES / "surveys_long.yaml")
    _large_path(monkeypatch)
    large = read(path, EXAMPLES / "surveys_long.yaml")
    assert isinstance(ratings_of(large)["provider_department"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(_as_text(ratings_of(large)), ratings_of(small))
    assert ratings_of(small)[["provider_department", "rating_raw"]].values.tolist() == [
        ["Finance", 7.0],
        ["IT", 2.0],
        ["Finance", 3.0],
    ]
    pd.testing.assert_frame_equal(large.quarantine, small.quarantine)
    assert "second rating of Finance on quality" in " ".join(small.quarantine["reason"])


def test_compressed_validation_applies_a_failure_to_every_row_of_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = qualtrics_file(tmp_path, [qualtrics_row("R_1", it=("5", "4", "2"))])
    decoded = decode_file(path)
    frame = pd.DataFrame(
        {
            "period": ["2026-10"] * 4,
            "respondent_id": ["a", "b", "c", "d"],
            "provider_department": ["IT"] * 4,
            "dimension": ["q"] * 4,
            "consumer_department": ["Sales"] * 4,
            "rating_raw": [5.0, 5.0, 3.0, 3.0],
            "scale_min": [1.0] * 4,
            "scale_max": [5.0] * 4,
            "reversed": [False] * 4,
            "score": [150.0, 150.0, 50.0, 50.0],  # a (deliberately) wrong score for the answer '5'
            "favourable": [True, True, False, False],
            "responded_at": [pd.Timestamp("2026-10-01")] * 4,
            "source_file": [str(path)] * 4,
            "source_sha256": [decoded.sha256] * 4,
            "source_row": [4, 5, 6, 7],
            "source_column": ["Q_IT_1"] * 4,
            "source_answer": [1, 1, 2, 2],
        }
    )
    monkeypatch.setattr(surveys, "FULL_VALIDATION_MAX_ROWS", 0)
    good, bad = surveys._validate_ratings(decoded, frame)
    assert good["respondent_id"].tolist() == ["c", "d"]
    assert sorted(bad["source_row"].tolist()) == [4, 5]
    assert set(bad["column_name"]) == {"Q_IT_1 (score)"}


# --------------------------------------------------------------------------------------------
# The demo generator's four survey layouts give the same canonical rows
# --------------------------------------------------------------------------------------------


def _demo_survey_tables(
    out: Path, layout: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    from ice_pipeline.demo.generator import generate_demo

    generate_demo(out, employees=300, periods=2, survey_format=layout)
    results = [
        read_export(e.path, mapping_path=e.mapping_path, salt=SALT, now=datetime(2027, 1, 1))
        for e in discover_exports(out)
        if e.feed == "surveys"
    ]
    assert len(results) == 2 and all(r.file_format == layout for r in results)
    assert all(r.quarantine.empty for r in results)
    ratings = pd.concat([r.tables["survey_ratings"] for r in results], ignore_index=True)
    comments = pd.concat([r.tables["survey_comments"] for r in results], ignore_index=True)
    kept = {"rows_kept": sum(r.counts["rows_kept"] for r in results)}
    return ratings, comments, kept


def test_demo_layouts_give_the_same_canonical_rows(tmp_path: Path) -> None:
    pytest.importorskip("ice_pipeline.demo.generator")
    rating_key = ["period", "respondent_id", "provider_department", "dimension"]
    rating_columns = [
        c for c in RATING_COLUMNS if c not in ("source_file", "source_sha256", "source_row")
    ]
    comment_columns = [
        "period",
        "respondent_id",
        "provider_department",
        "consumer_department",
        "comment_text",
    ]
    baseline = _demo_survey_tables(tmp_path / "qualtrics", "qualtrics")
    base_ratings = baseline[0][rating_columns].sort_values(rating_key).reset_index(drop=True)
    base_comments = (
        baseline[1][comment_columns].sort_values(comment_columns[:3]).reset_index(drop=True)
    )
    assert len(base_ratings) > 1000 and len(base_comments) > 10
    for layout in ("surveymonkey", "limesurvey", "google_forms"):
        ratings, comments, kept = _demo_survey_tables(tmp_path / layout, layout)
        assert kept == baseline[2], layout
        pd.testing.assert_frame_equal(
            ratings[rating_columns].sort_values(rating_key).reset_index(drop=True),
            base_ratings,
            obj=layout,
        )
        pd.testing.assert_frame_equal(
            comments[comment_columns].sort_values(comment_columns[:3]).reset_index(drop=True),
            base_comments,
            obj=layout,
        )


def test_generic_csv_survey_with_the_example_mapping(tmp_path: Path) -> None:
    header = [
        "Employee code",
        "Submitted",
        "Department",
        "Employee name",
        "IT support was quick",
        "Payroll questions were answered correctly",
        "Anything else about IT?",
    ]
    data = [
        ["E1", "03/10/2026 09:00", "Sales", "Ann Example", "Agree", "Strongly agree", ""],
        [
            "E2",
            "25/10/2026 09:00",
            "Sales",
            "Bob Example",
            "Neutral",
            "",
            "Printer <script>x</script>",
        ],
    ]
    path = write_csv(tmp_path / "cleaned.csv", [header, *data])
    result = read(path, EXAMPLES / "surveys_csv.yaml")
    frame = ratings_of(result)
    assert result.file_format == "csv"
    assert frame[["provider_department", "rating_raw", "score"]].values.tolist() == [
        ["Information Technology", 4.0, 75.0],
        ["Finance", 5.0, 100.0],
        ["Information Technology", 3.0, 50.0],
    ]
    assert frame["responded_at"].iloc[0] == pd.Timestamp("2026-10-03 09:00")  # DMY
    assert result.ambiguous_dates == 1  # 03/10 could be 10 March
    assert "Employee name" not in result.columns_unmapped + result.columns_mapped
    assert "Ann Example" not in frame.to_csv()
    assert result.tables["survey_comments"]["comment_text"].tolist() == [
        "Printer <script>x</script>"
    ]


def test_unknown_layout_without_ratings_is_described_not_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "odd.csv", [["a", "b"], ["1", "2"], ["3", "4"]])
    result = read(path, None, feed="surveys")
    assert (result.file_format, result.counts["rows_read"], result.columns_unmapped) == (
        "csv",
        2,
        ["a", "b"],
    )
    assert ratings_of(result).empty


def test_documented_survey_mapping_is_valid(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "mappings.md").read_text()
    block = docs.split("### Keys", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "documented.mapping.yaml"
    path.write_text(block)
    mapping = load_mapping(path)
    typed = surveys.survey_mapping(mapping)
    assert [r.key for r in typed.ratings] == ["ratings[0]", "ratings[1]"]
    assert typed.scales["fav5"].labels[-1] == "Very favorably"
    assert "Unfamiliar (N/A)" in typed.not_applicable
