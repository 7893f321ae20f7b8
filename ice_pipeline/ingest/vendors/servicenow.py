"""ServiceNow ticket exports: the incident list export and the audit event log.

Belongs here: what tells the two ServiceNow layouts apart, their default columns (matched
without regard to case; localised aliases from languages.py are appended), ServiceNow's
priority words ("1 - Critical" ... "5 - Planning"; a leading digit wins anyway), and
``collapse_audit``, which turns an event log (one row per update, ``sys_mod_count`` counting
the updates) into one row per ticket at its latest state. Reading the rows and the KPIs are
tickets.py's and ticket_fields.py's.
"""

from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.languages import with_aliases

LIST_COLUMNS: dict[str, list[str]] = {
    "ticket_id": ["number"],
    "opened_at": ["opened_at", "opened"],
    "resolved_at": ["resolved_at", "resolved"],
    "assignment_group": ["assignment_group", "assignment group"],
    "requester": ["caller_id", "caller"],
    "priority": ["priority"],
    "sla_met": ["made_sla", "made sla"],
    "reopen_count": ["reopen_count", "reopen count"],
    "first_assignee": ["assigned_to", "assigned to"],
    "resolved_by": ["resolved_by", "resolved by"],
    "reassignment_count": ["reassignment_count", "reassignment count"],
    "satisfaction": ["u_satisfaction", "satisfaction"],
}
COLUMNS = with_aliases(
    {
        "servicenow": LIST_COLUMNS,
        "servicenow_audit": {
            **LIST_COLUMNS,
            "mod_count": ["sys_mod_count"],
            "updated_at": ["sys_updated_at"],
        },
    },
    "tickets",
)
PRIORITY_VALUES = {"critical": 1, "high": 2, "moderate": 3, "low": 4, "planning": 5}
_LIST_MARKERS = {"assignment_group", "assignment group", "opened_at", "opened"}


def is_audit_log(names: set[str]) -> bool:
    """An event log: the ticket number and the update counter ``sys_mod_count``."""
    return "number" in names and "sys_mod_count" in names


def is_list_export(names: set[str]) -> bool:
    """A list export: the number with an assignment group or opened date, no update counter."""
    return "number" in names and bool(names & _LIST_MARKERS) and not is_audit_log(names)


RECOGNISERS = {"servicenow": is_list_export, "servicenow_audit": is_audit_log}


def collapse_audit(
    frame: pd.DataFrame,
    source_rows: pd.Series,
    columns: dict[str, str],
    raw_mapping: dict[str, Any],
) -> tuple[pd.DataFrame, pd.Series, pd.Series, int]:
    """One row per ticket at its latest state; also each ticket's first non-missing assignee.

    Events are ordered by ``sys_mod_count`` then ``sys_updated_at`` then file order.
    Returns (latest rows, their first assignee, superseded event count, ambiguous dates).
    """
    from ice_pipeline.ingest.table_dates import parse_date_column

    ticket = frame[columns["ticket_id"]]
    mod = (
        pd.to_numeric(frame[columns["mod_count"]], errors="coerce")
        if "mod_count" in columns
        else pd.Series(np.nan, index=frame.index)
    )
    ambiguous = 0
    if "updated_at" in columns:
        updated, _, ambiguous = parse_date_column(
            frame[columns["updated_at"]], raw_mapping, columns["updated_at"]
        )
    else:
        updated = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    order = pd.DataFrame({"ticket": ticket, "mod": mod, "updated": updated, "row": source_rows})
    order = order.sort_values(
        ["ticket", "mod", "updated", "row"], na_position="first", kind="mergesort"
    )
    first_assignee = pd.Series(dtype=object)
    if "first_assignee" in columns:
        assignees = frame[columns["first_assignee"]].reindex(order.index)
        seen = pd.DataFrame({"ticket": order["ticket"], "assignee": assignees}).dropna()
        first_assignee = seen.groupby("ticket", sort=False)["assignee"].first()
    latest_index = order.dropna(subset=["ticket"]).groupby("ticket", sort=False).tail(1).index
    # Events without a ticket number stay as rows so the ticket_id check quarantines them.
    keep = latest_index.union(order.index[order["ticket"].isna()])
    latest = frame.loc[keep].sort_index()
    superseded = len(frame) - len(latest)
    return latest, latest[columns["ticket_id"]].map(first_assignee), superseded, ambiguous
