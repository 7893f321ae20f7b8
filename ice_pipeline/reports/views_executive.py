"""The view-model of the executive summary, built from the index tables of a period.

Belongs here: the company headline, ranking, movers, the provider x consumer matrix, turnover,
consumer satisfaction and the data-quality panel, each figure as display-ready text with its n
and 95% interval. Privacy is enforced here a second time: a row flagged ``suppressed``, or built
from fewer than k respondents, becomes an :class:`Estimate` with no numbers at all.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ice_pipeline.index.drivers import COMPANY
from ice_pipeline.reports import charts
from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.site import EXECUTIVE_PAGE, previous_page, provider_page
from ice_pipeline.reports.views_common import (
    Estimate,
    Methodology,
    ProviderRow,
    QualityPanel,
    TrendPoint,
    _count,
    _estimate,
    _flag,
    _methodology,
    _number,
    _periods_up_to,
    _plain_number,
    _provider_row,
    _quality,
    _rows,
    _text,
    withheld_label,
)
from ice_pipeline.reports.views_drivers import (
    DriverPanel,
    FocusArea,
    dimension_label,
    driver_panel,
    focus_areas,
)
from ice_pipeline.reports.views_findings import (
    CorrelationSummary,
    Finding,
    sorted_findings,
    summarise_findings,
)
from ice_pipeline.reports.views_matrix import HeatMap, build_heatmap
from ice_pipeline.reports.views_movers import (
    MoversPanel,
    company_dimension_movers,
    relative_movers,
)
from ice_pipeline.reports.views_participation import Participation, build_participation

EMAIL_ROWS = 12  # department tables in the e-mail
EMAIL_PROVIDER_ROWS = 15  # provider tables in the e-mail


@dataclass(frozen=True)
class CompanyHeadline:
    ice_text: str  # ICE has no interval of its own (ICE-K is not a sample); ICE-P carries one
    ice_p: Estimate
    change: Estimate
    change_significant: bool
    change_sentence: str
    trend: tuple[TrendPoint, ...]
    ice: Estimate = Estimate(None)  # interval from ICE-P's alone: ICE-K is a census of tickets
    ice_k: Estimate = Estimate(None)  # n = tickets


@dataclass(frozen=True)
class TurnoverRow:
    department: str
    headcount_text: str
    # Texts, not counts: a department under k, or a split of fewer than k leavers, is withheld.
    leavers: str
    voluntary_leavers: str
    involuntary_leavers: str
    turnover_text: str
    voluntary_text: str
    involuntary_text: str
    rolling_text: str
    retention_text: str


@dataclass(frozen=True)
class ConsumerRow:
    department: str
    satisfaction: Estimate


@dataclass(frozen=True)
class ExecutiveView:
    """Everything the executive summary shows, as text ready to print."""

    period: str
    organisation: str
    title: str
    withheld_text: str
    company: CompanyHeadline
    providers: tuple[ProviderRow, ...]
    best: tuple[ProviderRow, ...]
    worst: tuple[ProviderRow, ...]
    withheld_providers: tuple[str, ...]
    movers: MoversPanel
    dimension_movers: MoversPanel  # dimensions company-wide against the same company change
    participation: Participation
    company_drivers: DriverPanel | None
    focus_areas: tuple[FocusArea, ...]
    strengths: tuple[FocusArea, ...]
    heatmap: HeatMap
    ice_p_vs_k: tuple[ProviderRow, ...]
    consumers: tuple[ConsumerRow, ...]
    turnover: tuple[TurnoverRow, ...]
    findings: tuple[Finding, ...]
    correlations: CorrelationSummary
    quality: QualityPanel
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)
    # Links of the exported site (ice_pipeline.reports.site): provider -> page, previous period.
    provider_pages: dict[str, str] = field(default_factory=dict)
    previous_summary: str | None = None

    # The e-mail shows bounded slices (Gmail clips an HTML part over ~102 KB); the archived page
    # shows everything. Bounded by construction whatever the size of the organisation.
    @property
    def providers_email(self) -> tuple[ProviderRow, ...]:
        return self.providers[:EMAIL_PROVIDER_ROWS]

    @property
    def consumers_email(self) -> tuple[ConsumerRow, ...]:
        """The lowest-scoring departments first (withheld ones last)."""
        return tuple(
            sorted(
                self.consumers,
                key=lambda row: (
                    not row.satisfaction.published,
                    row.satisfaction.value or 0.0,
                    row.department,
                ),
            )[:EMAIL_ROWS]
        )

    @property
    def turnover_email(self) -> tuple[TurnoverRow, ...]:
        return self.turnover[:EMAIL_ROWS]  # already highest rolling turnover first


def _names(names: tuple[str, ...], shown: int = 5) -> str:
    """A bounded list of names for a sentence (alt texts travel in every e-mail)."""
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _company(period: str, frame: pd.DataFrame | None, k: int) -> CompanyHeadline:
    trend = []
    current: dict[str, Any] = {}
    for row in sorted(_rows(frame), key=lambda row: str(row["period"])):
        if str(row["period"]) > period:
            continue
        n = _count(row.get("n_respondents"))
        trend.append(
            TrendPoint(str(row["period"]), _estimate(row, "ice_p", interval_prefix=None, n=n, k=k))
        )
        if str(row["period"]) == period:
            current = row
    n = _count(current.get("n_respondents"))
    ice_p = (
        _estimate(current, "ice_p", interval_prefix=None, n=n, k=k)
        if current
        else Estimate(None, withheld="no survey responses this period")
    )
    change = (
        _estimate(current, "ice_p_change", interval_prefix=None, n=n, k=k, signed=True)
        if current
        else Estimate(None)
    )
    significant = bool(_flag(current.get("change_significant"))) if current else False
    if change.value is None:
        sentence = "No previous period to compare with."
    elif significant:
        word = "rose" if change.value > 0 else "fell"
        sentence = (
            f"Company ICE-P {word} by {abs(change.value):.1f} points since the previous "
            f"period ({change.interval_text}); the interval excludes zero, so the change "
            "is statistically significant."
        )
    else:
        sentence = (
            f"Company ICE-P changed by {change.value_text} points since the previous period "
            f"({change.interval_text}); the interval includes zero, so this is not a "
            "significant change."
        )
    ice = _number(current.get("ice")) if current and ice_p.published else None
    return CompanyHeadline(
        _plain_number(ice), ice_p, change, significant, sentence, tuple(trend), ice=Estimate(ice)
    )


def _with_ice_k(
    headline: CompanyHeadline,
    period: str,
    kpis: pd.DataFrame | None,
    weight_perception: float,
) -> CompanyHeadline:
    """Add company ICE-K (ticket-weighted, as the index computes it) and ICE with an interval.

    ICE = w x ICE-P + (1 - w) x ICE-K; ICE-K counts every ticket of the period (a census, not a
    sample), so ICE's interval is ICE-P's scaled by w. Without tickets ICE = ICE-P.
    """
    rows = [r for r in _rows(kpis, period=period) if _number(r.get("ice_k")) is not None]
    tickets = sum(_count(r.get("tickets_n")) or 0 for r in rows)
    ice_p = headline.ice_p
    if not ice_p.published or ice_p.value is None:
        return headline
    if tickets <= 0:
        return replace(headline, ice=ice_p, ice_k=Estimate(None, withheld="no tickets"))

    # The stored company ICE is w x ICE-P + (1 - w) x ticket-weighted ICE-K (index/scoring.py);
    # ICE-K is read back from it so the three tiles always agree with the warehouse.
    stored = headline.ice.value
    w = weight_perception
    if stored is None or w >= 1:
        return headline
    ice_k = (stored - w * ice_p.value) / (1 - w)
    low = None if ice_p.ci_low is None else stored - w * (ice_p.value - ice_p.ci_low)
    high = None if ice_p.ci_high is None else stored + w * (ice_p.ci_high - ice_p.value)
    ice = Estimate(stored, low, high, ice_p.n)
    return replace(headline, ice=ice, ice_k=Estimate(ice_k, n=tickets))


TURNOVER_WITHHELD = "withheld"


def _withheld_count(value: Any) -> str:
    """A turnover count as text; NULL means withheld for anonymity, never zero."""
    count = _count(value)
    return TURNOVER_WITHHELD if count is None else str(count)


def _turnover_row(row: Mapping[str, Any]) -> TurnoverRow:
    if _flag(row.get("suppressed")):  # a department under k: nothing but its name
        return TurnoverRow(_text(row["department"]), *[TURNOVER_WITHHELD] * 9)
    split_withheld = _count(row.get("leavers")) is not None and (
        _count(row.get("voluntary_leavers")) is None
    )
    return TurnoverRow(
        department=_text(row["department"]),
        headcount_text=_plain_number(_number(row.get("headcount_avg"))),
        leavers=_withheld_count(row.get("leavers")),
        voluntary_leavers=_withheld_count(row.get("voluntary_leavers")),
        involuntary_leavers=_withheld_count(row.get("involuntary_leavers")),
        turnover_text=_plain_number(_number(row.get("turnover_pct")), "%"),
        voluntary_text=TURNOVER_WITHHELD
        if split_withheld
        else _plain_number(_number(row.get("voluntary_turnover_pct")), "%"),
        involuntary_text=TURNOVER_WITHHELD
        if split_withheld
        else _plain_number(_number(row.get("involuntary_turnover_pct")), "%"),
        rolling_text=_plain_number(_number(row.get("rolling_12m_turnover_pct")), "%"),
        retention_text=_plain_number(_number(row.get("retention_pct")), "%"),
    )


def _consumer_rows(
    period: str, tables: Mapping[str, pd.DataFrame], k: int
) -> tuple[ConsumerRow, ...]:
    """Each consumer department's satisfaction with the providers it rated, by name."""
    return tuple(
        ConsumerRow(
            _text(row["consumer_department"]),
            _estimate(row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k),
        )
        for row in sorted(
            _rows(tables.get("consumer_satisfaction"), period=period),
            key=lambda row: _text(row["consumer_department"]),
        )
    )


