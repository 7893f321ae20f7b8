"""HR exports: HRIS rosters (BambooHR/Workday-like) and attrition snapshots (IBM attrition set).

Belongs here: the default columns of both HR layouts (matched without regard to case, localised
aliases from languages.py appended) and what tells them apart: a snapshot has an Attrition
(Yes/No) column and no hire date; every other HR header is read as a roster. Reading the rows,
statuses and snapshot periods is hr.py's and hr_status.py's.
"""

from ice_pipeline.ingest.languages import with_aliases

COLUMNS = with_aliases(
    {
        "roster": {
            "employee_id": [
                "employee id",
                "employee_id",
                "employee number",
                "employee #",
                "employeenumber",
                "worker id",
                "employee_number",
            ],
            "department": ["department", "dept", "supervisory organization", "department name"],
            "hire_date": ["hire date", "hire_date", "original hire date", "start date", "hired"],
            "termination_date": [
                "termination date",
                "termination_date",
                "term date",
                "termination",
            ],
            "termination_type": [
                "termination type",
                "termination_type",
                "termination category",
                "term type",
                "employment status",
                "employmentstatus",
                "employee status",
            ],
        },
        "snapshot": {
            "employee_id": ["employeenumber", "employee number", "employee id", "employee_id"],
            "department": ["department", "dept"],
            "attrited": ["attrition", "attrited", "left"],
        },
    },
    "hr",
)


def is_snapshot(names: set[str]) -> bool:
    """An attrition column and no hire-date column (the IBM attrition set)."""
    has_dates = bool(names & set(COLUMNS["roster"]["hire_date"]))
    has_attrition = bool(names & set(COLUMNS["snapshot"]["attrited"]))
    return has_attrition and not has_dates


def is_roster(names: set[str]) -> bool:
    """Every HR header that is not a snapshot (the roster is the default HR layout)."""
    return not is_snapshot(names)


RECOGNISERS = {"roster": is_roster, "snapshot": is_snapshot}
