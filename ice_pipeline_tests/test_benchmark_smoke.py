"""The benchmark harness at tiny sizes, so it cannot rot: every scenario runs and is measured.

This checks that the harness works (generation, the child run, the floor, the limit prototype
beside the project when it is present, the JSON), never the timing targets: those are for
``make benchmark`` on the reference machine (docs/performance.md).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.prototype import find_prototype

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(1800)  # seven tiny scenarios plus the prototype beside four of them
def test_smoke_benchmark_measures_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICE_", "DAGSTER_"))}
    postgres_url = os.environ.get("ICE_TEST_POSTGRES_URL")
    env["TMPDIR"] = str(tmp_path)  # the harness's scratch data lands under pytest's tmp_path
    argv = [sys.executable, "-m", "benchmarks.run", "--smoke", "--no-x5", "--out", str(out)]
    only = "enterprise,idle,backfill,demo,survey200,x20"
    if postgres_url:
        argv += ["--postgres-url", postgres_url]
        only += ",postgres"
    argv += ["--only", only]
    script, _ = find_prototype()
    proc = subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1500, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    results = json.loads(out.read_text())
    assert results["smoke"] is True
    assert results["machine"]["cpus"] >= 1 and results["machine"]["python"].startswith("3.")
    expected = {
        "enterprise_duckdb",
        "backfill_24_months_duckdb",
        "make_demo",
        "survey200_duckdb",
        "x20_duckdb",
    }
    if postgres_url:
        expected.add("enterprise_postgres")
    assert set(results["scenarios"]) == expected
    demo = results["scenarios"].pop("make_demo")  # a different command: no floor, no start-up
    assert demo["returncode"] == 0 and demo["wall_s"] > 0 and demo["peak_rss_mb"] > 50
    assert demo["stages_s"].get("executive_report", 0) > 0, demo["stages_s"]
    for name, scenario in results["scenarios"].items():
        assert scenario["returncode"] == 0, (name, scenario["output_tail"])
        assert scenario["wall_s"] > 0 and scenario["startup_s"] > 0, name
        assert scenario["cpu_s"] > 0 and scenario["peak_rss_mb"] > 50, name
        assert scenario["input_rows"] > 100 and scenario["input_bytes"] > 1000, name
        assert scenario["floor_s"] > 0 and scenario["floor_ratio"] > 0, name
        assert scenario["rows_per_s"] > 0, name
        assert 0 < scenario["speed_probe_s"] < 60, name  # the machine-speed yardstick
        # The per-step durations come from the Dagster instance the child run used.
        assert scenario["stages_s"].get("survey_tables", 0) > 0, (name, scenario["stages_s"])
        assert scenario["stages_s"].get("executive_report", 0) > 0, (name, scenario["stages_s"])
    # The smoke enterprise month holds 300 employees rating 5 providers: one period.
    assert "1 period(s)" in results["scenarios"]["enterprise_duckdb"]["output_tail"]
    assert "2 period(s)" in results["scenarios"]["backfill_24_months_duckdb"]["output_tail"]
    assert results["idle_tick"]["returncode"] == 0 and results["idle_tick"]["wall_s"] > 0
    # The smoke's "20x" month is 3 tiles of 300 employees; the survey-size month has several too.
    assert results["scenarios"]["x20_duckdb"]["employees"] == 900
    big = results["scenarios"]["survey200_duckdb"]
    assert big["largest_export"].startswith("surveys/") and big["largest_export_bytes"] >= 250_000
    assert big["peak_rss_over_largest_export"] > 0

    # The limit prototype ran beside the project on the same files (when it is there).
    for name in ("enterprise_duckdb", "survey200_duckdb", "x20_duckdb", "enterprise_postgres"):
        if name not in results["scenarios"]:
            continue
        scenario = results["scenarios"][name]
        if script is None:
            assert scenario["prototype"] is None and "not found" in scenario["prototype_skipped"]
            continue
        proto = scenario["prototype"]
        assert proto["returncode"] == 0, (name, proto["output_tail"])
        assert proto["engine"] == ("hybrid" if name == "enterprise_postgres" else "duckdb")
        assert proto["wall_s"] > 0 and proto["cpu_s"] > 0 and proto["peak_rss_mb"] > 20, name
        assert proto["in_process_s"] > 0, name  # parsed from the prototype's own --timings
        assert scenario["vs_prototype"]["wall"] == round(scenario["wall_s"] / proto["wall_s"], 2)
    assert results["scenarios"]["backfill_24_months_duckdb"]["prototype"] is None  # 2 files

    targets = {v["target"]: v for v in results["targets"]}
    measured = {
        "enterprise_duckdb_total_s",
        "idle_tick_s",
        "backfill_24_months_s",
        "make_demo_s",
        "x20_over_enterprise_ratio",
        "x20_peak_rss_mb",
        "survey200_peak_rss_over_export",
    }
    if script is not None:
        measured.add("enterprise_duckdb_over_prototype")
        if postgres_url:
            measured.add("enterprise_postgres_over_hybrid_prototype")
    assert measured <= set(targets)
    assert all(targets[name]["measured"] is not None for name in measured), targets
