"""Ingest assets: raw exports per feed (unpartitioned) and the canonical tables (per period).

Belongs here: the Dagster shell around ``ice_pipeline.ingest`` (parsing) and
``ice_pipeline.cache`` (parse each file once): which files a feed holds, the raw ledger
(``ice_ops.source_files``, ``ice_private.quarantine``), and writing each canonical partition
with ``warehouse.writes.replace_partition``. Parsing rules, validation and expectations live in
``ice_pipeline.ingest``; these asset bodies only wire them together and attach metadata.

Raw assets look at every file in ``landing/<feed>/`` and run in every run of the job (they are
unpartitioned); a file already parsed is not parsed again. A file-level problem (unknown format,
missing column, empty or unreadable file, broken mapping) is isolated to that file: it is
recorded in ``ice_ops.source_files`` as failed with its one-line reason, its check
``every_file_read`` fails, the run's closing lines name it (exit status 1), and every other file
and period goes on. Rows whose period no partition reads are counted as quarantined
(ingest/ledger.py). Ticket parsing needs the HR roster (requester -> department), so tickets
depend on HR.
"""

from typing import TYPE_CHECKING

import dagster as dg

from ice_pipeline.defs.catalog import written_metadata
from ice_pipeline.defs.partitions import monthly_partitions
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.run_log import partition_log
from ice_pipeline.defs.support import (
    GROUP_INGEST,
    Timer,
    counts_by,
    exclusive_write,
    table_preview,
    user_errors,
)
from ice_pipeline.errors import IceError
from ice_pipeline.warehouse import schema

if TYPE_CHECKING:
    import pandas as pd

    from ice_pipeline.cache import CachedParse
    from ice_pipeline.ingest.ledger import PartitionWindow

RAW_ASSET_OF_FEED = {
    "surveys": "raw_survey_exports",
    "tickets": "raw_ticket_exports",
    "hr": "raw_hr_exports",
    "external": "raw_external_exports",
}


def _columns(table: str) -> list[str]:
    return [c.name for c in schema.metadata.tables[_qualified(table)].columns]


def _qualified(table: str) -> str:
    for key, candidate in schema.metadata.tables.items():
        if candidate.name == table:
            return key
    raise KeyError(table)


def _ingested(pipeline: PipelineSettingsResource, feed: str) -> "list[CachedParse]":
    """The parses the last successful raw run of ``feed`` used; [] if there were no files."""
    from ice_pipeline.cache import ParseCache

    parses = ParseCache(pipeline.cache_dir).read_manifest(feed)
    if parses is None:
        raise IceError(
            f"the {feed} exports have not been ingested yet",
            fix=f"materialise {RAW_ASSET_OF_FEED[feed]} first (the whole ice_nightly_job does)",
        )
    return parses


def _names(pipeline: PipelineSettingsResource) -> dict[str, dict[str, str]]:
    """One display name per department and dimension over every ingested file of every feed."""
    from ice_pipeline.cache import ParseCache
    from ice_pipeline.ingest.common import FEEDS
    from ice_pipeline.ingest.names import names_across_files

    cache = ParseCache(pipeline.cache_dir)
    return names_across_files(
        p.name_spellings() for feed in FEEDS for p in (cache.read_manifest(feed) or [])
    )


def _roster(pipeline: PipelineSettingsResource) -> "pd.DataFrame | None":
    from ice_pipeline.cache import ParseCache, latest_roster

    parses = ParseCache(pipeline.cache_dir).read_manifest("hr") or []
    roster = latest_roster(parses, _columns("employees"))
    return None if roster.empty else roster


EVERY_FILE_READ = "every_file_read"


def partition_window() -> "PartitionWindow | None":
    """The monthly partitions' first and last key (None before the first month completes)."""
    from ice_pipeline.ingest.ledger import PartitionWindow

    keys = monthly_partitions.get_partition_keys()
    return PartitionWindow(keys[0], keys[-1]) if keys else None


def _file_table(parses: "list[CachedParse]") -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "file": p.source_file.rsplit("/", 1)[-1],
                "format": p.meta["file_format"],
                "read": p.counts.get("rows_read", 0),
                "kept": p.counts.get("rows_kept", 0),
                "quarantined": p.counts.get("rows_quarantined", 0),
                "excluded": p.counts.get("rows_excluded", 0),
                "periods": (
                    f"{p.periods[0]}..{p.periods[-1]}"
                    if len(p.periods) > 1
                    else ",".join(p.periods)
                ),
            }
            for p in parses
        ]
    )


