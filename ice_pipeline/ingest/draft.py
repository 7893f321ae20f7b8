"""``ice-pipeline inspect FILE --draft-mapping``: a complete mapping inferred from the file.

Belongs here: reading one export the way onboarding starts (feed, layout, which column is the
respondent, the date, the department; the date order the values prove; N/A and missing-value
codes seen) and writing it as YAML with a comment on every key saying why, and ``TODO`` wherever
the file cannot tell (which provider a question rates, a period for a file without dates, which
department a business unit is). ``fill_todos`` replaces exactly the TODOs and nothing else, so
a filled draft shows what the inference got right on its own.

Deciding which questions are ratings of which provider is never guessed: the draft lists the
candidate columns with the scale their values suggest, as commented YAML to copy.
"""

import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ice_pipeline.ingest.common import DecodedFile, decode_file, parse_dates
from ice_pipeline.ingest.feeds import resolve_feed
from ice_pipeline.ingest.mapping import Mapping

TODO = "TODO"
_LEAVE_OUT = object()
_DEPARTMENT_WORDS = re.compile(r"department|dept|abteilung|location|region|site|team", re.I)
_RESPONDENT_WORDS = re.compile(r"respon\w*\s*id|respondent", re.I)
_NOT_APPLICABLE = re.compile(r"\bn/a\b|not applicable|no basis|don'?t know", re.I)
# Survey-tool columns that are never questions (Qualtrics, SurveyMonkey, LimeSurvey metadata).
_METADATA = re.compile(
    r"^(startdate|enddate|status|ipaddress|progress|duration.*|finished|recordeddate|"
    r"response\s*id|responseset|respondentid|collectorid|start date|end date|"
    r"distributionchannel|userlanguage|location\w*|externaldatareference|"
    r"recipient\w*|externalreference|name|emailaddress|date submitted|last page|"
    r"start language|seed|submitdate|lastpage|startlanguage|id)$",
    re.I,
)


def _date_order(values: pd.Series) -> str | None:
    """The one numeric date order every value reads under, or None when two fit (ambiguous)."""
    present = values.dropna()
    present = present[present.astype(str).str.strip() != ""].drop_duplicates().head(5000)
    if present.empty:
        return None
    text = present.astype(str).str.strip()
    if text.str.match(r"^\d{4}-").all():
        return "YMD"  # a four-digit year first: ISO dates, never day or month first
    fitting = [o for o in ("DMY", "MDY") if not parse_dates(present, o).invalid.any()]
    return fitting[0] if len(fitting) == 1 else None


def _first(columns: list[str], pattern: re.Pattern[str], skip: set[str]) -> str | None:
    """The first column whose name matches, leaving out tool metadata and personal columns."""
    from ice_pipeline.ingest.privacy import is_personal_column

    return next(
        (
            c
            for c in columns
            if pattern.search(c)
            and c not in skip
            and not _METADATA.match(c)
            and not is_personal_column(c)
        ),
        None,
    )


class Draft:
    """A mapping being drafted: the keys in order, and a comment for each."""

    def __init__(self) -> None:
        self.mapping: dict[str, Any] = {}
        self.comments: dict[str, list[str]] = {}

    def put(self, key: str, value: Any, *why: str) -> None:
        self.mapping[key] = value
        self.comments[key] = [line for line in why if line]

    def render(self) -> str:
        lines = ["# Drafted by 'ice-pipeline inspect --draft-mapping': check every key and fill"]
        lines.append("# each TODO (docs/mappings.md describes every key).")
        for key, value in self.mapping.items():
            lines.extend(f"# {line}" for line in self.comments.get(key, []))
            text = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=100)
            lines.append(text.rstrip("\n"))
        return "\n".join(lines) + "\n"


def draft_mapping(path: Path, feed: str | None = None) -> Draft:
    """Infer a mapping for one export (``feed`` forces the feed, as ``--feed`` does)."""
    from ice_pipeline.ingest.inspect import refuse_non_table

    decoded = decode_file(Path(path))
    refuse_non_table(decoded)
    chosen = resolve_feed(Path(path), Mapping.empty(), decoded, feed)
    draft = Draft()
    draft.put("feed", chosen, "the feed: from --feed, the landing folder or the header")
    if chosen == "surveys":
        _draft_survey(decoded, draft)
    else:
        _draft_table(decoded, chosen, draft)
    return draft


