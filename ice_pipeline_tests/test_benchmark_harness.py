"""The benchmark's own logic at small sizes: tiled enterprise months, the memory guard, verdicts.

The tiled generator must give files the project and the limit prototype read as one month of a
bigger organisation (unique ids, requesters that are in the roster, one survey header); a run
that outgrows the memory limit must come back as a recorded failure, not crash the harness; a
failed run must never count as a met target.
"""

import csv
import sys
from pathlib import Path

from benchmarks import datasets, prototype, targets
from benchmarks.harness import run_process


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tiled_month_has_unique_ids_and_known_requesters(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    summary = datasets.tile_enterprise(landing, employees=700, tile=300)
    assert summary == summary | {"employees": 700, "tiles": 3}

    roster = _rows(next((landing / "hr").glob("*.csv")))
    ids = [row["Employee ID"] for row in roster]
    assert len(ids) == len(set(ids)) >= 700  # leavers and hires come on top of the headcount
    tickets = _rows(next((landing / "tickets").glob("*.csv")))
    numbers = [row["number"] for row in tickets]
    assert len(numbers) == len(set(numbers)) > 600
    # Requesters were renumbered with their own tile's roster: every one is in the roster
    # (as in one demo month), and each tile's requesters stay in that tile's id range.
    requesters = [row["caller_id"] for row in tickets]
    assert set(requesters) <= set(ids)
    numbers_seen = sorted(int(r[1:]) for r in requesters)
    assert numbers_seen[0] < 250 and numbers_seen[-1] > 2 * 250  # first and last tile's people

    survey = next((landing / "surveys").glob("*.csv")).read_bytes().splitlines()
    assert sum(line.startswith(b"\xef\xbb\xbfStartDate") for line in survey) == 1
    assert not any(line.startswith(b"StartDate") for line in survey)
    assert len(survey) - datasets.SURVEY_HEADER_LINES > 650  # every tile's responses
    assert not prototype.readable_by_prototype(landing)  # one CSV per feed
    assert datasets.largest_export(landing)[0].startswith("surveys/")


def test_tiling_by_survey_size_stops_at_the_first_tile_past_it(tmp_path: Path) -> None:
    summary = datasets.tile_enterprise(tmp_path / "landing", survey_bytes=150_000, tile=200)
    size = next((tmp_path / "landing" / "surveys").glob("*.csv")).stat().st_size
    per_tile = size / summary["tiles"]
    assert size >= 150_000 and size - per_tile < 150_000 * 1.01


def test_memory_guard_stops_a_growing_child_and_records_it() -> None:
    grow = "import time\nx = []\nwhile True:\n    x.append(bytearray(20_000_000)); time.sleep(0.05)"
    run = run_process([sys.executable, "-c", grow], {}, memory_limit_mb=300, timeout_s=120)
    assert run.returncode != 0
    assert "stopped by the benchmark at" in run.stopped and "limit 300 MB" in run.stopped
    assert 250 < run.peak_rss_mb < 2000
    assert run.summary()["last_line"] == run.stopped


def test_a_failed_run_is_a_missed_target_with_its_reason() -> None:
    ent = {"name": "enterprise_duckdb", "wall_s": 10.0, "peak_rss_mb": 900.0, "returncode": 0}
    x20 = {
        "name": "x20_duckdb",
        "employees": 2_000_000,
        "wall_s": 300.0,
        "peak_rss_mb": 12_300.0,
        "returncode": -9,
        "last_line": "stopped by the benchmark at 12,300 MB (limit 12,288 MB)",
    }
    results = {
        "machine": {"memory_gb": 23.5, "cpus": 2},
        "scenarios": {"enterprise_duckdb": ent, "x20_duckdb": x20},
    }
    verdicts = {v["target"]: v for v in targets.evaluate(results)}
    assert verdicts["x20_peak_rss_mb"]["met"] is False
    assert "exit -9" in verdicts["x20_peak_rss_mb"]["note"]
    assert verdicts["enterprise_duckdb_total_s"] == verdicts["enterprise_duckdb_total_s"] | {
        "measured": 10.0,
        "met": True,
    }
    assert verdicts["enterprise_duckdb_over_prototype"]["met"] is None  # no prototype this run
    statement = targets.one_machine_statement(results)
    assert "did NOT complete" in statement and "neither fits" in statement
    x20["prototype"] = {"returncode": 0, "wall_s": 600.0, "peak_rss_mb": 6144.0}
    statement = targets.one_machine_statement(results)
    assert "prototype did the same files in 10.0 min at 6.0 GB" in statement
    assert "fits one machine; the project's memory is what must come down" in statement


def test_prototype_gets_a_libpq_url() -> None:
    assert (
        prototype.libpq_url("postgresql+psycopg://postgres@127.0.0.1:5432/db")
        == "postgresql://postgres@127.0.0.1:5432/db"
    )
    assert prototype.libpq_url("postgres://u@h/db") == "postgresql://u@h/db"
