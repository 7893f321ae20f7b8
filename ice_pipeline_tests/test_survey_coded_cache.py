"""A staged survey parse is cached coded, and every reader of it gets today's rows (issue 13).

The parse cache stores a staged wide export's answers as integers with responses and items
apart (ingest/survey_coded.py). The long rows rebuilt from it must equal the staged table, and
``survey_tables``' coded path (ingest/survey_period_coded.py) must give the rows and codes of the
pandas reference (corrections, names, ``writes_surveys.encode``) with corrected re-exports and
with a long (pandas-parsed) file in the same period.
"""

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.cache import ParseCache, parse_feed
from ice_pipeline.demo.generator import generate_enterprise_month
from ice_pipeline.ingest.common import raw_tables
from ice_pipeline.ingest.corrections import survey_responses_for_period
from ice_pipeline.ingest.feeds import read_export
from ice_pipeline.ingest.names import apply_names
from ice_pipeline.ingest.survey_coded import WIDE_COLUMNS, read_wide, source_rows
from ice_pipeline.ingest.survey_period_sql import COLUMNS, stage_ratings
from ice_pipeline.ingest.survey_ratings import RATING_COLUMNS
from ice_pipeline.ingest.survey_stage import StagedTable
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.bulk import _frame_to_arrow
from ice_pipeline.warehouse.writes_surveys import encode
from ice_pipeline.warehouse.writes_surveys_stream import _checks, _select
from ice_pipeline_tests.test_ingest_strict import COMMENT_COLUMNS, NOW, SALT, long_file

EMPLOYEES = 400
NAMES = {
    "departments": {"Information Technology": "IT Services", "Finance": "Finance Office"},
    "dimensions": {},
}


@pytest.fixture
def staged_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small exports staged (and validated by sample) as an enterprise month's are."""
    from ice_pipeline.ingest import surveys

    monkeypatch.setattr(surveys, "STAGE_MIN_CELLS", 0)
    monkeypatch.setattr(surveys, "FULL_VALIDATION_MAX_ROWS", 0)


def _wave(landing: Path) -> tuple[Path, str]:
    generate_enterprise_month(landing, EMPLOYEES, seed=11)
    wave = next((landing / "surveys").glob("*.csv"))
    return wave, wave.stem.rsplit("_", 1)[1]


