"""Issue 11, attack 1 through the real job: a late respondent across two runs of one period.

A small organisation is built in the test as a tidy survey export (five Sales respondents and ten
in Engineering, all rating IT) and run through ``ice_nightly_job`` (ingest, index, reports, audit,
delivery to the outbox). Then a late export with one more Sales respondent (score 100) lands and
the same period is run again, as the nightly job does to pick up late exports. Before issue 11
the second run published n = 6 next to the first run's n = 5, in the warehouse, the archive and
the e-mails: 6 x 40.83 - 5 x 29.0 = 100.0. Now nothing published differs, the late response is
held and counted; with k late respondents in every affected figure the period is re-published as
a new version and the old one withdrawn; and a leaky re-publication (the old behaviour, patched
back in) is found by the auditor, blocks delivery and fails ``ice-pipeline audit``.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.cli import main
from ice_pipeline.defs.resources import dispose_engines
from ice_pipeline.index import versions
from ice_pipeline.privacy.artefacts import figures_in_html, read_eml
from ice_pipeline.privacy.audit import audit_period
from ice_pipeline.runner import Runner, RunSummary
from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.engine import connect_warehouse
from ice_pipeline.warehouse.writes import read_frame

pytestmark = pytest.mark.slow

PERIOD = "2026-09"
K = 5
HEADER = "respondent_id,consumer_department,provider,dimension,rating,responded_at"
# Ratings 1-5 become 0-100: Sales answers 2,2,2,3,2 -> 25,25,25,50,25 (mean 30.0).
SALES = [2, 2, 2, 3, 2]
SCORE_TABLES = ("ice_scores", "company_scores", "matrix_scores", "consumer_satisfaction")


@pytest.fixture
def organisation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    surveys = tmp_path / "data" / "landing" / "surveys"
    surveys.mkdir(parents=True)
    (surveys / "mapping.yaml").write_text(
        "feed: surveys\nformat: long\ndate_order: YMD\nscale: 1-5\n", encoding="utf-8"
    )
    rows = [HEADER]
    rows += [f"s{i},Sales,IT,quality,{r},2026-09-{i + 1:02d}" for i, r in enumerate(SALES)]
    rows += [f"e{i},Engineering,IT,quality,{3 + i % 3},2026-09-{i + 10:02d}" for i in range(10)]
    (surveys / "wave.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield {
        "ICE_DATA_DIR": str(tmp_path / "data"),
        "ICE_DEMO_MODE": "1",  # the demo recipients: e-mails go to the outbox, no network
        "ICE_PSEUDONYM_SALT": "versions-test-salt",
        "ICE_FIRST_PERIOD": PERIOD,
        "DAGSTER_HOME": str(home),
    }
    dispose_engines()


def _run(env: dict[str, str]) -> RunSummary:
    return Runner(env, out=open("/dev/null", "w")).run([PERIOD])  # noqa: SIM115


def _late_export(env: dict[str, str], respondents: int, name: str = "late.csv") -> None:
    prefix = name.removesuffix(".csv")
    rows = [f"{prefix}{i},Sales,IT,quality,5,2026-09-28" for i in range(respondents)]
    path = Path(env["ICE_DATA_DIR"]) / "landing" / "surveys" / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def _tables(url: str) -> dict[str, pd.DataFrame]:
    engine = connect_warehouse(url)
    try:
        return {
            name: read_frame(engine, schema.metadata.tables[f"ice.{name}"]) for name in SCORE_TABLES
        } | {
            name: read_frame(engine, table)
            for name, table in (
                ("survey_ratings", schema.survey_ratings),
                ("publication_log", schema.publication_log),
                ("report_archive", schema.report_archive),
                ("delivery_ledger", schema.delivery_ledger),
            )
        }
    finally:
        engine.dispose()


def _sales(tables: dict[str, pd.DataFrame]) -> pd.Series:
    matrix = tables["matrix_scores"]
    return matrix[matrix["consumer_department"] == "Sales"].iloc[0]


def _emails(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["ICE_DATA_DIR"]) / "outbox").rglob("*.eml"))


def _shown_sales_counts(htmls: list[str]) -> set[int]:
    """Every n shown next to a Sales figure in the given report or e-mail HTML."""
    return {
        figure.n
        for html in htmls
        for key, figure in figures_in_html(html).items()
        if "| Sales |" in key
    }


def test_a_late_respondent_across_two_runs_discloses_nothing(
    warehouse_url: str,
    organisation: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**organisation, "ICE_WAREHOUSE_URL": warehouse_url}
    first = _run(env)
    assert first.ok, first.failure
    before = _tables(warehouse_url)
    assert int(_sales(before)["n_respondents"]) == 5
    assert _sales(before)["score"] == pytest.approx(30.0)

    _late_export(env, 1)
    second = _run(env)
    assert second.ok, second.failure
    after = _tables(warehouse_url)
    meta = second.metadata[f"company_scores[{PERIOD}]"]
    assert (meta["publication_decision"], meta["publication_version"]) == ("held", 1)
    assert (meta["late_respondents"], meta["held_respondents"]) == (1, 1)

    # The late response is kept (not lost) and counted as held, with its reason.
    assert len(after["survey_ratings"]) == len(before["survey_ratings"]) + 1
    log = after["publication_log"].iloc[0]
    assert (log["decision"], log["late_respondents"], log["late_ratings"]) == ("held", 1, 1)
    assert "n 5 -> 6" in log["findings"]

    # Nothing analysts read changed: the two runs cannot be subtracted.
    for name in SCORE_TABLES:
        columns = [c for c in before[name].columns if c not in ("rank",)]
        pd.testing.assert_frame_equal(
            before[name][columns], after[name][columns], check_dtype=False, obj=name
        )
    # Nothing any report version or e-mail showed differs for Sales: n = 5 everywhere.
    assert _shown_sales_counts(after["report_archive"]["html"].tolist()) == {5}
    assert _shown_sales_counts([read_eml(path).html for path in _emails(env)]) == {5}
    engine = connect_warehouse(warehouse_url)
    try:
        result = audit_period(engine, PERIOD, K, Path(env["ICE_DATA_DIR"]) / "outbox")
    finally:
        engine.dispose()
    assert result.findings == [] and result.report_versions >= 2 and result.emails >= 1

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["audit", PERIOD]) == 0
    assert capsys.readouterr().out.startswith(f"audit {PERIOD}: no disclosure found")


def _old_behaviour(
    ratings: pd.DataFrame, compute: object, record: object, *, k: int, policy: str
) -> versions.Publication:
    """Before issue 11: every re-run published whatever the ratings gave, as a new version."""
    tables = compute(ratings)  # type: ignore[operator]
    version = 1 if record is None else record.version + 1  # type: ignore[attr-defined]
    return versions.Publication(
        tables, "republished", version, ratings, versions.NO_CHANGES, new_version=True
    )


def test_a_leaky_republication_is_found_and_blocks_delivery(
    duckdb_url: str,
    organisation: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**organisation, "ICE_WAREHOUSE_URL": duckdb_url}
    assert _run(env).ok
    sent_before = _emails(env)
    assert sent_before  # version 1 went out
    monkeypatch.setattr(versions, "protect_publication", _old_behaviour)
    _late_export(env, 1)
    leaky = _run(env)
    # The leak reached the warehouse and the archive, but the audit stopped the e-mail.
    assert not leaky.ok
    assert leaky.failed_step == "disclosure_audit"
    assert f"reports for {PERIOD} NOT emailed: the disclosure audit found" in leaky.failure
    assert "company_scores 2026-09 (company): n 15 -> 16" in leaky.failure
    assert "can be worked out by subtraction" in leaky.failure and "\n" not in leaky.failure
    after = _tables(duckdb_url)
    assert int(_sales(after)["n_respondents"]) == 6
    assert set(after["delivery_ledger"]["version"]) == {1}
    assert _emails(env) == sent_before

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["audit", PERIOD]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"audit {PERIOD}: ") and "finding(s)" in out[-1]
    findings = out[:-1]
    # One line per finding, naming each kind of artefact that leaks.
    assert any(
        line.startswith("report executive_summary") and "n 5 -> 6" in line for line in findings
    )
    assert any(line.startswith("table versions 1 and 2: matrix_scores") for line in findings)
    assert any("consumer_satisfaction" in line and "n 5 -> 6" in line for line in findings)


def test_enough_late_respondents_publish_a_new_version_and_withdraw_the_old(
    duckdb_url: str, organisation: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**organisation, "ICE_WAREHOUSE_URL": duckdb_url}
    assert _run(env).ok
    reports = Path(env["ICE_DATA_DIR"]) / "reports" / PERIOD
    assert (reports / "executive_summary-v1.html").is_file()
    _late_export(env, K)
    second = _run(env)
    assert second.ok, second.failure
    meta = second.metadata[f"company_scores[{PERIOD}]"]
    assert (meta["publication_decision"], meta["publication_version"]) == ("republished", 2)
    after = _tables(duckdb_url)
    assert int(_sales(after)["n_respondents"]) == 5 + K
    # The superseded report is withdrawn: no file, not served; the audit finds nothing.
    assert not (reports / "executive_summary-v1.html").exists()
    assert (reports / "executive_summary-v2.html").is_file()
    archive = after["report_archive"]
    assert set(archive.loc[archive["kind"] == "executive_summary", "version"]) == {1, 2}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["report", "show", PERIOD, "--version", "1"]) == 2
    assert main(["audit", PERIOD]) == 0

    # Under the 'hold' policy the same late export waits.
    config = Path(env["ICE_DATA_DIR"]) / "ice.yaml"
    config.write_text("index:\n  late_responses: hold\n", encoding="utf-8")
    _late_export(env, K, name="later.csv")
    held = _run({**env, "ICE_CONFIG": str(config)})
    assert held.ok, held.failure
    meta = held.metadata[f"company_scores[{PERIOD}]"]
    assert (meta["publication_decision"], meta["publication_version"]) == ("held", 2)
    assert meta["held_respondents"] == K
    assert int(_sales(_tables(duckdb_url))["n_respondents"]) == 5 + K
    shutil.rmtree(reports, ignore_errors=True)
