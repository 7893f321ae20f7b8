"""Disclosure control (issue 11, items 1 and 5): the interval audit, additivity, and HR figures.

Attack 2 (one provider per respondent: a consumer department's satisfaction is the n-weighted sum
of its matrix column) and attack 4 (a one-person department publishing "leavers 1, involuntary
1") are reproduced on small organisations built here: the pipeline's output discloses nothing,
and ``find_disclosures`` flags the leaky publication the previous rules let through. The interval
audit is checked against bounds worked out by hand.
"""

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.disclosure_audit import _single_relation_bounds, audit_intervals
from ice_pipeline.index.disclosure_lp import build_system, dense_form, mean_bounds
from ice_pipeline.index.disclosure_model import period_figures
from ice_pipeline.index.scoring import compute_period_scores
from ice_pipeline.index.suppression import find_disclosures, line_violation
from ice_pipeline.index.turnover import compute_turnover

from .test_index_scoring import ratings_frame

PERIOD = "2026-01"
K = 5


def _tables(
    matrix: list[tuple],
    consumers: list[tuple],
    providers: list[tuple],
    company: tuple[int, float] | None,
) -> dict[str, pd.DataFrame]:
    """Published tables from (key..., n, mean, hidden) tuples; hidden rows show no value."""
    cells = pd.DataFrame(
        matrix, columns=["provider_department", "consumer_department", "n", "score", "suppressed"]
    )
    cells["period"] = PERIOD
    cells["n_respondents"] = cells["n"].where(~cells["suppressed"]).astype("Int64")
    cells["score"] = cells["score"].where(~cells["suppressed"])
    cells["favourable_pct"] = np.where(cells["suppressed"], np.nan, 50.0)
    tables = {"matrix_scores": cells.drop(columns="n")}
    if consumers:
        frame = pd.DataFrame(consumers, columns=["consumer_department", "n", "score", "suppressed"])
        frame["period"] = PERIOD
        frame["n_respondents"] = frame["n"].where(~frame["suppressed"]).astype("Int64")
        frame["score"] = frame["score"].where(~frame["suppressed"])
        tables["consumer_satisfaction"] = frame.drop(columns="n")
    if providers:
        frame = pd.DataFrame(
            providers, columns=["provider_department", "n_respondents", "ice_p", "suppressed"]
        )
        frame["period"] = PERIOD
        frame["ice_p"] = frame["ice_p"].where(~frame["suppressed"])
        frame["favourable_pct"] = np.nan  # not audited in these examples
        tables["ice_scores"] = frame
    if company:
        tables["company_scores"] = pd.DataFrame(
            {"period": [PERIOD], "n_respondents": [company[0]], "ice_p": [company[1]]}
        )
    return tables


def _bounds(
    tables: dict[str, pd.DataFrame], ref: tuple, known_counts: dict[tuple, float] | None = None
) -> tuple:
    """[min, max] of a hidden group's mean score as the published tables allow (and, with
    ``known_counts``, as an attacker who also knows those groups' sizes sees it)."""
    figures = period_figures(tables, PERIOD)
    for key, n in (known_counts or {}).items():
        figures.figures[key].n = n
    relations = [r for r in figures.relations if "score" in r.measures]
    system = build_system(figures, "score", relations)
    low, high = mean_bounds(system, dense_form(system, homogeneous=True), figures, ref)
    return round(low, 3), round(high, 3)  # the relations hold to a 1e-7 relative tolerance


# ------------------------------------------------------------------------------------------------
# The interval audit against hand-worked bounds
# ------------------------------------------------------------------------------------------------


def _one_row(hidden_sum: float) -> dict[str, pd.DataFrame]:
    """Provider P: 14 respondents. Published: (P, C1) n = 8, mean 50 (sum 400). Hidden: (P, C2)
    with 2 respondents and (P, C3) with 4; their sum is ``hidden_sum``. Respondents rate several
    providers here (no column or margin adds up), so the row is the only relation."""
    total = 400 + hidden_sum
    return _tables(
        [("P", "C1", 8, 50.0, False), ("P", "C2", 2, None, True), ("P", "C3", 4, None, True)],
        [],
        [("P", 14, total / 14, False)],
        None,
    )


