"""The declared schema of mapping files: which keys each feed's mapping may hold, and their types.

Belongs here: the pydantic models of a survey, ticket, HR and external mapping (every key
docs/mappings.md documents), and ``check_mapping_schema``, which turns the first validation error
into one ConfigError naming the mapping file, the key's path (``ratings[0].rating``) and, for an
unknown key, the nearest valid name (difflib). A key nobody reads would otherwise be ignored in
silence: ``rating:`` for ``ratings:`` turned a survey into an unscored "structural" file.

Only the shape is checked here (which keys, which types); the meaning of values (a scale whose
max is below its min, a pattern without a provider group) is checked by mapping.py, whose
messages say more. pydantic is used because Dagster already depends on it.
"""

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError

from ice_pipeline.errors import ConfigError

Text = str | int  # a column or name written in YAML may read as a number (Q_DEPT: 5)
Number = StrictInt | float
TextMap = dict[Text, Text | float | None]


class _Block(BaseModel):
    """Every mapping block refuses keys it does not declare."""

    model_config = ConfigDict(extra="forbid")


class CommonKeys(_Block):
    feed: str | None = None
    format: str | None = None
    encoding: str | None = None
    date_order: str | None = None
    period: str | None = None
    # Issue 16: the share of a file's rows that may be quarantined before the feed stops (loss.py).
    max_quarantined_pct: Number | None = None
    # Issue 16 (fixed.py): lines above the header; header rows in all (the first gives names).
    skip_rows: StrictInt | None = None
    header_rows: StrictInt | None = None


class ScaleSpec(_Block):
    min: Number | None = None
    max: Number | None = None
    labels: list[Text] | None = None
    decimals: StrictBool = False  # answers between the whole points (4.5) are valid


class RatingRuleSpec(_Block):
    column: Text | None = None
    pattern: str | None = None
    provider: Text | None = None
    dimension: Text | None = None
    providers: TextMap | None = None
    dimensions: TextMap | None = None
    scale: ScaleSpec | str | None = None
    reversed: StrictBool = False
    reversed_dimensions: list[Text] | None = None


class CommentRuleSpec(_Block):
    column: Text | None = None
    pattern: str | None = None
    provider: Text | None = None
    providers: TextMap | None = None


class ExcludeSpec(_Block):
    status_column: Text | None = None
    excluded_status_values: list[Text] | None = None
    finished_column: Text | None = None
    progress_column: Text | None = None
    min_progress_pct: Number | None = None


class SurveyKeys(CommonKeys):
    respondent_id: Text | None = None
    consumer_department: Text | None = None
    consumer_department_values: TextMap | None = None
    consumer_department_fixed: Text | None = None
    responded_at: Text | None = None
    period_value: Text | None = None
    exclude: ExcludeSpec | None = None
    scales: dict[str, ScaleSpec | str] | None = None
    not_applicable: list[Text | float] | None = None
    comment_max_chars: StrictInt | None = None
    ratings: list[RatingRuleSpec] | None = None
    comments: list[CommentRuleSpec] | None = None
    # The long format: one scale for the whole file.
    scale: ScaleSpec | str | None = None
    reversed_dimensions: list[Text] | None = None
    # Issue 14: the label reports show per dimension code (ingest/mapping_labels.py).
    dimension_labels: dict[Text, Text] | None = None


class _TableKeys(CommonKeys):
    """Keys of the one-header-row feeds (tickets, HR, external)."""

    columns: dict[str, Text] | None = None
    missing_values: list[Text | float | None] | None = None
    delimiter: str | None = None
    date_format: str | list[str] | None = None


class TicketKeys(_TableKeys):
    provider_departments: TextMap | None = None
    provider_department: Text | None = None
    requester_departments_from_hr: StrictBool | None = None
    requester_departments: TextMap | None = None
    priority_values: dict[Text, StrictInt] | None = None
    satisfaction_values: dict[Text, Number | None] | None = None
    sla_hours: dict[Text, Number] | None = None
    first_assignee_rule: str | None = None


class HrKeys(_TableKeys):
    snapshot_period: Text | None = None
    snapshot_period_from_filename: str | None = None
    termination_types: TextMap | None = None
    departments: TextMap | None = None
    # A status column mapped as it is (hr_status.py): still employed, voluntary, involuntary.
    department_fixed: Text | None = None  # one department for a roster without the column
    active_values: list[Text] | None = None
    voluntary_values: list[Text] | None = None
    involuntary_values: list[Text] | None = None


class ExternalKeys(_TableKeys):
    period_value: Text | None = None
    business_unit_departments: TextMap | None = None
    business_unit_default: Text | None = None
    business_unit_fixed: Text | None = None  # one unit for a file without the column (fixed.py)
    not_applicable: list[Text | float] | None = None
    min_responses: StrictInt | None = None
    metric_names: TextMap | None = None


