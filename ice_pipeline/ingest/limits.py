"""How large a landing file the ingest opens: the ``ingest`` section of ICE_CONFIG (issue 13).

Belongs here: :class:`IngestSettings` (the section, validated with messages naming the key) and
:func:`oversized_file`, the refusal of a file above ``max_file_mb`` before any byte of it is read.
Why a limit: parsing an export needs a multiple of its size in memory; a file far larger than
any real month (a mistaken full-history export, a runaway tool) would otherwise take the whole
machine down in the nightly run instead of being named in one line while the other files go on.
Does not belong here: reading files (``ingest.common``) or the per-feed loop (``cache.parse_feed``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ice_pipeline.errors import ConfigError, FileProblem

MEGABYTE = 1024 * 1024
DEFAULT_MAX_FILE_MB = 2048.0


@dataclass(frozen=True)
class IngestSettings:
    """The ``ingest`` section: ``max_file_mb`` (a landing file above it is refused, not read)."""

    max_file_mb: float = DEFAULT_MAX_FILE_MB

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> "IngestSettings":
        unknown = sorted(str(key) for key in section if key != "max_file_mb")
        if unknown:
            raise ConfigError(
                f"ingest.{unknown[0]}",
                "is not a known ingest setting",
                fix="use only 'max_file_mb' (ice.example.yaml)",
            )
        value = section.get("max_file_mb", DEFAULT_MAX_FILE_MB)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(
                "ingest.max_file_mb",
                f"must be a positive number of megabytes, got {value!r}",
                fix=f"write e.g. 'max_file_mb: {DEFAULT_MAX_FILE_MB:g}' (the default)",
            )
        return cls(max_file_mb=float(value))


def oversized_file(path: Path, max_file_mb: float | None) -> FileProblem | None:
    """The one-line problem of ``path`` when it is larger than ``max_file_mb``, else None.

    Only the file's size is looked at (``stat``), so a huge file costs nothing. Raises OSError
    when the file cannot be looked at; the caller reports it as unreadable.
    """
    if max_file_mb is None:
        return None
    size = path.stat().st_size
    if size <= max_file_mb * MEGABYTE:
        return None
    return FileProblem(
        str(path),
        f"the file is {_megabytes(size)} MB ({size:,} bytes), larger than the limit of "
        f"{max_file_mb:g} MB "
        "(ingest.max_file_mb); nothing of it was read, the other files were ingested",
        fix="raise ingest.max_file_mb in the ICE_CONFIG file if this size is expected (parsing "
        "needs a few times the file's size in memory), or export a shorter date range",
    )


def _megabytes(size: int) -> str:
    """2,560 / 12.5 / 0.0334: enough digits to tell a small test file from its limit."""
    value = size / MEGABYTE
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
