"""Small pieces every asset module shares: user errors as Dagster failures, metadata helpers.

Belongs here: turning an :class:`~ice_pipeline.errors.IceError` into a ``dg.Failure`` whose
description is the one-line message, the step timer, and aggregate previews rendered as
Markdown. Nothing here knows about a particular table.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pandas as pd
import sqlalchemy

from ice_pipeline.errors import IceError

GROUP_INGEST = "ingest"
GROUP_INDEX = "index"
GROUP_REPORTS = "reports"


@contextmanager
def user_errors() -> Iterator[None]:
    """Fail the step with the IceError's one-line message (no traceback in the description)."""
    try:
        yield
    except IceError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err


class Timer:
    """Wall time of an asset body, for its ``duration_s`` metadata."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def markdown_table(frame: pd.DataFrame, max_rows: int = 12, decimals: int = 1) -> dg.MetadataValue:
    """An aggregate frame as a Markdown table (callers pass aggregates only, never person rows)."""
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = frame.head(max_rows).copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].round(decimals)
    header = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = [
        "| " + " | ".join("" if pd.isna(v) else str(v).replace("|", "\\|") for v in row) + " |"
        for row in shown.itertuples(index=False)
    ]
    more = [f"\n_{len(frame) - max_rows} more rows_"] if len(frame) > max_rows else []
    return dg.MetadataValue.md("\n".join([header, rule, *body, *more]))


def counts_by(
    frame: pd.DataFrame, column: str, distinct: str | None = None, label: str = "rows"
) -> pd.DataFrame:
    """Row (or distinct ``distinct``) counts per value of ``column``: a safe aggregate preview."""
    if frame.empty or column not in frame.columns:
        return pd.DataFrame({column: [], label: []})
    grouped = frame.groupby(column, dropna=False, observed=True)
    counts = grouped[distinct].nunique() if distinct else grouped.size()
    return counts.rename(label).reset_index().sort_values(column, ignore_index=True)


def advisory_key(*names: str) -> int:
    """The PostgreSQL advisory-lock key (signed 64-bit) for a table partition's writers."""
    digest = hashlib.sha256("\x1f".join(names).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def exclusive_write(engine: sqlalchemy.Engine, *names: str) -> Iterator[None]:
    """Serialise writers of one table partition across processes (PostgreSQL only).

    Two runs launched together (a sensor and the schedule, or a multi-run backfill) both execute
    the unpartitioned ingest assets. A delete-then-insert in READ COMMITTED does not see rows the
    other transaction inserted, so unserialised writers could leave both their rows behind. A
    session-level advisory lock, held on its own connection around the write, makes the second
    writer wait for the first to commit. DuckDB allows one writing process anyway.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    key = advisory_key(*names)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT pg_advisory_lock(%(key)s)", {"key": key})
        try:
            yield
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)", {"key": key})
            connection.commit()
