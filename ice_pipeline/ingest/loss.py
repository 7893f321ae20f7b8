"""No silent majority loss: the share of a file's rows that were quarantined, and the stop.

Belongs here: measuring a parsed file's quarantined share (quarantined rows out of the rows the
reader considered, i.e. read minus policy exclusions), its most common reason, the threshold
(``max_quarantined_pct`` in the mapping, default 5), and the one-line ``QuarantineShareExceeded``
the nightly run stops a feed with. ``inspect`` shows the same figures (``quarantine_share``).

Why a stop and not a warning: a file whose mapping misreads a column quarantines most of its
rows, and every figure computed from the rest (headcount, turnover, scores) is silently wrong.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import ParseResult

DEFAULT_MAX_QUARANTINED_PCT = 5.0
_VALUE_IN_REASON = re.compile(r"'[^']*'|\b\d[\d\-:. ]*\b")


@dataclass(frozen=True)
class QuarantineShare:
    """How much of one file was quarantined, and whether that passes the threshold."""

    file: str
    rows_considered: int
    rows_quarantined: int
    threshold_pct: float
    most_common_reason: str | None  # one real reason of the most frequent kind
    most_common_count: int

    @property
    def pct(self) -> float:
        if self.rows_considered == 0:
            return 0.0
        return 100.0 * self.rows_quarantined / self.rows_considered

    @property
    def exceeded(self) -> bool:
        return self.pct > self.threshold_pct

    def line(self) -> str:
        """The one line a stop says: file, share, most common reason and the fix."""
        return str(self.problem())

    def problem(self) -> "QuarantineShareExceeded":
        reason = (
            f"; most common reason ({self.most_common_count} rows): {self.most_common_reason}"
            if self.most_common_reason
            else ""
        )
        return QuarantineShareExceeded(
            self.file,
            f"{self.pct:.1f}% of the rows were quarantined ({self.rows_quarantined} of "
            f"{self.rows_considered}), above the {self.threshold_pct:g}% limit{reason}",
            fix=f"correct the mapping or the export ('ice-pipeline inspect {self.file}' lists "
            "every reason); if this loss is expected, set max_quarantined_pct in the mapping",
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pct": round(self.pct, 2),
            "threshold_pct": self.threshold_pct,
            "rows_considered": self.rows_considered,
            "rows_quarantined": self.rows_quarantined,
            "most_common_reason": self.most_common_reason,
            "most_common_count": self.most_common_count,
            "stops_the_run": self.exceeded,
            "message": self.line() if self.exceeded else None,
        }


class QuarantineShareExceeded(FileProblem):
    """A file lost more of its rows to quarantine than its mapping allows: the feed stops."""


def threshold_of(raw_mapping: dict[str, Any]) -> float:
    value = raw_mapping.get("max_quarantined_pct")
    return DEFAULT_MAX_QUARANTINED_PCT if value is None else float(value)


def quarantine_share(result: ParseResult, raw_mapping: dict[str, Any]) -> QuarantineShare:
    """The quarantined share of one parsed file against its mapping's threshold."""
    counts = result.counts
    considered = counts.get("rows_read", 0) - counts.get("rows_excluded", 0)
    reasons = result.quarantine["reason"] if not result.quarantine.empty else None
    top, top_count = None, 0
    if reasons is not None:
        # Grouped by the reason's kind (values blanked), shown with a real example of that kind;
        # per distinct reason (a file can quarantine millions of answers with a few reasons).
        per_reason = reasons.astype(str).value_counts(sort=False)
        kinds = pd.Series(per_reason.index, index=per_reason.index).str.replace(
            _VALUE_IN_REASON, "…", regex=True
        )
        by_kind = (
            per_reason.groupby(kinds.to_numpy(), sort=False).sum().sort_values(ascending=False)
        )
        top_kind, top_count = str(by_kind.index[0]), int(by_kind.iloc[0])
        top = str(kinds.index[kinds.to_numpy() == top_kind][0])
    return QuarantineShare(
        file=result.source_file,
        rows_considered=int(considered),
        rows_quarantined=int(counts.get("rows_quarantined", 0)),
        threshold_pct=threshold_of(raw_mapping),
        most_common_reason=top,
        most_common_count=top_count,
    )


def check_quarantine_share(result: ParseResult, mapping_path: Path | None) -> None:
    """Raise ``QuarantineShareExceeded`` when the file's quarantined share passes its limit."""
    raw: dict[str, Any] = {}
    if mapping_path is not None:
        from ice_pipeline.ingest.mapping import load_mapping

        raw = load_mapping(mapping_path).raw
    share = quarantine_share(result, raw)
    if share.exceeded:
        raise share.problem()
