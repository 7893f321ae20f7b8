"""The provider x consumer matrix as a coloured HTML table (archive and e-mail alike).

Belongs here: the cells of the matrix with their published estimates, the colour of each cell
(diverging around the company median of the published cells, so "worse than usual here" reads at
a glance), the row order (providers by ICE-P, the worst first), and which columns fit into an
e-mail. An HTML table replaced the heat-map image: with 31 departments the image was ~4,650 px
wide and its labels ~3 px high once squeezed into a page or an e-mail.
"""

import statistics
from dataclasses import dataclass

import pandas as pd

from ice_pipeline.reports.views_common import Estimate, _count, _estimate, _rows, _text

# Colour scale: +-SPREAD points from the median reach the darkest shade.
SPREAD = 15.0
ABOVE = (0x00, 0x72, 0xB2)  # Okabe-Ito blue: better than the company median
BELOW = (0xD5, 0x5E, 0x00)  # Okabe-Ito vermillion: worse
WITHHELD_COLOUR = "#eef0f3"
# An e-mail is ~600-800 px wide: a provider column and this many department columns fit.
EMAIL_COLUMNS = 6
EMAIL_ROWS = 15  # providers, in rank order


@dataclass(frozen=True)
class HeatCell:
    consumer: str
    estimate: Estimate
    colour: str  # CSS background, '#rrggbb'


@dataclass(frozen=True)
class HeatRow:
    provider: str
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class HeatMap:
    consumers: tuple[str, ...]
    rows: tuple[HeatRow, ...]
    withheld_cells: int
    median: float | None  # company median of the published cells
    email_columns: tuple[int, ...]  # indexes of the consumer columns an e-mail shows

    @property
    def median_text(self) -> str:
        return "not available" if self.median is None else f"{self.median:.1f}"

    @property
    def email_consumers(self) -> tuple[str, ...]:
        return tuple(self.consumers[index] for index in self.email_columns)

    @property
    def email_rows(self) -> tuple[HeatRow, ...]:
        return self.rows[:EMAIL_ROWS]

    def email_cells(self, row: HeatRow) -> tuple[HeatCell, ...]:
        return tuple(row.cells[index] for index in self.email_columns)


def cell_colour(value: float | None, median: float | None) -> str:
    """Diverging colour: white at the median, blue above, vermillion below, saturating at SPREAD.

    Light tints only (at most 55% of the hue), so dark text stays readable on every cell.
    """
    if value is None or median is None:
        return WITHHELD_COLOUR
    share = max(-1.0, min(1.0, (value - median) / SPREAD)) * 0.55
    hue = ABOVE if share >= 0 else BELOW
    channels = (round(255 + (channel - 255) * abs(share)) for channel in hue)
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def build_heatmap(period: str, frame: pd.DataFrame | None, providers: list[str], k: int) -> HeatMap:
    """The matrix of ``period``; rows in the order of ``providers`` (others after, by name)."""
    rows = _rows(frame, period=period)
    consumers = sorted({_text(row["consumer_department"]) for row in rows})
    by_pair = {
        (_text(row["provider_department"]), _text(row["consumer_department"])): row for row in rows
    }
    known = [p for p in providers if any((p, c) in by_pair for c in consumers)]
    extra = sorted({pair[0] for pair in by_pair} - set(known))
    estimates: dict[tuple[str, str], Estimate] = {}
    for provider in known + extra:
        for consumer in consumers:
            row = by_pair.get((provider, consumer))
            estimates[provider, consumer] = (
                Estimate(None, withheld="no responses")
                if row is None
                else _estimate(
                    row, "score", interval_prefix=None, n=_count(row.get("n_respondents")), k=k
                )
            )
    published = [e.value for e in estimates.values() if e.published and e.value is not None]
    median = statistics.median(published) if published else None
    heat_rows = tuple(
        HeatRow(
            provider,
            tuple(
                HeatCell(
                    consumer,
                    estimates[provider, consumer],
                    cell_colour(
                        estimates[provider, consumer].value
                        if estimates[provider, consumer].published
                        else None,
                        median,
                    ),
                )
                for consumer in consumers
            ),
        )
        for provider in known + extra
    )
    withheld = sum(not e.published for e in estimates.values())
    return HeatMap(
        tuple(consumers), heat_rows, withheld, median, _email_columns(consumers, estimates)
    )


def _email_columns(
    consumers: list[str], estimates: dict[tuple[str, str], Estimate]
) -> tuple[int, ...]:
    """The EMAIL_COLUMNS departments with the most respondents, in alphabetical order."""
    size = {
        consumer: sum(e.n or 0 for (_, c), e in estimates.items() if c == consumer and e.published)
        for consumer in consumers
    }
    largest = sorted(consumers, key=lambda c: (-size[c], c))[:EMAIL_COLUMNS]
    return tuple(index for index, consumer in enumerate(consumers) if consumer in largest)
