"""An export cut off mid-record fails as a whole file, for every feed's reader, instead of its
last record being scored as if it were complete; an intact file without a final newline is fine."""

from pathlib import Path

import pytest

from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import decode_file, read_csv_rows
from ice_pipeline.ingest.feeds import read_export


@pytest.fixture(scope="module")
def survey_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("trunc") / "landing"
    generate_demo(landing, employees=200, periods=1)
    return sorted((landing / "surveys").glob("ice_pulse_*.csv"))[0]


def _copy(source: Path, name: str, data: bytes) -> Path:
    target = source.with_name(name)
    target.write_bytes(data)
    mapping = source.with_name("mapping.yaml")
    target.with_name(target.stem + ".mapping.yaml").write_bytes(mapping.read_bytes())
    return target


def test_survey_cut_inside_a_quoted_comment_is_refused(survey_export: Path) -> None:
    data = survey_export.read_bytes()
    opening = data.rfind(b',"', 0, len(data) - 200)
    cut = _copy(survey_export, "cut_in_quote.csv", data[: opening + 5])
    with pytest.raises(FileProblem, match="ends inside a quoted field.*Fix: export or copy"):
        read_export(cut, salt="s")


def test_intact_survey_without_final_newline_is_read(survey_export: Path) -> None:
    data = survey_export.read_bytes().rstrip(b"\r\n")
    whole = read_export(survey_export, salt="s")
    intact = read_export(_copy(survey_export, "no_newline.csv", data), salt="s")
    assert intact.counts["rows_read"] == whole.counts["rows_read"] > 50
    assert len(intact.tables["survey_ratings"]) == len(whole.tables["survey_ratings"])


def test_generic_csv_cut_mid_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    header = "number,opened_at,assignment_group\nINC1,01-10-2026 09:00,Service Desk"
    path.write_text(header + "\nINC2,02-1")
    with pytest.raises(FileProblem, match="has 2 of 3 fields"):
        read_csv_rows(decode_file(path))
    path.write_text(header)
    assert len(read_csv_rows(decode_file(path))) == 2