def _correction(wave: Path, name: str, rows: int) -> None:
    """A later export with the first ``rows`` responses again, every answer changed."""
    lines = list(csv.reader(io.StringIO(wave.read_text(encoding="utf-8-sig"))))
    header, body = lines[:3], lines[3 : 3 + rows]
    rating = [i for i, c in enumerate(header[0]) if c.startswith("Q_") and c[-1].isdigit()]
    for line in body:
        for i in rating:
            if line[i].strip().isdigit():
                line[i] = str(6 - int(line[i]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(header + body)
    wave.with_name(name).write_text(out.getvalue(), encoding="utf-8")


def test_the_coded_files_rebuild_the_staged_rows(staged_always: None, tmp_path: Path) -> None:
    assert [name for name, _ in WIDE_COLUMNS] == RATING_COLUMNS
    wave, period = _wave(tmp_path / "landing")
    result = read_export(wave, feed="surveys", salt=SALT, now=NOW)
    assert isinstance(raw_tables(result.tables)["survey_ratings"], StagedTable)
    cached = ParseCache(tmp_path / "cache").put("sha", "ctx", result)
    assert cached.meta["tables"]["survey_ratings"]["layout"] == "coded"
    folder = cached.coded_folder("survey_ratings", period)
    assert folder is not None and cached.table_file("survey_ratings", period) is None
    frame = result.tables["survey_ratings"]
    rebuilt = cached.table("survey_ratings", period)
    assert rebuilt is not None and len(rebuilt) == len(frame) > 0
    pd.testing.assert_frame_equal(
        rebuilt.astype(object), frame.astype(object), check_dtype=False, check_exact=True
    )
    assert sorted(source_rows(folder)) == sorted(frame["source_row"].unique())
    assert isinstance(read_wide(folder)["respondent_id"].dtype, pd.CategoricalDtype)


def _assert_equals_reference(parses: list, period: str, tmp_path: Path, coded: bool) -> None:
    reference = survey_responses_for_period(parses, period, COLUMNS, COMMENT_COLUMNS)
    frame = apply_names(reference.ratings.frame, NAMES)
    assert (reference.responses_replaced > 0) == coded  # the correction replaced responses
    assert frame["provider_department"].eq("IT Services").any()  # and the names apply
    staged = stage_ratings(parses, period, NAMES, tmp_path / "staging")
    assert staged is not None and staged.coded == coded
    try:
        assert (staged.rows, staged.files, staged.duplicates_dropped) == (
            len(frame),
            reference.ratings.files,
            reference.ratings.duplicates_dropped,
        )
        assert (staged.responses_replaced, staged.ratings_replaced) == (
            reference.responses_replaced,
            reference.ratings_replaced,
        )
        if coded:
            from ice_pipeline.ingest.survey_period_coded import code_coded, coded_problems
            from ice_pipeline.warehouse.writes_surveys import ITEM_COLUMNS, RESPONSE_COLUMNS

            assert coded_problems(staged.con, period, _checks(period)) == []
            assert coded_problems(staged.con, "1999-01", _checks("1999-01")) == ["outside"]
            before = staged.summary()  # before the coding: the same figures another way
            code_coded(staged.con, period, RESPONSE_COLUMNS, ITEM_COLUMNS)
        else:
            from ice_pipeline.warehouse.writes_surveys_stream import _code

            _code(staged.con)
        rows = _frame_to_arrow(schema.survey_ratings, frame, {"period": period})
        for table, want in zip(
            (schema.survey_responses, schema.survey_items, schema.survey_answers),
            encode(rows).keyed(100, 7),
            strict=True,
        ):
            have = staged.con.execute(_select(table, 100, 7)).to_arrow_table()
            assert have.select(want.column_names).to_pylist() == want.to_pylist(), table.name
        respondents, providers, preview = staged.summary()
        assert respondents == frame["respondent_id"].nunique()
        assert providers == frame["provider_department"].nunique()
        want = frame.groupby("provider_department", observed=True)["respondent_id"].nunique()
        assert dict(zip(preview["provider_department"], preview["respondents"], strict=True)) == {
            str(k): int(v) for k, v in want.items()
        }
        if coded:
            assert before[:2] == (respondents, providers) and before[2].equals(preview)
    finally:
        staged.close()


def test_coded_period_equals_the_pandas_reference(staged_always: None, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    wave, period = _wave(landing)
    _correction(wave, f"{wave.stem}_z_correction.csv", 30)
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    assert len(parses.parses) == 2 and not parses.problems
    assert all(p.coded_folder("survey_ratings", period) for p in parses.parses)
    _assert_equals_reference(parses.parses, period, tmp_path, coded=True)


def test_a_long_file_beside_a_coded_one(staged_always: None, tmp_path: Path) -> None:
    """A period with a long file (its own mapping) too: the long path, coded parses rebuilt."""
    landing = tmp_path / "landing"
    _, period = _wave(landing)
    day = f"{period}-03"
    long_file(
        landing / "surveys",
        "zz_extra.csv",
        [f"X{i},Finance,Information Technology,quality,{1 + i % 5},{day}" for i in range(9)],
    )
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    assert len(parses.parses) == 2 and not parses.problems
    _assert_equals_reference(parses.parses, period, tmp_path, coded=False)


def test_a_repeated_key_after_the_names_is_refused(staged_always: None, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _, period = _wave(landing)
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    merged = {"departments": {"Finance": "Information Technology"}}
    staged = stage_ratings(parses.parses, period, merged, tmp_path / "staging")
    assert staged is not None and staged.coded
    try:
        from ice_pipeline.ingest.survey_period_coded import coded_problems

        assert coded_problems(staged.con, period, _checks(period)) == ["repeated keys"]
    finally:
        staged.close()


def test_survey_tables_writes_the_coded_period(
    staged_always: None, tmp_path: Path, warehouse_url: str
) -> None:
    """The coded parses streamed to the warehouse: the view gives the reference's rows."""
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import read_frame
    from ice_pipeline.warehouse.writes_surveys_stream import replace_staged_period

    landing = tmp_path / "landing"
    wave, period = _wave(landing)
    _correction(wave, f"{wave.stem}_z_correction.csv", 30)
    parses = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt=SALT, now=NOW)
    reference = survey_responses_for_period(parses.parses, period, COLUMNS, COMMENT_COLUMNS)
    expected = apply_names(reference.ratings.frame, NAMES)
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    staged = stage_ratings(parses.parses, period, NAMES, tmp_path / "staging")
    assert staged is not None and staged.coded
    try:
        assert replace_staged_period(engine, staged, period, None) == len(expected)
        got = read_frame(engine, schema.survey_ratings, where={"period": period})
    finally:
        staged.close()
        engine.dispose()
    order = ["source_sha256", "source_row", "provider_department", "dimension"]
    have = got[COLUMNS].astype(object).sort_values(order).reset_index(drop=True)
    want = expected[COLUMNS].astype(object).sort_values(order).reset_index(drop=True)
    have["responded_at"] = pd.to_datetime(have["responded_at"])
    want["responded_at"] = pd.to_datetime(want["responded_at"])
    pd.testing.assert_frame_equal(have, want, check_dtype=False)
