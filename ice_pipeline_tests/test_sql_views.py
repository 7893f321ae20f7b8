"""Every analyst view and example query, run on both engines against known rows.

The rows are written through replace_partition (the path the pipeline uses). Suppressed rows
deliberately carry numbers here, although the pipeline stores NULL: the views must hide them
anyway, so a bug upstream cannot leak a small group's score to analysts.
"""

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline.paths import sql_dir
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition, upsert_rows

JAN, FEB = "2025-01", "2025-02"
GENERATED = dt.datetime(2025, 3, 2, 6, 0)


def _ice_row(
    provider: str, n: int, ice_p: float, ice: float, rank: int | None, **extra: object
) -> dict:
    return {
        "provider_department": provider,
        "n_respondents": n,
        "suppressed": False,
        "ice_p": ice_p,
        "ice_p_ci_low": ice_p - 5,
        "ice_p_ci_high": ice_p + 5,
        "favourable_pct": ice_p - 10,
        "ice_k": 80.0,
        "ice": ice,
        "no_tickets": False,
        "rank": rank,
        **extra,
    }


def _populate(engine: sqlalchemy.Engine) -> None:
    def put(table: sqlalchemy.Table, rows: list[dict], partition: dict[str, object]) -> None:
        replace_partition(engine, table, pd.DataFrame(rows), partition)

    # departments: {short_names: {IT: Information Technology}, groups: {Sales: [Sales, Legal]}}
    put(
        schema.department_groups,
        [
            {
                "department": "Information Technology",
                "department_group": "Information Technology",
                "short_name": "IT",
            },
            {"department": "Sales", "department_group": "Sales", "short_name": None},
            {"department": "Legal", "department_group": "Sales", "short_name": None},
        ],
        {},
    )

    put(
        schema.ice_scores,
        [_ice_row("Information Technology", 20, 70.0, 73.0, 1), _ice_row("HR", 15, 60.0, 62.0, 2)],
        {"period": JAN},
    )
    put(
        schema.ice_scores,
        [
            _ice_row(
                "Information Technology",
                22,
                78.0,
                79.0,
                1,
                ice_p_change=8.0,
                ice_p_change_ci_low=3.0,
                ice_p_change_ci_high=13.0,
                change_significant=True,
            ),
            _ice_row(
                "HR",
                14,
                55.0,
                57.0,
                2,
                ice_p_change=-5.0,
                ice_p_change_ci_low=-11.0,
                ice_p_change_ci_high=1.0,
                change_significant=False,
            ),
            _ice_row(
                "Finance",
                6,
                50.0,
                52.0,
                3,
                ice_p_change=-10.0,
                ice_p_change_ci_low=-15.0,
                ice_p_change_ci_high=-5.0,
                change_significant=True,
            ),
            # Suppressed, with numbers that must never surface (lowest ICE, biggest change).
            _ice_row(
                "Legal",
                3,
                10.0,
                10.0,
                4,
                suppressed=True,
                ice_p_change=-30.0,
                ice_p_change_ci_low=-40.0,
                ice_p_change_ci_high=-20.0,
                change_significant=True,
            ),
        ],
        {"period": FEB},
    )
    put(
        schema.service_kpis,
        [
            {
                "provider_department": "Information Technology",
                "tickets_n": 40,
                "sla_met_pct": 92.5,
                "median_resolution_hours": 5.5,
            }
        ],
        {"period": FEB},
    )
    put(schema.company_scores, [{"n_respondents": 40, "ice_p": 66.0, "ice": 67.0}], {"period": JAN})
    put(
        schema.company_scores,
        [
            {
                "n_respondents": 45,
                "ice_p": 64.0,
                "ice": 65.0,
                "ice_p_change": -2.0,
                "ice_p_change_ci_low": -4.0,
                "ice_p_change_ci_high": -0.5,
                "change_significant": True,
            }
        ],
        {"period": FEB},
    )
    put(
        schema.matrix_scores,
        [
            {
                "provider_department": "Information Technology",
                "consumer_department": "Sales",
                "n_respondents": 9,
                "suppressed": False,
                "score": 90.0,
            }
        ],
        {"period": JAN},
    )
    put(
        schema.matrix_scores,
        [
            {
                "provider_department": "Information Technology",
                "consumer_department": "Sales",
                "n_respondents": 8,
                "suppressed": False,
                "score": 70.0,
                "score_ci_low": 60.0,
                "score_ci_high": 80.0,
            },
            {
                "provider_department": "Information Technology",
                "consumer_department": "Finance",
                "n_respondents": 6,
                "suppressed": False,
                "score": 85.0,
                "score_ci_low": 75.0,
                "score_ci_high": 95.0,
            },
            {
                "provider_department": "Information Technology",
                "consumer_department": "HR",
                "n_respondents": 2,
                "suppressed": True,
                "suppression_reason": "small_group",
                "score": 12.0,
            },
            {
                "provider_department": "Information Technology",
                "consumer_department": "Legal",
                "n_respondents": None,
                "suppressed": True,
                "suppression_reason": "complementary",
                "score": 13.0,
            },
            {
                "provider_department": "HR",
                "consumer_department": "Sales",
                "n_respondents": 7,
                "suppressed": False,
                "score": 40.0,
            },
        ],
        {"period": FEB},
    )
    put(
        schema.turnover,
        [
            {
                "department": "Sales",
                "headcount_start": 40,
                "headcount_end": 39,
                "headcount_avg": 39.5,
                "leavers": 1,
                "voluntary_leavers": 1,
                "involuntary_leavers": 0,
                "turnover_pct": 2.5,
                "suppressed": False,
            },
            {
                "department": "Finance",
                "headcount_start": 10,
                "headcount_end": 10,
                "headcount_avg": 10.0,
                "leavers": 0,
                "voluntary_leavers": 0,
                "involuntary_leavers": 0,
                "turnover_pct": 0.0,
                "suppressed": False,
            },
            {
                "department": "Ops",
                "headcount_start": 0,
                "headcount_end": 0,
                "headcount_avg": 0.0,
                "leavers": 0,
                "voluntary_leavers": 0,
                "involuntary_leavers": 0,
                "suppressed": False,
            },
        ],
        {"period": FEB},
    )
    put(
        schema.consumer_satisfaction,
        [
            {
                "consumer_department": "Sales",
                "n_respondents": 30,
                "suppressed": False,
                "score": 68.0,
            },
            {
                "consumer_department": "Finance",
                "n_respondents": 4,
                "suppressed": True,
                "score": 5.0,
            },
        ],
        {"period": FEB},
    )
    corr = {
        "analysis": "consumer_satisfaction_vs_turnover",
        "x_metric": "satisfaction_score",
        "y_metric": "turnover_pct",
        "group_key": "all",
        "status": "ok",
    }
    put(
        schema.correlations,
        [
            {
                **corr,
                "lag_periods": 0,
                "n_pairs": 30,
                "pearson_r": -0.9,
                "bh_q": 0.001,
                "significant": True,
            }
        ],
        {"period": JAN},
    )
    put(
        schema.correlations,
        [
            {
                **corr,
                "lag_periods": 0,
                "n_pairs": 28,
                "pearson_r": -0.1,
                "bh_q": 0.6,
                "significant": False,
            },
            {
                **corr,
                "lag_periods": 1,
                "n_pairs": 27,
                "pearson_r": -0.45,
                "pearson_r_ci_low": -0.7,
                "pearson_r_ci_high": -0.1,
                "bh_q": 0.02,
                "significant": True,
            },
            {**corr, "lag_periods": 2, "n_pairs": 4, "status": "insufficient data"},
            {
                "analysis": "ice_vs_external",
                "x_metric": "ice",
                "y_metric": "nps",
                "group_key": "all",
                "lag_periods": 0,
                "n_pairs": 24,
                "status": "ok",
                "pearson_r": 0.5,
                "bh_q": 0.03,
                "significant": True,
            },
        ],
        {"period": FEB},
    )
    report = {"html": "<html>secret body</html>", "input_fingerprints": "{}", "run_id": "run-1"}
    upsert_rows(
        engine,
        schema.report_archive,
        pd.DataFrame(
            [
                {
                    **report,
                    "period": JAN,
                    "kind": "executive_summary",
                    "audience": "executives",
                    "version": 1,
                    "content_sha256": "a1",
                    "generated_at": GENERATED - dt.timedelta(days=28),
                },
                {
                    **report,
                    "period": FEB,
                    "kind": "executive_summary",
                    "audience": "executives",
                    "version": 1,
                    "content_sha256": "b1",
                    "generated_at": GENERATED,
                },
                {
                    **report,
                    "period": FEB,
                    "kind": "executive_summary",
                    "audience": "executives",
                    "version": 2,
                    "content_sha256": "b2",
                    "generated_at": GENERATED + dt.timedelta(hours=1),
                },
                {
                    **report,
                    "period": FEB,
                    "kind": "provider:Information Technology",
                    "audience": "provider",
                    "version": 1,
                    "content_sha256": "c1",
                    "generated_at": GENERATED,
                },
            ]
        ),
    )
    upsert_rows(
        engine,
        schema.delivery_ledger,
        pd.DataFrame(
            [
                {
                    "period": FEB,
                    "kind": "executive_summary",
                    "audience": "executives",
                    "version": 2,
                    "recipient": "ceo@example.com",
                    "status": "sent",
                    "attempts": 1,
                    "updated_at": GENERATED,
                },
            ]
        ),
    )


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sqlalchemy.Engine]:
    upgrade(warehouse_url)
    engine = connect_warehouse(warehouse_url)
    _populate(engine)
    yield engine
    engine.dispose()


