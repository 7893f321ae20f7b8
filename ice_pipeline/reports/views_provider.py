"""The view-model of one provider department's page.

Belongs here: the provider headline, trend, dimensions, how each consumer department rates the
provider, its ticket KPIs and the comments that may be shown (groups of at least
``comment_min_group`` respondents).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ice_pipeline.reports import charts
from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.site import previous_page, provider_page
from ice_pipeline.reports.views_common import (
    NOT_AVAILABLE,
    Estimate,
    Methodology,
    ProviderRow,
    TrendPoint,
    _count,
    _estimate,
    _methodology,
    _number,
    _plain_number,
    _provider_row,
    _rows,
    _text,
    withheld_label,
)
from ice_pipeline.reports.views_drivers import (
    DriverPanel,
    dimension_label,
    driver_panel,
    quadrant_chart,
)
from ice_pipeline.reports.views_movers import MoversPanel, change_estimate, relative_movers


@dataclass(frozen=True)
class DimensionRow:
    dimension: str  # the label (reports.dimension_labels), never the raw code
    score: Estimate
    favourable: Estimate
    code: str = ""


@dataclass(frozen=True)
class ConsumerRating:
    consumer: str
    score: Estimate
    favourable: Estimate


@dataclass(frozen=True)
class KpiRow:
    label: str
    value_text: str
    score_text: str


@dataclass(frozen=True)
class KpiPanel:
    tickets_n: int
    ice_k_text: str
    rows: tuple[KpiRow, ...]


@dataclass(frozen=True)
class CommentGroup:
    consumer: str
    n_respondents: int
    comments: tuple[str, ...]


@dataclass(frozen=True)
class ProviderView:
    """Everything one provider department's page shows."""

    period: str
    organisation: str
    provider: str
    title: str
    withheld_text: str
    headline: ProviderRow | None
    trend: tuple[TrendPoint, ...]
    dimensions: tuple[DimensionRow, ...]
    dimension_movers: MoversPanel
    drivers: DriverPanel | None
    consumers: tuple[ConsumerRating, ...]
    kpis: KpiPanel | None
    comment_groups: tuple[CommentGroup, ...]
    comments_withheld_groups: int
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)
    previous_page: str | None = None  # this provider's page of the previous period (site links)


def _kpis(row: Mapping[str, Any] | None) -> KpiPanel | None:
    if row is None:
        return None

    def score(column: str) -> str:
        return _plain_number(_number(row.get(column)))

    satisfaction_n = _count(row.get("satisfaction_n"))
    satisfaction = _number(row.get("satisfaction_mean"))
    rows = (
        KpiRow("SLA met", _plain_number(_number(row.get("sla_met_pct")), "%"), score("sla_score")),
        KpiRow(
            "Reopened", _plain_number(_number(row.get("reopen_pct")), "%"), score("reopen_score")
        ),
        KpiRow(
            "Median resolution",
            _plain_number(_number(row.get("median_resolution_hours")), " h"),
            score("resolution_score"),
        ),
        KpiRow(
            "Resolved by first assignee",
            _plain_number(_number(row.get("first_assignee_pct")), "%"),
            score("first_assignee_score"),
        ),
        KpiRow(
            "Ticket satisfaction (1-5)",
            NOT_AVAILABLE
            if satisfaction is None
            else f"{satisfaction:.2f} (n = {satisfaction_n or 0})",
            score("satisfaction_score"),
        ),
    )
    return KpiPanel(_count(row.get("tickets_n")) or 0, score("ice_k"), rows)


def _dimension_movers(
    period: str,
    provider: str,
    tables: Mapping[str, pd.DataFrame],
    dimensions: tuple[DimensionRow, ...],
    headline: ProviderRow | None,
    k: int,
) -> MoversPanel:
    """Dimensions whose change since the previous period differs from the provider's own."""
    frame = tables.get("dimension_scores")
    rows = _rows(frame, provider_department=provider)
    earlier = sorted({str(row["period"]) for row in rows if str(row["period"]) < period})
    before = {
        _text(row["dimension"]): _estimate(
            row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k
        )
        for row in rows
        if earlier and str(row["period"]) == earlier[-1]
    }
    changes = [
        (row.dimension, change_estimate(row.score, before[row.code]))
        for row in dimensions
        if row.code in before
    ]
    shared = headline.change if headline is not None else Estimate(None)
    return relative_movers(f"{provider} as a whole", shared, changes, "points")


def _comment_groups(
    period: str,
    provider: str,
    consumers: tuple[ConsumerRating, ...],
    comments: pd.DataFrame | None,
    comment_min_group: int,
) -> tuple[list[CommentGroup], int]:
    """Comments by consumer department, only for published groups of ``comment_min_group``
    respondents or more; and how many groups' comments are withheld.
    """
    large_groups = {
        rating.consumer: rating.score.n
        for rating in consumers
        if rating.score.published and (rating.score.n or 0) >= comment_min_group
    }
    groups: list[CommentGroup] = []
    withheld_groups = 0
    comment_rows = _rows(comments, period=period, provider_department=provider)
    by_consumer: dict[str, list[str]] = {}
    for row in comment_rows:
        text = _text(row.get("comment_text")).strip()
        if text:
            by_consumer.setdefault(_text(row["consumer_department"]), []).append(text)
    for consumer in sorted(by_consumer):
        if consumer in large_groups:
            groups.append(
                CommentGroup(
                    consumer, int(large_groups[consumer] or 0), tuple(sorted(by_consumer[consumer]))
                )
            )
        else:
            withheld_groups += 1

    return groups, withheld_groups


