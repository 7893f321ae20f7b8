"""The ``survey_comments`` table: free-text answers about a provider, over-long ones quarantined.

Belongs here: the comment step of reading a survey. Comment columns (the mapping's comment
rules, or a long file's ``comment`` column) of good records that answered a rating become one
comment per respondent, period and provider; several columns about one provider are joined in
column order. A comment over ``comment_max_chars`` is quarantined, not cut.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import DecodedFile
from ice_pipeline.ingest.survey_quarantine import Quarantine

COMMENT_COLUMNS = [
    "period",
    "respondent_id",
    "provider_department",
    "consumer_department",
    "comment_text",
    "source_file",
    "source_sha256",
    "source_row",
]


def _empty_comments() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COMMENT_COLUMNS})
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame


@dataclass
class CommentInputs:
    """Per record: whether it is kept and answered, its row, period, pseudonym, department."""

    decoded: DecodedFile
    body: pd.DataFrame
    rows: np.ndarray
    keep: np.ndarray  # a good record that answered a rating
    periods: np.ndarray
    pseudonyms: np.ndarray
    departments: np.ndarray
    max_chars: int


def _column_comments(
    src: CommentInputs, column: str, providers: pd.Series, quarantine: Quarantine
) -> pd.DataFrame:
    """The comments of one column; over-long ones quarantined."""
    text = src.body[column]
    has_text = (text != "").to_numpy() & src.keep
    has_text[has_text] = (text[has_text].str.strip() != "").to_numpy()
    too_long = has_text.copy()
    too_long[has_text] = (text[has_text].str.len() > src.max_chars).to_numpy()
    quarantine.add(
        src.rows[too_long],
        column,
        text[too_long].str.slice(0, 200),
        [
            f"comment of {len(t):,} characters is over the {src.max_chars:,}-character limit"
            for t in text[too_long]
        ],
        "comment too long",
    )
    pick = has_text & ~too_long
    return pd.DataFrame(
        {
            "period": src.periods[pick],
            "respondent_id": src.pseudonyms[pick],
            "provider_department": providers.to_numpy(dtype=object)[pick],
            "consumer_department": src.departments[pick],
            "comment_text": text.to_numpy(dtype=object)[pick],
            "source_file": str(src.decoded.path),
            "source_sha256": src.decoded.sha256,
            "source_row": src.rows[pick].astype("int64"),
            "source_column": column,
        }
    )


def comments_table(
    src: CommentInputs, sources: list[tuple[str, pd.Series]], quarantine: Quarantine
) -> pd.DataFrame:
    """Every comment column's comments; one comment per respondent, period and provider."""
    parts = [_column_comments(src, column, providers, quarantine) for column, providers in sources]
    if not parts:
        return _empty_comments().assign(source_column=pd.Series(dtype=object))
    frame = pd.concat(parts, ignore_index=True)
    comment_key = ["period", "respondent_id", "provider_department"]
    if frame.duplicated(comment_key).any():
        # Several comment columns about one provider: one comment, texts joined in column order.
        frame = (
            frame.sort_values("source_row", kind="stable")
            .groupby(comment_key, sort=False, as_index=False)
            .agg(
                {
                    "consumer_department": "first",
                    "comment_text": "\n\n".join,
                    "source_file": "first",
                    "source_sha256": "first",
                    "source_row": "first",
                    "source_column": "first",
                }
            )
        )
    return frame
