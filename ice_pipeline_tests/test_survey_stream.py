"""The survey_tables step's DuckDB path gives the rows and codes of the pandas reference.

The reference is the frame path: ``corrections.survey_responses_for_period`` (the replacement
rule and the per-key net), ``names.apply_names`` and ``writes_surveys.encode``/``keyed``.
"""

from pathlib import Path

import pytest

from ice_pipeline.cache import ParseCache, parse_feed
from ice_pipeline.ingest.corrections import survey_responses_for_period
from ice_pipeline.ingest.names import apply_names
from ice_pipeline.ingest.survey_period_sql import COLUMNS, TABLE, stage_ratings
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.bulk import _frame_to_arrow
from ice_pipeline.warehouse.writes_surveys import encode
from ice_pipeline.warehouse.writes_surveys_stream import _code, _problems, _select
from ice_pipeline_tests.test_ingest_strict import COMMENT_COLUMNS, NOW, SALT, long_file

NAMES = {"departments": {"Sales": "Sales Team", "IT": "Information Technology"}}


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    folder = landing / "surveys"
    original = [
        f"R{i},{'Sales' if i % 2 else 'Finance'},{p},{d},{1 + (i + len(p)) % 5},2026-03-02"
        for i in range(1, 7)
        for p in ("IT", "HR")
        for d in ("quality", "speed")
    ]
    corrected = [f"R{i},Operations,IT,quality,5,2026-03-03" for i in (1, 2, 3)] + [
        "R9,Operations,HR,speed,4,2026-03-03"
    ]
    # A third file repeats R9's key (the later row wins) and adds R4 again (replaces R4).
    third = ["R9,Operations,HR,speed,2,2026-03-05", "R4,Sales,IT,speed,1,2026-03-05"]
    long_file(folder, "wave_2026-03-01.csv", original)
    long_file(folder, "wave_2026-03-20.csv", corrected)
    long_file(folder, "wave_2026-03-25.csv", third)
    return landing


def test_staged_rows_and_codes_equal_the_pandas_reference(tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    parses = parses.parses
    reference = survey_responses_for_period(parses, "2026-03", COLUMNS, COMMENT_COLUMNS)
    frame = apply_names(reference.ratings.frame, NAMES)
    staged = stage_ratings(parses, "2026-03", NAMES, tmp_path / "staging")
    assert staged is not None
    try:
        assert reference.responses_replaced > 0 and reference.ratings_replaced > 0
        assert (staged.rows, staged.files, staged.duplicates_dropped) == (
            len(frame),
            reference.ratings.files,
            reference.ratings.duplicates_dropped,
        )
        assert (staged.responses_replaced, staged.ratings_replaced) == (
            reference.responses_replaced,
            reference.ratings_replaced,
        )
        got = staged.con.execute(f"SELECT * EXCLUDE (ord) FROM {TABLE} ORDER BY ord").df()  # noqa: S608
        expected = frame.astype(object).reset_index(drop=True)
        assert got.astype(object).to_dict("records") == expected.to_dict("records")
        assert _problems(staged.con, "2026-03") == []
        _code(staged.con)
        rows = _frame_to_arrow(schema.survey_ratings, frame, {"period": "2026-03"})
        for table, want in zip(
            (schema.survey_responses, schema.survey_items, schema.survey_answers),
            encode(rows).keyed(100, 7),
            strict=True,
        ):
            have = staged.con.execute(_select(table, 100, 7)).to_arrow_table()
            assert have.select(want.column_names).to_pylist() == want.to_pylist()
    finally:
        staged.close()


@pytest.mark.parametrize("period", ["2026-03", "2026-04"])
def test_a_check_the_writer_refuses_is_found(tmp_path: Path, period: str) -> None:
    landing = tmp_path / "landing"
    # Two providers that the names make one: a repeated key, which the frame path refuses.
    long_file(
        landing / "surveys",
        "a.csv",
        ["R1,Sales,IT,quality,4,2026-03-02", "R1,Sales,HR,quality,2,2026-03-02"],
    )
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    names = {"departments": {"IT": "HR"}}
    staged = stage_ratings(parses.parses, "2026-03", names, tmp_path / "staging")
    assert staged is not None
    try:
        expected = ["repeated keys"] if period == "2026-03" else ["outside", "repeated keys"]
        assert _problems(staged.con, period) == expected
    finally:
        staged.close()


def test_no_rows_of_the_period(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    long_file(landing / "surveys", "a.csv", ["R1,Sales,IT,quality,4,2026-03-02"])
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    staged = stage_ratings(parses.parses, "2026-05", {}, tmp_path / "staging")
    assert staged is not None
    try:
        assert (staged.rows, staged.files, staged.summary()[:2]) == (0, 0, (0, 0))
        described = staged.con.execute(f"SELECT * FROM {TABLE}").description  # noqa: S608
        assert [column[0] for column in described] == [*COLUMNS, "ord"]
    finally:
        staged.close()
