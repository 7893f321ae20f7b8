"""The ``mapping.yaml`` (as a dict) that makes the ingester read each survey export layout.

Belongs here: the per-layout mapping keys (docs/mappings.md) and the dimension labels the reports
show. Key order matters: the dicts are dumped as they are into the demo's mapping files.
"""

from ice_pipeline.demo.organisation import DIMENSIONS, PROVIDER_CODES, PROVIDER_NAMES
from ice_pipeline.demo.survey_layouts import AGREE_LABELS, DEPARTMENT_QUESTION, department_codes

# What the reports call each dimension (the mapping's ``dimension_labels``): never a raw code.
DIMENSION_LABELS: dict[str, str] = {
    "responsiveness": "Responsiveness",
    "quality": "Quality of work",
    "communication": "Keeping customers informed",
    "expertise": "Expertise",
    "effort": "Ease of getting help",
    "overall": "Overall satisfaction",
}


def _dimension_map(key: str) -> dict[str, str]:
    if key == "number":
        return {str(i + 1): dim for i, (dim, _, _) in enumerate(DIMENSIONS)}
    return {statement: dim for dim, statement, _ in DIMENSIONS}


def _reversed(key: str) -> list[str]:
    if key == "number":
        return [str(i + 1) for i, (_, _, rev) in enumerate(DIMENSIONS) if rev]
    return [statement for _, statement, rev in DIMENSIONS if rev]


NOT_APPLICABLE = [-1, -2, "N/A", "Unfamiliar (N/A)", "No basis for evaluation", "NA"]


def survey_mapping(layout: str) -> dict:
    """The mapping.yaml content (as a dict) for the given layout, per docs/mappings.md."""
    return {**_layout_mapping(layout), "dimension_labels": dict(DIMENSION_LABELS)}


def _layout_mapping(layout: str) -> dict:
    """The keys of :func:`survey_mapping` that differ by layout."""
    if layout == "qualtrics":
        return _qualtrics_mapping()
    if layout == "surveymonkey":
        return _surveymonkey_mapping()
    common = _bracket_heading_keys()
    if layout == "limesurvey":
        return {
            "feed": "surveys",
            "format": "limesurvey",
            "encoding": "auto",
            "date_order": "YMD",
            "period": "month",
            "respondent_id": "token",
            "consumer_department": DEPARTMENT_QUESTION,
            "responded_at": "submitdate",
            **common,
        }
    if layout == "google_forms":
        return {
            "feed": "surveys",
            "format": "google_forms",
            "encoding": "auto",
            "date_order": "MDY",
            "period": "month",
            "respondent_id": "Response code (pre-filled, do not change)",
            "consumer_department": DEPARTMENT_QUESTION,
            "responded_at": "Timestamp",
            **common,
        }
    raise ValueError(f"unknown survey layout {layout!r}")


def _qualtrics_mapping() -> dict:
    """Qualtrics: question ids (Q_<provider code>_<item number>) and numeric answer codes."""
    return {
        "feed": "surveys",
        "format": "qualtrics",
        "encoding": "auto",
        "date_order": "YMD",
        "period": "month",
        "respondent_id": "ResponseId",
        "consumer_department": "Q_DEPT",
        "consumer_department_values": department_codes(),
        "responded_at": "RecordedDate",
        "exclude": {
            "status_column": "Status",
            "excluded_status_values": [
                "Survey Preview",
                "Survey Test",
                "Spam",
                "1",
                "2",
                "4",
                "8",
            ],
            "finished_column": "Finished",
            "progress_column": "Progress",
            "min_progress_pct": 100,
        },
        "scales": {"agree5": {"min": 1, "max": 5}},
        "not_applicable": NOT_APPLICABLE,
        "ratings": [
            {
                "pattern": r"^Q_(?P<provider>[A-Z]+)_(?P<dimension>\d)$",
                "providers": dict(zip(PROVIDER_CODES, PROVIDER_NAMES, strict=True)),
                "dimensions": _dimension_map("number"),
                "scale": "agree5",
                "reversed_dimensions": _reversed("number"),
            }
        ],
        "comments": [
            {
                "pattern": r"^Q_(?P<provider>[A-Z]+)_TEXT$",
                "providers": dict(zip(PROVIDER_CODES, PROVIDER_NAMES, strict=True)),
            }
        ],
    }


def _surveymonkey_mapping() -> dict:
    """SurveyMonkey: 'question | statement' headings and the agree labels as answers."""
    providers_by_name = {name: name for name in PROVIDER_NAMES}
    return {
        "feed": "surveys",
        "format": "surveymonkey",
        "encoding": "auto",
        "date_order": "MDY",
        "period": "month",
        "respondent_id": "Custom Data 1",
        # The ingester names a column 'question | sub-label', except that the sub-labels
        # 'Response' and 'Open-Ended Response' add nothing and are left off.
        "consumer_department": DEPARTMENT_QUESTION,
        "responded_at": "End Date",
        "scales": {"agree5_labels": {"labels": AGREE_LABELS}},
        "not_applicable": NOT_APPLICABLE,
        "ratings": [
            {
                "pattern": r"^How much do you agree with the following about (?P<provider>.+)\?"
                r" \| (?P<dimension>.+)$",
                "providers": providers_by_name,
                "dimensions": _dimension_map("statement"),
                "scale": "agree5_labels",
                "reversed_dimensions": _reversed("statement"),
            }
        ],
        "comments": [
            {
                "pattern": r"^Is there anything else you would like to tell "
                r"(?P<provider>.+)\?$",
                "providers": providers_by_name,
            }
        ],
    }


def _bracket_heading_keys() -> dict:
    """LimeSurvey and Google Forms both head a rating 'question [statement]' with 1..5 answers."""
    providers_by_name = {name: name for name in PROVIDER_NAMES}
    bracket_pattern = (
        r"^How much do you agree with the following about (?P<provider>.+)\? \[(?P<dimension>.+)\]$"
    )
    common = {
        "scales": {"agree5": {"min": 1, "max": 5}},
        "not_applicable": NOT_APPLICABLE,
        "ratings": [
            {
                "pattern": bracket_pattern,
                "providers": providers_by_name,
                "dimensions": _dimension_map("statement"),
                "scale": "agree5",
                "reversed_dimensions": _reversed("statement"),
            }
        ],
        "comments": [
            {
                "pattern": r"^Is there anything else you would like to tell (?P<provider>.+)\?$",
                "providers": providers_by_name,
            }
        ],
    }
    return common
