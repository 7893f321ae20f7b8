"""Mapping files: finding, loading and validating the YAML that says what an export's columns mean.

Belongs here: ``find_mapping`` (NAME.mapping.yaml beside the file, else mapping.yaml in its
folder), ``load_mapping`` (YAML -> ``Mapping``, common keys checked). The typed survey mapping
(``SurveyMapping`` with its scales, rating and comment rules, exclusion policy) lives in
mapping_survey.py and is importable from here. Ticket, HR and external readers read
``Mapping.raw`` with the helpers.
The format is documented in docs/mappings.md; every problem names the mapping file, the key and
the fix.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ice_pipeline.errors import ConfigError
from ice_pipeline.ingest.common import FEEDS
from ice_pipeline.ingest.mapping_schema import check_mapping_schema
from ice_pipeline.ingest.mapping_survey import (  # the survey mapping's names, as before
    COMMENT_MAX_CHARS,
    DEFAULT_NOT_APPLICABLE,
    CommentRule,
    ExclusionPolicy,
    RatingRule,
    Scale,
    SurveyMapping,
    parse_scale,
    survey_mapping,
)
from ice_pipeline.ingest.vendors import layouts_of

# The format names of each feed, from the layout registry (ingest/vendors/), in listing order.
FORMATS: dict[str, tuple[str, ...]] = {
    feed: tuple(layout.format for layout in layouts_of(feed)) for feed in FEEDS
}
DATE_ORDERS = ("YMD", "DMY", "MDY", "AUTO")
CADENCES = ("month", "quarter")


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


__all__ = [
    "CADENCES",
    "COMMENT_MAX_CHARS",
    "DATE_ORDERS",
    "DEFAULT_NOT_APPLICABLE",
    "FORMATS",
    "CommentRule",
    "ExclusionPolicy",
    "Mapping",
    "RatingRule",
    "Scale",
    "SurveyMapping",
    "check_for_feed",
    "find_mapping",
    "is_mapping_file",
    "load_mapping",
    "parse_scale",
    "refuse_quarters",
    "survey_mapping",
]
