"""Peak RSS and CPU of the ``survey_tables`` step alone (Dagster, in process), on a landing dir.

    python -m benchmarks.survey_tables_step raw DATA_DIR          # parse once: raw_survey_exports
    python -m benchmarks.survey_tables_step step DATA_DIR PERIOD  # the measured step

DATA_DIR holds ``landing/`` (e.g. a symlink to /tmp/ss_data/s200); the warehouse is the embedded
DuckDB file under DATA_DIR unless ICE_WAREHOUSE_URL is set. Run ``raw`` first in its own process
so the step's process holds only what the step itself needs; ``step`` prints one JSON line.
"""

import json
import os
import resource
import sys
import time


def main(mode: str, data_dir: str, period: str = "2026-10") -> dict[str, object]:
    import dagster as dg

    import ice_pipeline
    from ice_pipeline.defs.assets_ingest import raw_survey_exports, survey_tables
    from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource
    from ice_pipeline.warehouse.migrate import upgrade

    url = os.environ.get("ICE_WAREHOUSE_URL") or f"duckdb:///{data_dir}/warehouse.duckdb"
    resources = {
        "warehouse": WarehouseResource(url=url),
        "pipeline": PipelineSettingsResource(
            data_dir=data_dir, pseudonym_salt="benchmark-salt-not-secret"
        ),
    }
    if mode == "raw":
        upgrade(url)
        dg.materialize([raw_survey_exports], resources=resources, raise_on_error=True)
        return {"raw": "done"}
    start = time.perf_counter()
    result = dg.materialize(
        [survey_tables],
        partition_key=period,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    meta = next(
        m.metadata
        for m in result.asset_materializations_for_node("survey_tables")
        if m.asset_key.path[-1] == "survey_ratings"
    )
    return {
        "code": ice_pipeline.__file__,
        "wall_seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        **{k: _plain(v) for k, v in meta.items() if k != "duration_s"},
    }


def _plain(value: object) -> object:
    """A metadata value as JSON (a table preview as its rows)."""
    records = getattr(value, "records", None)
    if records is not None:
        return [dict(record.data) for record in records]
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, int | float | str | bool | None) else str(inner)


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:]), default=str))
