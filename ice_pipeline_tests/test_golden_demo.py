"""Issue 13: every table of a demo run equals the values recorded before the compute-engine change.

The reference in fixtures/golden/ was recorded by ``python -m ice_pipeline_tests.golden.record``
from the implementation before issue 13 (300 employees, 3 months, planted bad rows; see
golden/demo.py). Each engine runs the same demo through the real job and is dumped with the same
code (golden/dump.py): aggregate tables and views row by row, floats to 1e-9 relative; row-level
tables (ice_private.*, the report archive) by digest and per-column summaries. Tables added later
are ignored; a reference table that is missing or different fails, naming table, column and the
first differing row. The fast tests at the end show that the comparison does fail.
"""

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from ice_pipeline_tests.golden.dump import TableDump, compare, summarise
from ice_pipeline_tests.golden.record import REFERENCE_DIR, load_reference, run_and_dump


@pytest.fixture(autouse=True)
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The runner points DAGSTER_HOME at the run's instance; monkeypatch restores it."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    yield tmp_path / "dagster_home"
    from ice_pipeline.defs.resources import dispose_engines

    dispose_engines()


@pytest.fixture(scope="module")
def reference() -> dict[str, TableDump]:
    return load_reference(REFERENCE_DIR)


def _assert_same(reference: dict[str, TableDump], current: dict[str, TableDump]) -> None:
    differences = compare(reference, current)
    assert not differences, "the demo's tables differ from the recorded reference:\n" + "\n".join(
        str(d) for d in differences
    )


def _changed(current: dict[str, TableDump], table: str, column: str, delta: float) -> dict:
    """A copy of the dumps with the first row's ``column`` of ``table`` moved by ``delta``."""
    changed = copy.deepcopy(current)
    dump = changed[table]
    index = dump.columns.index(column)
    row = next(r for r in dump.rows if isinstance(r[index], int | float))
    row[index] += delta
    return changed


@pytest.mark.slow
def test_a_duckdb_demo_run_equals_the_reference(
    tmp_path: Path, reference: dict[str, TableDump]
) -> None:
    current = run_and_dump(tmp_path)
    _assert_same(reference, current)
    # The same dump fails once one rating's score or one published figure moves.
    moved = compare(reference, _changed(current, "ice_private.survey_ratings", "score", 25.0))
    assert [d.table for d in moved] == ["ice_private.survey_ratings"]
    assert "score (reference" in moved[0].text and "first differing sorted row" in moved[0].text
    moved = compare(reference, _changed(current, "ice.ice_scores", "ice_p", 1e-6))
    assert [d.table for d in moved] == ["ice.ice_scores"] and "column ice_p " in moved[0].text


@pytest.mark.slow
@pytest.mark.postgres
def test_a_postgres_demo_run_equals_the_reference(
    tmp_path: Path, postgres_url: str, reference: dict[str, TableDump]
) -> None:
    _assert_same(reference, run_and_dump(tmp_path, postgres_url))


# ------------------------------------------------------------------------------------------------
# The comparison itself (fast: no demo run)
# ------------------------------------------------------------------------------------------------


def test_the_reference_covers_every_schema_and_is_small(reference: dict[str, TableDump]) -> None:
    names = set(reference)
    for table in ("ice.ice_scores", "ice.key_drivers", "ice.v_trend", "ice_ops.source_files"):
        assert table in names
    assert reference["ice_private.survey_ratings"].row_count > 5000
    assert len(reference["ice_private.survey_ratings"].columns) == 15
    assert reference["ice_private.quarantine"].row_count > 0  # the planted bad rows
    assert "ice_ops.run_log" not in names and "ice_ops.alembic_version" not in names
    size = sum(path.stat().st_size for path in REFERENCE_DIR.glob("*.json"))
    assert size < 1_000_000, f"{size} bytes of reference"


def _aggregate() -> TableDump:
    rows = [["IT", 2, 55.5], ["HR", 3, 61.25]]
    return TableDump("ice.t", "rows", ["dept", "n", "score"], ["score"], rows, len(rows))


def _row_level() -> TableDump:
    rows = [["r1", "IT", 75.0], ["r1", "HR", 50.0], ["r2", "IT", 100.0]]
    dump = TableDump("ice_private.r", "rows", ["respondent_id", "provider", "score"], ["score"])
    dump.rows = rows
    summarise(dump, rows)
    return dump


def _saved(dump: TableDump) -> TableDump:
    """The reference as load_reference gives it: a digest table keeps no rows."""
    saved = copy.deepcopy(dump)
    if saved.kind == "digest":
        saved.rows = []
    return saved


def test_floats_within_1e9_are_equal_and_beyond_fail_naming_column_and_row() -> None:
    ref = {"ice.t": _saved(_aggregate())}
    near = _aggregate()
    near.rows[1][2] *= 1 + 1e-12
    assert compare(ref, {"ice.t": near}) == []
    far = _aggregate()
    far.rows[1][2] += 0.01
    (difference,) = compare(ref, {"ice.t": far})
    assert difference.table == "ice.t" and "column score differs in sorted row" in difference.text
    assert "reference 61.25, now 61.26" in difference.text and '"dept": "HR"' in difference.text


def test_a_missing_table_or_column_fails_and_a_new_one_does_not() -> None:
    ref = {"ice.t": _saved(_aggregate())}
    wider = _aggregate()
    wider.columns.append("zz_new")
    for row in wider.rows:
        row.append(1)
    assert compare(ref, {"ice.t": wider, "ice.new_table": _aggregate()}) == []
    assert "missing" in compare(ref, {"ice.other": _aggregate()})[0].text
    narrower = _aggregate()
    narrower.columns.remove("n")
    narrower.rows = [[r[0], r[2]] for r in narrower.rows]
    assert "columns missing: n" in compare(ref, {"ice.t": narrower})[0].text
    fewer = _aggregate()
    fewer.rows.pop()
    assert "1 rows, the reference has 2" in compare(ref, {"ice.t": fewer})[0].text


def test_row_level_tables_compare_by_digest_whatever_the_column_order() -> None:
    ref = {"ice_private.r": _saved(_row_level())}
    reordered = _row_level()
    reordered.columns = ["score", "provider", "respondent_id"]
    reordered.rows = [list(reversed(r)) for r in reversed(reordered.rows)]
    assert compare(ref, {"ice_private.r": reordered}) == []
    changed = _row_level()
    changed.rows[2][2] = 75.0
    (difference,) = compare(ref, {"ice_private.r": changed})
    assert "columns that differ: score (reference" in difference.text
    assert "provider (" not in difference.text and '"respondent_id": "r2"' in difference.text
