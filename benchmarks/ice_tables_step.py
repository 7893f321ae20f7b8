"""Time the whole ``ice_tables`` step (Dagster, in process) on a warehouse built by index_moments.

    python -m benchmarks.index_moments build DIR [--postgres URL]
    python -m benchmarks.ice_tables_step URL DATA_DIR [PERIOD]

Materializes the ICE tables of PERIOD (default 2026-03) once and prints one JSON line: the step's
duration as Dagster records it (reads, protection of earlier versions, writes of the five tables
and of the publication record), the process's peak RSS and the publication decision. Run it twice
on the same warehouse to time a re-run (the record exists, so the protection path runs). Run it
with PYTHONPATH pointing at another checkout to time that code on the same warehouse.
"""

import json
import resource
import sys
import time


def main(url: str, data_dir: str, period: str = "2026-03") -> dict[str, object]:
    import dagster as dg

    import ice_pipeline
    from ice_pipeline.defs.assets_index import ice_tables
    from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource

    start = time.perf_counter()
    result = dg.materialize(
        [ice_tables],
        partition_key=period,
        resources={
            "warehouse": WarehouseResource(url=url),
            "pipeline": PipelineSettingsResource(data_dir=data_dir),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    wall = time.perf_counter() - start
    step = next(e for e in result.all_events if e.event_type_value == "STEP_SUCCESS")
    company = next(
        m.metadata
        for m in result.asset_materializations_for_node("ice_tables")
        if m.asset_key.path[-1] == "company_scores"
    )
    return {
        "code": ice_pipeline.__file__,
        "step_seconds": round(step.event_specific_data.duration_ms / 1000, 2),
        "materialize_wall_seconds": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "decision": company["publication_decision"].value,
        "company_ice_p": company["company_ice_p"].value,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
