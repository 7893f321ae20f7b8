"""The ``survey_ratings`` table: rejected answers quarantined, kept answers scored, repeats dropped.

Belongs here: the step from classified cells (survey_cells.py) and checked records
(survey_records.py) to the long ratings table: one row per kept answer with its 0-100 score
(index/scale.py), repeated ratings of one provider and dimension by one respondent quarantined.
Text columns are built as categoricals (2.5M-12.5M rows: time and memory).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.ingest.common import DecodedFile, categorical_take
from ice_pipeline.ingest.privacy import pseudonymize_per_row
from ice_pipeline.ingest.survey_cells import Cells
from ice_pipeline.ingest.survey_quarantine import Quarantine
from ice_pipeline.ingest.survey_records import SurveyRecords
from ice_pipeline.ingest.values import REJECTED_KINDS

RATING_COLUMNS = [
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "rating_raw",
    "scale_min",
    "scale_max",
    "reversed",
    "score",
    "favourable",
    "responded_at",
    "source_file",
    "source_sha256",
    "source_row",
]


def _empty_ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series(dtype=object),
            "respondent_id": pd.Series(dtype=object),
            "provider_department": pd.Series(dtype=object),
            "dimension": pd.Series(dtype=object),
            "consumer_department": pd.Series(dtype=object),
            "rating_raw": pd.Series(dtype="float64"),
            "scale_min": pd.Series(dtype="float64"),
            "scale_max": pd.Series(dtype="float64"),
            "reversed": pd.Series(dtype=bool),
            "score": pd.Series(dtype="float64"),
            "favourable": pd.Series(dtype=bool),
            "responded_at": pd.Series(dtype="datetime64[ns]"),
            "source_file": pd.Series(dtype=object),
            "source_sha256": pd.Series(dtype=object),
            "source_row": pd.Series(dtype="int64"),
        }
    )[RATING_COLUMNS]


@dataclass
class Ratings:
    """The ratings table (with ``source_column`` and ``source_answer``) and its figures."""

    frame: pd.DataFrame
    pseudonyms: np.ndarray  # per record (comments use them too)
    not_applicable: int
    quarantined: int  # answers rejected (not a point of the scale)


def _quarantine_invalid(
    cells: Cells, rows: np.ndarray, cell_live: np.ndarray, quarantine: Quarantine
) -> int:
    """Answers of good records that are not a point of the scale, by reason kind."""
    invalid_cells = np.flatnonzero(cell_live & (cells.state >= 3))
    if len(invalid_cells):
        label_scale = np.array([bool(s.labels) for s in cells.scales])[cells.scale[invalid_cells]]
        states = cells.state[invalid_cells]
        kinds = np.where(label_scale, "unknown rating label", "rating not a number").astype(object)
        for state, kind in REJECTED_KINDS.items():
            kinds[states == state] = kind
        for kind in np.unique(kinds):
            pick = invalid_cells[kinds == kind]
            quarantine.add(
                rows[cells.record[pick]],
                cells.item_column[cells.item[pick]],
                cells.raw[pick],
                cells.reason_table[cells.scale[pick], cells.codes[pick]],
                str(kind),
            )
    return len(invalid_cells)


def _ratings_frame(
    decoded: DecodedFile,
    cells: Cells,
    records: SurveyRecords,
    keep_cells: np.ndarray,
    pseudonyms: np.ndarray,
) -> pd.DataFrame:
    """One row per kept answer, text columns as categoricals taken per record or answer."""
    scales = cells.scales
    rec = cells.record[keep_cells]
    scale = cells.scale[keep_cells]
    low = np.array([s.scale_min for s in scales])[scale] if len(scales) else np.empty(0)
    high = np.array([s.scale_max for s in scales])[scale] if len(scales) else np.empty(0)
    raw_values = cells.value[keep_cells]
    rev = cells.reversed[keep_cells]
    item = cells.item[keep_cells]
    if not len(keep_cells):
        return _empty_ratings().assign(
            source_column=pd.Series(dtype=object), source_answer=pd.Series(dtype="int64")
        )
    # Text columns are built as categoricals: codes taken per rating row from the record's or
    # the answer's value, never one Python string per rating (2.5M-12.5M rows; time and memory).
    # copy=False keeps one block per column: consolidating 2.5M-row columns costs seconds.
    return pd.DataFrame(
        {
            "period": categorical_take(records.periods.to_numpy(dtype=object), rec),
            "respondent_id": categorical_take(pseudonyms, rec),
            "provider_department": categorical_take(cells.item_provider, item),
            "dimension": categorical_take(cells.item_dimension, item),
            "consumer_department": categorical_take(
                records.departments.to_numpy(dtype=object), rec
            ),
            "rating_raw": raw_values.astype("float64"),
            "scale_min": low.astype("float64"),
            "scale_max": high.astype("float64"),
            "reversed": rev.astype(bool),
            "score": np.asarray(to_score(raw_values, low, high, rev), dtype="float64"),
            "favourable": np.asarray(is_favourable(raw_values, low, high, rev), dtype=bool),
            "responded_at": records.responded.to_numpy()[rec],
            "source_file": categorical_take(np.array([str(decoded.path)], object), 0 * rec),
            "source_sha256": categorical_take(np.array([decoded.sha256], object), 0 * rec),
            "source_row": records.rows[rec].astype("int64"),
            "source_column": categorical_take(cells.item_column, item),
            "source_answer": cells.answer[keep_cells],
        },
        copy=False,
    )


def _drop_repeats(
    frame: pd.DataFrame, kept_raw: np.ndarray, quarantine: Quarantine
) -> pd.DataFrame:
    """The same provider and dimension twice for one respondent and period: the first is kept.

    Two columns mapped to one pair, or a repeated row in a long file; the others are quarantined.
    """
    key = ["period", "respondent_id", "provider_department", "dimension"]
    dup = frame.duplicated(key, keep="first").to_numpy()
    if not dup.any():
        return frame
    first_rows = (
        frame.groupby(key, sort=False, observed=True)["source_row"].transform("min").to_numpy()
    )
    quarantine.add(
        frame["source_row"].to_numpy()[dup],
        frame["source_column"].to_numpy()[dup],
        kept_raw[dup],
        [
            f"second rating of {p} on {d} by the same respondent in {per} (first seen on row {f})"
            for p, d, per, f in zip(
                frame["provider_department"].to_numpy()[dup],
                frame["dimension"].to_numpy()[dup],
                frame["period"].to_numpy()[dup],
                first_rows[dup],
                strict=True,
            )
        ],
        "duplicate rating",
    )
    return frame.loc[~dup].reset_index(drop=True)


def ratings_table(
    decoded: DecodedFile,
    cells: Cells,
    records: SurveyRecords,
    live: np.ndarray,
    good_record: np.ndarray,
    salt: str,
    long_format: bool,
    quarantine: Quarantine,
) -> Ratings:
    """Quarantine rejected answers of good records, score the valid ones, drop repeated ones."""
    cell_live = good_record[cells.record] if len(cells.record) else np.zeros(0, bool)
    quarantined = _quarantine_invalid(cells, records.rows, cell_live, quarantine)
    keep_cells = np.flatnonzero(cell_live & (cells.state == 2))
    raw_ids = records.raw_ids
    pseudonyms = pseudonymize_per_row(raw_ids.where(raw_ids != "", None), salt).to_numpy(
        dtype=object
    )
    frame = _ratings_frame(decoded, cells, records, keep_cells, pseudonyms)
    pairs = (
        list(zip(cells.item_provider, cells.item_dimension, strict=True)) if not long_format else []
    )
    if len(frame) and (long_format or len(set(pairs)) < len(pairs)):
        frame = _drop_repeats(frame, cells.raw[keep_cells], quarantine)
    not_applicable = int(((cells.state == 1) & live[cells.record]).sum()) if len(cells.state) else 0
    return Ratings(frame, pseudonyms, not_applicable, quarantined)
