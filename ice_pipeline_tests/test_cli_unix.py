"""The CLI behaves like a Unix tool: quiet on a closed pipe, --version, described subcommands,
refused option conflicts, filtered report listings (issue 15)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ice_pipeline.cli import build_parser, main
from ice_pipeline.reports.archive import archive_report
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.migrate import upgrade

PERIODS = [f"20{year}-{month:02d}" for year in (25, 26) for month in range(1, 13)]


@pytest.fixture
def archived(tmp_path: Path) -> dict[str, str]:
    """A warehouse with 24 periods x 2 kinds archived, and the environment pointing at it."""
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    upgrade(url)
    engine = connect_warehouse(url)
    try:
        for period in PERIODS:
            for kind in ("executive_summary", "provider:Information Technology"):
                archive_report(
                    engine,
                    period=period,
                    kind=kind,
                    audience="executives",
                    html=f"<html>{period} {kind}</html>",
                    input_fingerprints={},
                    run_id="run-1",
                    reports_dir=tmp_path / "reports",
                )
    finally:
        engine.dispose()
    return {
        **os.environ,
        "ICE_WAREHOUSE_URL": url,
        "ICE_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


def _piped(command: list[str], env: dict[str, str], errors: Path) -> tuple[str, str]:
    """``ice-pipeline <command> | head -1`` in a shell: (what head printed, the CLI's stderr)."""
    cli = " ".join([sys.executable, "-m", "ice_pipeline.cli", *(f"'{c}'" for c in command)])
    done = subprocess.run(
        ["sh", "-c", f'{cli} 2>"$1" | head -1', "sh", str(errors)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout, errors.read_text()


def test_report_list_into_head_ends_without_a_traceback(
    archived: dict[str, str], tmp_path: Path
) -> None:
    out, err = _piped(["report", "list"], archived, tmp_path / "err.txt")
    assert out.startswith("period") and out.count("\n") == 1
    assert err == "", err


def test_inspect_into_head_ends_without_a_traceback(
    archived: dict[str, str], realdata_dir: Path, tmp_path: Path
) -> None:
    export = sorted(p for p in realdata_dir.rglob("*.csv"))[0]
    out, err = _piped(["inspect", str(export)], archived, tmp_path / "err.txt")
    assert out.strip() == "{"
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_report_list_filters_by_period_and_kind(
    archived: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ICE_WAREHOUSE_URL", "ICE_DATA_DIR"):
        monkeypatch.setenv(name, archived[name])
    assert main(["report", "list", "--period", "2026-03", "--kind", "executive_summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("2026-03  executive_summary")
    assert main(["report", "list", "--period", "2026-03"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_report_show_names_the_kinds_it_knows(
    archived: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ICE_WAREHOUSE_URL", "ICE_DATA_DIR"):
        monkeypatch.setenv(name, archived[name])
    assert main(["report", "show", "2026-03", "--kind", "provider:IT"]) == 2
    err = capsys.readouterr().err
    assert "kinds archived for 2026-03: executive_summary, provider:Information Technology" in err
    report = _commands()["report"]
    show = report._subparsers._group_actions[0].choices["show"]  # type: ignore[union-attr]
    assert "executive_summary, provider:<department>" in " ".join(show.format_help().split())


def _commands() -> dict:
    parser = build_parser()
    return parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def test_version_descriptions_and_conflicting_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("ice-pipeline ")
    for name, command in _commands().items():
        assert command.description, f"{name} has no description in its --help"
    with pytest.raises(SystemExit) as refused:
        main(["run", "--all", "--partition", "2026-10"])
    assert refused.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
