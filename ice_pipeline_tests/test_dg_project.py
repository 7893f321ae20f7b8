"""The project also loads through ``dg`` ([tool.dg] in pyproject.toml), not only workspace.yaml."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ice_pipeline.definitions import defs
from ice_pipeline_tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_dg_lists_every_definition(tmp_path: Path) -> None:
    dg = shutil.which("dg", path=str(Path(sys.executable).parent))
    assert dg, "dagster-dg-cli is a dev dependency; `make install` provides .venv/bin/dg"
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "ICE_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [dg, "list", "defs", "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    listed = json.loads(out.stdout)
    expected_assets = {
        key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert {a["asset_key"] for a in listed["assets"]} == expected_assets
    assert {s["name"] for s in listed["schedules"]} == {"ice_nightly_schedule"}
    assert {s["name"] for s in listed["sensors"]} == {"ice_landing_sensor", "ice_run_failure_email"}
    assert {j["name"] for j in listed["jobs"]} >= {"ice_nightly_job"}
    assert len(listed["asset_checks"]) >= 5
