"""The registry of vendor layouts: which export layouts the ingest knows, and where each lives.

Belongs here: the one list of layouts (``LAYOUTS``), gathered from the vendor modules, and the
look-ups over it. Each vendor module (``vendors/<vendor>.py``) declares its survey layouts as a
``LAYOUTS`` tuple of ``Layout`` (layout.py): feed, ``format:`` name, module, header rows, one
line saying how it is recognised, and how the survey reader handles it (recogniser, column
names, defaults). Survey detection iterates this registry (``detect``), ``ice-pipeline inspect``
shows a file's entry, ``mapping.FORMATS`` lists its formats, and docs/mappings.md names every
one (a test checks). Ticket, HR and external layouts are listed here (``_OTHER_FEEDS``) with
their vendor module, whose ``COLUMNS`` and ``RECOGNISERS`` the feed readers ask in this order
(``vendors/table_detection.py``).

Adding a survey layout: write ``vendors/<vendor>.py`` with its recogniser, column naming and
defaults in a ``LAYOUTS`` tuple, add the module to ``_VENDOR_MODULES`` below (listing order is
the order formats are named in messages; ``priority`` is the detection order), and document it.
"""

from ice_pipeline.ingest.vendors import (
    google_forms,
    limesurvey,
    long,
    plain_csv,
    qualtrics,
    surveymonkey,
)
from ice_pipeline.ingest.vendors.layout import Layout, Records

__all__ = ["LAYOUTS", "Layout", "aliases", "detect", "layout_of", "layouts_of", "qualtrics"]

_VENDOR_MODULES = (qualtrics, surveymonkey, limesurvey, google_forms, long, plain_csv)

_OTHER_FEEDS: tuple[Layout, ...] = (
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

LAYOUTS: tuple[Layout, ...] = (
    *(layout for module in _VENDOR_MODULES for layout in module.LAYOUTS),
    *_OTHER_FEEDS,
)


def layouts_of(feed: str) -> list[Layout]:
    """The registered layouts of one feed, in listing order."""
    return [layout for layout in LAYOUTS if layout.feed == feed]


def layout_of(feed: str, file_format: str) -> Layout | None:
    """The registered layout of a feed and format (None for one not registered)."""
    return next((x for x in LAYOUTS if x.feed == feed and x.format == file_format), None)


def detect(feed: str, records: Records) -> str | None:
    """The first layout of ``feed``, by priority, whose recogniser accepts the header records."""
    candidates = sorted(
        (x for x in layouts_of(feed) if x.recognise is not None), key=lambda x: x.priority
    )
    return next((x.format for x in candidates if x.recognise(records)), None)


def aliases() -> dict[str, tuple[str, ...]]:
    """Alternative spellings of the default columns, from every vendor module that has some."""
    merged: dict[str, tuple[str, ...]] = {}
    for module in _VENDOR_MODULES:
        merged.update(getattr(module, "ALIASES", {}))
    return merged
