"""Participation in the reports: response rates next to the scores they qualify.

Belongs here: turning :func:`ice_pipeline.index.participation.response_rates` into display text
for the headline and the consumer-department table, with the low-rate flag.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ice_pipeline.index.participation import LOW_RESPONSE_RATE_PCT, response_rates

NAMES_SHOWN = 3  # the headline names this many low-rate departments; the table has them all


@dataclass(frozen=True)
class ParticipationRow:
    department: str  # 'the company' for the company-wide row
    rate_text: str  # e.g. '42.0% (105 of 250)', or why it is not shown
    low: bool


@dataclass(frozen=True)
class Participation:
    company: ParticipationRow | None
    by_department: dict[str, ParticipationRow]
    low_departments: tuple[str, ...]
    threshold_text: str

    @property
    def sentence(self) -> str:
        if self.company is None:
            return "Participation is not available (no survey responses or no HR roster)."
        names = ", ".join(self.low_departments[:NAMES_SHOWN])
        if len(self.low_departments) > NAMES_SHOWN:
            names += f" and {len(self.low_departments) - NAMES_SHOWN} more (see the table below)"
        low = (
            f"; low (under {self.threshold_text}) in {len(self.low_departments)} department"
            f"{'s' if len(self.low_departments) != 1 else ''}: {names}"
            if self.low_departments
            else f"; no department under {self.threshold_text}"
        )
        return f"Response rate {self.company.rate_text} company-wide{low}."


def _row(name: str, row: Mapping, withheld_text: str) -> ParticipationRow:
    if bool(row["withheld"]):
        return ParticipationRow(name, withheld_text, False)
    rate = row["rate_pct"]
    if pd.isna(rate):
        return ParticipationRow(name, "no headcount in the HR roster", False)
    text = f"{rate:.0f}% ({int(row['respondents'])} of {row['headcount']:.0f} staff)"
    return ParticipationRow(name, text, bool(row["low"]))


def build_participation(
    period: str, tables: Mapping[str, pd.DataFrame], k: int, withheld_text: str
) -> Participation:
    frame = response_rates(
        period,
        tables.get("consumer_satisfaction"),
        tables.get("company_scores"),
        tables.get("turnover"),
        k,
    )
    company = None
    by_department = {}
    for row in frame.to_dict("records"):
        if row["department"] is None:
            company = _row("the company", row, withheld_text)
        else:
            by_department[row["department"]] = _row(row["department"], row, withheld_text)
    low = tuple(sorted(name for name, row in by_department.items() if row.low))
    return Participation(company, by_department, low, f"{LOW_RESPONSE_RATE_PCT:.0f}%")
