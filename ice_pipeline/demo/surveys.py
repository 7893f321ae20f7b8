"""Pulse-survey waves: who answered what, and the four survey tools' export layouts.

Belongs here: drawing one wave's respondents and ratings (vectorised; no Python loop over
ratings), and writing that same wave as Qualtrics (3 header rows, BOM), SurveyMonkey (2 header
rows), LimeSurvey (every value quoted) or Google Forms (M/D/YYYY timestamps, CRLF), each with
the ``mapping.yaml`` that makes the ingester produce the same canonical rows from any of them.

Every layout carries the same respondent key (the Qualtrics-style ``R_`` + 15 characters): in
Qualtrics' ResponseId, SurveyMonkey's "Custom Data 1", LimeSurvey's token and a pre-filled
Google Forms question, so the salted respondent hash is equal across layouts too.
Preview and incomplete responses exist only in the Qualtrics layout: the other tools' exports
are written as "completed responses only", which all three offer as an export filter.

Belongs in this module: nothing but the re-exports below, so ``from ice_pipeline.demo import
surveys; surveys.X`` keeps working. The wave itself is drawn in ``survey_waves``, the exports
are written in ``survey_layouts`` and their mapping files built in ``survey_mappings``.
"""

from ice_pipeline.demo.survey_layouts import (
    AGREE_LABELS,
    ANSWER_TEXT,
    DEPARTMENT_QUESTION,
    FILE_PREFIX,
    QUALTRICS_META,
    SURVEY_FORMATS,
    WRITERS,
    comment_question,
    department_codes,
    matrix_question,
    write_google_forms,
    write_limesurvey,
    write_qualtrics,
    write_surveymonkey,
)
from ice_pipeline.demo.survey_mappings import DIMENSION_LABELS, NOT_APPLICABLE, survey_mapping
from ice_pipeline.demo.survey_waves import (
    ALNUM,
    COMMENT_SHARE,
    COMMENTS,
    TRICKY_COMMENTS,
    SurveyWave,
    simulate_wave,
)

__all__ = [
    "AGREE_LABELS",
    "ALNUM",
    "ANSWER_TEXT",
    "COMMENTS",
    "COMMENT_SHARE",
    "DEPARTMENT_QUESTION",
    "DIMENSION_LABELS",
    "FILE_PREFIX",
    "NOT_APPLICABLE",
    "QUALTRICS_META",
    "SURVEY_FORMATS",
    "TRICKY_COMMENTS",
    "WRITERS",
    "SurveyWave",
    "comment_question",
    "department_codes",
    "matrix_question",
    "simulate_wave",
    "survey_mapping",
    "write_google_forms",
    "write_limesurvey",
    "write_qualtrics",
    "write_surveymonkey",
]
