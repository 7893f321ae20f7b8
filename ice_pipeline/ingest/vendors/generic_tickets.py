"""Generic ticket CSV: any helpdesk whose export is renamed to the canonical column names.

Belongs here: the generic layout's recogniser (``ticket_id`` and ``opened_at`` columns) and its
default columns, which are the canonical roles themselves (a ``provider_department`` or
``consumer_department`` column may give the departments directly).
"""

from ice_pipeline.ingest.languages import with_aliases

ROLES = (
    "ticket_id",
    "opened_at",
    "resolved_at",
    "assignment_group",
    "requester",
    "priority",
    "sla_met",
    "reopen_count",
    "reopened",
    "first_assignee",
    "resolved_by",
    "satisfaction",
    "consumer_department",
    "provider_department",
)
COLUMNS = with_aliases({"generic": {role: [role] for role in ROLES}}, "tickets")


def is_generic_export(names: set[str]) -> bool:
    """The canonical ``ticket_id`` and ``opened_at`` columns."""
    return {"ticket_id", "opened_at"} <= names


RECOGNISERS = {"generic": is_generic_export}
