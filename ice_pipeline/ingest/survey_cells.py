"""Survey answers as cells: one per (record, rating column), classified per distinct value.

Belongs here: the step between the resolved columns and the ratings table. A wide export has
one cell per record and rating column; a long file one per row, naming its own provider and
dimension. Each distinct answer is classified once (values.classify_answers: a point of the
scale, not applicable, or rejected with a reason) and the cells take their class by number,
never per cell in Python (an enterprise wave is 100,000 respondents x 25 rating columns).
Provider and dimension spellings are read as one name here (names.py).
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ice_pipeline.ingest.mapping import Scale, SurveyMapping
from ice_pipeline.ingest.names import fold, harmonise_array
from ice_pipeline.ingest.survey_columns import CommentColumn, SurveyColumns
from ice_pipeline.ingest.values import classify_answers


@dataclass
class Cells:
    """Every answer cell (``record``..``state``) and the per-answer properties they index.

    ``item`` indexes ``item_provider``, ``item_dimension`` and ``item_column``: one entry per
    rating column (wide) or per record (long), so cells refer to them by number instead of
    repeating strings per cell (memory at 12.5M cells). Cells sharing an ``answer`` number share
    every per-answer column (survey validation relies on it).
    """

    record: np.ndarray
    raw: np.ndarray
    item: np.ndarray
    scale: np.ndarray  # index into ``scales``
    reversed: np.ndarray
    scales: list[Scale]
    item_provider: np.ndarray
    item_dimension: np.ndarray
    item_column: np.ndarray
    provider_variants: dict[str, list[str]]
    dimension_variants: dict[str, list[str]]
    comments: list[CommentColumn]  # the comment columns, provider names harmonised
    codes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    answer: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    value: np.ndarray = field(default_factory=lambda: np.empty(0))
    state: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int8"))
    reason_table: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=object))


def _long_cells(body: pd.DataFrame, cols: SurveyColumns) -> Cells:
    """A long file: one cell per row, its provider and dimension read from the row."""
    n = len(body)
    lower = cols.lower
    # One display name per spelling (names.py) before answers are compared for repeats.
    item_provider, provider_variants = harmonise_array(
        body[lower["provider"]].str.strip().to_numpy(dtype=object)
    )
    item_dimension, dimension_variants = harmonise_array(
        body[lower["dimension"]].str.strip().to_numpy(dtype=object)
    )
    # Reversed dimensions match whatever spelling the file uses (compared folded).
    folded_reversed = {fold(d) for d in cols.long_reversed}
    reversed_names = [
        d for d in pd.unique(item_dimension) if d is not None and fold(d) in folded_reversed
    ]
    assert cols.long_scale is not None
    return Cells(
        record=np.arange(n, dtype="int64"),
        raw=body[lower["rating"]].to_numpy(dtype=object),
        # Per-answer properties, indexed by item: here one entry per record.
        item=np.arange(n, dtype="int64"),
        scale=np.zeros(n, dtype="int64"),
        reversed=np.isin(item_dimension, reversed_names),
        scales=[cols.long_scale],
        item_provider=item_provider,
        item_dimension=item_dimension,
        item_column=np.full(n, lower["rating"], dtype=object),
        provider_variants=provider_variants,
        dimension_variants=dimension_variants,
        comments=[],
    )


def wide_item_names(
    cols: SurveyColumns,
) -> tuple[list[Scale], dict[int, int], np.ndarray, dict, np.ndarray, dict]:
    """A wide export's rating columns named once, for the pandas and the staged (SQL) paths:
    its distinct scales and each scale's position (by identity), the providers of the rating
    columns then of the comment columns (one display name per spelling, shared), the rating
    columns' dimensions, and the spellings each display name stands for.
    """
    ratings = cols.ratings
    scales = list({id(r.scale): r.scale for r in ratings}.values())
    scale_pos = {id(s): i for i, s in enumerate(scales)}
    # Rating and comment columns share provider names; one display name per spelling.
    named, provider_variants = harmonise_array(
        np.array([r.provider for r in ratings] + [c.provider for c in cols.comments], dtype=object)
    )
    dimensions, dimension_variants = harmonise_array(
        np.array([r.dimension for r in ratings], dtype=object)
    )
    return scales, scale_pos, named, provider_variants, dimensions, dimension_variants


def _wide_cells(body: pd.DataFrame, cols: SurveyColumns) -> Cells:
    """A wide export: one cell per record and rating column, record by record."""
    n = len(body)
    ratings, comments = cols.ratings, cols.comments
    k = len(ratings)
    scales, scale_pos, named, provider_variants, item_dimension, dimension_variants = (
        wide_item_names(cols)
    )
    return Cells(
        record=np.repeat(np.arange(n, dtype="int64"), k),
        raw=(
            body[[r.column for r in ratings]].to_numpy(dtype=object).ravel()
            if k
            else np.empty(0, object)
        ),
        # Per-answer properties, indexed by item: one entry per rating column.
        item=np.tile(np.arange(k, dtype="int64"), n),
        scale=np.tile(np.array([scale_pos[id(r.scale)] for r in ratings], dtype="int64"), n),
        reversed=np.tile(np.array([r.reversed for r in ratings], dtype=bool), n),
        scales=scales,
        item_provider=named[:k],
        item_dimension=item_dimension,
        item_column=np.array([r.column for r in ratings], dtype=object),
        provider_variants=provider_variants,
        dimension_variants=dimension_variants,
        comments=[
            CommentColumn(c.column, str(p)) for c, p in zip(comments, named[k:], strict=True)
        ],
    )


def _classify(cells: Cells, sm: SurveyMapping, long_format: bool, n: int) -> None:
    """Classify each distinct answer once; every cell takes its value and state by number."""
    if not len(cells.raw):
        cells.reason_table = np.empty((len(cells.scales), 0), dtype=object)
        return
    codes, uniques = pd.factorize(cells.raw)
    # Rows sharing an answer number share every per-answer column (used by _validate_ratings).
    if long_format:
        provider_codes = pd.factorize(cells.item_provider)[0]
        dimension_codes = pd.factorize(cells.item_dimension)[0]
        cells.answer = (
            provider_codes.astype("int64") * (dimension_codes.max() + 1) + dimension_codes
        ) * (len(uniques) + 1) + codes
    else:
        k = len(cells.item_column)
        cells.answer = np.tile(np.arange(k, dtype="int64"), n) * (len(uniques) + 1) + codes
    value_table, state_table, cells.reason_table = classify_answers(
        np.asarray(uniques, dtype=object), cells.scales, sm.not_applicable
    )
    cells.codes = codes
    cells.value = value_table[cells.scale, codes]
    cells.state = state_table[cells.scale, codes]


def answer_cells(body: pd.DataFrame, cols: SurveyColumns, sm: SurveyMapping) -> Cells:
    """The answer cells of the export, classified."""
    cells = _long_cells(body, cols) if cols.long_format else _wide_cells(body, cols)
    _classify(cells, sm, cols.long_format, len(body))
    return cells


def mark_unanswered(cells: Cells, excluded: np.ndarray, structural: bool) -> np.ndarray:
    """Which records answered a rating; a scored record that answered none is excluded."""
    answered = np.bincount(cells.record[cells.state >= 2], minlength=len(excluded)) > 0
    if not structural:
        hit = ~answered & (excluded == None)  # noqa: E711
        excluded[hit] = "no rating answered"
    return answered
