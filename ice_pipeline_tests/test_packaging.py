"""A non-editable install finds sql/, report_templates/, migrations and mapping examples.

Builds the wheel the way pip would for a user, installs it into a private target directory and
imports ice_pipeline from there (dependencies still come from this virtualenv).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ice_pipeline_tests.conftest import REPO_ROOT

PROBE = """
import json, ice_pipeline, ice_pipeline.paths as p
from ice_pipeline.warehouse.migrate import head_revision
from pathlib import Path
pkg = Path(ice_pipeline.__file__).parent
print(json.dumps({
    "package": str(pkg),
    "sql": str(p.sql_dir()),
    "views": sorted(x.name for x in (p.sql_dir() / "views").glob("*.sql")),
    "templates": sorted(x.name for x in p.templates_dir().glob("*.j2")),
    "head": head_revision(),
    "mapping_examples": sorted(x.name for x in (pkg/"ingest"/"mapping_examples").glob("*.yaml")),
}))
"""


@pytest.mark.slow
def test_wheel_install_finds_shipped_files(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheel_dir),
            str(REPO_ROOT),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(wheel_dir.glob("ice_pipeline-*.whl"))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: nothing may be found through the working directory
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["package"].startswith(str(target))
    assert found["sql"].startswith(str(target)), "sql/ was resolved outside the installed package"
    assert found["views"] == sorted(x.name for x in (REPO_ROOT / "sql" / "views").glob("*.sql"))
    assert found["templates"] == sorted(
        x.name for x in (REPO_ROOT / "report_templates").glob("*.j2")
    )
    assert found["head"]
    assert len(found["mapping_examples"]) >= 10
