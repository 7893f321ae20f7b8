"""The worked examples of docs/methodology.md section 11 (issue 14), computed by the code."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.drivers import shapley_shares, subset_r2
from ice_pipeline.index.movers import relative_change
from ice_pipeline.index.participation import response_rates

DOC = (Path(__file__).resolve().parent.parent / "docs" / "methodology.md").read_text("utf-8")


def test_relative_movers_example():
    difference, low, high, moved = relative_change(
        np.array([5.0, 11.0]),
        np.array([3.0, 8.6]),
        np.array([7.0, 13.4]),
        4.2,
        3.2,
        5.2,
        family_size=10,
    )
    assert difference == pytest.approx([0.8, 6.8])
    assert f"{low[0]:.2f} to +{high[0]:.2f}" == "-2.40 to +4.00"
    assert f"+{low[1]:.2f} to +{high[1]:.2f}" == "+3.08 to +10.52"
    assert moved.tolist() == [False, True]
    for text in ("**-2.40 to +4.00**", "**+3.08 to +10.52**", "z = 2.807"):
        assert text in DOC


def test_key_driver_example():
    correlation = np.array([[1.0, 0.3, 0.6], [0.3, 1.0, 0.5], [0.6, 0.5, 1.0]])
    r2 = subset_r2(correlation)
    shares = shapley_shares(r2)
    assert f"{r2[-1]:.4f}" == "0.4725"
    assert [f"{share:.4f}" for share in shares] == ["0.2913", "0.1813"]
    assert [f"{100 * share / r2[-1]:.1f}%" for share in shares] == ["61.6%", "38.4%"]
    for text in ("**0.4725**", "**0.2913**", "**0.1813**", "**61.6%**", "**38.4%**"):
        assert text in DOC


def test_participation_example():
    frame = response_rates(
        "2026-10",
        pd.DataFrame(
            {
                "period": ["2026-10"],
                "consumer_department": ["Sales"],
                "n_respondents": [105],
                "suppressed": [False],
            }
        ),
        None,
        pd.DataFrame({"period": ["2026-10"], "department": ["Sales"], "headcount_avg": [250.0]}),
        k=5,
    )
    assert frame.loc[0, "rate_pct"] == 42.0 and not frame.loc[0, "low"]
    assert "**105 respondents of 250 staff = 42%**" in DOC
