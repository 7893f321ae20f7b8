"""The coded long table (issue 13 item 2): answers with integer keys, the survey_ratings view.

Rows written through ``replace_partition(engine, schema.survey_ratings, ...)`` land in
survey_responses / survey_items / survey_answers and come back through the view exactly as
written, on both engines; migration 0008_coded moves existing rows and its downgrade restores
the table; nothing of the coded tables reaches analysts.
"""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from ice_pipeline.warehouse import schema, writes_surveys
from ice_pipeline.warehouse.analyst_file import export_analyst_file
from ice_pipeline.warehouse.bulk import _bulk_insert, _frame_to_arrow
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import MIGRATIONS_DIR, upgrade
from ice_pipeline.warehouse.writes import read_frame, replace_partition, upsert_rows

COLUMNS = [column.name for column in schema.survey_ratings.columns]
ORDER = ["period", "respondent_id", "provider_department", "dimension"]
CODED = ("survey_answers", "survey_responses", "survey_items")


def _ratings(period: str, respondents: int, seed: int, long_layout: bool = False) -> pd.DataFrame:
    """survey_ratings rows with what can vary per answer varying: NULL times, two files, two
    scales, reversed items; ``long_layout``: one source row per answer (a long export)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(respondents):
        when = None if r % 7 == 0 else pd.Timestamp(f"{period}-03 09:00") + pd.Timedelta(hours=r)
        source = ("b.csv", "b" * 64) if r % 5 == 0 else ("a.csv", "a" * 64)
        for p, provider in enumerate(("IT", "HR", "Finance")):
            if (r + p) % 4 == 0:
                continue  # not every respondent rates every provider
            for d, dimension in enumerate(("quality", "speed")):
                top = 7.0 if provider == "Finance" else 5.0
                raw = float(rng.integers(1, int(top) + 1))
                rows.append(
                    {
                        "period": period,
                        "respondent_id": f"{period}-R{r:03d}",
                        "provider_department": provider,
                        "dimension": dimension,
                        "consumer_department": ("Sales", "Ops", "Legal")[r % 3],
                        "rating_raw": raw,
                        "scale_min": 1.0,
                        "scale_max": top,
                        "reversed": dimension == "speed",
                        "score": 100.0 * (raw - 1.0) / (top - 1.0),
                        "favourable": raw >= top - 1,
                        "responded_at": when,
                        "source_file": source[0],
                        "source_sha256": source[1],
                        "source_row": 2 + r * (6 if long_layout else 1) + (p * 2 + d) * long_layout,
                    }
                )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["responded_at"] = pd.to_datetime(frame["responded_at"])
    return frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(ORDER).reset_index(drop=True)


def _count(engine: sqlalchemy.Engine, table: str, where: str = "") -> int:
    with engine.connect() as connection:
        query = f"SELECT count(*) FROM ice_private.{table} {where}"
        return int(connection.exec_driver_sql(query).scalar_one())


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the dtypes read_frame gives back, in ORDER."""
    expected = _sorted(frame)
    expected["source_row"] = expected["source_row"].astype("Int64")
    for name in ("reversed", "favourable"):
        expected[name] = expected[name].astype("boolean")
    return expected


def _assert_view_gives_back(engine: sqlalchemy.Engine, period: str, frame: pd.DataFrame) -> None:
    # Sorted in pandas: PostgreSQL's collation may order text differently from Python.
    back = _sorted(read_frame(engine, schema.survey_ratings, where={"period": period}))
    pd.testing.assert_frame_equal(back, _expected(frame))


def test_the_view_gives_back_the_rows_written(warehouse_url: str) -> None:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    try:
        march, april = _ratings("2026-03", 40, seed=1), _ratings("2026-04", 30, seed=2)
        assert replace_partition(
            engine, schema.survey_ratings, march, {"period": "2026-03"}
        ) == len(march)
        replace_partition(engine, schema.survey_ratings, april, {"period": "2026-04"})
        # Rewriting a period (new answers, a long export) leaves the other period as it was.
        march_again = _ratings("2026-03", 25, seed=3, long_layout=True)
        replace_partition(engine, schema.survey_ratings, march_again, {"period": "2026-03"})
        _assert_view_gives_back(engine, "2026-03", march_again)
        _assert_view_gives_back(engine, "2026-04", april)

        # Stored narrow: one response per respondent's export row, one item per provider,
        # dimension and scale; no answer, response or item left over from the first March.
        assert _count(engine, "survey_answers") == len(march_again) + len(april)
        april_responses = april.drop_duplicates(writes_surveys.RESPONSE_COLUMNS)
        assert _count(engine, "survey_responses", "WHERE period = '2026-04'") == len(
            april_responses
        )
        assert _count(engine, "survey_responses", "WHERE period = '2026-03'") == len(march_again)
        assert _count(engine, "survey_items", "WHERE period = '2026-04'") == 6
        with engine.connect() as connection:
            low, high, n = connection.exec_driver_sql(
                "SELECT min(response_key), max(response_key), count(*) "
                "FROM ice_private.survey_responses WHERE period = '2026-03'"
            ).one()
        assert high - low + 1 == n  # a period's keys are one contiguous range
    finally:
        engine.dispose()


