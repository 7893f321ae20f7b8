"""A hash of each respondent's answers in a period, to tell late, changed and withdrawn answers.

What belongs here: :func:`answer_hashes` on rating rows (pandas) and the pieces that let the
warehouse compute the very same hashes without the rows leaving it (:func:`answer_hash_terms`,
:func:`hash_hex`); the hashes are stored with each published version
(``ice_private.published_respondents``), so they must not change between the two ways or
between releases. What to decide from them lives in :mod:`ice_pipeline.index.versions`.
"""

import numpy as np
import pandas as pd


def _column_hash(values: pd.Series) -> np.ndarray:
    """The stable uint64 hash pandas gives every value, computed once per distinct value."""
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_float_dtype(values):
        return pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)
    codes, uniques = pd.factorize(values, sort=False)
    hashed = pd.util.hash_pandas_object(pd.Series(uniques), index=False).to_numpy(np.uint64)
    return hashed[codes]


# The columns of a rating that its respondent's answers hash covers, mixed in this order.
HASHED_COLUMNS = ("provider_department", "dimension", "consumer_department", "score")
_MIX = 1_000_003
_LOW_32 = 0xFFFFFFFF


def _hash_values(column: str, values: pd.Series) -> np.ndarray:
    if column == "score":
        values = values.astype(float).round(9)
    return _column_hash(values)


def answer_hashes(ratings: pd.DataFrame) -> pd.Series:
    """respondent_id -> a 16-hex hash of all their answers in ``ratings`` (order independent).

    Vectorised (a period holds millions of ratings): each column is hashed once per distinct
    value, the columns are mixed per row, and a respondent's rows are summed modulo 2**64, which
    does not depend on their order (the two 32-bit halves are summed exactly by ``bincount``).
    """
    if ratings.empty:
        return pd.Series(dtype=object, name="answers_hash")
    mixed = np.zeros(len(ratings), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position, column in enumerate(HASHED_COLUMNS, start=1):
            weight = np.uint64(2 * position + 1)
            mixed = mixed * np.uint64(_MIX) + _hash_values(column, ratings[column]) * weight
    codes, respondents = pd.factorize(ratings["respondent_id"], sort=False)
    low = np.bincount(codes, (mixed & np.uint64(_LOW_32)).astype(float), len(respondents))
    high = np.bincount(codes, (mixed >> np.uint64(32)).astype(float), len(respondents))
    return pd.Series(
        hash_hex(low, high),
        index=pd.Index([str(label) for label in respondents]),
        dtype=object,
        name="answers_hash",
    )


def hash_hex(low_sums: np.ndarray, high_sums: np.ndarray) -> list[str]:
    """Respondents' hashes as 16 hex digits from the sums of their rows' 32-bit halves."""
    low = np.asarray(low_sums, dtype=float).astype(np.uint64)
    high = np.asarray(high_sums, dtype=float).astype(np.uint64)
    with np.errstate(over="ignore"):  # exact below 2**21 rows per respondent, then wraps
        sums = (high << np.uint64(32)) + low
    return [format(int(value), "016x") for value in sums]


def answer_hash_terms(column: str, values: pd.Series) -> tuple[list[int], list[int]]:
    """Each value's share of a rating row's hash (:func:`answer_hashes`), as 32-bit halves.

    A row's hash ``((h1*3*M + h2*5)*M + h3*7)*M + h4*9`` (mod 2**64) is a sum of one term per
    column, ``h_i * w_i * M**(4-i)``, and a respondent's hash is the sum of their rows': so the
    warehouse can sum these per-value terms by respondent (low and high halves apart, which keeps
    the sums exact in BIGINT) and :func:`hash_hex` finishes them: the same hashes without the
    rows ever leaving the warehouse.
    """
    position = HASHED_COLUMNS.index(column) + 1
    factor = (2 * position + 1) * pow(_MIX, len(HASHED_COLUMNS) - position, 2**64)
    hashed = _hash_values(column, values.reset_index(drop=True))
    terms = [int(h) * factor % 2**64 for h in hashed]
    return [t & _LOW_32 for t in terms], [t >> 32 for t in terms]
