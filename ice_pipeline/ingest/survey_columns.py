"""Which columns of a survey export mean what: the mapping resolved against the file's columns.

Belongs here: the second step of reading a survey. The mapping's keys (or the layout's default
columns, vendors/) become the respondent id, date and department columns, the exclusion policy's
columns, the rating columns (provider, dimension, scale, reversed) and the comment columns; a
long file's own columns and scale; and which columns are mapped, unmapped or personal (dropped).
A column the mapping names that the file lacks fails here, with the nearest names.
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import DecodedFile
from ice_pipeline.ingest.mapping import Mapping, Scale, SurveyMapping, parse_scale
from ice_pipeline.ingest.privacy import is_personal_column
from ice_pipeline.ingest.vendors import aliases, layouts_of, long, qualtrics

# Per-format defaults (each vendor module's ``Layout.defaults``); any key the mapping writes
# wins. Absent default columns are skipped.
FORMAT_DEFAULTS: dict[str, dict[str, Any]] = {
    layout.format: layout.defaults for layout in layouts_of("surveys")
}
# Alternative spellings tools use for the default columns (from the vendor modules).
DEFAULT_ALIASES = aliases()
LONG_REQUIRED = long.REQUIRED
DEFAULT_EXCLUDED_STATUS = qualtrics.DEFAULT_EXCLUDED_STATUS


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


def _candidates(
    decoded: DecodedFile, sm: SurveyMapping, rule: Any, columns: list[str], *, must_match: bool
) -> list[tuple[str, "re.Match[str] | None"]]:
    """The file's columns a rating or comment rule names: its ``column`` (which must exist), or
    every column its ``pattern`` matches, with the match (``must_match``: at least one).
    """
    if rule.column is not None:
        if rule.column not in columns:
            raise _missing_column(decoded, sm, f"{rule.key}.column", rule.column, columns)
        return [(rule.column, None)]
    assert rule.pattern is not None
    candidates = [(c, m) for c in columns if (m := rule.pattern.search(c))]
    if must_match and not candidates:
        raise FileProblem(
            str(decoded.path),
            f"the mapping {sm.mapping.name} key '{rule.key}.pattern' "
            f"({rule.pattern.pattern!r}) matches no "
            "column of the file",
            fix="correct the pattern (run 'ice-pipeline inspect FILE' to list the columns)",
        )
    return candidates


def _resolve_ratings(
    decoded: DecodedFile, sm: SurveyMapping, columns: list[str]
) -> list[RatingColumn]:
    resolved: dict[str, RatingColumn] = {}
    for rule in sm.ratings:
        for column, match in _candidates(decoded, sm, rule, columns, must_match=True):
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
        # A comment pattern matching nothing is not an error: comments are optional.
        for column, match in _candidates(decoded, sm, rule, columns, must_match=False):
            key = (
                rule.provider
                if rule.provider is not None
                else ((match.groupdict() if match else {}).get("provider") or "").strip()
            )
            if rule.providers and rule.provider is None and key not in rule.providers:
                continue
            provider = rule.providers.get(key, key)
            if provider and column not in resolved:
                resolved[column] = CommentColumn(column, provider)
    return [resolved[c] for c in columns if c in resolved]


def default_column(name: str | None, columns: list[str]) -> str | None:
    """The first of a default column's spellings (vendor ``ALIASES``) the file has, or None."""
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
    return default_column(default, columns)


def exclusion_policy(sm: SurveyMapping, file_format: str) -> dict[str, Any]:
    """The exclusion policy: built-in defaults, then the layout's, then the mapping's keys."""
    policy: dict[str, Any] = {
        "status_column": None,
        "excluded_status_values": list(DEFAULT_EXCLUDED_STATUS),
        "finished_column": None,
        "progress_column": None,
        "min_progress_pct": None,
    }
    policy.update(FORMAT_DEFAULTS.get(file_format, {}).get("exclude", {}))
    policy.update(sm.exclude or {})
    return policy


@dataclass
class SurveyColumns:
    """What each column of the export means, as resolved for one file."""

    id_column: str | None
    date_column: str | None
    dept_column: str | None
    policy: dict[str, Any]
    policy_columns: dict[str, str | None]
    long_format: bool
    columns: list[str]  # every column of the file, as read
    ratings: list[RatingColumn] = field(default_factory=list)
    comments: list[CommentColumn] = field(default_factory=list)
    lower: dict[str, str] = field(default_factory=dict)  # long: lower-case name -> column
    long_scale: Scale | None = None
    long_reversed: set[str] = field(default_factory=set)
    structural: bool = False  # no rating rules: the file is described, not scored
    mapped: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)


