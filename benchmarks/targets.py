"""Issue 13's targets, checked against one benchmark run, and the printed summary.

Belongs here: the limits, the verdict per target (met / not met / not measured, with the measured
figure and why a run proves nothing when it failed), the 20x statement about one machine, and
the text table printed at the end of a run. Timed assertions do not belong in the test suite,
so this is the only place the targets are checked.
"""

from typing import Any

# Issue 13's targets on the 2-core reference machine; ratios are taken within one run.
TARGETS: dict[str, tuple[float, str]] = {
    "enterprise_duckdb_over_prototype": (2.0, "enterprise month on DuckDB / prototype (coded)"),
    "enterprise_duckdb_total_s": (15.0, "enterprise month on DuckDB, wall s"),
    "enterprise_postgres_over_hybrid_prototype": (
        2.0,
        "enterprise month on PostgreSQL / hybrid prototype",
    ),
    "backfill_24_months_s": (60.0, "24-month demo backfill, wall s"),
    "idle_tick_s": (2.0, "nightly tick with nothing new, wall s"),
    "make_demo_s": (90.0, "`ice-pipeline demo` in a fresh data dir, wall s"),
    "x5_over_enterprise_ratio": (5.5, "5x month / enterprise month, wall"),
    "x5_peak_rss_mb": (3 * 1024, "5x month peak RSS, MB"),
    "x20_over_enterprise_ratio": (24.0, "20x month / enterprise month, wall"),
    "x20_peak_rss_mb": (8 * 1024, "20x month peak RSS, MB"),
    "survey200_peak_rss_over_export": (3.0, "peak RSS / largest export (200 MB survey)"),
}


def _ok(summary: dict[str, Any] | None) -> bool:
    return bool(summary) and summary.get("returncode") == 0


