"""Index assets: service KPIs, turnover, the ICE tables and the correlations, per period.

Belongs here: the Dagster shell around ``ice_pipeline.index``: which warehouse rows each period's
computation reads, the partition mappings that declare those reads, and writing the results
with ``replace_partition``. Every formula lives in ``ice_pipeline.index``.

Reads beyond the period itself are declared, not hidden:
* the ICE tables read the previous period's ratings too (``WITH_PREVIOUS_PERIOD``) for the trend,
  as moments computed in the warehouse (``ice_pipeline.index.publish``);
* the correlations at an as-of period read the 24 periods ending there (``CORRELATION_HISTORY``);
* turnover reads the unpartitioned roster, which already holds the whole history.
"""

from typing import TYPE_CHECKING

import dagster as dg

from ice_pipeline.defs.catalog import written_metadata
from ice_pipeline.defs.partitions import (
    CORRELATION_HISTORY,
    CORRELATION_WINDOW_PERIODS,
    WITH_PREVIOUS_PERIOD,
    monthly_partitions,
    periods_back,
    previous_period,
)
from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
from ice_pipeline.defs.run_log import partition_log
from ice_pipeline.defs.support import (
    GROUP_INDEX,
    exclusive_write,
    table_preview,
    user_errors,
)
from ice_pipeline.warehouse import schema

if TYPE_CHECKING:  # pandas and the index stay unimported until a step runs (lean start-up)
    import pandas as pd

    from ice_pipeline.index.versions import Publication

SCORE_TABLES = (
    "ice_scores",
    "company_scores",
    "dimension_scores",
    "matrix_scores",
    "consumer_satisfaction",
)
# Turnover's rolling 12-month rate needs the eleven months before the period.
ROLLING_MONTHS = 12


def _table(name: str) -> object:
    return next(t for t in schema.metadata.tables.values() if t.name == name)


def _read_period(
    warehouse: WarehouseResource, name: str, periods: str | list[str]
) -> "pd.DataFrame":
    from ice_pipeline.warehouse.writes import read_frame

    return read_frame(warehouse.engine(), _table(name), where={"period": periods})


def _write(warehouse: WarehouseResource, name: str, frame: "pd.DataFrame", period: str) -> int:
    from ice_pipeline.warehouse.writes import replace_partition

    engine = warehouse.engine()
    with exclusive_write(engine, name, period):
        return replace_partition(
            engine, _table(name), frame, {"period": period}, log=partition_log(engine, name, period)
        )


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INDEX,
    deps=["tickets"],
    kinds={"sql"},
    description="Ticket KPIs per provider (SLA, reopen, resolution, first assignee) and ICE-K.",
)
def service_kpis(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.index.kpis import compute_service_kpis

    period = context.partition_key
    with user_errors():
        kpis = compute_service_kpis(
            _read_period(warehouse, "tickets", period), period, pipeline.index_config()
        )
        written = _write(warehouse, "service_kpis", kpis, period)
    preview = (
        kpis[
            ["provider_department", "tickets_n", "sla_met_pct", "median_resolution_hours", "ice_k"]
        ]
        if not kpis.empty
        else kpis
    )
    return dg.MaterializeResult(
        metadata={
            **written_metadata("service_kpis", written),
            "tickets": int(kpis["tickets_n"].sum()) if not kpis.empty else 0,
            "kpis": table_preview(preview, max_rows=20),
        }
    )


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INDEX,
    deps=["employees"],
    kinds={"sql"},
    description="Monthly turnover and retention per department from the HR roster.",
)
def turnover(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.index.turnover import compute_turnover
    from ice_pipeline.warehouse.writes import read_frame

    period = context.partition_key
    with user_errors():
        roster = read_frame(warehouse.engine(), schema.employees)
        # The roster is trusted from the first partition on (earlier leavers are often missing).
        history_start = monthly_partitions.get_first_partition_key()
        months = [p for p in periods_back(period, ROLLING_MONTHS) if p >= (history_start or p)]
        # Departments under k and small leaver splits are withheld before anything is written.
        rows = compute_turnover(
            roster,
            months,
            history_start=history_start,
            min_group=pipeline.index_config().k_min_respondents,
        )
        rows = rows[rows["period"] == period] if not rows.empty else rows
        written = _write(warehouse, "turnover", rows, period)
    preview = (
        rows[["department", "headcount_avg", "leavers", "turnover_pct", "retention_pct"]]
        if not rows.empty
        else rows
    )
    return dg.MaterializeResult(
        metadata={
            **written_metadata("turnover", written),
            # Published departments only: a total over all of them minus the published ones
            # would reveal the withheld departments' leavers.
            "leavers_in_published_departments": int(rows["leavers"].fillna(0).sum())
            if not rows.empty
            else 0,
            "turnover": table_preview(preview, max_rows=40),
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            name,
            group_name=GROUP_INDEX,
            kinds={"sql"},
            deps=[
                dg.AssetDep("survey_ratings", partition_mapping=WITH_PREVIOUS_PERIOD),
                "service_kpis",
            ],
            description=description,
        )
        for name, description in (
            ("ice_scores", "ICE-P, ICE-K and ICE per provider with intervals, rank and trend."),
            ("company_scores", "Company-wide ICE per period with its trend."),
            ("dimension_scores", "Each provider's score on each dimension."),
            ("matrix_scores", "Provider x consumer department scores, small groups suppressed."),
            (
                "consumer_satisfaction",
                "Each department's satisfaction with the internal services it receives.",
            ),
        )
    ],
    partitions_def=monthly_partitions,
)
def ice_tables(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
):  # noqa: ANN201 - a generator of MaterializeResults
    from ice_pipeline.index.publish import publish_from_warehouse
    from ice_pipeline.privacy.records import record_publication

    period = context.partition_key
    with user_errors():
        config = pipeline.index_config()
        engine = warehouse.engine()
        # The ratings stay in the warehouse: it computes the moments, Python the few hundred rows.
        publication = publish_from_warehouse(
            engine,
            period,
            previous_period(period),
            _read_period(warehouse, "service_kpis", period),
            config,
        )
        tables = publication.tables
        written = {name: _write(warehouse, name, tables[name], period) for name in SCORE_TABLES}
        record_publication(
            engine, period, publication, policy=config.late_responses, run_id=context.run_id
        )
    for name in SCORE_TABLES:
        yield dg.MaterializeResult(
            asset_key=name, metadata=_score_metadata(name, tables[name], written[name], publication)
        )


