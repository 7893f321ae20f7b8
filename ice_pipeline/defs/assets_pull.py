"""Pull assets: one per configured source, in the group "pull", upstream of its feed's raw asset.

Belongs here: the Dagster shell around ``ice_pipeline.connectors.pull.pull_source``. Each asset
lands what is new from its tool in ``landing/<feed>/<source>/`` and reports counts, cursor and
file as metadata. A source that fails does not fail the run: its ``pull_succeeded`` check fails
with the one-line reason and the error is logged, the other pulls go on, and ingest reads what
is landed (the failed pull landed nothing, its cursor did not move, the next run catches up).
"""

import dagster as dg

from ice_pipeline.connectors import tool_module
from ice_pipeline.connectors.pull import failed_outcome, pull_source, tool_of
from ice_pipeline.connectors.source import SourceSettings
from ice_pipeline.defs.resources import PipelineSettingsResource

GROUP_PULL = "pull"
PULL_CHECK = "pull_succeeded"


def pull_asset_key(source: str) -> str:
    return f"pull_{source}"


def _pull_asset(settings: SourceSettings) -> dg.AssetsDefinition:
    name = pull_asset_key(settings.name)
    tool = tool_of(settings)
    feed = tool_module(tool).FEED

    @dg.asset(
        name=name,
        group_name=GROUP_PULL,
        kinds={tool},
        required_resource_keys={name, "pipeline"},
        check_specs=[
            dg.AssetCheckSpec(
                PULL_CHECK, asset=name, description="the pull reached its tool and landed"
            )
        ],
        description=f"What is new in {tool} source '{settings.name}', landed in landing/{feed}/"
        f"{settings.name}/ with a provenance sidecar.",
    )
    def _pull(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        source = getattr(context.resources, name).settings()
        pipeline: PipelineSettingsResource = context.resources.pipeline
        try:
            outcome = pull_source(source, pipeline.landing_dir, say=context.log.info)
        except Exception as err:  # noqa: BLE001 - reported by the failed check, not swallowed
            outcome = failed_outcome(source, err)
            context.log.error(f"pull {settings.name} failed: {outcome.error}")
        return dg.MaterializeResult(
            metadata={
                "status": outcome.status,
                "records": outcome.records,
                "file": outcome.file or "",
                "cursor_from": str(outcome.cursor_from),
                "cursor_to": str(outcome.cursor_to),
                "requests": outcome.requests,
                "error": outcome.error or "",
                "duration_s": round(outcome.seconds, 2),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=PULL_CHECK,
                    passed=outcome.ok,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=outcome.error or outcome.line(),
                )
            ],
        )

    return _pull


def build_pull_assets(sources: list[SourceSettings]) -> list[dg.AssetsDefinition]:
    return [_pull_asset(settings) for settings in sources]


def pulls_by_feed(sources: list[SourceSettings]) -> dict[str, list[str]]:
    """Feed -> the pull asset keys landing into it (the raw ingest asset depends on them)."""
    found: dict[str, list[str]] = {}
    for settings in sources:
        feed = tool_module(tool_of(settings)).FEED
        found.setdefault(feed, []).append(pull_asset_key(settings.name))
    return found