def test_row_bounds_worked_by_hand() -> None:
    # Hidden sum 540 over 6 respondents (mean 90). Counts withheld: n2 + n3 = 14 - 8 = 6,
    # each >= 1. Mean of C2 = T2 / n2 with T3 <= 100 n3 = 100 (6 - n2), so
    # T2 >= 540 - 600 + 100 n2, i.e. mean >= 100 - 60 / n2: lowest at n2 = 1, 40. Highest: 100
    # (n2 = 1, T2 = 100, T3 = 440 <= 500). The same for C3 by symmetry: [40, 100].
    tables = _one_row(540.0)
    assert _bounds(tables, ("cell", ("P", "C2"))) == (40.0, 100.0)
    assert _bounds(tables, ("cell", ("P", "C3"))) == (40.0, 100.0)
    # An attacker who knows the counts (2 and 4): T2 >= 540 - 400 = 140, mean >= 70: [70, 100].
    known = {("cell", ("P", "C2")): 2, ("cell", ("P", "C3")): 4}
    assert _bounds(tables, ("cell", ("P", "C2")), known) == (70.0, 100.0)
    # Width 60 >= 25: nothing to report; with a protection width of 70 it is too narrow.
    assert find_disclosures(tables, K) == []
    assert any("[40.00, 100.00]" in p for p in find_disclosures(tables, K, protection_width=70))


def test_row_with_an_extreme_hidden_mean_is_flagged() -> None:
    # Hidden sum 580 (mean 96.7): mean of C2 >= 100 - 20 / n2, lowest 80 at n2 = 1: [80, 100],
    # width 20 < 25. The line rules see two hidden cells holding 6 >= k respondents: no finding.
    tables = _one_row(580.0)
    assert _bounds(tables, ("cell", ("P", "C2"))) == (80.0, 100.0)
    problems = find_disclosures(tables, K)
    assert len(problems) == 2, problems  # both hidden cells, by the interval audit only
    assert all("[80.00, 100.00]" in p and "width 20.00 < 25" in p for p in problems)


def test_provider_margin_bounds_worked_by_hand() -> None:
    # Every respondent rated one provider (3 + 4 + 20 = 27 = company n, all published counts).
    # Hidden P1 (n = 3) and P2 (n = 4); P3 published: n 20, mean 50 (sum 1000). Company mean
    # 1630 / 27, so T1 + T2 = 630 with T1 <= 300, T2 <= 400: T1 in [230, 300], mean P1 in
    # [76.67, 100]; T2 in [330, 400], mean P2 in [82.5, 100]. Together they hold 7 >= k, so the
    # old line rules passed this; the audit finds both groups of under k bounded within 25.
    tables = _tables(
        [],
        [],
        [("P1", 3, None, True), ("P2", 4, None, True), ("P3", 20, 50.0, False)],
        (27, 1630 / 27),
    )
    assert _bounds(tables, ("provider", "P1")) == (76.667, 100.0)
    assert _bounds(tables, ("provider", "P2")) == (82.5, 100.0)
    problems = find_disclosures(tables, K)
    assert any("provider 'P1'" in p and "[76.67, 100.00]" in p for p in problems), problems
    assert any("provider 'P2'" in p and "[82.50, 100.00]" in p for p in problems), problems
    # With a company mean of 1300 / 27 (hidden sum 300), P1 in [0, 100] and P2 in [0, 100]:
    # T1 = 300 - T2 ranges over [0, 300] since T2 can take 0..300 within its 400.
    calm = _tables(
        [],
        [],
        [("P1", 3, None, True), ("P2", 4, None, True), ("P3", 20, 50.0, False)],
        (27, 1300 / 27),
    )
    assert _bounds(calm, ("provider", "P1")) == (0.0, 100.0)
    assert _bounds(calm, ("provider", "P2")) == (0.0, 75.0)
    assert find_disclosures(calm, K) == []


# ------------------------------------------------------------------------------------------------
# Attack 2: one provider per respondent, hidden cells in a column and a row
# ------------------------------------------------------------------------------------------------


