"""Settings for exports that lack something: a fixed value for a missing column, rows to skip.

Belongs here: ``*_fixed`` keys (one value for a canonical column the export does not have:
``business_unit_fixed`` for external files, ``department_fixed`` for HR rosters, beside the
surveys' ``consumer_department_fixed`` and the tickets' ``provider_department``), and
``skip_rows`` / ``header_rows`` (lines before the header, and header rows after the first, of a
layout detection does not know). Readers call these right after reading the table, so the
column resolution and row accounting that follow see an ordinary column.
"""

from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import DecodedFile

# A pandas frame or a staged table (table_stage.StagedTable): both take constant columns by assign.
Framed = TypeVar("Framed")

# feed -> canonical column -> the mapping key that gives it one value for the whole file.
FIXED_KEYS: dict[str, dict[str, str]] = {
    "external": {"business_unit": "business_unit_fixed"},
    "hr": {"department": "department_fixed"},
}


def fixed_column_name(role: str) -> str:
    """The name the fixed column gets in the table (shown in ``columns_mapped``)."""
    return f"({role} fixed by the mapping)"


def add_fixed_columns(
    decoded: DecodedFile, frame: Framed, raw_mapping: dict[str, Any], feed: str
) -> tuple[Framed, dict[str, Any]]:
    """The frame with one constant column per ``*_fixed`` key, and the mapping naming it.

    A mapping that both fixes a column and maps it (``columns: {business_unit: X}``) is refused:
    which one wins would be a guess.
    """
    fixed = {
        role: raw_mapping[key]
        for role, key in FIXED_KEYS.get(feed, {}).items()
        if raw_mapping.get(key) not in (None, "")
    }
    if not fixed:
        return frame, raw_mapping
    columns = dict(raw_mapping.get("columns") or {})
    for role, value in fixed.items():
        key = FIXED_KEYS[feed][role]
        if role in columns:
            raise FileProblem(
                str(decoded.path),
                f"the mapping both fixes {role} ({key}: {value!r}) and maps it to the column "
                f"{columns[role]!r}",
                fix=f"keep one: remove '{key}' or 'columns.{role}'",
            )
        name = fixed_column_name(role)
        frame = frame.assign(**{name: str(value)})  # type: ignore[attr-defined]
        columns[role] = name
    return frame, {**raw_mapping, "columns": columns}


def _count(raw_mapping: dict[str, Any], key: str, minimum: int) -> int:
    value = raw_mapping.get(key)
    return minimum if value is None else int(value)


def skip_leading_lines(
    decoded: DecodedFile, raw_mapping: dict[str, Any]
) -> tuple[DecodedFile, int]:
    """The file without its first ``skip_rows`` lines (report titles above the header).

    Returns the number skipped, which readers add to their source row numbers so quarantine
    rows still name the line a person sees in the file.
    """
    skip = _count(raw_mapping, "skip_rows", 0)
    if skip <= 0:
        return decoded, 0
    text = decoded.text
    position = 0
    for _ in range(skip):
        newline = text.find("\n", position)
        if newline < 0:
            raise FileProblem(
                str(decoded.path),
                f"the mapping skips {skip} rows but the file has fewer lines",
                fix="lower skip_rows in the mapping to the number of lines above the header",
            )
        position = newline + 1
    return replace(decoded, text=text[position:]), skip


@dataclass(frozen=True)
class ExtraHeader:
    """How many records after the first header row are header too (``header_rows`` - 1)."""

    rows: int

    @classmethod
    def of(cls, raw_mapping: dict[str, Any]) -> "ExtraHeader":
        return cls(max(_count(raw_mapping, "header_rows", 1) - 1, 0))

    def drop(self, body: pd.DataFrame, source_rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Body and source rows without the extra header records (row numbers stay physical)."""
        if self.rows == 0:
            return body, source_rows
        return body.iloc[self.rows :].reset_index(drop=True), source_rows[self.rows :]


def shift_table(table: Any, skipped: int, extra: ExtraHeader) -> Any:
    """A survey table (surveys.SurveyTable) after ``skip_rows`` and ``header_rows``."""
    if skipped == 0 and extra.rows == 0:
        return table
    body, source_rows = extra.drop(table.body, table.source_rows)
    return replace(
        table,
        body=body,
        source_rows=source_rows + skipped,
        header_rows=table.header_rows + extra.rows,
    )
