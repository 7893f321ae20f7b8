"""Files and commands that cannot be turned against the host (issue 11, items 4 and 7).

* the landing reader refuses symbolic links and paths leading outside the landing folder, one
  line each, and reads every other file;
* a file that is not recognised is described by its shape, never by its cells;
* ``report show --out`` never overwrites without ``--force`` and never writes into the data;
* control characters in names are escaped wherever they are printed;
* the analyst DuckDB file holds schema ``ice`` only and is replaced atomically.
"""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy

from ice_pipeline import runner
from ice_pipeline.cache import ParseCache, parse_feed
from ice_pipeline.cli import main
from ice_pipeline.errors import ConfigError, FileProblem, printable
from ice_pipeline.ingest.feeds import landing_exports, read_export
from ice_pipeline.reports.archive import archive_report
from ice_pipeline.warehouse import analyst_file, schema
from ice_pipeline.warehouse.analyst_file import export_analyst_file
from ice_pipeline.warehouse.migrate import upgrade
from ice_pipeline.warehouse.writes import replace_partition

NOW = datetime(2026, 6, 1)
SURVEY = (
    "respondent_id,consumer_department,provider,dimension,rating,responded_at\n"
    "r1,Sales,IT,speed,4,2026-03-02\nr2,Sales,IT,speed,5,2026-03-03\n"
)
# What a symlink could point at: a file only the service user may read.
SECRET_LINES = "root:$6$hash-of-root:19000:0:99999:7:::\nalice,123-45-6789,Dismissed\n"
ESC = "\x1b"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "landing" / "surveys"
    folder.mkdir(parents=True)
    (folder / "mapping.yaml").write_text("scale: 1-5\n")
    (folder / "good.csv").write_text(SURVEY)
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "shadow.csv").write_text(SECRET_LINES)
    return tmp_path / "data" / "landing"


# --- the landing reader ---------------------------------------------------------------------


def test_symlinks_are_refused_and_the_other_files_go_on(landing: Path, tmp_path: Path) -> None:
    surveys = landing / "surveys"
    (surveys / "shadow.csv").symlink_to(tmp_path / "outside" / "shadow.csv")
    (surveys / "more").symlink_to(tmp_path / "outside", target_is_directory=True)
    (landing / "tickets").symlink_to(tmp_path / "outside", target_is_directory=True)
    scan = landing_exports(landing)
    assert [export.path.name for export in scan.exports] == ["good.csv"]
    assert sorted(entry.path.name for entry in scan.refused) == ["more", "shadow.csv", "tickets"]

    outcome = parse_feed(landing, "surveys", ParseCache(tmp_path / "cache"), salt="s", now=NOW)
    assert outcome.totals()["rows_kept"] == 2  # the real export was read
    messages = [str(problem) for problem in outcome.problems]
    assert len(messages) == 2
    assert all("\n" not in message for message in messages)
    assert any(
        m.startswith(f"{surveys / 'shadow.csv'}: the file is a symbolic link") for m in messages
    )
    assert all("hash-of-root" not in m and "123-45" not in m for m in messages)
    assert all("nothing was read" in m and "Fix: copy the export itself" in m for m in messages)


def test_a_linked_mapping_is_refused_with_its_export(landing: Path, tmp_path: Path) -> None:
    surveys = landing / "surveys"
    (surveys / "mapping.yaml").unlink()
    (tmp_path / "outside" / "evil.yaml").write_text("scale: 1-5\n")
    (surveys / "mapping.yaml").symlink_to(tmp_path / "outside" / "evil.yaml")
    scan = landing_exports(landing)
    assert scan.exports == []
    assert [entry.path.name for entry in scan.refused] == ["mapping.yaml"]


