"""Survey exports -> canonical ``survey_ratings`` and ``survey_comments`` rows.

Belongs here: ``read_survey``, the pipeline of named steps that reads one survey export with
its mapping, the pandera net over its tables, and ``structural_summary``; also the names callers
import (``detect_survey_format``, ``read_layout``, ``SurveyTable``, ``FORMAT_DEFAULTS``, ...).
Each step lives in its own module:

- vendors/ (registry: vendors/__init__.py): one module per vendor; recognition, header rows,
  column naming, default columns, statuses;
- survey_read.py: header records, the layout (detected through the registry, or forced), body;
- survey_stage.py: the body staged in an in-process DuckDB, ``StagedTable``/``LazyTables``;
- survey_sql.py, survey_wide.py: a scored wide export's cells, ratings and quarantine in SQL;
- survey_columns.py: which columns mean what (mapping or layout defaults), personal columns;
- survey_records.py: exclusions by policy; id, date and department checks; periods;
- survey_cells.py, survey_ratings.py: the pandas path's answer cells (classified per distinct
  value) and ratings table (invalid answers quarantined, repeats dropped);
- survey_comments.py: the comments table;
- survey_quarantine.py: the findings collector, the merged quarantine, the counts.

Speed and memory matter: an enterprise wave is one wide file of 100,000 respondents x 25 rating
columns. The header rows are read with the csv module (they carry meaning), the body with
Arrow's (or pandas') C parser in one pass into DuckDB; a wide export's answers are unpivoted,
classified once per distinct value and scored in SQL, and the long table stays in DuckDB until
the parse cache COPYs it to Parquet. Long, unscored and small wide files take the pandas path.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import (
    DecodedFile,
    ParseResult,
    compact_text_columns,
    empty_quarantine,
    period_of,
    quarantine_frame,
    text_columns,
)
from ice_pipeline.ingest.fixed import ExtraHeader, skip_leading_lines
from ice_pipeline.ingest.mapping import Mapping, SurveyMapping, survey_mapping
from ice_pipeline.ingest.survey_cells import Cells, answer_cells, mark_unanswered
from ice_pipeline.ingest.survey_coded import RESPONSE_FIELDS
from ice_pipeline.ingest.survey_columns import (
    DEFAULT_ALIASES,
    DEFAULT_EXCLUDED_STATUS,
    FORMAT_DEFAULTS,
    LONG_REQUIRED,
    CommentColumn,
    RatingColumn,
    SurveyColumns,
    default_column,
    drop_personal,
    resolve_columns,
)
from ice_pipeline.ingest.survey_comments import (
    COMMENT_COLUMNS,
    CommentInputs,
    _empty_comments,
    comments_table,
)
from ice_pipeline.ingest.survey_quarantine import (
    STRUCTURAL_REASON,
    Quarantine,
    merged_quarantine,
    quarantined_by_reason,
    survey_counts,
)
from ice_pipeline.ingest.survey_ratings import (
    RATING_COLUMNS,
    Ratings,
    _empty_ratings,
    ratings_table,
)
from ice_pipeline.ingest.survey_read import (
    HEADER_ROWS,
    SURVEY_FORMATS,
    SurveyTable,
    detect_survey_format,
    read_layout,
)
from ice_pipeline.ingest.survey_records import (
    NOT_FINISHED_VALUES,
    RecordContext,
    ResponseDates,
    SurveyRecords,
    check_records,
    parse_response_dates,
    policy_exclusions,
)
from ice_pipeline.ingest.survey_sql import classify_wide
from ice_pipeline.ingest.survey_stage import LazyTables, StagedSurvey, StagedTable, stage_layout
from ice_pipeline.ingest.survey_wide import (
    StagedRatings,
    narrow_body,
    ratings_summary,
    validation_sample,
    wide_ratings,
)
from ice_pipeline.ingest.vendors import qualtrics

FEED = "surveys"
QUALTRICS_STATUS_NAMES = qualtrics.STATUS_NAMES

__all__ = [
    "COMMENT_COLUMNS",
    "DEFAULT_ALIASES",
    "DEFAULT_EXCLUDED_STATUS",
    "FEED",
    "FORMAT_DEFAULTS",
    "HEADER_ROWS",
    "LONG_REQUIRED",
    "NOT_FINISHED_VALUES",
    "QUALTRICS_STATUS_NAMES",
    "RATING_COLUMNS",
    "STRUCTURAL_REASON",
    "SURVEY_FORMATS",
    "CommentColumn",
    "RatingColumn",
    "ResponseDates",
    "SurveyTable",
    "detect_survey_format",
    "parse_response_dates",
    "read_layout",
    "read_survey",
    "structural_summary",
]


def _stage_table(
    decoded: DecodedFile, mapping: Mapping, sm: SurveyMapping, file_format: str | None
) -> tuple[DecodedFile, StagedSurvey]:
    """Step 1: lines above the header skipped and extra header rows dropped (issue 16), the
    layout read, the body staged in DuckDB; without rating rules (structural) any CSV is read.
    """
    raw = dict(getattr(mapping, "raw", None) or {})
    given, (decoded, skipped) = decoded, skip_leading_lines(decoded, raw)
    staged = stage_layout(
        decoded,
        file_format or mapping.file_format,
        allow_unknown=not sm.ratings,
        skipped=skipped,
        extra=ExtraHeader.of(raw),
    )
    given.release_text()  # staged: no later step reads the text (stage_layout released its own)
    return decoded, staged


def _comment_sources(cols: SurveyColumns, cells: Cells, n: int) -> list[tuple[str, pd.Series]]:
    """(column, provider per record) of every comment column, a long file's first."""
    sources: list[tuple[str, pd.Series]] = []
    if cols.long_format and "comment" in cols.lower:
        sources.append((cols.lower["comment"], pd.Series(cells.item_provider, dtype=object)))
    for spec in cells.comments:
        sources.append((spec.column, pd.Series([spec.provider] * n, dtype=object)))
    return sources