FEED_KEYS: dict[str, type[_Block]] = {
    "surveys": SurveyKeys,
    "tickets": TicketKeys,
    "hr": HrKeys,
    "external": ExternalKeys,
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold (``list[RatingRuleSpec] | None`` -> [RatingRuleSpec])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _valid_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The key names valid where ``loc`` points (its last element being the offending key).

    Path parts that name no field (list indexes, dict keys such as a scale's name, the union
    member pydantic tried) keep the models reached so far.
    """
    current: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        following = [
            found
            for candidate in current
            if str(part) in candidate.model_fields
            for found in _models_in(candidate.model_fields[str(part)].annotation)
        ]
        current = following or current
    return sorted({name for candidate in current for name in candidate.model_fields})


def _path(loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    """``('ratings', 0, 'rating')`` -> ``ratings[0].rating``; union member names left out."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("ScaleSpec", "str", "int", "float", "bool", "list", "dict") or (
            isinstance(part, str) and part.startswith(("list[", "dict[", "function-"))
        ):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


_TYPE_WORDS = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list (write [a, b] or '- a' items)",
    "dict_type": "must be a block of keys (write {key: value} or indented 'key: value' lines)",
    "model_type": "must be a block of keys",
    "float_type": "must be a number",
    "int_from_float": "must be a whole number",
}


def _first_problem(
    err: ValidationError, model: type[BaseModel], where: str, feed: str | None
) -> ConfigError:
    errors = err.errors()
    # An unknown key is the most useful thing to say; other errors of union members follow it.
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    chosen = extra[0] if extra else errors[0]
    loc = tuple(chosen["loc"])
    key = _path(loc, model)
    if chosen["type"] == "extra_forbidden":
        name = str(loc[-1])
        valid = _valid_names(model, loc)
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        for_feed = f" in a {feed} mapping" if feed else ""
        return ConfigError(
            f"{where} key '{key}'",
            f"unknown key{for_feed}{hint}; a key that is not read would be ignored in silence",
            fix=(f"rename it to '{close[0]}'" if close else "remove it")
            + f" (valid keys here: {', '.join(valid)}; see docs/mappings.md)",
        )
    # Among the union members' complaints, keep the shape words (list, block, number).
    same = [e for e in errors if _path(tuple(e["loc"]), model) == key]
    words = next((_TYPE_WORDS[e["type"]] for e in same if e["type"] in _TYPE_WORDS), None)
    shown = repr(chosen.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ConfigError(
        f"{where} key '{key}'",
        f"{words or chosen['msg']} (got {shown})",
        fix="write the value as docs/mappings.md shows for this key",
    )


def check_mapping_schema(raw: dict[str, Any], where: str, feed: str | None) -> None:
    """Refuse unknown keys and wrong types; ``feed`` None checks against every feed's keys."""
    if feed in FEED_KEYS:
        models = [FEED_KEYS[feed]]
    else:
        # No feed named: valid if it fits any feed; the error shown is the closest fit's.
        models = list(FEED_KEYS.values())
    first: tuple[ValidationError, type[BaseModel]] | None = None
    for model in models:
        try:
            model.model_validate(raw)
            break
        except ValidationError as err:
            if first is None or _fewer_unknown(err, first[0]):
                first = (err, model)
    else:
        assert first is not None
        raise _first_problem(first[0], first[1], where, feed)
    if feed in ("tickets", "hr", "external") and isinstance(raw.get("columns"), dict):
        _check_roles(raw["columns"], where, feed)


def _fewer_unknown(err: ValidationError, other: ValidationError) -> bool:
    return len(err.errors()) < len(other.errors())


def roles_of(feed: str) -> list[str]:
    """The canonical role names a ``columns:`` block of ``feed`` may use."""
    if feed == "tickets":
        from ice_pipeline.ingest.tickets import DEFAULT_COLUMNS as ticket_columns

        return sorted({role for roles in ticket_columns.values() for role in roles})
    if feed == "hr":
        from ice_pipeline.ingest.hr import DEFAULT_COLUMNS as hr_columns

        return sorted({role for roles in hr_columns.values() for role in roles})
    from ice_pipeline.ingest.external import DEFAULT_COLUMNS as external_columns

    return sorted({role for roles in external_columns.values() for role in roles})


def _check_roles(columns: dict[str, Any], where: str, feed: str) -> None:
    roles = roles_of(feed)
    for role in columns:
        if str(role) not in roles:
            close = difflib.get_close_matches(str(role), roles, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where} key 'columns.{role}'",
                f"unknown canonical column '{role}' for feed {feed}{hint}",
                fix=(f"rename it to '{close[0]}'" if close else "remove it")
                + f" (canonical columns: {', '.join(roles)})",
            )
