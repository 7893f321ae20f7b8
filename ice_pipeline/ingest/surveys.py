"""Survey exports -> canonical ``survey_ratings`` and ``survey_comments`` rows.

Belongs here: the layouts survey tools write (Qualtrics current and legacy, SurveyMonkey,
LimeSurvey, Google Forms, a tidy long CSV), detecting which one a file is, and applying a survey
mapping (mapping.SurveyMapping) to turn answers into ratings: scales, reversed items,
not-applicable codes, the exclusion policy and the quarantine rules. Decoding, dates and the
quarantine record shape come from common.py; the 0-100 arithmetic from index/scale.py.

Speed matters: an enterprise wave is one wide file of 100,000 respondents x 25 rating columns.
The header rows are read with the csv module (they carry meaning), the body with pandas' C
parser in one pass, and the answers are classified per distinct value (``pd.factorize``), never
per cell in Python.
"""

import csv
import difflib
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.index.scale import is_favourable, to_score
from ice_pipeline.ingest.common import (
    DecodedFile,
    ParseResult,
    categorical_take,
    compact_text_columns,
    empty_quarantine,
    ensure_not_truncated,
    header_shape,
    parse_dates,
    period_of,
    quarantine_frame,
    read_rectangular_csv,
    sniff_delimiter,
    text_columns,
)
from ice_pipeline.ingest.fixed import ExtraHeader, shift_table, skip_leading_lines
from ice_pipeline.ingest.mapping import (
    FORMATS,
    Mapping,
    Scale,
    SurveyMapping,
    parse_scale,
    survey_mapping,
)
from ice_pipeline.ingest.names import fold, harmonise_array
from ice_pipeline.ingest.privacy import is_personal_column, pseudonymize
from ice_pipeline.ingest.values import REJECTED_KINDS, classify_answers
from ice_pipeline.ingest.vendors import qualtrics

FEED = "surveys"
SURVEY_FORMATS = FORMATS["surveys"]
HEADER_ROWS = {
    "qualtrics": 3,
    "qualtrics_legacy": 2,
    "surveymonkey": 2,
    "limesurvey": 1,
    "google_forms": 1,
    "long": 1,
    "csv": 1,
}
RATING_COLUMNS = [
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "rating_raw",
    "scale_min",
    "scale_max",
    "reversed",
    "score",
    "favourable",
    "responded_at",
    "source_file",
    "source_sha256",
    "source_row",
]
COMMENT_COLUMNS = [
    "period",
    "respondent_id",
    "provider_department",
    "consumer_department",
    "comment_text",
    "source_file",
    "source_sha256",
    "source_row",
]
LONG_REQUIRED = ("respondent_id", "consumer_department", "provider", "dimension", "rating")
STRUCTURAL_REASON = "not scored: the mapping has no rating rules"

# Qualtrics writes Status as text in label exports and as a code in numeric exports.
QUALTRICS_STATUS_NAMES = {
    "0": "IP Address",
    "1": "Survey Preview",
    "2": "Survey Test",
    "4": "Imported",
    "8": "Spam",
    "9": "Survey Preview Spam",
    "12": "Imported Spam",
    "16": "Offline",
}
DEFAULT_EXCLUDED_STATUS = (
    "Survey Preview",
    "Survey Test",
    "Spam",
    "Survey Preview Spam",
    "Imported Spam",
    "1",
    "2",
    "8",
    "9",
    "12",
)
NOT_FINISHED_VALUES = {"", "0", "false", "no", "n"}

# Per-format defaults; any key the mapping writes wins. Absent default columns are skipped.
FORMAT_DEFAULTS: dict[str, dict[str, Any]] = {
    "qualtrics": {
        "respondent_id": "ResponseId",
        "responded_at": "RecordedDate",
        "date_order": "YMD",
        "exclude": {"status_column": "Status", "finished_column": "Finished"},
    },
    "qualtrics_legacy": {
        "respondent_id": "ResponseID",
        "responded_at": "EndDate",
        "date_order": "YMD",
        "exclude": {"status_column": "Status", "finished_column": "Finished"},
    },
    "surveymonkey": {
        "respondent_id": "RespondentID",
        "responded_at": "EndDate",
        "date_order": "MDY",
        "exclude": {},
    },
    "limesurvey": {
        "respondent_id": "Response ID",
        "responded_at": "Date submitted",
        "date_order": "YMD",
        "exclude": {"finished_column": "Date submitted"},
    },
    "google_forms": {
        "respondent_id": None,
        "responded_at": "Timestamp",
        "date_order": "MDY",
        "exclude": {},
    },
    "csv": {"respondent_id": None, "responded_at": None, "date_order": "YMD", "exclude": {}},
    "long": {
        "respondent_id": "respondent_id",
        "responded_at": "responded_at",
        "date_order": "YMD",
        "consumer_department": "consumer_department",
        "exclude": {},
    },
}
# Alternative spellings tools use for the default columns.
DEFAULT_ALIASES = {
    "RespondentID": ("Respondent ID",),
    "EndDate": ("End Date",),
    "ResponseId": ("ResponseID",),
    "Response ID": ("id",),
    "Date submitted": ("submitdate",),
}


# ------------------------------------------------------------------------------------------
# Layout: header rows, column names, body
# ------------------------------------------------------------------------------------------


@dataclass
class SurveyTable:
    """The export as read: one string column per export column, one row per response record."""

    file_format: str
    columns: list[str]
    body: pd.DataFrame  # object strings ('' for empty), columns = ``columns``
    source_rows: np.ndarray  # 1-based physical record number of each body row (header rows counted)
    header_rows: int


def _head_records(text: str, delimiter: str, count: int = 3) -> tuple[list[list[str]], list[int]]:
    """The first records and the text offset after each (quoted newlines handled by csv).

    Parses a growing prefix of the text: copying a 100 MB export into a StringIO to read three
    header rows would cost more than parsing its body.
    """
    csv.field_size_limit(64 * 1024 * 1024)
    size = 1 << 20
    while True:
        prefix = text[:size]
        buffer = io.StringIO(prefix, newline="")
        reader = csv.reader(buffer, delimiter=delimiter)
        records: list[list[str]] = []
        offsets: list[int] = []
        try:
            for _ in range(count):
                records.append(next(reader))
                offsets.append(buffer.tell())
        except StopIteration:
            pass
        except csv.Error:
            if len(prefix) == len(text):
                raise
            size *= 4
            continue
        # Done when the prefix is the whole text, or the last record wanted ended inside it.
        if len(prefix) == len(text) or (len(records) == count and offsets[-1] < len(prefix)):
            return records, offsets
        size *= 4