def _query(engine: sqlalchemy.Engine, sql_text: str) -> tuple[list[str], list[tuple]]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(sql_text)
        return list(result.keys()), [tuple(row) for row in result.fetchall()]


def _rows(engine: sqlalchemy.Engine, columns: str, view: str, order: str) -> list[tuple]:
    return _query(engine, f"SELECT {columns} FROM ice.{view} ORDER BY {order}")[1]


def _check_index_by_provider(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "period, provider_department, suppressed, n_respondents, ice, ice_p, rank, "
        "tickets_n, sla_met_pct",
        "v_index_by_provider",
        "period, provider_department",
    )
    assert rows == [
        (JAN, "HR", False, 15, 62.0, 60.0, 2, None, None),
        (JAN, "Information Technology", False, 20, 73.0, 70.0, 1, None, None),
        (FEB, "Finance", False, 6, 52.0, 50.0, 3, None, None),
        (FEB, "HR", False, 14, 57.0, 55.0, 2, None, None),
        (FEB, "Information Technology", False, 22, 79.0, 78.0, 1, 40, 92.5),
        (FEB, "Legal", True, None, None, None, None, None, None),
    ]


def _check_matrix_hides_suppressed_cells(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "provider_department, consumer_department, suppressed, suppression_reason, "
        "n_respondents, score, score_ci_low",
        "v_provider_consumer_matrix",
        "period, provider_department, consumer_department",
    )
    assert rows == [
        ("Information Technology", "Sales", False, None, 9, 90.0, None),
        ("HR", "Sales", False, None, 7, 40.0, None),
        ("Information Technology", "Finance", False, None, 6, 85.0, 75.0),
        ("Information Technology", "HR", True, "small_group", None, None, None),
        ("Information Technology", "Legal", True, "complementary", None, None, None),
        ("Information Technology", "Sales", False, None, 8, 70.0, 60.0),
    ]


