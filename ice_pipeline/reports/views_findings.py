"""The correlation findings of the executive summary: sentences, statuses and the FDR summary.

Belongs here: turning ``correlations`` rows into :class:`Finding` objects with words a reader
understands (metric names, lags, department versus business unit) and the true reason a
relationship could not be estimated.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ice_pipeline.reports.views_common import _count, _flag, _number, _p_text, _text


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
