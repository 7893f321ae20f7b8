"""The ``survey_tables`` step's work: one period's ratings and comments gathered and written.

Belongs here: choosing the path and running it for the asset in ``assets_ingest.py``. Ratings
stream through DuckDB (``ingest/survey_period_sql.py`` gathers them, ``warehouse/
writes_surveys_stream.py`` codes and writes them), so the step's memory no longer grows with
the export (issue 13, item 7). The frame path (``corrections.survey_responses_for_period``,
``names.apply_names``, ``writes.replace_partition``) remains for a cached parse the SQL path
cannot read and for rows a writer's check refuses, whose messages it gives.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy

from ice_pipeline.defs.run_log import partition_log
from ice_pipeline.defs.support import counts_by, exclusive_write

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from ice_pipeline.cache import CachedParse

WritePeriod = Callable[[str, "pd.DataFrame"], int]  # (table, frame) -> rows written


@dataclass
class SurveyPeriod:
    """What the asset reports of one period's survey rows."""

    written: int
    files: int
    duplicates_dropped: int
    responses_replaced: int
    ratings_replaced: int
    respondents: int
    providers: int
    preview: "pd.DataFrame"  # respondents per provider
    comments_written: int
    comment_files: int


def write_survey_period(
    engine: sqlalchemy.Engine,
    parses: "Sequence[CachedParse]",
    period: str,
    names: dict[str, dict[str, str]],
    workdir: "Path",
    write_period: WritePeriod,
) -> SurveyPeriod:
    """Gather and write ``period``'s ratings (streamed when possible) and comments."""
    from ice_pipeline.ingest.corrections import _combine
    from ice_pipeline.ingest.names import apply_names
    from ice_pipeline.ingest.survey_period_sql import kept_comments, stage_ratings
    from ice_pipeline.warehouse.schema import survey_comments
    from ice_pipeline.warehouse.writes import _run_log_rows
    from ice_pipeline.warehouse.writes_surveys_stream import StreamRefused, replace_staged_period

    staged = stage_ratings(parses, period, names, workdir)
    if staged is None:
        return _frame_path(parses, period, names, write_period)
    try:
        with exclusive_write(engine, "survey_ratings", period):
            log = partition_log(engine, "survey_ratings", period)
            try:
                written = replace_staged_period(
                    engine, staged, period, _run_log_rows(log, staged.rows)
                )
            except StreamRefused:  # after the lock is released: the frame path takes it again
                written = None
        if written is not None:
            respondents, providers, preview = staged.summary()
            comments = _combine(
                kept_comments(staged, parses, period),
                "survey_comments",
                [c.name for c in survey_comments.columns],
            )
    finally:
        staged.close()
    if written is None:
        return _frame_path(parses, period, names, write_period)
    comments.frame = apply_names(comments.frame, names)
    return SurveyPeriod(
        written=written,
        files=staged.files,
        duplicates_dropped=staged.duplicates_dropped,
        responses_replaced=staged.responses_replaced,
        ratings_replaced=staged.ratings_replaced,
        respondents=respondents,
        providers=providers,
        preview=preview,
        comments_written=write_period("survey_comments", comments.frame),
        comment_files=comments.files,
    )


def _frame_path(
    parses: "Sequence[CachedParse]",
    period: str,
    names: dict[str, dict[str, str]],
    write_period: WritePeriod,
) -> SurveyPeriod:
    """The whole period in pandas: old cached parses, and rows a writer's check refuses."""
    from ice_pipeline.ingest.corrections import survey_responses_for_period
    from ice_pipeline.ingest.names import apply_names
    from ice_pipeline.warehouse.schema import survey_comments, survey_ratings

    responses = survey_responses_for_period(
        parses,
        period,
        [c.name for c in survey_ratings.columns],
        [c.name for c in survey_comments.columns],
    )
    ratings, comments = responses.ratings, responses.comments
    ratings.frame = apply_names(ratings.frame, names)
    comments.frame = apply_names(comments.frame, names)
    written = write_period("survey_ratings", ratings.frame)
    comments_written = write_period("survey_comments", comments.frame)
    frame = ratings.frame
    return SurveyPeriod(
        written=written,
        files=ratings.files,
        duplicates_dropped=ratings.duplicates_dropped,
        responses_replaced=responses.responses_replaced,
        ratings_replaced=responses.ratings_replaced,
        respondents=int(frame["respondent_id"].nunique()) if not frame.empty else 0,
        providers=int(frame["provider_department"].nunique()) if not frame.empty else 0,
        preview=counts_by(
            frame, "provider_department", distinct="respondent_id", label="respondents"
        ),
        comments_written=comments_written,
        comment_files=comments.files,
    )