def _leaky_attack_two() -> dict[str, pd.DataFrame]:
    """What the previous rules published for a one-provider-per-respondent organisation.

    Cells (n, mean): IT-Sales (10, 72.5), HR-Sales (1, 0), FAC-Sales (1, 0), IT-Ops (6, 50),
    HR-Ops (7, 60), FAC-Ops (8, 40). HR-Sales and FAC-Sales are under k; each row then hid one
    more cell (HR-Ops, FAC-Ops); column Sales hid two cells, which the previous rules accepted
    because they treated columns as never adding up.
    """
    return _tables(
        [
            ("IT", "Sales", 10, 72.5, False),
            ("HR", "Sales", 1, 0.0, True),
            ("FAC", "Sales", 1, 0.0, True),
            ("IT", "Ops", 6, 50.0, False),
            ("HR", "Ops", 7, 60.0, True),
            ("FAC", "Ops", 8, 40.0, True),
        ],
        [("Sales", 12, 725 / 12, False), ("Ops", 21, 1040 / 21, False)],
        [("IT", 16, 1025 / 16, False), ("HR", 8, 52.5, False), ("FAC", 9, 320 / 9, False)],
        (33, 1765 / 33),
    )


def test_checker_flags_the_column_attack_the_old_rules_missed() -> None:
    tables = _leaky_attack_two()
    # The attack: 12 x 60.4167 - 10 x 72.5 = 725 - 725 = 0, and the two hidden cells hold
    # 12 - 10 = 2 respondents: both answered 0, the lowest answer.
    sales = tables["consumer_satisfaction"].set_index("consumer_department").loc["Sales"]
    assert 12 * sales["score"] - 10 * 72.5 == pytest.approx(0.0)
    # The audit bounds each hidden Sales cell to exactly [0, 0].
    assert _bounds(tables, ("cell", ("HR", "Sales"))) == (0.0, 0.0)
    assert _bounds(tables, ("cell", ("FAC", "Sales"))) == (0.0, 0.0)
    problems = find_disclosures(tables, K)
    assert any("matrix cell ('HR', 'Sales')" in p and "[0.00, 0.00]" in p for p in problems), (
        problems
    )
    assert any("matrix column of consumer 'Sales'" in p and "2 respondents" in p for p in problems)
    # The previous rules (a column never adds up): no line finding at all.
    figures = period_figures(tables, PERIOD)
    assert figures.relations  # sanity: additivity was proved from the counts
    from ice_pipeline.index import suppression

    state = suppression._state(tables, PERIOD)
    old_lines = list(suppression._lines(state, PERIOD))  # no proved additivity: old behaviour
    assert [line_violation(line, K) for line in old_lines] == [None] * len(old_lines)


def _attack_two_ratings() -> pd.DataFrame:
    """The organisation behind the leak, as ratings: each respondent rates one provider on two
    dimensions; the Sales respondents of HR and FAC answer 1 (score 0) everywhere."""
    groups = {
        ("IT", "Sales"): [4, 5, 4, 4, 5, 4, 3, 4, 5, 4],
        ("HR", "Sales"): [1],
        ("FAC", "Sales"): [1],
        ("IT", "Ops"): [3, 3, 2, 4, 3, 3],
        ("HR", "Ops"): [4, 3, 3, 4, 3, 4, 3],
        ("FAC", "Ops"): [2, 3, 3, 2, 3, 3, 2, 3],
    }
    rows = []
    for (provider, consumer), answers in groups.items():
        for i, raw in enumerate(answers):
            for dimension in ("speed", "quality"):
                rows.append((f"{provider}-{consumer}-{i}", consumer, provider, dimension, raw))
    return ratings_frame(rows, period=PERIOD)


def test_column_attack_discloses_nothing_now() -> None:
    tables = compute_period_scores(_attack_two_ratings(), None, IndexConfig())
    matrix = tables["matrix_scores"].set_index(["provider_department", "consumer_department"])
    hidden = matrix["suppressed"].astype(bool)
    assert hidden[("HR", "Sales")] and hidden[("FAC", "Sales")]
    # The column Sales now adds up (proved: each respondent rated one provider), so its hidden
    # cells must hold k respondents: (IT, Sales) is withheld too, and the subtraction is gone.
    assert hidden[("IT", "Sales")]
    assert find_disclosures(tables, K) == []
    # Even an attacker who knows every cell's size learns nothing tight about a small cell.
    figures = period_figures(tables, PERIOD)
    counts = (
        _attack_two_ratings()
        .groupby(["provider_department", "consumer_department"])["respondent_id"]
        .nunique()
    )
    for (provider, consumer), n in counts.items():
        figures.figures[("cell", (provider, consumer))].true_n = float(n)
    consumers = _attack_two_ratings().groupby("consumer_department")["respondent_id"].nunique()
    for consumer, n in consumers.items():
        figures.figures[("consumer", consumer)].true_n = float(n)
    assert audit_intervals(figures, K, 25.0, strict=True) == []
    # Published cells keep their exact values (only what is hidden changed).
    shown = matrix[~hidden]
    raw = _attack_two_ratings()
    for (provider, consumer), row in shown.iterrows():
        answers = raw[
            (raw["provider_department"] == provider) & (raw["consumer_department"] == consumer)
        ]
        assert row["score"] == pytest.approx(
            answers.groupby("respondent_id")["score"].mean().mean()
        )


