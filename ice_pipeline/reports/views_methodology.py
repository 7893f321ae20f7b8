"""The view-model of the methodology page: how every figure of a period's reports is made.

Belongs here: what the methodology page needs (the settings it quotes). The text itself is in
``report_templates/methodology.html.j2``, which the executive summary also links to.
"""

from dataclasses import dataclass, field

from ice_pipeline.reports.charts import Chart
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.views_common import Methodology, _methodology


@dataclass(frozen=True)
class MethodologyView:
    """The methodology page of one period (no figures, no charts)."""

    period: str
    organisation: str
    title: str
    methodology: Methodology
    charts: dict[str, Chart] = field(default_factory=dict)


def build_methodology_view(period: str, config: ReportConfig) -> MethodologyView:
    """The methodology page of ``period`` with the settings in force."""
    return MethodologyView(
        period=period,
        organisation=config.organisation,
        title=f"Internal Customer Index: how the figures are made, {period}",
        methodology=_methodology(config),
    )
