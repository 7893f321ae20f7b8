"""great-expectations suites: every check seen passing and failing, blocking flags, Data Docs."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ice_pipeline.ingest.expectations import CheckOutcome, build_data_docs, period_bounds, run_suite

SHA = "ab" * 32


def _tickets(n: int, **overrides: list) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "ticket_id": [f"T{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "consumer_department": ["Sales"] * n,
            "priority": pd.array([3] * n, dtype="Int64"),
            "opened_at": pd.to_datetime(["2026-03-28 10:00"] * n),
            "resolved_at": pd.to_datetime(["2026-03-28 12:00"] * n),
            "resolution_hours": [2.0] * n,
            "sla_met": pd.array([True] * n, dtype="boolean"),
            "reopened": pd.array([False] * n, dtype="boolean"),
            "first_assignee_resolved": pd.array([True] * n, dtype="boolean"),
            "satisfaction": [4.0] * n,
            "source_file": ["x"] * n,
            "source_sha256": [SHA] * n,
            "source_row": list(range(2, n + 2)),
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def _ratings(n: int, **overrides: list) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "period": ["2026-03"] * n,
            "respondent_id": [f"r{i}" for i in range(n)],
            "provider_department": ["IT"] * n,
            "dimension": ["quality"] * n,
            "consumer_department": ["Sales"] * n,
            "rating_raw": [4.0] * n,
            "scale_min": [1.0] * n,
            "scale_max": [5.0] * n,
            "reversed": [False] * n,
            "score": [75.0] * n,
            "favourable": [True] * n,
            "responded_at": pd.to_datetime(["2026-03-30"] * n),
            "source_file": ["x"] * n,
            "source_sha256": [SHA] * n,
            "source_row": list(range(2, n + 2)),
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def _by_name(outcomes: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    return {o.check_name: o for o in outcomes}


def test_period_bounds() -> None:
    assert [d.isoformat() for d in period_bounds("2026-12")] == [
        "2026-12-01T00:00:00",
        "2027-01-01T00:00:00",
    ]
    assert [d.month for d in period_bounds("2026-Q2")] == [4, 7]


def test_ticket_suite_all_checks_pass_on_good_data() -> None:
    outcomes = _by_name(
        run_suite(
            "tickets",
            _tickets(20),
            previous=_tickets(15),
            known_departments={"IT", "Sales"},
            period="2026-03",
            gx_dir=None,
        )
    )
    assert set(outcomes) == {
        "tickets_volume_vs_previous_period",
        "tickets_key_unique",
        "tickets_priority_1_5",
        "tickets_satisfaction_1_5",
        "tickets_resolution_hours_not_negative",
        "tickets_consumer_department_null_rate",
        "tickets_opened_at_fresh",
        "tickets_provider_department_known_to_hr",
        "tickets_consumer_department_known_to_hr",
    }
    assert all(o.passed for o in outcomes.values()), [o for o in outcomes.values() if not o.passed]
    assert (
        outcomes["tickets_key_unique"].blocking and not outcomes["tickets_opened_at_fresh"].blocking
    )
    json.dumps([o.metadata for o in outcomes.values()])  # JSON-able for Dagster metadata


def test_ticket_suite_every_check_fails_on_bad_data() -> None:
    frame = _tickets(
        10,
        ticket_id=["T0"] * 2 + [f"T{i}" for i in range(2, 10)],
        priority=pd.array([7] + [3] * 9, dtype="Int64"),
        satisfaction=[9.0] + [4.0] * 9,
        resolution_hours=[-1.0] + [2.0] * 9,
        consumer_department=[None] * 2 + ["Sales"] * 7 + ["Martians"],
        provider_department=["Unknown Group"] + ["IT"] * 9,
        opened_at=pd.to_datetime(["2026-03-02"] * 10),
    )
    outcomes = _by_name(
        run_suite(
            "tickets",
            frame,
            previous=_tickets(100),
            known_departments={"IT", "Sales"},
            period="2026-03",
            gx_dir=None,
        )
    )
    assert [name for name, o in outcomes.items() if o.passed] == []
    assert outcomes["tickets_volume_vs_previous_period"].metadata["observed_value"] == 10
    assert outcomes["tickets_key_unique"].metadata["duplicate_rows"] == 1
    assert outcomes["tickets_key_unique"].metadata["examples"] == ["2026-03 / T0"]
    assert outcomes["tickets_consumer_department_known_to_hr"].metadata[
        "partial_unexpected_list"
    ] == ["Martians"]
    assert outcomes["tickets_consumer_department_null_rate"].metadata["unexpected_count"] == 2
    assert outcomes["tickets_opened_at_fresh"].metadata["observed_value"].startswith("2026-03-02")
    blocking = {name for name, o in outcomes.items() if o.blocking}
    assert blocking == {
        "tickets_key_unique",
        "tickets_priority_1_5",
        "tickets_satisfaction_1_5",
        "tickets_resolution_hours_not_negative",
    }


def test_checks_without_reference_data_are_skipped_as_passed() -> None:
    outcomes = _by_name(
        run_suite(
            "tickets",
            _tickets(3),
            previous=None,
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )
    )
    volume = outcomes["tickets_volume_vs_previous_period"]
    assert volume.passed and volume.metadata["skipped"] == "no previous period to compare with"
    assert (
        outcomes["tickets_provider_department_known_to_hr"].metadata["skipped"]
        == "no HR departments known"
    )


def test_survey_ratings_suite_pass_and_fail() -> None:
    good = _by_name(
        run_suite(
            "survey_ratings",
            _ratings(10),
            previous=_ratings(10),
            known_departments={"Sales"},
            period="2026-03",
            gx_dir=None,
            known_dimensions={"quality"},
        )
    )
    assert all(o.passed for o in good.values())
    bad = _by_name(
        run_suite(
            "survey_ratings",
            _ratings(
                4,
                score=[75.0, 130.0, 75.0, 75.0],
                dimension=["quality", "quality", "speed", "quality"],
                respondent_id=["r0", "r1", "r2", "r0"],
                consumer_department=["Sales", "Sales", "Sales", "Mars"],
                responded_at=pd.to_datetime([None, None, "2026-03-01", None]),
            ),
            previous=_ratings(40),
            known_departments={"Sales"},
            period="2026-03",
            gx_dir=None,
            known_dimensions={"quality"},
        )
    )
    assert [name for name, o in bad.items() if o.passed] == []
    assert bad["survey_ratings_score_0_100"].blocking
    assert bad["survey_ratings_score_0_100"].metadata["partial_unexpected_list"] == ["130.0"]


def test_employees_and_external_suites_pass_and_fail() -> None:
    employees = pd.DataFrame(
        {
            "snapshot_period": ["2026-03"] * 3,
            "employee_id": ["a", "b", "b"],
            "department": ["IT", None, "HR"],
            "hire_date": pd.to_datetime(["2020-01-01"] * 3),
            "termination_date": pd.to_datetime([None] * 3),
            "termination_type": ["voluntary", None, "fired"],
            "attrited": pd.array([pd.NA] * 3, dtype="boolean"),
            "source_file": ["x"] * 3,
            "source_sha256": [SHA] * 3,
            "source_row": [2, 3, 4],
        }
    )
    good = _by_name(
        run_suite(
            "employees",
            employees.iloc[:1],
            previous=employees.iloc[:1],
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )
    )
    assert all(o.passed for o in good.values())
    bad = _by_name(
        run_suite(
            "employees",
            employees,
            previous=employees.iloc[:1],
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )
    )
    assert {n for n, o in bad.items() if not o.passed} == {
        "employees_volume_vs_previous_period",
        "employees_key_unique",
        "employees_termination_type_known",
        "employees_department_null_rate",
    }

    metrics = pd.DataFrame(
        {
            "period": ["2026-03"] * 3,
            "business_unit": ["A", "A", "B"],
            "metric": ["nps", "csat_pct", "nps"],
            "department": [None] * 3,
            "value": [-20.0, 80.0, 40.0],
            "n_responses": pd.array([10, 10, 5], dtype="Int64"),
            "value_ci_low": [None] * 3,
            "value_ci_high": [None] * 3,
            "source_file": ["x"] * 3,
            "source_sha256": [SHA] * 3,
        }
    )
    good = _by_name(
        run_suite(
            "external_metrics",
            metrics,
            previous=None,
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )
    )
    assert all(o.passed for o in good.values())
    broken = metrics.assign(
        metric=["nps", "csat_pct", "churn"],
        value=[-120.0, 101.0, 40.0],
        n_responses=pd.array([10, 0, 5], dtype="Int64"),
    )
    bad = _by_name(
        run_suite(
            "external_metrics",
            broken,
            previous=None,
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )
    )
    assert {n for n, o in bad.items() if not o.passed} == {
        "external_metrics_metric_known",
        "external_metrics_nps_in_range",
        "external_metrics_csat_pct_in_range",
        "external_metrics_n_responses_positive",
    }


def test_results_are_kept_under_gx_dir_and_data_docs_built(tmp_path: Path) -> None:
    gx_dir = tmp_path / "gx"
    assert build_data_docs(gx_dir) is None  # nothing validated yet
    run_suite(
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period="2026-03",
        gx_dir=gx_dir,
    )
    index = build_data_docs(gx_dir)
    assert index == (gx_dir / "data_docs" / "index.html").resolve()
    html = index.read_text(encoding="utf-8")
    assert "ice_tickets" in html
    assert not list((gx_dir / "gx").rglob("index.html"))  # only our site is built


def test_data_docs_draw_only_new_results_and_list_all(tmp_path: Path) -> None:
    from ice_pipeline.ingest.gx_context import context_for, pages_to_draw

    gx_dir = tmp_path / "gx"
    for period in ("2026-03", "2026-04"):
        run_suite(
            "tickets",
            _tickets(5),
            previous=None,
            known_departments=None,
            period=period,
            gx_dir=gx_dir,
        )
    assert pages_to_draw(context_for(gx_dir), gx_dir) is None  # no site yet: draw it all
    build_data_docs(gx_dir)
    pages = sorted((gx_dir / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2
    drawn = {p: p.stat().st_mtime_ns for p in pages}
    run_suite(
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period="2026-05",
        gx_dir=gx_dir,
    )
    todo = pages_to_draw(context_for(gx_dir), gx_dir)
    assert todo is not None
    assert [getattr(k, "run_id", None) and k.run_id.run_name for k in todo] == [
        None,
        "tickets-2026-05",
    ]  # the suite's page and the new result's, not the two drawn before
    index = build_data_docs(gx_dir)
    assert index is not None
    after = sorted((gx_dir / "data_docs" / "validations").rglob("*.html"))
    assert len(after) == 3
    assert all(p.stat().st_mtime_ns == t for p, t in drawn.items())  # not redrawn
    html = index.read_text(encoding="utf-8")
    assert all(f"tickets-2026-0{m}" in html for m in (3, 4, 5))  # the index lists every result


def test_unchanged_suite_and_definition_are_not_rewritten(tmp_path: Path) -> None:
    gx_dir = tmp_path / "gx"
    stored = [
        gx_dir / "gx" / "expectations" / "ice_tickets.json",
        gx_dir / "gx" / "validation_definitions" / "ice_tickets.json",
        gx_dir / "gx" / "great_expectations.yml",
    ]
    first = run_suite(
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period="2026-03",
        gx_dir=gx_dir,
    )
    written = [(p.stat().st_mtime_ns, p.read_bytes()) for p in stored]
    again = run_suite(
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period="2026-03",
        gx_dir=gx_dir,
    )
    assert [(o.check_name, o.passed) for o in again] == [(o.check_name, o.passed) for o in first]
    assert [(p.stat().st_mtime_ns, p.read_bytes()) for p in stored] == written
    changed = run_suite(  # another period: its freshness bound changes the suite
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period="2026-04",
        gx_dir=gx_dir,
    )
    assert len(changed) == len(first)
    assert stored[0].read_bytes() != written[0][1]
    assert stored[1].read_bytes() == written[1][1]  # same suite and batch: same definition


def test_unknown_table_is_rejected() -> None:
    with pytest.raises(ValueError, match="no expectation suite"):
        run_suite(
            "ice_scores",
            pd.DataFrame(),
            previous=None,
            known_departments=None,
            period="2026-03",
            gx_dir=None,
        )


def test_survey_comments_suite_pass_and_fail() -> None:
    comments = pd.DataFrame(
        {
            "period": ["2026-03"] * 3,
            "respondent_id": ["r1", "r2", "r2"],
            "provider_department": ["IT"] * 3,
            "consumer_department": ["Sales", "Sales", "Mars"],
            "comment_text": ["ok", "slow", "again"],
            "source_file": ["x"] * 3,
            "source_sha256": [SHA] * 3,
            "source_row": [2, 3, 4],
        }
    )
    good = _by_name(
        run_suite(
            "survey_comments",
            comments.iloc[:2],
            previous=comments.iloc[:2],
            known_departments={"Sales"},
            period="2026-03",
            gx_dir=None,
        )
    )
    assert set(good) == {
        "survey_comments_volume_vs_previous_period",
        "survey_comments_key_unique",
        "survey_comments_consumer_department_known_to_hr",
    }
    assert all(o.passed for o in good.values())
    bad = _by_name(
        run_suite(
            "survey_comments",
            comments,
            previous=comments.iloc[:1],
            known_departments={"Sales"},
            period="2026-03",
            gx_dir=None,
        )
    )
    assert [name for name, o in bad.items() if o.passed] == []


def _suite_in_child(gx_dir: str, period: str) -> list[bool]:
    outcomes = run_suite(
        "tickets",
        _tickets(5),
        previous=None,
        known_departments=None,
        period=period,
        gx_dir=Path(gx_dir),
    )
    return [o.passed for o in outcomes]


def test_concurrent_runs_share_a_fresh_gx_dir(tmp_path: Path) -> None:
    # Two partitions validated at once (concurrent Dagster runs) used to corrupt the GX project
    # config on a fresh data directory; the directory lock serialises them.
    import multiprocessing

    gx_dir = tmp_path / "gx"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(
            _suite_in_child, [(str(gx_dir), p) for p in ("2026-03", "2026-03", "2026-03")]
        )
    assert len(results) == 3
    assert all(all(r) for r in results)
    assert build_data_docs(gx_dir) is not None


def test_config_variables_keep_their_values_without_the_comment_template(tmp_path: Path) -> None:
    from ice_pipeline.ingest.gx_context import compact_config_variables

    path = tmp_path / "config_variables.yml"
    path.write_text(
        "\n# This config file supports variable substitution\n# (GX's template)\n"
        "instance_id: 11c361e6-92c7-401a-93ac-66838e778895\nwarehouse_password: ${PGPASS}\n",
        encoding="utf-8",
    )
    compact_config_variables(path)
    text = path.read_text(encoding="utf-8")
    assert "#" not in text
    assert yaml.safe_load(text) == {
        "instance_id": "11c361e6-92c7-401a-93ac-66838e778895",
        "warehouse_password": "${PGPASS}",
    }
    edited = "instance_id: abc\n# a comment a person added after the first line\n"
    path.write_text(edited, encoding="utf-8")
    compact_config_variables(path)  # a file that does not start with GX's template is left alone
    assert path.read_text(encoding="utf-8") == edited


def _wave(days: range, period: str = "2026-03") -> pd.DataFrame:
    """A survey wave answered on the given days of the month (the demo answers days 2-20)."""
    stamps = [f"{period}-{day:02d} 09:00" for day in days]
    return _ratings(len(stamps), responded_at=pd.to_datetime(stamps), period=[period] * len(stamps))


def test_freshness_passes_a_wave_closing_mid_month_and_fails_a_stale_export() -> None:
    def fresh(frame: pd.DataFrame, previous: pd.DataFrame | None) -> CheckOutcome:
        outcomes = run_suite(
            "survey_ratings",
            frame,
            previous=previous,
            known_departments={"IT", "Sales"},
            period="2026-03",
            gx_dir=None,
        )
        return _by_name(outcomes)["survey_ratings_responded_at_fresh"]

    previous = _wave(range(2, 21), "2026-02")
    normal = fresh(_wave(range(2, 20)), previous)  # as the demo: days 2-20, 11 days before the end
    assert normal.passed, normal
    stale = fresh(_wave(range(2, 7)), previous)  # exported on day 6 of a wave that ran to day 20
    assert not stale.passed and not stale.blocking
    assert stale.metadata["observed_value"].startswith("2026-03-06")
    # Without a previous period the feed only has to reach into its own period.
    assert fresh(_wave(range(2, 7)), None).passed
