"""Mapping files: finding, loading and validating the YAML that says what an export's columns mean.

Belongs here: ``find_mapping`` (NAME.mapping.yaml beside the file, else mapping.yaml in its
folder), ``load_mapping`` (YAML -> ``Mapping``, common keys checked), and the typed survey
mapping (``SurveyMapping`` with its scales, rating and comment rules, exclusion policy) that
``surveys.py`` applies. Ticket, HR and external readers read ``Mapping.raw`` with the helpers.
The format is documented in docs/mappings.md; every problem names the mapping file, the key and
the fix.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ice_pipeline.errors import ConfigError
from ice_pipeline.ingest.common import FEEDS
from ice_pipeline.ingest.mapping_schema import check_mapping_schema

FORMATS: dict[str, tuple[str, ...]] = {
    "surveys": (
        "qualtrics",
        "qualtrics_legacy",
        "surveymonkey",
        "limesurvey",
        "google_forms",
        "long",
        "csv",
    ),
    "tickets": ("servicenow", "servicenow_audit", "jira", "zendesk", "generic"),
    "hr": ("roster", "snapshot"),
    "external": ("nps_responses", "csat_responses", "metrics"),
}
DATE_ORDERS = ("YMD", "DMY", "MDY", "AUTO")
CADENCES = ("month", "quarter")

DEFAULT_NOT_APPLICABLE: tuple[str, ...] = (
    "-1",
    "-2",
    "N/A",
    "Unfamiliar (N/A)",
    "No basis for evaluation",
    "NA",
)
COMMENT_MAX_CHARS = 10_000


def is_mapping_file(path: Path) -> bool:
    return path.name == "mapping.yaml" or path.name.endswith(".mapping.yaml")


def find_mapping(export_path: Path) -> Path | None:
    """``NAME.mapping.yaml`` beside ``NAME.csv``, else ``mapping.yaml`` in its folder, else None."""
    export_path = Path(export_path)
    own = export_path.with_name(f"{export_path.stem}.mapping.yaml")
    if own.is_file():
        return own
    shared = export_path.with_name("mapping.yaml")
    return shared if shared.is_file() else None


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping file: the YAML dict as written, where it came from, and the common keys."""

    raw: dict[str, Any]
    path: Path | None

    @classmethod
    def empty(cls) -> "Mapping":
        """The mapping of a file that has none (structural reading only)."""
        return cls(raw={}, path=None)

    @property
    def name(self) -> str:
        return str(self.path) if self.path else "(no mapping)"

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @property
    def feed(self) -> str | None:
        return self.raw.get("feed")

    @property
    def file_format(self) -> str | None:
        return self.raw.get("format")

    @property
    def encoding(self) -> str:
        return str(self.raw.get("encoding") or "auto")

    @property
    def date_order(self) -> str | None:
        value = self.raw.get("date_order")
        return str(value).upper() if value else None

    @property
    def cadence(self) -> str:
        return str(self.raw.get("period") or "month")

    def error(self, key: str, problem: str, fix: str) -> ConfigError:
        """A ConfigError naming this mapping file and the key."""
        return ConfigError(f"{self.name} key '{key}'", problem, fix=fix)

    def columns(self) -> dict[str, str]:
        """The ``columns:`` block (canonical name -> export column), checked to be text -> text."""
        block = self.raw.get("columns") or {}
        if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
            raise self.error(
                "columns",
                "must map canonical names to export column names (text)",
                "write it as 'columns: {ticket_id: number, opened_at: opened_at}'",
            )
        return {str(k): v for k, v in block.items()}


