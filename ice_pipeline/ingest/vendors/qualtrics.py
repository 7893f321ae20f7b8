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
Reading the rows is surveys.py's job.
"""

import re

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
