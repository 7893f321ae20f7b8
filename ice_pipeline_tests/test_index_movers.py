"""Movers are measured against the company (issue 14): a shared shift is one finding, not ten.

The fixture is respondent-level survey data for two periods, scored by the real index
(``compute_period_scores`` and ``add_trend``): in the second period every provider rises by about
4 points (the company shift) and one provider, P07, by about 12. Judged on its own change, nearly
every provider "moved"; judged against the company, only P07 did. The same for dimensions,
company-wide: with every dimension up by the company shift none moved; with one dimension
("communication") up 8 points more, across every provider, only it did.
"""

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.movers import (
    change_between,
    pooled_change,
    relative_change,
    standard_error,
)
from ice_pipeline.index.scoring import add_trend, compute_period_scores
from ice_pipeline.reports.views_common import Estimate
from ice_pipeline.reports.views_movers import (
    company_dimension_movers,
    dimension_changes,
    relative_movers,
)

PROVIDERS = [f"P{index:02d}" for index in range(1, 11)]
CONSUMERS = ["Sales", "Operations", "Engineering", "Support"]
DIMENSIONS = ["speed", "quality", "communication"]
COMPANY_SHIFT = 4.2
PLANTED = "P07"
PLANTED_EXTRA = 8.0
PLANTED_DIMENSION = "communication"


def _ratings(
    period: str, shift: float, seed: int, planted: bool, planted_dimension: bool = False
) -> pd.DataFrame:
    """600 respondents, each rating 4 random providers on 3 dimensions (0-100 scores)."""
    rng = np.random.default_rng(seed)
    rows = []
    for respondent in range(600):
        consumer = CONSUMERS[respondent % len(CONSUMERS)]
        person = rng.normal(0, 8)  # a respondent's general mood, shared across providers
        for provider in rng.choice(PROVIDERS, size=4, replace=False):
            base = 60 + 2 * PROVIDERS.index(provider) + shift + person
            base += PLANTED_EXTRA if (planted and provider == PLANTED and shift) else 0.0
            for dimension in DIMENSIONS:
                extra = PLANTED_EXTRA if planted_dimension and shift else 0.0
                extra = extra if dimension == PLANTED_DIMENSION else 0.0
                score = float(np.clip(base + extra + rng.normal(0, 12), 0, 100))
                rows.append((f"{period}-{respondent}", consumer, provider, dimension, score))
    frame = pd.DataFrame(
        rows,
        columns=[
            "respondent_id",
            "consumer_department",
            "provider_department",
            "dimension",
            "score",
        ],
    )
    frame["period"] = period
    frame["favourable"] = frame["score"] >= 75
    return frame


