"""replace_partition, upsert_rows and read_frame on both engines, including a killed writer."""

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import read_frame, replace_partition, upsert_rows

NASTY_TEXT = "He said \"no\", then: a,b;c\nnew line\ttab \\ backslash \\N NULL 'quote' é ✓"


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sqlalchemy.Engine]:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    yield engine
    engine.dispose()


def _tickets(period: str, n: int, offset: int = 0) -> pd.DataFrame:
    ids = np.arange(offset, offset + n)
    return pd.DataFrame(
        {
            "period": period,
            "ticket_id": [f"INC{i:07d}" for i in ids],
            "provider_department": np.where(ids % 2 == 0, "IT", "HR"),
            "consumer_department": "Sales",
            "priority": (ids % 4 + 1).astype(float),
            "opened_at": pd.Timestamp(f"{period}-01 08:00")
            + pd.to_timedelta(ids % 600, unit="min"),
            "resolution_hours": ids / 10.0,
            "sla_met": ids % 3 != 0,
            "source_file": "incidents.csv",
            "source_sha256": "a" * 64,
            "source_row": ids + 2,
        }
    )


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_same_partition_twice_gives_identical_rows(engine: sqlalchemy.Engine) -> None:
    keep = _tickets("2025-01", 50)
    replace_partition(engine, schema.tickets, keep, {"period": "2025-01"})
    first = _tickets("2025-02", 120, offset=1000)
    assert replace_partition(engine, schema.tickets, first, {"period": "2025-02"}) == 120
    after_once = read_frame(engine, schema.tickets, order_by=["period", "ticket_id"])
    assert replace_partition(engine, schema.tickets, first, {"period": "2025-02"}) == 120
    after_twice = read_frame(engine, schema.tickets, order_by=["period", "ticket_id"])
    pd.testing.assert_frame_equal(after_once, after_twice)
    assert len(after_twice) == 170
    assert after_twice["period"].value_counts().to_dict() == {"2025-02": 120, "2025-01": 50}
    # A smaller rewrite replaces the partition, leaving no stale rows and the other partition alone.
    replace_partition(engine, schema.tickets, first.head(7), {"period": "2025-02"})
    rows = read_frame(engine, schema.tickets, where={"period": "2025-02"}, order_by=["ticket_id"])
    assert rows["ticket_id"].tolist() == first["ticket_id"].head(7).tolist()
    assert len(read_frame(engine, schema.tickets, where={"period": "2025-01"})) == 50


def test_every_type_round_trips(engine: sqlalchemy.Engine) -> None:
    frame = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "provider_department": [NASTY_TEXT, "", "IT", "x" * 5000],
            "consumer_department": [None, np.nan, "", "Sales"],
            "priority": [1, None, 3, np.nan],  # int with NULL arrives as float
            "opened_at": [
                dt.datetime(2025, 3, 1, 8, 30, 15, 123456),
                pd.Timestamp("2025-03-31 23:59:59"),
                pd.Timestamp("2025-03-02 10:00", tz="Europe/Berlin"),  # stored as UTC
                dt.datetime(2025, 3, 4),
            ],
            "resolved_at": [pd.NaT, None, dt.datetime(2025, 3, 3), np.datetime64("NaT")],
            "resolution_hours": [1.25, np.nan, float("inf"), -0.0],
            "sla_met": [True, False, None, np.nan],
            "reopened": pd.array([True, pd.NA, False, False], dtype="boolean"),
            "first_assignee_resolved": np.array([True, False, True, False]),
            "satisfaction": pd.array([1.5, None, 5.0, 3.3333333333333335], dtype="Float64"),
            "source_file": "f.csv",
            "source_sha256": "b" * 64,
            "source_row": np.array([1, 2, 3, 4], dtype="int32"),
        }
    )
    assert replace_partition(engine, schema.tickets, frame, {"period": "2025-03"}) == 4
    got = read_frame(engine, schema.tickets, where={"period": "2025-03"}, order_by=["ticket_id"])

    assert got.dtypes.astype(str).to_dict() == {
        "period": "object",
        "ticket_id": "object",
        "provider_department": "object",
        "consumer_department": "object",
        "priority": "Int64",
        "opened_at": "datetime64[ns]",
        "resolved_at": "datetime64[ns]",
        "resolution_hours": "float64",
        "sla_met": "boolean",
        "reopened": "boolean",
        "first_assignee_resolved": "boolean",
        "satisfaction": "float64",
        "source_file": "object",
        "source_sha256": "object",
        "source_row": "Int64",
    }
    assert got["period"].tolist() == ["2025-03"] * 4  # filled from the partition
    assert got["provider_department"].tolist() == [NASTY_TEXT, "", "IT", "x" * 5000]
    assert got["consumer_department"].tolist() == [None, None, "", "Sales"]  # '' is not NULL
    assert got["priority"].tolist() == [1, pd.NA, 3, pd.NA]
    assert got["opened_at"].tolist() == [
        pd.Timestamp("2025-03-01 08:30:15.123456"),
        pd.Timestamp("2025-03-31 23:59:59"),
        pd.Timestamp("2025-03-02 09:00"),
        pd.Timestamp("2025-03-04"),
    ]
    assert got["resolved_at"].isna().tolist() == [True, True, False, True]
    assert got["resolved_at"][2] == pd.Timestamp("2025-03-03")
    hours = got["resolution_hours"].tolist()
    assert hours[0] == 1.25 and np.isnan(hours[1]) and hours[2] == float("inf") and hours[3] == 0
    assert got["sla_met"].tolist() == [True, False, pd.NA, pd.NA]
    assert got["reopened"].tolist() == [True, pd.NA, False, False]
    assert got["first_assignee_resolved"].tolist() == [True, False, True, False]
    assert got["satisfaction"][0] == 1.5 and np.isnan(got["satisfaction"][1])
    assert got["satisfaction"][3] == 3.3333333333333335  # full double precision, not FLOAT4
    assert got["source_row"].tolist() == [1, 2, 3, 4]


