"""The correlation findings of the executive summary: sentences, statuses and the FDR summary.

Belongs here: turning ``correlations`` rows into :class:`Finding` objects with words a reader
understands (metric names, lags, department versus business unit) and the true reason a
relationship could not be estimated.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ice_pipeline.reports.views_common import _count, _flag, _number, _p_text, _rows, _text


@dataclass(frozen=True)
class Finding:
    sentence: str
    # (the fields below are display text; the summary table uses x/y labels, lag, r, n and q)
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


def _group_word(analysis: str) -> str:
    """What a group_key names: a business unit (external metrics) or an internal department."""
    return "business unit" if analysis.startswith("company_ice_vs_external") else "department"


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
    where = "" if group == "all" else f" in {_group_word(_text(row.get('analysis')))} {group}"
    status = _text(row.get("status")) or "insufficient data"
    r = _number(row.get("pearson_r"))
    caveat = "This is an association, not causation: it does not show that one causes the other."
    if status != "ok" or r is None or n_pairs < min_pairs:
        if n_pairs < min_pairs:
            sentence = (
                f"Insufficient data: only {n_pairs} pairs were available to compare {x_label} "
                f"with {y_label} {_lag_words(lag)}{where}; at least {min_pairs} are needed, "
                "so no figure is given."
            )
        else:  # enough pairs, yet no coefficient: one of the two series never varied
            sentence = (
                f"Insufficient data: {n_pairs} pairs were available to compare {x_label} with "
                f"{y_label} {_lag_words(lag)}{where}, but one of the two did not vary across "
                "them, so no correlation can be computed."
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


@dataclass(frozen=True)
class CorrelationSummary:
    """The executive summary's compact view: what survives the false-discovery correction."""

    tested: int  # relationships examined (every row)
    estimable: int  # with enough data for a coefficient
    significant: tuple[Finding, ...]

    @property
    def sentence(self) -> str:
        if self.tested == 0:
            return "No relationship could be examined this period."
        survive = len(self.significant)
        return (
            f"{self.tested} relationships between internal service, turnover and external "
            f"customer metrics were examined; {self.estimable} had enough data for a "
            f"correlation, and {survive} {'survives' if survive == 1 else 'survive'} the "
            "Benjamini-Hochberg correction for the number of tests run. Each is an association, "
            "not causation."
        )


def summarise_findings(findings: Sequence[Finding]) -> CorrelationSummary:
    return CorrelationSummary(
        len(findings),
        sum(f.status == "ok" for f in findings),
        tuple(f for f in findings if f.status == "ok" and f.significant),
    )


def sorted_findings(
    period: str, tables: Mapping[str, pd.DataFrame], min_pairs: int
) -> list[Finding]:
    """Every correlation of ``period`` as a finding: significant first, then estimable, by name."""
    findings = [
        _finding(row, min_pairs) for row in _rows(tables.get("correlations"), period=period)
    ]
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
    return findings
