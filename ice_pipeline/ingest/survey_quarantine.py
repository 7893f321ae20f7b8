"""Survey quarantine: the findings of each check, merged into the quarantine the result carries.

Belongs here: ``Quarantine``, which the record, rating and comment checks add their findings
to (row, column, value, reason, reason kind); merging those findings with pandera's into the
quarantine frame (common.quarantine_frame's shape, one record per row and column); and the
counts of a survey read (read = kept + quarantined + excluded). The reasons themselves are
written by the checks that find them.
"""

from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import DecodedFile, empty_quarantine, quarantine_frame

FEED = "surveys"
STRUCTURAL_REASON = "not scored: the mapping has no rating rules"


class Quarantine:
    """Collects quarantine records (row, column, value, reason, reason kind) from each check."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self, rows: np.ndarray, column: str | np.ndarray, values: Any, reasons: Any, kind: str
    ) -> None:
        """Record one check's findings: a reason (and its kind) per rejected row or cell."""
        if len(rows) == 0:
            return
        self.parts.append(
            pd.DataFrame(
                {
                    "source_row": np.asarray(rows, dtype="int64"),
                    "column_name": column
                    if isinstance(column, str)
                    else np.asarray(column, dtype=object),
                    "value": np.asarray(values, dtype=object),
                    "reason": reasons
                    if isinstance(reasons, str)
                    else np.asarray(reasons, dtype=object),
                    "kind": kind,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        """Every finding, the first per (row, column) kept."""
        if not self.parts:
            return pd.DataFrame(columns=["source_row", "column_name", "value", "reason", "kind"])
        merged = pd.concat(self.parts, ignore_index=True)
        # The warehouse key is (file, row, column): keep the first problem found per cell.
        return merged.drop_duplicates(["source_row", "column_name"], keep="first")


def merged_quarantine(
    decoded: DecodedFile, found: pd.DataFrame, validation: list[pd.DataFrame]
) -> pd.DataFrame:
    """The checks' findings, then pandera's (validation), one record per (row, column)."""
    quarantine_parts = [
        quarantine_frame(
            FEED,
            decoded,
            found["source_row"],
            found["column_name"],
            found["value"],
            found["reason"],
        )
        if len(found)
        else empty_quarantine(),
        *validation,
    ]
    quarantined = (
        pd.concat([q for q in quarantine_parts if len(q)], ignore_index=True)
        if any(len(q) for q in quarantine_parts)
        else empty_quarantine()
    )
    return quarantined.drop_duplicates(["source_row", "column_name"], keep="first").reset_index(
        drop=True
    )


def survey_counts(
    rows: np.ndarray,
    excluded: np.ndarray,
    ratings: tuple[np.ndarray, int, int],
    structural: bool,
    extra: dict[str, int],
) -> tuple[dict[str, int], dict[str, int]]:
    """The read's counts and its exclusions by reason (``extra``: the other figures).

    ``ratings``: the distinct kept source rows, the number of ratings and of respondents
    (survey_wide.ratings_summary; the ratings table may be staged in DuckDB).
    """
    n = len(rows)
    is_excluded = excluded != None  # noqa: E711
    kept_source_rows, n_ratings, respondents = ratings
    kept_rows = set(kept_source_rows.tolist())
    source_row_index = {r: i for i, r in enumerate(rows.tolist())}
    kept_mask = np.zeros(n, dtype=bool)
    kept_mask[[source_row_index[r] for r in kept_rows]] = True
    rows_excluded = int(is_excluded.sum())
    rows_kept = int(kept_mask.sum())
    excluded_by_reason = {
        str(k): int(v) for k, v in pd.Series(excluded[is_excluded]).value_counts().items()
    }
    counts = {
        "rows_read": n,
        "rows_kept": rows_kept,
        "rows_excluded": rows_excluded,
        "rows_quarantined": 0 if structural else n - rows_kept - rows_excluded,
        "ratings": n_ratings,
        "ratings_not_applicable": extra["ratings_not_applicable"],
        "ratings_quarantined": extra["ratings_quarantined"],
        "comments": extra["comments"],
        "respondents": respondents,
    }
    if structural:
        # Described, not scored: every record is counted as excluded so read = kept +
        # quarantined + excluded holds (the landing folder refuses such a file, feeds.py).
        counts["rows_kept"] = 0
        counts["rows_excluded"] = n
        excluded_by_reason = {STRUCTURAL_REASON: n} if n else {}
    return counts, excluded_by_reason


def quarantined_by_reason(found: pd.DataFrame, quarantined: pd.DataFrame) -> dict[str, int]:
    """Quarantine records per reason kind; pandera's are counted as ``failed validation``."""
    by_kind = found["kind"].value_counts().to_dict() if len(found) else {}
    validation_rows = len(quarantined) - len(found)
    if validation_rows > 0:
        by_kind["failed validation"] = validation_rows
    return {str(k): int(v) for k, v in by_kind.items()}
