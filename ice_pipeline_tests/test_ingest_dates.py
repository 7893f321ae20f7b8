"""parse_dates: long columns parsed once per distinct value give exactly the per-row result."""

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.ingest import common


def _column() -> pd.Series:
    rng = np.random.default_rng(1)
    n = 3_000
    stamps = [
        f"{d:02d}-{m:02d}-2026 {h:02d}:{mi:02d}"
        for d, m, h, mi in zip(
            rng.integers(10, 16, n),
            rng.integers(1, 5, n),
            rng.integers(0, 8, n),
            rng.integers(0, 3, n),
            strict=True,
        )
    ]
    odd = ["", None, "garbage", "2026-10-03T14:05:22Z", "03/04/2026", " 31-01-2026 ", "NA"]
    return pd.Series(stamps + odd * 30, dtype=object)


@pytest.mark.parametrize("order", ["DMY", "MDY", "YMD"])
def test_distinct_value_parsing_equals_row_by_row(order: str) -> None:
    raw = _column()
    codes, uniques = pd.factorize(raw)
    assert len(raw) >= common._DISTINCT_MIN_ROWS
    assert len(uniques) <= common._DISTINCT_MAX_SHARE * len(raw)  # the distinct path is taken
    fast = common.parse_dates(raw, order)
    slow = common._parse_dates(raw, order)
    for name in ("values", "invalid", "ambiguous"):
        pd.testing.assert_series_equal(getattr(fast, name), getattr(slow, name), check_names=False)
    if slow.other_order_values is None:
        assert fast.other_order_values is None
    else:
        pd.testing.assert_series_equal(
            fast.other_order_values, slow.other_order_values, check_names=False
        )
    assert fast.invalid.any() and fast.values.notna().any()
    if order != "YMD":
        assert fast.ambiguous.any()
