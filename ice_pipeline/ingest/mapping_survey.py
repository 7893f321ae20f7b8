"""The typed survey mapping: scales, rating and comment rules, the exclusion policy.

Belongs here: turning a mapping's survey keys (``scales:``, ``ratings:``, ``comments:``,
``exclude:``, ``not_applicable:``, ...) into ``SurveyMapping``, checked, with every problem
naming the mapping file, the key and the fix. Finding and loading mapping files is mapping.py's
job; applying the rules to an export is the survey reader's (survey_columns.py and on).
"""

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # mapping.py imports this module; the type is only needed for annotations
    from ice_pipeline.ingest.mapping import Mapping

DEFAULT_NOT_APPLICABLE: tuple[str, ...] = (
    "-1",
    "-2",
    "N/A",
    "Unfamiliar (N/A)",
    "No basis for evaluation",
    "NA",
)
COMMENT_MAX_CHARS = 10_000


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

    mapping: "Mapping"
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


def parse_scale(mapping: "Mapping", key: str, name: str, spec: Any) -> Scale:
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


def _regex(mapping: "Mapping", key: str, pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as err:
        raise mapping.error(
            key,
            f"the pattern {pattern!r} is not a valid regular expression ({err})",
            "fix the regex; quote it in single quotes in YAML",
        ) from err


def _text_map(mapping: "Mapping", key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise mapping.error(key, "must map codes to names", "write it as {CODE: Name, ...}")
    return {str(k).strip(): str(v) for k, v in value.items()}


def _scales(mapping: "Mapping") -> dict[str, Scale]:
    """The named scales of ``scales:``."""
    scales: dict[str, Scale] = {}
    scale_block = mapping.raw.get("scales") or {}
    if not isinstance(scale_block, dict):
        raise mapping.error("scales", "must map scale names to scales", "see docs/mappings.md")
    for name, spec in scale_block.items():
        scales[str(name)] = parse_scale(mapping, f"scales.{name}", str(name), spec)
    return scales


def _scale_for(mapping: "Mapping", scales: dict[str, Scale], key: str, spec: Any) -> Scale:
    """A rule's scale: a name from ``scales:`` or an inline ``MIN-MAX`` / block."""
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


def _rule_block(mapping: "Mapping", key: str) -> list[Any]:
    block = mapping.raw.get(key) or []
    if not isinstance(block, list):
        raise mapping.error(
            key, "must be a list of rules", "write '- column: ...' or '- pattern: ...' items"
        )
    return block


def _rating_rule(mapping: "Mapping", scales: dict[str, Scale], i: int, spec: Any) -> RatingRule:
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
    return RatingRule(
        key=key,
        column=str(spec["column"]) if "column" in spec else None,
        pattern=pattern,
        provider=str(provider) if provider is not None else None,
        dimension=str(dimension) if dimension is not None else None,
        providers=_text_map(mapping, f"{key}.providers", spec.get("providers")),
        dimensions=_text_map(mapping, f"{key}.dimensions", spec.get("dimensions")),
        scale=_scale_for(mapping, scales, f"{key}.scale", spec.get("scale")),
        reversed=bool(spec.get("reversed", False)),
        reversed_dimensions=tuple(str(d) for d in reversed_dims),
    )


def _comment_rule(mapping: "Mapping", i: int, spec: Any) -> CommentRule:
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
    return CommentRule(
        key=key,
        column=str(spec["column"]) if "column" in spec else None,
        pattern=pattern,
        provider=str(provider) if provider is not None else None,
        providers=_text_map(mapping, f"{key}.providers", spec.get("providers")),
    )


def _checked_scalars(mapping: "Mapping") -> tuple[Any, list[Any], Any, int]:
    """``exclude``, ``not_applicable``, ``period_value`` and ``comment_max_chars``, checked."""
    raw = mapping.raw
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
    return exclude, not_applicable, period_value, max_chars


def survey_mapping(mapping: "Mapping") -> SurveyMapping:
    """Check and type the survey keys of a mapping (an empty mapping gives format defaults only)."""
    raw = mapping.raw
    scales = _scales(mapping)
    rules = [
        _rating_rule(mapping, scales, i, spec)
        for i, spec in enumerate(_rule_block(mapping, "ratings"))
    ]
    comments = [
        _comment_rule(mapping, i, spec) for i, spec in enumerate(_rule_block(mapping, "comments"))
    ]
    exclude, not_applicable, period_value, max_chars = _checked_scalars(mapping)
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
