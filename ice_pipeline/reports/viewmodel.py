"""Typed view-models of the reports, built from the index tables; templates render only these.

The builders take the aggregate tables as DataFrames (column names of
``ice_pipeline.warehouse.schema``) and turn every figure into display-ready text with its n and
95% interval, so templates hold no arithmetic and no formatting rules. Privacy is enforced here a
second time: a row flagged ``suppressed``, or built from fewer than k respondents, becomes an
:class:`Estimate` with no numbers at all, whatever values the row carried; comments are kept only
for groups of at least ``comment_min_group`` respondents. Charts are drawn here too
(``ice_pipeline.reports.charts``) because they are part of what the templates show.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ice_pipeline.reports import charts
from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.config import ReportConfig

DASH = "\u2013"
NOT_AVAILABLE = "not available"


def _number(value: Any) -> float | None:
    """A float, or None for NULL/NaN (pandas gives NaN, None or pd.NA for SQL NULL)."""
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _count(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(round(number))


def _flag(value: Any) -> bool:
    """A boolean column value; NULL counts as false."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes"}
    number = _number(value)
    return number is not None and number != 0.0


def withheld_label(k: int) -> str:
    return f"fewer than {k} responses"


@dataclass(frozen=True)
class Estimate:
    """One published figure with its n and 95% interval, or the reason it is withheld."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    withheld: str | None = None  # e.g. "fewer than 5 responses"; then every number is None
    unit: str = ""  # "" for points on the 0-100 scale, "%" for percentages
    signed: bool = False  # changes are shown with their sign

    @property
    def published(self) -> bool:
        return self.withheld is None and self.value is not None

    def _fmt(self, number: float) -> str:
        return (f"{number:+.1f}" if self.signed else f"{number:.1f}") + self.unit

    @property
    def value_text(self) -> str:
        if self.withheld:
            return self.withheld
        return NOT_AVAILABLE if self.value is None else self._fmt(self.value)

    @property
    def interval_text(self) -> str:
        if not self.published or self.ci_low is None or self.ci_high is None:
            return ""
        return f"95% CI {self._fmt(self.ci_low)} to {self._fmt(self.ci_high)}"

    @property
    def n_text(self) -> str:
        return "" if self.withheld or self.n is None else f"n = {self.n}"

    @property
    def detail_text(self) -> str:
        """Interval and n, e.g. '95% CI 70.1 to 74.7; n = 132'."""
        return "; ".join(part for part in (self.interval_text, self.n_text) if part)

    @property
    def full_text(self) -> str:
        detail = self.detail_text
        return f"{self.value_text} ({detail})" if detail and self.published else self.value_text


def _withheld(k: int, reason: str | None = None) -> str:
    if reason == "complementary":
        return "withheld so a smaller group cannot be worked out"
    return withheld_label(k)


def _estimate(
    row: Mapping[str, Any],
    value_column: str,
    *,
    interval_prefix: str | None,
    n: int | None,
    k: int,
    unit: str = "",
    signed: bool = False,
    n_column_required: bool = True,
) -> Estimate:
    """Read one figure from a row, withholding it when suppressed or built from < k respondents."""
    suppressed = _flag(row.get("suppressed", False))
    too_small = n_column_required and (n is None or n < k)
    if suppressed or too_small:
        return Estimate(None, withheld=_withheld(k, row.get("suppression_reason")), unit=unit)
    prefix = interval_prefix or value_column
    return Estimate(
        _number(row.get(value_column)),
        _number(row.get(f"{prefix}_ci_low")),
        _number(row.get(f"{prefix}_ci_high")),
        n,
        unit=unit,
        signed=signed,
    )


def _rows(frame: pd.DataFrame | None, **equals: Any) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    mask = pd.Series(True, index=frame.index)
    for column, value in equals.items():
        mask &= frame[column] == value
    return frame[mask].to_dict("records")


def _periods_up_to(frame: pd.DataFrame | None, period: str) -> list[str]:
    if frame is None or frame.empty:
        return []
    return sorted({str(value) for value in frame["period"] if str(value) <= period})


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _plain_number(value: float | None, suffix: str = "", digits: int = 1) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.{digits}f}{suffix}"


# ---------------------------------------------------------------------------------------------
# Executive summary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    period: str
    estimate: Estimate


@dataclass(frozen=True)
class CompanyHeadline:
    ice_text: str  # ICE has no interval of its own (ICE-K is not a sample); ICE-P carries one
    ice_p: Estimate
    change: Estimate
    change_significant: bool
    change_sentence: str
    trend: tuple[TrendPoint, ...]


@dataclass(frozen=True)
class ProviderRow:
    provider: str
    rank_text: str
    ice_text: str
    ice_p: Estimate
    ice_k_text: str
    ice_k: float | None
    no_tickets: bool
    favourable: Estimate
    change: Estimate
    change_significant: bool


@dataclass(frozen=True)
class Mover:
    provider: str
    change: Estimate
    direction: str  # 'improved' | 'declined'
    sentence: str


@dataclass(frozen=True)
class HeatCell:
    consumer: str
    estimate: Estimate


@dataclass(frozen=True)
class HeatRow:
    provider: str
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class HeatMap:
    consumers: tuple[str, ...]
    rows: tuple[HeatRow, ...]
    withheld_cells: int


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
class Finding:
    sentence: str
    caveat: str
    status: str  # 'ok' | 'insufficient data'
    significant: bool
    x_label: str
    y_label: str
    lag_text: str
    group: str
    n_pairs: int
    pearson_text: str
    interval_text: str
    spearman_text: str
    p_text: str
    q_text: str


@dataclass(frozen=True)
class FeedQuality:
    feed: str
    rows_read: int | None
    rows_quarantined: int
    quarantined_text: str


@dataclass(frozen=True)
class FailedCheck:
    name: str
    description: str


@dataclass(frozen=True)
class QualityPanel:
    feeds: tuple[FeedQuality, ...]
    rows_read_total: int
    rows_quarantined_total: int
    checks_run: int | None
    checks_failed: tuple[FailedCheck, ...]
    verdict: str


@dataclass(frozen=True)
class Methodology:
    k_anonymity: int
    comment_min_group: int
    weight_perception_text: str
    weight_kpi_text: str
    min_correlation_pairs: int


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
    movers: tuple[Mover, ...]
    heatmap: HeatMap
    ice_p_vs_k: tuple[ProviderRow, ...]
    consumers: tuple[ConsumerRow, ...]
    turnover: tuple[TurnoverRow, ...]
    findings: tuple[Finding, ...]
    quality: QualityPanel
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)


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
    return CompanyHeadline(_plain_number(ice), ice_p, change, significant, sentence, tuple(trend))


def _provider_row(row: Mapping[str, Any], k: int) -> ProviderRow:
    n = _count(row.get("n_respondents"))
    ice_p = _estimate(row, "ice_p", interval_prefix=None, n=n, k=k)
    published = ice_p.withheld is None
    rank = _count(row.get("rank")) if published else None
    no_tickets = _flag(row.get("no_tickets"))
    ice_k = _number(row.get("ice_k")) if published else None
    return ProviderRow(
        provider=_text(row["provider_department"]),
        rank_text="" if rank is None else str(rank),
        ice_text=_plain_number(_number(row.get("ice"))) if published else ice_p.value_text,
        ice_p=ice_p,
        ice_k_text=("no tickets" if no_tickets else _plain_number(ice_k))
        if published
        else ice_p.value_text,
        ice_k=ice_k,
        no_tickets=no_tickets,
        favourable=_estimate(row, "favourable_pct", interval_prefix=None, n=n, k=k, unit="%"),
        change=_estimate(row, "ice_p_change", interval_prefix=None, n=n, k=k, signed=True),
        change_significant=published and _flag(row.get("change_significant")),
    )


def _heatmap(period: str, frame: pd.DataFrame | None, providers: list[str], k: int) -> HeatMap:
    rows = _rows(frame, period=period)
    consumers = sorted({_text(row["consumer_department"]) for row in rows})
    by_pair = {
        (_text(row["provider_department"]), _text(row["consumer_department"])): row for row in rows
    }
    known = [
        provider
        for provider in providers
        if any((provider, consumer) in by_pair for consumer in consumers)
    ]
    extra = sorted({pair[0] for pair in by_pair} - set(known))
    heat_rows = []
    withheld = 0
    for provider in known + extra:
        cells = []
        for consumer in consumers:
            row = by_pair.get((provider, consumer))
            if row is None:
                estimate = Estimate(None, withheld="no responses")
            else:
                estimate = _estimate(
                    row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k
                )
            withheld += estimate.withheld is not None
            cells.append(HeatCell(consumer, estimate))
        heat_rows.append(HeatRow(provider, tuple(cells)))
    return HeatMap(tuple(consumers), tuple(heat_rows), withheld)


_METRIC_WORDS = {
    "consumer_satisfaction": "a department's satisfaction with the internal services it receives",
    "consumer_satisfaction_deviation": "a department's satisfaction relative to its own average",
    "ice": "a provider department's ICE",
    "ice_p": "a provider department's ICE-P",
    "company_ice": "company ICE",
    "turnover_pct": "staff turnover",
    "voluntary_turnover_pct": "voluntary staff turnover",
    "involuntary_turnover_pct": "involuntary staff turnover",
    "rolling_12m_turnover_pct": "12-month rolling turnover",
    "turnover_deviation": "turnover relative to the department's own average",
    "retention_pct": "retention",
    "nps": "external Net Promoter Score",
    "csat_pct": "external customer satisfaction (CSAT)",
}


def _metric_words(metric: str) -> str:
    return _METRIC_WORDS.get(metric, metric.replace("_pct", " (%)").replace("_", " "))


def _lag_words(lag: int) -> str:
    if lag == 0:
        return "in the same period"
    return f"{lag} period{'s' if lag != 1 else ''} later"


def _finding(row: Mapping[str, Any], min_pairs: int) -> Finding:
    x_label = _metric_words(_text(row.get("x_metric")))
    y_label = _metric_words(_text(row.get("y_metric")))
    lag = _count(row.get("lag_periods")) or 0
    n_pairs = _count(row.get("n_pairs")) or 0
    group = _text(row.get("group_key")) or "all"
    where = "" if group == "all" else f" in business unit {group}"
    status = _text(row.get("status")) or "insufficient data"
    r = _number(row.get("pearson_r"))
    caveat = "This is an association, not causation: it does not show that one causes the other."
    if status != "ok" or r is None or n_pairs < min_pairs:
        sentence = (
            f"Insufficient data: only {n_pairs} pairs were available to compare {x_label} "
            f"with {y_label} {_lag_words(lag)}{where}; at least {min_pairs} are needed, "
            "so no figure is given."
        )
        return Finding(
            sentence,
            "",
            "insufficient data",
            False,
            x_label,
            y_label,
            _lag_words(lag),
            group,
            n_pairs,
            "",
            "",
            "",
            "",
            "",
        )
    low, high = _number(row.get("pearson_r_ci_low")), _number(row.get("pearson_r_ci_high"))
    rho, p, q = (_number(row.get(c)) for c in ("spearman_rho", "pearson_p", "bh_q"))
    significant = _flag(row.get("significant"))
    interval = "" if low is None or high is None else f"95% CI {low:.2f} to {high:.2f}"
    strength = abs(r)
    size = "weak" if strength < 0.3 else ("moderate" if strength < 0.5 else "strong")
    direction = "higher" if r > 0 else "lower"
    verdict = (
        "statistically significant after correcting for the number of tests run"
        if significant
        else "not statistically significant after correcting for the "
        "number of tests run, so it may be chance"
    )
    sentence = (
        f"Where {x_label} was higher, {y_label} {_lag_words(lag)}{where} tended to be "
        f"{direction}: a {size} association (Pearson r = {r:.2f}, {interval}, "
        f"n = {n_pairs} pairs), {verdict}."
    )
    return Finding(
        sentence,
        caveat,
        "ok",
        significant,
        x_label,
        y_label,
        _lag_words(lag),
        group,
        n_pairs,
        f"{r:.2f}",
        interval,
        "" if rho is None else f"{rho:.2f}",
        _p_text(p, "p"),
        _p_text(q, "Benjamini-Hochberg q"),
    )


def _p_text(value: float | None, name: str) -> str:
    """E.g. 'p = 0.042' or 'p < 0.001'."""
    if value is None:
        return ""
    return f"{name} < 0.001" if value < 0.001 else f"{name} = {value:.3f}"


def _quality(quality: Mapping[str, Any]) -> QualityPanel:
    """Read the data-quality summary dict.

    Keys: ``rows_read`` (dict feed -> rows, or one int), ``rows_quarantined`` (dict feed -> rows),
    ``checks_failed`` (list of names or of dicts with ``name`` and ``description``), and
    optionally ``checks_run`` (int). Missing keys mean zero / none.
    """
    read = quality.get("rows_read") or {}
    quarantined = quality.get("rows_quarantined") or {}
    if not isinstance(read, Mapping):
        read = {"all feeds": int(read)}
    feeds = []
    for feed in sorted(set(read) | set(quarantined)):
        rows_read = _count(read.get(feed))
        rows_out = _count(quarantined.get(feed)) or 0
        share = f" ({100 * rows_out / rows_read:.1f}%)" if rows_read else ""
        feeds.append(FeedQuality(str(feed), rows_read, rows_out, f"{rows_out}{share}"))
    checks = []
    for check in quality.get("checks_failed") or []:
        if isinstance(check, Mapping):
            checks.append(
                FailedCheck(str(check.get("name", "")), str(check.get("description", "")))
            )
        else:
            checks.append(FailedCheck(str(check), ""))
    total_read = sum(feed.rows_read or 0 for feed in feeds)
    total_out = sum(feed.rows_quarantined for feed in feeds)
    if checks:
        verdict = (
            f"{len(checks)} data check{'s' if len(checks) != 1 else ''} failed; read the "
            "figures affected with care."
        )
    else:
        verdict = "All data checks passed."
    return QualityPanel(
        tuple(feeds),
        total_read,
        total_out,
        _count(quality.get("checks_run")),
        tuple(checks),
        verdict,
    )


def _methodology(config: ReportConfig) -> Methodology:
    return Methodology(
        config.k_anonymity,
        config.comment_min_group,
        f"{config.weight_perception:g}",
        f"{config.weight_kpi:g}",
        config.min_correlation_pairs,
    )


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


def build_executive_view(
    period: str,
    tables: Mapping[str, pd.DataFrame],
    quality: Mapping[str, Any],
    config: ReportConfig,
) -> ExecutiveView:
    """The executive summary of ``period`` from the index tables (all periods up to it)."""
    k = config.k_anonymity
    withheld_text = withheld_label(k)
    company = _company(period, tables.get("company_scores"), k)

    provider_rows = [
        _provider_row(row, k) for row in _rows(tables.get("ice_scores"), period=period)
    ]
    published = [row for row in provider_rows if row.ice_p.published]
    ranked = sorted(
        published, key=lambda row: (int(row.rank_text) if row.rank_text else 10**6, row.provider)
    )
    withheld_providers = tuple(
        sorted(row.provider for row in provider_rows if not row.ice_p.published)
    )
    count = min(config.best_worst_count, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    best = tuple(ranked[:count])
    worst = tuple(reversed(ranked[-count:])) if len(ranked) > 1 else ()
    movers = []
    for row in sorted(published, key=lambda row: -abs(row.change.value or 0.0)):
        if row.change_significant and row.change.value is not None:
            direction = "improved" if row.change.value > 0 else "declined"
            sentence = (
                f"{row.provider} {direction} by {abs(row.change.value):.1f} points of ICE-P "
                f"({row.change.interval_text}; n = {row.ice_p.n} this period)."
            )
            movers.append(Mover(row.provider, row.change, direction, sentence))

    heatmap = _heatmap(
        period,
        tables.get("matrix_scores"),
        [row.provider for row in ranked] + list(withheld_providers),
        k,
    )
    consumers = tuple(
        ConsumerRow(
            _text(row["consumer_department"]),
            _estimate(row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k),
        )
        for row in sorted(
            _rows(tables.get("consumer_satisfaction"), period=period),
            key=lambda row: _text(row["consumer_department"]),
        )
    )
    turnover = tuple(
        _turnover_row(row)
        for row in sorted(
            _rows(tables.get("turnover"), period=period),
            key=lambda row: (
                -(_number(row.get("rolling_12m_turnover_pct")) or -1.0),
                _text(row["department"]),
            ),
        )
    )
    finding_rows = _rows(tables.get("correlations"), period=period)
    findings = [_finding(row, config.min_correlation_pairs) for row in finding_rows]
    findings.sort(
        key=lambda f: (
            f.status != "ok",
            not f.significant,
            f.x_label,
            f.y_label,
            f.lag_text,
            f.group,
        )
    )

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
            + (f"; {', '.join(withheld_providers)}: {withheld_text}" if withheld_providers else "")
            + ".",
            [
                (row.provider, row.ice_p.value, row.ice_p.ci_low, row.ice_p.ci_high)
                for row in provider_rows
            ],
            xlabel="ICE-P (0-100)",
            withheld_text=withheld_text,
        ),
        "heatmap": charts.heatmap_chart(
            "heatmap",
            "How each consumer department rates each provider",
            f"Heat map of {len(heatmap.rows)} providers by {len(heatmap.consumers)} consumer "
            f"departments; {heatmap.withheld_cells} cells are withheld ({withheld_text} or "
            "protecting such a group) and shown hatched grey without a number.",
            [row.provider for row in heatmap.rows],
            list(heatmap.consumers),
            [
                [cell.estimate.value if cell.estimate.published else None for cell in row.cells]
                for row in heatmap.rows
            ],
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
        movers=tuple(movers),
        heatmap=heatmap,
        ice_p_vs_k=tuple(sorted(published, key=lambda row: row.provider)),
        consumers=consumers,
        turnover=turnover,
        findings=tuple(findings),
        quality=_quality(quality),
        methodology=_methodology(config),
        charts=view_charts,
    )


# ---------------------------------------------------------------------------------------------
# Provider page
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DimensionRow:
    dimension: str
    score: Estimate
    favourable: Estimate


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
    consumers: tuple[ConsumerRating, ...]
    kpis: KpiPanel | None
    comment_groups: tuple[CommentGroup, ...]
    comments_withheld_groups: int
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)


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
    dimensions = tuple(
        DimensionRow(
            _text(row["dimension"]),
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
        for row in sorted(
            _rows(tables.get("dimension_scores"), period=period, provider_department=provider),
            key=lambda row: _text(row["dimension"]),
        )
    )
    matrix = _rows(tables.get("matrix_scores"), period=period, provider_department=provider)
    consumers = tuple(
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
    kpi_rows = _rows(tables.get("service_kpis"), period=period, provider_department=provider)
    kpis = _kpis(kpi_rows[0] if kpi_rows else None)

    large_groups = {
        rating.consumer: rating.score.n
        for rating in consumers
        if rating.score.published and (rating.score.n or 0) >= config.comment_min_group
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

    view_charts = {
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
    return ProviderView(
        period=period,
        organisation=config.organisation,
        provider=provider,
        title=f"Internal Customer Index: {provider}, {period}",
        withheld_text=withheld_text,
        headline=headline,
        trend=trend,
        dimensions=dimensions,
        consumers=consumers,
        kpis=kpis,
        comment_groups=tuple(groups),
        comments_withheld_groups=withheld_groups,
        methodology=_methodology(config),
        charts=view_charts,
    )
