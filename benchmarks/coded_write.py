"""Before/after of storing one period of survey ratings (issue 13 item 2), not part of the suite.

    python -m benchmarks.coded_write DIR [--respondents N] [--postgres URL]

Synthesises one period shaped like ``benchmarks/index_moments.py`` (100,000 respondents: ~2.4M
ratings), text as categoricals as the ingest hands it over, and times on a fresh warehouse what
the ``survey_tables`` step does to store it: ``replace_partition(engine, schema.survey_ratings,
...)``, a first write and a rewrite of the same period, then a read of the period as the index
reads it (``read_frame`` with categorical text). Prints one JSON line per engine. Run it with
``PYTHONPATH`` at a checkout from before migration 0008_coded for the "before" figure: the script
uses only what both versions have.
"""

import argparse
import json
import time
from pathlib import Path

from benchmarks.index_moments import CATEGORICAL_TEXT, PERIOD, synthetic_period


def measure(url: str, respondents: int) -> dict[str, object]:
    from ice_pipeline.warehouse import schema
    from ice_pipeline.warehouse.engine import connect_warehouse
    from ice_pipeline.warehouse.migrate import upgrade
    from ice_pipeline.warehouse.writes import read_frame, replace_partition

    revision = upgrade(url)
    frame = synthetic_period(PERIOD, respondents)
    engine = connect_warehouse(url)
    seconds = {}
    try:
        for label in ("write", "rewrite"):
            start = time.perf_counter()
            rows = replace_partition(engine, schema.survey_ratings, frame, {"period": PERIOD})
            seconds[label] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        back = read_frame(
            engine,
            schema.survey_ratings,
            where={"period": PERIOD},
            categorical=CATEGORICAL_TEXT,
        )
        seconds["read"] = round(time.perf_counter() - start, 2)
    finally:
        engine.dispose()
    assert len(back) == rows == len(frame)
    return {"engine": engine.dialect.name, "revision": revision, "ratings": rows, **seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database's URL (+psycopg)")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    path = args.directory / "coded_write.duckdb"
    path.unlink(missing_ok=True)
    print(json.dumps(measure(f"duckdb:///{path}", args.respondents)))
    if args.postgres:
        print(json.dumps(measure(args.postgres, args.respondents)))


if __name__ == "__main__":
    main()