def test_row_attack_discloses_nothing_now() -> None:
    """Hidden cells in a row: provider HR is rated by one Legal respondent (score 100) and by
    12 Ops respondents; the row adds up, so (HR, Legal) alone hidden would be HR's total minus
    (HR, Ops). Published output must not let the row, the columns or the margins pin it down."""
    rows = []
    for i in range(12):
        rows.append((f"ops{i}", "Ops", "HR", "speed", 2 + i % 3))
    rows.append(("legal0", "Legal", "HR", "speed", 5))
    for i in range(9):
        rows.append((f"legal{i + 1}", "Legal", "IT", "speed", 1 + i % 5))
    for i in range(7):
        rows.append((f"ops{i + 20}", "Ops", "IT", "speed", 3))
    tables = compute_period_scores(ratings_frame(rows, period=PERIOD), None, IndexConfig())
    matrix = tables["matrix_scores"].set_index(["provider_department", "consumer_department"])
    assert matrix.loc[("HR", "Legal"), "suppression_reason"] == "small_group"
    assert find_disclosures(tables, K) == []
    # The leaky variant: publish (HR, Ops) again; HR's ICE-P then gives (HR, Legal) exactly.
    leaky = {name: frame.copy() for name, frame in tables.items()}
    cells = leaky["matrix_scores"]
    at = (cells["provider_department"] == "HR") & (cells["consumer_department"] == "Ops")
    ops = ratings_frame(rows, period=PERIOD)
    ops = ops[(ops["provider_department"] == "HR") & (ops["consumer_department"] == "Ops")]
    cells.loc[at, ["suppressed", "suppression_reason", "n_respondents", "score"]] = [
        False,
        None,
        12,
        float(ops["score"].mean()),
    ]
    problems = find_disclosures(leaky, K)
    assert any("matrix cell ('HR', 'Legal')" in p and "[100.00, 100.00]" in p for p in problems), (
        problems
    )


# ------------------------------------------------------------------------------------------------
# Attack 4: a one-person department with a dismissal
# ------------------------------------------------------------------------------------------------


def _roster() -> pd.DataFrame:
    people = [("solo", "Treasury", "2020-01-01", "2026-03-10", "involuntary")]
    people += [(f"s{i}", "Sales", "2019-01-01", None, None) for i in range(12)]
    people += [("s12", "Sales", "2019-01-01", "2026-03-05", "voluntary")]
    people += [(f"o{i}", "Ops", "2019-01-01", None, None) for i in range(8)]
    people += [
        (f"o{i}", "Ops", "2019-01-01", "2026-03-20", kind)
        for i, kind in zip(range(8, 14), ["voluntary"] * 4 + ["involuntary"] * 2, strict=True)
    ]
    frame = pd.DataFrame(
        people,
        columns=["employee_id", "department", "hire_date", "termination_date", "termination_type"],
    )
    frame["snapshot_period"] = "2026-03"
    frame["attrited"] = None
    return frame


