"""Correlations summarised (issue 14): a compact table of what survives the FDR correction, one
sentence with the counts, the full list on its own page, the right words and the true reason."""

import re

import pandas as pd

from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view
from ice_pipeline.reports.views_correlations import build_correlations_view

PERIOD = "2026-10"


def _row(**values: object) -> dict:
    base = {
        "period": PERIOD,
        "analysis": "consumer_satisfaction_vs_turnover",
        "x_metric": "consumer_satisfaction",
        "y_metric": "turnover_pct",
        "lag_periods": 0,
        "group_key": "all",
        "n_pairs": 24,
        "status": "ok",
        "pearson_r": 0.1,
        "pearson_r_ci_low": -0.3,
        "pearson_r_ci_high": 0.48,
        "pearson_p": 0.6,
        "spearman_rho": 0.1,
        "spearman_p": 0.6,
        "bh_q": 0.9,
        "significant": False,
    }
    base.update(values)
    return base


def _tables() -> dict[str, pd.DataFrame]:
    tables = sample_tables(PERIOD)
    rows = [
        _row(
            group_key="Sales",
            pearson_r=-0.7,
            pearson_r_ci_low=-0.86,
            pearson_r_ci_high=-0.41,
            pearson_p=0.0001,
            bh_q=0.004,
            significant=True,
            lag_periods=2,
        ),
        _row(group_key="Operations"),
        _row(
            analysis="company_ice_vs_external",
            x_metric="company_ice",
            y_metric="nps",
            group_key="Retail Banking",
        ),
        # Enough pairs but no coefficient: turnover never varied.
        _row(group_key="Legal", status="insufficient data", pearson_r=None, n_pairs=16),
        _row(group_key="Tiny", status="insufficient data", pearson_r=None, n_pairs=5),
    ]
    tables["correlations"] = pd.DataFrame(rows, columns=tables["correlations"].columns)
    return tables


def test_summary_table_sentence_and_full_list_on_its_own_page():
    tables = _tables()
    config = ReportConfig()
    view = build_executive_view(PERIOD, tables, sample_quality(), config)
    summary = view.correlations
    assert (summary.tested, summary.estimable, len(summary.significant)) == (5, 3, 1)
    assert summary.sentence.startswith("5 relationships")
    assert "3 had enough data" in summary.sentence and "1 survives" in summary.sentence
    html = render_report(view, audience="executives").html
    section = html[html.index('id="links"') : html.index('id="quality"')]
    rows = re.findall(r"<tr><td>(.*?)</tr>", section, re.S)
    assert len(rows) == 1  # only the relationship that survives the correction
    assert "-0.70 (95% CI -0.86 to -0.41)" in rows[0] and ">24<" in rows[0]
    assert "q = 0.004" in rows[0] and "2 periods later" in rows[0]
    assert section.count('class="finding') == 0  # the boxes live on the correlations page
    assert 'href="correlations.html"' in section

    page = build_correlations_view(PERIOD, tables, config)
    page_html = render_report(page, audience="executives").html
    assert page_html.count('class="finding') == 5
    assert summary.sentence in page_html


def test_words_say_department_or_business_unit_and_the_true_reason():
    view = build_correlations_view(PERIOD, _tables(), ReportConfig())
    by_group = {finding.group: finding.sentence for finding in view.findings}
    assert "in department Sales" in by_group["Sales"]
    assert "business unit" not in by_group["Operations"]
    assert "in business unit Retail Banking" in by_group["Retail Banking"]
    assert "did not vary" in by_group["Legal"] and "only" not in by_group["Legal"]
    assert "only 5 pairs" in by_group["Tiny"] and "at least 8 are needed" in by_group["Tiny"]
