"""The staged path of a scored wide survey export: records in pandas, answers in DuckDB.

Belongs here: the steps of surveys.read_survey for a wide export whose body is staged in DuckDB
(survey_stage.py): the record checks run on a narrow pandas frame of the few non-rating columns
(ids, dates, departments, statuses, comments), their outcome is handed to DuckDB as a per-record
table, and the cells, ratings and their quarantine are SQL (survey_sql.py). The ratings stay in
DuckDB (a StagedTable) unless validation finds a problem that needs the pandas path's rules.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import DecodedFile, text_columns
from ice_pipeline.ingest.privacy import pseudonymize_per_row
from ice_pipeline.ingest.survey_columns import SurveyColumns
from ice_pipeline.ingest.survey_quarantine import Quarantine
from ice_pipeline.ingest.survey_records import SurveyRecords
from ice_pipeline.ingest.survey_sql import (
    build_ratings,
    drop_repeats,
    not_applicable_count,
    quarantine_invalid,
    register_records,
    staged_ratings,
)
from ice_pipeline.ingest.survey_stage import StagedSurvey, StagedTable

FEED = "surveys"


@dataclass
class StagedRatings:
    """The staged ratings (table ``ratings``) and the figures surveys.py reports."""

    frame: StagedTable  # with source_column and source_answer
    pseudonyms: np.ndarray
    not_applicable: int
    quarantined: int


def narrow_body(staged: StagedSurvey, cols: SurveyColumns) -> pd.DataFrame:
    """The mapped columns but the rating columns (those stay in DuckDB), as a pandas frame.

    Only what the record checks and comments read (ids, dates, departments, statuses,
    comments): unmapped columns are never read, so they never leave DuckDB (memory).
    """
    rating = {r.column for r in cols.ratings}
    mapped = set(cols.mapped)
    return staged.frame([c for c in staged.columns if c in mapped and c not in rating])


def wide_ratings(
    decoded: DecodedFile,
    staged: StagedSurvey,
    records: SurveyRecords,
    live: np.ndarray,
    good_record: np.ndarray,
    salt: str,
    items: tuple[int, bool],
    quarantine: Quarantine,
) -> StagedRatings:
    """survey_ratings.ratings_table over the staged cells: quarantine, score, drop repeats."""
    raw_ids = records.raw_ids
    pseudonyms = pseudonymize_per_row(raw_ids.where(raw_ids != "", None), salt).to_numpy(
        dtype=object
    )
    register_records(
        staged,
        pd.DataFrame(
            {
                "rec": np.arange(staged.n, dtype="int64"),
                "live": live.astype(bool),
                "good": good_record.astype(bool),
                "period": pd.Series(records.periods.to_numpy(dtype=object), dtype=object),
                "respondent_id": pd.Series(pseudonyms, dtype=object),
                "consumer_department": pd.Series(
                    records.departments.to_numpy(dtype=object), dtype=object
                ),
                "responded_at": pd.to_datetime(records.responded.to_numpy()),
                "source_row": records.rows.astype("int64"),
            }
        ),
    )
    quarantined = quarantine_invalid(staged, quarantine)
    count, duplicate_pairs = items
    build_ratings(decoded, staged, count)
    if duplicate_pairs:
        drop_repeats(staged, quarantine)
    return StagedRatings(
        staged_ratings(staged, helpers=True), pseudonyms, not_applicable_count(staged), quarantined
    )


def validation_sample(table: StagedTable) -> pd.DataFrame:
    """The first row of every record and of every distinct answer (surveys._validate_ratings)."""
    rel, base = table.relation, table.base or table.relation
    # Records are one source row each; answers one (rating column, distinct value) each.
    by_record, by_answer = ("rec", "item, code") if table.base else ("source_row", "source_answer")
    sample = table.con.execute(
        f"SELECT {table.select()} FROM {rel} WHERE _ord IN ("
        f"SELECT min(_ord) FROM {base} GROUP BY {by_record} UNION "
        f"SELECT min(_ord) FROM {base} GROUP BY {by_answer}) ORDER BY _ord"
    ).fetch_arrow_table()
    # Through Arrow, whose to_pandas shares one Python string per distinct value: DuckDB's
    # .df() makes one per row (file name, digest, period...: ~1 KB a sampled row, 0.5 GB at
    # 200 MB; issue 13 item 7).
    frame = sample.to_pandas()
    for column, dtype in table.dtypes.items():
        if dtype is object:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        else:
            frame[column] = frame[column].astype(dtype)
    return text_columns(frame)


def ratings_summary(ratings: "pd.DataFrame | StagedTable") -> tuple[np.ndarray, int, int]:
    """Distinct kept source rows, the number of ratings and of respondents."""
    if isinstance(ratings, StagedTable):
        rows = np.asarray(ratings.distinct_values("source_row"), dtype="int64")
        return rows, len(ratings), ratings.count_distinct("respondent_id")
    return (
        pd.unique(ratings["source_row"].to_numpy()),
        len(ratings),
        int(ratings["respondent_id"].nunique()),
    )