def _verdict(target: str, measured: float | None, runs: list[dict[str, Any] | None]) -> dict:
    limit, what = TARGETS[target]
    out: dict[str, Any] = {"target": target, "what": what, "limit": limit}
    failed = [run for run in runs if run and run.get("returncode") != 0]
    if failed:  # a failed run proves nothing about its target, except that it was not met
        first = failed[0]
        note = f"the run failed (exit {first.get('returncode')}): {first.get('last_line', '')}"
        return out | {"measured": None, "met": False, "note": note[:300]}
    if measured is None:
        return out | {"measured": None, "met": None, "note": "not measured in this run"}
    return out | {"measured": round(measured, 3), "met": measured <= limit}


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not (_ok(a) and _ok(b)) or not b["wall_s"]:
        return None
    return a["wall_s"] / b["wall_s"]


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare measured figures to the targets of the scenarios that ran; one line each."""
    s = results["scenarios"]
    ent, pg = s.get("enterprise_duckdb"), s.get("enterprise_postgres")
    verdicts: list[dict[str, Any]] = []

    def check(target: str, measured: float | None, *runs: dict[str, Any] | None) -> None:
        verdicts.append(_verdict(target, measured, list(runs)))

    if ent:
        proto = ent.get("prototype")
        check(
            "enterprise_duckdb_over_prototype",
            (ent.get("vs_prototype") or {}).get("wall"),
            ent,
            proto,
        )
        check("enterprise_duckdb_total_s", ent["wall_s"], ent)
    if pg:
        check(
            "enterprise_postgres_over_hybrid_prototype",
            (pg.get("vs_prototype") or {}).get("wall"),
            pg,
            pg.get("prototype"),
        )
    if back := s.get("backfill_24_months_duckdb"):
        check("backfill_24_months_s", back["wall_s"], back)
    if tick := results.get("idle_tick"):
        check("idle_tick_s", tick["wall_s"], tick)
    if demo := s.get("make_demo"):
        check("make_demo_s", demo["wall_s"], demo)
    for size in ("x5", "x20"):
        if run := s.get(f"{size}_duckdb"):
            check(f"{size}_over_enterprise_ratio", _ratio(run, ent), run, ent)
            check(f"{size}_peak_rss_mb", run["peak_rss_mb"], run)
    if big := s.get("survey200_duckdb"):
        check("survey200_peak_rss_over_export", big.get("peak_rss_over_largest_export"), big)
    return verdicts


def one_machine_statement(results: dict[str, Any]) -> str | None:
    """What the 20x month says about needing more than one machine (None without it).

    The project's figure answers for the project as it is; the prototype's, on the same files,
    for the work itself: if the prototype fits, a project that does not is not a reason for a
    second machine.
    """
    run = results["scenarios"].get("x20_duckdb")
    if not run:
        return None
    host = results["machine"]
    box = f"one {host.get('cpus')}-core machine with {host.get('memory_gb')} GB"
    peak_gb = run["peak_rss_mb"] / 1024
    if run.get("returncode") == 0:
        said = (
            f"the 20x month ({run['employees']:,} employees, "
            f"{(run.get('input_bytes') or 0) / 1e9:.2f} GB of exports) completed on {box} in "
            f"{run['wall_s'] / 60:.1f} min at {peak_gb:.1f} GB peak"
        )
    else:
        said = (
            f"the project did NOT complete the 20x month ({run['employees']:,} employees) on "
            f"{box}: exit {run.get('returncode')} after {run['wall_s']:,.0f} s at "
            f"{peak_gb:.1f} GB peak ({run.get('last_line')})"
        )
    proto = run.get("prototype") or {}
    if proto.get("returncode") == 0:
        said += (
            f"; the limit prototype did the same files in {proto['wall_s'] / 60:.1f} min at "
            f"{proto['peak_rss_mb'] / 1024:.1f} GB peak"
        )
    if run.get("returncode") == 0:
        verdict = "one machine suffices for the largest employers"
    elif proto.get("returncode") == 0:
        verdict = (
            "the work of the largest employers fits one machine; the project's memory is what "
            "must come down, not the machine count"
        )
    else:
        verdict = "neither fits this machine"
    return f"{said}: {verdict}"


def print_summary(results: dict[str, Any]) -> None:
    """Scenario figures, the side-by-side ratios and every target's verdict, as text."""
    print(
        f"\n{'scenario':<28} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}   "
        "prototype wall/cpu/MB  project/prototype wall/cpu"
    )
    for name, run in results["scenarios"].items():
        proto = run.get("prototype") or {}
        figures = [proto.get(key, "") for key in ("wall_s", "cpu_s", "peak_rss_mb")]
        shown = (
            f"{figures[0]:>7}/{figures[1]:>6}/{figures[2]:>7}"
            if proto
            else f"{'skipped' if run.get('prototype_skipped') else '-':>22}"
        )
        ratios = run.get("vs_prototype") or {}
        ratio = f"{ratios['wall']}/{ratios['cpu']}" if ratios.get("wall") else ""
        print(
            f"{name:<28} {run['wall_s']:>8} {run.get('cpu_s', 0):>8} {run['peak_rss_mb']:>8}"
            f"   {shown}  {ratio}"
            + ("" if run.get("returncode") == 0 else f"  FAILED exit {run.get('returncode')}")
        )
    if tick := results.get("idle_tick"):
        print(f"{'idle tick':<28} {tick['wall_s']:>8} {tick['cpu_s']:>8} {tick['peak_rss_mb']:>8}")
    print(f"\n{'target':<44} {'limit':>8} {'measured':>10}  met")
    for v in results["targets"]:
        met = {True: "yes", False: "NO", None: "-"}[v["met"]]
        note = f"  ({v['note']})" if v.get("note") else ""
        print(f"{v['target']:<44} {v['limit']:>8} {str(v['measured']):>10}  {met}{note}")
    if results.get("one_machine"):
        print(f"\n20x: {results['one_machine']}")
