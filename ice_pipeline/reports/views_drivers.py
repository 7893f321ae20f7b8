"""Key drivers and focus areas in the reports: what matters most and where it scores worst.

Belongs here: reading ``key_drivers`` (importance of each dimension for overall satisfaction)
together with ``dimension_scores`` (how well each provider does on it) and turning the pair into
the importance-vs-performance quadrant, and across providers into the executive summary's
*focus areas* (high importance, score below the company's median for that dimension) and
*strengths* (high importance, score at or above it). Both inputs are published figures
(suppressed rows stay withheld), so nothing here can reveal a small group.

The quadrant. A dimension is "important" for a group when its share of the explained variance is
above an equal split (100 / number of drivers). Its performance is "low" when the provider's
score on it is below the median of the published scores of all providers on that dimension this
period. Focus areas are ranked by importance x shortfall (share / 100 x points below the
median): the combinations where improving the score should move overall satisfaction most.
"""

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ice_pipeline.index.drivers import COMPANY
from ice_pipeline.reports import charts
from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.views_common import Estimate, _count, _estimate, _flag, _rows, _text

FOCUS_AREAS = 5
STRENGTHS = 3
QUADRANTS = {
    (True, True): "Focus: important, scores below the median",
    (True, False): "Strength: important, scores at or above the median",
    (False, True): "Lower priority: less important, below the median",
    (False, False): "Maintain: less important, at or above the median",
}


def dimension_label(code: str, labels: Mapping[str, str]) -> str:
    """The label of a dimension code: from ``reports.dimension_labels``, else the code in words."""
    if code in labels:
        return labels[code]
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class DriverRow:
    dimension: str  # label
    importance: Estimate  # % of the explained variance, with its bootstrap interval
    score: Estimate  # the provider's published score on it (company-wide rows: not available)
    important: bool
    quadrant: str
    gap: float | None = None  # score minus the median provider's on the dimension (None: no score)


@dataclass(frozen=True)
class DriverPanel:
    group: str  # a provider, or 'the company'
    published: bool
    reason: str  # why not published, or ''
    outcome_text: str
    r_squared_text: str
    n: int | None
    rows: tuple[DriverRow, ...]  # most important first


@dataclass(frozen=True)
class FocusArea:
    provider: str
    dimension: str
    importance: Estimate
    score: Estimate
    median_text: str
    sentence: str


def _outcome_text(outcome: str, source: str, labels: Mapping[str, str]) -> str:
    if source == "item":
        return f"the survey's overall-satisfaction item ({dimension_label(outcome, labels)})"
    return (
        "the respondent's mean over all dimensions (the survey has no overall-satisfaction item; "
        "a weaker reading, since each dimension is part of what it explains)"
    )


def _dimension_scores(period: str, tables: Mapping[str, pd.DataFrame], k: int) -> dict:
    """(provider, dimension code) -> published score Estimate, and dimension -> median."""
    scores = {}
    for row in _rows(tables.get("dimension_scores"), period=period):
        scores[_text(row["provider_department"]), _text(row["dimension"])] = _estimate(
            row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k
        )
    by_dimension: dict[str, list[float]] = {}
    for (_, dimension), estimate in scores.items():
        if estimate.published and estimate.value is not None:
            by_dimension.setdefault(dimension, []).append(estimate.value)
    medians = {d: statistics.median(values) for d, values in by_dimension.items()}
    return {"scores": scores, "medians": medians}


def driver_panel(
    period: str,
    group: str,
    tables: Mapping[str, pd.DataFrame],
    k: int,
    labels: Mapping[str, str],
) -> DriverPanel | None:
    """The key drivers of ``group`` (a provider, or :data:`COMPANY`); None without any rows."""
    rows = _rows(tables.get("key_drivers"), period=period, provider_department=group)
    name = "the company" if group == COMPANY else group
    if not rows:
        return None
    first = rows[0]
    n = _count(first.get("n_respondents"))
    if _flag(first.get("suppressed")) or n is None or n < k:
        return DriverPanel(
            name,
            False,
            "too few respondents answered every dimension for a key-driver analysis",
            "",
            "",
            None,
            (),
        )
    outcome = _outcome_text(_text(first.get("outcome")), _text(first.get("outcome_source")), labels)
    context = _dimension_scores(period, tables, k)
    equal_share = 100.0 / len(rows)
    driver_rows = []
    for row in sorted(rows, key=lambda r: -(float(r.get("importance_pct") or 0.0))):
        code = _text(row["dimension"])
        importance = _estimate(row, "importance_pct", interval_prefix=None, n=n, k=k, unit="%")
        score = (
            context["scores"].get((group, code), Estimate(None))
            if group != COMPANY
            else Estimate(None)
        )
        median = context["medians"].get(code)
        important = (importance.value or 0.0) > equal_share
        low = score.published and median is not None and (score.value or 0.0) < median
        quadrant = QUADRANTS[important, low] if score.published else ""
        gap = (score.value or 0.0) - median if score.published and median is not None else None
        driver_rows.append(
            DriverRow(dimension_label(code, labels), importance, score, important, quadrant, gap)
        )
    r_squared = float(first.get("r_squared") or 0.0)
    return DriverPanel(
        name,
        True,
        "",
        outcome,
        f"the dimensions together explain {100 * r_squared:.0f}% of its variation",
        n,
        tuple(driver_rows),
    )


