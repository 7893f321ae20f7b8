"""One measured scenario: its landing files, the project's run, the prototype's beside it.

Belongs here: the :class:`Scenario` record and the functions that fill it (generate or copy the
inputs, the floor and speed probes, ``ice-pipeline run --all`` or ``ice-pipeline demo`` in a
child, the step durations, then the limit prototype on the same files). Which scenarios run,
in which order and at which sizes is ``run.py``'s business.
"""

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import datasets, prototype
from benchmarks.harness import (
    CLI,
    ProcessRun,
    measure_floor,
    measure_startup,
    run_process,
    scenario_env,
    speed_probe,
    step_durations,
    step_peaks,
)


@dataclass
class Scenario:
    """One measured scenario with its stage timings and, when run, the prototype's figures."""

    name: str
    engine: str
    employees: int
    wall_s: float
    peak_rss_mb: float
    startup_s: float
    cpu_s: float | None = None
    floor_s: float | None = None
    input_rows: int | None = None
    input_bytes: int | None = None
    largest_export: str | None = None
    largest_export_bytes: int | None = None
    generate_s: float | None = None
    stages_s: dict[str, float] = field(default_factory=dict)
    stages_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    speed_probe_s: float | None = None
    returncode: int = 0
    last_line: str = ""
    stopped: str = ""
    output_tail: str = ""
    prototype: dict[str, Any] | None = None
    prototype_skipped: str = ""
    vs_prototype: dict[str, float | None] | None = None

    @property
    def data_dependent_s(self) -> float:
        return max(self.wall_s - self.startup_s, 0.0)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["data_dependent_s"] = round(self.data_dependent_s, 3)
        if self.floor_s:
            out["floor_ratio"] = round(self.data_dependent_s / self.floor_s, 2)
        if self.input_rows:
            out["rows_per_s"] = round(self.input_rows / self.wall_s) if self.wall_s else None
        if self.largest_export_bytes:
            out["peak_rss_over_largest_export"] = round(
                self.peak_rss_mb * 1024**2 / self.largest_export_bytes, 2
            )
        return out


@dataclass
class Limits:
    """Guards for one child run: above these the harness stops it and records why."""

    memory_mb: float | None = None
    timeout_s: float | None = None


@dataclass
class Inputs:
    """What a scenario's landing holds and how it is made."""

    employees: int
    kind: str = "enterprise"  # "enterprise" | "demo" | "survey_bytes"
    periods: int = 1
    survey_bytes: int | None = None
    tile: int = datasets.TILE_EMPLOYEES
    tiled: bool = False  # written in tiles even below datasets.DIRECT_LIMIT (the smoke's 20x)
    copy_from: Path | None = None


def make_landing(landing: Path, inputs: Inputs) -> tuple[float, int]:
    """Write (or copy) the scenario's exports; (seconds, employees written)."""
    started = time.perf_counter()
    if inputs.copy_from is not None:
        shutil.copytree(inputs.copy_from, landing)
    elif inputs.kind == "survey_bytes":
        written = datasets.tile_enterprise(
            landing, survey_bytes=inputs.survey_bytes, tile=inputs.tile
        )
        return time.perf_counter() - started, written["employees"]
    elif inputs.kind == "enterprise" and (inputs.tiled or inputs.employees > datasets.DIRECT_LIMIT):
        datasets.tile_enterprise(landing, employees=inputs.employees, tile=inputs.tile)
    else:
        datasets.generate(landing, inputs.employees, inputs.periods, inputs.kind == "enterprise")
    return time.perf_counter() - started, inputs.employees


def _scenario_from(
    name: str, engine: str, employees: int, run: ProcessRun, extra: dict[str, Any]
) -> Scenario:
    if run.returncode != 0:
        print(f"[{name}] exit {run.returncode}:\n{run.stdout_tail[-2000:]}", file=sys.stderr)
    return Scenario(
        name=name,
        engine=engine,
        employees=employees,
        wall_s=round(run.wall_s, 3),
        peak_rss_mb=round(run.peak_rss_mb, 1),
        cpu_s=round(run.cpu_s, 2),
        returncode=run.returncode,
        last_line=run.last_line if run.returncode else "",
        stopped=run.stopped,
        output_tail=run.stdout_tail[-1500:],
        **extra,
    )