def _ingest_feed(
    context: dg.AssetExecutionContext,
    feed: str,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.cache import ParseCache, parse_feed
    from ice_pipeline.ingest.ledger import feed_totals, record_ledger
    from ice_pipeline.ingest.loss import QuarantineShareExceeded

    timer = Timer()
    window = partition_window()
    with user_errors():
        cache = ParseCache(pipeline.cache_dir)
        outcome = parse_feed(
            pipeline.landing_dir,
            feed,
            cache,
            salt=pipeline.salt(),
            hr_employees=_roster(pipeline) if feed == "tickets" else None,
            max_file_mb=pipeline.ingest_settings().max_file_mb,
        )
        engine = warehouse.engine()
        with exclusive_write(engine, "source_files", feed):
            written = record_ledger(
                engine,
                feed,
                outcome.parses,
                outcome.failures,
                window,
                context.run_id,
                reparsed={p.source_sha256 for p in outcome.newly_parsed},
            )
    for _path, problem in outcome.failures:
        context.log.error(problem)
    # Issue 16: a file that lost most of its rows to quarantine stops the feed (nothing of the
    # feed is updated); the ledger above already names it.
    stops = [p for p in outcome.problems if isinstance(p, QuarantineShareExceeded)]
    if stops:
        raise dg.Failure(description="\n".join(str(p) for p in stops), allow_retries=False)
    # The good files are the feed's data; a failed file is named, never a reason to stop the rest.
    cache.write_manifest(feed, outcome.parses)
    totals = feed_totals(outcome.parses, window)
    periods = sorted({period for p in outcome.parses for period in p.periods})
    failed_text = "\n".join(problem for _path, problem in outcome.failures)
    return dg.MaterializeResult(
        metadata={
            "files": len(outcome.parses),
            "files_parsed_now": len(outcome.newly_parsed),
            "files_recorded_now": written.files_recorded,
            "quarantine_rows_recorded_now": written.quarantine_rows,
            "files_failed": len(outcome.failures),
            "failed_files": failed_text,
            **totals,
            "periods": ", ".join(periods)
            if len(periods) <= 3
            else f"{periods[0]} .. {periods[-1]} ({len(periods)})",
            "landing_dir": dg.MetadataValue.path(str(pipeline.landing_dir / feed)),
            "file_summary": table_preview(_file_table(outcome.parses), max_rows=30),
            "duration_s": timer.seconds,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=EVERY_FILE_READ,
                passed=not outcome.failures,
                severity=dg.AssetCheckSeverity.ERROR,
                description=failed_text or "every landing file was read",
                metadata={"files_failed": len(outcome.failures)},
            )
        ],
    )


def _raw_asset(feed: str, description: str, deps: list[str] | None = None) -> dg.AssetsDefinition:
    @dg.asset(
        name=RAW_ASSET_OF_FEED[feed],
        group_name=GROUP_INGEST,
        deps=deps or [],
        description=description,
        kinds={"csv"},
        check_specs=[
            dg.AssetCheckSpec(
                EVERY_FILE_READ,
                asset=RAW_ASSET_OF_FEED[feed],
                description="Every landing file of the feed could be read (failed files named).",
            )
        ],
    )
    def _raw(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        pipeline: PipelineSettingsResource,
    ) -> dg.MaterializeResult:
        return _ingest_feed(context, feed, warehouse, pipeline)

    return _raw


raw_survey_exports = _raw_asset(
    "surveys", "Survey exports in landing/surveys (Qualtrics, SurveyMonkey, ...), each parsed once."
)
raw_hr_exports = _raw_asset("hr", "HR roster exports in landing/hr, each parsed once.")
raw_ticket_exports = _raw_asset(
    "tickets",
    "Ticket exports in landing/tickets; requesters map to departments through the HR roster.",
    deps=["raw_hr_exports"],
)
raw_external_exports = _raw_asset(
    "external", "External NPS / CSAT exports in landing/external, each parsed once."
)