def _score_metadata(
    name: str, frame: "pd.DataFrame", written: int, publication: "Publication"
) -> dict[str, object]:
    """The Dagster metadata of one score table as written (aggregates only)."""
    import pandas as pd

    metadata: dict[str, object] = {
        **written_metadata(name, written),
        "suppressed_rows": int(frame["suppressed"].sum())
        if "suppressed" in frame.columns and not frame.empty
        else 0,
    }
    if name == "ice_scores" and not frame.empty:
        columns = ["rank", "provider_department", "n_respondents", "ice_p", "ice_k", "ice"]
        metadata["scores"] = table_preview(
            frame[[*columns, "ice_p_change"]].sort_values("rank"), max_rows=20
        )
    if name == "company_scores":
        if not frame.empty:
            row = frame.iloc[0]
            metadata["company_ice_p"] = float(row["ice_p"]) if pd.notna(row["ice_p"]) else None
            metadata["n_respondents"] = int(row["n_respondents"])
        metadata.update(
            publication_version=publication.version,
            publication_decision=publication.decision,
            late_respondents=len(publication.changes.late),
            held_respondents=publication.held_respondents,
            held_late_ratings=publication.late_ratings,
        )
    return metadata


@dg.asset(
    partitions_def=monthly_partitions,
    group_name=GROUP_INDEX,
    deps=[
        dg.AssetDep(name, partition_mapping=CORRELATION_HISTORY)
        for name in (
            "consumer_satisfaction",
            "ice_scores",
            "company_scores",
            "turnover",
            "external_metrics",
        )
    ],
    kinds={"sql"},
    description=(
        "Associations (not causation) between internal service, turnover and external metrics "
        f"over the {CORRELATION_WINDOW_PERIODS} periods up to the as-of period (n, CI, BH q)."
    ),
)
def correlations(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    pipeline: PipelineSettingsResource,
) -> dg.MaterializeResult:
    from ice_pipeline.index.correlations import compute_correlations

    period = context.partition_key
    window = periods_back(period, CORRELATION_WINDOW_PERIODS)
    with user_errors():
        inputs = {
            name: _read_period(warehouse, name, window)
            for name in (
                "consumer_satisfaction",
                "ice_scores",
                "company_scores",
                "turnover",
                "external_metrics",
            )
        }
        rows = compute_correlations(
            inputs["consumer_satisfaction"],
            inputs["ice_scores"],
            inputs["company_scores"],
            inputs["turnover"],
            inputs["external_metrics"],
            as_of=period,
            config=pipeline.index_config(),
        )
        written = _write(warehouse, "correlations", rows, period)
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    significant = ok[ok["significant"].fillna(False).astype(bool)] if not ok.empty else ok
    return dg.MaterializeResult(
        metadata={
            **written_metadata("correlations", written),
            "tests_with_enough_data": len(ok),
            "significant_after_bh": len(significant),
            "periods_in_window": len(set(inputs["ice_scores"]["period"]))
            if not inputs["ice_scores"].empty
            else 0,
            "significant": table_preview(
                significant[
                    [
                        "analysis",
                        "x_metric",
                        "y_metric",
                        "lag_periods",
                        "group_key",
                        "n_pairs",
                        "pearson_r",
                        "bh_q",
                    ]
                ]
                if not significant.empty
                else significant,
                max_rows=15,
                decimals=3,
            ),
        }
    )


index_assets = [service_kpis, turnover, ice_tables, correlations]
