"""Shared pieces of the report view-models: the published :class:`Estimate` and row readers.

Belongs here: reading one figure from an index-table row (withheld when suppressed or built from
fewer than k respondents), formatting helpers, and the small panels every page kind shows
(provider headline row, trend points, data quality, methodology). Page-specific view-models live
in ``views_executive``, ``views_provider`` and ``views_findings``.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

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


@dataclass(frozen=True)
class TrendPoint:
    period: str
    estimate: Estimate


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
