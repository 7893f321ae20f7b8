"""The survey parse's hot path runs in DuckDB (issue 13, items 1 and 7).

A wide export's answers are unpivoted, classified and scored in SQL; the long ratings table
stays in DuckDB (a StagedTable) and the parse cache writes it with COPY. These tests fail if the
long table becomes a pandas frame on the asset path, or if the SQL classification drifts from
the Python classifier (values.classify_answers) it takes its lookup from.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.cache import ParseCache
from ice_pipeline.demo.generator import generate_enterprise_month
from ice_pipeline.ingest.common import decode_file, raw_tables
from ice_pipeline.ingest.feeds import read_export
from ice_pipeline.ingest.fixed import ExtraHeader
from ice_pipeline.ingest.mapping import find_mapping, load_mapping, survey_mapping
from ice_pipeline.ingest.survey_columns import resolve_columns
from ice_pipeline.ingest.survey_sql import classify_wide
from ice_pipeline.ingest.survey_stage import StagedTable, stage_layout
from ice_pipeline.ingest.values import classify_answers

# 9,000 respondents x 25 rating columns: above surveys.FULL_VALIDATION_MAX_ROWS, so the
# ratings are validated through representative rows and never leave DuckDB.
EMPLOYEES = 9_000


@pytest.fixture(scope="module")
def wave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("stage")
    generate_enterprise_month(landing, EMPLOYEES, seed=7)
    return next((landing / "surveys").glob("*.csv"))


def test_wide_ratings_stay_in_duckdb_and_cache_writes_them(wave: Path, tmp_path: Path) -> None:
    result = read_export(wave, feed="surveys", salt="s")
    staged = raw_tables(result.tables)["survey_ratings"]
    assert isinstance(staged, StagedTable), "the long ratings table became a pandas frame"
    assert len(staged) == result.counts["ratings"] > 200_000
    cached = ParseCache(tmp_path).put("sha", "ctx", result)
    # The cache wrote it with COPY: still staged after the put, and every row is in Parquet.
    assert isinstance(raw_tables(result.tables)["survey_ratings"], StagedTable)
    periods = cached.table_periods("survey_ratings")
    stored = pd.concat([cached.table("survey_ratings", p) for p in periods])
    assert len(stored) == result.counts["ratings"]
    assert stored["respondent_id"].nunique() == result.counts["respondents"]
    # Materialised on demand: the same rows, in (record, column) order.
    frame = result.tables["survey_ratings"]
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(stored)
    assert frame["source_row"].is_monotonic_increasing
    assert frame["score"].between(0, 100).all()
    assert sorted(stored["source_row"].tolist()) == frame["source_row"].tolist()
    # Read back with the text as categoricals, as the pandas-written cache was: DuckDB writes
    # plain strings, and 3M answers as Python strings cost survey_tables seconds and gigabytes.
    for column in ("respondent_id", "provider_department", "dimension", "consumer_department"):
        assert isinstance(stored[column].dtype, pd.CategoricalDtype), column
    assert set(stored["respondent_id"].astype(str)) == set(frame["respondent_id"].astype(str))


def test_sql_classification_equals_python_classifier(wave: Path) -> None:
    decoded = decode_file(wave)
    mapping_path = find_mapping(wave)
    assert mapping_path is not None
    mapping = load_mapping(mapping_path)
    sm = survey_mapping(mapping)
    staged = stage_layout(decoded, None, allow_unknown=False, skipped=0, extra=ExtraHeader(0))
    cols = resolve_columns(decoded, sm, mapping, staged.file_format, staged.columns)
    staged.load([r.column for r in cols.ratings])
    # Odd answers the generator does not write, classified by both paths.
    first = staged.sql_names[cols.ratings[0].column]
    odd = ["N/A", "abc", "11", "3.5", " 4 ", "", "٣"]
    for i, value in enumerate(odd):
        staged.con.execute(f"UPDATE body SET {first} = ? WHERE _rec = ?", [value, i])
    classify_wide(staged, cols, sm)
    got = staged.con.execute(
        "SELECT DISTINCT i.scale, c.raw, c.state, c.value, c.reason FROM classified c "
        "JOIN items i USING (item)"
    ).df()
    scales = list({id(r.scale): r.scale for r in cols.ratings}.values())
    uniques = got["raw"].to_numpy(dtype=object)
    values, states, reasons = classify_answers(uniques, scales, sm.not_applicable)
    scale = got["scale"].to_numpy()
    at = np.arange(len(got))
    assert (got["state"].to_numpy() == states[scale, at]).all()
    assert np.allclose(got["value"].to_numpy(float), values[scale, at], equal_nan=True)
    assert got["reason"].where(got["reason"].notna(), None).tolist() == list(reasons[scale, at])
    assert set(odd) <= set(got["raw"])


@pytest.mark.slow
def test_parse_peak_memory_is_bounded(wave: Path) -> None:
    """The parse of the wave (in a fresh interpreter) peaks far below the pandas long table."""
    script = textwrap.dedent(
        f"""
        import resource
        from pathlib import Path
        from ice_pipeline.ingest.feeds import read_export
        import ice_pipeline.ingest.validation  # imports counted in the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        read_export(Path({str(wave)!r}), feed="surveys", salt="s")
        print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    before, after = (int(v) for v in done.stdout.split())
    grown_mb = (after - before) / 1024
    size_mb = wave.stat().st_size / 1e6
    # Measured: ~60-90 MB for a 2.7 MB wave (DuckDB's own buffers included); the pandas long
    # table alone was ~25 columns x 225k rows. The bound leaves room for a loaded machine.
    assert grown_mb < 60 * size_mb + 150, f"parse grew RSS by {grown_mb:.0f} MB"


