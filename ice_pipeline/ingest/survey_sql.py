"""The rating cells of a staged wide survey export as SQL (issue 13, item 1).

Belongs here: the wide -> long unpivot of the rating columns of the staged body (survey_stage.py),
the classification of the answers (each DISTINCT answer classified once by the Python classifier,
values.classify_answers, and handed to SQL as a small lookup table with its score), which records
answered, the not-applicable count, the quarantine rows of rejected answers (from the failing
cells only), and the ratings table with repeated ratings quarantined. Every reason is written by
the same Python code as before staging (per distinct value), so messages stay byte-identical.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.ingest.common import DecodedFile
from ice_pipeline.ingest.mapping import Scale, SurveyMapping
from ice_pipeline.ingest.survey_cells import wide_item_names
from ice_pipeline.ingest.survey_columns import CommentColumn, SurveyColumns
from ice_pipeline.ingest.survey_quarantine import Quarantine
from ice_pipeline.ingest.survey_ratings import RATING_COLUMNS
from ice_pipeline.ingest.survey_stage import StagedSurvey, StagedTable
from ice_pipeline.ingest.values import REJECTED_KINDS, classify_answers

VALID, NOT_APPLICABLE = 2, 1


@dataclass
class WideItems:
    """The rating columns (items) of a wide export and the answer lookup."""

    provider_variants: dict[str, list[str]]
    dimension_variants: dict[str, list[str]]
    comments: list[CommentColumn]
    duplicate_pairs: bool
    count: int  # rating columns


def _items(staged: StagedSurvey, cols: SurveyColumns) -> tuple[WideItems, list[Scale]]:
    """Table ``items``: one row per rating column with its provider, dimension and scale."""
    ratings, comments = cols.ratings, cols.comments
    k = len(ratings)
    scales, scale_pos, named, provider_variants, dimensions, dimension_variants = wide_item_names(
        cols
    )
    items = pd.DataFrame(
        {
            "item": np.arange(k, dtype="int64"),
            "column_name": [r.column for r in ratings],
            "provider": pd.Series(named[:k], dtype=object),
            "dimension": pd.Series(dimensions, dtype=object),
            "scale": [scale_pos[id(r.scale)] for r in ratings],
            "reversed": [bool(r.reversed) for r in ratings],
            "scale_min": [float(r.scale.scale_min) for r in ratings],
            "scale_max": [float(r.scale.scale_max) for r in ratings],
        }
    )
    staged.con.register("items_frame", items)
    staged.con.execute("CREATE TABLE items AS SELECT * FROM items_frame")
    staged.con.unregister("items_frame")
    union = " UNION ALL ".join(
        f"SELECT _rec AS rec, CAST({i} AS BIGINT) AS item, {staged.sql_names[r.column]} AS raw "
        "FROM body"
        for i, r in enumerate(ratings)
    )
    staged.con.execute(
        f"CREATE VIEW cells AS {union or 'SELECT 0 AS rec, 0 AS item, NULL AS raw WHERE FALSE'}"
    )
    pairs = list(zip(named[:k], dimensions, strict=True))
    wide = WideItems(
        provider_variants,
        dimension_variants,
        [CommentColumn(c.column, str(p)) for c, p in zip(comments, named[k:], strict=True)],
        len(set(pairs)) < len(pairs),
        k,
    )
    return wide, scales


def _answers(staged: StagedSurvey, scales: list[Scale], sm: SurveyMapping) -> None:
    """Table ``answers``: per scale x distinct answer its value, state, reason, kind and scores."""
    con = staged.con
    uniques = np.asarray(
        [r[0] for r in con.execute("SELECT DISTINCT raw FROM cells").fetchall()], dtype=object
    )
    values, states, reasons = classify_answers(uniques, scales, sm.not_applicable)
    parts = []
    for s, scale in enumerate(scales):
        value = values[s]
        kinds = np.full(
            len(uniques), "unknown rating label" if scale.labels else "rating not a number", object
        )
        for state, kind in REJECTED_KINDS.items():
            kinds[states[s] == state] = kind
        low = np.full(len(uniques), float(scale.scale_min))
        high = np.full(len(uniques), float(scale.scale_max))
        scored = {}
        for flag, name in ((False, ""), (True, "_r")):
            rev = np.full(len(uniques), flag)
            scored[f"score{name}"] = np.asarray(to_score(value, low, high, rev), dtype="float64")
            scored[f"fav{name}"] = np.asarray(is_favourable(value, low, high, rev), dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "scale": s,
                    "raw": pd.Series(uniques, dtype=object),
                    "code": np.arange(len(uniques), dtype="int64"),
                    "value": value,
                    "state": states[s].astype("int64"),
                    "reason": pd.Series(reasons[s], dtype=object),
                    "kind": pd.Series(kinds, dtype=object),
                    **scored,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not len(frame):
        frame = pd.DataFrame({"scale": [0], "raw": [""], "code": [0], "value": [np.nan]})
        frame = frame.assign(state=0, reason=None, kind=None, score=np.nan, fav=False)
        frame = frame.assign(score_r=np.nan, fav_r=False).iloc[:0]
    con.register("answers_frame", frame)
    con.execute("CREATE TABLE answers AS SELECT * FROM answers_frame")
    con.unregister("answers_frame")
    con.execute(
        "CREATE VIEW classified AS SELECT c.rec, c.item, c.raw, a.code, a.state, a.value, "
        "a.reason, a.kind, i.column_name, i.provider, i.dimension, i.scale_min, i.scale_max, "
        "i.reversed, CASE WHEN i.reversed THEN a.score_r ELSE a.score END AS score, "
        "CASE WHEN i.reversed THEN a.fav_r ELSE a.fav END AS favourable "
        "FROM cells c JOIN items i USING (item) JOIN answers a ON a.scale = i.scale "
        "AND a.raw = c.raw"
    )


def classify_wide(
    staged: StagedSurvey, cols: SurveyColumns, sm: SurveyMapping
) -> tuple[WideItems, np.ndarray]:
    """Stage the items and answers; which records answered a rating (state >= VALID)."""
    wide, scales = _items(staged, cols)
    _answers(staged, scales, sm)
    answered = np.zeros(staged.n, dtype=bool)
    recs = staged.con.execute(
        f"SELECT DISTINCT rec FROM classified WHERE state >= {VALID}"
    ).fetchnumpy()["rec"]
    answered[np.asarray(recs, dtype="int64")] = True
    return wide, answered


def register_records(staged: StagedSurvey, records: pd.DataFrame) -> None:
    """Table ``recs``: per record (``rec``) whether it is live and good, and its values."""
    staged.con.register("recs_frame", records)
    staged.con.execute("CREATE TABLE recs AS SELECT * FROM recs_frame")
    staged.con.unregister("recs_frame")


def not_applicable_count(staged: StagedSurvey) -> int:
    row = staged.con.execute(
        "SELECT count(*) FROM classified c JOIN recs r USING (rec) "
        f"WHERE c.state = {NOT_APPLICABLE} AND r.live"
    ).fetchone()
    return int(row[0]) if row else 0


def quarantine_invalid(staged: StagedSurvey, quarantine: Quarantine) -> int:
    """Rejected answers of good records, one quarantine part per reason kind (sorted)."""
    bad = staged.con.execute(
        "SELECT r.source_row, c.column_name, c.raw, c.reason, c.kind FROM classified c "
        f"JOIN recs r USING (rec) WHERE r.good AND c.state > {VALID} ORDER BY c.rec, c.item"
    ).df()
    for kind in sorted(bad["kind"].unique()):
        part = bad[bad["kind"] == kind]
        quarantine.add(
            part["source_row"].to_numpy(),
            part["column_name"].to_numpy(dtype=object),
            part["raw"].to_numpy(dtype=object),
            part["reason"].to_numpy(dtype=object),
            str(kind),
        )
    return len(bad)


def build_ratings(decoded: DecodedFile, staged: StagedSurvey, items: int) -> None:
    """Table ``kept`` (one narrow row per kept answer) and the view ``ratings`` over it.

    Text columns are never stored per rating: the view takes them from the per-record table
    (``recs``), the per-column table (``items``) and the answer lookup (``answers``), so the
    long table is four integers a row (2.9M-15M rows: memory). ``_ord`` orders the rows by
    record, then column (computed, not a window: no sort of the long table).
    """
    con = staged.con
    con.execute(
        "CREATE TABLE source AS SELECT ? AS source_file, ? AS source_sha256",
        [str(decoded.path), decoded.sha256],
    )
    # Narrow integer types and a computed _ord: ~10 bytes a kept answer (20M at 200 MB).
    con.execute(
        "CREATE TABLE kept (rec INTEGER, item SMALLINT, code INTEGER, "
        f"_ord BIGINT AS (CAST(rec AS BIGINT) * {max(items, 1)} + item))"
    )
    con.execute(
        "INSERT INTO kept SELECT c.rec, c.item, c.code FROM classified c JOIN recs r "
        f"USING (rec) WHERE r.good AND c.state = {VALID} ORDER BY c.rec, c.item"
    )
    con.execute(
        "CREATE VIEW ratings AS SELECT r.period, r.respondent_id, "
        "i.provider AS provider_department, i.dimension, r.consumer_department, "
        "a.value AS rating_raw, i.scale_min, i.scale_max, i.reversed, "
        "CASE WHEN i.reversed THEN a.score_r ELSE a.score END AS score, "
        "CASE WHEN i.reversed THEN a.fav_r ELSE a.fav END AS favourable, "
        "r.responded_at, s.source_file, s.source_sha256, r.source_row, "
        "i.column_name AS source_column, k.item * 1000000000::BIGINT + k.code AS source_answer, "
        "a.raw AS _raw, k._ord FROM kept k JOIN recs r USING (rec) JOIN items i USING (item) "
        "JOIN answers a ON a.scale = i.scale AND a.code = k.code CROSS JOIN source s"
    )


def drop_repeats(staged: StagedSurvey, quarantine: Quarantine) -> None:
    """The same provider and dimension twice for one respondent and period: the first is kept."""
    con = staged.con
    con.execute(
        "CREATE TABLE repeats AS SELECT * FROM (SELECT _ord, source_row, source_column, _raw, "
        "provider_department, dimension, period, row_number() OVER w AS n, "
        "min(source_row) OVER w AS first_row FROM ratings WINDOW w AS (PARTITION BY period, "
        "respondent_id, provider_department, dimension ORDER BY _ord)) WHERE n > 1"
    )
    dup = con.execute("SELECT * FROM repeats ORDER BY _ord").df()
    if not len(dup):
        return
    quarantine.add(
        dup["source_row"].to_numpy(),
        dup["source_column"].to_numpy(dtype=object),
        dup["_raw"].to_numpy(dtype=object),
        [
            f"second rating of {p} on {d} by the same respondent in {per} (first seen on row {f})"
            for p, d, per, f in zip(
                dup["provider_department"].astype(object),
                dup["dimension"].astype(object),
                dup["period"].astype(object).where(dup["period"].notna(), None),
                dup["first_row"],
                strict=True,
            )
        ],
        "duplicate rating",
    )
    con.execute("DELETE FROM kept WHERE _ord IN (SELECT _ord FROM repeats)")


RATING_DTYPES = {
    "period": object,
    "respondent_id": object,
    "provider_department": object,
    "dimension": object,
    "consumer_department": object,
    "rating_raw": "float64",
    "scale_min": "float64",
    "scale_max": "float64",
    "reversed": bool,
    "score": "float64",
    "favourable": bool,
    "responded_at": "datetime64[ns]",
    "source_file": object,
    "source_sha256": object,
    "source_row": "int64",
}


def staged_ratings(staged: StagedSurvey, helpers: bool = False) -> StagedTable:
    """The ratings table as a StagedTable (with source_column/source_answer if ``helpers``)."""
    columns = list(RATING_COLUMNS)
    dtypes: dict[str, object] = dict(RATING_DTYPES)
    if helpers:
        columns += ["source_column", "source_answer"]
        dtypes.update(source_column=object, source_answer="int64")
    stored_in = {
        "provider_department": ("items", "provider", "item"),
        "dimension": ("items", "dimension", "item"),
        **{c: ("recs", c, "rec") for c in RECORD_COLUMNS},
    }
    return StagedTable(staged.con, "ratings", columns, dtypes, stored_in, "kept")


RECORD_COLUMNS = ("period", "respondent_id", "consumer_department", "responded_at", "source_row")
