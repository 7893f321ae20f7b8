"""``csv``: any one-header-row table whose columns the mapping names; never detected.

Belongs here: the layout a survey file is read as when it is named ``format: csv``, or when
a file without rating rules matches no known layout (it is then only described). Nothing is
assumed about its columns.
"""

from ice_pipeline.ingest.vendors.layout import Layout, Records


def fits(records: Records, seen: str | None) -> bool:
    """Any one-header-row CSV fits: the mapping names every column."""
    del records, seen
    return True


LAYOUTS = (
    Layout(
        "surveys",
        "csv",
        "plain_csv",
        1,
        "never detected: named in the mapping",
        fits=fits,
        defaults={"respondent_id": None, "responded_at": None, "date_order": "YMD", "exclude": {}},
    ),
)
