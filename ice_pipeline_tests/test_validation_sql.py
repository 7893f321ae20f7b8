"""The pandera contract as SQL (validation_sql.py) agrees with the pandera models in pandas.

For every canonical table, a frame with a failure of every kind the model checks is stored in
each engine and checked both ways: the (row, check) pairs that fail must be the same, and a good
frame passes both. A model check without a SQL spelling fails here, so the two cannot drift.
"""

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
import sqlalchemy as sa
from pandera.errors import SchemaErrors

from ice_pipeline.ingest.validation import MODELS, canonical_columns
from ice_pipeline.ingest.validation_sql import (
    CUSTOM_CHECKS,
    KEY_CHECK,
    UntranslatedCheck,
    check_contract,
    row_checks,
)

SHA = "ab" * 32
TS = pd.Timestamp("2026-03-10 09:00")


def _base(n: int) -> dict[str, list]:
    return {
        "source_file": ["x.csv"] * n,
        "source_sha256": [SHA] * n,
        "source_row": list(range(2, n + 2)),
    }


def _ratings(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "respondent_id": [f"r{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "dimension": ["quality"] * n,
            "consumer_department": ["Sales"] * n,
            "rating_raw": [4.0] * n,
            "scale_min": [1.0] * n,
            "scale_max": [5.0] * n,
            "reversed": [False] * n,
            "score": [75.0] * n,
            "favourable": [True] * n,
            "responded_at": [TS] * n,
            **_base(n),
        }
    )


def _bad_ratings() -> pd.DataFrame:
    frame = _ratings(9)
    frame.loc[0, "score"] = 130.0  # in_range
    frame.loc[1, "period"] = "2026-13"  # period_format
    frame.loc[2, "source_sha256"] = "XYZ"  # sha256_format
    frame.loc[3, "rating_raw"] = 9.0  # rating_within_scale
    frame.loc[4, "respondent_id"] = None  # not_nullable
    frame.loc[5, "source_row"] = -1  # greater_than_or_equal_to
    frame.loc[6, "respondent_id"] = "r7"  # duplicate key with row 7 (a repeat of row 6's key)
    frame.loc[8, "score"] = float("nan")  # not_nullable on a float
    return frame


def _tickets(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "ticket_id": [f"T{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "consumer_department": ["Sales"] * n,
            "priority": pd.array([3] * n, dtype="Int64"),
            "opened_at": [TS] * n,
            "resolved_at": [TS + pd.Timedelta(hours=2)] * n,
            "resolution_hours": [2.0] * n,
            "sla_met": pd.array([True] * n, dtype="boolean"),
            "reopened": pd.array([False] * n, dtype="boolean"),
            "first_assignee_resolved": pd.array([True] * n, dtype="boolean"),
            "satisfaction": [4.0] * n,
            **_base(n),
        }
    )


def _bad_tickets() -> pd.DataFrame:
    frame = _tickets(7)
    frame.loc[0, "priority"] = 9  # isin
    frame.loc[1, "satisfaction"] = 0.5  # in_range on a nullable column
    frame.loc[2, "resolution_hours"] = -3.0  # greater_than_or_equal_to
    frame.loc[3, "resolved_at"] = TS - pd.Timedelta(days=1)  # resolved_after_opened
    frame.loc[4, "consumer_department"] = None  # nullable: no failure
    frame.loc[5, "satisfaction"] = float("nan")  # nullable: no failure
    frame.loc[6, "ticket_id"] = "T0"  # duplicate key
    return frame


def _employees(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "snapshot_period": ["2026-03"] * n,
            "employee_id": [f"e{i}" for i in range(n)],
            "department": ["IT"] * n,
            "hire_date": [pd.Timestamp("2020-01-01")] * n,
            "termination_date": pd.to_datetime([None] * n),
            "termination_type": [None] * n,
            "attrited": pd.array([False] * n, dtype="boolean"),
            **_base(n),
        }
    )


def _bad_employees() -> pd.DataFrame:
    frame = _employees(4)
    frame.loc[0, "termination_type"] = "fired"  # isin
    frame.loc[1, "termination_date"] = pd.Timestamp("2019-01-01")  # terminated_after_hired
    frame.loc[2, "department"] = None  # not_nullable
    frame.loc[3, "snapshot_period"] = "2026-Q5"  # period_format
    return frame


def _metrics(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "business_unit": [f"B{i}" for i in range(n)],
            "metric": ["nps"] * n,
            "department": [None] * n,
            "value": [20.0] * n,
            "n_responses": pd.array([10] * n, dtype="Int64"),
            "value_ci_low": [10.0] * n,
            "value_ci_high": [30.0] * n,
            "source_file": ["x.csv"] * n,
            "source_sha256": [SHA] * n,
        }
    )