def test_one_person_department_with_a_dismissal_discloses_nothing() -> None:
    raw = compute_turnover(_roster(), ["2026-03"]).set_index("department")
    # The attack on the raw figures: "leavers 1, involuntary 1" for a department of one.
    assert (raw.loc["Treasury", "leavers"], raw.loc["Treasury", "involuntary_leavers"]) == (1, 1)
    assert find_disclosures({"turnover": raw.reset_index()}, K)  # the leak is flagged

    published = compute_turnover(_roster(), ["2026-03"], min_group=K).set_index("department")
    treasury = published.loc["Treasury"]
    assert bool(treasury["suppressed"])
    assert treasury.drop(["period", "suppressed"]).isna().all()
    # Sales (13 people, 1 leaver): figures shown, but the split of one leaver is withheld.
    sales = published.loc["Sales"]
    assert (sales["headcount_start"], sales["leavers"]) == (13, 1)
    assert pd.isna(sales["voluntary_leavers"]) and pd.isna(sales["involuntary_turnover_pct"])
    # Ops (14 people, 6 leavers >= k): everything shown, as computed.
    ops = published.loc["Ops"]
    assert (ops["leavers"], ops["voluntary_leavers"], ops["involuntary_leavers"]) == (6, 4, 2)
    assert ops["turnover_pct"] == pytest.approx(raw.loc["Ops", "turnover_pct"])
    assert find_disclosures({"turnover": published.reset_index()}, K) == []
    # A leaky split (Sales' one leaver shown as voluntary) is flagged too.
    leaky = published.reset_index()
    leaky.loc[leaky["department"] == "Sales", "voluntary_leavers"] = 1
    assert any(
        "leaver split" in p and "Sales" in p for p in find_disclosures({"turnover": leaky}, K)
    )