def focus_areas(
    period: str,
    tables: Mapping[str, pd.DataFrame],
    k: int,
    labels: Mapping[str, str],
) -> tuple[tuple[FocusArea, ...], tuple[FocusArea, ...]]:
    """(focus areas, strengths) over every provider with published drivers and scores."""
    context = _dimension_scores(period, tables, k)
    candidates: list[tuple[float, FocusArea]] = []
    strengths: list[tuple[float, FocusArea]] = []
    providers = sorted(
        {_text(r["provider_department"]) for r in _rows(tables.get("key_drivers"), period=period)}
        - {COMPANY}
    )
    for provider in providers:
        panel_rows = _rows(tables.get("key_drivers"), period=period, provider_department=provider)
        if not panel_rows or _flag(panel_rows[0].get("suppressed")):
            continue
        n = _count(panel_rows[0].get("n_respondents"))
        equal_share = 100.0 / len(panel_rows)
        for row in panel_rows:
            code = _text(row["dimension"])
            importance = _estimate(row, "importance_pct", interval_prefix=None, n=n, k=k, unit="%")
            score = context["scores"].get((provider, code))
            median = context["medians"].get(code)
            if (
                score is None
                or not score.published
                or median is None
                or not importance.published
                or (importance.value or 0.0) <= equal_share
            ):
                continue
            label = dimension_label(code, labels)
            gap = (score.value or 0.0) - median
            weight = (importance.value or 0.0) / 100
            if gap < 0:
                sentence = (
                    f"{provider}: {label} scores {score.value_text} ({score.detail_text}), "
                    f"{-gap:.1f} below the median provider ({median:.1f}), and accounts for "
                    f"{importance.value_text} of what explains overall satisfaction with this "
                    f"provider ({importance.interval_text})."
                )
                candidates.append(
                    (
                        weight * gap,
                        FocusArea(provider, label, importance, score, f"{median:.1f}", sentence),
                    )
                )
            else:
                sentence = (
                    f"{provider}: {label} scores {score.value_text} ({score.detail_text}), "
                    f"{gap:.1f} above the median provider ({median:.1f}), and accounts for "
                    f"{importance.value_text} of what explains overall satisfaction with this "
                    "provider."
                )
                strengths.append(
                    (
                        -weight * gap,
                        FocusArea(provider, label, importance, score, f"{median:.1f}", sentence),
                    )
                )
    candidates.sort(key=lambda item: (item[0], item[1].provider, item[1].dimension))
    strengths.sort(key=lambda item: (item[0], item[1].provider, item[1].dimension))
    return (
        tuple(area for _, area in candidates[:FOCUS_AREAS]),
        tuple(area for _, area in strengths[:STRENGTHS]),
    )


def quadrant_chart(panel: DriverPanel | None) -> Chart | None:
    """The panel's importance-vs-performance quadrant as a chart (None without two points)."""
    if panel is None or not panel.published:
        return None
    points = [
        (
            row.dimension,
            row.gap,
            row.importance.value,
            row.importance.ci_low,
            row.importance.ci_high,
        )
        for row in panel.rows
        if row.gap is not None and row.importance.published and row.importance.value is not None
    ]
    if len(points) < 2:
        return None
    equal_share = 100.0 / len(panel.rows)
    focus = [row.dimension for row in panel.rows if row.quadrant.startswith("Focus")]
    return charts.quadrant_chart(
        "provider_quadrant",
        f"{panel.group}: importance against performance of each dimension",
        f"Scatter chart of {len(points)} dimensions: across, the score against the median "
        f"provider; up, the share of what explains overall satisfaction (dashed: an equal share "
        f"of {equal_share:.0f}%). Focus (important, below the median): "
        + (", ".join(focus) if focus else "none")
        + ".",
        points,
        equal_share=equal_share,
    )
