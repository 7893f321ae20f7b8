"""A small, fixed set of index tables for tests and template previews (no warehouse needed).

The frames use exactly the column names of ``ice_pipeline.warehouse.schema``. They include
suppressed rows (values NULL, ``suppressed`` true), a provider without tickets, an insufficient-data
correlation and, with ``hostile=True``, department names, dimensions and comments that try HTML
and spreadsheet-formula injection. Nothing here is statistics: the numbers are made up but
internally plausible (intervals contain their estimate).
"""

import numpy as np
import pandas as pd
import sqlalchemy

from ice_pipeline.index.config import IndexConfig
from ice_pipeline.index.turnover import protect_turnover
from ice_pipeline.warehouse import schema

PERIODS = ("2026-07", "2026-08", "2026-09", "2026-10")
PROVIDERS = ("IT", "HR", "Finance", "Facilities", "Legal")
CONSUMERS = ("Sales", "Marketing", "Operations", "Engineering", "Support")
DIMENSIONS = ("Responsiveness", "Quality", "Communication", "Ease of use")

HOSTILE_PROVIDER = '=HYPERLINK("http://evil","x")'
HOSTILE_CONSUMER = "<script>alert(1)</script> \"Ops\" & 'Co'"
HOSTILE_DIMENSION = "@SUM(1)"
HOSTILE_COMMENT = '+cmd <script>alert(1)</script> =HYPERLINK("http://evil","x")'

WIDE_CONSUMERS = 26

# A value planted in suppressed rows: it must never be rendered (see the privacy tests).
LEAK_SENTINEL = -7.77


def _columns(table_name: str) -> list[str]:
    return [column.name for column in schema.metadata.tables[f"ice.{table_name}"].columns]


def _ci(rng: np.random.Generator, value: float, half: float) -> tuple[float, float]:
    width = half * (0.8 + 0.4 * rng.random())
    return round(value - width, 2), round(value + width, 2)


def _ice_row(
    rng: np.random.Generator, per: str, index: int, provider: str
) -> tuple[dict, float, float | None]:
    """One provider's ``ice_scores`` row, its unrounded ICE-P and its ticket index (ICE-K)."""
    base = {"IT": 71.0, "HR": 64.0, "Finance": 58.0, "Facilities": 69.0, "Legal": 60.0}
    slope = {"IT": 2.5, "HR": -3.0, "Finance": 0.3, "Facilities": 0.0, "Legal": 0.0}
    n = 3 if provider == "Legal" else int(rng.integers(40, 120))
    suppressed = n < 5
    ice_p = base.get(provider, 66.0) + slope.get(provider, 0.0) * index + rng.normal(0, 0.6)
    low, high = _ci(rng, ice_p, 3.0)
    fav = min(95.0, ice_p + 8)
    no_tickets = provider == "Facilities"
    ice_k = None if no_tickets else round(55 + 20 * rng.random(), 2)
    ice = ice_p if ice_k is None else 0.7 * ice_p + 0.3 * ice_k
    change = slope.get(provider, 0.0) if index else None
    row = {
        "period": per,
        "provider_department": provider,
        "n_respondents": n,
        "suppressed": suppressed,
        "ice_p": round(ice_p, 2),
        "ice_p_ci_low": low,
        "ice_p_ci_high": high,
        "favourable_pct": round(fav, 2),
        "favourable_pct_ci_low": round(fav - 6, 2),
        "favourable_pct_ci_high": round(fav + 6, 2),
        "ice_k": ice_k,
        "ice": round(ice, 2),
        "no_tickets": no_tickets,
        "rank": None,
        "ice_p_change": change,
        "ice_p_change_ci_low": None if change is None else change - 2.0,
        "ice_p_change_ci_high": None if change is None else change + 2.0,
        "change_significant": None if change is None else abs(change) > 2.0,
    }
    if suppressed:
        # The index nulls these; the sentinel proves the report does not rely on that alone.
        hidden = ("ice_p", "ice_p_ci_low", "ice_p_ci_high", "favourable_pct", "ice", "ice_k")
        row.update({key: LEAK_SENTINEL for key in hidden})
        row.update(
            {
                "ice_p_change": None,
                "ice_p_change_ci_low": None,
                "ice_p_change_ci_high": None,
                "change_significant": None,
            }
        )
    return row, ice_p, ice_k  # ticket KPIs are not survey groups: ICE-K is never suppressed