def detect_survey_format(records: list[list[str]]) -> str | None:
    """The survey layout from the header shape, or None when it is not one we know."""
    row1 = [c.strip() for c in records[0]] if records else []
    row2 = [c.strip() for c in records[1]] if len(records) > 1 else []
    if qualtrics.is_current_layout(records):  # either quoting of the ImportId row
        return "qualtrics"
    if qualtrics.is_legacy_layout(records):
        return "qualtrics_legacy"
    lowered = {c.lower() for c in row1}
    if set(LONG_REQUIRED) <= lowered:
        return "long"
    if row1 and row1[0] == "Timestamp":
        return "google_forms"
    if {"Response ID", "Date submitted"} <= set(row1) or {"id", "submitdate"} <= set(row1):
        return "limesurvey"
    if row2 and row2[0] == "" and any(c in ("Response", "Open-Ended Response") for c in row2):
        return "surveymonkey"
    if row1 and row1[0] in ("RespondentID", "Respondent ID") and row2 and row2[0] == "":
        return "surveymonkey"
    return None


def _shown(record: list[str]) -> str:
    # The shape only, never the cells: an unrecognised file may be anything (common.header_shape).
    return f"[{header_shape(record)}]"


def _format_problem(
    decoded: DecodedFile, records: list[list[str]], forced: str | None, seen: str | None
) -> FileProblem:
    row1 = _shown(records[0]) if records else "nothing"
    row2 = _shown(records[1]) if len(records) > 1 else "nothing"
    formats = ", ".join(SURVEY_FORMATS)
    if forced:
        detected = (
            f"its header looks like {seen}" if seen else "its header matches no known survey layout"
        )
        return FileProblem(
            str(decoded.path),
            f"the file does not have the {forced} layout that was forced "
            f"(row 1 has {row1}, row 2 has "
            f"{row2}; {detected})",
            fix=f"use --format {seen}"
            if seen
            else f"remove --format / the mapping's 'format:' or choose one of {formats}",
        )
    return FileProblem(
        str(decoded.path),
        f"the survey layout is not recognised (row 1 has {row1}, row 2 has {row2})",
        fix=f"name the layout with --format or the mapping key 'format:' (one of {formats})",
    )


def _check_forced(decoded: DecodedFile, records: list[list[str]], forced: str) -> None:
    """A forced format must fit the file's header, or the rows would be silently misread."""
    seen = detect_survey_format(records)
    row1 = [c.strip() for c in records[0]] if records else []
    fits = {
        "qualtrics": qualtrics.is_current_layout(records),
        "qualtrics_legacy": qualtrics.is_legacy_layout(records),
        "long": set(LONG_REQUIRED) <= {c.lower() for c in row1},
        "surveymonkey": seen in (None, "surveymonkey") and len(records) > 1,
        "csv": True,  # any one-header-row CSV, the mapping names every column
    }.get(forced, seen in (None, forced))
    if not fits:
        raise _format_problem(decoded, records, forced, seen)