def _write_period(
    warehouse: WarehouseResource, table: str, frame: "pd.DataFrame", period: str
) -> int:
    from ice_pipeline.warehouse.writes import replace_partition

    engine = warehouse.engine()
    with exclusive_write(engine, table, period):
        return replace_partition(
            engine,
            schema.metadata.tables[_qualified(table)],
            frame,
            {"period": period},
            log=partition_log(engine, table, period),  # ice_ops.run_log, same transaction
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "survey_ratings",
            group_name=GROUP_INGEST,
            deps=["raw_survey_exports"],
            kinds={"sql"},
            description="One rating per respondent, provider and dimension (ice_private).",
        ),
        dg.AssetSpec(
            "survey_comments",
            group_name=GROUP_INGEST,
            deps=["raw_survey_exports"],
            kinds={"sql"},
            description="Free-text comments per respondent and provider (ice_private).",
        ),
    ],
    partitions_def=monthly_partitions,
)
def survey_tables(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
    from ice_pipeline.defs.survey_write import write_survey_period

    timer = Timer()
    period = context.partition_key
    with user_errors():
        done = write_survey_period(
            warehouse.engine(),
            _ingested(pipeline, "surveys"),
            period,
            _names(pipeline),
            pipeline.cache_dir / "staging",
            lambda table, frame: _write_period(warehouse, table, frame, period),
        )
    return (
        dg.MaterializeResult(
            asset_key="survey_ratings",
            metadata={
                **written_metadata("survey_ratings", done.written),
                "respondents": done.respondents,
                "files": done.files,
                "duplicate_rows_replaced": done.duplicates_dropped,
                # A corrected re-export replaces whole responses (ingest/corrections.py).
                "responses_replaced": done.responses_replaced,
                "ratings_replaced": done.ratings_replaced,
                "providers": done.providers,
                "respondents_by_provider": table_preview(done.preview, max_rows=20),
                "duration_s": timer.seconds,
            },
        ),
        dg.MaterializeResult(
            asset_key="survey_comments",
            metadata={
                **written_metadata("survey_comments", done.comments_written),
                "files": done.comment_files,
            },
        ),
    )


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INGEST,
    deps=["raw_ticket_exports"],
    kinds={"sql"},
    description="One ticket at its latest state, by the month it was opened (ice_private.tickets).",
)
def tickets(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.cache import rows_for_period
    from ice_pipeline.ingest.names import apply_names

    timer = Timer()
    period = context.partition_key
    with user_errors():
        rows = rows_for_period(
            _ingested(pipeline, "tickets"), "tickets", period, _columns("tickets")
        )
        rows.frame = apply_names(rows.frame, _names(pipeline))
        written = _write_period(warehouse, "tickets", rows.frame, period)
    frame = rows.frame
    unmapped = int(frame["consumer_department"].isna().sum()) if not frame.empty else 0
    return dg.MaterializeResult(
        metadata={
            **written_metadata("tickets", written),
            "files": rows.files,
            "duplicate_rows_replaced": rows.duplicates_dropped,
            "tickets_without_consumer_department": unmapped,
            "tickets_by_provider": table_preview(
                counts_by(frame, "provider_department", label="tickets"), max_rows=20
            ),
            "duration_s": timer.seconds,
        }
    )


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INGEST,
    deps=["raw_external_exports"],
    kinds={"sql"},
    description="External NPS and CSAT per business unit and month (ice.external_metrics).",
)
def external_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.cache import rows_for_period
    from ice_pipeline.ingest.names import apply_names

    timer = Timer()
    period = context.partition_key
    with user_errors():
        rows = rows_for_period(
            _ingested(pipeline, "external"),
            "external_metrics",
            period,
            _columns("external_metrics"),
        )
        rows.frame = apply_names(rows.frame, _names(pipeline))
        written = _write_period(warehouse, "external_metrics", rows.frame, period)
    preview = (
        rows.frame[["business_unit", "metric", "value", "n_responses"]]
        if not rows.frame.empty
        else rows.frame
    )
    return dg.MaterializeResult(
        metadata={
            **written_metadata("external_metrics", written),
            "files": rows.files,
            "metrics": table_preview(
                preview.sort_values(["business_unit", "metric"]) if not preview.empty else preview,
                max_rows=20,
            ),
            "duration_s": timer.seconds,
        }
    )


@dg.asset(
    group_name=GROUP_INGEST,
    deps=["raw_hr_exports"],
    kinds={"sql"},
    description="The HR roster: each employee's row from the newest snapshot holding them.",
)
def employees(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.cache import latest_roster
    from ice_pipeline.ingest.names import apply_names
    from ice_pipeline.warehouse.writes import replace_partition

    timer = Timer()
    with user_errors():
        roster = apply_names(
            latest_roster(_ingested(pipeline, "hr"), _columns("employees")), _names(pipeline)
        )
        with exclusive_write(warehouse.engine(), "employees"):
            written = replace_partition(
                warehouse.engine(),
                schema.employees,
                roster,
                {},
                log=partition_log(warehouse.engine(), "employees", None),  # ice_ops.run_log
            )
    active = roster[roster["termination_date"].isna()] if not roster.empty else roster
    return dg.MaterializeResult(
        metadata={
            **written_metadata("employees", written),
            "employees_active": len(active),
            "leavers": int(roster["termination_date"].notna().sum()) if not roster.empty else 0,
            "snapshots": ", ".join(sorted(roster["snapshot_period"].unique())[-3:])
            if not roster.empty
            else "",
            "active_by_department": table_preview(
                counts_by(active, "department", label="employees"), max_rows=40
            ),
            "duration_s": timer.seconds,
        }
    )


ingest_assets = [
    raw_survey_exports,
    raw_hr_exports,
    raw_ticket_exports,
    raw_external_exports,
    survey_tables,
    tickets,
    external_metrics,
    employees,
]


def ingest_assets_after(pulls: dict[str, list[str]]) -> list[dg.AssetsDefinition]:
    """``ingest_assets`` with each feed's raw asset downstream of the pull assets landing there.

    Dependencies must exist when an asset is built (they become inputs of its op), so the raw
    assets of feeds with pulls are built again with the extra deps (issue 17, defs/assets_pull.py).
    """
    if not any(pulls.values()):
        return ingest_assets
    rebuilt = []
    for asset in ingest_assets:
        names = {key.path[-1] for key in asset.keys}
        feed = next((f for f, key in RAW_ASSET_OF_FEED.items() if key in names), None)
        if feed is None or not pulls.get(feed):
            rebuilt.append(asset)
            continue
        spec = next(iter(asset.specs))
        deps = [dep.asset_key.to_user_string() for dep in spec.deps]
        rebuilt.append(_raw_asset(feed, spec.description or "", deps=[*deps, *pulls[feed]]))
    return rebuilt
