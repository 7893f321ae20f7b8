"""Anonymity: primary and complementary suppression; the disclosure checker failing and passing."""

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.scoring import compute_period_scores
from ice_pipeline.index.suppression import find_disclosures, publishable_comments

from .test_index_scoring import ratings_frame

# Respondents per (provider, consumer); each respondent rates exactly one provider.
#        C1  C2  C3
#   P1    8   6   2
#   P2    7   9   6
#   P3   10   5   8
COUNTS = {
    ("P1", "C1"): 8,
    ("P1", "C2"): 6,
    ("P1", "C3"): 2,
    ("P2", "C1"): 7,
    ("P2", "C2"): 9,
    ("P2", "C3"): 6,
    ("P3", "C1"): 10,
    ("P3", "C2"): 5,
    ("P3", "C3"): 8,
}


def matrix_ratings() -> pd.DataFrame:
    rows = []
    for (provider, consumer), count in COUNTS.items():
        for i in range(count):
            raw = 1 + (i * 7 + len(provider + consumer) * 3) % 5
            rows.append((f"{provider}{consumer}-{i}", consumer, provider, "speed", raw))
    return ratings_frame(rows)


def test_complementary_suppression_on_a_three_by_three_matrix() -> None:
    tables = compute_period_scores(matrix_ratings(), None, IndexConfig())
    matrix = tables["matrix_scores"].set_index(["provider_department", "consumer_department"])
    reasons = matrix["suppression_reason"].dropna().to_dict()
    # Worked by hand (docs/methodology.md): (P1,C3) has 2 respondents. Row P1 would then have one
    # hidden cell, so its smallest other cell (P1,C2: 6) goes too; column C2 then has one hidden
    # cell, so (P3,C2: 5) goes; row P3 then has one, so (P3,C3: 8, smaller than P3,C1: 10) goes.
    # Every row and column now has 0 or at least 2 hidden cells.
    assert reasons == {
        ("P1", "C3"): "small_group",
        ("P1", "C2"): "complementary",
        ("P3", "C2"): "complementary",
        ("P3", "C3"): "complementary",
    }
    hidden = matrix[matrix["suppressed"].astype(bool)]
    assert hidden["n_respondents"].isna().all() and hidden["score"].isna().all()
    shown = matrix[~matrix["suppressed"].astype(bool)]
    assert shown["n_respondents"].astype(int).to_dict() == {
        ("P1", "C1"): 8,
        ("P2", "C1"): 7,
        ("P2", "C2"): 9,
        ("P2", "C3"): 6,
        ("P3", "C1"): 10,
    }
    assert shown["score"].notna().all()
    # Totals stay published: ICE-P per provider and satisfaction per consumer department.
    assert not tables["ice_scores"]["suppressed"].any()
    assert tables["consumer_satisfaction"]["n_respondents"].tolist() == [25, 20, 16]
    assert find_disclosures(tables, 5) == []


def test_checker_flags_a_cell_derivable_by_subtraction() -> None:
    tables = compute_period_scores(matrix_ratings(), None, IndexConfig())
    leaky = {name: frame.copy() for name, frame in tables.items()}
    matrix = leaky["matrix_scores"]
    # Publish (P1,C2) again: row P1 now hides only (P1,C3), whose 2 respondents and mean
    # follow from ICE-P of P1 minus the two published cells.
    cell = (matrix["provider_department"] == "P1") & (matrix["consumer_department"] == "C2")
    matrix.loc[cell, ["suppressed", "suppression_reason", "n_respondents", "score"]] = [
        False,
        None,
        6,
        55.0,
    ]
    problems = find_disclosures(leaky, 5)
    assert any("matrix row of provider 'P1'" in p and "exactly one" in p for p in problems)


def test_checker_flags_published_small_groups_and_counts() -> None:
    tables = compute_period_scores(matrix_ratings(), None, IndexConfig())
    leaky = {name: frame.copy() for name, frame in tables.items()}
    dims = leaky["dimension_scores"]
    dims.loc[0, "n_respondents"] = 4  # a published score resting on 4 respondents
    matrix = leaky["matrix_scores"]
    hidden = matrix["suppressed"].astype(bool)
    matrix.loc[hidden.idxmax(), "n_respondents"] = 2  # a suppressed cell showing its count
    problems = find_disclosures(leaky, 5)
    assert any(p.startswith("dimension_scores:") and "4 respondents" in p for p in problems)
    assert any(p.startswith("matrix_scores:") and "shows its count 2" in p for p in problems)
    flagged_with_value = {name: frame.copy() for name, frame in tables.items()}
    cell = flagged_with_value["matrix_scores"]
    cell.loc[cell["suppressed"].astype(bool).idxmax(), "score"] = 40.0
    assert any(
        "flagged suppressed but shows values" in p for p in find_disclosures(flagged_with_value, 5)
    )