def _check_trend_has_providers_and_company(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "period, scope, provider_department, n_respondents, ice_p, ice_p_change, "
        "ice_p_change_ci_low, change_significant, trend",
        "v_trend",
        "period, scope, provider_department",
    )
    assert rows == [
        (JAN, "company", None, 40, 66.0, None, None, None, None),
        (JAN, "provider", "HR", 15, 60.0, None, None, None, None),
        (JAN, "provider", "Information Technology", 20, 70.0, None, None, None, None),
        (FEB, "company", None, 45, 64.0, -2.0, -4.0, True, "declined"),
        (FEB, "provider", "Finance", 6, 50.0, -10.0, -15.0, True, "declined"),
        (FEB, "provider", "HR", 14, 55.0, -5.0, -11.0, False, "no significant change"),
        (FEB, "provider", "Information Technology", 22, 78.0, 8.0, 3.0, True, "improved"),
        (FEB, "provider", "Legal", None, None, None, None, None, None),
    ]


def _check_turnover_beside_satisfaction(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "department, headcount_avg, leavers, turnover_pct, satisfaction_suppressed, "
        "satisfaction_n_respondents, satisfaction_score",
        "v_turnover",
        "department",
    )
    assert rows == [
        ("Finance", 10.0, 0, 0.0, True, None, None),
        ("Ops", 0.0, 0, None, None, None, None),
        ("Sales", 39.5, 1, 2.5, False, 30, 68.0),
    ]