def run_scenario(
    name: str,
    root: Path,
    inputs: Inputs,
    *,
    engine: str = "duckdb",
    pg_url: str | None = None,
    startup_repeats: int = 2,
    limits: Limits | None = None,
) -> Scenario:
    """Make the inputs, then time ``ice-pipeline run --all`` on them in a child process."""
    limits = limits or Limits()
    data_dir = root / name
    landing = data_dir / "landing"
    generate_s, employees = make_landing(landing, inputs)
    env = scenario_env(data_dir, pg_url if engine == "postgres" else None)
    startup = measure_startup(env, startup_repeats)
    floor_s, rows, size = measure_floor(landing)
    biggest, biggest_bytes = datasets.largest_export(landing)
    probe = speed_probe()
    run = run_process(
        [CLI, "run", "--all"], env, memory_limit_mb=limits.memory_mb, timeout_s=limits.timeout_s
    )
    extra = {
        "startup_s": round(startup, 3),
        "floor_s": round(floor_s, 4),
        "input_rows": rows,
        "input_bytes": size,
        "largest_export": biggest,
        "largest_export_bytes": biggest_bytes,
        "generate_s": round(generate_s, 2),
        "stages_s": step_durations(data_dir / "dagster_home"),
        "stages_peak_rss_mb": step_peaks(data_dir / "dagster_home", run.rss_samples),
        "speed_probe_s": probe,
    }
    return _scenario_from(name, engine, employees, run, extra)


def run_make_demo(root: Path, employees: int | None, smoke: bool) -> Scenario:
    """``ice-pipeline demo`` in a fresh data directory: what a newcomer's ``make demo`` runs
    after the install (the install itself is not timed: the venv is there already).

    With ``smoke`` a 2-period demo is written first, under the marker ``demo`` looks for, so
    the command runs the tiny data instead of writing 24 months.
    """
    data_dir = root / "make_demo"
    env = scenario_env(data_dir, None)
    argv = [CLI, "demo"] + (["--employees", str(employees)] if employees else [])
    if smoke:
        from ice_pipeline.demo_run import DEMO_MARKER, _demo_wanted

        landing = data_dir / "landing"
        datasets.generate(landing, employees or 2000, 2, enterprise=False)
        (landing / DEMO_MARKER).write_text(json.dumps(_demo_wanted(employees or 2000)))
    probe = speed_probe()
    run = run_process(argv, env)
    extra = {"startup_s": 0.0, "speed_probe_s": probe}
    extra["stages_s"] = step_durations(data_dir / "dagster_home")
    return _scenario_from("make_demo", "duckdb", employees or 2000, run, extra)


def add_prototype(
    scenario: Scenario,
    root: Path,
    script: Path | None,
    skipped: str,
    *,
    pg_url: str | None = None,
    limits: Limits | None = None,
) -> None:
    """Run the limit prototype on the scenario's landing files right after the project."""
    data_dir = root / scenario.name
    landing = data_dir / "landing"
    why = skipped or prototype.readable_by_prototype(landing)
    if script is None or why:
        scenario.prototype_skipped = why
        print(f"[{scenario.name}] prototype skipped: {why}", flush=True)
        return
    memory = (limits or Limits()).memory_mb
    result = prototype.run_prototype(
        script, landing, data_dir, pg_url=pg_url, memory_limit_mb=memory
    )
    if result["returncode"] != 0:
        print(
            f"[{scenario.name}] prototype exit {result['returncode']}:\n{result['output_tail']}",
            file=sys.stderr,
        )
    scenario.prototype = result
    scenario.vs_prototype = prototype.ratios(scenario.summary(), result)