def _draft_survey(decoded: DecodedFile, draft: Draft) -> None:
    from ice_pipeline.ingest.inspect import KNOWN_DATE_COLUMNS
    from ice_pipeline.ingest.surveys import FORMAT_DEFAULTS, read_layout

    table = read_layout(decoded, None, allow_unknown=True)
    fmt, columns, body = table.file_format, table.columns, table.body
    defaults = FORMAT_DEFAULTS.get(fmt, {})
    draft.put("format", fmt, f"layout detected from the {table.header_rows} header row(s)")
    used: set[str] = set()
    respondent = defaults.get("respondent_id")
    respondent = respondent if respondent in columns else _first(columns, _RESPONDENT_WORDS, used)
    if respondent:
        draft.put("respondent_id", respondent, "one respondent per value (pseudonymised)")
        used.add(respondent)
    responded = defaults.get("responded_at")
    if responded not in columns:
        responded = next((c for c in KNOWN_DATE_COLUMNS if c in columns), None)
    if responded:
        draft.put("responded_at", responded, "the response date: its month is the period")
        used.add(responded)
        order = _date_order(body[responded]) or defaults.get("date_order")
        draft.put(
            "date_order",
            order or TODO,
            "the only order every date reads under" if order else "dates read in two orders",
        )
    else:
        draft.put("period_value", TODO, "no date column: the month the survey ran (YYYY-MM)")
    department = _first(columns, _DEPARTMENT_WORDS, used)
    if department:
        draft.put("consumer_department", department, "the respondent's department (name match)")
        used.add(department)
    else:
        draft.put("consumer_department_fixed", TODO, "no department column: one for the file")
    _draft_questions(body, [c for c in columns if c not in used and not _METADATA.match(c)], draft)


def _draft_questions(body: pd.DataFrame, candidates: list[str], draft: Draft) -> None:
    """N/A codes (a real key), then ratings/scales/comments as TODO with the candidates listed."""
    from ice_pipeline.ingest.privacy import is_personal_column

    not_applicable: set[str] = set()
    numeric, labelled, free = [], [], []
    for column in candidates:
        if is_personal_column(column):
            continue
        values = body[column][body[column].astype(str).str.strip() != ""]
        distinct = pd.Series(values.unique(), dtype=object).astype(str)
        if distinct.empty:
            continue
        codes = {v for v in distinct if _NOT_APPLICABLE.search(v)}
        not_applicable |= codes
        answers = distinct[~distinct.isin(codes)]
        if answers.str.fullmatch(r"-?\d+").all() and not answers.empty:
            low, high = int(answers.astype(int).min()), int(answers.astype(int).max())
            numeric.append(
                f"- {{column: {column!r}, provider: ?, dimension: ?, scale: ?}}"
                f"  # values {low}..{high}"
            )
        elif len(distinct) >= 0.8 * len(values) and distinct.str.len().mean() >= 10:
            free.append(f"- {{column: {column!r}, provider: ?}}")
        elif len(answers) <= 7:
            labelled.append(f"{column!r}: {sorted(answers)}")
    if not_applicable:
        draft.put("not_applicable", sorted(not_applicable), "answers that mean 'no answer'")
    # Always asked: a label scale's order is never guessed (answer {} when there is none).
    draft.put(
        "scales",
        TODO,
        "label scales: order each one's labels from worst to best; columns with few labels:",
        *[f"  {line}" for line in labelled[:40]],
    )
    draft.put(
        "ratings",
        TODO,
        "which column rates which provider on which dimension;",
        "candidates (numeric answers):",
        *[f"  {line}" for line in numeric[:40]],
    )
    draft.put(
        "comments",
        TODO,
        "free-text columns (kept per provider, never published raw):",
        *[f"  {line}" for line in free[:20]],
    )


