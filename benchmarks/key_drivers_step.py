"""Time the ``key_drivers`` step (Dagster, in process) on a warehouse a benchmark run kept.

    python -m benchmarks.run --only enterprise --no-prototype --keep   # prints the data path
    python benchmarks/key_drivers_step.py URL DATA_DIR [PERIOD]

Materializes the key drivers of PERIOD (default 2026-10, the enterprise month) once and prints
one JSON line: the step's duration as Dagster records it, the process's CPU seconds and peak RSS
over the materialization (and the RSS before it: imports and Dagster), and a digest of the rows
written to ``ice.key_drivers`` (exact float text), so two implementations can be shown to write
the same table. Run it with PYTHONPATH pointing at another checkout to time that code on the
same warehouse; the machine is shared, so compare CPU seconds rather than wall time.
"""

import hashlib
import json
import resource
import sys
import time


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _digest(url: str, period: str) -> tuple[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT * FROM ice.key_drivers WHERE period = :period "
                "ORDER BY provider_department, dimension"
            ),
            {"period": period},
        ).fetchall()
    engine.dispose()
    text = "\n".join(repr(tuple(row)) for row in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], len(rows)


def main(url: str, data_dir: str, period: str = "2026-10") -> dict[str, object]:
    import dagster as dg

    import ice_pipeline
    from ice_pipeline.defs.assets_drivers import key_drivers
    from ice_pipeline.defs.resources import PipelineSettingsResource, WarehouseResource

    rss_before = _rss_mb()
    cpu = _cpu_seconds()
    start = time.perf_counter()
    result = dg.materialize(
        [key_drivers],
        partition_key=period,
        resources={
            "warehouse": WarehouseResource(url=url),
            "pipeline": PipelineSettingsResource(data_dir=data_dir),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    wall = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    step = next(e for e in result.all_events if e.event_type_value == "STEP_SUCCESS")
    peak = _rss_mb()
    from ice_pipeline.defs.resources import dispose_engines

    dispose_engines()
    digest, rows = _digest(url, period)
    return {
        "code": ice_pipeline.__file__,
        "step_seconds": round(step.event_specific_data.duration_ms / 1000, 2),
        "materialize_wall_seconds": round(wall, 2),
        "materialize_cpu_seconds": round(cpu, 2),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "rows_written": rows,
        "rows_digest": digest,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
