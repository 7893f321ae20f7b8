r"""HR exports -> canonical ``employees`` rows (one per employee per roster snapshot).

Belongs here: reading HRIS rosters (BambooHR/Workday-like: employee id, department, hire date,
termination date, termination type) and attrition snapshots without dates (the IBM attrition
set: Attrition Yes/No). Only the canonical columns leave this module: names, e-mail addresses,
locations, pay and every other column are dropped, and employee ids are replaced by the salted
pseudonym (the same one ticket_fields.py computes for requesters, so tickets join the roster).
Turnover arithmetic lives in ice_pipeline/index/turnover.py, not here.

Documented rules (docs/mappings.md, HR):

* snapshot_period: mapping ``snapshot_period`` (YYYY-MM), else the first group of
  ``snapshot_period_from_filename`` (default ``(\\d{4}-\\d{2})``) in the file name, else the
  period of the latest hire/termination date in the file; a file giving none is a file problem.
* termination types / statuses are placed by hr_status.py: ``active_values`` (still employed),
  ``voluntary_values``, ``involuntary_values`` and ``termination_types`` (value -> voluntary,
  involuntary, or null/active = still employed), added to defaults (Active, Employed -> still
  employed; Voluntary, Resignation, Resigned, Retirement -> voluntary; Involuntary, Dismissal,
  Terminated, Layoff, Redundancy -> involuntary). Other text is quarantined, not guessed, and
  ``inspect`` lists it with its count and the YAML to add.
* quarantined: termination before hire, unknown termination type, a leaver status without a
  termination date (when the roster has that column), missing department, unparsable dates, a
  repeated employee id (the first row is kept).
"""

import re
from datetime import datetime
from typing import Any

import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import DecodedFile, ParseResult, period_of
from ice_pipeline.ingest.fixed import add_fixed_columns
from ice_pipeline.ingest.hr_status import (
    ACTIVE,
    UnplacedValue,
    place_statuses,
    unplaced_values,
)
from ice_pipeline.ingest.privacy import pseudonymize_per_row
from ice_pipeline.ingest.table_dates import parse_date_column
from ice_pipeline.ingest.table_read import (
    choose_format,
    clean_staged,
    mapping_dict,
    mapping_name,
    resolve_columns,
    stage_table,
    text_map,
    unmapped_columns,
)
from ice_pipeline.ingest.table_result import (
    ExportRows,
    canonical_columns,
    finish_result,
    truthy,
)
from ice_pipeline.ingest.vendors import layouts_of
from ice_pipeline.ingest.vendors.table_detection import default_columns, recognised_format

FEED = "hr"
FORMATS = tuple(layout.format for layout in layouts_of(FEED))
# Default columns per layout (localised aliases included): vendors/hris.py.
DEFAULT_COLUMNS: dict[str, dict[str, list[str]]] = default_columns(FEED)
DEFAULT_PERIOD_IN_FILENAME = r"(\d{4}-\d{2})"
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def detect_hr_format(columns: list[str]) -> str:
    """The HR layout of a header: a registered layout's recogniser (vendors/hris.py)."""
    names = {str(c).strip().lower() for c in columns}
    return recognised_format(FEED, names) or "roster"  # the roster takes every other header


def _snapshot_period(
    decoded: DecodedFile, raw_mapping: dict[str, Any], dates: list[pd.Series]
) -> str:
    fixed = raw_mapping.get("snapshot_period")
    if fixed:
        text = str(fixed)
        if not _PERIOD.match(text):
            raise FileProblem(
                str(decoded.path),
                f"the mapping's snapshot_period {text!r} is not a month",
                fix="write snapshot_period: YYYY-MM",
            )
        return text
    pattern = raw_mapping.get("snapshot_period_from_filename") or DEFAULT_PERIOD_IN_FILENAME
    match = re.search(str(pattern), decoded.path.name)
    if match and _PERIOD.match(match.group(1)):
        return match.group(1)
    latest = max((s.max() for s in dates if s.notna().any()), default=None)
    if latest is not None and not pd.isna(latest):
        return str(period_of(pd.Series([latest])).iloc[0])
    raise FileProblem(
        str(decoded.path),
        "the roster's snapshot period cannot be told (no YYYY-MM in the file name "
        "and no dates in the file)",
        fix="set 'snapshot_period: YYYY-MM' in the mapping, or put the month in the file name",
    )