def _dimension_rows(
    rng: np.random.Generator, row: dict, ice_p: float, dimensions: list[str]
) -> list[dict]:
    """The ``dimension_scores`` rows of the provider of ``row`` (an ``ice_scores`` row)."""
    suppressed = row["suppressed"]
    rows = []
    for dim_index, dimension in enumerate(dimensions):
        score = ice_p + (dim_index - 1.5) * 2.0
        dlow, dhigh = _ci(rng, score, 4.0)
        rows.append(
            {
                "period": row["period"],
                "provider_department": row["provider_department"],
                "dimension": dimension,
                "n_respondents": row["n_respondents"],
                "suppressed": suppressed,
                "score": LEAK_SENTINEL if suppressed else round(score, 2),
                "score_ci_low": None if suppressed else dlow,
                "score_ci_high": None if suppressed else dhigh,
                "favourable_pct": None if suppressed else round(score + 5, 2),
                "favourable_pct_ci_low": None if suppressed else round(score - 2, 2),
                "favourable_pct_ci_high": None if suppressed else round(score + 12, 2),
            }
        )
    return rows


def _matrix_rows(
    rng: np.random.Generator, per: str, provider: str, ice_p: float, consumers: list[str]
) -> list[dict]:
    """One provider's ``matrix_scores`` row, with small and complementary suppressions."""
    rows = []
    for consumer_index, consumer in enumerate(consumers):
        if provider == "IT":
            cell_n = 12 + 3 * consumer_index  # large enough for comments (>= 10)
        elif provider == "Legal" or (provider, consumer) == ("HR", "Marketing"):
            cell_n = 3 if provider == "HR" else 1
        else:
            cell_n = int(rng.integers(5, 30))
        reason = None
        if cell_n < 5:
            reason = "small_group"
        elif (provider, consumer) == ("HR", "Support"):
            reason = "complementary"  # the next smallest cell of HR's row
        score = ice_p + (consumer_index - 2) * 3.0
        slow, shigh = _ci(rng, score, 6.0)
        rows.append(
            {
                "period": per,
                "provider_department": provider,
                "consumer_department": consumer,
                "n_respondents": None if reason else cell_n,
                "suppressed": reason is not None,
                "suppression_reason": reason,
                "score": LEAK_SENTINEL if reason else round(score, 2),
                "score_ci_low": None if reason else slow,
                "score_ci_high": None if reason else shigh,
                "favourable_pct": None if reason else round(score + 4, 2),
                "favourable_pct_ci_low": None if reason else round(score - 4, 2),
                "favourable_pct_ci_high": None if reason else round(score + 12, 2),
            }
        )
    return rows


def _kpi_row(rng: np.random.Generator, per: str, provider: str, ice_k: float | None) -> dict:
    """One provider's ``service_kpis`` row."""
    tickets_n = int(rng.integers(80, 400))
    return {
        "period": per,
        "provider_department": provider,
        "tickets_n": tickets_n,
        "sla_met_pct": round(80 + 15 * rng.random(), 1),
        "reopen_pct": round(3 + 6 * rng.random(), 1),
        "median_resolution_hours": round(4 + 20 * rng.random(), 1),
        "first_assignee_pct": round(50 + 30 * rng.random(), 1),
        "satisfaction_mean": round(3.5 + rng.random(), 2),
        "satisfaction_n": tickets_n // 4,
        "sla_score": 80.0,
        "reopen_score": 70.0,
        "resolution_score": 60.0,
        "first_assignee_score": 65.0,
        "satisfaction_score": 75.0,
        "ice_k": ice_k,
    }


def _company_row(per: str, index: int) -> dict:
    company = 65.0 + 0.6 * index
    change = 0.6 if index else None
    return {
        "period": per,
        "n_respondents": 480 + 7 * index,
        "ice_p": company,
        "ice_p_ci_low": company - 1.4,
        "ice_p_ci_high": company + 1.4,
        "ice": company - 0.5,
        "ice_p_change": change,
        "ice_p_change_ci_low": None if change is None else change - 1.9,
        "ice_p_change_ci_high": None if change is None else change + 1.9,
        "change_significant": None if change is None else False,
    }


def _consumer_rows(rng: np.random.Generator, per: str, consumers: list[str]) -> list[dict]:
    rows = []
    for consumer in consumers:
        n = int(rng.integers(30, 90))
        score = 62 + rng.normal(0, 3)
        rows.append(
            {
                "period": per,
                "consumer_department": consumer,
                "n_respondents": n,
                "suppressed": False,
                "score": round(score, 2),
                "score_ci_low": round(score - 4, 2),
                "score_ci_high": round(score + 4, 2),
            }
        )
    return rows