def test_a_landing_folder_that_is_itself_a_link_is_allowed(landing: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(landing, target_is_directory=True)
    scan = landing_exports(alias)
    assert [export.path for export in scan.exports] == [alias / "surveys" / "good.csv"]
    assert scan.refused == []


@pytest.mark.parametrize(
    ("feed", "text", "mapping", "shape"),
    [
        (
            "surveys",
            SECRET_LINES.replace(":", ","),
            "feed: surveys\nratings: [{column: a, provider: IT, dimension: q, scale: 1-5}]\n",
            "row 1 has [9 cells: text, text, number",
        ),
        ("tickets", "login,ssn,outcome\nalice,123-45-6789,Dismissed\n", None, "(3 cells: text, "),
        (
            "tickets",
            "login;ssn;outcome\nalice;123-45-6789;Dismissed\n",
            "feed: tickets\nformat: servicenow\ndelimiter: ','\n",
            "one single column, so the delimiter is wrong (it is 17 characters long and holds ';')",
        ),
    ],
)
def test_unrecognised_files_are_described_by_shape_not_cells(
    tmp_path: Path, feed: str, text: str, mapping: str | None, shape: str
) -> None:
    folder = tmp_path / "landing" / feed
    folder.mkdir(parents=True)
    (folder / "odd.csv").write_text(text)
    if mapping:
        (folder / "odd.mapping.yaml").write_text(mapping)
    with pytest.raises(FileProblem) as caught:
        read_export(folder / "odd.csv", salt="s", now=NOW)
    message = str(caught.value)
    assert shape in message
    for cell in ("hash-of-root", "alice", "123-45-6789", "Dismissed", "ssn", "login"):
        assert cell not in message, message


# --- control characters ---------------------------------------------------------------------


def test_control_characters_in_a_file_name_are_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "tickets"
    folder.mkdir(parents=True)
    name = f"x{ESC}]0;owned\x07{ESC}[2J\u202egpj.csv"
    (folder / name).write_text("a,b\n1,2\n")
    with pytest.raises(FileProblem) as caught:
        read_export(folder / name, salt="s", now=NOW)
    message = str(caught.value)
    assert ESC not in message and "\x07" not in message and "\u202e" not in message
    assert "x\\x1b]0;owned\\x07\\x1b[2J\\u202egpj.csv" in message
    assert caught.value.path == str(folder / name)  # the program still gets the real name


def test_printable_and_runner_lines(capsys: pytest.CaptureFixture) -> None:
    assert printable("plain, é, 中") == "plain, é, 中"
    assert printable(f"a\nb\rc{ESC}\x9b\u2028") == "a\\x0ab\\x0dc\\x1b\\x9b\\u2028"
    fake = runner.Runner.__new__(runner.Runner)
    fake.out = sys.stdout
    fake.say(f"ingesting /data/{ESC}[31mlanding ...")
    assert capsys.readouterr().out == "ingesting /data/\\x1b[31mlanding ...\n"


# --- report show --out ------------------------------------------------------------------------


@pytest.fixture
def archived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB warehouse under <tmp>/data holding one archived report; returns the data dir."""
    data = tmp_path / "data"
    for name in ("ICE_WAREHOUSE_URL", "ICE_ANALYST_DUCKDB", "ICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ICE_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    url = f"duckdb:///{data / 'warehouse.duckdb'}"
    upgrade(url)
    engine = sqlalchemy.create_engine(url)
    try:
        archive_report(
            engine,
            period="2026-10",
            kind="executive_summary",
            audience="executives",
            html="<p>the report</p>",
            input_fingerprints={"t": "x"},
            run_id="r1",
            reports_dir=data / "reports",
        )
    finally:
        engine.dispose()
    (data / "landing").mkdir()
    (data / "landing" / "export.csv").write_text("keep me")
    return data


def _show(*args: str) -> int:
    return main(["report", "show", "2026-10", *args])


def test_out_refuses_to_overwrite_without_force(
    archived: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / "r.html"
    assert _show("--out", str(target)) == 0
    assert target.read_text() == "<p>the report</p>"
    target.write_text("mine")
    capsys.readouterr()
    assert _show("--out", str(target)) == 2
    err = capsys.readouterr().err
    assert "already exists and would be overwritten" in err and "--force" in err
    assert err.count("\n") == 1
    assert target.read_text() == "mine"
    assert _show("--out", str(target), "--force") == 0
    assert target.read_text() == "<p>the report</p>"


def test_out_never_writes_into_the_data_directory(
    archived: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    warehouse = archived / "warehouse.duckdb"
    before = warehouse.read_bytes()
    (tmp_path / "alias").symlink_to(archived, target_is_directory=True)
    (tmp_path / "innocent.html").symlink_to(archived / "landing" / "export.csv")
    attempts = [
        str(warehouse),
        "data/landing/new.html",  # relative to the working directory
        str(tmp_path / "alias" / "new.html"),  # through a linked folder
        str(tmp_path / "innocent.html"),  # a link to a file in the data
        str(archived / "analyst" / "ice_analyst.duckdb"),
    ]
    for out in attempts:
        capsys.readouterr()
        assert _show("--out", out, "--force") == 2, out
        err = capsys.readouterr().err
        assert "inside the pipeline's data" in err and err.count("\n") == 1, err
    assert warehouse.read_bytes() == before
    assert (archived / "landing" / "export.csv").read_text() == "keep me"
    assert not (archived / "landing" / "new.html").exists()


def test_out_protects_a_warehouse_outside_the_data_directory(
    archived: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "wh" / "warehouse.duckdb"
    elsewhere.parent.mkdir()
    (archived / "warehouse.duckdb").rename(elsewhere)
    monkeypatch.setenv("ICE_WAREHOUSE_URL", f"duckdb:///{elsewhere}")
    before = elsewhere.read_bytes()
    assert _show("--out", str(elsewhere), "--force") == 2
    assert elsewhere.read_bytes() == before


def test_out_name_with_control_characters_is_escaped(
    archived: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / f"r{ESC}[2J.html"
    target.write_text("mine")
    assert _show("--out", str(target)) == 2
    err = capsys.readouterr().err
    assert ESC not in err and "r\\x1b[2J.html" in err


# --- the analyst DuckDB file ------------------------------------------------------------------


@pytest.fixture
def warehouse(tmp_path: Path) -> sqlalchemy.Engine:
    url = f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
    upgrade(url)
    engine = sqlalchemy.create_engine(url)
    _scores(engine, 71.5)
    replace_partition(
        engine,
        schema.external_metrics,
        pd.DataFrame(
            {
                "business_unit": ["Retail"],
                "metric": ["nps"],
                "value": [12.0],
                "source_file": [str(tmp_path / "data" / "landing" / "external" / "nps.csv")],
                "source_sha256": ["a" * 64],
            }
        ),
        {"period": "2025-01"},
    )
    replace_partition(
        engine,
        schema.survey_ratings,
        pd.DataFrame(
            {
                "respondent_id": ["r-secret-1"],
                "provider_department": ["IT"],
                "dimension": ["speed"],
                "consumer_department": ["Sales"],
                "rating_raw": [4.0],
                "scale_min": [1.0],
                "scale_max": [5.0],
                "reversed": [False],
                "score": [75.0],
                "favourable": [True],
                "source_file": ["s.csv"],
                "source_sha256": ["e" * 64],
                "source_row": [4],
            }
        ),
        {"period": "2025-01"},
    )
    yield engine
    engine.dispose()


def _scores(engine: sqlalchemy.Engine, ice_p: float) -> None:
    replace_partition(
        engine,
        schema.ice_scores,
        pd.DataFrame(
            {
                "provider_department": ["IT"],
                "n_respondents": [12],
                "suppressed": [False],
                "ice_p": [ice_p],
                "no_tickets": [False],
            }
        ),
        {"period": "2025-01"},
    )


def test_the_export_holds_schema_ice_only_without_paths(
    warehouse: sqlalchemy.Engine, tmp_path: Path
) -> None:
    target = tmp_path / "share" / "ice_analyst.duckdb"
    export = export_analyst_file(warehouse, target)
    assert "ice.ice_scores" in export.tables and "ice.v_report_archive" in export.tables
    assert sorted(os.listdir(target.parent)) == ["ice_analyst.duckdb"]  # no temp file left
    with duckdb.connect(str(target), read_only=True) as con:
        schemas = con.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        assert schemas == [("ice",)]
        assert con.execute("SELECT source_file FROM ice.external_metrics").fetchall() == [
            ("nps.csv",)
        ]
        assert con.execute("SELECT ice_p FROM ice.v_index_by_provider").fetchall() == [(71.5,)]
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM ice_private.survey_ratings")


def test_a_reader_holding_the_file_does_not_block_the_next_export(
    warehouse: sqlalchemy.Engine, tmp_path: Path
) -> None:
    target = tmp_path / "share" / "ice_analyst.duckdb"
    export_analyst_file(warehouse, target)
    reader = subprocess.Popen(  # an analyst in another process, the file open read-only
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(target)!r}, read_only=True)\n"
            "q = 'SELECT ice_p FROM ice.ice_scores'\n"
            "print(con.execute(q).fetchall(), flush=True)\n"
            "sys.stdin.readline()\n"
            "print(con.execute(q).fetchall(), flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "[(71.5,)]"
        _scores(warehouse, 80.0)
        export_analyst_file(warehouse, target)  # replaced while the reader holds the old file
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert out.strip() == "[(71.5,)]"  # the reader's snapshot stayed whole
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT ice_p FROM ice.ice_scores").fetchall() == [(80.0,)]


def test_a_failed_export_leaves_the_previous_file(
    warehouse: sqlalchemy.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "share" / "ice_analyst.duckdb"
    export_analyst_file(warehouse, target)
    before = target.read_bytes()

    def broken(connection: sqlalchemy.Connection, name: str) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(analyst_file, "_copy_relation", broken)
    with pytest.raises(OSError, match="disk full"):
        export_analyst_file(warehouse, target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(target.parent)) == ["ice_analyst.duckdb"]


def test_the_export_refuses_to_replace_the_warehouse(warehouse: sqlalchemy.Engine) -> None:
    with pytest.raises(ConfigError, match="ICE_ANALYST_DUCKDB: the analyst file .* would replace"):
        export_analyst_file(warehouse, Path(warehouse.url.database))


# --- no server path in schema ice; the file sensor lists no links ------------------------------


def test_external_metrics_name_the_file_without_its_directory() -> None:
    from ice_pipeline.ingest.common import decode_file
    from ice_pipeline.ingest.external import read_external
    from ice_pipeline_tests.test_ingest_external import NOW as EXTERNAL_NOW
    from ice_pipeline_tests.test_ingest_external import _mapping, realdata

    path = realdata("nps_carpentries_surveys", "20180908_post_clean.csv")
    metrics = read_external(
        decode_file(path),
        _mapping("external_carpentries_post.mapping.yaml"),
        file_format=None,
        salt="s",
        hr_employees=None,
        now=EXTERNAL_NOW,
    ).tables["external_metrics"]
    assert set(metrics["source_file"]) == {"20180908_post_clean.csv"}


def test_the_file_sensor_lists_no_links(landing: Path, tmp_path: Path) -> None:
    import fsspec

    from ice_pipeline.defs.sensors import list_landing_files

    (landing / "surveys" / "shadow.csv").symlink_to(tmp_path / "outside" / "shadow.csv")
    (landing / "hr").symlink_to(tmp_path / "outside", target_is_directory=True)
    listed = list_landing_files(fsspec.filesystem("file"), str(landing))
    assert [Path(f.path).name for f in listed] == ["good.csv"]


def test_rejected_arguments_are_escaped(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", f"{ESC}]0;owned\x07"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert ESC not in err and "\x07" not in err and "\\x1b]0;owned\\x07" in err


def test_the_asset_writes_the_file_unless_the_runner_defers_it(
    warehouse: sqlalchemy.Engine, tmp_path: Path
) -> None:
    import dagster as dg

    from ice_pipeline.defs.assets_analyst import DEFER_ANALYST_FILE_TAG, analyst_warehouse
    from ice_pipeline.defs.resources import (
        PipelineSettingsResource,
        WarehouseResource,
        dispose_engines,
    )

    target = tmp_path / "share" / "ice_analyst.duckdb"
    resources = {
        "warehouse": WarehouseResource(url=str(warehouse.url)),
        "pipeline": PipelineSettingsResource(
            data_dir=str(tmp_path / "data"), demo_mode=True, analyst_file=str(target)
        ),
    }
    try:
        deferred = dg.materialize(
            [analyst_warehouse],
            partition_key="2025-01",
            resources=resources,
            tags={DEFER_ANALYST_FILE_TAG: "1"},
        )
        assert deferred.success and not target.exists()
        written = dg.materialize([analyst_warehouse], partition_key="2025-01", resources=resources)
        assert written.success and target.is_file()
        metadata = written.asset_materializations_for_node("analyst_warehouse")[0].metadata
        assert metadata["written"].value is True and metadata["tables"].value >= 15
    finally:
        dispose_engines()
