"""The per-distinct-value shortcuts of the ticket reader give exactly the per-row results.

``period_per_row`` formats one key per month instead of one per timestamp; priority and
satisfaction are parsed once per distinct text. Each is compared with the per-row computation
it replaces, on values chosen to hit every branch (missing cells, unknown text, labels, digits).
"""

import random

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.ingest import ticket_fields
from ice_pipeline.ingest.common import period_of
from ice_pipeline.ingest.table_dates import period_per_row

TEXTS = [
    "1 - Critical",
    "2 - High",
    " low ",
    "Highest",
    "Urgent",
    "MEDIUM",
    "weird",
    None,
    "9",
    "good",
    "bad with comment",
    "offered",
    "4",
    "4.5",
    "",
]
MAPPINGS = [{}, {"priority_values": {"weird": 2}, "satisfaction_values": {"weird": 3}}]


@pytest.mark.parametrize("cadence", ["month", "quarter"])
@pytest.mark.parametrize("n", [0, 1, 50, 5000])
def test_period_per_row_equals_period_of(cadence: str, n: int) -> None:
    rng = np.random.default_rng(n)
    low, high = pd.Timestamp("1700-01-01").value, pd.Timestamp("2250-01-01").value
    stamps = pd.Series(
        pd.to_datetime(rng.integers(low, high, n)), index=rng.permutation(n) + 11
    ).astype("datetime64[ns]")
    stamps[stamps.index[::7]] = pd.NaT
    expected = period_of(stamps, cadence)
    pd.testing.assert_series_equal(period_per_row(stamps, cadence), expected)
    assert expected.notna().sum() == n - len(stamps.index[::7])


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize(
    ("fast", "per_row"),
    [
        (ticket_fields.parse_priority, ticket_fields._parse_priority),
        (ticket_fields.parse_satisfaction, ticket_fields._parse_satisfaction),
    ],
)
def test_parsing_per_distinct_value_equals_parsing_every_row(
    fast: object, per_row: object, mapping: dict
) -> None:
    rnd = random.Random(5)
    raw = pd.Series([rnd.choice(TEXTS) for _ in range(3000)], index=range(5, 3005), dtype=object)
    values, reasons = fast(raw, mapping)  # type: ignore[operator]
    want_values, want_reasons = per_row(raw, mapping)  # type: ignore[operator]
    pd.testing.assert_series_equal(values, want_values)
    assert reasons.notna().tolist() == want_reasons.notna().tolist()
    assert reasons.dropna().tolist() == want_reasons.dropna().tolist()
    assert reasons.notna().any()  # unknown text is reported