def read_survey(
    decoded: DecodedFile,
    mapping: Mapping,
    *,
    file_format: str | None = None,
    salt: str,
    hr_employees: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> ParseResult:
    """Parse one survey export with its mapping into ``survey_ratings`` and ``survey_comments``.

    ``file_format`` (the CLI's --format) wins over the mapping's ``format:``, which wins over
    detection. ``hr_employees`` is unused (surveys carry their own department column).
    """
    del hr_employees
    reference_now = now or datetime.now()
    sm = survey_mapping(mapping)
    decoded, staged = _stage_table(decoded, mapping, sm, file_format)
    cols = resolve_columns(decoded, sm, mapping, staged.file_format, staged.columns)
    date_order = (mapping.date_order or FORMAT_DEFAULTS[staged.file_format]["date_order"]).upper()
    run = _Run(decoded, mapping, sm, cols, salt, date_order, reference_now)
    if cols.long_format or cols.structural or staged.n * len(cols.ratings) <= STAGE_MIN_CELLS:
        # Long files (one answer per row: no unpivot) and small wide ones (staging costs more
        # than it saves) take the pandas path; both paths are tested on the same files.
        table = SurveyTable(
            staged.file_format,
            staged.columns,
            staged.frame(staged.columns),
            staged.source_rows,
            staged.header_rows,
        )
        return _read_frame(run, table)
    return _read_staged(run, staged)


@dataclass
class _Run:
    """What every step of one read shares."""

    decoded: DecodedFile
    mapping: Mapping
    sm: SurveyMapping
    cols: SurveyColumns
    salt: str
    date_order: str
    now: datetime


def _read_staged(run: _Run, staged: StagedSurvey) -> ParseResult:
    """A scored wide export: records on a narrow frame, answers as SQL (survey_wide.py)."""
    decoded, sm, cols = run.decoded, run.sm, run.cols
    quarantine = Quarantine()
    body = drop_personal(narrow_body(staged, cols), cols)  # personal columns never travel
    staged.load([r.column for r in cols.ratings])  # the rating columns go to DuckDB
    excluded = policy_exclusions(body, cols)
    wide, answered = classify_wide(staged, cols, sm)
    excluded[~answered & (excluded == None)] = "no rating answered"  # noqa: E711
    live = excluded == None  # noqa: E711
    ctx = RecordContext(decoded, sm, body, cols, staged.source_rows, live, quarantine)
    records = check_records(ctx, run.mapping, run.date_order, run.salt, run.now)
    good_record = live & ~records.rejected
    ratings = wide_ratings(
        decoded,
        staged,
        records,
        live,
        good_record,
        run.salt,
        (wide.count, wide.duplicate_pairs),
        quarantine,
    )
    sources = [(c.column, pd.Series([c.provider] * staged.n, dtype=object)) for c in wide.comments]
    comments = _comments(run, body, records, good_record & answered, ratings, sources, quarantine)
    variants = {"departments": wide.provider_variants, "dimensions": wide.dimension_variants}
    return _result(
        decoded,
        staged.file_format,
        cols,
        records,
        ratings,
        comments,
        excluded,
        quarantine,
        variants,
    )


def _comments(
    run: _Run,
    body: pd.DataFrame,
    records: SurveyRecords,
    keep: np.ndarray,
    ratings: "Ratings | StagedRatings",
    sources: list[tuple[str, pd.Series]],
    quarantine: Quarantine,
) -> pd.DataFrame:
    """The comments table of the kept records (survey_comments.py)."""
    return comments_table(
        CommentInputs(
            run.decoded,
            body,
            records.rows,
            keep,
            records.periods.to_numpy(dtype=object),
            ratings.pseudonyms,
            records.departments.to_numpy(dtype=object),
            run.sm.comment_max_chars,
        ),
        sources,
        quarantine,
    )


def _read_frame(run: _Run, table: SurveyTable) -> ParseResult:
    """A long or unscored export, read in pandas (one answer per row: nothing to unpivot)."""
    decoded, sm, cols = run.decoded, run.sm, run.cols
    fmt, n = table.file_format, len(table.body)
    quarantine = Quarantine()
    body = drop_personal(table.body, cols)  # personal columns never travel further
    excluded = policy_exclusions(body, cols)
    cells = answer_cells(body, cols, sm)
    answered = mark_unanswered(cells, excluded, cols.structural)
    live = excluded == None  # noqa: E711
    ctx = RecordContext(decoded, sm, body, cols, table.source_rows, live, quarantine)
    records = check_records(ctx, run.mapping, run.date_order, run.salt, run.now)
    good_record = live & ~records.rejected
    ratings = ratings_table(
        decoded, cells, records, live, good_record, run.salt, cols.long_format, quarantine
    )
    sources = _comment_sources(cols, cells, n)
    variants = {"departments": cells.provider_variants, "dimensions": cells.dimension_variants}
    del cells  # per-cell arrays: released before validation builds its own copies
    comments = _comments(run, body, records, good_record & answered, ratings, sources, quarantine)
    return _result(decoded, fmt, cols, records, ratings, comments, excluded, quarantine, variants)


def _result(
    decoded: DecodedFile,
    fmt: str,
    cols: SurveyColumns,
    records: SurveyRecords,
    ratings: "Ratings | StagedRatings",
    comments_frame: pd.DataFrame,
    excluded: np.ndarray,
    quarantine: Quarantine,
    variants: dict[str, dict[str, list[str]]],
) -> ParseResult:
    """Last steps: pandera over both tables (scored files only), quarantine merged, counts."""
    validation: list[pd.DataFrame] = []
    if not cols.structural:
        ratings_frame, comments_frame, extra = _validate(decoded, ratings.frame, comments_frame)
        validation.append(extra)
    else:
        ratings_frame = _empty_ratings()
        comments_frame = _empty_comments()
    ratings.frame = ratings_frame  # type: ignore[assignment]  # the unvalidated frame is released
    found = quarantine.frame()
    quarantined = merged_quarantine(decoded, found, validation)
    counts, excluded_by_reason = survey_counts(
        records.rows,
        excluded,
        ratings_summary(ratings_frame),
        cols.structural,
        {
            "ratings_not_applicable": ratings.not_applicable,
            "ratings_quarantined": ratings.quarantined,
            "comments": len(comments_frame),
        },
    )
    return ParseResult(
        feed=FEED,
        source_file=str(decoded.path),
        source_sha256=decoded.sha256,
        file_format=fmt,
        encoding=decoded.encoding,
        tables=LazyTables(
            survey_ratings=ratings_frame
            if isinstance(ratings_frame, StagedTable)
            else compact_text_columns(ratings_frame),
            survey_comments=comments_frame,
        ),
        quarantine=quarantined,
        counts=counts,
        excluded_by_reason=excluded_by_reason,
        quarantined_by_reason=quarantined_by_reason(found, quarantined),
        name_variants={group: names for group, names in variants.items() if names},
        columns_mapped=[] if cols.structural else cols.mapped,
        columns_unmapped=cols.columns if cols.structural else cols.unmapped,
        ambiguous_dates=records.ambiguous_count,
    )


FULL_VALIDATION_MAX_ROWS = 200_000  # above: pandera on representative rows (_validate_ratings)
# Wide exports of at most this many answer cells are read in pandas (demo: 0.16 s vs 0.43 s).
STAGE_MIN_CELLS = FULL_VALIDATION_MAX_ROWS
# A response's own fields (not an answer's): the coded cache's responses file holds the same.
_RECORD_FIELDS = set(RESPONSE_FIELDS)


def _validate_staged(
    decoded: DecodedFile, table: StagedTable
) -> tuple["pd.DataFrame | StagedTable", pd.DataFrame]:
    """_validate_ratings over staged ratings: small or failing tables take the pandas rules."""
    from ice_pipeline.ingest.validation import validate_canonical

    if len(table) > FULL_VALIDATION_MAX_ROWS:
        _, bad = validate_canonical("survey_ratings", validation_sample(table), FEED, decoded)
        if not len(bad):
            dtypes = {c: t for c, t in table.dtypes.items() if c in RATING_COLUMNS}
            good = StagedTable(
                table.con, table.relation, RATING_COLUMNS, dtypes, table.stored_in, table.base
            )
            return good, bad
    # A failure found on a representative row is applied to every row sharing it (rare).
    return _validate_ratings(decoded, table.to_frame())


def _validate_ratings(
    decoded: DecodedFile, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pandera over survey_ratings; large frames are validated through representative rows.

    Every column of a rating row is either a property of its response record (period, ids,
    department, date, provenance) or of its answer (column, provider, dimension, value, and the
    score and flags computed from them). Validating the first row of every record plus the first
    row of every distinct answer checks every value that occurs, at the cost of the wide export
    instead of the 25x longer melted table. A failure found there is applied to every row that
    shares the failing record or answer. Key uniqueness is guaranteed before this point (response
    ids and provider-dimension pairs are checked by the reader).
    """
    from ice_pipeline.ingest.validation import validate_canonical

    if len(frame) <= FULL_VALIDATION_MAX_ROWS:
        good, bad = validate_canonical(
            "survey_ratings", text_columns(frame.drop(columns="source_answer")), FEED, decoded
        )
        return good[RATING_COLUMNS].reset_index(drop=True), bad
    groups = frame["source_answer"].to_numpy()
    rows = frame["source_row"].to_numpy()
    _, first_of_record = np.unique(rows, return_index=True)
    _, first_of_answer = np.unique(groups, return_index=True)
    pick = np.union1d(first_of_record, first_of_answer)
    sample = text_columns(frame.iloc[pick].reset_index(drop=True))
    _, bad = validate_canonical("survey_ratings", sample, FEED, decoded)
    source_columns = frame["source_column"]
    # Deleting the helper columns in place keeps the per-column blocks (selecting would copy them).
    good_frame = frame
    del good_frame["source_column"]
    del good_frame["source_answer"]
    if not len(bad):
        return good_frame, bad
    source_columns = source_columns.to_numpy(dtype=object)
    failed = np.zeros(len(frame), dtype=bool)
    extra: list[pd.DataFrame] = []
    sample_rows = sample["source_row"].to_numpy()
    sample_columns = sample["source_column"].to_numpy()
    for source_row, column_name, value, reason in bad[
        ["source_row", "column_name", "value", "reason"]
    ].itertuples(index=False):
        field_match = re.search(r"\(([^()]*)\)$", str(column_name))
        field = field_match.group(1) if field_match else str(column_name)
        if field in _RECORD_FIELDS:
            failed |= rows == source_row
            continue
        source_column = str(column_name)[: field_match.start()].strip() if field_match else None
        hit = np.flatnonzero((sample_rows == source_row) & (sample_columns == source_column))
        if not len(hit):
            failed |= rows == source_row
            continue
        same_answer = groups == groups[pick[hit[0]]]
        others = same_answer & ~failed & (rows != source_row)
        failed |= same_answer
        if others.any():
            extra.append(
                quarantine_frame(
                    FEED,
                    decoded,
                    rows[others],
                    pd.Series(source_columns[others]).astype(str) + f" ({field})",
                    [value] * int(others.sum()),
                    reason,
                )
            )
    # A row pandera already reported keeps its own record (the quarantine key is row + column).
    quarantined = pd.concat([bad, *extra], ignore_index=True).drop_duplicates(
        ["source_row", "column_name"]
    )
    return good_frame.loc[~failed].reset_index(drop=True), quarantined


def _validate(
    decoded: DecodedFile, ratings_frame: "pd.DataFrame | StagedTable", comments_frame: pd.DataFrame
) -> tuple["pd.DataFrame | StagedTable", pd.DataFrame, pd.DataFrame]:
    """Run the pandera models (validation.validate_canonical) over both canonical frames."""
    from ice_pipeline.ingest.validation import validate_canonical

    good_ratings, bad_ratings = (
        _validate_staged(decoded, ratings_frame)
        if isinstance(ratings_frame, StagedTable)
        else _validate_ratings(decoded, ratings_frame)
    )
    good_comments, bad_comments = validate_canonical(
        "survey_comments", comments_frame, FEED, decoded
    )
    bad = [q for q in (bad_ratings, bad_comments) if len(q)]
    return (
        good_ratings,
        good_comments[COMMENT_COLUMNS].reset_index(drop=True),
        pd.concat(bad, ignore_index=True) if bad else empty_quarantine(),
    )


def structural_summary(decoded: DecodedFile, file_format: str | None = None) -> dict[str, Any]:
    """A survey-like export without a mapping: layout, rows, columns, periods."""
    table = read_layout(decoded, file_format, allow_unknown=True)
    summary: dict[str, Any] = {
        "format": table.file_format,
        "header_rows": table.header_rows,
        "rows_read": len(table.body),
        "columns": table.columns,
    }
    date_column = default_column(
        FORMAT_DEFAULTS.get(table.file_format, {}).get("responded_at"), table.columns
    )
    summary["date_column"] = date_column
    if date_column:
        order = FORMAT_DEFAULTS[table.file_format]["date_order"]
        dates = parse_response_dates(table.body[date_column].str.strip(), order)
        summary["periods"] = sorted(period_of(dates.values).dropna().unique().tolist())
        summary["ambiguous_dates"] = int(dates.ambiguous.sum())
    return summary
