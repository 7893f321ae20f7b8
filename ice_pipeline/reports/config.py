"""Settings of the reports: anonymity thresholds as shown, weights named in the methodology, titles.

Built from the ``reports`` section of the YAML config (``ice_pipeline.config``); every key has a
default, so a missing section means the defaults below. Email settings live in
``ice_pipeline.reports.delivery`` because they belong to the transport, not the content.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from ice_pipeline.errors import ConfigError

# The privacy floor of issue 4: k may be raised, never set below 3.
MIN_K_ANONYMITY = 3


@dataclass(frozen=True)
class ReportConfig:
    """What the report says about its method and how much it shows.

    ``k_anonymity`` and ``comment_min_group`` are applied again here (defence in depth), even
    though the index tables arrive suppressed already: no value of a group under k reaches HTML.
    """

    organisation: str = "Example Organisation"
    k_anonymity: int = 5
    comment_min_group: int = 10
    weight_perception: float = 0.7  # ICE = w_p * ICE-P + w_k * ICE-K (only described, not computed)
    weight_kpi: float = 0.3
    best_worst_count: int = 3
    min_correlation_pairs: int = 8
    executive_audience: str = "executives"
    provider_audience: str = "department_heads"
    # A label per dimension code, shown instead of the code (e.g. {ease_of_use: "Ease of use"}).
    # The survey mapping's ``dimension_labels`` supply them (:meth:`with_mapping_labels`); set
    # here, a label wins over the mapping's; a code labelled nowhere is shown in words.
    dimension_labels: dict[str, str] = field(default_factory=dict)
    # Print the executive summary to PDF (headless chromium), archive it and attach it to the
    # e-mail; false only where chromium cannot be installed (the archive then holds no PDF).
    pdf: bool = True

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "ReportConfig":
        """Build from the ``reports:`` YAML section; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(
                f"reports.{unknown[0]}",
                "is not a known report setting",
                fix=f"remove it or use one of: {', '.join(sorted(known))}",
            )
        config = cls(**section)
        config.validate()
        return config

    def with_mapping_labels(self, mapping_labels: dict[str, str]) -> "ReportConfig":
        """This config with the survey mapping's labels under its own (which win)."""
        if not mapping_labels:
            return self
        return replace(self, dimension_labels={**mapping_labels, **self.dimension_labels})

    def validate(self) -> None:
        if not isinstance(self.k_anonymity, int) or self.k_anonymity < MIN_K_ANONYMITY:
            raise ConfigError(
                "reports.k_anonymity",
                f"is {self.k_anonymity!r}; groups this small could identify respondents",
                fix=f"set it to an integer of at least {MIN_K_ANONYMITY} (the default is 5)",
            )
        if not isinstance(self.comment_min_group, int) or self.comment_min_group < self.k_anonymity:
            raise ConfigError(
                "reports.comment_min_group",
                f"is {self.comment_min_group!r}, below k_anonymity={self.k_anonymity}",
                fix="set it to an integer at least as large as k_anonymity (the default is 10)",
            )
        labels = self.dimension_labels
        if not isinstance(labels, dict) or not all(
            isinstance(code, str) and isinstance(label, str) and label.strip()
            for code, label in labels.items()
        ):
            raise ConfigError(
                "reports.dimension_labels",
                "must map each dimension code to a non-empty label",
                fix='write e.g. dimension_labels: {responsiveness: "Responsiveness"}',
            )
        if not isinstance(self.pdf, bool):
            raise ConfigError("reports.pdf", f"is {self.pdf!r}", fix="set it to true or false")
        if self.best_worst_count < 1:
            raise ConfigError("reports.best_worst_count", "must be at least 1", fix="set it to 3")


# Settings the report only *describes*; the index owns them, so they are never set twice.
_FROM_INDEX = {
    "k_anonymity": "k_min_respondents",
    "comment_min_group": "comment_min_group",
    "weight_perception": "weight_ice_p",
    "weight_kpi": "weight_ice_k",
    "min_correlation_pairs": "min_pairs_for_correlation",
}


def report_config_for(section: dict[str, Any], index_config: Any) -> ReportConfig:
    """The report settings of a run: the ``reports:`` section plus the index's own constants.

    k, the comment threshold, the ICE weights and the minimum pairs come from ``index:`` so the
    report can never describe (or suppress by) a different rule than the one that computed it.
    """
    for key, index_key in _FROM_INDEX.items():
        if key in section:
            raise ConfigError(
                f"reports.{key}",
                "is set by the index configuration, not by the report",
                fix=f"remove it here and set index.{index_key} instead",
            )
    merged = dict(section)
    merged.update({key: getattr(index_config, index_key) for key, index_key in _FROM_INDEX.items()})
    return ReportConfig.from_section(merged)
