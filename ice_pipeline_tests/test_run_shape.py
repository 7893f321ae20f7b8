"""The job's shape recorded for ticks with nothing new (run_shape.py): read from the definitions
once, given back while its key holds, read again when a setting, the config or a module changes."""

from pathlib import Path

import pytest

from ice_pipeline import run_shape
from ice_pipeline.run_shape import JobShape, config_already_valid, job_shape, record_config_valid

SHAPE = JobShape(["surveys"], ["ice_scores"], ["2026-09", "2026-10"], False)


class Loads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> object:
        self.count += 1
        return "definitions"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Loads:
    loads = Loads()
    monkeypatch.setattr(run_shape, "shape_of", lambda definitions: SHAPE)
    return loads


def test_the_recorded_shape_is_used_while_nothing_changes(tmp_path: Path, counted: Loads) -> None:
    config = tmp_path / "ice.yaml"
    config.write_text("index: {}\n", encoding="utf-8")
    env = {"ICE_FIRST_PERIOD": "2024-11"}
    assert job_shape(tmp_path / "runs", config, env, counted) == SHAPE
    assert job_shape(tmp_path / "runs", config, env, counted) == SHAPE
    assert counted.count == 1
    job_shape(tmp_path / "runs", config, {**env, "ICE_FIRST_PERIOD": "2025-01"}, counted)
    assert counted.count == 2
    config.write_text("index: {k: 7}\n", encoding="utf-8")
    job_shape(tmp_path / "runs", config, {**env, "ICE_FIRST_PERIOD": "2025-01"}, counted)
    assert counted.count == 3


def test_a_config_is_valid_again_only_under_the_same_key(tmp_path: Path) -> None:
    config = tmp_path / "ice.yaml"
    config.write_text("index: {}\n", encoding="utf-8")
    env = {"ICE_SCHEDULE_CRON": "0 3 * * *"}
    assert not config_already_valid(tmp_path, config, env)
    record_config_valid(tmp_path, config, env)
    assert config_already_valid(tmp_path, config, env)
    assert not config_already_valid(tmp_path, config, {"ICE_SCHEDULE_CRON": "0 4 * * *"})
    config.write_text("index: {k: 3}\n", encoding="utf-8")
    assert not config_already_valid(tmp_path, config, env)
