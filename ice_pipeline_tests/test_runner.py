"""``ice-pipeline run`` / ``demo``: settings checked first, one-line failures, demo data once."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ice_pipeline import demo_run, runner
from ice_pipeline.cli import main
from ice_pipeline.defs.resources import dispose_engines


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (
        "ICE_WAREHOUSE_URL",
        "ICE_CONFIG",
        "ICE_PSEUDONYM_SALT",
        "ICE_DEMO_MODE",
        "ICE_FIRST_PERIOD",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"
    dispose_engines()


def test_dagster_home_is_created_with_telemetry_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.chdir(tmp_path)
    home = runner.prepare_dagster_home()
    assert home == (tmp_path / ".dagster_home").resolve()
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nrun_queue: {}\n")
    runner.prepare_dagster_home()
    assert "run_queue" in (home / "dagster.yaml").read_text()  # an existing file is left alone


def test_missing_salt_stops_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ice-pipeline: ICE_PSEUDONYM_SALT:") and err.count("\n") == 1
    assert not (isolated / "warehouse.duckdb").exists()


def test_unknown_period_names_the_option(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "test-salt")
    assert main(["run", "--partition", "1999-01"]) == 2
    err = capsys.readouterr().err
    assert "--partition: 1999-01 is not a period of ice_nightly_job" in err
    assert "Fix:" in err and "Traceback" not in err


def test_nothing_landed_means_no_period(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "test-salt")
    assert main(["run", "--all"]) == 0
    out = capsys.readouterr().out
    assert "no period to compute" in out and "done: 0 period(s)" in out


def test_a_failed_step_is_one_line_and_exit_1(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "test-salt")
    bad = isolated / "landing" / "surveys" / "wave.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("")
    assert main(["run", "--all"]) == 1
    captured = capsys.readouterr()
    err = captured.err
    # The closing lines balance every feed and count the failed file.
    assert (
        "  surveys: 0 files, read 0 = kept 0 + quarantined 0 + excluded 0; 1 file(s) failed"
        in captured.out
    )
    # Issue 12: the bad file is named and the run exits 1; it no longer stops the other files.
    assert err == (
        f"ice-pipeline: file not ingested: {bad}: the file is empty. Fix: re-export "
        "the data from the source tool; an empty export holds no rows\n"
    )


def test_demo_data_is_generated_once_per_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []

    def fake_generate(out: Path, **kwargs: object) -> dict[str, object]:
        calls.append(kwargs)
        (out / "surveys").mkdir(parents=True, exist_ok=True)
        return {}

    monkeypatch.setattr("ice_pipeline.demo.generator.generate_demo", fake_generate)
    landing = tmp_path / "landing"
    assert demo_run.ensure_demo_data(landing, 300) is True
    assert demo_run.ensure_demo_data(landing, 300) is False
    assert demo_run.ensure_demo_data(landing, 500) is True
    assert [c["employees"] for c in calls] == [300, 500]
    assert calls[0]["seed"] == demo_run.DEMO_SEED and calls[0]["periods"] == 24


def test_demo_hints_name_the_commands_as_a_fresh_shell_finds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` runs .venv/bin/ice-pipeline: its closing hints must say .venv/bin/ too."""
    import sys

    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    assert demo_run.tools_prefix() == ".venv/bin/"
    elsewhere = tmp_path.parent / "other-venv" / "bin" / "python"
    monkeypatch.setattr(sys, "executable", str(elsewhere))
    monkeypatch.setenv("PATH", "/usr/bin")
    assert demo_run.tools_prefix() == f"{elsewhere.parent}/"