def _unique_names(names: list[str]) -> list[str]:
    """Repeated names get ``.1``, ``.2`` like pandas; empty names become ``(column N)``."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"(column {i + 1})"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _column_names(file_format: str, records: list[list[str]]) -> list[str]:
    row1 = records[0]
    width = max(len(r) for r in records[: HEADER_ROWS[file_format]])
    row1 = row1 + [""] * (width - len(row1))
    if file_format == "qualtrics_legacy":
        row2 = records[1] + [""] * (width - len(records[1]))
        names = [
            label if re.fullmatch(r"V\d+", ident.strip()) and label.strip() else ident
            for ident, label in zip(row1, row2, strict=True)
        ]
    elif file_format == "surveymonkey":
        row2 = records[1] + [""] * (width - len(records[1]))
        names = []
        question = ""
        for top, sub in zip(row1, row2, strict=True):
            question = top.strip() or question  # the question is written once over its group
            sub = sub.strip()
            if not top.strip() and not question:
                names.append(sub)
            elif sub in ("", "Response", "Open-Ended Response"):
                names.append(top.strip() or question if not sub else question)
            else:
                names.append(f"{question} | {sub}")
    else:
        names = row1
    return _unique_names(names)


def read_layout(
    decoded: DecodedFile, file_format: str | None = None, *, allow_unknown: bool = False
) -> SurveyTable:
    """Read the header rows and body of a survey export (format detected unless forced)."""
    delimiter = sniff_delimiter(decoded.text[:65536])
    ensure_not_truncated(decoded, delimiter)
    try:
        records, offsets = _head_records(decoded.text, delimiter)
    except csv.Error as err:
        raise FileProblem(
            str(decoded.path),
            f"the CSV header is broken ({err})",
            fix="re-export the file; a quote is probably unbalanced or the file was truncated",
        ) from err
    if not records or not any(c.strip() for c in records[0]):
        raise FileProblem(
            str(decoded.path),
            "the file has no header row",
            fix="re-export the survey with its header row(s)",
        )
    if file_format:
        if file_format not in SURVEY_FORMATS:
            raise FileProblem(
                str(decoded.path),
                f"unknown survey format {file_format!r}",
                fix=f"use one of {', '.join(SURVEY_FORMATS)}",
            )
        _check_forced(decoded, records, file_format)
        chosen = file_format
    else:
        detected = detect_survey_format(records)
        if detected is None:
            if not allow_unknown:
                raise _format_problem(decoded, records, None, None)
            detected = "csv"
        chosen = detected
    header_rows = HEADER_ROWS[chosen]
    if len(records) < header_rows:
        raise FileProblem(
            str(decoded.path),
            f"the file ends inside its {header_rows} header rows ({chosen})",
            fix="re-export the whole file; it looks truncated",
        )
    names = _column_names(chosen, records)
    body = _read_body(decoded, decoded.text[offsets[header_rows - 1] :], delimiter, len(names))
    if body.shape[1] > len(names):
        names = names + [f"(column {i + 1})" for i in range(len(names), body.shape[1])]
    body.columns = names
    source_rows = np.arange(header_rows + 1, header_rows + 1 + len(body), dtype="int64")
    # Blank records (a stray empty line) hold nothing; test the first column before all of them.
    blank = np.ones(len(body), bool)
    if len(body.columns):
        blank = (body.iloc[:, 0] == "").to_numpy()
        if blank.any():
            blank[blank] = (body.loc[blank] == "").all(axis=1).to_numpy()
    if blank.any():  # (a copy of the whole body otherwise)
        body = body.loc[~blank].reset_index(drop=True)
        source_rows = source_rows[~blank]
    # Unnamed columns that hold nothing (legacy Qualtrics' trailing comma) are not columns.
    empty_unnamed = [c for c in names if c.startswith("(column ") and (body[c] == "").all()]
    body = body.drop(columns=empty_unnamed)
    return SurveyTable(chosen, list(body.columns), body, source_rows, header_rows)


def _read_body(decoded: DecodedFile, text: str, delimiter: str, width: int) -> pd.DataFrame:
    """Body records as strings in one pass of Arrow's CSV reader; ragged files go through csv.

    Arrow's reader is multi-threaded and about twice as fast as pandas' C parser on a 100k-row
    export; it refuses records with another number of fields than the header (blank lines,
    ragged rows), which then take pandas' C parser and, for rows wider than the header, csv.
    """
    if not text.strip():
        return pd.DataFrame({i: pd.Series(dtype=object) for i in range(width)})
    data = text.encode("utf-8")
    table = read_rectangular_csv(data, delimiter, width)
    if table is not None:
        # Converted column by column, each Arrow buffer released once converted (peak memory
        # of a 500,000-row export); repeated strings share one Python object.
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
        frame.columns = list(range(width))
        return frame
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=list(range(width)),
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=delimiter,
            encoding="utf-8",
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
        )
        return frame.fillna("")
    except (pd.errors.ParserError, ValueError):
        pass
    # Rows wider than the header: keep every field (no data is cut off), name extras later.
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise FileProblem(
            str(decoded.path),
            f"the CSV structure is broken ({err})",
            fix="re-export the file; a quote is probably unbalanced or the file was truncated",
        ) from err
    wide = max([width, *(len(r) for r in rows)])
    fixed = [r + [""] * (wide - len(r)) for r in rows]
    return pd.DataFrame(fixed, columns=list(range(wide)), dtype=object)


# ------------------------------------------------------------------------------------------
# Mapping applied to a layout
# ------------------------------------------------------------------------------------------


@dataclass
class RatingColumn:
    column: str
    provider: str
    dimension: str
    scale: Scale
    reversed: bool


@dataclass
class CommentColumn:
    column: str
    provider: str


def _missing_column(
    decoded: DecodedFile, sm: SurveyMapping, key: str, column: str, columns: list[str]
) -> FileProblem:
    close = difflib.get_close_matches(column, columns, n=3, cutoff=0.5)
    hint = f"; similar columns: {', '.join(repr(c) for c in close)}" if close else ""
    return FileProblem(
        str(decoded.path),
        f"the mapping {sm.mapping.name} names column {column!r} (key '{key}'), "
        f"which the file does not have{hint}",
        fix="correct the column name in the mapping "
        "(run 'ice-pipeline inspect FILE' to list the file's columns)",
    )


def _resolve_ratings(
    decoded: DecodedFile, sm: SurveyMapping, columns: list[str]
) -> list[RatingColumn]:
    resolved: dict[str, RatingColumn] = {}
    for rule in sm.ratings:
        if rule.column is not None:
            if rule.column not in columns:
                raise _missing_column(decoded, sm, f"{rule.key}.column", rule.column, columns)
            candidates = [(rule.column, None)]
        else:
            assert rule.pattern is not None
            candidates = [(c, m) for c in columns if (m := rule.pattern.search(c))]
            if not candidates:
                raise FileProblem(
                    str(decoded.path),
                    f"the mapping {sm.mapping.name} key '{rule.key}.pattern' "
                    f"({rule.pattern.pattern!r}) matches no "
                    "column of the file",
                    fix="correct the pattern (run 'ice-pipeline inspect FILE' to list the columns)",
                )
        for column, match in candidates:
            if column in resolved:
                continue  # the first rule that claims a column wins
            groups = match.groupdict() if match else {}
            provider_key = (
                rule.provider
                if rule.provider is not None
                else (groups.get("provider") or "").strip()
            )
            dimension_key = (
                rule.dimension
                if rule.dimension is not None
                else (groups.get("dimension") or "").strip()
            )
            if rule.providers and rule.provider is None and provider_key not in rule.providers:
                continue  # a column of a provider the mapping does not list stays unmapped
            if rule.dimensions and rule.dimension is None and dimension_key not in rule.dimensions:
                continue
            provider = rule.providers.get(provider_key, provider_key)
            dimension = rule.dimensions.get(dimension_key, dimension_key)
            if not provider or not dimension:
                continue
            reversed_item = (
                rule.reversed
                or dimension_key in rule.reversed_dimensions
                or dimension in rule.reversed_dimensions
            )
            resolved[column] = RatingColumn(column, provider, dimension, rule.scale, reversed_item)
    return [resolved[c] for c in columns if c in resolved]


def _resolve_comments(
    decoded: DecodedFile, sm: SurveyMapping, columns: list[str]
) -> list[CommentColumn]:
    resolved: dict[str, CommentColumn] = {}
    for rule in sm.comments:
        if rule.column is not None:
            if rule.column not in columns:
                raise _missing_column(decoded, sm, f"{rule.key}.column", rule.column, columns)
            candidates = [(rule.column, None)]
        else:
            assert rule.pattern is not None
            candidates = [(c, m) for c in columns if (m := rule.pattern.search(c))]
        for column, match in candidates:
            key = (
                rule.provider
                if rule.provider is not None
                else (match.groupdict().get("provider") or "").strip()
            )
            if rule.providers and rule.provider is None and key not in rule.providers:
                continue
            provider = rule.providers.get(key, key)
            if provider and column not in resolved:
                resolved[column] = CommentColumn(column, provider)
    return [resolved[c] for c in columns if c in resolved]


def _default_column(name: str | None, columns: list[str]) -> str | None:
    if name is None:
        return None
    for candidate in (name, *DEFAULT_ALIASES.get(name, ())):
        if candidate in columns:
            return candidate
    return None


def _mapped_column(
    decoded: DecodedFile,
    sm: SurveyMapping,
    key: str,
    explicit: str | None,
    default: str | None,
    columns: list[str],
) -> str | None:
    """The column a key names: the mapping's (must exist) or the format default (if present)."""
    if explicit is not None:
        if explicit not in columns:
            raise _missing_column(decoded, sm, key, explicit, columns)
        return explicit
    return _default_column(default, columns)


# ------------------------------------------------------------------------------------------
# Dates
# ------------------------------------------------------------------------------------------

_CLOCK_12H = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp])\.?[Mm]\.?"
)


def _to_24h(match: re.Match[str]) -> str:
    hour = int(match["h"]) % 12 + (12 if match["ampm"].lower() == "p" else 0)
    return f"{hour:02d}:{match['m']}:{match['s'] or '00'}"


@dataclass
class ResponseDates:
    values: pd.Series
    invalid: pd.Series
    ambiguous: pd.Series  # ambiguous under the order used
    quarantine_ambiguous: bool  # date_order auto: ambiguous values are not guessed


