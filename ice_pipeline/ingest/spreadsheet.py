"""Excel workbooks (``.xlsx``) read as the CSV text the rest of the ingest already understands.

Belongs here: turning the first sheet of a workbook into delimited text, cell by cell the way
the tool's CSV export writes it (whole numbers without ``.0``, dates as ``YYYY-MM-DD HH:MM:SS``),
so an ``.xlsx`` export gives the same rows as its CSV. The workbook is read with python-calamine
(a Rust reader, much faster than openpyxl and without its object model); it is imported here
only, when a workbook arrives.
"""

import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path

from ice_pipeline.errors import FileProblem

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")


def is_workbook(path: Path, data: bytes) -> bool:
    """An Office Open XML workbook: the right suffix and a zip container."""
    return path.suffix.lower() in SPREADSHEET_SUFFIXES and data.startswith(b"PK\x03\x04")


def _cell_text(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def workbook_text(path: Path, data: bytes) -> str:
    """The first sheet as comma-separated text (quoted as csv writes it, CRLF-free)."""
    try:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as err:  # noqa: BLE001 - calamine raises its own error types per problem
        raise FileProblem(
            str(path),
            f"the workbook cannot be read ({type(err).__name__}: {str(err)[:120]})",
            fix="open it in a spreadsheet tool and save it again as .xlsx, or export CSV instead",
        ) from err
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell_text(cell) for cell in row])
    return buffer.getvalue()
