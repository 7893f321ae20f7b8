"""What a vendor module declares about one export layout (``Layout``), and the survey defaults.

Belongs here: the ``Layout`` record every vendor module fills in, nothing vendor-specific. The
first five fields describe a layout for people (``inspect`` shows them, docs/mappings.md names
every ``format``); the survey fields are how the survey reader handles it: how it is recognised,
whether a forced ``--format`` fits the header, how the header rows become column names, and the
default columns when the mapping names none. Ticket, HR and external layouts are recognised by
their feed readers and leave the survey fields empty.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Records = list[list[str]]
# (header records, the layout detection found or None) -> the forced layout fits the header.
Fits = Callable[[Records, str | None], bool]

# The inspect/registry view of a layout (``inspect`` prints these fields under ``layout``).
DESCRIBED_FIELDS = ("feed", "format", "vendor", "header_rows", "recognised_by")


def one_header_row(records: Records, width: int) -> list[str]:
    """Column names of a one-header-row layout: the first record, padded to the body width."""
    row1 = records[0]
    return row1 + [""] * (width - len(row1))


@dataclass(frozen=True)
class Layout:
    """One export layout a reader understands.

    ``priority`` orders detection: layouts are tried lowest first, so a more specific recogniser
    (Qualtrics' ImportId row) wins over a looser one (SurveyMonkey's empty first cell).
    ``recognise`` is None for a layout that is never detected (``csv``) and for other feeds.
    ``fits`` says whether a forced format fits the header; None means "detection finds this
    layout or nothing". ``defaults`` holds the survey defaults: ``respondent_id``,
    ``responded_at``, ``date_order``, ``exclude`` and (long) ``consumer_department``.
    """

    feed: str
    format: str
    vendor: str  # the module under ingest/vendors/, or the feed reader (ingest/<feed>.py)
    header_rows: int
    recognised_by: str
    priority: int = 100
    recognise: Callable[[Records], bool] | None = field(default=None, compare=False)
    fits: Fits | None = field(default=None, compare=False)
    column_names: Callable[[Records, int], list[str]] = field(default=one_header_row, compare=False)
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> dict[str, Any]:
        """The registry entry as people read it (``inspect``'s ``layout``)."""
        return {name: getattr(self, name) for name in DESCRIBED_FIELDS}

    def fits_header(self, records: Records, seen: str | None) -> bool:
        """Whether this layout, forced, fits the header (``seen``: what detection found)."""
        if self.fits is not None:
            return self.fits(records, seen)
        return seen in (None, self.format)