def _turnover_rows(period: str, tables: Mapping[str, pd.DataFrame]) -> tuple[TurnoverRow, ...]:
    """Departments by rolling 12-month turnover, highest first."""
    return tuple(
        _turnover_row(row)
        for row in sorted(
            _rows(tables.get("turnover"), period=period),
            key=lambda row: (
                -(_number(row.get("rolling_12m_turnover_pct")) or -1.0),
                _text(row["department"]),
            ),
        )
    )


def _summary_charts(
    period: str,
    company: CompanyHeadline,
    provider_rows: list[ProviderRow],
    withheld_providers: tuple[str, ...],
    withheld_text: str,
) -> dict[str, Any]:
    """The summary's charts: company trend, provider ranking, ICE-P against ICE-K."""
    published = [row for row in provider_rows if row.ice_p.published]
    by_ice_p = sorted(published, key=lambda row: (-(row.ice_p.value or 0.0), row.provider))
    view_charts = {
        "company_trend": charts.trend_chart(
            "company_trend",
            "Company ICE-P by period",
            f"Line chart of company ICE-P over {len(company.trend)} periods, "
            f"ending at {company.ice_p.value_text} in {period}.",
            [
                (point.period, point.estimate.value, point.estimate.ci_low, point.estimate.ci_high)
                for point in company.trend
            ],
        ),
        "provider_ranking": charts.ranked_bar_chart(
            "provider_ranking",
            "ICE-P by provider department with 95% intervals",
            f"Bar chart of ICE-P for {len(provider_rows)} provider departments, highest first"
            + (
                f"; highest {by_ice_p[0].provider} at {by_ice_p[0].ice_p.value_text}, lowest "
                f"{by_ice_p[-1].provider} at {by_ice_p[-1].ice_p.value_text}"
                if by_ice_p
                else ""
            )
            + (f"; {_names(withheld_providers)}: {withheld_text}" if withheld_providers else "")
            + ".",
            [
                (row.provider, row.ice_p.value, row.ice_p.ci_low, row.ice_p.ci_high)
                for row in provider_rows
            ],
            xlabel="ICE-P (0-100)",
            withheld_text=withheld_text,
        ),
    }
    kpi_points = [
        (row.provider, row.ice_p.value, row.ice_k)
        for row in published
        if row.ice_p.value is not None and row.ice_k is not None
    ]
    if kpi_points:
        view_charts["ice_p_vs_k"] = charts.scatter_chart(
            "ice_p_vs_k",
            "Perception (ICE-P) against ticket KPIs (ICE-K)",
            f"Scatter chart of {len(kpi_points)} providers: ICE-P across, ICE-K up; points above "
            "the dashed diagonal have better KPIs than perception.",
            kpi_points,
            xlabel="ICE-P",
            ylabel="ICE-K",
        )

    return view_charts