def test_small_and_large_wide_paths_give_the_same_parse(
    wave: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small wide exports are read in pandas (cheaper than staging); both paths agree."""
    from ice_pipeline.ingest import surveys

    staged = read_export(wave, feed="surveys", salt="s")
    assert isinstance(raw_tables(staged.tables)["survey_ratings"], StagedTable)
    monkeypatch.setattr(surveys, "STAGE_MIN_CELLS", 10**9)
    in_pandas = read_export(wave, feed="surveys", salt="s")
    assert isinstance(raw_tables(in_pandas.tables)["survey_ratings"], pd.DataFrame)
    assert staged.counts == in_pandas.counts
    assert staged.excluded_by_reason == in_pandas.excluded_by_reason
    for name, order in (
        ("survey_ratings", ["source_row", "provider_department", "dimension"]),
        ("survey_comments", ["source_row", "provider_department"]),
    ):
        pd.testing.assert_frame_equal(
            # Sorted as text: the two paths order their categoricals' categories differently.
            staged.tables[name].astype(object).sort_values(order).reset_index(drop=True),
            in_pandas.tables[name].astype(object).sort_values(order).reset_index(drop=True),
        )
    assert len(staged.tables["survey_ratings"]) > 200_000


def test_body_is_read_in_chunks_and_text_released_only_when_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 7: the body reaches Arrow a chunk at a time (no copy of the whole text);
    chunks that split accented text change nothing, and the text is dropped once staged only
    when the caller handed it over (feeds.read_export), never for a caller that keeps it.
    """
    from ice_pipeline.ingest import survey_stage

    path = tmp_path / "pulse.csv"
    lines = ["ResponseId,Q_DEPT,Comment"] + [f"R{i},{i % 3},Très bien ☕ {i}" for i in range(50)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = stage_layout(
        decode_file(path), "csv", allow_unknown=True, skipped=0, extra=ExtraHeader(0)
    )
    monkeypatch.setattr(survey_stage, "BODY_CHUNK_CHARS", 7)
    decoded = decode_file(path)
    chunked = stage_layout(decoded, "csv", allow_unknown=True, skipped=0, extra=ExtraHeader(0))
    assert decoded.text, "a caller's own DecodedFile keeps its text"
    columns = ["ResponseId", "Q_DEPT", "Comment"]
    pd.testing.assert_frame_equal(chunked.frame(columns), whole.frame(columns))
    assert chunked.frame(columns)["Comment"].iloc[49] == "Très bien ☕ 49"
    assert (chunked.source_rows == whole.source_rows).all()
    decoded.disposable = True
    stage_layout(decoded, "csv", allow_unknown=True, skipped=0, extra=ExtraHeader(0))
    assert decoded.text == ""
    assert survey_stage._blank_from(" \n\t \r\n" * 5, 2)
    assert not survey_stage._blank_from(" \n\t x" * 5, 2)