def _coded_contents(engine: sqlalchemy.Engine) -> dict[str, pd.DataFrame]:
    tables = (schema.survey_answers, schema.survey_responses, schema.survey_items)
    return {
        table.name: read_frame(engine, table, order_by=[c.name for c in table.primary_key])
        for table in tables
    }


def test_writing_the_same_rows_again_keeps_the_keys(duckdb_url: str) -> None:
    """A re-run leaves identical rows in every table (test_job_run); keys do not grow."""
    upgrade(duckdb_url)
    engine = connect_warehouse(duckdb_url)
    try:
        may, june = _ratings("2026-05", 20, seed=12), _ratings("2026-06", 20, seed=13)
        replace_partition(engine, schema.survey_ratings, may, {"period": "2026-05"})
        replace_partition(engine, schema.survey_ratings, june, {"period": "2026-06"})
        before = _coded_contents(engine)
        replace_partition(engine, schema.survey_ratings, may, {"period": "2026-05"})
        after = _coded_contents(engine)
        for name, frame in before.items():
            pd.testing.assert_frame_equal(frame, after[name], obj=name)
        # Fewer responses fit in May's range; more take new keys after June's.
        replace_partition(engine, schema.survey_ratings, may.head(10), {"period": "2026-05"})
        bigger = _ratings("2026-05", 30, seed=14)
        replace_partition(engine, schema.survey_ratings, bigger, {"period": "2026-05"})
        keys = read_frame(engine, schema.survey_responses, where={"period": "2026-05"})
        assert keys["response_key"].min() > before["survey_responses"]["response_key"].max()
        _assert_view_gives_back(engine, "2026-05", bigger)
        _assert_view_gives_back(engine, "2026-06", june)
    finally:
        engine.dispose()


def test_categorical_frames_and_reads_round_trip(warehouse_url: str) -> None:
    """The ingest hands over categoricals for big frames; read_frame can ask for them back."""
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    try:
        frame = _ratings("2026-05", 30, seed=4)
        text = ["respondent_id", "provider_department", "dimension", "consumer_department"]
        coded = frame.astype({name: "category" for name in [*text, "source_file"]})
        replace_partition(engine, schema.survey_ratings, coded, {"period": "2026-05"})
        back = read_frame(
            engine, schema.survey_ratings, where={"period": "2026-05"}, categorical=text
        )
        assert all(isinstance(back[name].dtype, pd.CategoricalDtype) for name in text)
        back = back.astype({name: object for name in text})
        pd.testing.assert_frame_equal(_sorted(back), _expected(frame))
    finally:
        engine.dispose()


