"""Small pieces every asset module shares: user errors as Dagster failures, metadata helpers.

Belongs here: turning an :class:`~ice_pipeline.errors.IceError` into a ``dg.Failure`` whose
description is the one-line message, the step timer, and aggregate previews as Dagster table
metadata. Nothing here knows about a particular table.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
import sqlalchemy

from ice_pipeline.errors import IceError

if TYPE_CHECKING:
    import pandas as pd

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
    """Wall time of an asset body, for its ``duration_s`` metadata.

    Only the ingest assets still use it; the others rely on Dagster's own step timing (the run's
    step events and the UI's timeline), which measures the same thing.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def _cell(value: Any, decimals: int) -> str | int | float | bool | None:
    """A frame value as a TableRecord accepts it (plain Python scalars, None for missing)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, int):
        return value
    return str(value)


def _column_type(series: "pd.Series") -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "string"


def table_preview(frame: "pd.DataFrame", max_rows: int = 12, decimals: int = 1) -> dg.MetadataValue:
    """An aggregate frame as a Dagster table preview (callers pass aggregates, never person rows).

    The first ``max_rows`` rows, with a typed column schema; the UI shows it as a table.
    """
    shown = frame.head(max_rows)
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {str(c): _cell(v, decimals) for c, v in zip(shown.columns, row, strict=True)}
            )
            for row in shown.itertuples(index=False)
        ],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(str(c), _column_type(shown[c])) for c in shown.columns]
        ),
    )


# The previews used to be Markdown; the name stays for the asset modules not yet renamed.
markdown_table = table_preview


def counts_by(
    frame: "pd.DataFrame", column: str, distinct: str | None = None, label: str = "rows"
) -> "pd.DataFrame":
    """Row (or distinct ``distinct``) counts per value of ``column``: a safe aggregate preview."""
    import pandas as pd

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
