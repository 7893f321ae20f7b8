"""The index's tunable constants (the ``index`` section of the YAML config) and their checks.

Only constants live here; the arithmetic that uses them is in the sibling modules. Every field
has a documented default, ``docs/methodology.md`` explains each one, and a wrong value raises a
:class:`~ice_pipeline.errors.ConfigError` naming the key (``index.<key>``) and the fix.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ice_pipeline.errors import ConfigError

# k may be raised but never lowered below this: under 3 a published mean reveals too much.
K_FLOOR = 3
# index.late_responses: the same names as ice_pipeline.index.versions.POLICIES.
LATE_RESPONSE_POLICIES = ("republish_when_k", "hold")


@dataclass(frozen=True)
class IndexConfig:
    """Constants of the index. Defaults are the method of record (docs/methodology.md)."""

    # Anonymity: the smallest number of distinct respondents a published figure may rest on.
    k_min_respondents: int = 5
    # Disclosure control: the feasible interval of a hidden small group's mean, over everything
    # the published figures allow, must be at least this many points of the 0-100 scale wide
    # (25 = one step of a five-point scale; docs/methodology.md, "Disclosure control").
    protection_width_points: float = 25.0
    # Free-text comments are shown only for groups at least this large.
    comment_min_group: int = 10
    # Re-running a published period (docs/methodology.md, "Versions of a period"):
    # 'republish_when_k' publishes a new version only when every figure it changes moves by at
    # least k respondents, else the late responses are held; 'hold' never re-publishes them.
    late_responses: str = "republish_when_k"
    # ICE = weight_ice_p * ICE-P + weight_ice_k * ICE-K (the weights must sum to 1).
    weight_ice_p: float = 0.7
    weight_ice_k: float = 0.3
    # Coverage of every interval (t, Wilson, Welch, Fisher-z).
    confidence_level: float = 0.95
    # Ranks are taken on ICE rounded to the published precision, so equal figures share a rank.
    rank_decimals: int = 1

    # Service KPIs: each maps linearly to 0-100, reaching 100 at the target and 0 at the zero
    # point, clipped to [0, 100].
    sla_target_pct: float = 95.0
    sla_zero_pct: float = 50.0
    reopen_target_pct: float = 2.0
    reopen_zero_pct: float = 20.0
    resolution_target_hours: float = 24.0
    resolution_zero_hours: float = 120.0
    first_assignee_target_pct: float = 80.0
    first_assignee_zero_pct: float = 20.0
    satisfaction_target: float = 4.5  # on the 1-5 ticket satisfaction scale
    satisfaction_zero: float = 1.0
    # ICE-K is the weighted mean of the KPI scores available for a provider (weights renormalised).
    kpi_weight_sla: float = 0.30
    kpi_weight_reopen: float = 0.15
    kpi_weight_resolution: float = 0.25
    kpi_weight_first_assignee: float = 0.15
    kpi_weight_satisfaction: float = 0.15

    # Correlations.
    min_pairs_for_correlation: int = 8
    lags: tuple[int, ...] = field(default=(0, 1, 2, 3))
    alpha: float = 0.05

    # Key drivers (issue 14, ice_pipeline.index.drivers): the dimension that is the outcome
    # (an overall-satisfaction item), and the fewest complete respondents a group's drivers are
    # published for (never fewer than k_min_respondents).
    key_driver_outcome: str = "overall"
    key_driver_min_respondents: int = 30

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> "IndexConfig":
        """Build the config from the ``index`` section of the YAML file; unknown keys are errors."""
        section = section or {}
        if not isinstance(section, dict):
            raise ConfigError(
                "index",
                "the 'index' section must be a mapping of keys to values",
                fix="write 'index:' followed by indented 'key: value' lines",
            )
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key not in known:
                raise ConfigError(
                    f"index.{key}",
                    f"'{key}' is not a setting of the index",
                    fix=f"remove it or use one of: {', '.join(sorted(known))}",
                )
            values[key] = _coerce(key, value, cls.__dataclass_fields__[key].default)
        return cls(**values)

    @property
    def kpi_weights(self) -> dict[str, float]:
        """KPI score column -> weight in ICE-K."""
        return {
            "sla_score": self.kpi_weight_sla,
            "reopen_score": self.kpi_weight_reopen,
            "resolution_score": self.kpi_weight_resolution,
            "first_assignee_score": self.kpi_weight_first_assignee,
            "satisfaction_score": self.kpi_weight_satisfaction,
        }


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Turn a YAML value into the field's type, or say what is wrong with it."""
    setting = f"index.{key}"
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(
                setting, f"expected a word, got {value!r}", fix=f"write e.g. '{key}: {default}'"
            )
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(
                setting,
                f"expected a list of whole numbers, got {value!r}",
                fix=f"write e.g. '{key}: [0, 1, 2, 3]'",
            )
        return tuple(value)
    if isinstance(default, str):  # a name, e.g. key_driver_outcome
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                setting, f"expected a name, got {value!r}", fix=f"write e.g. '{key}: {default}'"
            )
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            setting,
            f"expected a number, got {value!r}",
            fix=f"write a number, e.g. '{key}: {default}'",
        )
    if isinstance(default, int):
        if float(value) != int(value):
            raise ConfigError(
                setting,
                f"expected a whole number, got {value!r}",
                fix=f"write a whole number, e.g. '{key}: {default}'",
            )
        return int(value)
    return float(value)


