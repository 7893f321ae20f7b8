"""The benchmark harness at tiny sizes, so it cannot rot: every scenario runs and is measured.

This checks that the harness works (generation, the child run, the floor, the JSON), never the
timing targets: those are for ``make benchmark`` on the reference machine (docs/performance.md).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_smoke_benchmark_measures_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICE_", "DAGSTER_"))}
    postgres_url = os.environ.get("ICE_TEST_POSTGRES_URL")
    env["TMPDIR"] = str(tmp_path)  # the harness's scratch data lands under pytest's tmp_path
    argv = [sys.executable, "-m", "benchmarks.run", "--smoke", "--no-x5", "--out", str(out)]
    if postgres_url:
        argv += ["--postgres-url", postgres_url]
    else:
        argv += ["--only", "enterprise,idle,backfill"]
    proc = subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    results = json.loads(out.read_text())
    assert results["smoke"] is True
    assert results["machine"]["cpus"] >= 1 and results["machine"]["python"].startswith("3.")
    expected = {"enterprise_duckdb", "backfill_24_months_duckdb"}
    if postgres_url:
        expected.add("enterprise_postgres")
    assert set(results["scenarios"]) == expected
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

    targets = {v["target"]: v for v in results["targets"]}
    assert {"enterprise_duckdb_total_s", "idle_tick_s", "backfill_24_months_s"} <= set(targets)
    assert all(v["measured"] is not None for v in targets.values())