def _turnover_rows(rng: np.random.Generator, per: str, departments: list[str]) -> list[dict]:
    rows = []
    for department in departments:
        headcount = int(rng.integers(20, 200))
        leavers = int(rng.integers(0, 6))
        voluntary = min(leavers, int(rng.integers(0, leavers + 1)))
        pct = round(100 * leavers / headcount, 2)
        rolling = round(8 + 10 * rng.random(), 2)
        rows.append(
            {
                "period": per,
                "department": department,
                "headcount_start": headcount,
                "headcount_end": headcount,
                "headcount_avg": float(headcount),
                "leavers": leavers,
                "voluntary_leavers": voluntary,
                "involuntary_leavers": leavers - voluntary,
                "turnover_pct": pct,
                "voluntary_turnover_pct": round(100 * voluntary / headcount, 2),
                "involuntary_turnover_pct": round(100 * (leavers - voluntary) / headcount, 2),
                "rolling_12m_turnover_pct": rolling,
                "retention_pct": round(100 - rolling, 2),
            }
        )
    return rows


def _correlation_rows(period: str) -> list[dict]:
    """A significant, a non-significant and an insufficient-data correlation."""
    return [
        {
            "period": period,
            "analysis": "consumer_satisfaction_vs_turnover",
            "x_metric": "consumer_satisfaction",
            "y_metric": "voluntary_turnover_pct",
            "lag_periods": 2,
            "group_key": "all",
            "n_pairs": 96,
            "status": "ok",
            "pearson_r": -0.41,
            "pearson_r_ci_low": -0.56,
            "pearson_r_ci_high": -0.23,
            "pearson_p": 0.00003,
            "spearman_rho": -0.38,
            "spearman_p": 0.0001,
            "bh_q": 0.0004,
            "significant": True,
        },
        {
            "period": period,
            "analysis": "provider_ice_vs_turnover",
            "x_metric": "ice",
            "y_metric": "turnover_pct",
            "lag_periods": 0,
            "group_key": "all",
            "n_pairs": 40,
            "status": "ok",
            "pearson_r": 0.08,
            "pearson_r_ci_low": -0.24,
            "pearson_r_ci_high": 0.38,
            "pearson_p": 0.62,
            "spearman_rho": 0.05,
            "spearman_p": 0.75,
            "bh_q": 0.81,
            "significant": False,
        },
        {
            "period": period,
            "analysis": "company_ice_vs_external",
            "x_metric": "company_ice",
            "y_metric": "nps",
            "lag_periods": 1,
            "group_key": "all",
            "n_pairs": 5,
            "status": "insufficient data",
            "pearson_r": None,
            "pearson_r_ci_low": None,
            "pearson_r_ci_high": None,
            "pearson_p": None,
            "spearman_rho": None,
            "spearman_p": None,
            "bh_q": None,
            "significant": None,
        },
    ]


def _driver_rows(period: str, providers: list[str], dimensions: list[str]) -> list[dict]:
    """Key-driver importances per provider and the company; Legal too small to publish."""
    driver_rows = []
    for provider in ["(company)", *providers]:
        small = provider == "Legal"
        shares = np.array(
            [0.45 if d == "Quality" else 0.55 / (len(dimensions) - 1) for d in dimensions]
        )
        for dimension, share in zip(dimensions, shares, strict=True):
            value = round(100 * share, 2)
            driver_rows.append(
                {
                    "period": period,
                    "provider_department": provider,
                    "dimension": dimension,
                    "outcome": None if small else "overall",
                    "outcome_source": None if small else "item",
                    "n_respondents": None if small else 60,
                    "suppressed": small,
                    "r_squared": None if small else 0.71,
                    "importance_pct": None if small else value,
                    "importance_pct_ci_low": None if small else round(value - 5.5, 2),
                    "importance_pct_ci_high": None if small else round(value + 5.5, 2),
                }
            )
    return driver_rows


