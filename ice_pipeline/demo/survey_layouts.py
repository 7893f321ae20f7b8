"""The four survey tools' export layouts of a :class:`SurveyWave`.

Belongs here: writing one wave as Qualtrics (3 header rows, BOM), SurveyMonkey (2 header rows),
LimeSurvey (every value quoted) or Google Forms (M/D/YYYY timestamps, CRLF), the question texts
and answer labels those exports carry, and the fictional personal data the ingester must drop.
Preview and incomplete responses are written only in the Qualtrics layout (the other tools'
exports are "completed responses only").
"""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import (
    DEPARTMENTS,
    DIMENSIONS,
    PROVIDER_CODES,
    PROVIDER_NAMES,
    Roster,
    format_times,
    stream,
)
from ice_pipeline.demo.survey_waves import SurveyWave

SURVEY_FORMATS = ("qualtrics", "surveymonkey", "limesurvey", "google_forms")


def matrix_question(provider: str) -> str:
    return f"How much do you agree with the following about {provider}?"


def comment_question(provider: str) -> str:
    return f"Is there anything else you would like to tell {provider}?"


DEPARTMENT_QUESTION = "Which department do you work in?"
AGREE_LABELS = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
]

# Answer text per layout indexed by raw code + 1: [-1 (N/A), 0 (blank), 1, 2, 3, 4, 5].
ANSWER_TEXT: dict[str, list[str]] = {
    "qualtrics": ["-1", "", "1", "2", "3", "4", "5"],
    "surveymonkey": ["N/A", "", *AGREE_LABELS],
    "limesurvey": ["N/A", "", "1", "2", "3", "4", "5"],
    "google_forms": ["Unfamiliar (N/A)", "", "1", "2", "3", "4", "5"],
}


def _answers(wave: SurveyWave, layout: str, rows: np.ndarray) -> list[np.ndarray]:
    """Answer columns in export order: per provider its five items then its comment."""
    table = np.array(ANSWER_TEXT[layout], dtype=object)
    columns: list[np.ndarray] = []
    for p in range(len(PROVIDER_NAMES)):
        for d in range(len(DIMENSIONS)):
            columns.append(table[wave.ratings[rows, p, d].astype(np.int64) + 1])
        columns.append(wave.comments[rows, p])
    return columns


def _fmt(stamps: np.ndarray, pattern: str) -> np.ndarray:
    return format_times(stamps, pattern)