def load_mapping(path: Path) -> Mapping:
    """Read a mapping file and check its common keys (and a survey mapping's keys)."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise ConfigError(
            where,
            "the mapping file does not exist",
            fix="check the path given to --mapping, or write the mapping (docs/mappings.md)",
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            where, f"the mapping file cannot be read ({err})", fix="save it as UTF-8 text"
        ) from err
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            where,
            f"the mapping is not valid YAML{line} ({getattr(err, 'problem', err)})",
            fix="fix the YAML syntax; docs/mappings.md has examples",
        ) from err
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            where,
            "the mapping must be a YAML mapping of keys to values",
            fix="start the file with 'feed: surveys' and the keys in docs/mappings.md",
        )
    mapping = Mapping(raw=raw, path=path)
    feed = raw.get("feed")
    if feed is not None and feed not in FEEDS:
        raise mapping.error("feed", f"unknown feed {feed!r}", f"use one of {', '.join(FEEDS)}")
    check_mapping_schema(raw, where, feed)
    file_format = raw.get("format")
    if file_format is not None:
        allowed = FORMATS.get(str(feed), tuple(f for fs in FORMATS.values() for f in fs))
        if file_format not in allowed:
            raise mapping.error(
                "format",
                f"unknown format {file_format!r}" + (f" for feed {feed}" if feed else ""),
                f"use one of {', '.join(allowed)}, or remove the key to detect it",
            )
    if mapping.date_order is not None and mapping.date_order not in DATE_ORDERS:
        raise mapping.error(
            "date_order",
            f"unknown date order {raw.get('date_order')!r}",
            "use YMD, DMY, MDY or auto",
        )
    if mapping.cadence not in CADENCES:
        raise mapping.error(
            "period", f"unknown period cadence {raw.get('period')!r}", "use month or quarter"
        )
    refuse_quarters(mapping)
    if feed == "surveys" or (feed is None and any(k in raw for k in ("ratings", "scales"))):
        survey_mapping(mapping)  # validate eagerly so a bad mapping fails before any file is read
    return mapping


def refuse_quarters(mapping: Mapping) -> None:
    """``period: quarter`` and a quarter ``period_value`` are refused (docs/mappings.md, Periods).

    Every period-scoped table is partitioned by month, so rows keyed ``2026-Q3`` would be read by
    no partition and lost in silence; a quarterly wave lands in the months it was answered in.
    """
    if mapping.cadence == "quarter":
        raise mapping.error(
            "period",
            "quarterly results are not supported: every partition is a month, so rows keyed "
            "YYYY-Qn would never be computed",
            "remove 'period: quarter' (or write 'period: month'); a quarterly wave is computed "
            "in the month(s) it was answered in",
        )
    value = mapping.raw.get("period_value")
    if value is not None and re.fullmatch(r"\s*\d{4}-Q[1-4]\s*", str(value)):
        raise mapping.error(
            "period_value",
            f"{value!r} is a quarter, but every partition is a month",
            "write the month the answers belong to, e.g. 'period_value: 2026-09'",
        )


def check_for_feed(mapping: Mapping, feed: str) -> None:
    """Check a mapping that names no ``feed:`` against the keys of the feed it is read as."""
    if mapping.path is not None and mapping.feed is None:
        check_mapping_schema(mapping.raw, str(mapping.path), feed)


# ------------------------------------------------------------------------------------------
# The typed survey mapping
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """A rating scale: numeric ``min``..``max``, or text ``labels`` lowest first (i -> i+1)."""

    name: str
    scale_min: float
    scale_max: float
    labels: tuple[str, ...] = ()
    decimals: bool = False  # fractions between the points are answers (``decimals: true``)

    @property
    def describe(self) -> str:
        return f"{self.scale_min:g}-{self.scale_max:g}"


@dataclass(frozen=True)
class RatingRule:
    """Rating columns: one ``column``, or a ``pattern`` with groups provider/dimension."""

    key: str  # 'ratings[3]', for messages
    column: str | None
    pattern: re.Pattern[str] | None
    provider: str | None
    dimension: str | None
    providers: dict[str, str]
    dimensions: dict[str, str]
    scale: Scale
    reversed: bool
    reversed_dimensions: tuple[str, ...]


@dataclass(frozen=True)
class CommentRule:
    key: str
    column: str | None
    pattern: re.Pattern[str] | None
    provider: str | None
    providers: dict[str, str]


@dataclass(frozen=True)
class ExclusionPolicy:
    """Which responses are not data (previews, tests, spam, incomplete); all are counted."""

    status_column: str | None
    excluded_status_values: tuple[str, ...]
    finished_column: str | None
    progress_column: str | None
    min_progress_pct: float | None
    explicit: frozenset[str]  # the keys the mapping wrote (a named column must then exist)


@dataclass(frozen=True)
class SurveyMapping:
    """What surveys.py needs from a mapping, checked and typed; absent keys use format defaults."""

    mapping: Mapping
    respondent_id: str | None
    consumer_department: str | None
    consumer_department_values: dict[str, str]
    consumer_department_fixed: str | None
    responded_at: str | None
    period_value: str | None
    exclude: dict[str, Any] | None
    not_applicable: tuple[str, ...]
    ratings: tuple[RatingRule, ...]
    comments: tuple[CommentRule, ...]
    comment_max_chars: int = COMMENT_MAX_CHARS
    scales: dict[str, Scale] = field(default_factory=dict)


_PERIOD_VALUE = re.compile(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")


def parse_scale(mapping: Mapping, key: str, name: str, spec: Any) -> Scale:
    if isinstance(spec, str):
        match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*", spec)
        if not match:
            raise mapping.error(
                key,
                f"scale {spec!r} is neither a named scale nor 'MIN-MAX'",
                "name a scale from 'scales:' or write e.g. '1-5'",
            )
        spec = {"min": float(match.group(1)), "max": float(match.group(2))}
    if not isinstance(spec, dict):
        raise mapping.error(
            key,
            "a scale must be {min: 1, max: 5} or {labels: [lowest, ..., highest]}",
            "see 'scales:' in docs/mappings.md",
        )
    labels = spec.get("labels")
    if labels is not None:
        if (
            not isinstance(labels, list)
            or len(labels) < 2
            or not all(isinstance(v, str | int) for v in labels)
        ):
            raise mapping.error(
                key,
                "'labels' must list at least two answer texts, lowest first",
                'write labels: ["Very unfavorably", ..., "Very favorably"]',
            )
        texts = tuple(str(v).strip() for v in labels)
        if len(set(texts)) != len(texts):
            raise mapping.error(
                key, "'labels' lists the same text twice", "list each answer text once"
            )
        return Scale(name=name, scale_min=1.0, scale_max=float(len(texts)), labels=texts)
    try:
        low, high = float(spec["min"]), float(spec["max"])
    except (KeyError, TypeError, ValueError) as err:
        raise mapping.error(
            key,
            "a numeric scale needs numbers 'min' and 'max'",
            "write e.g. {min: 1, max: 5} or {min: 0, max: 10}",
        ) from err
    if not high > low:
        raise mapping.error(
            key, f"scale max ({high:g}) must be above min ({low:g})", "swap or fix min and max"
        )
    decimals = spec.get("decimals", False)
    if not isinstance(decimals, bool):
        raise mapping.error(f"{key}.decimals", "must be true or false", "write 'decimals: true'")
    return Scale(name=name, scale_min=low, scale_max=high, decimals=decimals)


def _regex(mapping: Mapping, key: str, pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as err:
        raise mapping.error(
            key,
            f"the pattern {pattern!r} is not a valid regular expression ({err})",
            "fix the regex; quote it in single quotes in YAML",
        ) from err


def _text_map(mapping: Mapping, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise mapping.error(key, "must map codes to names", "write it as {CODE: Name, ...}")
    return {str(k).strip(): str(v) for k, v in value.items()}


def survey_mapping(mapping: Mapping) -> SurveyMapping:
    """Check and type the survey keys of a mapping (an empty mapping gives format defaults only)."""
    raw = mapping.raw
    scales: dict[str, Scale] = {}
    scale_block = raw.get("scales") or {}
    if not isinstance(scale_block, dict):
        raise mapping.error("scales", "must map scale names to scales", "see docs/mappings.md")
    for name, spec in scale_block.items():
        scales[str(name)] = parse_scale(mapping, f"scales.{name}", str(name), spec)

    def scale_for(key: str, spec: Any) -> Scale:
        if spec is None:
            raise mapping.error(
                key, "the rule has no 'scale'", "add 'scale: NAME' (from 'scales:') or 'scale: 1-5'"
            )
        if isinstance(spec, str) and spec in scales:
            return scales[spec]
        if isinstance(spec, str) and not re.search(r"\d", spec):
            raise mapping.error(
                key,
                f"scale {spec!r} is not defined under 'scales:'",
                f"define it under 'scales:' or use one of {', '.join(scales) or '(none defined)'}",
            )
        return parse_scale(mapping, key, str(spec), spec)

    rules: list[RatingRule] = []
    rating_block = raw.get("ratings") or []
    if not isinstance(rating_block, list):
        raise mapping.error(
            "ratings", "must be a list of rules", "write '- column: ...' or '- pattern: ...' items"
        )
    for i, spec in enumerate(rating_block):
        key = f"ratings[{i}]"
        if not isinstance(spec, dict) or ("column" in spec) == ("pattern" in spec):
            raise mapping.error(
                key,
                "each rating rule needs exactly one of 'column' or 'pattern'",
                "write '- column: Q1_1' or '- pattern: ^Q(?P<provider>..)_(?P<dimension>\\d)$'",
            )
        pattern = _regex(mapping, f"{key}.pattern", spec["pattern"]) if "pattern" in spec else None
        provider = spec.get("provider")
        dimension = spec.get("dimension")
        if provider is None and (pattern is None or "provider" not in pattern.groupindex):
            raise mapping.error(
                key,
                "the rule does not say which provider is rated",
                "add 'provider: NAME' or a named group (?P<provider>...) in the pattern",
            )
        if dimension is None and (pattern is None or "dimension" not in pattern.groupindex):
            raise mapping.error(
                key,
                "the rule does not say which dimension is rated",
                "add 'dimension: NAME' or a named group (?P<dimension>...) in the pattern",
            )
        reversed_dims = spec.get("reversed_dimensions") or []
        if not isinstance(reversed_dims, list):
            raise mapping.error(
                f"{key}.reversed_dimensions", "must be a list", 'write ["4"] or [quality]'
            )
        rules.append(
            RatingRule(
                key=key,
                column=str(spec["column"]) if "column" in spec else None,
                pattern=pattern,
                provider=str(provider) if provider is not None else None,
                dimension=str(dimension) if dimension is not None else None,
                providers=_text_map(mapping, f"{key}.providers", spec.get("providers")),
                dimensions=_text_map(mapping, f"{key}.dimensions", spec.get("dimensions")),
                scale=scale_for(f"{key}.scale", spec.get("scale")),
                reversed=bool(spec.get("reversed", False)),
                reversed_dimensions=tuple(str(d) for d in reversed_dims),
            )
        )

    comments: list[CommentRule] = []
    comment_block = raw.get("comments") or []
    if not isinstance(comment_block, list):
        raise mapping.error(
            "comments", "must be a list of rules", "write '- column: ...' or '- pattern: ...' items"
        )
    for i, spec in enumerate(comment_block):
        key = f"comments[{i}]"
        if not isinstance(spec, dict) or ("column" in spec) == ("pattern" in spec):
            raise mapping.error(
                key,
                "each comment rule needs exactly one of 'column' or 'pattern'",
                "write '- column: Q_IT_TEXT' with 'provider: NAME'",
            )
        pattern = _regex(mapping, f"{key}.pattern", spec["pattern"]) if "pattern" in spec else None
        provider = spec.get("provider")
        if provider is None and (pattern is None or "provider" not in pattern.groupindex):
            raise mapping.error(
                key,
                "the rule does not say which provider the comment is about",
                "add 'provider: NAME' or a named group (?P<provider>...) in the pattern",
            )
        comments.append(
            CommentRule(
                key=key,
                column=str(spec["column"]) if "column" in spec else None,
                pattern=pattern,
                provider=str(provider) if provider is not None else None,
                providers=_text_map(mapping, f"{key}.providers", spec.get("providers")),
            )
        )

    exclude = raw.get("exclude")
    if exclude is not None and not isinstance(exclude, dict):
        raise mapping.error(
            "exclude",
            "must be a block of policy keys",
            "see 'Exclusion policy' in docs/mappings.md",
        )
    not_applicable = raw.get("not_applicable", list(DEFAULT_NOT_APPLICABLE))
    if not isinstance(not_applicable, list):
        raise mapping.error("not_applicable", "must be a list of codes", 'write [-1, -2, "N/A"]')
    period_value = raw.get("period_value")
    if period_value is not None and not _PERIOD_VALUE.match(str(period_value)):
        raise mapping.error(
            "period_value", f"{period_value!r} is not a period", "write YYYY-MM or YYYY-Qn"
        )
    max_chars = raw.get("comment_max_chars", COMMENT_MAX_CHARS)
    if not isinstance(max_chars, int) or max_chars < 1:
        raise mapping.error(
            "comment_max_chars", "must be a positive whole number", "write e.g. 10000"
        )
    for key in (
        "respondent_id",
        "consumer_department",
        "responded_at",
        "consumer_department_fixed",
    ):
        if raw.get(key) is not None and not isinstance(raw.get(key), str | int):
            raise mapping.error(
                key, "must be a column name (text)", "write the export's column name"
            )
    return SurveyMapping(
        mapping=mapping,
        respondent_id=_opt_text(raw.get("respondent_id")),
        consumer_department=_opt_text(raw.get("consumer_department")),
        consumer_department_values=_text_map(
            mapping, "consumer_department_values", raw.get("consumer_department_values")
        ),
        consumer_department_fixed=_opt_text(raw.get("consumer_department_fixed")),
        responded_at=_opt_text(raw.get("responded_at")),
        period_value=_opt_text(period_value),
        exclude=exclude,
        not_applicable=tuple(str(v).strip() for v in not_applicable),
        ratings=tuple(rules),
        comments=tuple(comments),
        comment_max_chars=max_chars,
        scales=scales,
    )


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)
