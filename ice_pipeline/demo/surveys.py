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
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import (
    DEPARTMENTS,
    DIMENSION_NAMES,
    DIMENSIONS,
    ITEM_SD,
    NOT_APPLICABLE_SHARE,
    OUTCOME_SD,
    PLANTED_DRIVER,
    PLANTED_DRIVER_WEIGHT,
    PROVIDER_BASE_SCORE,
    PROVIDER_CODES,
    PROVIDER_NAMES,
    RESPONDENT_PROVIDER_SD,
    Roster,
    format_times,
    month_bounds,
    stream,
)

SURVEY_FORMATS = ("qualtrics", "surveymonkey", "limesurvey", "google_forms")

ALNUM = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)

# Free-text comments; the tricky ones exercise CSV quoting, formula and HTML injection handling.
COMMENTS: list[str] = [
    "Quick and friendly, thanks.",
    "Took three weeks to get a reply.",
    "Good people, slow process.",
    "Please publish the forms online.",
    "Excellent support during the office move.",
    "Nobody owns my request, it bounces between teams.",
    "Very helpful, solved it on the first call.",
    "Too many approvals needed",
    'They said "we will call you back", and never did.',
    "Line one of my comment\nLine two, with a comma",
    '=HYPERLINK("http://x","y")',
    "<script>alert(1)</script>",
    "Très bien, merci – à bientôt",
    "+1 to what my colleagues said; 50% of tickets are lost",
]
TRICKY_COMMENTS: list[str] = COMMENTS[8:]
COMMENT_SHARE = 0.06  # of (respondent, provider) pairs


@dataclass
class SurveyWave:
    """One month's wave. Row order is the export order; ``kind`` 0 = complete response,
    1 = survey preview, 2 = incomplete (abandoned) response. Ratings hold raw answers:
    0 = not asked / blank, -1 = not applicable, 1..5 = the agree scale (reversed item as asked).
    """

    period: str
    response_key: np.ndarray  # 'R_' + 15 alnum, object
    department: np.ndarray  # index into DEPARTMENTS
    employee: np.ndarray  # index into the roster (-1 for previews)
    start_s: np.ndarray  # datetime64[s]
    end_s: np.ndarray
    recorded_s: np.ndarray
    progress_pct: np.ndarray
    kind: np.ndarray
    ratings: np.ndarray  # (rows, providers, dimensions) int8
    comments: np.ndarray  # (rows, providers) object, '' = none
    sequence_start: int  # first SurveyMonkey respondent number of this wave

    @property
    def complete(self) -> np.ndarray:
        return self.kind == 0


def _response_keys(rng: np.random.Generator, count: int) -> np.ndarray:
    codes = ALNUM[rng.integers(0, ALNUM.size, (count, 15))]
    keys = np.char.add("R_", codes.view("S15").ravel().astype(str)).astype(object)
    if len(set(keys)) != count:  # astronomically unlikely; kept so ids are provably unique
        return _response_keys(rng, count)
    return keys


def _timestamps(
    rng: np.random.Generator, period: str, count: int, first_day: int, last_day: int
) -> np.ndarray:
    start, _ = month_bounds(period)
    day = rng.integers(start + first_day - 1, start + last_day, count).astype("int64")
    second = rng.integers(7 * 3600, 20 * 3600, count)
    return (day * 86400 + second).astype("datetime64[s]")