def _policy_columns(
    decoded: DecodedFile, sm: SurveyMapping, policy: dict[str, Any], columns: list[str]
) -> dict[str, str | None]:
    """The policy's columns: one the mapping names must exist; a default one may be absent."""
    explicit_exclude = set((sm.exclude or {}).keys())
    policy_columns: dict[str, str | None] = {}
    for key in ("status_column", "finished_column", "progress_column"):
        name = policy.get(key)
        if key in explicit_exclude and name is not None:
            policy_columns[key] = _mapped_column(
                decoded, sm, f"exclude.{key}", str(name), None, columns
            )
        else:
            policy_columns[key] = default_column(str(name), columns) if name else None
    return policy_columns


def _long_columns(
    decoded: DecodedFile, sm: SurveyMapping, mapping: Mapping, resolved: SurveyColumns
) -> None:
    """A long file: its required columns (any case), the mapping's scale and reversed items."""
    missing = [c for c in LONG_REQUIRED if c not in resolved.lower]
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
    resolved.long_scale = long_scale
    resolved.long_reversed = {str(d) for d in (mapping.get("reversed_dimensions") or [])}


def _mapped_and_personal(resolved: SurveyColumns, columns: list[str]) -> None:
    """Mapped, personal (dropped) and unmapped columns, each in the file's order."""
    r = resolved
    policy_names = r.policy_columns.values()
    mapped = [c for c in (r.id_column, r.date_column, r.dept_column, *policy_names) if c]
    if r.long_format:
        lower = r.lower
        mapped += [lower[c] for c in LONG_REQUIRED] + [lower[c] for c in ("comment",) if c in lower]
    mapped += [x.column for x in r.ratings] + [c.column for c in r.comments]
    r.mapped = list(dict.fromkeys(mapped))
    # A column the mapping uses is data by decision (a region as the department, an e-mail as
    # the respondent id, which is hashed); every other personal column is dropped.
    r.personal = [c for c in columns if is_personal_column(c) and c not in r.mapped]
    r.unmapped = [c for c in columns if c not in r.mapped and c not in r.personal]


def resolve_columns(
    decoded: DecodedFile, sm: SurveyMapping, mapping: Mapping, fmt: str, columns: list[str]
) -> SurveyColumns:
    """Resolve every key of the mapping (or the layout's defaults) against the file's columns."""
    defaults = FORMAT_DEFAULTS[fmt]

    def column(key: str, explicit: str | None) -> str | None:
        return _mapped_column(decoded, sm, key, explicit, defaults.get(key), columns)

    id_column = column("respondent_id", sm.respondent_id)
    date_column = column("responded_at", sm.responded_at)
    dept_column = column("consumer_department", sm.consumer_department)
    policy = exclusion_policy(sm, fmt)
    resolved = SurveyColumns(
        id_column=id_column,
        date_column=date_column,
        dept_column=dept_column,
        policy=policy,
        policy_columns=_policy_columns(decoded, sm, policy, columns),
        long_format=fmt == "long",
        columns=columns,
    )
    if resolved.long_format:
        resolved.lower = long.lower_names(columns)
        _long_columns(decoded, sm, mapping, resolved)
    else:
        resolved.ratings = _resolve_ratings(decoded, sm, columns)
        resolved.comments = _resolve_comments(decoded, sm, columns)
    resolved.structural = not resolved.long_format and not resolved.ratings
    if not resolved.structural and dept_column is None and sm.consumer_department_fixed is None:
        raise sm.mapping.error(
            "consumer_department",
            "the mapping does not say which column holds the respondent's department",
            "add 'consumer_department: COLUMN' "
            "(or 'consumer_department_fixed: NAME' for a one-department survey)",
        )
    _mapped_and_personal(resolved, columns)
    return resolved


def drop_personal(body: pd.DataFrame, resolved: SurveyColumns) -> pd.DataFrame:
    """Personal columns never travel further than this."""
    return body.drop(columns=[c for c in resolved.personal if c in body.columns])