def _scored(planted: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ice_scores, company_scores) of the second period, with their changes."""
    config = IndexConfig()
    before_ratings = _ratings("2026-01", 0.0, 1, planted)
    now_ratings = _ratings("2026-02", COMPANY_SHIFT, 2, planted)
    before = compute_period_scores(before_ratings, None, config)
    now = compute_period_scores(now_ratings, None, config)
    ice = add_trend(now["ice_scores"], before["ice_scores"], now_ratings, before_ratings, config)
    company = add_trend(
        now["company_scores"], before["company_scores"], now_ratings, before_ratings, config
    )
    return ice, company


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _scored(planted=True)


@pytest.fixture(scope="module")
def shift_only() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _scored(planted=False)


def _estimate(row: pd.Series) -> Estimate:
    return Estimate(
        row["ice_p_change"], row["ice_p_change_ci_low"], row["ice_p_change_ci_high"], signed=True
    )


def test_company_shift_is_one_finding_and_the_planted_relative_mover_is_found(scored):
    ice, company = scored
    shared = _estimate(company.iloc[0])
    assert shared.ci_low > 0, "the fixture's company-wide shift must itself be significant"
    # Judged alone (the old report), most providers look like movers.
    assert ice["change_significant"].astype(bool).sum() >= 6
    panel = relative_movers(
        "The company as a whole",
        shared,
        [(row["provider_department"], _estimate(row)) for _, row in ice.iterrows()],
        "points of ICE-P",
    )
    assert panel.compared == len(PROVIDERS)
    assert [mover.name for mover in panel.movers] == [PLANTED]
    mover = panel.movers[0]
    assert mover.direction == "improved"
    assert mover.relative.ci_low > 0
    assert abs(mover.relative.value - PLANTED_EXTRA) < 3.5
    assert "The company as a whole changed by +" in panel.shared_sentence


def test_a_company_wide_shift_alone_produces_no_provider_movers(shift_only):
    ice, company = shift_only
    shared = _estimate(company.iloc[0])
    assert shared.ci_low > 0 and abs(shared.value - COMPANY_SHIFT) < 1.0
    assert ice["change_significant"].astype(bool).sum() >= 6  # alone, they all look like movers
    panel = relative_movers(
        "The company as a whole",
        shared,
        [(row["provider_department"], _estimate(row)) for _, row in ice.iterrows()],
        "points of ICE-P",
    )
    assert panel.movers == () and panel.compared == len(PROVIDERS)


def test_relative_interval_arithmetic():
    # se from a 95% interval: half-width / 1.959964.
    assert standard_error(np.array([1.0]), np.array([5.0]))[0] == pytest.approx(2 / 1.959964)
    difference, low, high, moved = relative_change(
        np.array([6.0, 2.0, np.nan]),
        np.array([4.0, 0.0, np.nan]),
        np.array([8.0, 4.0, np.nan]),
        2.0,
        1.0,
        3.0,
    )
    se = np.hypot(2 / 1.959964, 1 / 1.959964)
    assert difference[:2] == pytest.approx([4.0, 0.0])
    assert low[0] == pytest.approx(4.0 - 1.959964 * se)
    assert high[1] == pytest.approx(1.959964 * se)
    assert moved.tolist() == [True, False, False]
    # Simultaneous over 3 comparisons: z = 2.394 (two-sided 0.05 / 3) instead of 1.960.
    _, low3, _, _ = relative_change(
        np.array([6.0]), np.array([4.0]), np.array([8.0]), 2.0, 1.0, 3.0, family_size=3
    )
    assert low3[0] == pytest.approx(4.0 - 2.393980 * se, abs=1e-5)
    change, change_low, change_high = change_between(
        np.array([70.0]), np.array([68.0]), np.array([72.0]),
        np.array([65.0]), np.array([64.0]), np.array([66.0]),
    )  # fmt: skip
    assert change[0] == 5.0
    assert change_high[0] - change[0] == pytest.approx(1.959964 * np.hypot(2, 1) / 1.959964)


def test_withheld_changes_are_not_compared():
    panel = relative_movers(
        "The company as a whole",
        Estimate(1.0, 0.5, 1.5, signed=True),
        [("A", Estimate(None, withheld="fewer than 5 responses")), ("B", Estimate(None))],
        "points",
    )
    assert panel.compared == 0 and panel.movers == ()


def _dimension_tables(planted_dimension: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(dimension_scores of both periods, company_scores of the second with its change)."""
    config = IndexConfig()
    before_ratings = _ratings("2026-01", 0.0, 3, False)
    now_ratings = _ratings("2026-02", COMPANY_SHIFT, 4, False, planted_dimension)
    before = compute_period_scores(before_ratings, None, config)
    now = compute_period_scores(now_ratings, None, config)
    company = add_trend(
        now["company_scores"], before["company_scores"], now_ratings, before_ratings, config
    )
    dimensions = pd.concat([before["dimension_scores"], now["dimension_scores"]])
    return dimensions, company


def _label(code: str) -> str:
    return code.capitalize()


def test_a_company_wide_shift_alone_produces_no_dimension_movers():
    dimensions, company = _dimension_tables(planted_dimension=False)
    shared = _estimate(company.iloc[0])
    changes = dimension_changes("2026-02", dimensions, k=5)
    # Alone, every dimension rose significantly (by about the shift)...
    assert sorted(changes) == sorted(DIMENSIONS)
    assert all(change.ci_low > 0 for change in changes.values())
    assert all(abs(change.value - COMPANY_SHIFT) < 1.5 for change in changes.values())
    # ...against the company, none moved.
    panel = company_dimension_movers("2026-02", dimensions, shared, _label, k=5)
    assert panel.compared == len(DIMENSIONS) and panel.movers == ()


def test_the_planted_relative_dimension_mover_is_found():
    dimensions, company = _dimension_tables(planted_dimension=True)
    shared = _estimate(company.iloc[0])
    panel = company_dimension_movers("2026-02", dimensions, shared, _label, k=5)
    assert [mover.name for mover in panel.movers] == ["Communication"]
    mover = panel.movers[0]
    assert mover.direction == "improved" and mover.relative.ci_low > 0
    # ICE-P averages the three dimensions, so it rose by a third of the planted extra too.
    expected = PLANTED_EXTRA - PLANTED_EXTRA / len(DIMENSIONS)
    assert abs(mover.relative.value - expected) < 2.0
    assert "Communication changed by +" in mover.sentence


def test_pooled_change_is_weighted_and_conservative():
    """sum(w se) per period (any correlation between providers), periods independent."""
    change, low, high = pooled_change(
        np.array([70.0, 60.0, np.nan]),
        np.array([68.0, 56.0, 0.0]),
        np.array([72.0, 64.0, 0.0]),
        np.array([66.0, 59.0, 50.0]),
        np.array([64.0, 57.0, 48.0]),
        np.array([68.0, 61.0, 52.0]),
        np.array([300.0, 100.0, 50.0]),
    )
    assert change == pytest.approx(0.75 * 4 + 0.25 * 1)
    z = 1.959964
    se_now = 0.75 * 2 / z + 0.25 * 4 / z
    se_before = 0.75 * 2 / z + 0.25 * 2 / z
    assert high - change == pytest.approx(z * np.hypot(se_now, se_before), rel=1e-6)
    assert change - low == pytest.approx(high - change)
