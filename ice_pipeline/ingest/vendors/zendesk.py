"""Zendesk ticket exports (CSV from Zendesk Explore or the ticket view export).

Belongs here: what tells a Zendesk export apart (``Id`` with ``Created at``, or a
``Satisfaction Score`` column), its default columns, Zendesk's priority words (Urgent, High,
Normal, Low) and its satisfaction labels (``good`` -> 5, ``bad`` -> 1, ``offered`` and
``unoffered`` = not answered).
"""

from ice_pipeline.ingest.languages import with_aliases

COLUMNS = with_aliases(
    {
        "zendesk": {
            "ticket_id": ["id", "ticket id"],
            "opened_at": ["created at"],
            "resolved_at": ["solved at"],
            "assignment_group": ["group"],
            "requester": ["requester id", "requester external id", "requester"],
            "priority": ["priority"],
            "first_assignee": ["assignee id", "assignee"],
            "satisfaction": ["satisfaction score"],
            "reopen_count": ["reopens"],
        }
    },
    "tickets",
)
PRIORITY_VALUES = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
SATISFACTION_VALUES: dict[str, float | None] = {
    "good": 5.0,
    "good with comment": 5.0,
    "bad": 1.0,
    "bad with comment": 1.0,
    "offered": None,
    "unoffered": None,
}


def is_zendesk_export(names: set[str]) -> bool:
    """``Id`` with ``Created at``, or a ``Satisfaction Score`` column."""
    return {"id", "created at"} <= names or "satisfaction score" in names


RECOGNISERS = {"zendesk": is_zendesk_export}
