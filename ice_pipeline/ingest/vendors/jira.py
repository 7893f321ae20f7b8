"""Jira issue exports (CSV from the issue navigator).

Belongs here: what tells a Jira export apart (an ``Issue key`` column; localised headers are
recognised through languages.py), its default columns and Jira's priority words (Highest ...
Lowest, and the older Blocker / Minor / Trivial). Repeated Jira column names arrive suffixed
``.1``, ``.2`` from ``common.frame_from_rows``.
"""

from ice_pipeline.ingest.languages import with_aliases

COLUMNS = with_aliases(
    {
        "jira": {
            "ticket_id": ["issue key"],
            "opened_at": ["created"],
            "resolved_at": ["resolved"],
            "assignment_group": ["custom field (team)", "team", "component/s"],
            "requester": ["reporter id", "reporter"],
            "priority": ["priority"],
            "first_assignee": ["assignee id", "assignee"],
            "satisfaction": [
                "custom field (satisfaction rating)",
                "satisfaction rating",
                "satisfaction",
            ],
        }
    },
    "tickets",
)
PRIORITY_VALUES = {
    "highest": 1,
    "blocker": 1,
    "high": 2,
    "medium": 3,
    "low": 4,
    "minor": 4,
    "lowest": 5,
    "trivial": 5,
}


def is_jira_export(names: set[str]) -> bool:
    """An ``Issue key`` column (English headers)."""
    return "issue key" in names


RECOGNISERS = {"jira": is_jira_export}
