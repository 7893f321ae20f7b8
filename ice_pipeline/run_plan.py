"""Which periods a CLI run computes, which it skips and why, and how it reports failed checks.

Belongs here: the plain functions behind ``ice-pipeline run``'s choices (issue 15: runs that only
do real work), so tests and the runner share them:

* ``periods_with_data``: the partitions the ingested landing files hold rows for (the parse
  cache's manifests), optionally of one table (``survey_ratings``: survey data);
* ``inputs_fingerprint``: one hash of everything a run depends on besides the code;
* ``period_fingerprints``: per period, a hash of the inputs besides the code (the files holding
  its rows, the HR roster, and a base fingerprint of config, ``ICE_*`` settings, version,
  templates);
* ``plan_periods``: explicit periods are computed; otherwise the candidates before the first one
  whose fingerprint changed are skipped and that one and every later one are computed (trends
  and correlations read earlier periods), with one line saying what was skipped and why;
* ``checks_text`` / ``checks_summary``: the failed checks of a progress line and of the summary;
* ``ingest_accounting`` / ``held_text``: the ingest accounting lines (read = kept + quarantined +
  excluded, failed files) and the late respondents held back from a published period;
* ``first_failure``: the step and one-line message of a failed Dagster run (an IceError's own
  message, a busy DuckDB's resource failure), never a traceback.

Executing runs, records of past runs and printing live in ``runner.py``.
"""

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ice_pipeline.errors import IceError

# Feeds whose rows belong to a period (the HR roster is one snapshot for all periods).
PERIOD_FEEDS = ("surveys", "tickets", "external")


@dataclass
class PeriodPlan:
    """The periods a run computes, those it skips as unchanged, and the note saying why."""

    compute: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # period -> its inputs
    skipped: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # explicit periods without survey data
    note: str = ""


def span(periods: Sequence[str]) -> str:
    """``2026-09`` / ``2026-09, 2026-10`` / ``24 periods 2024-11..2026-10``."""
    if len(periods) <= 2:
        return ", ".join(periods)
    return f"{len(periods)} periods {periods[0]}..{periods[-1]}"


def periods_with_data(
    cache_dir: Path, partition_keys: Sequence[str], feeds: Sequence[str], table: str | None = None
) -> list[str]:
    """Partitions the ingested files of ``feeds`` hold rows for, oldest first.

    With ``table``, only the rows of that table count (survey_ratings: survey data).
    """
    from ice_pipeline.cache import ParseCache

    cache = ParseCache(cache_dir)
    found: set[str] = set()
    for feed in feeds:
        for parse in cache.read_manifest(feed) or []:
            found.update(parse.table_periods(table) if table else parse.periods)
    return [key for key in partition_keys if key in found]


def inputs_fingerprint(
    landing: Path | None,
    config_file: Path | None,
    environ: Mapping[str, str],
    selection: Sequence[str],
    dry_run: bool,
) -> str:
    """One hash of everything a run's results depend on besides the code of this version.

    Landing files count by path and content (sha256), so a re-exported file with new rows is
    new. ``ICE_*`` values are hashed, never stored. ``landing=None`` leaves the landing files
    out (the per-period fingerprints add the files of each period themselves).
    """
    from importlib.metadata import version

    from ice_pipeline.cache import file_sha256
    from ice_pipeline.paths import templates_dir

    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update(("\x1f".join(str(part) for part in parts) + "\x1e").encode("utf-8"))

    add("version", version("ice-pipeline"), "dry_run", dry_run, *sorted(selection))
    for key in sorted(k for k in environ if k.startswith("ICE_")):
        add("env", key, environ[key])
    if config_file is not None and config_file.is_file():
        add("config", file_sha256(config_file))
    for folder, label in ((landing, "landing"), (templates_dir(), "templates")):
        if folder is None or not folder.is_dir():
            continue
        # Symbolic links count by where they point, never by what they point at: ingest refuses
        # them (ingest/feeds.py), and the fingerprint must not read outside the folder either.
        tops = sorted(folder.iterdir())
        files = [top for top in tops if top.is_file() or top.is_symlink()]
        for top in tops:
            if top.is_dir() and not top.is_symlink():
                files.extend(sorted(p for p in top.rglob("*") if p.is_file() or p.is_symlink()))
        for path in files:
            content = f"link:{os.readlink(path)}" if path.is_symlink() else file_sha256(path)
            add(label, path.relative_to(folder).as_posix(), content)
    return digest.hexdigest()


