"""Versions of a period (issue 11, item 2): the rules, worked on small hand-made organisations.

The attack: a period is re-run to pick up a late export; one late respondent moves a published
cell from n = 5 to n = 6, and 6 x mean(v2) - 5 x mean(v1) is that person's score. These tests
call the plain functions (ice_pipeline.index.versions, ice_pipeline.privacy.artefacts) directly;
test_versions_pipeline.py runs the same attack through the real job.
"""

import numpy as np
import pandas as pd
import pytest

from ice_pipeline.errors import ConfigError
from ice_pipeline.index import IndexConfig, compute_period_scores
from ice_pipeline.index.scoring import table_columns
from ice_pipeline.index.versions import (
    PublishedRecord,
    align_previous,
    answer_hashes,
    find_version_disclosures,
    protect_publication,
    published_basis,
    same_figures,
)
from ice_pipeline.privacy.artefacts import (
    figures_in_html,
    small_group_findings,
    version_findings,
)
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_quality
from ice_pipeline.reports.viewmodel import build_executive_view

K = 5
PERIOD = "2026-09"
CONFIG = IndexConfig()


def ratings(rows: list[tuple[str, str, str, float]], period: str = PERIOD) -> pd.DataFrame:
    """survey_ratings rows: (respondent, consumer department, provider, score 0-100)."""
    return pd.DataFrame(
        [
            {
                "period": period,
                "respondent_id": respondent,
                "provider_department": provider,
                "dimension": "quality",
                "consumer_department": consumer,
                "rating_raw": 1 + score / 25,
                "scale_min": 1.0,
                "scale_max": 5.0,
                "reversed": False,
                "score": float(score),
                "favourable": score >= 75,
                "responded_at": pd.NaT,
                "source_file": "wave.csv",
                "source_sha256": "0" * 64,
                "source_row": i + 2,
            }
            for i, (respondent, consumer, provider, score) in enumerate(rows)
        ]
    )


# Five in Sales (mean 29.0), ten in Engineering, all rating IT.
BASE = [(f"s{i}", "Sales", "IT", s) for i, s in enumerate([25, 25, 25, 45, 25])] + [
    (f"e{i}", "Engineering", "IT", 50 + 5 * i) for i in range(10)
]
LATE = ("late", "Sales", "IT", 100.0)


