"""Lean start-up (issue 13 item 6): loading the code location imports no heavy step library.

Dagster loads ``ice_pipeline.definitions`` in every run worker, sensor tick and CLI call, so
great-expectations (3-5 s with scipy.stats), scipy, statsmodels, matplotlib and pandera are
imported inside the steps that use them. Checked in a fresh interpreter: this test process has
already imported them through other tests.
"""

import json
import os
import subprocess
import sys

from ice_pipeline_tests.conftest import REPO_ROOT

# Top-level packages that must not load with the code location.
HEAVY = ("great_expectations", "scipy", "statsmodels", "matplotlib", "pandera", "dagster_pandera")
# The data-frame stack too (issue 13 item 6): pandas alone costs 0.5-0.8 s of every start-up, and
# no sensor tick, schedule or CLI call that only loads the code location needs it.
FRAMES = ("pandas", "pyarrow", "numpy")

_PROBE = (
    "import sys, json\n"
    "before = set(sys.modules)\n"
    "import ice_pipeline.definitions\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
)


def _loaded_by_definitions_import() -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_definitions_import_loads_no_heavy_step_library() -> None:
    loaded = _loaded_by_definitions_import()
    assert "dagster" in loaded  # the probe really imported the code location
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_definitions_import_loads_no_data_frame_library() -> None:
    """pandas, pyarrow and numpy load in the steps that compute, not with the code location."""
    loaded = _loaded_by_definitions_import()
    assert "sqlalchemy" in loaded  # the probe saw the warehouse schema load
    assert not loaded & set(FRAMES), sorted(loaded & set(FRAMES))


def test_heavy_libraries_are_loaded_by_the_steps_that_use_them() -> None:
    """The probe can see a heavy import: the expectations module itself does load GX on use."""
    probe = (
        "import sys\n"
        "import ice_pipeline.definitions\n"
        "assert 'great_expectations' not in sys.modules\n"
        "from ice_pipeline.ingest.expectations import period_bounds\n"
        "assert 'great_expectations' not in sys.modules  # importing the module is still lean\n"
        "from ice_pipeline.ingest.expectations import _open_context\n"
        "_open_context(None)\n"
        "print('great_expectations' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"
