"""``ice-pipeline demo``: the demo organisation's exports, every period run, where to look.

Belongs here: writing the demo exports into the landing folder once per size (a marker file
remembers what was written), running every period through the same ``Runner`` as
``ice-pipeline run --all``, and the closing lines that say where the results are and how to
open them from a fresh shell. The demo organisation itself is ``ice_pipeline.demo``.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

from ice_pipeline.run_plan import checks_summary
from ice_pipeline.runner import (
    Runner,
    _report_failed_files,
    _report_failure,
    dispose_cached_engines,
)

DEMO_SEED = 42
DEMO_PERIODS = 24
DEMO_END_PERIOD = "2026-10"
DEMO_MARKER = ".ice-demo.json"


def _demo_wanted(employees: int) -> dict[str, Any]:
    return {
        "employees": employees,
        "periods": DEMO_PERIODS,
        "seed": DEMO_SEED,
        "end_period": DEMO_END_PERIOD,
    }


def ensure_demo_data(landing: Path, employees: int) -> bool:
    """Write the demo exports into ``landing`` unless the same ones are there; True if written."""
    import json

    from ice_pipeline.demo.generator import generate_demo

    wanted = _demo_wanted(employees)
    marker = landing / DEMO_MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == wanted:
                return False
        except ValueError:
            pass
    generate_demo(
        landing,
        employees=employees,
        periods=DEMO_PERIODS,
        seed=DEMO_SEED,
        end_period=DEMO_END_PERIOD,
    )
    marker.write_text(json.dumps(wanted), encoding="utf-8")
    return True


def run_demo(employees: int = 2000) -> int:
    """``ice-pipeline demo``: demo exports, every period on embedded DuckDB, where to look."""
    from ice_pipeline.settings import ensure_data_dir, load_settings

    os.environ["ICE_DEMO_MODE"] = "1"
    settings = load_settings()
    ensure_data_dir(settings)
    landing = settings.landing_dir
    began = time.perf_counter()
    if ensure_demo_data(landing, employees):
        print(
            f"demo data: {employees} employees, {DEMO_PERIODS} months written to {landing} "
            f"({time.perf_counter() - began:.1f} s)",
            flush=True,
        )
    else:
        print(f"demo data: already in {landing}", flush=True)
    runner = Runner()
    try:
        summary = runner.run(None, all_periods=True)
    finally:
        dispose_cached_engines()
    if summary.failure is not None:
        return _report_failure(summary)
    last = max(summary.periods + summary.skipped, default=DEMO_END_PERIOD)
    warehouse = settings.warehouse_url.removeprefix("duckdb:///")
    checks_line = checks_summary(summary.failed_checks, len(summary.periods))
    if checks_line:
        runner.say(checks_line)
    runner.say("")
    unchanged = f", {len(summary.skipped)} unchanged" if summary.skipped else ""
    runner.say(
        f"done: {len(summary.periods)} periods{unchanged} in {summary.seconds:.0f} s. The results:"
    )
    from ice_pipeline.warehouse.analyst_file import analyst_path

    runner.say(
        f"  warehouse   {warehouse}   (the pipeline's own, with personal rows: not for analysts)"
    )
    runner.say(
        f"  analysts    {analyst_path(settings.data_dir)}   (schema ice only: duckdb -readonly)"
    )
    tools = tools_prefix()
    runner.say(
        f"  reports     {settings.reports_dir}   "
        f"({tools}ice-pipeline report show {last} --out r.html)"
    )
    runner.say(f"  outbox      {settings.outbox_dir}   (the emails, as .eml files)")
    runner.say(f"  data docs   {settings.gx_dir}")
    runner.say(
        f"  Dagster UI  ICE_DEMO_MODE=1 DAGSTER_HOME={os.environ['DAGSTER_HOME']} {tools}dg dev"
    )
    return _report_failed_files(summary)


def tools_prefix() -> str:
    """How to call this installation's commands from the current directory in a fresh shell.

    ``.venv/bin/`` when they live in a virtualenv under the working directory (``make demo``),
    the absolute bin directory for another virtualenv, nothing when they are on PATH anyway.
    """
    import shutil

    bin_dir = Path(sys.executable).parent
    try:
        return f"{bin_dir.relative_to(Path.cwd()).as_posix()}/"
    except ValueError:
        pass
    on_path = shutil.which("ice-pipeline")
    return "" if on_path and Path(on_path).parent == bin_dir else f"{bin_dir}/"