def period_fingerprints(base: str, cache_dir: Path, periods: Sequence[str]) -> dict[str, str]:
    """Per period: ``base`` (everything but the landing files) and the files holding its rows.

    A period's fingerprint changes when a file with rows of that period is added, changed or
    removed, when the HR roster changes (turnover and department mapping read all of it), or
    when ``base`` changes (config, an ``ICE_*`` setting, the version, the templates).
    """
    from ice_pipeline.cache import ParseCache

    cache = ParseCache(cache_dir)
    parses = {feed: cache.read_manifest(feed) or [] for feed in (*PERIOD_FEEDS, "hr")}
    roster = sorted(p.source_sha256 for p in parses["hr"])
    prints = {}
    for period in periods:
        files = sorted(
            f"{feed}:{p.source_sha256}"
            for feed in PERIOD_FEEDS
            for p in parses[feed]
            if period in p.periods
        )
        material = "\n".join([base, period, *files, *roster])
        prints[period] = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return prints


def plan_periods(
    chosen: Sequence[str],
    *,
    all_periods: bool,
    partition_keys: Sequence[str],
    surveyed: Sequence[str],
    candidates: Sequence[str],
    fingerprints: Mapping[str, str],
    unchanged: Callable[[str], bool],
) -> PeriodPlan:
    """Which periods to compute, which are skipped and why (one line), which are empty.

    Explicit ``chosen`` periods are all computed (those without survey data are listed as
    ``empty`` for the caller to refuse unless ``--allow-empty``). Otherwise ``candidates`` (every
    period with data for ``--all``, every period with survey data for a plain run) before the
    first one that is not ``unchanged`` are skipped; that one and every later one are computed.
    """
    if chosen:
        return PeriodPlan(
            compute=list(chosen),
            fingerprints=dict(fingerprints),
            empty=[p for p in chosen if p not in surveyed],
        )
    first_changed = next(
        (index for index, period in enumerate(candidates) if not unchanged(period)),
        len(candidates),
    )
    plan = PeriodPlan(
        compute=list(candidates[first_changed:]),
        fingerprints=dict(fingerprints),
        skipped=list(candidates[:first_changed]),
    )
    reasons = []
    if plan.skipped:
        reasons.append(
            f"{span(plan.skipped)} unchanged since their last successful run "
            "(ice-pipeline run --partition YYYY-MM recomputes one)"
        )
    latest = partition_keys[-1] if partition_keys else None
    if latest is not None and latest not in surveyed and not all_periods:
        reasons.append(
            f"{latest}, the latest complete period, has no survey data yet: it runs once "
            "its survey export has landed"
        )
    if not candidates:
        reasons.insert(0, "the landing files hold no rows within the job's periods")
    if reasons:
        plan.note = ("skipped: " if plan.compute else "no period to compute: ") + "; ".join(reasons)
    return plan


def row_count(metadata: Mapping[str, Any]) -> int:
    """Rows written, from Dagster's ``dagster/row_count`` (or the older ``rows`` key)."""
    value = metadata.get("dagster/row_count", metadata.get("rows", 0))
    return int(value or 0)


def checks_text(failed_checks: Mapping[str, list[str]], period: str) -> str:
    """``, 1 check failed: survey_ratings.x_fresh (WARN)`` for a progress line ('' if none)."""
    failed = failed_checks.get(period) or []
    if not failed:
        return ""
    return f", {len(failed)} check{'s' if len(failed) != 1 else ''} failed: {', '.join(failed)}"