def test_rolling_rate_over_a_withheld_month_is_withheld() -> None:
    # Treasury: 6 people all year; in 2026-03 only one is left (others transferred away before,
    # modelled as leaving in 2026-02), so March is withheld and so are the next 11 rolling rates.
    people = [(f"t{i}", "Treasury", "2020-01-01", "2026-02-15", "voluntary") for i in range(5)]
    people += [("t5", "Treasury", "2020-01-01", None, None)]
    people += [(f"a{i}", "Audit", "2020-01-01", None, None) for i in range(10)]
    frame = pd.DataFrame(
        people,
        columns=["employee_id", "department", "hire_date", "termination_date", "termination_type"],
    )
    frame["snapshot_period"] = "2026-12"
    frame["attrited"] = None
    months = [str(p) for p in pd.period_range("2025-01", "2026-12", freq="M")]
    rows = compute_turnover(frame, months, min_group=K)
    treasury = rows[rows["department"] == "Treasury"].set_index("period")
    assert treasury.loc["2026-01", "rolling_12m_turnover_pct"] == pytest.approx(0.0)
    assert bool(treasury.loc["2026-03", "suppressed"])
    assert treasury.loc["2026-03":"2026-12", "rolling_12m_turnover_pct"].isna().all()
    # February had 6 at the start: shown, with its 5 leavers' split withheld? 5 >= k: shown.
    assert treasury.loc["2026-02", "leavers"] == 5
    assert find_disclosures({"turnover": rows}, K) == []
    # Publishing one of those rolling rates again is flagged.
    leaky = rows.copy()
    at = (leaky["department"] == "Treasury") & (leaky["period"] == "2026-06")
    leaky.loc[at, "rolling_12m_turnover_pct"] = 40.0
    assert any("rolling rate" in p for p in find_disclosures({"turnover": leaky}, K))


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_row_bounds_match_the_linear_programs(seed: int) -> None:
    """The shortcut for one-relation components gives the linear programs' bounds."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=5)
    means = rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], size=5)
    hidden = rng.random(5) < 0.6
    hidden[:2] = True
    cells = [
        ("P", f"C{i}", int(n), float(m), bool(h))
        for i, (n, m, h) in enumerate(zip(sizes, means, hidden, strict=True))
    ]
    total = float((sizes * means).sum() / sizes.sum())
    tables = _tables(cells, [], [("P", int(sizes.sum()), total, False)], None)
    figures = period_figures(tables, PERIOD)
    (row,) = [r for r in figures.relations if "score" in r.measures]
    for known in (False, True):
        if known:
            for i, n in enumerate(sizes):
                figures.figures[("cell", ("P", f"C{i}"))].n = float(n)
        system = build_system(figures, "score", [row])
        dense = dense_form(system, homogeneous=True)
        for i in np.flatnonzero(hidden):
            ref = ("cell", ("P", f"C{i}"))
            closed = _single_relation_bounds(figures, [row], "score", ref)
            solved = mean_bounds(system, dense, figures, ref)
            assert closed == pytest.approx(solved, abs=1e-3), (known, ref)


def test_report_and_email_of_a_one_person_department_show_no_figure() -> None:
    """The executive summary (HTML, and the text part that is e-mailed) of the attack-4 month."""
    from ice_pipeline.reports.config import ReportConfig
    from ice_pipeline.reports.render import render_report
    from ice_pipeline.reports.sample import sample_quality, sample_tables
    from ice_pipeline.reports.viewmodel import build_executive_view

    tables = sample_tables("2026-03")
    tables["turnover"] = compute_turnover(_roster(), ["2026-03"], min_group=K)
    view = build_executive_view("2026-03", tables, sample_quality(), ReportConfig())
    rendered = render_report(view, audience="executives")
    treasury = [line for line in rendered.text.splitlines() if line.strip().startswith("Treasury")]
    assert treasury == [
        "  Treasury: turnover withheld, retention withheld, leavers this month withheld"
    ]
    row = next(r for r in view.turnover if r.department == "Treasury")
    assert {row.leavers, row.voluntary_leavers, row.involuntary_leavers} == {"withheld"}
    assert '<td>Treasury</td><td class="num">withheld</td>' in rendered.html
    # Sales: one leaver, shown; its split withheld, not shown as 1/0.
    assert '<td class="num">1 (withheld/withheld)</td>' in rendered.html
    # Without protection the month would read "leavers 1, involuntary 1".
    tables["turnover"] = compute_turnover(_roster(), ["2026-03"])
    raw = build_executive_view("2026-03", tables, sample_quality(), ReportConfig())
    raw_row = next(r for r in raw.turnover if r.department == "Treasury")
    assert (raw_row.leavers, raw_row.involuntary_leavers) == ("1", "1")


def test_protection_width_is_a_checked_config_key_that_decides_suppression() -> None:
    from ice_pipeline.errors import ConfigError
    from ice_pipeline.index.suppression import suppress

    with pytest.raises(ConfigError, match="protection_width_points"):
        IndexConfig.from_section({"protection_width_points": 0})
    # True figures of the hand-worked row: (P, C1) 8 respondents, mean 50; (P, C2) 2, mean 100;
    # (P, C3) 4, mean 85; P: 14, sum 940. C2 and C3 are under k. Knowing the counts, C3's sum is
    # at least 940 - 400 - 200 = 340: mean in [85, 100], width 15 (C2: [70, 100], width 30).
    true = _tables(
        [("P", "C1", 8, 50.0, False), ("P", "C2", 2, 100.0, False), ("P", "C3", 4, 85.0, False)],
        [],
        [("P", 14, 940 / 14, False)],
        None,
    )
    true["matrix_scores"]["n_respondents"] = [8, 2, 4]
    true["matrix_scores"]["score"] = [50.0, 100.0, 85.0]

    def hidden_cells(width: float) -> list[str]:
        result = suppress(true, K, protection_width=width)["matrix_scores"]
        return sorted(result.loc[result["suppressed"].astype(bool), "consumer_department"])

    # Width 10: the small cells alone are enough. Width 25 (the default): C3 is bound within
    # 15 points, so (P, C1) is hidden too.
    assert hidden_cells(IndexConfig(protection_width_points=10).protection_width_points) == [
        "C2",
        "C3",
    ]
    assert hidden_cells(IndexConfig().protection_width_points) == ["C1", "C2", "C3"]


def test_figures_read_off_a_report_are_audited_with_their_rounding() -> None:
    """The column attack with the one-decimal figures a report shows (60.4, 72.5)."""
    tables = _leaky_attack_two()
    for name, column in (("consumer_satisfaction", "score"), ("ice_scores", "ice_p")):
        tables[name][column] = tables[name][column].round(1)
    tables["company_scores"]["ice_p"] = tables["company_scores"]["ice_p"].round(1)
    # 12 x 60.4 - 10 x 72.5 = -0.2: exact arithmetic calls the figures contradictory ...
    exact = find_disclosures(tables, K)
    assert any("contradict" in p for p in exact), exact
    # ... read as rounded to 0.05, the hidden Sales respondents still sum to at most
    # 12 x 0.05 + 10 x 0.05 - 0.2 = 0.9 points: bounded to [0, 0.9], flagged.
    rounded = find_disclosures(tables, K, rounding=0.05)
    assert not any("contradict" in p for p in rounded)
    assert any("matrix cell ('HR', 'Sales')" in p and "[0.00, 0.90]" in p for p in rounded), rounded
