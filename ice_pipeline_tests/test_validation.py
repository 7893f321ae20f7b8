"""pandera models of the canonical tables and the split into good rows and quarantine rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.ingest.common import QUARANTINE_COLUMNS, DecodedFile
from ice_pipeline.ingest.validation import MODELS, canonical_columns, validate_canonical
from ice_pipeline.warehouse import schema

SHA = "ab" * 32
DECODED = DecodedFile(Path("landing/x.csv"), "", "utf-8", SHA, 0)


def _provenance(n: int, first_row: int = 2) -> dict[str, object]:
    return {
        "source_file": ["landing/x.csv"] * n,
        "source_sha256": [SHA] * n,
        "source_row": list(range(first_row, first_row + n)),
    }


def _ratings(scores: list[float]) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "respondent_id": [f"r{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "dimension": ["quality"] * n,
            "consumer_department": ["Sales"] * n,
            "rating_raw": [1 + s / 25 for s in scores],
            "scale_min": [1.0] * n,
            "scale_max": [5.0] * n,
            "reversed": [False] * n,
            "score": scores,
            "favourable": [s >= 75 for s in scores],
            "responded_at": pd.to_datetime(["2026-03-02 10:00"] * n),
            **_provenance(n),
        }
    )


def _tickets(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "ticket_id": [f"INC{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "consumer_department": ["Sales"] * n,
            "priority": pd.array([3] * n, dtype="Int64"),
            "opened_at": pd.to_datetime(["2026-03-01 09:00"] * n),
            "resolved_at": pd.to_datetime(["2026-03-01 11:00"] * n),
            "resolution_hours": [2.0] * n,
            "sla_met": pd.array([True] * n, dtype="boolean"),
            "reopened": pd.array([False] * n, dtype="boolean"),
            "first_assignee_resolved": pd.array([True] * n, dtype="boolean"),
            "satisfaction": [5.0] * n,
            **_provenance(n),
        }
    )


def test_every_canonical_row_table_has_a_model_with_the_schema_columns() -> None:
    for name, table in [
        ("survey_ratings", schema.survey_ratings),
        ("survey_comments", schema.survey_comments),
        ("tickets", schema.tickets),
        ("employees", schema.employees),
        ("external_metrics", schema.external_metrics),
    ]:
        assert canonical_columns(name) == [c.name for c in table.columns]
        assert set(MODELS[name].to_schema().columns) == set(canonical_columns(name))


def test_clean_frame_passes_whole_with_no_quarantine() -> None:
    good, quarantine = validate_canonical(
        "survey_ratings", _ratings([0.0, 50.0, 100.0]), "surveys", DECODED
    )
    assert len(good) == 3 and quarantine.empty
    assert list(good.columns) == canonical_columns("survey_ratings")
    assert list(quarantine.columns) == QUARANTINE_COLUMNS


def test_score_out_of_range_is_quarantined_with_a_readable_reason_and_good_rows_go_on() -> None:
    frame = _ratings([50.0, 130.0, 75.0])
    frame.loc[1, "rating_raw"] = 3.0  # keep the rating within its scale: only the score is wrong
    good, quarantine = validate_canonical("survey_ratings", frame, "surveys", DECODED)
    assert good["score"].tolist() == [50.0, 75.0]
    assert quarantine[["source_row", "column_name", "value", "reason"]].to_dict("records") == [
        {
            "source_row": 3,
            "column_name": "score",
            "value": "130.0",
            "reason": "score 130 is outside 0-100",
        }
    ]
    assert set(quarantine["feed"]) == {"surveys"} and set(quarantine["source_sha256"]) == {SHA}


def test_source_column_names_the_export_column_in_quarantine() -> None:
    frame = _ratings([50.0, 50.0]).assign(
        source_row=[7, 7], dimension=["a", "b"], source_column=["Q3_1", "Q3_2"]
    )
    frame.loc[1, "score"] = -5.0
    frame.loc[1, "rating_raw"] = 1.0
    good, quarantine = validate_canonical("survey_ratings", frame, "surveys", DECODED)
    assert len(good) == 1 and "source_column" not in good.columns
    assert quarantine["column_name"].tolist() == ["Q3_2 (score)"]


def test_ticket_checks_give_one_reason_per_cell_and_drop_only_bad_rows() -> None:
    frame = _tickets(5)
    frame.loc[1, "priority"] = 9
    frame.loc[2, "resolved_at"] = pd.Timestamp("2026-02-28 08:00")
    frame.loc[2, "resolution_hours"] = -25.0
    frame.loc[3, "ticket_id"] = "INC0"  # same key as row 0
    frame.loc[4, "period"] = "2026-13"
    good, quarantine = validate_canonical("tickets", frame, "tickets", DECODED)
    assert good["ticket_id"].tolist() == ["INC0"]
    reasons = dict(
        zip(
            zip(quarantine["source_row"], quarantine["column_name"], strict=True),
            quarantine["reason"],
            strict=True,
        )
    )
    assert (
        reasons[(3, "priority")] == "priority '9' is not one of the allowed values [1, 2, 3, 4, 5]"
    )
    assert reasons[(4, "resolved_at")] == (
        "resolved_at 2026-02-28 08:00 is before opened_at 2026-03-01 09:00 "
        "(negative resolution time)"
    )
    assert reasons[(4, "resolution_hours")] == "resolution_hours -25 is below the minimum 0"
    assert reasons[(5, "ticket_id")] == (
        "duplicate key (period, ticket_id) 2026-03 / INC0: an earlier row has the same key"
    )
    assert reasons[(6, "period")] == "period '2026-13' is not a period (YYYY-MM or YYYY-Qn)"
    # Nothing lost: every input row is either good or quarantined.
    assert len(good) + quarantine["source_row"].nunique() == len(frame)


def test_unconvertible_values_are_quarantined_not_raised() -> None:
    frame = _tickets(3).astype({"satisfaction": object, "sla_met": object})
    frame.loc[0, "satisfaction"] = "five"
    frame.loc[1, "sla_met"] = "maybe"
    good, quarantine = validate_canonical("tickets", frame, "tickets", DECODED)
    assert good["source_row"].tolist() == [4]
    assert sorted(quarantine["reason"]) == [
        "satisfaction 'five' is not a number",
        "sla_met 'maybe' is not true/false",
    ]


def test_employees_termination_before_hire_and_missing_department() -> None:
    frame = pd.DataFrame(
        {
            "snapshot_period": ["2026-03"] * 3,
            "employee_id": ["a", "b", "c"],
            "department": ["IT", None, "HR"],
            "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2021-06-01"]),
            "termination_date": pd.to_datetime([None, None, "2021-01-31"]),
            "termination_type": [None, None, "voluntary"],
            "attrited": pd.array([pd.NA] * 3, dtype="boolean"),
            **_provenance(3),
        }
    )
    good, quarantine = validate_canonical("employees", frame, "hr", DECODED)
    assert good["employee_id"].tolist() == ["a"]
    assert sorted(quarantine["reason"]) == [
        "department is missing",
        "termination_date 2021-01-31 is before hire_date 2021-06-01",
    ]


def test_external_metric_ranges_depend_on_the_metric() -> None:
    frame = pd.DataFrame(
        {
            "period": ["2026-03"] * 3,
            "business_unit": ["A", "B", "C"],
            "metric": ["nps", "csat_pct", "csat_pct"],
            "department": [None] * 3,
            "value": [-40.0, 101.0, 80.0],
            "n_responses": pd.array([10, 10, 10], dtype="Int64"),
            "value_ci_low": [-60.0, 95.0, 85.0],
            "value_ci_high": [-20.0, 105.0, 95.0],
            "source_file": ["x"] * 3,
            "source_sha256": [SHA] * 3,
            "source_row": [2, 3, 4],
        }
    )
    good, quarantine = validate_canonical("external_metrics", frame, "external", DECODED)
    assert good["business_unit"].tolist() == ["A"]
    assert "source_row" not in good.columns  # the aggregate table has no source_row
    assert dict(zip(quarantine["source_row"], quarantine["reason"], strict=True)) == {
        3: "csat_pct value 101 is outside 0-100",
        4: "the interval 85 to 95 does not contain the value 80",
    }


def test_a_frame_missing_a_column_is_a_reader_bug() -> None:
    with pytest.raises(ValueError, match="lacks canonical columns"):
        validate_canonical("tickets", _tickets(1).drop(columns=["priority"]), "tickets", DECODED)


def test_many_rows_validate_vectorised() -> None:
    n = 200_000
    frame = _ratings([50.0]).iloc[np.zeros(n, dtype=int)].reset_index(drop=True)
    frame["respondent_id"] = [f"r{i}" for i in range(n)]
    frame["source_row"] = np.arange(2, n + 2)
    frame.loc[::1000, "score"] = 130.0
    good, quarantine = validate_canonical("survey_ratings", frame, "surveys", DECODED)
    assert len(good) == n - 200 and len(quarantine) == 200
