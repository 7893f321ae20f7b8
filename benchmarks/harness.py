"""Measuring child processes and the machine: the benchmark's instruments, no scenarios.

Belongs here: running a child with its wall time, CPU time and peak memory (and a memory/time
guard so a scenario that outgrows the shared machine is stopped and recorded, not left to the
kernel's OOM killer), the environment of a scenario's data directory, the start-up and speed
probes, the input floor, the Dagster step durations, the machine description and throw-away
PostgreSQL databases. What is run and what is expected of it lives in ``run.py`` and
``targets.py``.
"""

import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "ice-pipeline")
SALT = "benchmark-salt-not-secret"
SAMPLE_S = 0.25  # RSS sampling interval of a child (the per-step peaks of issue 13 item 7)


@dataclass
class ProcessRun:
    """One child process: its wall time, CPU time, peak resident memory and exit status."""

    argv: list[str]
    wall_s: float
    cpu_s: float  # user + system of the child: on a shared machine wall time includes waiting
    peak_rss_mb: float
    returncode: int
    stdout_tail: str
    stopped: str = ""  # why the guard stopped the child ("" when it ended by itself)
    # (epoch seconds, resident MB of the process tree), sampled every SAMPLE_S: step peaks
    rss_samples: list[tuple[float, float]] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        lines = [line for line in self.stdout_tail.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def summary(self) -> dict[str, Any]:
        """The figures every run reports, rounded for the JSON."""
        out = {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "returncode": self.returncode,
        }
        if self.returncode != 0:
            out["last_line"] = self.last_line
        if self.stopped:
            out["stopped"] = self.stopped
        return out


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (Linux /proc; 0 when unreadable)."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total_kb / 1024


def _guard(
    proc: subprocess.Popen,
    limit_mb: float | None,
    timeout_s: float | None,
    why: list[str],
    samples: list[tuple[float, float]],
) -> None:
    """Sample the child's tree RSS; kill it when it passes ``limit_mb`` or runs past ``timeout_s``.

    The machine is shared and has no swap: a scenario that would need more memory than the
    limit is stopped by the harness (recorded as such) before the kernel picks a victim. The
    samples attribute the peak to Dagster steps (``step_peaks``).
    """
    started = time.perf_counter()
    while proc.poll() is None:
        rss = _tree_rss_mb(proc.pid)
        samples.append((time.time(), rss))
        if limit_mb and rss > limit_mb:
            why.append(f"stopped by the benchmark at {rss:,.0f} MB (limit {limit_mb:,.0f} MB)")
        elif timeout_s and time.perf_counter() - started > timeout_s:
            why.append(f"stopped by the benchmark after {timeout_s:,.0f} s (time limit)")
        if why:
            proc.kill()
            return
        time.sleep(SAMPLE_S)


def run_process(
    argv: list[str],
    env: dict[str, str],
    *,
    memory_limit_mb: float | None = None,
    timeout_s: float | None = None,
) -> ProcessRun:
    """Run a child to completion; peak RSS comes from wait4's rusage of that child alone.

    A child that fails, is killed or runs out of memory is returned like any other run (exit
    code, time, peak RSS, its last output line): the caller records it, the harness goes on.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT
    )
    why: list[str] = []
    samples: list[tuple[float, float]] = []
    guard = threading.Thread(
        target=_guard, args=(proc, memory_limit_mb, timeout_s, why, samples), daemon=True
    )
    guard.start()
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    guard.join(timeout=5)
    cpu = usage.ru_utime + usage.ru_stime
    tail = output[-4000:]
    if why:
        tail += f"\n{why[0]}"
    return ProcessRun(
        argv,
        wall,
        cpu,
        usage.ru_maxrss / 1024,
        proc.returncode,
        tail,
        why[0] if why else "",
        samples,
    )


def scenario_env(data_dir: Path, warehouse_url: str | None) -> dict[str, str]:
    """A clean environment for one scenario: its own data directory and Dagster instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICE_")}
    env.update(
        ICE_DATA_DIR=str(data_dir),
        ICE_PSEUDONYM_SALT=SALT,
        DAGSTER_HOME=str(data_dir / "dagster_home"),
        PYTHONHASHSEED="0",
    )
    (data_dir / "dagster_home").mkdir(parents=True, exist_ok=True)
    (data_dir / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    if warehouse_url:
        env["ICE_WAREHOUSE_URL"] = warehouse_url
    return env


def measure_startup(env: dict[str, str], repeats: int = 2) -> float:
    """Interpreter start plus importing the code location: the fixed cost of every run."""
    probe = [str(VENV_BIN / "python"), "-c", "import ice_pipeline.definitions"]
    return min(run_process(probe, env).wall_s for _ in range(repeats))


def speed_probe(repeats: int = 3) -> float:
    """Seconds for a fixed pure-Python loop (best of ``repeats``), taken next to each scenario.

    The reference machine is shared and its single-core speed was seen to vary by half within
    minutes; this figure says how fast the machine was when a scenario ran, so runs taken at
    different times can be compared (docs/performance.md).
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return round(best, 4)


def measure_floor(landing: Path) -> tuple[float, int, int]:
    """DuckDB counting the rows of every input CSV: the cost of merely reading the inputs."""
    import duckdb

    files = sorted(str(p) for p in landing.rglob("*.csv"))
    size = sum(Path(f).stat().st_size for f in files)
    con = duckdb.connect()
    started = time.perf_counter()
    rows = 0
    for f in files:
        rows += con.execute(
            # Every field as text, no type inference: the least work that still reads each record.
            "SELECT count(*) FROM read_csv(?, header=true, all_varchar=true, ignore_errors=true)",
            [f],
        ).fetchone()[0]
    con.close()
    return time.perf_counter() - started, rows, size


def _step_spans(dagster_home: Path) -> dict[str, list[tuple[float, float]]]:
    """(start, end) epoch seconds of each step of the instance's runs, by step key."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    spans: dict[str, list[tuple[float, float]]] = {}
    for record in instance.get_run_records(limit=500):
        for stat in instance.get_run_step_stats(record.dagster_run.run_id):
            if stat.start_time and stat.end_time:
                spans.setdefault(stat.step_key, []).append((stat.start_time, stat.end_time))
    instance.dispose()
    return spans


def step_durations(dagster_home: Path) -> dict[str, float]:
    """Per-step wall time of the newest run, read from the Dagster instance the child used."""
    try:
        spans = _step_spans(dagster_home)
    except Exception as err:  # noqa: BLE001 - stage timings are a diagnostic; the totals still stand
        return {"unavailable": str(err)[:200]}  # type: ignore[dict-item]
    durations = {k: sum(end - start for start, end in v) for k, v in spans.items()}
    return {k: round(v, 3) for k, v in sorted(durations.items(), key=lambda kv: -kv[1])}


def step_peaks(dagster_home: Path, samples: list[tuple[float, float]]) -> dict[str, float]:
    """Per-step peak RSS (MB of the process tree, sampled) while each step ran, highest first.

    Steps run in the one child (in-process executor), so the sample is the step's own memory on
    top of what earlier steps left behind; "(outside steps)" is the peak between steps.
    """
    try:
        spans = _step_spans(dagster_home)
    except Exception as err:  # noqa: BLE001 - a diagnostic, like step_durations
        return {"unavailable": str(err)[:200]}  # type: ignore[dict-item]
    peaks: dict[str, float] = {}
    inside: set[int] = set()
    for key, ranges in spans.items():
        for i, (at, rss) in enumerate(samples):
            if any(start <= at <= end for start, end in ranges):
                peaks[key] = max(peaks.get(key, 0.0), rss)
                inside.add(i)
    outside = [rss for i, (_, rss) in enumerate(samples) if i not in inside]
    if outside:
        peaks["(outside steps)"] = max(outside)
    return {k: round(v, 1) for k, v in sorted(peaks.items(), key=lambda kv: -kv[1])}


def machine() -> dict[str, Any]:
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError):
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "processor": platform.processor() or platform.machine(),
    }


def fresh_postgres_db(admin_url: str, name: str) -> str:
    """Create (or re-create) database ``name`` on the server of ``admin_url``; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_db(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