def _check_correlations_say_association_not_causation(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "period, analysis, lag_periods, n_pairs, pearson_r, significant, finding",
        "v_correlations",
        "period, analysis, lag_periods",
    )
    assert rows == [
        (
            JAN,
            "consumer_satisfaction_vs_turnover",
            0,
            30,
            -0.9,
            True,
            "association (not causation): negative",
        ),
        (
            FEB,
            "consumer_satisfaction_vs_turnover",
            0,
            28,
            -0.1,
            False,
            "no significant association",
        ),
        (
            FEB,
            "consumer_satisfaction_vs_turnover",
            1,
            27,
            -0.45,
            True,
            "association (not causation): negative",
        ),
        (FEB, "consumer_satisfaction_vs_turnover", 2, 4, None, None, "insufficient data"),
        (FEB, "ice_vs_external", 0, 24, 0.5, True, "association (not causation): positive"),
    ]


def _check_report_archive_index_has_no_html_or_recipients(engine: sqlalchemy.Engine) -> None:
    columns, rows = _query(
        engine, "SELECT * FROM ice.v_report_archive ORDER BY period, kind, version"
    )
    assert columns == [
        "period",
        "period_start",
        "kind",
        "audience",
        "version",
        "content_sha256",
        "generated_at",
        "run_id",
        "file_name",
        "is_latest",
    ]
    assert [(r[0], r[2], r[4], r[5], r[6], r[9]) for r in rows] == [
        # FEB's executive summary version 1 is superseded by version 2: not listed (issue 11).
        (JAN, "executive_summary", 1, "a1", GENERATED - dt.timedelta(days=28), True),
        (FEB, "executive_summary", 2, "b2", GENERATED + dt.timedelta(hours=1), True),
        (FEB, "provider:Information Technology", 1, "c1", GENERATED, True),
    ]
    flat = repr(rows)
    assert "secret body" not in flat and "ceo@example.com" not in flat


def _check_departments_dimension_and_period_start(engine: sqlalchemy.Engine) -> None:
    rows = _rows(
        engine,
        "department, is_provider, is_consumer, in_hr_roster, first_period, first_period_start, "
        "last_period",
        "v_departments",
        "department",
    )
    by_name = {row[0]: row[1:] for row in rows}
    assert sorted(by_name) == ["Finance", "HR", "Information Technology", "Legal", "Ops", "Sales"]
    assert by_name["Information Technology"] == (
        True,
        False,
        False,
        JAN,
        dt.date(2025, 1, 1),
        FEB,
    )
    assert by_name["Finance"][:3] == (True, True, True)  # provides, rates, has turnover
    assert by_name["Sales"][:3] == (False, True, True)
    assert by_name["Ops"] == (False, False, True, FEB, dt.date(2025, 2, 1), FEB)
    names = _rows(engine, "department, short_name, department_group", "v_departments", "department")
    assert names == [
        ("Finance", None, "Finance"),  # in no group: its own group
        ("HR", None, "HR"),
        ("Information Technology", "IT", "Information Technology"),
        ("Legal", None, "Sales"),
        ("Ops", None, "Ops"),
        ("Sales", None, "Sales"),
    ]
    # Every view carries period_start beside period, as a DATE of the month's first day.
    for view in ("v_index_by_provider", "v_provider_consumer_matrix", "v_trend", "v_turnover"):
        pairs = set(_rows(engine, "period, period_start", view, "period"))
        assert pairs <= {(JAN, dt.date(2025, 1, 1)), (FEB, dt.date(2025, 2, 1))}, view
        assert pairs, view


