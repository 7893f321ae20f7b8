"""The view-model of the correlations page: every relationship examined, with its reason.

Belongs here: the full list of findings of a period (the executive summary shows only those that
survive the false-discovery correction, and links here).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.views_common import Methodology, _methodology
from ice_pipeline.reports.views_findings import (
    CorrelationSummary,
    Finding,
    sorted_findings,
    summarise_findings,
)


@dataclass(frozen=True)
class CorrelationsView:
    period: str
    organisation: str
    title: str
    findings: tuple[Finding, ...]
    summary: CorrelationSummary
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)


def build_correlations_view(
    period: str, tables: Mapping[str, pd.DataFrame], config: ReportConfig
) -> CorrelationsView:
    findings = sorted_findings(period, tables, config.min_correlation_pairs)
    return CorrelationsView(
        period=period,
        organisation=config.organisation,
        title=f"Internal Customer Index: every relationship examined, {period}",
        findings=tuple(findings),
        summary=summarise_findings(findings),
        methodology=_methodology(config),
    )