def _bad_metrics() -> pd.DataFrame:
    frame = _metrics(5)
    frame.loc[0, "value"] = -150.0  # value_within_range (nps: -100..100)
    frame.loc[1, ["metric", "value"]] = ["csat_pct", -5.0]  # csat_pct: 0..100
    frame.loc[2, "value_ci_low"] = 25.0  # interval_holds_value
    frame.loc[3, "metric"] = "churn"  # isin (its value is not range-checked)
    frame.loc[4, "n_responses"] = -1  # greater_than_or_equal_to
    return frame


def _comments(n: int) -> pd.DataFrame:
    frame = _ratings(n)[["period", "respondent_id", "provider_department", "consumer_department"]]
    return frame.assign(comment_text=["fine"] * n, **_base(n))


def _bad_comments() -> pd.DataFrame:
    frame = _comments(3)
    frame.loc[0, "comment_text"] = None
    frame.loc[1, "respondent_id"] = "r0"  # duplicate key
    frame.loc[2, "period"] = "March"  # period_format
    return frame


CASES = {
    "survey_ratings": (_ratings(5), _bad_ratings()),
    "tickets": (_tickets(5), _bad_tickets()),
    "employees": (_employees(5), _bad_employees()),
    "external_metrics": (_metrics(5), _bad_metrics()),
    "survey_comments": (_comments(5), _bad_comments()),
}


def _pandera_failures(table: str, frame: pd.DataFrame) -> set[tuple[int, str]]:
    """(row, check name) of every failure of the pandas pandera model (dtype checks aside)."""
    model = MODELS[table].to_schema()
    names = {str(c.error or c.name): c.name for c in model.checks}
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
    else:
        return set()
    found = set()
    for row in cases.itertuples():
        if row.index is None or pd.isna(row.index) or str(row.check).startswith("dtype("):
            continue
        check = names.get(str(row.check), str(row.check).split("(")[0])
        found.add((int(row.index), check))
    return found


def _sql_failures(url: str, table: str, frame: pd.DataFrame) -> set[tuple[int, str]]:
    engine = sa.create_engine(url)
    stored = frame[canonical_columns(table)].assign(row_id=range(len(frame)))
    stored.to_sql(f"staged_{table}", engine, index=False, if_exists="replace")
    relation = sa.table(f"staged_{table}", *(sa.column(c) for c in stored.columns))
    with engine.connect() as connection:
        result = check_contract(connection, table, relation, row_id="row_id")
    engine.dispose()
    found = {(int(row), label.split(":")[-1]) for row, label in result.examples}
    assert sum(result.failures.values()) >= len(found)  # counted, not only shown
    assert result.passed == (not found)
    return found


@pytest.mark.parametrize("table", sorted(CASES))
def test_sql_contract_agrees_with_pandera(table: str, warehouse_url: str) -> None:
    good, bad = CASES[table]
    assert _pandera_failures(table, good) == set()
    assert _sql_failures(warehouse_url, table, good) == set()
    expected = _pandera_failures(table, bad)
    assert len({check for _, check in expected}) >= 3  # the bad frame exercises several checks
    assert _sql_failures(warehouse_url, table, bad) == expected


def test_every_model_check_has_a_sql_spelling() -> None:
    for table in MODELS:
        names = {check.name for check in row_checks(table)}
        assert "not_nullable" in names
        model = MODELS[table].to_schema()
        for check in model.checks:
            assert check.name == KEY_CHECK or check.name in names


def test_a_new_model_check_without_sql_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift guard: a check pandera runs but SQL would not is an error, not a silent pass."""

    class Stricter(MODELS["tickets"]):  # type: ignore[misc, valid-type]
        @pa.dataframe_check(error="opened_on_a_weekday")
        def opened_on_weekday(cls, frame: pd.DataFrame) -> pd.Series:
            return frame["opened_at"].dt.dayofweek < 5

    monkeypatch.setitem(MODELS, "tickets", Stricter)
    assert "opened_on_weekday" not in CUSTOM_CHECKS
    with pytest.raises(UntranslatedCheck, match="opened_on_weekday"):
        row_checks("tickets")


def test_stored_period_is_checked_by_name(duckdb_url: str, tmp_path: Path) -> None:
    """The stored table (or the view standing for it) is read by name, without pandas."""
    from ice_pipeline.ingest.validation_sql import canonical_relation
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import replace_partition

    upgrade(duckdb_url)
    engine = sa.create_engine(duckdb_url)
    replace_partition(engine, schema.survey_ratings, _ratings(6), {"period": "2026-03"})
    relation = canonical_relation("survey_ratings", schema.survey_ratings.schema)
    with engine.connect() as connection:
        result = check_contract(connection, "survey_ratings", relation)
    engine.dispose()
    assert result.rows == 6 and result.passed and result.failures["score:in_range"] == 0