def parse_response_dates(raw: pd.Series, order: str) -> ResponseDates:
    """Response timestamps under the configured order; ``AUTO`` accepts only unambiguous values.

    12-hour clocks (``2:05:22 PM``, SurveyMonkey and Google Forms) are turned to 24-hour first.
    """
    text = raw.astype(object).where(raw.notna(), "").astype(str)
    if text.str.contains(r"[AaPp]\.?[Mm]", regex=True).any():
        text = text.str.replace(_CLOCK_12H, _to_24h, regex=True)
    text = text.str.replace(r"\s+(GMT|UTC)([+-]\d{1,2}(:?\d{2})?)?$", "", regex=True)
    if order != "AUTO":
        parsed = parse_dates(text, order)
        return ResponseDates(parsed.values, parsed.invalid, parsed.ambiguous, False)
    ymd = parse_dates(text, "YMD")
    dmy = parse_dates(text, "DMY")
    mdy = parse_dates(text, "MDY")
    ambiguous = ymd.values.isna() & dmy.ambiguous
    values = ymd.values.copy()
    fill = values.isna() & ~ambiguous
    values[fill] = dmy.values[fill]
    fill = values.isna() & ~ambiguous
    values[fill] = mdy.values[fill]
    invalid = ymd.invalid & dmy.invalid & mdy.invalid
    return ResponseDates(values, invalid.astype(bool), ambiguous.astype(bool), True)


# ------------------------------------------------------------------------------------------
# The reader
# ------------------------------------------------------------------------------------------