def _pii(seed: int, wave: SurveyWave, roster: Roster, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Fictional personal data (documentation IPs, example.com mail) the ingester must drop."""
    rng = stream(seed, "names", 1000 + int(pd.Period(wave.period, freq="M").ordinal))
    emp = wave.employee[rows]
    known = emp >= 0
    first = np.where(known, roster.first_name[np.maximum(emp, 0)], "")
    last = np.where(known, roster.last_name[np.maximum(emp, 0)], "")
    ids = np.where(known, roster.employee_id[np.maximum(emp, 0)], "")
    email = np.where(
        known,
        pd.Series(ids, dtype=object).str.lower().add("@staff.example.com").to_numpy(dtype=object),
        "",
    )
    n = rows.size
    ip = np.char.add(
        np.where(rng.random(n) < 0.5, "203.0.113.", "198.51.100."),
        rng.integers(1, 255, n).astype(str),
    ).astype(object)
    lat = np.char.mod("%.4f", 51.5 + rng.normal(0, 0.08, n)).astype(object)
    lon = np.char.mod("%.4f", -0.12 + rng.normal(0, 0.12, n)).astype(object)
    return {
        "first": first.astype(object),
        "last": last.astype(object),
        "email": email.astype(object),
        "external_ref": ids.astype(object),
        "ip": ip,
        "lat": lat,
        "lon": lon,
    }


def _write(
    path: Path,
    header_rows: list[list[str]],
    columns: list[np.ndarray],
    *,
    bom: bool,
    quote_all: bool,
    crlf: bool,
) -> int:
    """Header rows via csv.writer, body via pandas (vectorised); returns data rows written."""
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    newline = "\r\n" if crlf else "\n"
    head = io.StringIO()
    writer = csv.writer(head, quoting=quoting, lineterminator=newline)
    writer.writerows(header_rows)
    frame = pd.DataFrame({i: col for i, col in enumerate(columns)})
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        handle.write(head.getvalue())
        frame.to_csv(
            handle,
            header=False,
            index=False,
            quoting=quoting,
            lineterminator=newline,
            chunksize=50_000,
        )
    return len(frame)


QUALTRICS_META = [
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]


def department_codes() -> dict[str, str]:
    """Qualtrics numeric choice codes of the department question (numeric-values export)."""
    return {str(i + 1): name for i, name in enumerate(DEPARTMENTS)}


def write_qualtrics(path: Path, seed: int, wave: SurveyWave, roster: Roster) -> int:
    """Qualtrics 'Data & Analysis > Export > CSV, use numeric values': 3 header rows, UTF-8 BOM."""
    ids = [m[0] for m in QUALTRICS_META] + ["Q_DEPT"]
    texts = [m[1] for m in QUALTRICS_META] + [DEPARTMENT_QUESTION]
    imports = [m[2] for m in QUALTRICS_META] + ["QID1"]
    for p, (name, code) in enumerate(zip(PROVIDER_NAMES, PROVIDER_CODES, strict=True)):
        matrix_qid, text_qid = 2 + 2 * p, 3 + 2 * p
        for d, (_, statement, _) in enumerate(DIMENSIONS):
            ids.append(f"Q_{code}_{d + 1}")
            texts.append(f"{matrix_question(name)} - {statement}")
            imports.append(f"QID{matrix_qid}_{d + 1}")
        ids.append(f"Q_{code}_TEXT")
        texts.append(comment_question(name))
        imports.append(f"QID{text_qid}_TEXT")
    import_row = ['{"ImportId":"' + i + '"}' for i in imports]

    rows = np.arange(wave.kind.size)
    pii = _pii(seed, wave, roster, rows)
    preview = wave.kind == 1
    duration = (wave.end_s - wave.start_s).astype("int64")
    columns = [
        _fmt(wave.start_s, "%Y-%m-%d %H:%M:%S"),
        _fmt(wave.end_s, "%Y-%m-%d %H:%M:%S"),
        np.where(preview, "1", "0").astype(object),  # 0 = IP Address, 1 = Survey Preview
        np.where(preview, "", pii["ip"]).astype(object),
        wave.progress_pct.astype(str).astype(object),
        duration.astype(str).astype(object),
        np.where(wave.kind == 2, "0", "1").astype(object),
        _fmt(wave.recorded_s, "%Y-%m-%d %H:%M:%S"),
        wave.response_key,
        pii["last"],
        pii["first"],
        pii["email"],
        pii["external_ref"],
        np.where(preview, "", pii["lat"]).astype(object),
        np.where(preview, "", pii["lon"]).astype(object),
        np.where(preview, "preview", "email").astype(object),
        np.full(rows.size, "EN", dtype=object),
        (wave.department + 1).astype(str).astype(object),
        *_answers(wave, "qualtrics", rows),
    ]
    return _write(path, [ids, texts, import_row], columns, bom=True, quote_all=False, crlf=False)


def write_surveymonkey(path: Path, seed: int, wave: SurveyWave, roster: Roster) -> int:
    """SurveyMonkey 'All responses data, CSV, expanded': question text once over its columns."""
    row1 = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
        DEPARTMENT_QUESTION,
    ]
    row2 = ["", "", "", "", "", "", "", "", "", "Response"]
    for name in PROVIDER_NAMES:
        for d, (_, statement, _) in enumerate(DIMENSIONS):
            row1.append(matrix_question(name) if d == 0 else "")
            row2.append(statement)
        row1.append(comment_question(name))
        row2.append("Open-Ended Response")
    rows = np.flatnonzero(wave.complete)
    pii = _pii(seed, wave, roster, rows)
    # Respondent numbers grow with time, as SurveyMonkey's do (10 digits, not sequential).
    ordinal = int(pd.Period(wave.period, freq="M").ordinal)
    # 10 digits while the month ordinal is below 900 (year 2045); steps average 4.5 so even a
    # 500,000-response wave stays inside its month's block of 10 million.
    respondent_no = (
        1_000_000_000
        + ordinal * 10_000_000
        + wave.sequence_start
        + np.cumsum(stream(seed, "survey_ids", 10_000 + ordinal).integers(1, 9, rows.size))
    )
    columns = [
        respondent_no.astype(str).astype(object),
        np.full(rows.size, str(400_000_000 + ordinal), dtype=object),
        _fmt(wave.start_s[rows], "%m/%d/%Y %I:%M:%S %p"),
        _fmt(wave.end_s[rows], "%m/%d/%Y %I:%M:%S %p"),
        pii["ip"],
        pii["email"],
        pii["first"],
        pii["last"],
        wave.response_key[rows],
        np.array(DEPARTMENTS, dtype=object)[wave.department[rows]],
        *_answers(wave, "surveymonkey", rows),
    ]
    return _write(path, [row1, row2], columns, bom=False, quote_all=False, crlf=False)


def write_limesurvey(path: Path, seed: int, wave: SurveyWave, roster: Roster) -> int:
    """LimeSurvey 'Export responses, CSV, full question text headings, completed responses only'."""
    header = [
        "id",
        "token",
        "submitdate",
        "lastpage",
        "startlanguage",
        "seed",
        "startdate",
        "datestamp",
        "ipaddr",
        DEPARTMENT_QUESTION,
    ]
    for name in PROVIDER_NAMES:
        for _, statement, _ in DIMENSIONS:
            header.append(f"{matrix_question(name)} [{statement}]")
        header.append(comment_question(name))
    rows = np.flatnonzero(wave.complete)
    pii = _pii(seed, wave, roster, rows)
    seeds = stream(
        seed, "survey_ids", 20_000 + int(pd.Period(wave.period, freq="M").ordinal)
    ).integers(10**8, 10**9, rows.size)
    columns = [
        np.arange(1, rows.size + 1).astype(str).astype(object),
        wave.response_key[rows],
        _fmt(wave.end_s[rows], "%Y-%m-%d %H:%M:%S"),
        np.full(rows.size, "3", dtype=object),
        np.full(rows.size, "en", dtype=object),
        seeds.astype(str).astype(object),
        _fmt(wave.start_s[rows], "%Y-%m-%d %H:%M:%S"),
        _fmt(wave.end_s[rows], "%Y-%m-%d %H:%M:%S"),
        pii["ip"],
        np.array(DEPARTMENTS, dtype=object)[wave.department[rows]],
        *_answers(wave, "limesurvey", rows),
    ]
    return _write(path, [header], columns, bom=False, quote_all=True, crlf=False)


def write_google_forms(path: Path, seed: int, wave: SurveyWave, roster: Roster) -> int:
    """Google Forms responses downloaded as CSV from the linked sheet (CRLF line ends)."""
    header = [
        "Timestamp",
        "Email address",
        "Response code (pre-filled, do not change)",
        DEPARTMENT_QUESTION,
    ]
    for name in PROVIDER_NAMES:
        for _, statement, _ in DIMENSIONS:
            header.append(f"{matrix_question(name)} [{statement}]")
        header.append(comment_question(name))
    rows = np.flatnonzero(wave.complete)
    pii = _pii(seed, wave, roster, rows)
    columns = [
        _fmt(wave.end_s[rows], "%-m/%-d/%Y %-H:%M:%S"),
        pii["email"],
        wave.response_key[rows],
        np.array(DEPARTMENTS, dtype=object)[wave.department[rows]],
        *_answers(wave, "google_forms", rows),
    ]
    return _write(path, [header], columns, bom=False, quote_all=False, crlf=True)


WRITERS = {
    "qualtrics": write_qualtrics,
    "surveymonkey": write_surveymonkey,
    "limesurvey": write_limesurvey,
    "google_forms": write_google_forms,
}
FILE_PREFIX = {
    "qualtrics": "ice_pulse",
    "surveymonkey": "ice_pulse_sm",
    "limesurvey": "ice_pulse_ls",
    "google_forms": "ice_pulse_gf",
}
