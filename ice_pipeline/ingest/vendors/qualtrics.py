"""Qualtrics survey exports: the current layout (2016 on) and the legacy V1..Vn layout.

Belongs here: what tells a Qualtrics export apart. The current layout has three header rows:
column ids, question texts, and an ImportId row. Exports since 2018 write that row as JSON
(``{"ImportId":"QID1_1"}``); exports of 2016-2018 wrote it as a Python dict with single quotes
(``{'ImportId': 'QID1_1'}``), sometimes with a time zone (``{'ImportId': 'startDate',
'timeZone': 'America/Denver'}``). Both are the same layout: the same columns (``ResponseId``,
``RecordedDate``, ``Status``, ``Finished``) and the same defaults. The legacy layout (two header
rows, ``V1, V2, ...`` over the labels) is recognised by its first two cells.

"No basis to judge" / "Don't know" answers are often recoded to negative numbers (-1, -2) in
Qualtrics; they are declared per survey with ``not_applicable: [-1, -2]`` in the mapping (a
negative code is a survey designer's choice, not a Qualtrics rule, so it is never assumed).
Also here: the legacy layout's column names, the Status codes and the statuses excluded by
default. Reading the rows is the survey reader's job (survey_read.py and the steps after it).
"""

import re

from ice_pipeline.ingest.vendors.layout import Layout, Records

# '{"ImportId"' (2018 on) or "{'ImportId'" (2016-2018), spaces allowed after the brace.
_IMPORT_ID = re.compile(r"""^\{\s*(?:"ImportId"|'ImportId')\s*:""")


def is_import_id_cell(cell: str) -> bool:
    """True for a cell of the ImportId header row, in either quoting."""
    return bool(_IMPORT_ID.match(cell.strip()))


def is_current_layout(records: list[list[str]]) -> bool:
    """Three header rows, the third an ImportId row (current layout, 2016 on)."""
    return len(records) > 2 and any(is_import_id_cell(c) for c in records[2])


def is_legacy_layout(records: list[list[str]]) -> bool:
    """Two header rows, the first ``V1, V2, ...`` (exports before 2016, and the legacy option)."""
    row1 = [c.strip() for c in records[0]] if records else []
    return len(row1) >= 2 and row1[:2] == ["V1", "V2"]


def fits_current(records: Records, seen: str | None) -> bool:
    """Forced ``qualtrics`` fits only a header with the ImportId row."""
    del seen
    return is_current_layout(records)


def fits_legacy(records: Records, seen: str | None) -> bool:
    """Forced ``qualtrics_legacy`` fits only a header starting V1, V2."""
    del seen
    return is_legacy_layout(records)


def legacy_column_names(records: Records, width: int) -> list[str]:
    """The label under each ``Vn`` id (the id stays where the label is empty or not under Vn)."""
    row1 = records[0] + [""] * (width - len(records[0]))
    row2 = records[1] + [""] * (width - len(records[1]))
    return [
        label if re.fullmatch(r"V\d+", ident.strip()) and label.strip() else ident
        for ident, label in zip(row1, row2, strict=True)
    ]


# Qualtrics writes Status as text in label exports and as a code in numeric exports.
STATUS_NAMES = {
    "0": "IP Address",
    "1": "Survey Preview",
    "2": "Survey Test",
    "4": "Imported",
    "8": "Spam",
    "9": "Survey Preview Spam",
    "12": "Imported Spam",
    "16": "Offline",
}
# The statuses that are not responses, as text and as code. They are the default of every
# layout's ``excluded_status_values`` (a status column is only read where one is named).
DEFAULT_EXCLUDED_STATUS = (
    "Survey Preview",
    "Survey Test",
    "Spam",
    "Survey Preview Spam",
    "Imported Spam",
    "1",
    "2",
    "8",
    "9",
    "12",
)
# Alternative spellings of the default columns (the legacy layout writes ResponseID).
ALIASES = {"ResponseId": ("ResponseID",)}

LAYOUTS = (
    Layout(
        "surveys",
        "qualtrics",
        "qualtrics",
        3,
        'third header row of ImportId cells, {"ImportId":...} (2018 on) or '
        "{'ImportId': ...} (2016-2018)",
        priority=10,
        recognise=is_current_layout,
        fits=fits_current,
        defaults={
            "respondent_id": "ResponseId",
            "responded_at": "RecordedDate",
            "date_order": "YMD",
            "exclude": {"status_column": "Status", "finished_column": "Finished"},
        },
    ),
    Layout(
        "surveys",
        "qualtrics_legacy",
        "qualtrics",
        2,
        "first row V1, V2, ...",
        priority=20,
        recognise=is_legacy_layout,
        fits=fits_legacy,
        column_names=legacy_column_names,
        defaults={
            "respondent_id": "ResponseID",
            "responded_at": "EndDate",
            "date_order": "YMD",
            "exclude": {"status_column": "Status", "finished_column": "Finished"},
        },
    ),
)
