"""Which reader an export goes to, and which exports are waiting in the landing directory.

Belongs here: the dispatcher ``read_export`` (feed from the mapping's ``feed:`` key, else the
landing sub-folder the file sits in, else detection from the header), ``discover_exports`` (what
the file sensor and the ingest assets iterate over) and ``periods_in_export`` (which partitions a
file touches). Parsing itself lives in the feed modules.

The contract every feed reader implements (surveys.read_survey, tickets.read_tickets,
hr.read_hr, external.read_external)::

    def read_<feed>(
        decoded: DecodedFile,            # common.decode_file(path, mapping.encoding)
        mapping: Mapping,                # mapping.Mapping: .raw (the YAML dict), .path, helpers;
                                         # Mapping.empty() when the file has no mapping
        *,
        file_format: str | None,         # forced format (CLI --format), else None = mapping/detect
        salt: str,                       # pseudonym salt for privacy.pseudonymize
        hr_employees: pd.DataFrame | None,  # canonical ``employees`` (requester -> department)
        now: datetime,                   # "the future" starts here (naive UTC)
    ) -> ParseResult

A reader raises ``FileProblem`` for file-level problems (nothing of the file is used) and
returns bad rows in ``ParseResult.quarantine`` otherwise.
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import FEEDS, DecodedFile, ParseResult, decode_file, read_csv_rows
from ice_pipeline.ingest.mapping import (
    Mapping,
    check_for_feed,
    find_mapping,
    is_mapping_file,
    load_mapping,
)
from ice_pipeline.ingest.names import normalise_names

Reader = Callable[..., ParseResult]
# Issue 16: tab-separated and Excel exports land beside CSV ones.
EXPORT_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm")


@dataclass(frozen=True)
class ExportFile:
    """One export waiting in the landing directory."""

    path: Path
    feed: str
    mapping_path: Path | None


def _reader(feed: str) -> Reader:
    # Imported lazily: each feed module pulls in its own dependencies, and a missing feed module
    # (still being written) must not break the others.
    if feed == "surveys":
        from ice_pipeline.ingest.surveys import read_survey

        return read_survey
    if feed == "tickets":
        from ice_pipeline.ingest.tickets import read_tickets

        return read_tickets
    if feed == "hr":
        from ice_pipeline.ingest.hr import read_hr

        return read_hr
    if feed == "external":
        from ice_pipeline.ingest.external import read_external

        return read_external
    raise ValueError(f"unknown feed {feed!r}")


def feed_from_folder(path: Path) -> str | None:
    """The feed named by the landing sub-folder (``landing/tickets/x.csv`` -> ``tickets``)."""
    parent = path.resolve().parent.name
    return parent if parent in FEEDS else None


# Header names that identify a non-survey feed when neither the mapping nor the folder says.
_TICKET_MARKERS = (
    {"number", "incident_state"},
    {"number", "assignment_group"},
    {"issue key"},
    {"issue id", "summary"},
    {"ticket id", "requester"},
    {"id", "requester", "assignee"},
)
_HR_MARKERS = (
    {"employeenumber", "attrition"},
    {"employee id", "hire date"},
    {"employee_id", "hire_date"},
    {"employee number", "department"},
)
_EXTERNAL_MARKERS = (
    {"business unit", "likely to recommend"},
    {"business_unit", "metric"},
    {"business_unit", "score"},
    {"business unit", "nps"},
)


def detect_feed(decoded: DecodedFile) -> str:
    """Guess the feed from the header; surveys when nothing else matches."""
    from ice_pipeline.ingest.surveys import detect_survey_format

    head = DecodedFile(
        decoded.path, _head(decoded.text), decoded.encoding, decoded.sha256, decoded.size_bytes
    )
    rows = read_csv_rows(head)[:3]
    if detect_survey_format(rows) is not None:
        return "surveys"
    header = [cell.strip() for cell in (rows[0] if rows else [])]
    try:
        from ice_pipeline.ingest.tickets import detect_ticket_format

        if detect_ticket_format(header) is not None:
            return "tickets"
    except ImportError:  # the tickets reader is optional while it is being written
        pass
    names = {cell.lower() for cell in header}
    for feed, markers in (
        ("tickets", _TICKET_MARKERS),
        ("hr", _HR_MARKERS),
        ("external", _EXTERNAL_MARKERS),
    ):
        if any(marker <= names for marker in markers):
            return feed
    from ice_pipeline.ingest.languages import feed_from_aliases

    return feed_from_aliases(header) or "surveys"  # localised headers (languages.py)


def _head(text: str, max_chars: int = 200_000) -> str:
    """The first few records' worth of text (detection must not parse a 100 MB body)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return text[: cut if cut > 0 else max_chars]