def test_views(engine: sqlalchemy.Engine, subtests: pytest.Subtests) -> None:
    """One populated warehouse per engine, each view checked as a subtest."""
    checks = [
        _check_index_by_provider,
        _check_matrix_hides_suppressed_cells,
        _check_trend_has_providers_and_company,
        _check_turnover_beside_satisfaction,
        _check_correlations_say_association_not_causation,
        _check_report_archive_index_has_no_html_or_recipients,
        _check_departments_dimension_and_period_start,
    ]
    for check in checks:
        with subtests.test(msg=check.__name__):
            check(engine)


EXPECTED_EXAMPLES = {
    "01_worst_rated_provider_last_period.sql": [(FEB, "Finance", 52.0, 50.0, 45.0, 55.0, 6, 3)],
    "02_consumer_departments_rating_it_lowest.sql": [
        ("Sales", 70.0, 60.0, 80.0, 8),
        ("Finance", 85.0, 75.0, 95.0, 6),
    ],
    "03_significant_changes_last_period.sql": [
        ("provider", "Finance", 50.0, -10.0, -15.0, -5.0, "declined"),
        ("company", None, 64.0, -2.0, -4.0, -0.5, "declined"),
        ("provider", "Information Technology", 78.0, 8.0, 3.0, 13.0, "improved"),
    ],
    "04_it_trend_against_company.sql": [
        (JAN, 70.0, None, None, 66.0, 4.0),
        (FEB, 78.0, 8.0, "improved", 64.0, 14.0),
    ],
    "05_satisfaction_before_turnover.sql": [
        (0, "all", 28, -0.1, None, None, 0.6, "no significant association"),
        (1, "all", 27, -0.45, -0.7, -0.1, 0.02, "association (not causation): negative"),
        (2, "all", 4, None, None, None, None, "insufficient data"),
    ],
    "07_last_six_months_by_department_role.sql": [
        (dt.date(2025, 2, 1), "Finance", 52.0, 6),
        (dt.date(2025, 1, 1), "HR", 62.0, 15),
        (dt.date(2025, 2, 1), "HR", 57.0, 14),
        (dt.date(2025, 1, 1), "Information Technology", 73.0, 20),
        (dt.date(2025, 2, 1), "Information Technology", 79.0, 22),
    ],
    "08_it_for_sales.sql": [  # Legal is rolled up into Sales in this fixture; its cell is hidden
        (dt.date(2025, 1, 1), "Sales", False, 90.0, None, None, 9),
        (dt.date(2025, 2, 1), "Legal", True, None, None, None, None),
        (dt.date(2025, 2, 1), "Sales", False, 70.0, 60.0, 80.0, 8),
    ],
    "06_latest_reports.sql": [
        (FEB, "executive_summary", "executives", 2, GENERATED + dt.timedelta(hours=1), "b2"),
        (FEB, "provider:Information Technology", "provider", 1, GENERATED, "c1"),
        (JAN, "executive_summary", "executives", 1, GENERATED - dt.timedelta(days=28), "a1"),
    ],
}


def test_every_example_is_tested() -> None:
    shipped = sorted(path.name for path in (sql_dir() / "examples").glob("*.sql"))
    assert shipped == sorted(EXPECTED_EXAMPLES)


def test_example_queries(engine: sqlalchemy.Engine, subtests: pytest.Subtests) -> None:
    for name, expected in sorted(EXPECTED_EXAMPLES.items()):
        with subtests.test(msg=name):
            sql_text = (sql_dir() / "examples" / name).read_text(encoding="utf-8")
            assert sql_text.startswith("-- "), (
                "each example opens with a comment on what it answers"
            )
            _, rows = _query(engine, sql_text)
            assert rows == expected


def test_sql_files_are_portable_text() -> None:
    """No driver placeholders or engine-only casts in the shipped SQL."""
    for path in sorted(sql_dir().glob("*/*.sql")):
        text = path.read_text(encoding="utf-8")
        assert "%" not in text, path  # psycopg would read it as a placeholder
        assert "::" not in text, path  # PostgreSQL-only cast syntax
