"""Corrected re-exports: a later file replaces whole survey responses of an earlier one.

Belongs here: gathering one period's survey ratings and comments from the cached parses with the
response (respondent and period) as the unit of replacement. When two files hold answers of the
same respondent in the same period, every answer of that respondent in the earlier file is
dropped and the later file's answers are kept, whatever departments, providers or dimensions
either holds: merging answer by answer would keep stale ratings and could put one person in two
departments. "Later" is landing order, the order discovery lists the files in (path order; see
docs/mappings.md, Corrections). Tickets and other tables keep their per-key rule (cache.py).

The ``survey_tables`` step applies this rule in SQL (``survey_period_sql.py``, no pandas frame
of the answers); the function here is its reference in the tests and the step's frame path.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.cache import CachedParse, PeriodRows, primary_key


@dataclass
class PeriodResponses:
    """One period's ratings and comments, after whole-response replacement."""

    ratings: PeriodRows
    comments: PeriodRows
    responses_replaced: int  # responses of earlier files replaced by a later file
    ratings_replaced: int  # their rating rows, dropped


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def survey_responses_for_period(
    parses: Iterable[CachedParse],
    period: str,
    rating_columns: list[str],
    comment_columns: list[str],
) -> PeriodResponses:
    """Ratings and comments of ``period``; a later file replaces all answers of its respondents."""
    files: list[tuple[pd.DataFrame | None, pd.DataFrame | None]] = []
    for parse in parses:
        ratings = parse.table("survey_ratings", period)
        comments = parse.table("survey_comments", period)
        if (ratings is not None and not ratings.empty) or (
            comments is not None and not comments.empty
        ):
            files.append((ratings, comments))
    kept_ratings: list[pd.DataFrame] = []
    kept_comments: list[pd.DataFrame] = []
    later: np.ndarray = np.empty(0, dtype=object)  # respondents of the files after this one
    replaced_responses = 0
    replaced_ratings = 0
    for ratings, comments in reversed(files):
        here = (
            pd.unique(ratings["respondent_id"].astype(object).to_numpy())
            if ratings is not None and not ratings.empty
            else np.empty(0, dtype=object)
        )
        if ratings is not None and not ratings.empty:
            if len(later):
                stale = ratings["respondent_id"].isin(later).to_numpy()
                if stale.any():
                    replaced_responses += int(np.isin(here, later).sum())
                    replaced_ratings += int(stale.sum())
                    ratings = ratings.loc[~stale]
            kept_ratings.append(ratings)
        if comments is not None and not comments.empty:
            if len(later):
                comments = comments.loc[~comments["respondent_id"].isin(later).to_numpy()]
            kept_comments.append(comments)
        later = np.union1d(later, here.astype(str)) if len(here) else later
    return PeriodResponses(
        ratings=_combine(kept_ratings[::-1], "survey_ratings", rating_columns),
        comments=_combine(kept_comments[::-1], "survey_comments", comment_columns),
        responses_replaced=replaced_responses,
        ratings_replaced=replaced_ratings,
    )


def _combine(frames: list[pd.DataFrame], table: str, columns: list[str]) -> PeriodRows:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return PeriodRows(_empty(columns), 0, 0)
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    combined = combined[[c for c in columns if c in combined.columns]]
    before = len(combined)
    if len(frames) > 1:  # replacement leaves no repeated key; this is the net under it
        combined = combined.drop_duplicates(subset=primary_key(table), keep="last")
    return PeriodRows(combined.reset_index(drop=True), len(frames), before - len(combined))
