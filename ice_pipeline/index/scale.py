"""Turning one answer on its original scale into a 0-100 score and a favourable flag.

The ingester calls these to fill ``survey_ratings.score`` and ``survey_ratings.favourable``.
They are vectorised (scalars, numpy arrays and pandas Series all work) and know nothing about
departments or periods. Not-applicable answers never reach them: they are missing at ingest.
"""

from typing import Any

import numpy as np


def _reversal(raw: Any, scale_min: Any, scale_max: Any, reversed_item: Any) -> np.ndarray:
    raw_values = np.asarray(raw, dtype=float)
    low = np.asarray(scale_min, dtype=float)
    high = np.asarray(scale_max, dtype=float)
    flip = np.asarray(reversed_item, dtype=bool)
    # A reversed item mirrors the scale so that a high value always means good service.
    return np.where(flip, low + high - raw_values, raw_values)


def to_score(raw: Any, scale_min: Any, scale_max: Any, reversed_item: Any) -> Any:
    """Score 0-100: ``100 * (x - scale_min) / (scale_max - scale_min)``, reversed items mirrored."""
    effective = _reversal(raw, scale_min, scale_max, reversed_item)
    low = np.asarray(scale_min, dtype=float)
    high = np.asarray(scale_max, dtype=float)
    score = 100.0 * (effective - low) / (high - low)
    return _like(raw, score)


def is_favourable(raw: Any, scale_min: Any, scale_max: Any, reversed_item: Any) -> Any:
    """True for the top two boxes of the original scale after reversal: 4-5 of 1-5, 9-10 of 0-10."""
    effective = _reversal(raw, scale_min, scale_max, reversed_item)
    high = np.asarray(scale_max, dtype=float)
    # The scales are whole-number boxes, so the top two boxes are those within one step of the top.
    favourable = effective >= high - 1.0 - 1e-9
    return _like(raw, favourable)


def _like(template: Any, values: np.ndarray) -> Any:
    """Return values in the container the caller passed (Series keeps its index)."""
    import pandas as pd

    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name)
    if np.ndim(values) == 0:
        return values.item()
    return values