def test_dates_round_trip(engine: sqlalchemy.Engine) -> None:
    roster = pd.DataFrame(
        {
            "employee_id": ["e1", "e2", "e3"],
            "department": ["IT", "HR", "Sales"],
            "hire_date": [dt.date(2019, 2, 28), pd.Timestamp("2020-02-29"), "2021-12-31"],
            "termination_date": [None, dt.date(2025, 1, 31), pd.NaT],
            "termination_type": [None, "voluntary", None],
            "source_file": "roster.csv",
            "source_sha256": "c" * 64,
            "source_row": [2, 3, 4],
        }
    )
    replace_partition(engine, schema.employees, roster, {"snapshot_period": "2025-01"})
    got = read_frame(engine, schema.employees, order_by=["employee_id"])
    assert got["hire_date"].tolist() == [
        pd.Timestamp("2019-02-28"),
        pd.Timestamp("2020-02-29"),
        pd.Timestamp("2021-12-31"),
    ]
    assert got["termination_date"].isna().tolist() == [True, False, True]
    assert got["termination_date"][1] == pd.Timestamp("2025-01-31")
    assert got["attrited"].isna().all()  # missing nullable column -> NULL


def test_empty_frame_empties_the_partition(engine: sqlalchemy.Engine) -> None:
    replace_partition(engine, schema.tickets, _tickets("2025-04", 5), {"period": "2025-04"})
    empty = _tickets("2025-04", 0)
    assert replace_partition(engine, schema.tickets, empty, {"period": "2025-04"}) == 0
    assert read_frame(engine, schema.tickets).empty
    assert list(read_frame(engine, schema.tickets).columns) == list(schema.tickets.columns.keys())


BAD_FRAMES = [
    (lambda f: f.assign(colour="red"), "columns the table does not: ['colour']"),
    (lambda f: f.drop(columns=["source_file"]), "lacks the required column 'source_file'"),
    (lambda f: f.assign(period="2025-06"), "row(s) have period other than the partition"),
    (lambda f: f.assign(ticket_id="same"), "rows share a primary key"),
    (lambda f: f.assign(opened_at=None), "empty value(s) in a column that must"),
    (lambda f: f.assign(priority=1.5), "cannot store the frame's values"),
    (lambda f: f.assign(provider_department=7), "expected text"),
    (lambda f: f.assign(source_sha256="x" * 65), "exceeds the column's limit of 64"),
    (lambda f: f.assign(priority=2**40), "do not fit an INTEGER column"),
]


def test_bad_frames_are_refused_before_writing(
    engine: sqlalchemy.Engine, subtests: pytest.Subtests
) -> None:
    before = _tickets("2025-05", 3)
    replace_partition(engine, schema.tickets, before, {"period": "2025-05"})
    for change, message in BAD_FRAMES:
        with subtests.test(msg=message):
            with pytest.raises(ValueError) as caught:
                replace_partition(
                    engine,
                    schema.tickets,
                    change(_tickets("2025-05", 3, 10)),
                    {"period": "2025-05"},
                )
            assert message in str(caught.value)
            rows = read_frame(engine, schema.tickets, order_by=["ticket_id"])
            assert rows["ticket_id"].tolist() == before["ticket_id"].tolist()


