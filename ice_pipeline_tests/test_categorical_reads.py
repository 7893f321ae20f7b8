"""Reading survey_ratings with categorical text (``read_frame(categorical=...)``) changes no result.

The ingest hands the index and the expectation suite categoricals for big frames, and
``read_frame`` can read text back as categoricals (the benchmarks' "before" reads do); these
tests hold that every score, interval, trend and check outcome is the same as from the plain
read, on both engines.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.scoring import add_trend, compute_period_scores
from ice_pipeline.ingest.common import text_columns
from ice_pipeline.ingest.expectations import run_suite
from ice_pipeline.ingest.feeds import discover_exports, read_export
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import read_frame, replace_partition

SALT = "test-salt"
# Every repeated text column of survey_ratings (source_row and the numbers stay as they are).
CATEGORICAL = (
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "source_file",
    "source_sha256",
)


@pytest.fixture
def loaded(warehouse_url: str, tmp_path: Path) -> Iterator[tuple[sqlalchemy.Engine, list[str]]]:
    generate_demo(tmp_path / "landing", employees=300, periods=2)
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    periods: list[str] = []
    for export in discover_exports(tmp_path / "landing"):
        if export.feed != "surveys":
            continue
        result = read_export(
            export.path, mapping_path=export.mapping_path, salt=SALT, now=datetime(2030, 1, 1)
        )
        ratings = result.tables["survey_ratings"]
        for period, rows in ratings.groupby("period"):
            replace_partition(engine, schema.survey_ratings, rows, {"period": period})
            periods.append(str(period))
    yield engine, sorted(periods)
    engine.dispose()


def _reads(engine: sqlalchemy.Engine, period: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    where = {"period": period}
    plain = read_frame(engine, schema.survey_ratings, where=where)
    categorical = read_frame(engine, schema.survey_ratings, where=where, categorical=CATEGORICAL)
    return plain, categorical


def test_categorical_read_holds_the_same_values(
    loaded: tuple[sqlalchemy.Engine, list[str]],
) -> None:
    engine, periods = loaded
    plain, categorical = _reads(engine, periods[-1])
    assert len(plain) > 1000
    for column in CATEGORICAL:
        dtype = categorical[column].dtype
        assert isinstance(dtype, pd.CategoricalDtype), column
        assert list(dtype.categories) == sorted(dtype.categories), column
    pd.testing.assert_frame_equal(text_columns(categorical), plain)


def test_scores_and_trend_are_the_same_from_a_categorical_read(
    loaded: tuple[sqlalchemy.Engine, list[str]],
) -> None:
    engine, periods = loaded
    assert len(periods) == 2
    config = IndexConfig()
    before_plain, before_cat = _reads(engine, periods[0])
    now_plain, now_cat = _reads(engine, periods[1])
    results = []
    for before, now in ((before_plain, now_plain), (before_cat, now_cat)):
        previous = compute_period_scores(before, None, config)
        tables = compute_period_scores(now, None, config)
        for name in ("ice_scores", "company_scores"):
            tables[name] = add_trend(tables[name], previous[name], now, before, config)
        results.append(tables)
    plain_tables, categorical_tables = results
    assert set(plain_tables) == set(categorical_tables)
    for name, frame in plain_tables.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(text_columns(categorical_tables[name]), frame, obj=name)
    assert plain_tables["ice_scores"]["ice_p_change"].notna().any()


def test_expectation_outcomes_are_the_same_from_a_categorical_read(
    loaded: tuple[sqlalchemy.Engine, list[str]], tmp_path: Path
) -> None:
    engine, periods = loaded
    before_plain, before_cat = _reads(engine, periods[0])
    now_plain, now_cat = _reads(engine, periods[1])
    departments = set(now_plain["consumer_department"]) | set(now_plain["provider_department"])
    outcomes = [
        run_suite(
            "survey_ratings",
            now,
            previous=before,
            known_departments=departments - {sorted(departments)[0]},  # one unknown: a failure
            period=periods[1],
            gx_dir=tmp_path / "gx",
        )
        for before, now in ((before_plain, now_plain), (before_cat, now_cat))
    ]
    plain, categorical = ([(o.check_name, o.passed, o.metadata) for o in run] for run in outcomes)
    assert plain == categorical
    assert any(not passed for _, passed, _ in plain) and any(passed for _, passed, _ in plain)


def test_categorical_read_in_small_batches_holds_the_same_values(
    loaded: tuple[sqlalchemy.Engine, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB results are encoded batch by batch and the batches' dictionaries unified.
    from ice_pipeline.warehouse import writes

    engine, periods = loaded
    monkeypatch.setattr(writes, "_READ_BATCH_ROWS", 97)
    plain, categorical = _reads(engine, periods[-1])
    assert len(plain) > 10 * 97
    pd.testing.assert_frame_equal(text_columns(categorical), plain)
    empty = read_frame(
        engine,
        schema.survey_ratings,
        where={"period": "1999-01"},
        categorical=CATEGORICAL,
    )
    assert empty.empty and list(empty.columns) == list(plain.columns)