def checks_summary(failed_checks: Mapping[str, list[str]], periods_computed: int) -> str | None:
    """The closing line about failed checks: each name with its severity and in how many periods."""
    counts: dict[str, int] = {}
    for failed in failed_checks.values():
        for name in failed:
            counts[name] = counts.get(name, 0) + 1
    if not counts:
        return None
    computed = max(periods_computed, 1)
    parts = [
        f"{name} in {count} of {computed} period(s)" if count > 1 or computed > 1 else name
        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return f"checks failed: {sum(counts.values())} ({'; '.join(parts)})"


def ingest_accounting(metadata: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Per feed ``read = kept + quarantined + excluded`` lines, and the files that failed."""
    from ice_pipeline.defs.assets_ingest import RAW_ASSET_OF_FEED

    lines: list[str] = []
    failed_files: list[str] = []
    for feed, asset in RAW_ASSET_OF_FEED.items():
        meta = metadata.get(f"{asset}[]")
        if not meta:
            continue
        outside = meta.get("rows_outside_partitions", 0)
        failed = [line for line in str(meta.get("failed_files") or "").splitlines() if line]
        lines.append(
            f"  {feed}: {meta.get('files', 0)} files, read {meta.get('rows_read', 0)} = "
            f"kept {meta.get('rows_kept', 0)} + quarantined {meta.get('rows_quarantined', 0)}"
            f" + excluded {meta.get('rows_excluded', 0)}"
            + (f" ({outside} quarantined outside the partitions)" if outside else "")
            + (f"; {len(failed)} file(s) failed" if failed else "")
        )
        failed_files.extend(failed)
    return lines, failed_files


def held_text(metadata: Mapping[str, Mapping[str, Any]], period: str) -> str:
    """Late responses held back from a published period (issue 11), if any."""
    meta = metadata.get(f"company_scores[{period}]", {})
    held = meta.get("held_respondents") or 0
    if not held:
        return ""
    return (
        f", {held} late respondent(s) held (version {meta.get('publication_version')} "
        "stands; see ice_ops.publication_log)"
    )


def _ice_error_names() -> set[str]:
    """Class names of IceError and its subclasses (messages a person can act on)."""
    names, pending = set(), [IceError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def _resource_failure(result: Any) -> str | None:
    """The user's message behind "Initialization of resources ... failed" (e.g. a busy DuckDB)."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if event.event_type_value == "RESOURCE_INIT_FAILURE" and error is not None:
            # "package.module.ClassName: message": the class is for developers, not operators.
            return re.sub(r"^[\w.]+: ", "", error.message.strip().splitlines()[0])
    return None


def first_failure(result: Any) -> tuple[str, str]:
    """(step, one-line message) of the first failure of a run result."""
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                message = data.user_failure_data.description
            else:
                message = data.error.message if data.error else "unknown error"
                # Dagster prefixes the exception class; the cause chain holds the user's error.
                cause = data.error.cause if data.error else None
                # ...down to the first IceError (its message says what to do), else the root.
                user_errors = _ice_error_names()
                while (
                    cause is not None
                    and cause.cause is not None
                    and cause.cls_name not in user_errors
                ):
                    cause = cause.cause
                if cause is not None:
                    message = cause.message
                    if cause.cls_name in user_errors:
                        message = re.sub(r"^[\w.]+: ", "", message.strip())
            return event.step_key or "?", " ".join(message.strip().split())
    cause = _resource_failure(result)
    for event in result.all_events:
        if event.event_type_value == "RESOURCE_INIT_FAILURE" and cause is not None:
            return event.step_key or "run", cause
        if event.is_failure or event.event_type_value in (
            "RESOURCE_INIT_FAILURE",
            "PIPELINE_FAILURE",
        ):
            return event.step_key or "run", " ".join((event.message or "run failed").split())
    return "run", "the run failed without a step failure; see `dagster dev` for its event log"
