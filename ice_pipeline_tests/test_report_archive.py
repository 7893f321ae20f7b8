"""The report archive on both engines: one version per content, old versions kept and readable."""

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from ice_pipeline.errors import IceError
from ice_pipeline.reports.archive import (
    archive_report,
    fingerprint_frame,
    input_fingerprints,
    load_report,
    print_report_list,
    report_path,
    show_report,
)
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.render import render_report
from ice_pipeline.reports.sample import create_report_tables, sample_quality, sample_tables
from ice_pipeline.reports.viewmodel import build_executive_view
from ice_pipeline.warehouse import schema

PERIOD = "2026-10"


def _render(tables):
    view = build_executive_view(PERIOD, tables, sample_quality(), ReportConfig())
    return render_report(view, audience="executives")


def test_fingerprints_ignore_row_order_and_dtype_but_not_values():
    frame = pd.DataFrame({"b": [1, 2, None], "a": ["x", "y", "z"]})
    shuffled = frame.iloc[[2, 0, 1]][["a", "b"]].astype({"b": "float64"})
    assert fingerprint_frame(frame) == fingerprint_frame(shuffled)
    changed = frame.copy()
    changed.loc[0, "b"] = 1.5
    assert fingerprint_frame(frame) != fingerprint_frame(changed)
    prints = input_fingerprints({"z": frame, "a": changed})
    assert list(prints) == ["a", "z"] and all(len(value) == 64 for value in prints.values())


def test_report_file_names_are_safe():
    base = Path("/r")
    assert (
        report_path(base, PERIOD, "executive_summary", 2)
        == base / PERIOD / "executive_summary-v2.html"
    )
    hostile = report_path(base, PERIOD, "provider:../<script>", 1)
    assert hostile.parent == base / PERIOD and "/" not in hostile.name and "<" not in hostile.name
    with pytest.raises(ValueError):
        report_path(base, "../../etc", "x", 1)


def test_archive_versions_on_each_engine(warehouse_url: str, tmp_path: Path, capsys):
    engine = create_engine(warehouse_url)
    create_report_tables(engine)
    reports_dir = tmp_path / "reports"
    tables = sample_tables(PERIOD)
    first_render = _render(tables)
    prints = input_fingerprints(tables)

    first = archive_report(
        engine,
        period=PERIOD,
        kind="executive_summary",
        audience="executives",
        html=first_render.html,
        input_fingerprints=prints,
        run_id="run-1",
        reports_dir=reports_dir,
    )
    assert (first.version, first.created) == (1, True)
    assert Path(first.file_path) == reports_dir / PERIOD / "executive_summary-v1.html"
    assert Path(first.file_path).read_text(encoding="utf-8") == first_render.html

    again = archive_report(
        engine,
        period=PERIOD,
        kind="executive_summary",
        audience="executives",
        html=first_render.html,
        input_fingerprints=prints,
        run_id="run-2",
        reports_dir=reports_dir,
    )
    assert (again.version, again.created, again.run_id) == (1, False, "run-1")
    assert again.content_sha256 == first.content_sha256

    changed_tables = sample_tables(PERIOD)
    scores = changed_tables["company_scores"]
    scores.loc[scores["period"] == PERIOD, "ice_p"] = 70.0
    changed_render = _render(changed_tables)
    second = archive_report(
        engine,
        period=PERIOD,
        kind="executive_summary",
        audience="executives",
        html=changed_render.html,
        input_fingerprints=input_fingerprints(changed_tables),
        run_id="run-3",
        reports_dir=reports_dir,
    )
    assert (second.version, second.created) == (2, True)
    assert second.input_fingerprints["company_scores"] != prints["company_scores"]
    assert second.input_fingerprints["ice_scores"] == prints["ice_scores"]
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.report_archive)).scalar_one()
        stored = conn.execute(
            select(schema.report_archive.c.input_fingerprints).where(
                schema.report_archive.c.version == 1
            )
        ).scalar_one()
    assert count == 2
    assert json.loads(stored) == prints
    assert load_report(engine, period=PERIOD, kind="executive_summary").version == 2

    # Version 1 is superseded (issue 11): its HTML stays in the archive for the auditor, but its
    # file is withdrawn from the reports directory and `report show` does not serve it.
    assert load_report(engine, period=PERIOD, kind="executive_summary", version=1).html == (
        first_render.html
    )
    assert not (reports_dir / PERIOD / "executive_summary-v1.html").exists()
    assert Path(second.file_path).read_text(encoding="utf-8") == changed_render.html
    out = tmp_path / "v1.html"
    with pytest.raises(IceError, match="superseded by version 2"):
        show_report(warehouse_url, period=PERIOD, kind="executive_summary", version=1, out=out)
    assert not out.exists()
    capsys.readouterr()
    assert (
        show_report(warehouse_url, period=PERIOD, kind="executive_summary", version=None, out=None)
        == 0
    )
    assert capsys.readouterr().out == changed_render.html
    assert print_report_list(warehouse_url) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:4] == ["period", "kind", "audience", "version"]
    assert [line.split()[3] for line in listing[1:]] == ["1", "2"]
    assert "run-1" in listing[1] and "run-3" in listing[2]
    with pytest.raises(IceError, match="report list"):
        show_report(warehouse_url, period=PERIOD, kind="executive_summary", version=9, out=None)
    engine.dispose()


