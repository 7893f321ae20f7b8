"""The worked examples of docs/methodology.md section 11 (issue 14), computed by the code."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.drivers import shapley_shares, subset_r2
from ice_pipeline.index.movers import pooled_change, relative_change
from ice_pipeline.index.participation import response_rates
from ice_pipeline.reports.views_drivers import focus_areas
from ice_pipeline.warehouse import schema

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


def test_dimension_movers_example():
    change, low, high = pooled_change(
        np.array([72.0, 64.0]),
        np.array([70.0, 61.0]),
        np.array([74.0, 67.0]),
        np.array([64.0, 57.0]),
        np.array([62.0, 55.0]),
        np.array([66.0, 59.0]),
        np.array([300.0, 100.0]),
    )
    assert f"+{change:.2f}" == "+7.75"
    assert f"+{low:.2f} to +{high:.2f}" == "+4.74 to +10.76"
    difference, rel_low, rel_high, moved = relative_change(
        np.array([change]), np.array([low]), np.array([high]), 1.0, 0.2, 1.8, family_size=5
    )
    assert difference[0] == pytest.approx(6.75)
    assert f"+{rel_low[0]:.2f} to +{rel_high[0]:.2f}" == "+2.66 to +10.84"
    assert moved.tolist() == [True]
    for text in ("**+7.75**", "**+4.74 to +10.76**", "**+2.66 to +10.84**", "z = 2.576"):
        assert text in DOC


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = [column.name for column in schema.metadata.tables[f"ice.{table}"].columns]
    return pd.DataFrame(rows).reindex(columns=columns)


def test_focus_area_example():
    period = "2026-10"
    scores = dict(zip("ABCDE", (60.0, 65.0, 70.0, 75.0, 80.0), strict=True))
    dimension_scores = _frame(
        "dimension_scores",
        [
            {
                "period": period,
                "provider_department": provider,
                "dimension": "speed",
                "n_respondents": 100,
                "suppressed": False,
                "score": score,
                "score_ci_low": score - 3,
                "score_ci_high": score + 3,
            }
            for provider, score in scores.items()
        ],
    )
    shares = {"A": (45.0, 30.0, 25.0), "B": (40.0, 30.0, 30.0)}
    key_drivers = _frame(
        "key_drivers",
        [
            {
                "period": period,
                "provider_department": provider,
                "dimension": dimension,
                "outcome": "overall",
                "outcome_source": "item",
                "n_respondents": 100,
                "suppressed": False,
                "r_squared": 0.5,
                "importance_pct": share,
                "importance_pct_ci_low": share - 5,
                "importance_pct_ci_high": share + 5,
            }
            for provider, values in shares.items()
            for dimension, share in zip(("speed", "quality", "effort"), values, strict=True)
        ],
    )
    tables = {"dimension_scores": dimension_scores, "key_drivers": key_drivers}
    focus, strengths = focus_areas(period, tables, 5, {"speed": "Speed"})
    assert [(area.provider, area.dimension) for area in focus] == [("A", "Speed"), ("B", "Speed")]
    assert strengths == ()
    weights = [area.importance.value / 100 * (float(area.median_text) - area.score.value)
               for area in focus]  # fmt: skip
    assert [f"{weight:.1f}" for weight in weights] == ["4.5", "2.0"]
    assert "10.0 below the median provider (70.0)" in focus[0].sentence
    for text in ("**4.5**", "**2.0**"):
        assert text in DOC
