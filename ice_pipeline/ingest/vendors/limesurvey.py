"""LimeSurvey exports: one header row, with ``Response ID`` and ``Date submitted`` columns.

Belongs here: what tells a LimeSurvey export apart (the full-text headers ``Response ID`` and
``Date submitted``, or the code headers ``id`` and ``submitdate``) and its defaults: an empty
submit date means the response was not finished.
"""

from ice_pipeline.ingest.vendors.layout import Layout, Records


def is_layout(records: Records) -> bool:
    """``Response ID`` and ``Date submitted`` (full-text headers) or ``id`` and ``submitdate``."""
    row1 = {c.strip() for c in records[0]} if records else set()
    return {"Response ID", "Date submitted"} <= row1 or {"id", "submitdate"} <= row1


# The code-header export names the default columns differently.
ALIASES = {"Response ID": ("id",), "Date submitted": ("submitdate",)}

LAYOUTS = (
    Layout(
        "surveys",
        "limesurvey",
        "limesurvey",
        1,
        "Response ID and Date submitted columns",
        priority=50,
        recognise=is_layout,
        defaults={
            "respondent_id": "Response ID",
            "responded_at": "Date submitted",
            "date_order": "YMD",
            "exclude": {"finished_column": "Date submitted"},
        },
    ),
)