def test_report_list_on_a_warehouse_without_tables(duckdb_url: str):
    with pytest.raises(IceError, match="warehouse upgrade"):
        print_report_list(duckdb_url)


def test_cli_report_commands_read_the_archive(duckdb_url, tmp_path, monkeypatch, capsys):
    from ice_pipeline.cli import main

    engine = create_engine(duckdb_url)
    create_report_tables(engine)
    archive_report(
        engine,
        period=PERIOD,
        kind="provider:IT",
        audience="department_heads",
        html="<p>v1</p>",
        input_fingerprints={},
        run_id=None,
        reports_dir=tmp_path / "reports",
    )
    engine.dispose()
    monkeypatch.setenv("ICE_WAREHOUSE_URL", duckdb_url)
    out = tmp_path / "shown.html"
    assert main(["report", "show", PERIOD, "--kind", "provider:IT", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == "<p>v1</p>"
    assert main(["report", "list"]) == 0
    assert "provider:IT" in capsys.readouterr().out
    assert main(["report", "show", "2026-01"]) == 2  # a one-line error, no traceback
    assert "report list" in capsys.readouterr().err


def _fingerprint_cell_by_cell(frame: pd.DataFrame) -> str:
    # The original definition: _canonical on every cell of every row.
    import hashlib
    import json

    from ice_pipeline.reports.archive import _canonical

    columns = sorted(str(column) for column in frame.columns)
    ordered = frame.reindex(columns=columns)
    rows = sorted(
        tuple(_canonical(value) for value in row)
        for row in ordered.itertuples(index=False, name=None)
    )
    payload = json.dumps([columns, rows], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_column_wise_fingerprint_equals_the_cell_by_cell_definition() -> None:
    import numpy as np

    frame = pd.DataFrame(
        {
            "text": ["IT", None, "Ops", "IT", "é ✓"],
            "mixed": [True, 1, 1.0, -0.0, "x"],
            "number": [1.5, np.nan, -0.0, 1e20, 1 / 3],
            "integer": [1, 2, 3, 2**40, -7],
            "nullable": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "flag": [True, False, True, True, False],
            "maybe": pd.array([True, None, False, True, None], dtype="boolean"),
            "when": pd.to_datetime(
                ["2026-10-01", None, "2026-10-03 10:00:01.5", "2026-01-01", None], format="mixed"
            ),
            "category": pd.Categorical(["a", "b", None, "a", "b"]),
        }
    )
    assert fingerprint_frame(frame) == _fingerprint_cell_by_cell(frame)
    assert fingerprint_frame(frame.iloc[:0]) == _fingerprint_cell_by_cell(frame.iloc[:0])
    assert fingerprint_frame(frame[[]]) == _fingerprint_cell_by_cell(frame[[]])