def simulate_wave(
    seed: int,
    t: int,
    period: str,
    roster: Roster,
    *,
    response_rate: float,
    providers_per_respondent: int,
    score_shift: np.ndarray,
) -> SurveyWave:
    """Draw the wave of period index ``t``.

    ``score_shift`` is (department, provider) points to add to the provider's base this period
    (trends, the dipping department and the company shock, already summed by the caller).
    """
    rng = stream(seed, "surveys", t)
    n_providers = len(PROVIDER_NAMES)
    n_dims = len(DIMENSIONS)
    start_day, _ = month_bounds(period)
    invited = roster.active_on(start_day)
    respondents = invited[rng.random(invited.size) < response_rate]
    n = respondents.size
    dept = roster.department[respondents]

    # Which providers each respondent rates: k random providers, never their own department.
    keys = rng.random((n, n_providers))
    own = dept < n_providers
    keys[np.flatnonzero(own), dept[own]] = 2.0
    k = min(providers_per_respondent, n_providers)
    chosen = np.argsort(keys, axis=1, kind="stable")[:, :k]
    chosen_valid = np.take_along_axis(keys, chosen, axis=1) < 2.0

    base = np.array([PROVIDER_BASE_SCORE[p] for p in PROVIDER_NAMES])
    points = base[chosen] + score_shift[dept[:, None], chosen]
    latent = (
        1.0
        + points / 25.0
        + roster.respondent_effect[respondents][:, None]
        + rng.normal(0.0, RESPONDENT_PROVIDER_SD, (n, k))
    )
    # The rated dimensions first (the same draws as before the overall item existed), then the
    # overall item from its own stream, driven by the planted driver's own noise.
    n_rated = n_dims - 1
    noise = rng.normal(0.0, ITEM_SD, (n, k, n_rated))
    items = np.rint(latent[:, :, None] + noise)
    items = np.clip(items, 1, 5).astype(np.int8)
    reversed_mask = np.array([rev for _, _, rev in DIMENSIONS[:n_rated]])
    items[:, :, reversed_mask] = 6 - items[:, :, reversed_mask]
    items[rng.random((n, k, n_rated)) < NOT_APPLICABLE_SHARE] = -1
    overall_rng = stream(seed, "overall", t)
    driver = DIMENSION_NAMES.index(PLANTED_DRIVER)
    overall = np.rint(
        latent
        + PLANTED_DRIVER_WEIGHT * noise[:, :, driver]
        + overall_rng.normal(0.0, OUTCOME_SD, (n, k))
    )
    items = np.concatenate([items, np.clip(overall, 1, 5).astype(np.int8)[:, :, None]], axis=2)
    items[~chosen_valid] = 0

    ratings = np.zeros((n, n_providers, n_dims), dtype=np.int8)
    rows = np.repeat(np.arange(n), k)
    ratings[rows, chosen.ravel()] = items.reshape(n * k, n_dims)
    # A chosen-but-invalid slot points at the respondent's own department: keep it blank.
    comments = np.full((n, n_providers), "", dtype=object)
    has_comment = (rng.random((n, k)) < COMMENT_SHARE) & chosen_valid
    pick = rng.integers(0, len(COMMENTS), (n, k))
    comment_rows, comment_slots = np.nonzero(has_comment)
    comments[comment_rows, chosen[comment_rows, comment_slots]] = np.array(COMMENTS, dtype=object)[
        pick[comment_rows, comment_slots]
    ]

    end = _timestamps(rng, period, n, 2, 20)
    duration = np.maximum(40, rng.lognormal(np.log(240), 0.5, n)).astype("int64")

    # Previews (the survey owner testing) and abandoned responses: Qualtrics-only extra rows.
    extras_rng = stream(seed, "extras", t)
    n_preview = int(extras_rng.integers(2, 5))
    n_incomplete = max(1, int(round(n * 0.03)))
    incomplete_emp = (
        invited[extras_rng.integers(0, invited.size, n_incomplete)]
        if invited.size
        else np.zeros(0, dtype=np.int64)
    )
    extra_ratings = np.zeros((n_preview + n_incomplete, n_providers, n_dims), dtype=np.int8)
    # Previews answer everything with a 3; incomplete responses answered the first provider only.
    extra_ratings[:n_preview] = 3
    extra_ratings[n_preview:, int(extras_rng.integers(0, n_providers)), :] = extras_rng.integers(
        1, 6, (n_incomplete, n_dims)
    )
    extra_start = np.concatenate(
        [
            _timestamps(extras_rng, period, n_preview, 1, 1),
            _timestamps(extras_rng, period, n_incomplete, 2, 20),
        ]
    )
    extra_end = extra_start + extras_rng.integers(20, 120, n_preview + n_incomplete).astype(
        "timedelta64[s]"
    )
    # Qualtrics records an abandoned response when the survey closes (day 25 of the month).
    close_at = np.datetime64(pd.Timestamp(period + "-25 00:00:00"), "s")
    extra_recorded = np.where(np.arange(n_preview + n_incomplete) < n_preview, extra_end, close_at)

    ids_rng = stream(seed, "survey_ids", t)
    total = n + n_preview + n_incomplete
    order = np.argsort(np.concatenate([end, extra_recorded]), kind="stable")  # export is by time
    return SurveyWave(
        period=period,
        response_key=_response_keys(ids_rng, total)[order],
        department=np.concatenate(
            [dept, np.zeros(n_preview, dtype=np.int64), roster.department[incomplete_emp]]
        )[order],
        employee=np.concatenate([respondents, np.full(n_preview, -1), incomplete_emp])[order],
        start_s=np.concatenate([end - duration.astype("timedelta64[s]"), extra_start])[order],
        end_s=np.concatenate([end, extra_end])[order],
        recorded_s=np.concatenate([end, extra_recorded])[order],
        progress_pct=np.concatenate(
            [np.full(n + n_preview, 100), extras_rng.integers(8, 60, n_incomplete)]
        )[order],
        kind=np.concatenate(
            [
                np.zeros(n, dtype=np.int8),
                np.ones(n_preview, dtype=np.int8),
                np.full(n_incomplete, 2, dtype=np.int8),
            ]
        )[order],
        ratings=np.concatenate([ratings, extra_ratings])[order],
        comments=np.concatenate(
            [comments, np.full((n_preview + n_incomplete, n_providers), "", dtype=object)]
        )[order],
        sequence_start=int(ids_rng.integers(0, 1000)),
    )


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Mappings (docs/mappings.md)
# --------------------------------------------------------------------------------------------


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
    providers_by_name = {name: name for name in PROVIDER_NAMES}
    if layout == "qualtrics":
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
    if layout == "surveymonkey":
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
