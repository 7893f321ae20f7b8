"""The HRIS roster export (BambooHR/Workday-like) and its mapping.

Belongs here: turning the simulated :class:`~ice_pipeline.demo.organisation.Roster` into the one
roster file an HR system exports at the end of the window (everyone employed at any time in the
window, leavers included, so monthly headcount and leavers can be rebuilt).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import DEPARTMENTS, NOT_TERMINATED, Roster, format_times

TERMINATION_TYPE_TEXT = np.array(["", "Voluntary", "Involuntary", "Retirement"], dtype=object)


def _dates(days: np.ndarray) -> np.ndarray:
    stamps = np.where(days == NOT_TERMINATED, np.datetime64("NaT"), days.astype("datetime64[D]"))
    return format_times(stamps, "%Y-%m-%d")


def _email_part(names: np.ndarray) -> np.ndarray:
    """Names as ASCII lower-case letters (Chloé -> chloe, O'Brien -> obrien), per distinct name."""
    distinct, index = np.unique(names.astype(str), return_inverse=True)
    ascii_names = (
        pd.Series(distinct)
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
        .str.lower()
        .str.replace(r"[^a-z]", "", regex=True)
    )
    return ascii_names.to_numpy(dtype=object)[index]


def write_roster(path: Path, roster: Roster) -> int:
    number = pd.Series(roster.employee_id).str[1:].str.lstrip("0")
    terminated = roster.term_day != NOT_TERMINATED
    out = pd.DataFrame(
        {
            "Employee ID": roster.employee_id,
            "First Name": roster.first_name,
            "Last Name": roster.last_name,
            "Work Email": _email_part(roster.first_name)
            + "."
            + _email_part(roster.last_name)
            + number.to_numpy(dtype=object)
            + "@staff.example.com",
            "Department": np.array(DEPARTMENTS, dtype=object)[roster.department],
            "Location": roster.location,
            "Hire Date": _dates(roster.hire_day),
            "Termination Date": _dates(roster.term_day),
            "Termination Type": TERMINATION_TYPE_TEXT[roster.term_type],
            "Employment Status": np.where(terminated, "Terminated", "Active"),
        }
    )
    out.to_csv(path, index=False, lineterminator="\n")
    return len(out)


def hr_mapping() -> dict:
    return {
        "feed": "hr",
        "format": "roster",
        "encoding": "auto",
        "date_order": "YMD",
        "period": "month",
        "snapshot_period_from_filename": r"(\d{4}-\d{2})",
        "columns": {
            "employee_id": "Employee ID",
            "department": "Department",
            "hire_date": "Hire Date",
            "termination_date": "Termination Date",
            "termination_type": "Termination Type",
        },
        "termination_types": {
            "Voluntary": "voluntary",
            "Retirement": "voluntary",
            "Involuntary": "involuntary",
        },
    }
