"""Google Forms exports: one header row starting ``Timestamp``, no response id.

Belongs here: what tells a Google Forms export apart and its defaults. Without a response id
column, a record is identified by its place in the file (the survey reader does that); dates are
month first (``MDY``) with 12-hour clocks.
"""

from ice_pipeline.ingest.vendors.layout import Layout, Records


def is_layout(records: Records) -> bool:
    """The first column is ``Timestamp``."""
    return bool(records and records[0] and records[0][0].strip() == "Timestamp")


LAYOUTS = (
    Layout(
        "surveys",
        "google_forms",
        "google_forms",
        1,
        "first column Timestamp",
        priority=40,
        recognise=is_layout,
        defaults={
            "respondent_id": None,
            "responded_at": "Timestamp",
            "date_order": "MDY",
            "exclude": {},
        },
    ),
)
