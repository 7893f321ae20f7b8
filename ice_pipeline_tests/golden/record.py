"""Record the golden reference: run the demo, dump its tables, write fixtures/golden/.

Run ``python -m ice_pipeline_tests.golden.record`` (DuckDB in a temporary directory) or with
``--warehouse-url postgresql+psycopg://...`` (an EMPTY database) to record from PostgreSQL; the
two engines give the same reference today (test_golden_demo.py checks both against one set of
files). Re-record only when a change of the tables is intended, and say so in the commit.

Belongs here: the file format of the reference (one JSON file per table or view, rows one per
line so that a diff is readable, plus ``_manifest.json``) and the command. What is compared and
how lives in dump.py, the demo in demo.py.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from ice_pipeline_tests.golden import demo
from ice_pipeline_tests.golden.dump import EXCLUDED_TABLES, TableDump, dump_warehouse

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "golden"
MANIFEST = "_manifest.json"


def run_and_dump(root: Path, warehouse_url: str | None = None) -> dict[str, TableDump]:
    """Run the golden demo under ``root`` (DuckDB there unless a URL is given) and dump it."""
    from ice_pipeline.defs.resources import dispose_engines
    from ice_pipeline.warehouse.engine import connect_warehouse

    data_dir = root / "data"
    url = warehouse_url or f"duckdb:///{root / 'warehouse.duckdb'}"
    summary = demo.run_demo(data_dir, url, root / "dagster_home")
    if not summary.ok:
        raise RuntimeError(
            f"the golden demo run failed: {summary.failed_step}: {summary.failure} "
            f"{summary.failed_files}"
        )
    dispose_engines()
    engine = connect_warehouse(url)
    try:
        return dump_warehouse(engine, data_dir)
    finally:
        engine.dispose()


def _file_text(dump: TableDump) -> str:
    head: dict[str, Any] = {
        "table": dump.name,
        "kind": dump.kind,
        "row_count": dump.row_count,
        "columns": dump.columns,
        "float_columns": dump.float_columns,
    }
    if dump.kind == "digest":
        head |= {"digest": dump.digest, "column_stats": dump.column_stats}
        body, key = dump.row_digests, "row_digests"
    else:
        body, key = dump.rows, "rows"
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    lines = [json.dumps(item, ensure_ascii=False) for item in body]
    return f'{text},\n "{key}": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def save_reference(dumps: dict[str, TableDump], out: Path) -> None:
    """Replace the reference files in ``out`` with ``dumps``."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for name, dump in dumps.items():
        (out / f"{name}.json").write_text(_file_text(dump), encoding="utf-8")
    manifest = {
        "demo": {
            "employees": demo.EMPLOYEES,
            "seed": demo.SEED,
            "periods": demo.PERIODS,
            "pseudonym_key": demo.PSEUDONYM_KEY,
        },
        "tables": sorted(dumps),
        "excluded": sorted(EXCLUDED_TABLES),
        "recorded_by": "python -m ice_pipeline_tests.golden.record",
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def load_reference(directory: Path = REFERENCE_DIR) -> dict[str, TableDump]:
    """The reference tables named by the manifest (a listed file that is missing is an error)."""
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    dumps = {}
    for name in manifest["tables"]:
        data = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        dumps[name] = TableDump(
            name=data["table"],
            kind=data["kind"],
            columns=data["columns"],
            float_columns=data["float_columns"],
            rows=data.get("rows", []),
            row_count=data["row_count"],
            digest=data.get("digest", ""),
            row_digests=data.get("row_digests", []),
            column_stats=data.get("column_stats", {}),
        )
    return dumps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse-url", help="an empty warehouse (default: a DuckDB file)")
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ice-golden-") as root:
        dumps = run_and_dump(Path(root), args.warehouse_url)
    save_reference(dumps, args.out)
    size = sum(p.stat().st_size for p in args.out.glob("*.json"))
    print(f"recorded {len(dumps)} tables and views into {args.out} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