def resolve_feed(
    path: Path, mapping: Mapping, decoded: DecodedFile, feed: str | None = None
) -> str:
    """Feed by precedence: argument, mapping ``feed:``, landing folder, header detection."""
    chosen = feed or mapping.feed or feed_from_folder(path) or detect_feed(decoded)
    if chosen not in FEEDS:
        raise FileProblem(
            str(path),
            f"unknown feed {chosen!r}",
            fix=f"use one of {', '.join(FEEDS)} (mapping key 'feed:' or --feed)",
        )
    check_for_feed(mapping, chosen)
    return chosen


def read_export(
    path: Path,
    *,
    feed: str | None = None,
    file_format: str | None = None,
    mapping_path: Path | None = None,
    salt: str,
    hr_employees: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> ParseResult:
    """Parse one export with its mapping (explicit, else found beside it) into canonical frames."""
    path = Path(path)
    chosen_mapping = mapping_path if mapping_path is not None else find_mapping(path)
    mapping = load_mapping(chosen_mapping) if chosen_mapping is not None else Mapping.empty()
    decoded = decode_file(path, mapping.encoding)
    chosen_feed = resolve_feed(path, mapping, decoded, feed)
    decoded.disposable = True  # only the reader reads the text from here on
    reference_now = now or datetime.now(UTC).replace(tzinfo=None)
    reader = _reader(chosen_feed)
    result = reader(
        decoded,
        mapping,
        file_format=file_format,
        salt=salt,
        hr_employees=hr_employees,
        now=reference_now,
    )
    return normalise_names(result)


@dataclass(frozen=True)
class RefusedExport:
    """A landing entry the reader will not open: a symbolic link, or a path leading outside."""

    path: Path
    feed: str
    problem: FileProblem


@dataclass
class LandingScan:
    """What ``landing/<feed>/`` holds: the exports to read, and the entries refused."""

    exports: list[ExportFile]
    refused: list[RefusedExport]


# Entries that matter to the reader; a link with any of these endings is refused, not followed.
_READ_SUFFIXES = (*EXPORT_SUFFIXES, ".yaml", ".yml")


def _refusal(path: Path, feed: str, root: Path, *, folder: bool = False) -> RefusedExport | None:
    """Why ``path`` must not be read (a link, or a real path outside ``root``), else None.

    Why refuse rather than follow: the pipeline's service user can read more than the people who
    drop files in the landing folder; a link to ``/etc/shadow`` or to the warehouse would make it
    read that file and put its first lines into errors, the event log and the failure e-mail.
    """
    what = "folder" if folder else "file"
    if path.is_symlink():
        problem = f"the {what} is a symbolic link; the landing reader does not follow links"
        fix = f"copy the export itself into the landing folder's {feed}/ instead of linking to it"
    elif not path.resolve().is_relative_to(root):
        problem = f"the {what} lies outside the landing folder {root}"
        fix = f"put the export itself into the landing folder's {feed}/"
    else:
        return None
    return RefusedExport(
        path, feed, FileProblem(str(path), problem + "; nothing was read", fix=fix)
    )


def landing_exports(landing_dir: Path) -> LandingScan:
    """Every export (``EXPORT_SUFFIXES``) under ``landing/<feed>/``, sorted, with mapping; no links.

    The landing folder itself may be a link (an operator's choice, resolved once); below it no
    link is followed and no entry whose real path leads outside it is read. Refused entries are
    reported, one FileProblem each, and every other file goes on.
    """
    base = Path(landing_dir)  # paths are reported as given; containment is checked resolved
    root = base.resolve()
    found: list[ExportFile] = []
    refused: list[RefusedExport] = []
    for feed in FEEDS:
        folder = base / feed
        if folder.is_symlink():
            refused.append(_refusal(folder, feed, root, folder=True))  # type: ignore[arg-type]
            continue
        if not folder.is_dir():
            continue
        for current, dirnames, filenames in os.walk(folder, followlinks=False):
            here = Path(current)
            for name in sorted(dirnames):  # os.walk lists a linked folder but never enters it
                if (here / name).is_symlink():
                    refused.append(_refusal(here / name, feed, root, folder=True))  # type: ignore[arg-type]
            for name in sorted(filenames):
                path = here / name
                if not name.lower().endswith(_READ_SUFFIXES):
                    continue
                refusal = _refusal(path, feed, root)
                if refusal is not None:
                    refused.append(refusal)
                    continue
                if path.suffix.lower() not in EXPORT_SUFFIXES or not path.is_file():
                    continue
                mapping = find_mapping(path)
                if is_mapping_file(path) or (mapping is not None and mapping.is_symlink()):
                    continue  # a linked mapping is refused above, and its export waits for it
                found.append(ExportFile(path=path, feed=feed, mapping_path=mapping))
    found.sort(key=lambda export: (export.feed, str(export.path)))
    refused.sort(key=lambda entry: (entry.feed, str(entry.path)))
    return LandingScan(found, refused)


def discover_exports(landing_dir: Path) -> list[ExportFile]:
    """The exports :func:`landing_exports` would read (refused links left out)."""
    return landing_exports(landing_dir).exports


def landing_survey_problem(export: ExportFile) -> None:
    """Refuse a survey file in the landing folder whose mapping scores nothing.

    Without rating rules a survey is only described (``inspect`` shows its layout); in the
    landing folder that would read every response and keep none, with exit status 0. A long
    file's mapping scores it through its top-level ``scale:``.
    """
    mapping = load_mapping(export.mapping_path) if export.mapping_path else Mapping.empty()
    if mapping.get("ratings") or mapping.get("scale") is not None:
        return
    name = export.path.name
    if mapping.path is None:
        problem = "the survey file has no mapping, so none of its answers would be scored"
    else:
        problem = (
            f"its mapping {mapping.path} has no 'ratings:' rules, so none of its answers "
            "would be scored"
        )
    raise FileProblem(
        str(export.path),
        problem,
        fix=f"write the rating rules in {export.path.stem}.mapping.yaml or mapping.yaml beside "
        f"it (docs/mappings.md; 'ice-pipeline inspect {name}' lists its columns)",
    )


_PERIOD_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2}|Q[1-4])(?![\d])")


def periods_in_export(
    path: Path,
    *,
    feed: str | None = None,
    file_format: str | None = None,
    mapping_path: Path | None = None,
    salt: str = "ice-periods-not-secret",
    now: datetime | None = None,
) -> list[str]:
    """The partition keys an export contributes rows to (the file sensor requests runs for these).

    Parses the file (the salt only affects pseudonyms, which are discarded here). A survey
    without a mapping is read structurally (the months of its response-date column). Files
    whose rows all fail fall back to a ``YYYY-MM`` in the file name, then to no periods.
    """
    result = read_export(
        path, feed=feed, file_format=file_format, mapping_path=mapping_path, salt=salt, now=now
    )
    if result.periods:
        return result.periods
    if result.feed == "surveys" and not result.columns_mapped:
        from ice_pipeline.ingest.surveys import structural_summary

        decoded = decode_file(Path(path))
        periods = structural_summary(decoded, file_format or result.file_format).get("periods")
        if periods:
            return list(periods)
    match = _PERIOD_IN_NAME.search(Path(path).name)
    return [f"{match.group(1)}-{match.group(2)}"] if match else []