def compute(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return compute_period_scores(rows, None, CONFIG)


def record_of(rows: pd.DataFrame, version: int = 1) -> PublishedRecord:
    return PublishedRecord(version, compute(rows), answer_hashes(rows))


def cell(tables: dict[str, pd.DataFrame], consumer: str) -> pd.Series:
    matrix = tables["matrix_scores"]
    return matrix[matrix["consumer_department"] == consumer].iloc[0]


def test_the_attack_subtracts_to_one_persons_score_and_is_flagged() -> None:
    v1, v2 = compute(ratings(BASE)), compute(ratings([*BASE, LATE]))
    before, after = cell(v1, "Sales"), cell(v2, "Sales")
    # The attack works on unprotected versions: the late respondent's exact score.
    assert (int(before["n_respondents"]), int(after["n_respondents"])) == (5, 6)
    recovered = 6 * after["score"] - 5 * before["score"]
    assert recovered == pytest.approx(100.0)
    found = find_version_disclosures(v1, v2, K)
    for needle in (
        "matrix_scores 2026-09 'IT' x 'Sales': n 5 -> 6",
        "consumer_satisfaction 2026-09 'Sales': n 5 -> 6",
        "ice_scores 2026-09 'IT': n 15 -> 16",
        "company_scores 2026-09 (company): n 15 -> 16",
    ):
        assert any(line.startswith(needle) for line in found), (needle, found)
    assert find_version_disclosures(v1, compute(ratings(BASE)), K) == []


def test_k_or_more_new_respondents_in_every_changed_figure_may_be_republished() -> None:
    five_late = [(f"l{i}", "Sales", "IT", 100.0) for i in range(K)]
    v2 = compute(ratings([*BASE, *five_late]))
    assert find_version_disclosures(compute(ratings(BASE)), v2, K) == []
    four_late = five_late[:-1]
    found = find_version_disclosures(
        compute(ratings(BASE)), compute(ratings([*BASE, *four_late])), K
    )
    assert found and all("n 5 -> 9" in f or "n 15 -> 19" in f for f in found)


def test_a_changed_answer_with_the_same_n_is_flagged() -> None:
    changed = [("s0", "Sales", "IT", 100.0), *BASE[1:]]
    found = find_version_disclosures(compute(ratings(BASE)), compute(ratings(changed)), K)
    assert any(
        "'IT' x 'Sales': the figure changed between versions while n stayed 5" in f for f in found
    )


def _matrix_period(hidden: set[str]) -> dict[str, pd.DataFrame]:
    """IT rated by A (2 respondents), B (5) and C (6); ``hidden`` cells suppressed."""
    counts = {"A": 2, "B": 5, "C": 6}
    matrix = pd.DataFrame({c: pd.Series(dtype=object) for c in table_columns("matrix_scores")})
    rows = []
    for consumer, n in counts.items():
        row = dict.fromkeys(matrix.columns, np.nan)
        shown = consumer not in hidden
        row.update(
            period=PERIOD,
            provider_department="IT",
            consumer_department=consumer,
            n_respondents=n if shown else None,
            suppressed=not shown,
            suppression_reason=None if shown else ("small_group" if n < K else "complementary"),
            score=60.0 + n if shown else np.nan,
        )
        rows.append(row)
    ice = dict.fromkeys(table_columns("ice_scores"), np.nan)
    ice.update(
        period=PERIOD, provider_department="IT", n_respondents=13, suppressed=False, ice_p=64.0
    )
    ice.update(no_tickets=True)
    return {
        "matrix_scores": pd.DataFrame(rows, columns=matrix.columns),
        "ice_scores": pd.DataFrame([ice]),
    }


def test_complementary_suppression_moved_between_versions_is_flagged() -> None:
    """Same respondents, two safe versions: A hidden with B, then A hidden with C. Together they
    publish B and C and the total, so A is the total minus both."""
    v1, v2 = _matrix_period({"A", "B"}), _matrix_period({"A", "C"})
    from ice_pipeline.index import find_disclosures

    assert find_disclosures(v1, K) == [] and find_disclosures(v2, K) == []
    found = find_version_disclosures(v1, v2, K)
    assert found and all("combining two versions of period 2026-09" in f for f in found)
    assert find_version_disclosures(v1, _matrix_period({"A", "B"}), K) == []


def test_a_late_respondent_is_held_and_counted() -> None:
    rows = ratings([*BASE, LATE])
    publication = protect_publication(
        rows, compute, record_of(ratings(BASE)), k=K, policy="republish_when_k"
    )
    assert publication.decision == "held" and publication.version == 1
    assert not publication.new_version
    assert publication.changes.late == ["late"] and publication.late_ratings == 1
    assert publication.held_respondents == 1
    assert publication.findings  # why the re-publication was refused
    assert same_figures(publication.tables, compute(ratings(BASE)))
    assert set(publication.basis["respondent_id"]) == {r[0] for r in BASE}
    assert int(cell(publication.tables, "Sales")["n_respondents"]) == 5


def test_enough_late_respondents_are_published_as_a_new_version_unless_the_policy_holds() -> None:
    five_late = [(f"l{i}", "Sales", "IT", 100.0) for i in range(K)]
    rows = ratings([*BASE, *five_late])
    record = record_of(ratings(BASE))
    republished = protect_publication(rows, compute, record, k=K, policy="republish_when_k")
    assert (republished.decision, republished.version, republished.new_version) == (
        "republished",
        2,
        True,
    )
    assert int(cell(republished.tables, "Sales")["n_respondents"]) == 10
    held = protect_publication(rows, compute, record, k=K, policy="hold")
    assert (held.decision, held.version, held.held_respondents) == ("held", 1, K)
    assert int(cell(held.tables, "Sales")["n_respondents"]) == 5


def test_unchanged_inputs_and_changed_answers() -> None:
    record = record_of(ratings(BASE))
    same = protect_publication(ratings(BASE), compute, record, k=K, policy="republish_when_k")
    assert (same.decision, same.version, same.new_version) == ("unchanged", 1, False)
    changed = ratings([("s0", "Sales", "IT", 100.0), *BASE[1:]])
    kept = protect_publication(changed, compute, record, k=K, policy="republish_when_k")
    assert kept.decision == "kept_published" and kept.changes.changed == ["s0"]
    assert same_figures(kept.tables, record.tables)  # the published figures stand
    first = protect_publication(ratings(BASE), compute, None, k=K, policy="hold")
    assert (first.decision, first.version, first.new_version) == ("first", 1, True)


def test_the_next_periods_trend_compares_with_the_previous_period_as_published() -> None:
    record = record_of(ratings(BASE))
    previous_now = ratings([*BASE, LATE])
    basis = published_basis(previous_now, record)
    assert "late" not in set(basis["respondent_id"])
    aligned = align_previous(compute(basis), record)
    assert not aligned["ice_scores"]["suppressed"].any()  # as published: the trend may show
    leaky = align_previous(compute(previous_now), record)  # not as published: no trend
    assert leaky["ice_scores"]["suppressed"].all()
    assert leaky["company_scores"]["ice_p"].isna().all()


def test_the_policy_is_configurable_and_checked() -> None:
    assert IndexConfig().late_responses == "republish_when_k"
    assert IndexConfig.from_section({"late_responses": "hold"}).late_responses == "hold"
    with pytest.raises(ConfigError, match="index.late_responses"):
        IndexConfig.from_section({"late_responses": "whenever"})
    with pytest.raises(ConfigError, match="index.late_responses"):
        IndexConfig.from_section({"late_responses": 3})


# ------------------------------------------------------------------------------------------------
# Figures read back out of rendered reports
# ------------------------------------------------------------------------------------------------


def _rendered(rows: pd.DataFrame) -> str:
    tables = compute(rows)
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    return render_report(view, audience="executives").html


def test_report_versions_of_the_attack_are_flagged_from_the_html_alone() -> None:
    v1, v2 = (
        figures_in_html(_rendered(ratings(BASE))),
        figures_in_html(_rendered(ratings([*BASE, LATE]))),
    )
    sales = [key for key in v1 if "| Sales |" in key]
    assert sales and v1[sales[0]].n == 5 and v2[sales[0]].n == 6
    found = version_findings("report executive_summary", v1, v2, K)
    assert any("Sales" in line and "n 5 -> 6" in line for line in found), found
    # the company headline tile (the summary's layout since issue 14: "ICE-P (perception)")
    assert any("tile | ICE-P" in line and "n 15 -> 16" in line for line in found), found
    assert version_findings("report", v1, figures_in_html(_rendered(ratings(BASE))), K) == []
    assert small_group_findings("report", v1, K) == []


def test_a_figure_shown_from_fewer_than_k_respondents_is_flagged() -> None:
    html = (
        "<h2>Ratings</h2><table class='data'><tr><th>Department</th><th>Score</th><th>n</th></tr>"
        "<tr><td>Legal</td><td>61.5</td><td>3</td></tr>"
        "<tr><td>Sales</td><td>58.0 (95% CI 50 to 66; n = 12)</td><td></td></tr></table>"
        "<ul><li>Correlation r = 0.4 (n = 3 pairs)</li></ul>"
    )
    figures = figures_in_html(html)
    assert figures["Ratings | Department | Legal | Score"].n == 3
    assert figures["Ratings | Department | Sales | Score"].n == 12
    found = small_group_findings("report x", figures, K)
    assert found == [
        "report x: Ratings | Department | Legal | Score shows 61.5 from n = 3 (under k = 5)"
    ]


def test_figures_published_before_the_record_are_protected_too() -> None:
    """After the upgrade, the warehouse's figures stand in for the record (respondents unknown)."""
    published = compute(ratings(BASE))
    bootstrap = PublishedRecord(1, published, None)
    same = protect_publication(ratings(BASE), compute, bootstrap, k=K, policy="republish_when_k")
    assert (same.decision, same.new_version) == ("unchanged", True)  # recorded from now on
    late = protect_publication(
        ratings([*BASE, LATE]), compute, bootstrap, k=K, policy="republish_when_k"
    )
    assert late.decision == "kept_published" and late.findings
    assert same_figures(late.tables, published)


# ------------------------------------------------------------------------------------------------
# The record in the warehouse, on both engines
# ------------------------------------------------------------------------------------------------


def test_the_record_round_trips_on_each_engine(warehouse_url: str) -> None:
    from ice_pipeline.privacy.records import (
        figure_versions,
        publication_log,
        read_record,
        record_publication,
    )
    from ice_pipeline.warehouse import migrate, schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.writes import replace_partition

    migrate.upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    try:
        assert read_record(engine, PERIOD) is None
        first = protect_publication(ratings(BASE), compute, None, k=K, policy="hold")
        for name, frame in first.tables.items():
            table = schema.metadata.tables[f"ice.{name}"]
            replace_partition(engine, table, frame, {"period": PERIOD})
        bootstrap = read_record(engine, PERIOD)  # written, not yet recorded: read from ice
        assert bootstrap is not None and bootstrap.respondents is None
        assert same_figures(bootstrap.tables, first.tables)

        record_publication(engine, PERIOD, first, policy="hold", run_id="run-1")
        record = read_record(engine, PERIOD)
        assert record is not None and record.version == 1
        assert same_figures(record.tables, first.tables)
        assert record.respondents.to_dict() == answer_hashes(ratings(BASE)).to_dict()
        # Kept figures are written back from the record as they were published.
        for name, frame in record.tables.items():
            table = schema.metadata.tables[f"ice.{name}"]
            replace_partition(engine, table, frame, {"period": PERIOD})
        from ice_pipeline.warehouse.writes import read_frame

        warehouse = {
            name: read_frame(engine, schema.metadata.tables[f"ice.{name}"]) for name in first.tables
        }
        assert same_figures(warehouse, first.tables)

        held = protect_publication(ratings([*BASE, LATE]), compute, record, k=K, policy="hold")
        record_publication(engine, PERIOD, held, policy="hold", run_id="run-2")
        log = publication_log(engine, PERIOD).iloc[0]
        assert (log["decision"], log["version"], log["run_id"]) == ("held", 1, "run-2")
        assert (log["late_respondents"], log["late_ratings"], log["held_respondents"]) == (1, 1, 1)
        assert log["respondents_published"] == len(BASE)
        assert list(figure_versions(engine, PERIOD)) == [1]  # held: no new version recorded

        five = [(f"l{i}", "Sales", "IT", 100.0) for i in range(K)]
        again = protect_publication(
            ratings([*BASE, *five]),
            compute,
            read_record(engine, PERIOD),
            k=K,
            policy="republish_when_k",
        )
        record_publication(engine, PERIOD, again, policy="republish_when_k", run_id="run-3")
        versions = figure_versions(engine, PERIOD)
        assert list(versions) == [1, 2]
        assert find_version_disclosures(versions[1], versions[2], K) == []
        assert read_record(engine, PERIOD).respondents.size == len(BASE) + K
    finally:
        engine.dispose()


def test_the_auditor_reads_report_versions_and_e_mails(warehouse_url: str, tmp_path) -> None:
    """Two versions of the attack archived and both e-mailed: every artefact is flagged."""
    from ice_pipeline.privacy.audit import audit_period
    from ice_pipeline.reports.archive import archive_report
    from ice_pipeline.reports.delivery import OutboxTransport, deliver
    from ice_pipeline.warehouse import migrate
    from ice_pipeline.warehouse.engine import connect_warehouse

    migrate.upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    outbox = tmp_path / "outbox"
    try:
        clean = audit_period(engine, PERIOD, K, outbox)
        assert clean.ok and clean.summary().startswith(f"audit {PERIOD}: no disclosure found")
        for rows in (ratings(BASE), ratings([*BASE, LATE])):
            view = build_executive_view(PERIOD, compute(rows), sample_quality(), ReportConfig())
            rendered = render_report(view, audience="executives")
            archived = archive_report(
                engine,
                period=PERIOD,
                kind=rendered.kind,
                audience="executives",
                html=rendered.html,
                input_fingerprints={},
                run_id=None,
                reports_dir=tmp_path / "reports",
            )
            outcome = deliver(
                engine,
                archived,
                ["cfo@example.com"],
                OutboxTransport(outbox),
                content=rendered,
                from_address="ice@example.com",
            )
            assert outcome.sent == ["cfo@example.com"]
        result = audit_period(engine, PERIOD, K, outbox)
    finally:
        engine.dispose()
    assert (result.report_versions, result.emails) == (2, 2)
    assert any(
        line.startswith(f"report executive_summary (executives) {PERIOD} v1 against v2")
        and "| Sales |" in line
        and "n 5 -> 6" in line
        for line in result.findings
    ), result.findings
    assert any(
        line.startswith("e-mails executive_summary v1 and v2 to cfo@example.com")
        and "n 15 -> 16" in line
        for line in result.findings
    ), result.findings
    assert not result.ok and "finding(s)" in result.summary()


def test_union_of_versions_when_the_earlier_version_published_nothing() -> None:
    """An earlier version whose rows were all suppressed still unites (no KeyError 'period')."""
    from ice_pipeline.index.versions import union_of_versions

    earlier = {
        "ice_scores": pd.DataFrame(
            {"period": ["2026-10"], "provider_department": ["IT"], "suppressed": [True]}
        )
    }
    later = {
        "ice_scores": pd.DataFrame(
            {"period": ["2026-10"], "provider_department": ["IT"], "suppressed": [False]}
        )
    }
    union = union_of_versions(earlier, later, "2026-10")
    assert union["ice_scores"][["period", "provider_department"]].values.tolist() == [
        ["2026-10", "IT"]
    ]