def sample_tables(
    period: str = "2026-10", *, hostile: bool = False, wide: bool = False
) -> dict[str, pd.DataFrame]:
    """The index tables for ``PERIODS`` (ending at ``period``'s position), keyed by table name.

    ``wide`` adds :data:`WIDE_CONSUMERS` consumer departments with long names (31 in all, as in
    the demo organisation): the layout tests use it to check wide tables stay inside the page.
    """
    # One generator for every table, drawn in a fixed order: the helpers are called in it.
    rng = np.random.default_rng(20261022)
    providers = list(PROVIDERS) + ([HOSTILE_PROVIDER] if hostile else [])
    consumers = list(CONSUMERS) + ([HOSTILE_CONSUMER] if hostile else [])
    if wide:
        consumers += [f"Regional Customer Operations {number:02d}" for number in range(1, 27)]
    dimensions = list(DIMENSIONS) + ([HOSTILE_DIMENSION] if hostile else [])
    rows: dict[str, list[dict]] = {
        name: []
        for name in (
            "ice_scores",
            "company_scores",
            "dimension_scores",
            "matrix_scores",
            "consumer_satisfaction",
            "service_kpis",
            "turnover",
        )
    }
    for index, per in enumerate(PERIODS):
        period_ice: list[tuple[str, float]] = []
        for provider in providers:
            row, ice_p, ice_k = _ice_row(rng, per, index, provider)
            if not row["suppressed"]:
                period_ice.append((provider, row["ice"]))
            rows["ice_scores"].append(row)
            rows["dimension_scores"] += _dimension_rows(rng, row, ice_p, dimensions)
            rows["matrix_scores"] += _matrix_rows(rng, per, provider, ice_p, consumers)
            if not row["no_tickets"]:
                rows["service_kpis"].append(_kpi_row(rng, per, provider, ice_k))
        ranked = sorted(period_ice, key=lambda item: -item[1])
        rank_of = {name: position + 1 for position, (name, _) in enumerate(ranked)}
        for row in rows["ice_scores"]:
            if row["period"] == per and not row["suppressed"]:
                row["rank"] = rank_of[row["provider_department"]]
        rows["company_scores"].append(_company_row(per, index))
        rows["consumer_satisfaction"] += _consumer_rows(rng, per, consumers)
        rows["turnover"] += _turnover_rows(rng, per, providers + consumers)

    tables = {
        "key_drivers": pd.DataFrame(
            _driver_rows(period, providers, dimensions), columns=_columns("key_drivers")
        ),
        **{
            name: pd.DataFrame(rows[name], columns=_columns(name))
            for name in (
                "ice_scores",
                "company_scores",
                "dimension_scores",
                "matrix_scores",
                "consumer_satisfaction",
                "service_kpis",
            )
        },
        # The sample follows the publication rule too: small leaver splits read "withheld".
        "turnover": protect_turnover(
            pd.DataFrame(rows["turnover"], columns=_columns("turnover")),
            IndexConfig().k_min_respondents,
        ),
        "correlations": pd.DataFrame(_correlation_rows(period), columns=_columns("correlations")),
    }
    return {
        name: frame[frame["period"] <= period].reset_index(drop=True)
        for name, frame in tables.items()
    }


def sample_quality() -> dict:
    """A data-quality summary in the shape ``build_executive_view`` reads."""
    return {
        "rows_read": {"survey": 2480, "tickets": 1630, "hr": 612, "external": 24},
        "rows_quarantined": {"survey": 12, "tickets": 3, "hr": 0, "external": 0},
        "checks_failed": [
            {
                "name": "tickets_resolution_after_open",
                "description": "3 tickets resolved before they were opened",
            }
        ],
        "checks_run": 14,
    }


def sample_comments(period: str = "2026-10", *, hostile: bool = False) -> pd.DataFrame:
    """Comments for IT (large groups), HR x Marketing (a small group) and Legal (suppressed)."""
    rows = [
        (period, "r01", "IT", "Sales", "Laptop swaps are quick now."),
        (period, "r02", "IT", "Sales", "The new portal is confusing."),
        (period, "r03", "IT", "Operations", "Great on-site help."),
        (period, "r04", "HR", "Marketing", "SMALL-GROUP-COMMENT must never be shown"),
        (period, "r05", "Legal", "Sales", "LEGAL-SMALL-COMMENT must never be shown"),
    ]
    if hostile:
        rows.append((period, "r06", "IT", "Sales", HOSTILE_COMMENT))
    return pd.DataFrame(
        rows,
        columns=[
            "period",
            "respondent_id",
            "provider_department",
            "consumer_department",
            "comment_text",
        ],
    )


def create_report_tables(engine: sqlalchemy.Engine) -> None:
    """Create the ops schema and the archive and ledger tables (tests; the pipeline migrates)."""
    with engine.begin() as conn:
        for name in schema.ALL_SCHEMAS:
            conn.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {name}"))
    schema.metadata.create_all(engine, tables=[schema.report_archive, schema.delivery_ledger])
