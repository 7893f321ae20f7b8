"""SurveyMonkey exports: two header rows, a question written once over its group of answers.

Belongs here: what tells a SurveyMonkey export apart (a second header row of ``Response`` /
``Open-Ended Response`` cells, or ``RespondentID`` over an empty cell), how its two header rows
become one column name per column (``Question | Option``), and its default columns. Dates are
month first (``MDY``) with 12-hour clocks, which the survey date parser turns to 24-hour.
"""

from ice_pipeline.ingest.vendors.layout import Layout, Records

SUBHEADERS = ("Response", "Open-Ended Response")


def _rows(records: Records) -> tuple[list[str], list[str]]:
    row1 = [c.strip() for c in records[0]] if records else []
    row2 = [c.strip() for c in records[1]] if len(records) > 1 else []
    return row1, row2


def is_layout(records: Records) -> bool:
    """A second row of Response / Open-Ended Response, or RespondentID over an empty cell."""
    row1, row2 = _rows(records)
    if row2 and row2[0] == "" and any(c in SUBHEADERS for c in row2):
        return True
    return bool(row1 and row1[0] in ("RespondentID", "Respondent ID") and row2 and row2[0] == "")


def fits(records: Records, seen: str | None) -> bool:
    """Forced ``surveymonkey`` fits any two-row header no other layout claims."""
    return seen in (None, "surveymonkey") and len(records) > 1


def column_names(records: Records, width: int) -> list[str]:
    """``Question | Option`` per column; the question is written once over its group."""
    row1 = records[0] + [""] * (width - len(records[0]))
    row2 = records[1] + [""] * (width - len(records[1]))
    names = []
    question = ""
    for top, sub in zip(row1, row2, strict=True):
        question = top.strip() or question  # the question is written once over its group
        sub = sub.strip()
        if not top.strip() and not question:
            names.append(sub)
        elif sub in ("", *SUBHEADERS):
            names.append(top.strip() or question if not sub else question)
        else:
            names.append(f"{question} | {sub}")
    return names


# Alternative spellings tools use for the default columns.
ALIASES = {"RespondentID": ("Respondent ID",), "EndDate": ("End Date",)}

LAYOUTS = (
    Layout(
        "surveys",
        "surveymonkey",
        "surveymonkey",
        2,
        "second row of Response / Open-Ended Response",
        priority=60,
        recognise=is_layout,
        fits=fits,
        column_names=column_names,
        defaults={
            "respondent_id": "RespondentID",
            "responded_at": "EndDate",
            "date_order": "MDY",
            "exclude": {},
        },
    ),
)