def _provider_charts(
    period: str,
    provider: str,
    trend: tuple[TrendPoint, ...],
    dimensions: tuple[DimensionRow, ...],
    consumers: tuple[ConsumerRating, ...],
    withheld_text: str,
) -> dict[str, Any]:
    """The provider page's trend, dimension and consumer charts."""
    return {
        "trend": charts.trend_chart(
            "provider_trend",
            f"ICE-P of {provider} by period",
            f"Line chart of {provider}'s ICE-P over {len(trend)} periods; {period}: "
            f"{trend[-1].estimate.value_text if trend else NOT_AVAILABLE}.",
            [
                (point.period, point.estimate.value, point.estimate.ci_low, point.estimate.ci_high)
                for point in trend
            ],
        ),
        "dimensions": charts.ranked_bar_chart(
            "provider_dimensions",
            f"{provider}: score by dimension with 95% intervals",
            f"Bar chart of {len(dimensions)} dimension scores of {provider}, highest first.",
            [
                (row.dimension, row.score.value, row.score.ci_low, row.score.ci_high)
                for row in dimensions
            ],
            withheld_text=withheld_text,
        ),
        "consumers": charts.ranked_bar_chart(
            "provider_consumers",
            f"How each department rates {provider}",
            f"Bar chart of the scores {len(consumers)} consumer departments give {provider}; "
            f"{sum(not c.score.published for c in consumers)} are withheld.",
            [
                (row.consumer, row.score.value, row.score.ci_low, row.score.ci_high)
                for row in consumers
            ],
            withheld_text=withheld_text,
        ),
    }


def _dimension_rows(
    period: str, provider: str, tables: Mapping[str, pd.DataFrame], config: ReportConfig, k: int
) -> tuple[DimensionRow, ...]:
    """The provider's dimensions in ``period``, by dimension code."""
    return tuple(
        DimensionRow(
            dimension_label(_text(row["dimension"]), config.dimension_labels),
            _estimate(row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k),
            _estimate(
                row,
                "favourable_pct",
                interval_prefix=None,
                n=_count(row.get("n_respondents")),
                k=k,
                unit="%",
            ),
            _text(row["dimension"]),
        )
        for row in sorted(
            _rows(tables.get("dimension_scores"), period=period, provider_department=provider),
            key=lambda row: _text(row["dimension"]),
        )
    )


def _consumer_ratings(matrix: list[dict[str, Any]], k: int) -> tuple[ConsumerRating, ...]:
    """How each consumer department rated the provider (its matrix row), by department."""
    return tuple(
        ConsumerRating(
            _text(row["consumer_department"]),
            _estimate(row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k),
            _estimate(
                row,
                "favourable_pct",
                interval_prefix=None,
                n=_count(row.get("n_respondents")),
                k=k,
                unit="%",
            ),
        )
        for row in sorted(matrix, key=lambda row: _text(row["consumer_department"]))
    )


def build_provider_view(
    period: str,
    provider: str,
    tables: Mapping[str, pd.DataFrame],
    comments: pd.DataFrame | None,
    config: ReportConfig,
) -> ProviderView:
    """One provider department's page for ``period``.

    ``comments`` has at least ``period``, ``provider_department``, ``consumer_department`` and
    ``comment_text``; a comment is shown only when its (provider, consumer) group in
    ``matrix_scores`` is published and has at least ``comment_min_group`` respondents.
    """
    k = config.k_anonymity
    withheld_text = withheld_label(k)
    ice_rows = _rows(tables.get("ice_scores"), provider_department=provider)
    current = [row for row in ice_rows if str(row["period"]) == period]
    headline = _provider_row(current[0], k) if current else None
    trend = tuple(
        TrendPoint(
            str(row["period"]),
            _estimate(row, "ice_p", interval_prefix=None, n=_count(row.get("n_respondents")), k=k),
        )
        for row in sorted(ice_rows, key=lambda row: str(row["period"]))
        if str(row["period"]) <= period
    )
    dimensions = _dimension_rows(period, provider, tables, config, k)
    dimension_movers = _dimension_movers(period, provider, tables, dimensions, headline, k)
    matrix = _rows(tables.get("matrix_scores"), period=period, provider_department=provider)
    consumers = _consumer_ratings(matrix, k)
    kpi_rows = _rows(tables.get("service_kpis"), period=period, provider_department=provider)
    kpis = _kpis(kpi_rows[0] if kpi_rows else None)

    groups, withheld_groups = _comment_groups(
        period, provider, consumers, comments, config.comment_min_group
    )

    drivers = driver_panel(period, provider, tables, k, config.dimension_labels)
    view_charts = _provider_charts(period, provider, trend, dimensions, consumers, withheld_text)
    quadrant = quadrant_chart(drivers)
    if quadrant is not None:
        view_charts["quadrant"] = quadrant
    return ProviderView(
        period=period,
        organisation=config.organisation,
        provider=provider,
        title=f"Internal Customer Index: {provider}, {period}",
        withheld_text=withheld_text,
        headline=headline,
        trend=trend,
        dimensions=dimensions,
        dimension_movers=dimension_movers,
        drivers=drivers,
        consumers=consumers,
        kpis=kpis,
        comment_groups=tuple(groups),
        comments_withheld_groups=withheld_groups,
        methodology=_methodology(config),
        charts=view_charts,
        previous_page=previous_page(
            next((p for p in reversed([t.period for t in trend]) if p < period), None),
            provider_page(provider),
        ),
    )
