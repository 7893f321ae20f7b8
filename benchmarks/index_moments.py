"""Before/after of the ICE tables step on a synthetic enterprise month (issue 13 item 4).

    python -m benchmarks.index_moments build DIR [--postgres URL]   # 2 periods x ~2.4M ratings
    python -m benchmarks.index_moments pandas URL                    # the previous implementation
    python -m benchmarks.index_moments moments URL                   # index/moments.py

``build`` synthesises ``survey_ratings`` in SQL (100,000 respondents in 12 departments,
each rating 5 of 8 providers on the dimensions they answer, ~96% of 5): faster than the demo
generator plus ingest and the same shape for the index. ``pandas`` and ``moments`` each run in a
fresh interpreter and print one JSON line: seconds of the step (read + compute, not the writes,
which are the same for both) and the process's peak RSS.
"""

import json
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

PERIOD, PREVIOUS = "2026-03", "2026-02"
# The text columns of survey_ratings that the pipeline's former per-run shared read
# (defs.support.shared_read, removed) read as categoricals: how the "before" of these
# benchmarks read a period.
CATEGORICAL_TEXT = (
    "period",
    "respondent_id",
    "provider_department",
    "dimension",
    "consumer_department",
    "source_file",
    "source_sha256",
)

SYNTHETIC_SQL = """
SELECT '{period}' AS period, 'R' || r AS respondent_id,
       'Provider' || ((r + 3 * j) % 8) AS provider_department, 'dim' || d AS dimension,
       'Dept' || (r % 12) AS consumer_department, CAST(raw AS DOUBLE) AS rating_raw,
       1.0::DOUBLE AS scale_min, 5.0::DOUBLE AS scale_max, false AS reversed,
       (raw - 1) * 25.0::DOUBLE AS score, raw >= 4 AS favourable,
       CAST(NULL AS TIMESTAMP) AS responded_at, 'synthetic.csv' AS source_file,
       '{sha}' AS source_sha256, 0 AS source_row
FROM (
    SELECT r, j, d, 1 + (hash(r, j, d, '{period}') % 5) AS raw,
           hash(d, j, r) % 25 AS dropped
    FROM range({respondents}) t(r), range(5) u(j), range(5) v(d)
) WHERE dropped <> 0
"""


def synthetic_period(period: str, respondents: int = 100_000) -> "pd.DataFrame":
    """One period of synthetic ratings, text as categoricals (as the ingest hands them over)."""
    import duckdb

    with duckdb.connect() as connection:
        frame = connection.execute(
            SYNTHETIC_SQL.format(period=period, sha="0" * 64, respondents=respondents)
        ).df()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("category")
    return frame


def build(directory: Path, respondents: int = 100_000, postgres_url: str | None = None) -> str:
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import replace_partition

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "warehouse.duckdb"
    url = f"duckdb:///{path}"
    upgrade(url)
    engine = connect_warehouse(url)
    rows = 0
    for period in (PREVIOUS, PERIOD):
        frame = synthetic_period(period, respondents)
        rows += replace_partition(engine, schema.survey_ratings, frame, {"period": period})
    engine.dispose()
    print(f"{url}: {rows} ratings over two periods")
    if postgres_url:
        _copy_to_postgres(url, postgres_url)
        return postgres_url
    return url


def _copy_to_postgres(duckdb_url: str, postgres_url: str) -> None:
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import read_frame, replace_partition

    upgrade(postgres_url)
    source, target = connect_warehouse(duckdb_url), connect_warehouse(postgres_url)
    for period in (PREVIOUS, PERIOD):
        frame = read_frame(source, schema.survey_ratings, where={"period": period})
        replace_partition(target, schema.survey_ratings, frame, {"period": period})
    print(f"{postgres_url}: copied")


def measure(path: str, url: str) -> dict[str, object]:
    from ice_pipeline.index.config import IndexConfig
    from ice_pipeline.warehouse.engine import connect_warehouse

    engine = connect_warehouse(url)
    config = IndexConfig()
    start = time.perf_counter()
    if path == "moments":
        from ice_pipeline.index.moments import period_tables

        tables = period_tables(engine, PERIOD, PREVIOUS, None, config)
    else:
        from ice_pipeline.index.scoring import add_trend, compute_period_scores
        from ice_pipeline.warehouse import schema
        from ice_pipeline.warehouse.writes import read_frame

        def read(period: str) -> object:
            return read_frame(
                engine,
                schema.survey_ratings,
                where={"period": period},
                categorical=CATEGORICAL_TEXT,
            )

        ratings, previous_ratings = read(PERIOD), read(PREVIOUS)
        tables = compute_period_scores(ratings, None, config)
        previous = compute_period_scores(previous_ratings, None, config)
        for name in ("ice_scores", "company_scores"):
            tables[name] = add_trend(
                tables[name], previous[name], ratings, previous_ratings, config
            )
    seconds = time.perf_counter() - start
    return {
        "path": path,
        "engine": engine.dialect.name,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "company_ice_p": float(tables["company_scores"]["ice_p"].iloc[0]),
        "matrix_rows": len(tables["matrix_scores"]),
    }


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "build":
        postgres = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--postgres" else None
        build(Path(sys.argv[2]), postgres_url=postgres)
    else:
        print(json.dumps(measure(command, sys.argv[2])))