def test_failure_inside_the_transaction_rolls_back_the_delete(
    engine: sqlalchemy.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ice_pipeline.warehouse import writes

    replace_partition(engine, schema.tickets, _tickets("2025-07", 4), {"period": "2025-07"})
    real_insert = writes._bulk_insert

    def failing_insert(connection, table, rows):  # noqa: ANN001, ANN202
        real_insert(connection, table, rows)
        raise RuntimeError("disk full")

    monkeypatch.setattr(writes, "_bulk_insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        replace_partition(
            engine, schema.tickets, _tickets("2025-07", 9, 100), {"period": "2025-07"}
        )
    rows = read_frame(engine, schema.tickets, order_by=["ticket_id"])
    assert rows["ticket_id"].tolist() == _tickets("2025-07", 4)["ticket_id"].tolist()


def test_whole_table_replacement_with_empty_partition(engine: sqlalchemy.Engine) -> None:
    kpis = pd.DataFrame(
        {"period": ["2025-01", "2025-02"], "provider_department": "IT", "tickets_n": [3, 4]}
    )
    replace_partition(engine, schema.service_kpis, kpis, {})
    replace_partition(engine, schema.service_kpis, kpis.tail(1), {})
    got = read_frame(engine, schema.service_kpis)
    assert got[["period", "tickets_n"]].values.tolist() == [["2025-02", 4]]


def test_upsert_rows_replaces_by_primary_key(engine: sqlalchemy.Engine) -> None:
    started = dt.datetime(2025, 1, 1, 2, 0)
    log = pd.DataFrame(
        {
            "run_id": ["r1", "r1", "r2"],
            "step": ["ingest", "index", "ingest"],
            "partition_key": ["2025-01", "2025-01", ""],
            "status": ["running", "running", "ok"],
            "started_at": started,
        }
    )
    assert upsert_rows(engine, schema.run_log, log) == 3
    update = pd.DataFrame(
        {
            "run_id": ["r1", "r3"],
            "step": ["ingest", "report"],
            "partition_key": ["2025-01", "2025-01"],
            "status": ["ok", "failed"],
            "rows_written": [10, None],
            "message": ["done", 'boom, "quoted"\nsecond line'],
        }
    )
    assert upsert_rows(engine, schema.run_log, update) == 2
    got = read_frame(engine, schema.run_log, order_by=["run_id", "step"])
    assert got[["run_id", "step", "status"]].values.tolist() == [
        ["r1", "index", "running"],
        ["r1", "ingest", "ok"],
        ["r2", "ingest", "ok"],
        ["r3", "report", "failed"],
    ]
    row = got.set_index(["run_id", "step"]).loc[("r1", "ingest")]
    assert row["rows_written"] == 10 and pd.isna(row["started_at"])  # the whole row is replaced
    assert got["message"].tolist()[3] == 'boom, "quoted"\nsecond line'
    # Same keys again: still four rows.
    upsert_rows(engine, schema.run_log, update)
    assert len(read_frame(engine, schema.run_log)) == 4


def test_read_frame_filters(engine: sqlalchemy.Engine) -> None:
    frame = pd.DataFrame(
        {
            "period": ["2025-01", "2025-01", "2025-02", "2025-03"],
            "provider_department": ["IT", "HR", "IT", "IT"],
            "tickets_n": [1, 2, 3, 4],
            "sla_met_pct": [90.0, None, 80.0, 85.5],
        }
    )
    upsert_rows(engine, schema.service_kpis, frame)
    by_list = read_frame(
        engine,
        schema.service_kpis,
        where={"period": ["2025-01", "2025-03"], "provider_department": "IT"},
        order_by=["period"],
    )
    assert by_list["tickets_n"].tolist() == [1, 4]
    nulls = read_frame(engine, schema.service_kpis, where={"sla_met_pct": None})
    assert nulls["provider_department"].tolist() == ["HR"]
    assert read_frame(engine, schema.service_kpis, where={"period": []}).empty
    with pytest.raises(ValueError, match="has no column 'nope'"):
        read_frame(engine, schema.service_kpis, where={"nope": 1})


# --------------------------------------------------------------------------------------------
# A writer killed mid-transaction
# --------------------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import pathlib, sys, time
    import numpy as np, pandas as pd
    from ice_pipeline.warehouse import schema, writes
    from ice_pipeline.warehouse.engine import connect_warehouse

    url, signal_path, moment = sys.argv[1:4]
    real_insert = writes._bulk_insert

    def paused_insert(connection, table, rows):
        # Runs inside replace_partition's transaction, after its DELETE.
        if moment == "after_insert":
            real_insert(connection, table, rows)
        pathlib.Path(signal_path).write_text(moment)
        time.sleep(600)

    writes._bulk_insert = paused_insert
    n = 300_000  # more than two DuckDB row groups: written to the file before commit
    ids = np.arange(n)
    frame = pd.DataFrame({
        "ticket_id": [f"NEW{i}" for i in ids],
        "provider_department": "Facilities",
        "opened_at": pd.Timestamp("2025-02-01"),
        "source_file": "new.csv",
        "source_sha256": "d" * 64,
        "source_row": ids,
    })
    writes.replace_partition(connect_warehouse(url), schema.tickets, frame, {"period": "2025-02"})
    """
)


@pytest.mark.parametrize("moment", ["after_delete", "after_insert"])
def test_killed_writer_leaves_previous_partition(
    warehouse_url: str, tmp_path: Path, moment: str
) -> None:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    previous = _tickets("2025-02", 300)
    replace_partition(engine, schema.tickets, previous, {"period": "2025-02"})
    expected = read_frame(engine, schema.tickets, order_by=["ticket_id"])
    engine.dispose()  # DuckDB allows one writing process: let the child open the file

    signal_path = tmp_path / "inside-transaction"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, warehouse_url, str(signal_path), moment],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not signal_path.exists():
            if child.poll() is not None:
                pytest.fail(f"writer ended early: {child.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("writer never reached the pause inside its transaction")
            time.sleep(0.05)
        assert signal_path.read_text() == moment
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

    engine = connect_warehouse(warehouse_url)
    try:
        after = read_frame(engine, schema.tickets, order_by=["ticket_id"])
        pd.testing.assert_frame_equal(after, expected)
        assert set(after["provider_department"]) == {"IT", "HR"}
        # The warehouse still accepts writes after the crash.
        assert (
            replace_partition(engine, schema.tickets, previous.head(2), {"period": "2025-02"}) == 2
        )
    finally:
        engine.dispose()


def test_repeated_keys_are_refused_when_the_key_is_the_partition(engine: sqlalchemy.Engine) -> None:
    company = pd.DataFrame({"n_respondents": [40, 41], "ice_p": [66.0, 67.0]})
    with pytest.raises(ValueError, match=r"2 rows share a primary key \['period'\]"):
        replace_partition(engine, schema.company_scores, company, {"period": "2025-01"})
    assert (
        replace_partition(engine, schema.company_scores, company.head(1), {"period": "2025-01"})
        == 1
    )


def test_upsert_refuses_repeated_keys(engine: sqlalchemy.Engine) -> None:
    log = pd.DataFrame(
        {"run_id": ["r1", "r1"], "step": ["a", "a"], "partition_key": "", "status": "ok"}
    )
    with pytest.raises(ValueError, match="rows share a primary key"):
        upsert_rows(engine, schema.run_log, log)
    assert read_frame(engine, schema.run_log).empty


def test_categorical_text_is_stored_as_its_values(engine: sqlalchemy.Engine) -> None:
    # Large parses hand categoricals to the writer, which keeps them dictionary-encoded for
    # DuckDB and decodes them for PostgreSQL's COPY; the stored rows must be the plain ones.
    plain = _tickets("2025-03", 40)
    plain.loc[3, "consumer_department"] = None
    plain.loc[5, "consumer_department"] = NASTY_TEXT
    categorical = plain.copy()
    for column in ("period", "provider_department", "consumer_department", "source_file"):
        categorical[column] = categorical[column].astype("category")
    assert replace_partition(engine, schema.tickets, categorical, {"period": "2025-03"}) == 40
    stored = read_frame(engine, schema.tickets, where={"period": "2025-03"})
    replace_partition(engine, schema.tickets, plain, {"period": "2025-03"})
    pd.testing.assert_frame_equal(
        _sorted(stored, ["ticket_id"]),
        _sorted(read_frame(engine, schema.tickets, where={"period": "2025-03"}), ["ticket_id"]),
    )
    assert stored["consumer_department"].isna().sum() == 1
    assert (stored["consumer_department"] == NASTY_TEXT).sum() == 1
    assert stored["provider_department"].dtype == object


def test_categorical_text_is_checked_like_plain_text(engine: sqlalchemy.Engine) -> None:
    numbers = _tickets("2025-04", 5)
    numbers["consumer_department"] = pd.Categorical([1, 2, 3, 1, 2])
    with pytest.raises(ValueError, match="consumer_department.*expected text"):
        replace_partition(engine, schema.tickets, numbers, {"period": "2025-04"})
    elsewhere = _tickets("2025-04", 5)
    elsewhere["period"] = pd.Categorical(["2025-04"] * 4 + ["2025-05"])
    with pytest.raises(ValueError, match="1 row"):
        replace_partition(engine, schema.tickets, elsewhere, {"period": "2025-04"})
    too_long = _tickets("2025-04", 5)
    too_long["source_sha256"] = pd.Categorical(["a" * 65] * 5)
    with pytest.raises(ValueError, match="65 characters exceeds the column's limit of 64"):
        replace_partition(engine, schema.tickets, too_long, {"period": "2025-04"})
    assert read_frame(engine, schema.tickets, where={"period": "2025-04"}).empty