def _ranked(
    published: list[ProviderRow], best_worst_count: int
) -> tuple[list[ProviderRow], tuple[ProviderRow, ...], tuple[ProviderRow, ...]]:
    """Published providers by rank, and the best and worst few (never overlapping)."""
    ranked = sorted(
        published, key=lambda row: (int(row.rank_text) if row.rank_text else 10**6, row.provider)
    )
    count = min(best_worst_count, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    best = tuple(ranked[:count])
    worst = tuple(reversed(ranked[-count:])) if len(ranked) > 1 else ()
    return ranked, best, worst


def build_executive_view(
    period: str,
    tables: Mapping[str, pd.DataFrame],
    quality: Mapping[str, Any],
    config: ReportConfig,
) -> ExecutiveView:
    """The executive summary of ``period`` from the index tables (all periods up to it)."""
    k = config.k_anonymity
    withheld_text = withheld_label(k)
    company = _with_ice_k(
        _company(period, tables.get("company_scores"), k),
        period,
        tables.get("service_kpis"),
        config.weight_perception,
    )

    provider_rows = [
        _provider_row(row, k) for row in _rows(tables.get("ice_scores"), period=period)
    ]
    published = [row for row in provider_rows if row.ice_p.published]
    ranked, best, worst = _ranked(published, config.best_worst_count)
    withheld_providers = tuple(
        sorted(row.provider for row in provider_rows if not row.ice_p.published)
    )
    movers = relative_movers(
        "The company as a whole",
        company.change,
        [(row.provider, row.change) for row in published],
        "points of ICE-P",
    )

    focus = focus_areas(period, tables, k, config.dimension_labels)
    heatmap = build_heatmap(
        period,
        tables.get("matrix_scores"),
        [row.provider for row in ranked] + list(withheld_providers),
        k,
    )
    consumers = _consumer_rows(period, tables, k)
    turnover = _turnover_rows(period, tables)
    findings = sorted_findings(period, tables, config.min_correlation_pairs)

    view_charts = _summary_charts(period, company, provider_rows, withheld_providers, withheld_text)

    return ExecutiveView(
        period=period,
        organisation=config.organisation,
        title=f"Internal Customer Index: executive summary, {period}",
        withheld_text=withheld_text,
        company=company,
        providers=tuple(ranked) + tuple(row for row in provider_rows if not row.ice_p.published),
        best=best,
        worst=worst,
        withheld_providers=withheld_providers,
        movers=movers,
        dimension_movers=company_dimension_movers(
            period,
            tables.get("dimension_scores"),
            company.change,
            lambda code: dimension_label(code, config.dimension_labels),
            k,
        ),
        participation=build_participation(period, tables, k, withheld_text),
        company_drivers=driver_panel(period, COMPANY, tables, k, config.dimension_labels),
        focus_areas=focus[0],
        strengths=focus[1],
        heatmap=heatmap,
        ice_p_vs_k=tuple(sorted(published, key=lambda row: row.provider)),
        consumers=consumers,
        turnover=turnover,
        findings=tuple(findings),
        correlations=summarise_findings(findings),
        quality=_quality(quality),
        methodology=_methodology(config),
        charts=view_charts,
        provider_pages={row.provider: provider_page(row.provider) for row in provider_rows},
        previous_summary=previous_page(
            _previous_period(period, tables.get("company_scores")), EXECUTIVE_PAGE
        ),
    )


def _previous_period(period: str, frame: pd.DataFrame | None) -> str | None:
    earlier = [p for p in _periods_up_to(frame, period) if p < period]
    return earlier[-1] if earlier else None
