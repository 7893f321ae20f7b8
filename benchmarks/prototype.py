"""The limit prototype beside the project: where it is, how it is run, what it measured.

Belongs here: finding ``limit_prototype.py`` (``$ICE_LIMIT_PROTOTYPE``, else ``../shared/bench``
beside the repository), running it as a child on a scenario's landing files (DuckDB with the
coded long table, or the hybrid: computed in DuckDB, stored in PostgreSQL through COPY) and the
project/prototype ratios. The prototype is a measuring stick (issue 13): it reads exactly one
CSV per feed, hard-codes the demo's mappings and leaves out external metrics, correlations,
trends and reports, so it is run only on the enterprise-shaped scenarios.
"""

import os
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.harness import REPO_ROOT, SALT, VENV_BIN, run_process, speed_probe

ENV_VAR = "ICE_LIMIT_PROTOTYPE"
DEFAULT_PATH = REPO_ROOT.parent / "shared" / "bench" / "limit_prototype.py"
FEEDS = ("surveys", "tickets", "hr")


def _main_checkout() -> Path | None:
    """The repository's main checkout when this one is a git worktree (its ``../shared`` is
    where the prototype sits), else None."""
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(common).parent if common else None


def find_prototype() -> tuple[Path | None, str]:
    """The prototype script, or None and the reason it is not used."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        candidates = [Path(configured).expanduser()]
    else:
        candidates = [DEFAULT_PATH]
        if (main := _main_checkout()) is not None and main != REPO_ROOT:
            candidates.append(main.parent / "shared" / "bench" / "limit_prototype.py")
    for path in candidates:
        path = path / "limit_prototype.py" if path.is_dir() else path
        if path.is_file():
            return path, ""
    where = " or ".join(str(p) for p in candidates)
    hint = "" if configured else f" (set ${ENV_VAR} to its path)"
    return None, f"limit prototype not found at {where}{hint}: no side-by-side comparison"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://u@h/db`` (SQLAlchemy, the project) -> ``postgresql://u@h/db``
    (libpq, what psycopg.connect in the prototype takes)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    base = scheme.split("+", 1)[0]
    return f"{'postgresql' if base == 'postgres' else base}://{rest}"


def readable_by_prototype(landing: Path) -> str:
    """Empty when the prototype can read ``landing`` (one CSV per feed), else why not."""
    for feed in FEEDS:
        count = len(list((landing / feed).glob("*.csv")))
        if count != 1:
            return f"the prototype reads exactly one CSV per feed; {feed} holds {count}"
    return ""


def run_prototype(
    script: Path,
    landing: Path,
    work_dir: Path,
    *,
    pg_url: str | None = None,
    memory_limit_mb: float | None = None,
) -> dict[str, Any]:
    """Run the prototype on ``landing``: DuckDB (coded long table), or hybrid with ``pg_url``.

    ``pg_url`` must be a database of its own: the prototype drops and re-creates the ``ice``
    and ``ice_private`` schemas in it.
    """
    argv = [str(VENV_BIN / "python"), str(script), "--landing", str(landing)]
    argv += ["--long-layout", "coded", "--timings"]
    if pg_url:
        argv += ["--engine", "hybrid", "--pg-url", libpq_url(pg_url)]
        argv += ["--csv-dir", str(work_dir / "prototype_csv")]
    else:
        argv += ["--engine", "duckdb", "--db", str(work_dir / "prototype.duckdb")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICE_")}
    env.update(ICE_PSEUDONYM_SALT=SALT, PYTHONHASHSEED="0")
    probe = speed_probe()
    run = run_process(argv, env, memory_limit_mb=memory_limit_mb)
    out = {"engine": "hybrid" if pg_url else "duckdb", "layout": "coded", **run.summary()}
    out["speed_probe_s"] = probe
    out["in_process_s"] = _in_process_total(run.stdout_tail)
    out["output_tail"] = run.stdout_tail[-1500:]
    db = work_dir / "prototype.duckdb"
    if db.exists():
        out["db_bytes"] = db.stat().st_size
        db.unlink()  # the project's own warehouse is what the scenario keeps
    return out


def _in_process_total(output: str) -> float | None:
    """The prototype's own total (after interpreter start) from its ``--timings`` table."""
    for line in reversed(output.splitlines()):
        if "total in-process" in line:
            try:
                return float(line.split()[0])
            except (ValueError, IndexError):
                return None
    return None


def ratios(project: dict[str, Any], prototype: dict[str, Any]) -> dict[str, float | None]:
    """project / prototype for wall time, CPU time and peak RSS (None when a run failed)."""
    if project.get("returncode") != 0 or prototype.get("returncode") != 0:
        return {"wall": None, "cpu": None, "peak_rss": None}
    out: dict[str, float | None] = {}
    for key, field in (("wall", "wall_s"), ("cpu", "cpu_s"), ("peak_rss", "peak_rss_mb")):
        denominator = prototype.get(field) or 0
        out[key] = round(project[field] / denominator, 2) if denominator else None
    return out
