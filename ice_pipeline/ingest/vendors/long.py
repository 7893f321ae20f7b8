"""The tidy long survey CSV: one row per (respondent, provider, dimension) rating.

Belongs here: the columns a long file must have (compared case-insensitively), how it is
recognised, and its defaults. A long file names its provider and dimension per row, so it needs
no rating rules in the mapping, only its ``scale:`` (survey_columns.py reads that); its cells
are built per row in survey_cells.py.
"""

from ice_pipeline.ingest.vendors.layout import Layout, Records

REQUIRED = ("respondent_id", "consumer_department", "provider", "dimension", "rating")


def is_layout(records: Records) -> bool:
    """Every required column is in the header (any case)."""
    lowered = {c.strip().lower() for c in records[0]} if records else set()
    return set(REQUIRED) <= lowered


def fits(records: Records, seen: str | None) -> bool:
    """Forced ``long`` fits only a header with the required columns."""
    del seen
    return is_layout(records)


def lower_names(columns: list[str]) -> dict[str, str]:
    """Column name in lower case -> the file's spelling (the required names are any case)."""
    return {c.lower(): c for c in columns}


LAYOUTS = (
    Layout(
        "surveys",
        "long",
        "long",
        1,
        "respondent_id, provider, dimension, rating columns",
        priority=30,
        recognise=is_layout,
        fits=fits,
        defaults={
            "respondent_id": "respondent_id",
            "responded_at": "responded_at",
            "date_order": "YMD",
            "consumer_department": "consumer_department",
            "exclude": {},
        },
    ),
)