def read_hr(
    decoded: DecodedFile,
    mapping: Any,
    *,
    file_format: str | None,
    salt: str,
    hr_employees: pd.DataFrame | None,
    now: datetime,
) -> ParseResult:
    """Parse an HR roster or attrition snapshot into canonical ``employees`` rows."""
    del hr_employees, now  # part of the reader contract; a roster needs neither
    raw_mapping = mapping_dict(mapping)
    staged, source_rows, blank_lines = stage_table(decoded, raw_mapping, "employees")
    staged, raw_mapping = add_fixed_columns(decoded, staged, raw_mapping, FEED)
    requested = file_format or raw_mapping.get("format")
    detected = None if requested else detect_hr_format(list(staged.columns))
    chosen = choose_format(decoded, staged.columns, requested, detected, FORMATS, "HR")
    columns = resolve_columns(
        decoded,
        staged,
        raw_mapping,
        DEFAULT_COLUMNS[chosen],
        ("employee_id", "department"),
        mapping_name(mapping),
        "HR export",
    )
    # Only the used columns leave Arrow (names, e-mails and locations never become pandas).
    frame = clean_staged(staged, raw_mapping, columns.values())
    unmapped = unmapped_columns(staged, columns.values())
    del staged
    rows = ExportRows(frame, columns, raw_mapping)
    # In this order on purpose: a cell with several problems joins their reasons in order.
    hire, term, ambiguous = _employment_dates(rows)
    termination_type, unplaced = _termination_types(rows, term)
    attrited = _attrition(rows)
    department = rows.column("department")
    department_map = text_map(raw_mapping, "departments")
    if department_map:
        department = department.map(lambda d: department_map.get(d, d) if d is not None else None)
    pseudonyms = _pseudonyms(rows, salt)
    snapshot = _snapshot_period(decoded, raw_mapping, [hire, term])
    candidate = pd.DataFrame(
        {
            "snapshot_period": snapshot,
            "employee_id": pseudonyms,
            "department": department.astype(object),
            "hire_date": hire.dt.normalize(),
            "termination_date": term.dt.normalize(),
            "termination_type": termination_type.where(termination_type.notna(), None),
            "attrited": attrited,
            "source_file": str(decoded.path),
            "source_sha256": decoded.sha256,
            "source_row": source_rows,
        },
        index=frame.index,
    )[canonical_columns("employees")]
    result = finish_result(
        FEED,
        decoded,
        chosen,
        "employees",
        candidate,
        source_rows,
        rows.problems,
        rows_read=len(frame) + blank_lines,
        excluded_by_reason={"blank line": blank_lines} if blank_lines else {},
        columns_mapped=[f"{role}: {name}" for role, name in columns.items()],
        columns_unmapped=unmapped,
        ambiguous_dates=ambiguous,
    )
    result.unplaced_values = [value.as_dict() for value in unplaced]
    return result


def _employment_dates(rows: ExportRows) -> tuple[pd.Series, pd.Series, int]:
    """(hire dates, termination dates, ambiguous count); unreadable dates are problems."""
    hire, hire_reasons, amb1 = parse_date_column(
        rows.column("hire_date"), rows.raw_mapping, rows.name("hire_date")
    )
    term, term_reasons, amb2 = parse_date_column(
        rows.column("termination_date"), rows.raw_mapping, rows.name("termination_date")
    )
    rows.problems.add(hire_reasons, rows.name("hire_date"), rows.column("hire_date"))
    rows.problems.add(term_reasons, rows.name("termination_date"), rows.column("termination_date"))
    return hire, term, amb1 + amb2


def _termination_types(rows: ExportRows, term: pd.Series) -> tuple[pd.Series, list[UnplacedValue]]:
    """(voluntary / involuntary / None per row, the status values the mapping does not place)."""
    types_raw = rows.column("termination_type")
    type_column = rows.name("termination_type")
    placed = place_statuses(types_raw, rows.raw_mapping)
    unknown = types_raw.notna() & placed.isna()
    rows.problems.add_mask(
        unknown,
        type_column,
        types_raw,
        "termination type '"
        + types_raw.fillna("")
        + "' is not mapped to voluntary or involuntary; "
        "add it to termination_types in the mapping",
    )
    # A status that says the employee left, with no date: turnover cannot place the leaver in
    # a month and would count them as still employed, so the row is quarantined, not guessed.
    if "termination_date" in rows.columns:
        undated = (
            placed.isin(["voluntary", "involuntary"])
            & term.isna()
            & rows.column("termination_date").isna()
        )
        rows.problems.add_mask(
            undated,
            type_column,
            types_raw,
            "status '"
            + types_raw.fillna("")
            + "' says the employee left but the termination date is missing",
        )
    termination_type = placed.where(placed != ACTIVE, None)
    return termination_type, unplaced_values(types_raw, placed, rows.raw_mapping, type_column)


def _attrition(rows: ExportRows) -> pd.Series:
    """The snapshot's Attrition Yes/No as booleans (missing in a roster)."""
    if "attrited" not in rows.columns:
        return pd.Series(pd.NA, index=rows.frame.index, dtype="boolean")
    attrited, reasons = truthy(rows.column("attrited"), rows.columns["attrited"])
    rows.problems.add(reasons, rows.columns["attrited"], rows.column("attrited"))
    return attrited


def _pseudonyms(rows: ExportRows, salt: str) -> pd.Series:
    """Salted pseudonyms of the employee ids; a repeated id is a problem (first row kept)."""
    ids = rows.column("employee_id")
    pseudonyms = pseudonymize_per_row(ids, salt)  # once per distinct id, in one tight loop
    repeated = ids.notna() & ids.duplicated(keep="first")
    rows.problems.add_mask(
        repeated,
        rows.columns["employee_id"],
        pseudonyms,
        "employee id appears more than once in the file (the first row is kept)",
    )
    return pseudonyms
