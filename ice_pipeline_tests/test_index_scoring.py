"""ICE-P, dimensions, matrix, consumer view, ICE, ranks and trend on hand-worked fixtures."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from ice_pipeline.errors import ConfigError
from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.index.scoring import (
    SCORE_TABLES,
    add_trend,
    compute_period_scores,
    rank_providers,
    table_columns,
)


def ratings_frame(
    rows: list[tuple], period: str = "2026-01", scale: tuple[float, float] = (1, 5)
) -> pd.DataFrame:
    """(respondent, consumer, provider, dimension, raw) tuples -> survey_ratings rows."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "respondent_id",
            "consumer_department",
            "provider_department",
            "dimension",
            "rating_raw",
        ],
    )
    frame["period"] = period
    frame["scale_min"], frame["scale_max"] = float(scale[0]), float(scale[1])
    frame["reversed"] = False
    frame["rating_raw"] = frame["rating_raw"].astype(float)
    frame["score"] = to_score(
        frame["rating_raw"], frame["scale_min"], frame["scale_max"], frame["reversed"]
    )
    frame["favourable"] = is_favourable(
        frame["rating_raw"], frame["scale_min"], frame["scale_max"], frame["reversed"]
    )
    return frame


# The worked example of docs/methodology.md: five respondents rate IT on 1-5.
WORKED_EXAMPLE = [
    ("R1", "Sales", "IT", "speed", 5),
    ("R1", "Sales", "IT", "quality", 4),
    ("R1", "Sales", "IT", "communication", 4),
    ("R2", "Sales", "IT", "speed", 2),
    ("R3", "Sales", "IT", "quality", 4),
    ("R3", "Sales", "IT", "communication", 5),
    ("R4", "Operations", "IT", "speed", 4),
    ("R4", "Operations", "IT", "quality", 4),
    ("R5", "Operations", "IT", "communication", 1),
]


def kpis_frame(period: str, ice_k: dict[str, float], tickets: int = 100) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": period,
            "provider_department": list(ice_k),
            "tickets_n": tickets,
            "ice_k": list(ice_k.values()),
        }
    )


def test_worked_example_is_respondent_first() -> None:
    tables = compute_period_scores(
        ratings_frame(WORKED_EXAMPLE), kpis_frame("2026-01", {"IT": 80.0}), IndexConfig()
    )
    ice = tables["ice_scores"].iloc[0]
    # Respondent scores 83.33, 25, 87.5, 75, 0: the mean of respondents, not of the 9 ratings
    # (which would be 600 / 9 = 66.67).
    assert ice["n_respondents"] == 5
    assert ice["ice_p"] == pytest.approx(54.1667, abs=1e-4)
    interval = scipy_stats.ttest_1samp([250 / 3, 25, 87.5, 75, 0], 0).confidence_interval(0.95)
    assert ice["ice_p_ci_low"] == pytest.approx(max(interval.low, 0.0))
    assert ice["ice_p_ci_high"] == 100.0  # 102.97 clipped to the top of the scale
    assert interval.high == pytest.approx(102.97, abs=0.01)
    # Favourable (top two boxes) per respondent: 3/3, 0/1, 2/2, 2/2, 0/1 -> 3 of 5 = 60 %.
    assert ice["favourable_pct"] == pytest.approx(60.0)
    wilson = scipy_stats.binomtest(3, 5).proportion_ci(0.95, method="wilson")
    assert ice["favourable_pct_ci_low"] == pytest.approx(100 * wilson.low)
    assert ice["favourable_pct_ci_high"] == pytest.approx(100 * wilson.high)
    # ICE = 0.7 * 54.1667 + 0.3 * 80 = 61.9167.
    assert ice["ice_k"] == 80.0
    assert ice["ice"] == pytest.approx(61.9167, abs=1e-4)
    assert not ice["no_tickets"] and not ice["suppressed"] and ice["rank"] == 1
    company = tables["company_scores"].iloc[0]
    assert company["ice_p"] == pytest.approx(54.1667, abs=1e-4)
    assert company["ice"] == pytest.approx(61.9167, abs=1e-4)
    # Every dimension, matrix cell and consumer department rests on fewer than 5 respondents.
    assert tables["dimension_scores"]["suppressed"].all()
    assert tables["dimension_scores"]["score"].isna().all()
    assert tables["dimension_scores"]["n_respondents"].tolist() == [3, 3, 3]  # still counted
    matrix = tables["matrix_scores"]
    assert matrix["suppressed"].all() and matrix["n_respondents"].isna().all()
    assert (matrix["suppression_reason"] == "small_group").all()
    assert tables["consumer_satisfaction"]["score"].isna().all()