def test_checker_flags_two_hidden_cells_that_together_are_under_k() -> None:
    matrix = pd.DataFrame(
        {
            "period": "2026-01",
            "provider_department": "P1",
            "consumer_department": ["C1", "C2", "C3"],
            "n_respondents": [pd.NA, pd.NA, 20],
            "suppressed": [True, True, False],
            "suppression_reason": ["small_group"] * 2 + [None],
            "score": [np.nan, np.nan, 60.0],
        }
    )
    ice = pd.DataFrame(
        {
            "period": "2026-01",
            "provider_department": ["P1"],
            "n_respondents": [24],
            "suppressed": [False],
            "ice_p": [58.0],
        }
    )
    problems = find_disclosures({"matrix_scores": matrix, "ice_scores": ice}, 5)
    assert problems == [
        "period 2026-01: matrix row of provider 'P1': the suppressed cells "
        "together hold 4 respondents (under k = 5), derivable from the published total"
    ]


def test_one_small_consumer_department_is_protected_against_the_company_total() -> None:
    rows = []
    for consumer, count in {"Sales": 12, "Ops": 9, "Legal": 3}.items():
        for i in range(count):
            for provider in ("IT", "HR"):
                rows.append((f"{consumer}{i}", consumer, provider, "speed", 1 + i % 5))
    tables = compute_period_scores(ratings_frame(rows), None, IndexConfig())
    consumers = tables["consumer_satisfaction"].set_index("consumer_department")
    # Legal (3) is under k; Ops (9, the next smallest) is hidden too, or Legal's mean would be
    # the company mean times 24 minus the others.
    assert consumers["suppressed"].to_dict() == {"Legal": True, "Ops": True, "Sales": False}
    assert consumers["n_respondents"].isna().tolist() == [True, True, False]
    assert find_disclosures(tables, 5) == []


@pytest.mark.parametrize("seed", range(12))
def test_random_organisations_disclose_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    providers = [f"P{i}" for i in range(rng.integers(2, 6))]
    consumers = [f"C{i}" for i in range(rng.integers(2, 8))]
    one_provider_each = bool(seed % 2)  # exercises the additive provider margin too
    rows = []
    for r in range(int(rng.integers(10, 120))):
        consumer = consumers[min(int(rng.exponential(1.5)), len(consumers) - 1)]
        rated = (
            [providers[int(rng.integers(len(providers)))]]
            if one_provider_each
            else list(
                rng.choice(providers, size=int(rng.integers(1, len(providers) + 1)), replace=False)
            )
        )
        for provider in rated:
            for dimension in rng.choice(
                ["a", "b", "c"], size=int(rng.integers(1, 4)), replace=False
            ):
                rows.append((f"r{r}", consumer, provider, dimension, int(rng.integers(1, 6))))
    config = IndexConfig(k_min_respondents=int(rng.integers(3, 7)))
    tables = compute_period_scores(ratings_frame(rows), None, config)
    assert find_disclosures(tables, config.k_min_respondents) == []
    # The checker can fail: publishing any suppressed matrix cell's count is caught.
    matrix = tables["matrix_scores"]
    hidden = matrix["suppressed"].astype(bool)
    if hidden.any():
        leaky = dict(tables)
        leaky["matrix_scores"] = matrix.assign(n_respondents=matrix["n_respondents"].fillna(1))
        assert find_disclosures(leaky, config.k_min_respondents)


def test_comments_only_for_groups_of_at_least_ten() -> None:
    ice = pd.DataFrame(
        {
            "period": "2026-01",
            "provider_department": ["IT", "HR", "Legal"],
            "n_respondents": [10, 9, 30],
            "suppressed": [False, False, True],
        }
    )
    comments = pd.DataFrame(
        {
            "period": "2026-01",
            "respondent_id": ["a", "b", "c", "d"],
            "provider_department": ["IT", "HR", "IT", "Legal"],
            "consumer_department": ["Sales", "Sales", "Ops", "Ops"],
            "comment_text": ["slow", "fine", "<script>x</script>", "ok"],
        }
    )
    shown = publishable_comments(comments, ice, IndexConfig().comment_min_group)
    assert list(shown.columns) == ["period", "provider_department", "comment_text"]
    assert shown["comment_text"].tolist() == ["<script>x</script>", "slow"]
