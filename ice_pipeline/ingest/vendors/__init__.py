"""The registry of vendor layouts: which export layouts the ingest knows, and where each lives.

Belongs here: one ``Layout`` per vendor layout (its feed, its ``format:`` name, its vendor
module, its header rows and one line saying how it is recognised). Detection in surveys.py asks
the vendor modules; ``ice-pipeline inspect`` and docs/mappings.md name layouts as listed here
(a test checks every registered format is documented). Adding a layout: write its recogniser in
the vendor's module (``vendors/<vendor>.py``), list it here, and document it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """One export layout a reader understands."""

    feed: str
    format: str
    vendor: str  # the module under ingest/vendors/, or the feed reader (ingest/<feed>.py)
    header_rows: int
    recognised_by: str


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "surveys",
        "qualtrics",
        "qualtrics",
        3,
        'third header row of ImportId cells, {"ImportId":...} (2018 on) or '
        "{'ImportId': ...} (2016-2018)",
    ),
    Layout("surveys", "qualtrics_legacy", "qualtrics", 2, "first row V1, V2, ..."),
    Layout("surveys", "surveymonkey", "surveys", 2, "second row of Response / Open-Ended Response"),
    Layout("surveys", "limesurvey", "surveys", 1, "Response ID and Date submitted columns"),
    Layout("surveys", "google_forms", "surveys", 1, "first column Timestamp"),
    Layout("surveys", "long", "surveys", 1, "respondent_id, provider, dimension, rating columns"),
    Layout("surveys", "csv", "surveys", 1, "never detected: named in the mapping"),
    Layout(
        "tickets",
        "servicenow",
        "servicenow",
        1,
        "number with assignment_group or opened_at, no sys_mod_count",
    ),
    Layout("tickets", "servicenow_audit", "servicenow", 1, "number and sys_mod_count (event log)"),
    Layout("tickets", "jira", "jira", 1, "Issue key, or localised Jira headers (languages)"),
    Layout("tickets", "zendesk", "zendesk", 1, "Id and Created at, or Satisfaction Score"),
    Layout("tickets", "generic", "generic_tickets", 1, "ticket_id and opened_at"),
    Layout("hr", "roster", "hris", 1, "any HR header that is not a snapshot (the default)"),
    Layout("hr", "snapshot", "hris", 1, "an Attrition column and no hire date"),
    Layout(
        "external",
        "nps_responses",
        "external_answers",
        1,
        "a likely-to-recommend score column (or score)",
    ),
    Layout("external", "csat_responses", "external_answers", 1, "a satisfaction score column"),
    Layout("external", "metrics", "external_metrics", 1, "metric and value columns"),
)


def layouts_of(feed: str) -> list[Layout]:
    """The registered layouts of one feed, in detection order."""
    return [layout for layout in LAYOUTS if layout.feed == feed]


def layout_of(feed: str, file_format: str) -> Layout | None:
    """The registered layout of a feed and format (None for one not registered)."""
    return next((x for x in LAYOUTS if x.feed == feed and x.format == file_format), None)