class _Quarantine:
    """Collects quarantine records (row, column, value, reason, reason kind) from each check."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self, rows: np.ndarray, column: str | np.ndarray, values: Any, reasons: Any, kind: str
    ) -> None:
        if len(rows) == 0:
            return
        self.parts.append(
            pd.DataFrame(
                {
                    "source_row": np.asarray(rows, dtype="int64"),
                    "column_name": column
                    if isinstance(column, str)
                    else np.asarray(column, dtype=object),
                    "value": np.asarray(values, dtype=object),
                    "reason": reasons
                    if isinstance(reasons, str)
                    else np.asarray(reasons, dtype=object),
                    "kind": kind,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=["source_row", "column_name", "value", "reason", "kind"])
        merged = pd.concat(self.parts, ignore_index=True)
        # The warehouse key is (file, row, column): keep the first problem found per cell.
        return merged.drop_duplicates(["source_row", "column_name"], keep="first")


def _exclusion_policy(sm: SurveyMapping, file_format: str) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "status_column": None,
        "excluded_status_values": list(DEFAULT_EXCLUDED_STATUS),
        "finished_column": None,
        "progress_column": None,
        "min_progress_pct": None,
    }
    policy.update(FORMAT_DEFAULTS.get(file_format, {}).get("exclude", {}))
    if file_format == "qualtrics" or file_format == "qualtrics_legacy":
        policy.setdefault("progress_column", "Progress")
    policy.update(sm.exclude or {})
    return policy


def _text_column(body: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series([""] * len(body), dtype=object)
    return body[column].astype(object)


def _empty_ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series(dtype=object),
            "respondent_id": pd.Series(dtype=object),
            "provider_department": pd.Series(dtype=object),
            "dimension": pd.Series(dtype=object),
            "consumer_department": pd.Series(dtype=object),
            "rating_raw": pd.Series(dtype="float64"),
            "scale_min": pd.Series(dtype="float64"),
            "scale_max": pd.Series(dtype="float64"),
            "reversed": pd.Series(dtype=bool),
            "score": pd.Series(dtype="float64"),
            "favourable": pd.Series(dtype=bool),
            "responded_at": pd.Series(dtype="datetime64[ns]"),
            "source_file": pd.Series(dtype=object),
            "source_sha256": pd.Series(dtype=object),
            "source_row": pd.Series(dtype="int64"),
        }
    )[RATING_COLUMNS]


def _periods(responded: pd.Series, cadence: str) -> pd.Series:
    """Period key per response, formatted once per distinct month (strftime per row is slow)."""
    months = responded.to_numpy().astype("datetime64[M]")
    distinct, position = np.unique(months, return_inverse=True)
    labels = period_of(pd.Series(distinct.astype("datetime64[ns]")), cadence).astype(object)
    labels = labels.where(labels.notna(), None).to_numpy(dtype=object)
    return pd.Series(labels[position.ravel()] if len(months) else [], dtype=object)


def _empty_comments() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COMMENT_COLUMNS})
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame


def read_survey(
    decoded: DecodedFile,
    mapping: Mapping,
    *,
    file_format: str | None = None,
    salt: str,
    hr_employees: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> ParseResult:
    """Parse one survey export with its mapping into ``survey_ratings`` and ``survey_comments``.

    ``file_format`` (the CLI's --format) wins over the mapping's ``format:``, which wins over
    detection. ``hr_employees`` is unused (surveys carry their own department column).
    """
    del hr_employees
    reference_now = now or datetime.now()
    sm = survey_mapping(mapping)
    # Without rating rules the file is only described (structural), so any CSV may be read.
    # Issue 16: lines above the header and extra header rows of layouts detection does not know.
    raw = dict(getattr(mapping, "raw", None) or {})
    decoded, skipped = skip_leading_lines(decoded, raw)
    table = read_layout(decoded, file_format or mapping.file_format, allow_unknown=not sm.ratings)
    table = shift_table(table, skipped, ExtraHeader.of(raw))
    fmt = table.file_format
    columns = table.columns
    body = table.body
    n = len(body)
    defaults = FORMAT_DEFAULTS[fmt]
    quarantine = _Quarantine()

    # --- which columns mean what -----------------------------------------------------------
    id_column = _mapped_column(
        decoded, sm, "respondent_id", sm.respondent_id, defaults.get("respondent_id"), columns
    )
    date_column = _mapped_column(
        decoded, sm, "responded_at", sm.responded_at, defaults.get("responded_at"), columns
    )
    dept_column = _mapped_column(
        decoded,
        sm,
        "consumer_department",
        sm.consumer_department,
        defaults.get("consumer_department"),
        columns,
    )
    policy = _exclusion_policy(sm, fmt)
    explicit_exclude = set((sm.exclude or {}).keys())
    policy_columns: dict[str, str | None] = {}
    for key in ("status_column", "finished_column", "progress_column"):
        name = policy.get(key)
        if key in explicit_exclude and name is not None:
            policy_columns[key] = _mapped_column(
                decoded, sm, f"exclude.{key}", str(name), None, columns
            )
        else:
            policy_columns[key] = _default_column(str(name), columns) if name else None

    long_format = fmt == "long"
    ratings: list[RatingColumn] = []
    comments: list[CommentColumn] = []
    if long_format:
        lower = {c.lower(): c for c in columns}
        missing = [c for c in LONG_REQUIRED if c not in lower]
        if missing:
            raise FileProblem(
                str(decoded.path),
                f"the long survey file lacks column(s) {', '.join(missing)}",
                fix=f"write the columns {', '.join(LONG_REQUIRED)}, responded_at",
            )
        scale_spec = mapping.get("scale")
        if scale_spec is None:
            raise sm.mapping.error(
                "scale",
                "a long survey file needs the rating scale",
                "add 'scale: 1-5' (or a name from 'scales:') to the mapping",
            )
        long_scale = sm.scales.get(str(scale_spec)) if isinstance(scale_spec, str) else None
        if long_scale is None:
            long_scale = parse_scale(sm.mapping, "scale", str(scale_spec), scale_spec)
        long_reversed = {str(d) for d in (mapping.get("reversed_dimensions") or [])}
    else:
        ratings = _resolve_ratings(decoded, sm, columns)
        comments = _resolve_comments(decoded, sm, columns)
    structural = not long_format and not ratings
    if not structural and dept_column is None and sm.consumer_department_fixed is None:
        raise sm.mapping.error(
            "consumer_department",
            "the mapping does not say which column holds the respondent's department",
            "add 'consumer_department: COLUMN' "
            "(or 'consumer_department_fixed: NAME' for a one-department survey)",
        )

    mapped = [c for c in (id_column, date_column, dept_column, *policy_columns.values()) if c]
    if long_format:
        mapped += [lower[c] for c in LONG_REQUIRED] + [lower[c] for c in ("comment",) if c in lower]
    mapped += [r.column for r in ratings] + [c.column for c in comments]
    mapped = list(dict.fromkeys(mapped))
    # A column the mapping uses is data by decision (a region as the department, an e-mail as
    # the respondent id, which is hashed); every other personal column is dropped.
    personal = [c for c in columns if is_personal_column(c) and c not in mapped]
    unmapped = [c for c in columns if c not in mapped and c not in personal]
    # Personal columns never travel further than this line.
    body = body.drop(columns=[c for c in personal if c in body.columns])

    # --- exclusions (policy, counted, not errors) ------------------------------------------
    excluded = np.full(n, None, dtype=object)
    if policy_columns["status_column"]:
        status = body[policy_columns["status_column"]].str.strip()
        excluded_values = {str(v).strip() for v in policy.get("excluded_status_values") or []}
        hit = status.isin(excluded_values).to_numpy()
        labels = status.map(lambda v: QUALTRICS_STATUS_NAMES.get(v, v)).to_numpy()
        excluded[hit] = np.array([f"status {label}" for label in labels[hit]], dtype=object)
    if policy_columns["finished_column"]:
        finished = body[policy_columns["finished_column"]].str.strip().str.lower()
        hit = finished.isin(NOT_FINISHED_VALUES).to_numpy() & (excluded == None)  # noqa: E711
        excluded[hit] = "not finished"
    if policy_columns["progress_column"] and policy.get("min_progress_pct") is not None:
        progress = pd.to_numeric(
            body[policy_columns["progress_column"]], errors="coerce"
        ).to_numpy()
        threshold = float(policy["min_progress_pct"])
        hit = (np.nan_to_num(progress, nan=-1.0) < threshold) & (excluded == None)  # noqa: E711
        excluded[hit] = f"progress below {threshold:g}%"

    # --- the answers: one cell per (record, rating column), classified per distinct value ---
    if long_format:
        k = 1
        cell_record = np.arange(n, dtype="int64")
        cell_raw = body[lower["rating"]].to_numpy(dtype=object)
        # Per-answer properties, indexed by cell_item: here one entry per record.
        cell_item = np.arange(n, dtype="int64")
        # One display name per spelling (names.py) before answers are compared for repeats.
        item_provider, provider_variants = harmonise_array(
            body[lower["provider"]].str.strip().to_numpy(dtype=object)
        )
        item_dimension, dimension_variants = harmonise_array(
            body[lower["dimension"]].str.strip().to_numpy(dtype=object)
        )
        item_column = np.full(n, lower["rating"], dtype=object)
        cell_scale = np.zeros(n, dtype="int64")
        # Reversed dimensions match whatever spelling the file uses (compared folded).
        folded_reversed = {fold(d) for d in long_reversed}
        reversed_names = [
            d for d in pd.unique(item_dimension) if d is not None and fold(d) in folded_reversed
        ]
        cell_reversed = np.isin(item_dimension, reversed_names)
        scales = [long_scale]
    else:
        k = len(ratings)
        scales = list({id(r.scale): r.scale for r in ratings}.values())
        scale_pos = {id(s): i for i, s in enumerate(scales)}
        cell_record = np.repeat(np.arange(n, dtype="int64"), k)
        cell_raw = (
            body[[r.column for r in ratings]].to_numpy(dtype=object).ravel()
            if k
            else np.empty(0, object)
        )
        # Per-answer properties, indexed by cell_item: one entry per rating column. Cells refer
        # to them by number instead of repeating k strings per record (memory at 12.5M cells).
        cell_item = np.tile(np.arange(k, dtype="int64"), n)
        # Rating and comment columns share provider names; one display name per spelling.
        named, provider_variants = harmonise_array(
            np.array([r.provider for r in ratings] + [c.provider for c in comments], dtype=object)
        )
        item_provider = named[:k]
        comments = [
            CommentColumn(c.column, str(p)) for c, p in zip(comments, named[k:], strict=True)
        ]
        item_dimension, dimension_variants = harmonise_array(
            np.array([r.dimension for r in ratings], dtype=object)
        )
        item_column = np.array([r.column for r in ratings], dtype=object)
        cell_scale = np.tile(np.array([scale_pos[id(r.scale)] for r in ratings], dtype="int64"), n)
        cell_reversed = np.tile(np.array([r.reversed for r in ratings], dtype=bool), n)
    if len(cell_raw):
        codes, uniques = pd.factorize(cell_raw)
        # Rows sharing an answer number share every per-answer column (used by _validate_ratings).
        if long_format:
            provider_codes = pd.factorize(item_provider)[0]
            dimension_codes = pd.factorize(item_dimension)[0]
            cell_answer = (
                provider_codes.astype("int64") * (dimension_codes.max() + 1) + dimension_codes
            ) * (len(uniques) + 1) + codes
        else:
            cell_answer = np.tile(np.arange(k, dtype="int64"), n) * (len(uniques) + 1) + codes
        value_table, state_table, reason_table = classify_answers(
            np.asarray(uniques, dtype=object), scales, sm.not_applicable
        )
        cell_value = value_table[cell_scale, codes]
        cell_state = state_table[cell_scale, codes]
    else:
        codes = np.empty(0, dtype="int64")
        cell_answer = np.empty(0, dtype="int64")
        reason_table = np.empty((len(scales), 0), dtype=object)
        cell_value = np.empty(0)
        cell_state = np.empty(0, dtype="int8")
    answered = np.bincount(cell_record[cell_state >= 2], minlength=n) > 0
    if not structural:
        hit = ~answered & (excluded == None)  # noqa: E711
        excluded[hit] = "no rating answered"
    is_excluded = excluded != None  # noqa: E711
    live = ~is_excluded

    # --- record-level checks: id, date, department -----------------------------------------
    rows = table.source_rows
    rejected = np.zeros(n, dtype=bool)
    if id_column is not None:
        raw_ids = body[id_column].str.strip()
    else:
        # Layouts without a response id (Google Forms): the record's place in this file.
        raw_ids = pd.Series([f"{decoded.sha256[:16]}:{r}" for r in rows], dtype=object)
    if id_column is not None and not structural:
        missing_id = (raw_ids == "").to_numpy() & live
        quarantine.add(
            rows[missing_id],
            id_column,
            raw_ids[missing_id],
            "missing respondent id",
            "missing respondent id",
        )
        rejected |= missing_id
        if not long_format:
            candidates = live & ~missing_id
            ids_live = raw_ids[candidates]
            first_row = (
                pd.Series(rows[candidates], index=ids_live.index)
                .groupby(ids_live.to_numpy())
                .transform("min")
            )
            dup_index = ids_live.index[ids_live.duplicated(keep="first").to_numpy()]
            if len(dup_index):
                dup_ids = raw_ids.loc[dup_index].to_numpy()
                if is_personal_column(id_column):
                    # An e-mail used as the id must not reach the quarantine table in clear.
                    dup_ids = pseudonymize(pd.Series(dup_ids, dtype=object), salt).to_numpy(
                        dtype=object
                    )
                reasons = [
                    f"duplicate response id {rid} (first seen on row {first})"
                    for rid, first in zip(dup_ids, first_row.loc[dup_index].to_numpy(), strict=True)
                ]
                quarantine.add(
                    rows[dup_index.to_numpy()], id_column, dup_ids, reasons, "duplicate response id"
                )
                rejected[dup_index.to_numpy()] = True

    responded = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    ambiguous_count = 0
    date_order = (mapping.date_order or defaults["date_order"]).upper()
    if date_column is not None:
        raw_dates = body[date_column].str.strip()
        dates = parse_response_dates(raw_dates, date_order)
        responded = dates.values.reset_index(drop=True)
        ambiguous_count = int((dates.ambiguous.to_numpy() & live).sum())
        if not structural:
            present = (raw_dates != "").to_numpy()
            bad = dates.invalid.to_numpy() & present & live
            quarantine.add(
                rows[bad],
                date_column,
                raw_dates[bad],
                [f"unparsable date '{v[:60]}'" for v in raw_dates[bad]],
                "unparsable date",
            )
            unsure = (
                dates.ambiguous.to_numpy() & live & ~bad
                if dates.quarantine_ambiguous
                else np.zeros(n, bool)
            )
            quarantine.add(
                rows[unsure],
                date_column,
                raw_dates[unsure],
                [
                    f"ambiguous date '{v}' under date_order auto "
                    "(day and month could be either way)"
                    for v in raw_dates[unsure]
                ],
                "ambiguous date",
            )
            responded[unsure] = pd.NaT
            future = (responded > pd.Timestamp(reference_now)).to_numpy() & live
            quarantine.add(
                rows[future],
                date_column,
                raw_dates[future],
                [f"responded_at in the future ({t:%Y-%m-%d})" for t in responded[future]],
                "responded_at in the future",
            )
            rejected |= bad | unsure | future
            if sm.period_value is None:
                no_date = ~present & live
                quarantine.add(
                    rows[no_date],
                    date_column,
                    raw_dates[no_date],
                    "missing response date",
                    "missing response date",
                )
                rejected |= no_date
    elif not structural and sm.period_value is None:
        raise sm.mapping.error(
            "responded_at",
            "the file has no response date column the mapping names",
            "add 'responded_at: COLUMN', or 'period_value: YYYY-MM' for an export without dates",
        )
    if sm.period_value is not None:
        periods = pd.Series([sm.period_value] * n, dtype=object)
    else:
        periods = _periods(responded, mapping.cadence)

    if sm.consumer_department_fixed is not None:
        departments = pd.Series([sm.consumer_department_fixed] * n, dtype=object)
    elif dept_column is not None:
        raw_dept = body[dept_column].str.strip()
        departments = raw_dept.copy()
        if not structural:
            missing_dept = (raw_dept == "").to_numpy() & live
            quarantine.add(
                rows[missing_dept],
                dept_column,
                raw_dept[missing_dept],
                "missing respondent department",
                "missing respondent department",
            )
            rejected |= missing_dept
            if sm.consumer_department_values:
                departments = raw_dept.map(sm.consumer_department_values)
                unknown = departments.isna().to_numpy() & ~missing_dept & live
                quarantine.add(
                    rows[unknown],
                    dept_column,
                    raw_dept[unknown],
                    [
                        f"unknown department code '{v[:60]}' (not in consumer_department_values)"
                        for v in raw_dept[unknown]
                    ],
                    "unknown department code",
                )
                rejected |= unknown
    else:
        departments = pd.Series([None] * n, dtype=object)

    # --- cells: quarantine invalid answers, keep valid ones of good records ------------------
    good_record = live & ~rejected
    cell_live = good_record[cell_record] if len(cell_record) else np.zeros(0, bool)
    invalid_cells = np.flatnonzero(cell_live & (cell_state >= 3))
    if len(invalid_cells):
        label_scale = np.array([bool(s.labels) for s in scales])[cell_scale[invalid_cells]]
        states = cell_state[invalid_cells]
        kinds = np.where(label_scale, "unknown rating label", "rating not a number").astype(object)
        for state, kind in REJECTED_KINDS.items():
            kinds[states == state] = kind
        for kind in np.unique(kinds):
            pick = invalid_cells[kinds == kind]
            quarantine.add(
                rows[cell_record[pick]],
                item_column[cell_item[pick]],
                cell_raw[pick],
                reason_table[cell_scale[pick], codes[pick]],
                str(kind),
            )
    keep_cells = np.flatnonzero(cell_live & (cell_state == 2))
    pseudonyms = pseudonymize(raw_ids.where(raw_ids != "", None), salt).to_numpy(dtype=object)
    rec = cell_record[keep_cells]
    low = (
        np.array([s.scale_min for s in scales])[cell_scale[keep_cells]]
        if len(scales)
        else np.empty(0)
    )
    high = (
        np.array([s.scale_max for s in scales])[cell_scale[keep_cells]]
        if len(scales)
        else np.empty(0)
    )
    raw_values = cell_value[keep_cells]
    rev = cell_reversed[keep_cells]
    n_kept = len(keep_cells)
    item = cell_item[keep_cells]
    # Text columns are built as categoricals: codes taken per rating row from the record's or
    # the answer's value, never one Python string per rating (2.5M-12.5M rows; time and memory).
    # copy=False keeps one block per column: consolidating 2.5M-row columns costs seconds.
    ratings_frame = (
        pd.DataFrame(
            {
                "period": categorical_take(periods.to_numpy(dtype=object), rec),
                "respondent_id": categorical_take(pseudonyms, rec),
                "provider_department": categorical_take(item_provider, item),
                "dimension": categorical_take(item_dimension, item),
                "consumer_department": categorical_take(departments.to_numpy(dtype=object), rec),
                "rating_raw": raw_values.astype("float64"),
                "scale_min": low.astype("float64"),
                "scale_max": high.astype("float64"),
                "reversed": rev.astype(bool),
                "score": np.asarray(to_score(raw_values, low, high, rev), dtype="float64"),
                "favourable": np.asarray(is_favourable(raw_values, low, high, rev), dtype=bool),
                "responded_at": responded.to_numpy()[rec],
                "source_file": categorical_take(np.array([str(decoded.path)], object), 0 * rec),
                "source_sha256": categorical_take(np.array([decoded.sha256], object), 0 * rec),
                "source_row": rows[rec].astype("int64"),
                "source_column": categorical_take(item_column, item),
                "source_answer": cell_answer[keep_cells],
            },
            copy=False,
        )
        if n_kept
        else _empty_ratings().assign(
            source_column=pd.Series(dtype=object), source_answer=pd.Series(dtype="int64")
        )
    )

    # The same provider and dimension twice for one respondent and period (two columns mapped to
    # it, or a repeated row in a long file): the first is kept, the others quarantined.
    pairs = list(zip(item_provider, item_dimension, strict=True)) if not long_format else []
    if len(ratings_frame) and (long_format or len(set(pairs)) < len(pairs)):
        key = ["period", "respondent_id", "provider_department", "dimension"]
        dup = ratings_frame.duplicated(key, keep="first").to_numpy()
        if dup.any():
            first_rows = (
                ratings_frame.groupby(key, sort=False, observed=True)["source_row"]
                .transform("min")
                .to_numpy()
            )
            quarantine.add(
                ratings_frame["source_row"].to_numpy()[dup],
                ratings_frame["source_column"].to_numpy()[dup],
                cell_raw[keep_cells][dup],
                [
                    f"second rating of {p} on {d} by the same respondent in {per} "
                    f"(first seen on row {f})"
                    for p, d, per, f in zip(
                        ratings_frame["provider_department"].to_numpy()[dup],
                        ratings_frame["dimension"].to_numpy()[dup],
                        ratings_frame["period"].to_numpy()[dup],
                        first_rows[dup],
                        strict=True,
                    )
                ],
                "duplicate rating",
            )
            ratings_frame = ratings_frame.loc[~dup].reset_index(drop=True)
    ratings_not_applicable = (
        int(((cell_state == 1) & live[cell_record]).sum()) if len(cell_state) else 0
    )
    # One element per (response, rating column): at 500,000 respondents each of these holds
    # 12.5M entries; release them before validation builds its own copies (peak memory).
    del cell_raw, cell_item, cell_value, cell_state, cell_record, item
    del cell_scale, cell_reversed, cell_answer, keep_cells, rec, raw_values, rev, low, high

    # --- comments ---------------------------------------------------------------------------
    comment_parts: list[pd.DataFrame] = []
    comment_sources: list[tuple[str, pd.Series]] = []
    if long_format and "comment" in lower:
        comment_sources.append((lower["comment"], pd.Series(item_provider, dtype=object)))
    for spec in comments:
        comment_sources.append((spec.column, pd.Series([spec.provider] * n, dtype=object)))
    for column, providers in comment_sources:
        text = body[column]
        has_text = (text != "").to_numpy() & good_record & answered
        has_text[has_text] = (text[has_text].str.strip() != "").to_numpy()
        too_long = has_text.copy()
        too_long[has_text] = (text[has_text].str.len() > sm.comment_max_chars).to_numpy()
        quarantine.add(
            rows[too_long],
            column,
            text[too_long].str.slice(0, 200),
            [
                f"comment of {len(t):,} characters is over the "
                f"{sm.comment_max_chars:,}-character limit"
                for t in text[too_long]
            ],
            "comment too long",
        )
        pick = has_text & ~too_long
        comment_parts.append(
            pd.DataFrame(
                {
                    "period": periods.to_numpy(dtype=object)[pick],
                    "respondent_id": pseudonyms[pick],
                    "provider_department": providers.to_numpy(dtype=object)[pick],
                    "consumer_department": departments.to_numpy(dtype=object)[pick],
                    "comment_text": text.to_numpy(dtype=object)[pick],
                    "source_file": str(decoded.path),
                    "source_sha256": decoded.sha256,
                    "source_row": rows[pick].astype("int64"),
                    "source_column": column,
                }
            )
        )
    if comment_parts:
        comments_frame = pd.concat(comment_parts, ignore_index=True)
        comment_key = ["period", "respondent_id", "provider_department"]
        if comments_frame.duplicated(comment_key).any():
            # Several comment columns about one provider: one comment, texts joined in column order.
            comments_frame = (
                comments_frame.sort_values("source_row", kind="stable")
                .groupby(comment_key, sort=False, as_index=False)
                .agg(
                    {
                        "consumer_department": "first",
                        "comment_text": "\n\n".join,
                        "source_file": "first",
                        "source_sha256": "first",
                        "source_row": "first",
                        "source_column": "first",
                    }
                )
            )
    else:
        comments_frame = _empty_comments().assign(source_column=pd.Series(dtype=object))

    # --- pandera validation of the canonical frames (the net under the checks above) -----------
    quarantine_parts = []
    if not structural:
        ratings_frame, comments_frame, extra = _validate(decoded, ratings_frame, comments_frame)
        quarantine_parts.append(extra)
    else:
        ratings_frame = _empty_ratings()
        comments_frame = _empty_comments()

    found = quarantine.frame()
    quarantine_parts.insert(
        0,
        quarantine_frame(
            FEED,
            decoded,
            found["source_row"],
            found["column_name"],
            found["value"],
            found["reason"],
        )
        if len(found)
        else empty_quarantine(),
    )
    quarantined = (
        pd.concat([q for q in quarantine_parts if len(q)], ignore_index=True)
        if any(len(q) for q in quarantine_parts)
        else empty_quarantine()
    )
    quarantined = quarantined.drop_duplicates(
        ["source_row", "column_name"], keep="first"
    ).reset_index(drop=True)

    kept_rows = set(ratings_frame["source_row"].tolist())
    source_row_index = {r: i for i, r in enumerate(rows.tolist())}
    kept_mask = np.zeros(n, dtype=bool)
    kept_mask[[source_row_index[r] for r in kept_rows]] = True
    rows_excluded = int(is_excluded.sum())
    rows_kept = int(kept_mask.sum())
    excluded_by_reason = {
        str(k): int(v) for k, v in pd.Series(excluded[is_excluded]).value_counts().items()
    }
    by_kind = found["kind"].value_counts().to_dict() if len(found) else {}
    validation_rows = len(quarantined) - len(found)
    if validation_rows > 0:
        by_kind["failed validation"] = validation_rows
    counts = {
        "rows_read": n,
        "rows_kept": rows_kept,
        "rows_excluded": rows_excluded,
        "rows_quarantined": 0 if structural else n - rows_kept - rows_excluded,
        "ratings": len(ratings_frame),
        "ratings_not_applicable": ratings_not_applicable,
        "ratings_quarantined": int(len(invalid_cells)),
        "comments": len(comments_frame),
        "respondents": int(ratings_frame["respondent_id"].nunique()),
    }
    if structural:
        # Described, not scored: every record is counted as excluded so read = kept +
        # quarantined + excluded holds (the landing folder refuses such a file, feeds.py).
        counts["rows_kept"] = 0
        counts["rows_excluded"] = n
        excluded_by_reason = {STRUCTURAL_REASON: n} if n else {}
    return ParseResult(
        feed=FEED,
        source_file=str(decoded.path),
        source_sha256=decoded.sha256,
        file_format=fmt,
        encoding=decoded.encoding,
        tables={
            "survey_ratings": compact_text_columns(ratings_frame),
            "survey_comments": comments_frame,
        },
        quarantine=quarantined,
        counts=counts,
        excluded_by_reason=excluded_by_reason,
        quarantined_by_reason={str(k): int(v) for k, v in by_kind.items()},
        name_variants={
            group: found
            for group, found in (
                ("departments", provider_variants),
                ("dimensions", dimension_variants),
            )
            if found
        },
        columns_mapped=[] if structural else mapped,
        columns_unmapped=columns if structural else unmapped,
        ambiguous_dates=ambiguous_count,
    )


# Above this many rating rows pandera runs on representative rows (see _validate_ratings).
FULL_VALIDATION_MAX_ROWS = 200_000
_RECORD_FIELDS = {
    "period",
    "respondent_id",
    "consumer_department",
    "responded_at",
    "source_file",
    "source_sha256",
    "source_row",
}


def _validate_ratings(
    decoded: DecodedFile, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pandera over survey_ratings; large frames are validated through representative rows.

    Every column of a rating row is either a property of its response record (period, ids,
    department, date, provenance) or of its answer (column, provider, dimension, value, and the
    score and flags computed from them). Validating the first row of every record plus the first
    row of every distinct answer checks every value that occurs, at the cost of the wide export
    instead of the 25x longer melted table. A failure found there is applied to every row that
    shares the failing record or answer. Key uniqueness is guaranteed before this point (response
    ids and provider-dimension pairs are checked by the reader).
    """
    from ice_pipeline.ingest.validation import validate_canonical

    if len(frame) <= FULL_VALIDATION_MAX_ROWS:
        good, bad = validate_canonical(
            "survey_ratings", text_columns(frame.drop(columns="source_answer")), FEED, decoded
        )
        return good[RATING_COLUMNS].reset_index(drop=True), bad
    groups = frame["source_answer"].to_numpy()
    rows = frame["source_row"].to_numpy()
    _, first_of_record = np.unique(rows, return_index=True)
    _, first_of_answer = np.unique(groups, return_index=True)
    pick = np.union1d(first_of_record, first_of_answer)
    sample = text_columns(frame.iloc[pick].reset_index(drop=True))
    _, bad = validate_canonical("survey_ratings", sample, FEED, decoded)
    source_columns = frame["source_column"]
    # Deleting the helper columns in place keeps the per-column blocks (selecting would copy them).
    good_frame = frame
    del good_frame["source_column"]
    del good_frame["source_answer"]
    if not len(bad):
        return good_frame, bad
    source_columns = source_columns.to_numpy(dtype=object)
    failed = np.zeros(len(frame), dtype=bool)
    extra: list[pd.DataFrame] = []
    sample_rows = sample["source_row"].to_numpy()
    sample_columns = sample["source_column"].to_numpy()
    for source_row, column_name, value, reason in bad[
        ["source_row", "column_name", "value", "reason"]
    ].itertuples(index=False):
        field_match = re.search(r"\(([^()]*)\)$", str(column_name))
        field = field_match.group(1) if field_match else str(column_name)
        if field in _RECORD_FIELDS:
            failed |= rows == source_row
            continue
        source_column = str(column_name)[: field_match.start()].strip() if field_match else None
        hit = np.flatnonzero((sample_rows == source_row) & (sample_columns == source_column))
        if not len(hit):
            failed |= rows == source_row
            continue
        same_answer = groups == groups[pick[hit[0]]]
        others = same_answer & ~failed & (rows != source_row)
        failed |= same_answer
        if others.any():
            extra.append(
                quarantine_frame(
                    FEED,
                    decoded,
                    rows[others],
                    pd.Series(source_columns[others]).astype(str) + f" ({field})",
                    [value] * int(others.sum()),
                    reason,
                )
            )
    # A row pandera already reported keeps its own record (the quarantine key is row + column).
    quarantined = pd.concat([bad, *extra], ignore_index=True).drop_duplicates(
        ["source_row", "column_name"]
    )
    return good_frame.loc[~failed].reset_index(drop=True), quarantined


def _validate(
    decoded: DecodedFile, ratings_frame: pd.DataFrame, comments_frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the pandera models (validation.validate_canonical) over both canonical frames."""
    from ice_pipeline.ingest.validation import validate_canonical

    good_ratings, bad_ratings = _validate_ratings(decoded, ratings_frame)
    good_comments, bad_comments = validate_canonical(
        "survey_comments", comments_frame, FEED, decoded
    )
    bad = [q for q in (bad_ratings, bad_comments) if len(q)]
    return (
        good_ratings,
        good_comments[COMMENT_COLUMNS].reset_index(drop=True),
        pd.concat(bad, ignore_index=True) if bad else empty_quarantine(),
    )


def structural_summary(decoded: DecodedFile, file_format: str | None = None) -> dict[str, Any]:
    """A survey-like export without a mapping: layout, rows, columns, periods."""
    table = read_layout(decoded, file_format, allow_unknown=True)
    summary: dict[str, Any] = {
        "format": table.file_format,
        "header_rows": table.header_rows,
        "rows_read": len(table.body),
        "columns": table.columns,
    }
    date_column = _default_column(
        FORMAT_DEFAULTS.get(table.file_format, {}).get("responded_at"), table.columns
    )
    summary["date_column"] = date_column
    if date_column:
        order = FORMAT_DEFAULTS[table.file_format]["date_order"]
        dates = parse_response_dates(table.body[date_column].str.strip(), order)
        summary["periods"] = sorted(period_of(dates.values).dropna().unique().tolist())
        summary["ambiguous_dates"] = int(dates.ambiguous.sum())
    return summary