def test_outputs_have_exactly_the_schema_columns() -> None:
    tables = compute_period_scores(ratings_frame(WORKED_EXAMPLE), None, IndexConfig())
    for name in SCORE_TABLES:
        assert list(tables[name].columns) == table_columns(name)


def test_provider_without_tickets_gets_ice_equal_to_ice_p() -> None:
    tables = compute_period_scores(ratings_frame(WORKED_EXAMPLE), None, IndexConfig())
    ice = tables["ice_scores"].iloc[0]
    assert ice["no_tickets"]
    assert np.isnan(ice["ice_k"])
    assert ice["ice"] == pytest.approx(ice["ice_p"])


def test_consumer_satisfaction_averages_each_respondents_provider_means() -> None:
    rows = []
    # Five Sales respondents: each rates IT on two dimensions and HR on one.
    for i, (it_a, it_b, hr) in enumerate([(5, 5, 1), (5, 3, 1), (4, 4, 3), (2, 2, 5), (3, 5, 1)]):
        rows += [
            (f"S{i}", "Sales", "IT", "speed", it_a),
            (f"S{i}", "Sales", "IT", "quality", it_b),
            (f"S{i}", "Sales", "HR", "speed", hr),
        ]
    tables = compute_period_scores(ratings_frame(rows), None, IndexConfig())
    # Respondent: mean of (IT mean, HR score): (100+0)/2, (75+0)/2, (75+50)/2, (25+100)/2, (75+0)/2
    expected = np.mean([50.0, 37.5, 62.5, 62.5, 37.5])
    consumer = tables["consumer_satisfaction"].iloc[0]
    assert consumer["consumer_department"] == "Sales"
    assert consumer["n_respondents"] == 5
    assert consumer["score"] == pytest.approx(expected)
    assert tables["company_scores"]["ice_p"].iloc[0] == pytest.approx(expected)
    ice = tables["ice_scores"].set_index("provider_department")
    assert ice.loc["IT", "ice_p"] == pytest.approx(np.mean([100, 75, 75, 25, 75]))
    assert ice.loc["HR", "ice_p"] == pytest.approx(np.mean([0, 0, 50, 100, 0]))
    dims = tables["dimension_scores"].set_index(["provider_department", "dimension"])
    assert dims.loc[("IT", "quality"), "score"] == pytest.approx(np.mean([100, 50, 75, 25, 100]))
    # One answer per respondent per dimension: the Wilson interval is exactly binomial.
    wilson = scipy_stats.binomtest(3, 5).proportion_ci(0.95, method="wilson")
    assert dims.loc[("IT", "quality"), "favourable_pct"] == pytest.approx(60.0)
    assert dims.loc[("IT", "quality"), "favourable_pct_ci_low"] == pytest.approx(100 * wilson.low)


def test_reversed_items_are_mirrored() -> None:
    assert to_score(2.0, 1.0, 5.0, True) == pytest.approx(75.0)
    assert to_score(4.0, 1.0, 5.0, False) == pytest.approx(75.0)
    assert to_score(7.0, 0.0, 10.0, False) == pytest.approx(70.0)
    assert is_favourable(2.0, 1.0, 5.0, True) is True
    assert is_favourable(3.0, 1.0, 5.0, False) is False
    assert is_favourable(9.0, 0.0, 10.0, False) is True
    assert is_favourable(8.0, 0.0, 10.0, False) is False
    assert is_favourable(6.0, 1.0, 7.0, False) is True
    series = pd.Series([1.0, 5.0], index=[10, 11])
    scored = to_score(series, 1.0, 5.0, pd.Series([False, True], index=[10, 11]))
    assert scored.index.tolist() == [10, 11] and scored.tolist() == [0.0, 0.0]


def test_ranks_share_a_rank_on_equal_published_figures() -> None:
    ice = pd.DataFrame(
        {"ice": [70.04, 70.01, 65.0, 90.0, np.nan], "suppressed": [False, False, False, True, True]}
    )
    assert rank_providers(ice, IndexConfig()).tolist() == [1, 1, 3, pd.NA, pd.NA]


def _random_period(
    rng: np.random.Generator, period: str, shift: dict[str, float], n: int
) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for provider in ("IT", "HR"):
            base = 3 + shift.get(provider, 0)
            for dimension in ("speed", "quality"):
                raw = int(np.clip(np.round(base + rng.normal(0, 1)), 1, 5))
                rows.append((f"{period}-{i}", f"C{i % 3}", provider, dimension, raw))
    return ratings_frame(rows, period)