def test_empty_frame_and_failed_write(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    try:
        june, july = _ratings("2026-06", 20, seed=5), _ratings("2026-07", 20, seed=6)
        replace_partition(engine, schema.survey_ratings, june, {"period": "2026-06"})
        replace_partition(engine, schema.survey_ratings, july, {"period": "2026-07"})

        def failing_insert(connection, table, rows):  # noqa: ANN001, ANN202
            if table is schema.survey_answers:
                raise RuntimeError("disk full")
            _bulk_insert(connection, table, rows)

        monkeypatch.setattr(writes_surveys, "_bulk_insert", failing_insert)
        with pytest.raises(RuntimeError, match="disk full"):
            replace_partition(engine, schema.survey_ratings, june.head(3), {"period": "2026-06"})
        monkeypatch.undo()
        _assert_view_gives_back(engine, "2026-06", june)  # the delete was rolled back

        assert (
            replace_partition(engine, schema.survey_ratings, june.head(0), {"period": "2026-06"})
            == 0
        )
        assert read_frame(engine, schema.survey_ratings, where={"period": "2026-06"}).empty
        assert _count(engine, "survey_answers") == len(july)
        assert _count(engine, "survey_responses", "WHERE period = '2026-06'") == 0
        _assert_view_gives_back(engine, "2026-07", july)
    finally:
        engine.dispose()


def test_bad_frames_are_refused_before_writing(duckdb_url: str) -> None:
    upgrade(duckdb_url)
    engine = connect_warehouse(duckdb_url)
    try:
        frame = _ratings("2026-08", 5, seed=7)
        with pytest.raises(ValueError, match="share a primary key"):
            replace_partition(
                engine,
                schema.survey_ratings,
                pd.concat([frame, frame.head(1)]),
                {"period": "2026-08"},
            )
        with pytest.raises(ValueError, match="not by"):
            replace_partition(
                engine,
                schema.survey_ratings,
                frame[frame["source_file"] == "a.csv"],
                {"period": "2026-08", "source_file": "a.csv"},
            )
        with pytest.raises(ValueError, match="no primary key to upsert by"):
            upsert_rows(engine, schema.survey_ratings, frame)
        assert _count(engine, "survey_answers") == 0
    finally:
        engine.dispose()


def test_group_codes_number_combinations_in_order_of_appearance() -> None:
    rows = pa.table(
        {
            "a": pa.array(["x", "y", "x", "x", None, None]).dictionary_encode(),
            "b": pa.array([1, 1, 1, 2, None, None]),
            "c": pa.array(["k"] * 6),
        }
    )
    codes, first = writes_surveys.group_codes(rows, ["a", "b", "c"])
    assert codes.tolist() == [0, 1, 0, 2, 3, 3]
    assert first.tolist() == [0, 1, 3, 4]
    empty_codes, empty_first = writes_surveys.group_codes(rows.slice(0, 0), ["a", "b"])
    assert len(empty_codes) == len(empty_first) == 0


def _alembic(connection: sqlalchemy.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@pytest.mark.slow
def test_migration_moves_rows_and_downgrade_restores_the_table(warehouse_url: str) -> None:
    engine = connect_warehouse(warehouse_url)
    rows = pd.concat(
        [_ratings("2026-01", 30, seed=8), _ratings("2026-02", 20, seed=9, long_layout=True)]
    )
    try:
        with engine.begin() as connection:
            for name in schema.ALL_SCHEMAS:
                connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
            command.upgrade(_alembic(connection), "0008_report_pdf")  # the table before this change
            _bulk_insert(
                connection, schema.survey_ratings, _frame_to_arrow(schema.survey_ratings, rows, {})
            )
        upgrade(warehouse_url)
        assert "survey_ratings" in inspect(engine).get_view_names(schema="ice_private")
        for period in ("2026-01", "2026-02"):
            _assert_view_gives_back(engine, period, rows[rows["period"] == period])
        assert _count(engine, "survey_answers") == len(rows)
        assert _count(engine, "survey_responses", "WHERE period = '2026-01'") == 30
        # The pipeline writes on top of migrated rows without taking their keys.
        march = _ratings("2026-03", 10, seed=10)
        replace_partition(engine, schema.survey_ratings, march, {"period": "2026-03"})
        _assert_view_gives_back(engine, "2026-01", rows[rows["period"] == "2026-01"])

        with engine.begin() as connection:
            command.downgrade(_alembic(connection), "0008_report_pdf")
        inspector = inspect(engine)
        assert "survey_ratings" in inspector.get_table_names(schema="ice_private")
        assert not set(CODED) & set(inspector.get_table_names(schema="ice_private"))
        assert inspector.get_view_names(schema="ice_private") == []
        restored = pd.concat([rows, march])
        for period in ("2026-01", "2026-02", "2026-03"):
            _assert_view_gives_back(engine, period, restored[restored["period"] == period])
        upgrade(warehouse_url)  # and up again
        _assert_view_gives_back(engine, "2026-03", march)
    finally:
        engine.dispose()


def test_the_analyst_file_holds_no_coded_table(duckdb_url: str, tmp_path: Path) -> None:
    upgrade(duckdb_url)
    engine = connect_warehouse(duckdb_url)
    try:
        frame = _ratings("2026-09", 10, seed=11)
        replace_partition(engine, schema.survey_ratings, frame, {"period": "2026-09"})
        path = tmp_path / "analyst.duckdb"
        export_analyst_file(engine, path)
    finally:
        engine.dispose()
    with duckdb.connect(str(path), read_only=True) as connection:
        schemas = connection.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        names = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }
    assert schemas == [("ice",)]
    assert not names & {*CODED, "survey_ratings"}
