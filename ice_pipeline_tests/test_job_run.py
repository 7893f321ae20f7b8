"""The whole ice_nightly_job on a small demo organisation, on DuckDB and PostgreSQL.

One module-wide demo (300 employees, 2 months) keeps this file to a few minutes: every test here
runs the real job in-process (ingest, index, checks, reports, delivery to the outbox).
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.runner import Runner, RunSummary
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.writes import read_frame, replace_partition

pytestmark = pytest.mark.slow

PERIODS = ["2026-09", "2026-10"]
# Columns that record when or in which run something happened, not what the data is.
VOLATILE_COLUMNS = {
    "ingested_at",
    "quarantined_at",
    "run_id",
    "generated_at",
    "updated_at",
    "claimed_by",  # the delivery ledger's claim: host, pid and token of the run
    "claimed_at",
    "started_at",
    "finished_at",
    "inputs_fingerprint",  # hashes the ICE_* settings, which name the engine
    "pdf_base64",  # the browser stamps its creation time into the PDF (text: test_report_pdf)
}


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate_demo(landing, employees=300, periods=len(PERIODS), end_period=PERIODS[-1])
    return landing


@pytest.fixture
def data_dir(tmp_path: Path, demo_landing: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(demo_landing, data / "landing")
    return data


@pytest.fixture(autouse=True)
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home
    dispose_engines()


def environ(data_dir: Path, url: str, home: Path) -> dict[str, str]:
    return {
        "ICE_DATA_DIR": str(data_dir),
        "ICE_WAREHOUSE_URL": url,
        "ICE_DEMO_MODE": "1",
        "DAGSTER_HOME": str(home),
    }


def run_job(data_dir: Path, url: str, home: Path, periods: list[str] | None = None) -> RunSummary:
    runner = Runner(environ(data_dir, url, home), out=open("/dev/null", "w"))  # noqa: SIM115
    return runner.run(periods or PERIODS)


def table_contents(url: str) -> dict[str, pd.DataFrame]:
    """Every table of schema.py, volatile columns dropped, floats rounded, rows sorted."""
    engine = connect_warehouse(url)
    try:
        contents = {}
        for table in schema.metadata.sorted_tables:
            frame = read_frame(engine, table)
            frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS])
            for column in frame.columns:
                if pd.api.types.is_float_dtype(frame[column]):
                    frame[column] = frame[column].round(6)
            frame = frame.astype(object).where(frame.notna(), None)
            contents[table.fullname] = frame.sort_values(
                list(frame.columns), key=lambda s: s.astype(str), ignore_index=True
            )
        return contents
    finally:
        engine.dispose()


def test_the_job_fills_every_stage_and_reports_metadata(
    warehouse_url: str, data_dir: Path, dagster_home: Path
) -> None:
    summary = run_job(data_dir, warehouse_url, dagster_home)
    assert summary.ok, f"{summary.failed_step}: {summary.failure}"
    assert summary.periods == PERIODS
    contents = table_contents(warehouse_url)
    for name in (
        "ice_private.survey_ratings",
        "ice_private.tickets",
        "ice_private.employees",
        "ice.external_metrics",
        "ice.ice_scores",
        "ice.company_scores",
        "ice.dimension_scores",
        "ice.matrix_scores",
        "ice.consumer_satisfaction",
        "ice.service_kpis",
        "ice.turnover",
        "ice.correlations",
        "ice_ops.source_files",
        "ice_ops.report_archive",
        "ice_ops.delivery_ledger",
    ):
        assert len(contents[name]) > 0, f"{name} is empty"
    ratings = contents["ice_private.survey_ratings"]
    assert sorted(ratings["period"].unique()) == PERIODS
    # Metadata agrees with what landed.
    meta = summary.metadata
    assert meta["survey_ratings[2026-10]"]["dagster/row_count"] == int(
        (ratings["period"] == "2026-10").sum()
    )
    assert (
        meta["survey_ratings[2026-10]"]["respondents"]
        == ratings[ratings["period"] == "2026-10"]["respondent_id"].nunique()
    )
    csv_files = sorted(p for p in (data_dir / "landing").rglob("*.csv"))
    assert meta["raw_survey_exports[]"]["files"] == len(
        list((data_dir / "landing" / "surveys").glob("*.csv"))
    )
    assert len(contents["ice_ops.source_files"]) == len(csv_files)
    assert (
        meta["raw_survey_exports[]"]["rows_kept"]
        + meta["raw_survey_exports[]"]["rows_quarantined"]
        + meta["raw_survey_exports[]"]["rows_excluded"]
        == meta["raw_survey_exports[]"]["rows_read"]
    )
    ice = contents["ice.ice_scores"]
    assert meta["ice_scores[2026-10]"]["dagster/row_count"] == int(
        (ice["period"] == "2026-10").sum()
    )
    # The trend of the second month is computed against the first.
    second = ice[(ice["period"] == "2026-10") & ~ice["suppressed"].astype(bool)]
    assert second["ice_p_change"].notna().any()
    assert ice[ice["period"] == "2026-09"]["ice_p_change"].isna().all()
    # Respondent-level previews never reach metadata: only counts per provider.
    assert "respondent_id" not in str(meta["survey_ratings[2026-10]"]["respondents_by_provider"])
    # Reports archived and delivered to the outbox (no network).
    archive = contents["ice_ops.report_archive"]
    assert set(archive["period"]) == set(PERIODS)
    assert (archive["kind"] == "executive_summary").sum() == len(PERIODS)
    ledger = contents["ice_ops.delivery_ledger"]
    assert set(ledger["status"]) == {"outbox"}
    assert len(list((data_dir / "outbox").rglob("*.eml"))) == len(ledger)
    # GX Data Docs are rendered once at the end of the CLI run.
    assert (data_dir / "gx" / "data_docs" / "index.html").is_file()


@pytest.mark.postgres
def test_postgres_leaves_the_same_tables_as_duckdb(
    tmp_path: Path, data_dir: Path, postgres_url: str, dagster_home: Path
) -> None:
    duck_url = f"duckdb:///{tmp_path / 'same.duckdb'}"
    for url in (duck_url, postgres_url):
        summary = run_job(data_dir, url, dagster_home)
        assert summary.ok, f"{url}: {summary.failed_step}: {summary.failure}"
    duck, pg = table_contents(duck_url), table_contents(postgres_url)
    assert set(duck) == {t.fullname for t in schema.metadata.sorted_tables}
    for name in duck:
        pd.testing.assert_frame_equal(duck[name], pg[name], check_dtype=False, obj=name)
    assert len(duck["ice.ice_scores"]) > 0 and len(duck["ice_ops.report_archive"]) > 0


def test_running_a_period_again_leaves_identical_rows(
    duckdb_url: str, data_dir: Path, dagster_home: Path
) -> None:
    assert run_job(data_dir, duckdb_url, dagster_home).ok
    before = table_contents(duckdb_url)
    again = run_job(data_dir, duckdb_url, dagster_home, periods=["2026-10"])
    assert again.ok
    assert (
        again.metadata["raw_survey_exports[]"]["files_parsed_now"] == 0
    )  # every file came from the cache
    assert (
        again.metadata["executive_report[2026-10]"]["new_versions"] == 0
    )  # same inputs, same bytes
    assert (
        again.metadata["report_delivery[2026-10]"]["sent"] == 0
    )  # the ledger keeps it at most once
    after = table_contents(duckdb_url)
    for name in before:
        if name == "ice_ops.run_log":  # the log of runs grows by one run; nothing else changes
            continue
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)


def test_a_bad_file_is_named_and_every_good_period_is_computed(
    duckdb_url: str, data_dir: Path, dagster_home: Path
) -> None:
    """Issue 12 item 4: one unreadable survey file among good ones, in a fresh warehouse."""
    bad = data_dir / "landing" / "surveys" / "zz_broken_export.csv"
    bad.write_bytes(b"PK\x03\x04\x00\x00binary spreadsheet")
    summary = run_job(data_dir, duckdb_url, dagster_home)
    assert not summary.ok and summary.failure is None  # no step failed; one file did
    assert len(summary.failed_files) == 1
    line = summary.failed_files[0]
    assert line.startswith(str(bad)) and "binary" in line and "Fix:" in line
    # The good periods were computed from the good files.
    assert summary.periods == PERIODS
    contents = table_contents(duckdb_url)
    assert sorted(contents["ice.company_scores"]["period"]) == PERIODS
    files = contents["ice_ops.source_files"]
    good_surveys = [p for p in (data_dir / "landing" / "surveys").glob("*.csv") if p != bad]
    ok = files[files["status"] == "ok"]
    assert sorted(ok[ok["feed"] == "surveys"]["source_file"]) == sorted(
        str(p) for p in good_surveys
    )
    failed = files[files["status"] == "failed"]
    assert failed["source_file"].tolist() == [str(bad)]
    assert "binary" in failed["problem"].iloc[0]
    assert set(files["feed"]) == {"surveys", "tickets", "hr", "external"}
    assert len(contents["ice_private.employees"]) > 0
    meta = summary.metadata["raw_survey_exports[]"]
    assert meta["files_failed"] == 1 and str(bad) in meta["failed_files"]
    # Every recorded file balances: read = kept + quarantined + excluded.
    assert (ok["rows_kept"] + ok["rows_quarantined"] + ok["rows_excluded"] == ok["rows_read"]).all()
    # The data-quality panel of the period names the file.
    from ice_pipeline.defs.assets_reports import quality_summary
    from ice_pipeline.defs.resources import WarehouseResource

    quality = quality_summary(WarehouseResource(url=duckdb_url), PERIODS[-1], [])
    assert {"name": "surveys: file not ingested", "description": line} in quality["checks_failed"]
    # Removing the file clears it from the ledger on the next run.
    bad.unlink()
    again = run_job(data_dir, duckdb_url, dagster_home)
    assert again.ok
    files = table_contents(duckdb_url)["ice_ops.source_files"]
    assert (files["status"] == "ok").all()


def test_a_failed_blocking_check_archives_the_report_but_sends_nothing(
    duckdb_url: str, data_dir: Path, dagster_home: Path
) -> None:
    env = environ(data_dir, duckdb_url, dagster_home)
    runner = Runner(env, out=open("/dev/null", "w"))  # noqa: SIM115
    assert runner.run(["2026-09"]).ok
    # A ticket with priority 9 breaks the blocking expectation tickets_priority_1_5. It is written
    # straight into the warehouse (the ingest would have quarantined it) and the period is then
    # recomputed downstream of the tickets table.
    engine = connect_warehouse(duckdb_url)
    rows = read_frame(engine, schema.tickets, where={"period": "2026-09"})
    rows.loc[rows.index[0], "priority"] = 9
    replace_partition(engine, schema.tickets, rows, {"period": "2026-09"})
    engine.dispose()
    archived_before = len(table_contents(duckdb_url)["ice_ops.report_archive"])
    shutil.rmtree(data_dir / "outbox", ignore_errors=True)
    selection = [
        dg.AssetKey(k)
        for k in (
            "service_kpis",
            "ice_scores",
            "company_scores",
            "dimension_scores",
            "matrix_scores",
            "consumer_satisfaction",
            "correlations",
            "executive_report",
            "report_delivery",
        )
    ]
    summary = RunSummary()
    assert not runner._execute(summary, selection, "2026-09", {})
    assert summary.failed_step == "report_delivery"
    assert (
        "archived but NOT emailed" in summary.failure
        and "tickets.tickets_priority_1_5" in summary.failure
    )
    contents = table_contents(duckdb_url)
    archive = contents["ice_ops.report_archive"]
    # The report was rendered again with the failed check in its data-quality panel: a new version.
    assert len(archive) > archived_before
    newest = archive[(archive["kind"] == "executive_summary")].sort_values("version").iloc[-1]
    assert newest["version"] == 2 and "tickets_priority_1_5" in newest["html"]
    assert summary.metadata["executive_report[2026-09]"]["blocking_checks_failed"] == 1
    ledger = contents["ice_ops.delivery_ledger"]
    assert set(ledger["version"]) == {1}  # only the first run's version was ever sent
    assert not (data_dir / "outbox").exists() or not list((data_dir / "outbox").rglob("*.eml"))