def test_trend_equals_welch_interval_on_respondent_scores() -> None:
    rng = np.random.default_rng(5)
    before = _random_period(rng, "2026-01", {}, 30)
    now = _random_period(rng, "2026-02", {"IT": 1.2}, 25)
    config = IndexConfig()
    previous = compute_period_scores(before, None, config)
    current = compute_period_scores(now, None, config)
    trended = add_trend(current["ice_scores"], previous["ice_scores"], now, before, config)
    it = trended.set_index("provider_department").loc["IT"]

    def provider_scores(frame: pd.DataFrame) -> np.ndarray:
        rows = frame[frame["provider_department"] == "IT"]
        return rows.groupby("respondent_id")["score"].mean().to_numpy()

    welch = scipy_stats.ttest_ind(provider_scores(now), provider_scores(before), equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert it["ice_p_change"] == pytest.approx(
        provider_scores(now).mean() - provider_scores(before).mean()
    )
    assert it["ice_p_change_ci_low"] == pytest.approx(interval.low)
    assert it["ice_p_change_ci_high"] == pytest.approx(interval.high)
    assert it["change_significant"] == bool(interval.low > 0 or interval.high < 0)
    assert it["change_significant"]  # a planted shift of 1.2 scale points (30 score points)

    company = add_trend(current["company_scores"], previous["company_scores"], now, before, config)

    def respondent_scores(frame: pd.DataFrame) -> np.ndarray:
        per_provider = frame.groupby(["respondent_id", "provider_department"])["score"].mean()
        return per_provider.groupby(level=0).mean().to_numpy()

    interval = scipy_stats.ttest_ind(
        respondent_scores(now), respondent_scores(before), equal_var=False
    ).confidence_interval(0.95)
    assert company["ice_p_change_ci_low"].iloc[0] == pytest.approx(interval.low)
    assert company["ice_p_change_ci_high"].iloc[0] == pytest.approx(interval.high)


def test_trend_is_null_when_either_period_is_suppressed_or_missing() -> None:
    rng = np.random.default_rng(6)
    before = _random_period(rng, "2026-01", {}, 4)  # 4 respondents: suppressed
    now = _random_period(rng, "2026-02", {}, 20)
    config = IndexConfig()
    previous = compute_period_scores(before, None, config)
    current = compute_period_scores(now, None, config)
    assert previous["ice_scores"]["suppressed"].all()
    trended = add_trend(current["ice_scores"], previous["ice_scores"], now, before, config)
    assert trended["ice_p_change"].isna().all()
    assert trended["change_significant"].isna().all()
    first = add_trend(current["ice_scores"], None, now, None, config)
    assert first["ice_p_change"].isna().all()
    assert list(first.columns) == table_columns("ice_scores")


def test_k_below_three_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        IndexConfig.from_section({"k_min_respondents": 2})
    assert raised.value.setting == "index.k_min_respondents"
    assert "fix" in str(raised.value).lower()


def test_config_from_section_reads_keys_and_rejects_unknown_ones() -> None:
    config = IndexConfig.from_section(
        {
            "k_min_respondents": 7,
            "comment_min_group": 12,
            "weight_ice_p": 0.6,
            "weight_ice_k": 0.4,
            "lags": [0, 2],
        }
    )
    assert (config.k_min_respondents, config.weight_ice_k, config.lags) == (7, 0.4, (0, 2))
    assert IndexConfig.from_section(None) == IndexConfig()
    with pytest.raises(ConfigError) as raised:
        IndexConfig.from_section({"k_min": 5})
    assert raised.value.setting == "index.k_min"
    with pytest.raises(ConfigError, match="sum to 1"):
        IndexConfig.from_section({"weight_ice_p": 0.5})
    with pytest.raises(ConfigError, match="expected a number"):
        IndexConfig.from_section({"alpha": "0.05"})
    with pytest.raises(ConfigError) as raised:
        IndexConfig.from_section({"k_min_respondents": 4.5})
    assert raised.value.setting == "index.k_min_respondents"


def test_defaults_are_the_documented_ones() -> None:
    config = IndexConfig()
    assert config.k_min_respondents == 5 and config.comment_min_group == 10
    assert (config.weight_ice_p, config.weight_ice_k) == (0.7, 0.3)
    assert config.min_pairs_for_correlation == 8 and config.lags == (0, 1, 2, 3)
    assert config.alpha == 0.05 and config.resolution_target_hours == 24.0
