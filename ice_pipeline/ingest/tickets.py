"""Helpdesk ticket exports -> canonical ``tickets`` rows (one per ticket at its latest state).

Belongs here: reading ServiceNow list exports, ServiceNow audit event logs (one row per update,
collapsed per ticket), Jira CSV, Zendesk CSV and a generic CSV: ``read_tickets`` and
``detect_ticket_format``. What tells the layouts apart and their default columns live in the
vendor modules (ingest/vendors/servicenow.py, jira.py, zendesk.py, generic_tickets.py, listed in
the registry ingest/vendors/__init__.py); the field and KPI rules in ticket_fields.py; the table
machinery shared with hr.py and external.py in table_read.py, table_dates.py and
table_result.py. This module re-exports their names that other modules imported from here.

Documented rules (docs/mappings.md, Tickets):

* priority: a leading digit wins ("3 - Moderate" -> 3); else the text through ``priority_values``
  (default: Critical/Highest/Urgent/Blocker 1, High 2, Medium/Moderate/Normal 3, Low/Minor 4,
  Lowest/Trivial/Planning 5). Unknown text is quarantined, not guessed.
* satisfaction: numbers are kept (1-5); Zendesk ``good`` -> 5, ``bad`` -> 1, ``offered`` and
  ``unoffered`` (no answer) -> missing.
* sla_met: the SLA column (TRUE/FALSE) when mapped, else ``sla_hours`` per priority against the
  resolution time; otherwise missing.
* reopened: ``reopen_count`` > 0 (or a true/false column).
* first_assignee_resolved, rule ``first_assignee_rule``: ``resolved_by`` (default: the resolver is
  the first assignee seen: in an audit log the first non-missing ``assigned_to`` in update order,
  in a list export the ``assigned_to`` column), ``last_assignee`` (the assignee at the latest state
  is still the first one; for logs such as the UCI ServiceNow log whose ``resolved_by`` ids use a
  different namespace than ``assigned_to``), or ``reassignment_count`` (no reassignment).
  Missing while the ticket is unresolved or the people are unknown.
* audit logs: events are ordered by ``sys_mod_count`` then ``sys_updated_at`` then file order;
  the last event is the ticket's state; earlier events are counted as excluded
  ("superseded audit event").
* consumer department: ``requester_departments`` (raw requester id -> department), else with
  ``requester_departments_from_hr: true`` the requester id pseudonymised with the same salt and
  looked up in the HR roster (latest snapshot); unmatched requesters leave it missing (the
  expectations suite warns about the null rate). Requester ids are never stored.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from ice_pipeline.ingest.common import DecodedFile, ParseResult
from ice_pipeline.ingest.languages import layout_from_aliases
from ice_pipeline.ingest.table_dates import future_reasons, parse_date_column, period_per_row
from ice_pipeline.ingest.table_read import (
    DEFAULT_MISSING,
    PERSON_COLUMNS,
    choose_format,
    clean_missing,
    clean_staged,
    mapping_dict,
    mapping_name,
    read_table,
    resolve_columns,
    stage_table,
    text_map,
    unmapped_columns,
)
from ice_pipeline.ingest.table_result import (
    ExportRows,
    RowProblems,
    canonical_columns,
    finish_result,
    truthy,
    validate_canonical,
)
from ice_pipeline.ingest.ticket_fields import (
    DEFAULT_PRIORITY_VALUES,
    DEFAULT_SATISFACTION_VALUES,
    consumer_departments,
    first_assignee_resolved,
    parse_priority,
    parse_satisfaction,
    provider_departments,
    reopened_flags,
    sla_met,
    ticket_dates,
    ticket_priority,
    ticket_satisfaction,
)
from ice_pipeline.ingest.vendors import layouts_of, servicenow
from ice_pipeline.ingest.vendors.table_detection import default_columns, recognised_format

__all__ = [  # the names other modules and tests import from here
    "DEFAULT_COLUMNS",
    "DEFAULT_MISSING",
    "DEFAULT_PRIORITY_VALUES",
    "DEFAULT_SATISFACTION_VALUES",
    "FEED",
    "FORMATS",
    "PERSON_COLUMNS",
    "REQUIRED_ROLES",
    "RowProblems",
    "canonical_columns",
    "choose_format",
    "clean_missing",
    "detect_ticket_format",
    "finish_result",
    "future_reasons",
    "mapping_dict",
    "mapping_name",
    "parse_date_column",
    "parse_priority",
    "parse_satisfaction",
    "read_table",
    "read_tickets",
    "resolve_columns",
    "text_map",
    "truthy",
    "unmapped_columns",
    "validate_canonical",
]

FEED = "tickets"
FORMATS = tuple(layout.format for layout in layouts_of(FEED))
# Export columns each format usually has, per canonical role (matched without regard to case;
# localised header names from languages.py included): the vendor modules' lists.
DEFAULT_COLUMNS: dict[str, dict[str, list[str]]] = default_columns(FEED)
REQUIRED_ROLES = ("ticket_id", "opened_at")


def detect_ticket_format(columns: Iterable[str]) -> str | None:
    """The ticket export format from its header, or None when it cannot be told.

    Each registered ticket layout's vendor module is asked in registry order; a header none
    recognises may be a localised export (languages.py).
    """
    names = {str(c).strip().lower() for c in columns}
    found = recognised_format(FEED, names)
    if found is not None:
        return found
    return layout_from_aliases("tickets", list(columns))  # a localised export (languages.py)


def read_tickets(
    decoded: DecodedFile,
    mapping: Any,
    *,
    file_format: str | None,
    salt: str,
    hr_employees: pd.DataFrame | None,
    now: datetime,
) -> ParseResult:
    """Parse a ticket export into canonical ``tickets`` rows and quarantine rows."""
    raw_mapping = mapping_dict(mapping)
    staged, source_rows, blank_lines = stage_table(decoded, raw_mapping, "tickets")
    requested = file_format or raw_mapping.get("format")
    detected = None if requested else detect_ticket_format(staged.columns)
    chosen = choose_format(
        decoded, staged.columns, requested, detected, FORMATS, "ticket", "ticket export"
    )
    required = [
        *REQUIRED_ROLES,
        *([] if raw_mapping.get("provider_department") else ["assignment_group"]),
    ]
    columns = resolve_columns(
        decoded,
        staged,
        raw_mapping,
        DEFAULT_COLUMNS[chosen],
        required,
        mapping_name(mapping),
        "ticket export",
    )
    # Only the used columns leave Arrow (free-text descriptions and names never become pandas).
    frame = clean_staged(staged, raw_mapping, columns.values())
    unmapped = unmapped_columns(staged, set(columns.values()))
    del staged
    rows_read = len(frame) + blank_lines
    excluded: dict[str, int] = {"blank line": blank_lines} if blank_lines else {}

    first_assignee_seen: pd.Series | None = None
    ambiguous = 0
    if chosen == "servicenow_audit":
        frame, first_assignee_seen, superseded, ambiguous = servicenow.collapse_audit(
            frame, source_rows, columns, raw_mapping
        )
        source_rows = source_rows.loc[frame.index]
        if superseded:
            excluded["superseded audit event (collapsed into the ticket's latest state)"] = (
                superseded
            )
    tickets = ExportRows(frame, columns, raw_mapping)
    candidate, dates_ambiguous = _candidate(
        tickets, decoded, source_rows, first_assignee_seen, salt, hr_employees, now
    )
    return finish_result(
        FEED,
        decoded,
        chosen,
        "tickets",
        candidate,
        source_rows,
        tickets.problems,
        rows_read=rows_read,
        excluded_by_reason=excluded,
        columns_mapped=[f"{role}: {name}" for role, name in columns.items()],
        columns_unmapped=unmapped,
        ambiguous_dates=ambiguous + dates_ambiguous,
    )


def _candidate(
    tickets: ExportRows,
    decoded: DecodedFile,
    source_rows: pd.Series,
    first_assignee_seen: pd.Series | None,
    salt: str,
    hr_employees: pd.DataFrame | None,
    now: datetime,
) -> tuple[pd.DataFrame, int]:
    """The canonical ticket rows before validation, and the count of ambiguous dates.

    The fields are computed in this order on purpose: a cell with several problems joins their
    reasons in the order they were found.
    """
    opened, resolved, ambiguous = ticket_dates(tickets, now)
    provider = provider_departments(tickets)
    consumer = consumer_departments(tickets, salt, hr_employees)
    priority = ticket_priority(tickets)
    satisfaction = ticket_satisfaction(tickets)
    resolution_hours = (resolved - opened).dt.total_seconds() / 3600.0
    sla = sla_met(tickets, priority, resolution_hours)
    reopened = reopened_flags(tickets)
    period = str(tickets.raw_mapping.get("period") or "month")
    candidate = pd.DataFrame(
        {
            "period": period_per_row(opened, period).astype(object),
            "ticket_id": tickets.column("ticket_id").astype(object),
            "provider_department": provider,
            "consumer_department": consumer,
            "priority": priority,
            "opened_at": opened,
            "resolved_at": resolved,
            "resolution_hours": resolution_hours,
            "sla_met": sla,
            "reopened": reopened,
            "first_assignee_resolved": first_assignee_resolved(
                tickets, first_assignee_seen, resolved
            ),
            "satisfaction": satisfaction,
            "source_file": str(decoded.path),
            "source_sha256": decoded.sha256,
            "source_row": source_rows,
        },
        index=tickets.frame.index,
    )
    candidate["period"] = candidate["period"].where(candidate["period"].notna(), None)
    return candidate[canonical_columns("tickets")], ambiguous