def _check(config: IndexConfig) -> None:
    _check_privacy(config)
    _check_weights(config)
    _check_statistics(config)


def _check_privacy(config: IndexConfig) -> None:
    if config.k_min_respondents < K_FLOOR:
        raise ConfigError(
            "index.k_min_respondents",
            f"k = {config.k_min_respondents} is below the floor of {K_FLOOR} respondents, which "
            "would let a published figure reveal individual answers",
            fix=f"set k_min_respondents to {K_FLOOR} or more (the default is 5)",
        )
    if not 0 < config.protection_width_points <= 100:
        raise ConfigError(
            "index.protection_width_points",
            f"{config.protection_width_points} is not a width on the 0-100 scale",
            fix="use a number above 0 and at most 100 (the default is 25)",
        )
    if config.late_responses not in LATE_RESPONSE_POLICIES:
        raise ConfigError(
            "index.late_responses",
            f"{config.late_responses!r} is not a policy for late responses",
            fix=f"use one of: {', '.join(LATE_RESPONSE_POLICIES)}",
        )
    if config.comment_min_group < config.k_min_respondents:
        raise ConfigError(
            "index.comment_min_group",
            "comments would be shown for groups smaller than k",
            fix="set comment_min_group at least as large as k_min_respondents",
        )


def _check_weights(config: IndexConfig) -> None:
    if (
        min(config.weight_ice_p, config.weight_ice_k) < 0
        or abs(config.weight_ice_p + config.weight_ice_k - 1.0) > 1e-9
    ):
        raise ConfigError(
            "index.weight_ice_p",
            f"weights {config.weight_ice_p} + {config.weight_ice_k} must be >= 0 and sum to 1",
            fix="set weight_ice_p and weight_ice_k so that they add up to 1 (default 0.7 and 0.3)",
        )
    if any(w < 0 for w in config.kpi_weights.values()) or sum(config.kpi_weights.values()) <= 0:
        raise ConfigError(
            "index.kpi_weight_sla",
            "KPI weights must be >= 0 and not all 0",
            fix="set the kpi_weight_* keys to non-negative numbers",
        )
    pairs = [
        ("sla_target_pct", "sla_zero_pct"),
        ("reopen_target_pct", "reopen_zero_pct"),
        ("resolution_target_hours", "resolution_zero_hours"),
        ("first_assignee_target_pct", "first_assignee_zero_pct"),
        ("satisfaction_target", "satisfaction_zero"),
    ]
    for target, zero in pairs:
        if getattr(config, target) == getattr(config, zero):
            raise ConfigError(
                f"index.{target}",
                f"{target} equals {zero}, so the KPI cannot be scored",
                fix=f"give {target} (score 100) and {zero} (score 0) different values",
            )


def _check_statistics(config: IndexConfig) -> None:
    if not 0.5 < config.confidence_level < 1:
        raise ConfigError(
            "index.confidence_level",
            "confidence_level must lie between 0.5 and 1",
            fix="use e.g. 0.95",
        )
    if not 0 < config.alpha < 1:
        raise ConfigError("index.alpha", "alpha must lie between 0 and 1", fix="use e.g. 0.05")
    if config.min_pairs_for_correlation < 4:
        raise ConfigError(
            "index.min_pairs_for_correlation",
            "at least 4 pairs are needed for a Fisher-z interval",
            fix="use 8 (the default) or more",
        )
    if config.key_driver_min_respondents < config.k_min_respondents:
        raise ConfigError(
            "index.key_driver_min_respondents",
            "key drivers may not be published for groups smaller than k_min_respondents",
            fix="use 30 (the default) or at least k_min_respondents",
        )
    if not config.lags or any(lag < 0 for lag in config.lags):
        raise ConfigError(
            "index.lags",
            "lags must be a non-empty list of numbers >= 0",
            fix="use e.g. [0, 1, 2, 3]",
        )