def _draft_table(decoded: DecodedFile, feed: str, draft: Draft) -> None:
    """Tickets, HR and external: the layout, the columns the defaults find, and the gaps."""
    from ice_pipeline.ingest import external, hr, tickets

    frame, _rows, _blank = tickets.read_table(decoded, {}, feed)
    header = list(frame.columns)
    module = {"tickets": tickets, "hr": hr, "external": external}[feed]
    detect = {
        "tickets": tickets.detect_ticket_format,
        "hr": hr.detect_hr_format,
        "external": external.detect_external_format,
    }[feed]
    fmt = detect(header)
    draft.put("format", fmt or TODO, "layout detected from the header" if fmt else "")
    defaults = module.DEFAULT_COLUMNS.get(fmt or "", {})
    lower = {str(c).strip().lower(): str(c) for c in header}
    found = {role: lower[n] for role, names in defaults.items() for n in names if n in lower}
    found = {role: found[role] for role in defaults if role in found}
    columns = {role: found.get(role, TODO) for role in _required(feed, fmt)} | found
    draft.put("columns", columns, "canonical column -> export column (header names matched)")
    date_role = {"tickets": "opened_at", "hr": "hire_date", "external": "responded_at"}[feed]
    if date_role in found:
        order = _date_order(frame[found[date_role]])
        draft.put("date_order", order or TODO, "the only order every date reads under")
    # Tickets only: external answer files use N/A as an answer code (not_applicable), not missing.
    codes = [c for c in tickets.DEFAULT_MISSING if c and (frame == c).to_numpy().any()]
    if codes and feed == "tickets":
        draft.put("missing_values", codes, "cells that mean 'no value' seen in the file")
    _draft_feed_keys(frame, feed, fmt, found, draft)


def _required(feed: str, fmt: str | None) -> list[str]:
    if feed == "tickets":
        return ["ticket_id", "opened_at"]
    if feed == "hr":
        return ["employee_id", "department"]
    return ["business_unit", "score"] if fmt != "metrics" else ["business_unit", "metric", "value"]


def _draft_feed_keys(
    frame: pd.DataFrame, feed: str, fmt: str | None, found: dict[str, str], draft: Draft
) -> None:
    def seen(role: str) -> list[str]:
        if role not in found:
            return []
        return sorted(map(str, frame[found[role]].dropna().unique()))[:30]

    if feed == "tickets":
        draft.put(
            "provider_departments",
            TODO,
            "assignment group -> providing department;",
            f"groups seen: {seen('assignment_group')}",
        )
        if fmt == "servicenow_audit":
            draft.put("first_assignee_rule", TODO, "resolved_by or last_assignee (docs)")
    elif feed == "hr":
        if fmt == "snapshot" or "hire_date" not in found:
            draft.put("snapshot_period", TODO, "the roster's month (YYYY-MM)")
    elif feed == "external":
        if "responded_at" not in found and fmt != "metrics":
            draft.put("period_value", TODO, "no date column: the month the answers belong to")
        draft.put(
            "business_unit_departments",
            TODO,
            "business unit -> internal department;",
            f"units seen: {seen('business_unit')}",
        )


def fill_todos(mapping: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The mapping with every TODO replaced from ``answers`` (``key`` or ``key.sub`` paths).

    An answer of None leaves the key out (e.g. no ``provider_departments``: groups are providers).

    Refuses an answer for a key that is not a TODO and a TODO left without an answer, so a
    filled draft differs from the draft exactly where the draft could not decide.
    """
    filled: dict[str, Any] = {}
    used: set[str] = set()

    def fill(path: str, value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: fill(f"{path}.{k}" if path else str(k), v) for k, v in value.items()}
            # An answer of None leaves the key out (the reader's behaviour without it).
            return {k: v for k, v in out.items() if v is not _LEAVE_OUT}
        if value == TODO:
            if path not in answers:
                raise KeyError(f"TODO at {path} has no answer")
            used.add(path)
            return _LEAVE_OUT if answers[path] is None else answers[path]
        return value

    filled = fill("", mapping)
    unused = set(answers) - used
    if unused:
        raise KeyError(f"answers for keys that are not TODO: {sorted(unused)}")
    return filled
