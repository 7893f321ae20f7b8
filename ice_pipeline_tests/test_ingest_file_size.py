"""Issue 13 item 7: a landing file above ``ingest.max_file_mb`` is refused unread, in one line.

The files are the demo generator's real exports; the limit is set between their sizes, so the
test knows from the sizes alone which files must be refused and which must be ingested.
"""

from pathlib import Path

import pytest

from ice_pipeline.cache import ParseCache, parse_feed
from ice_pipeline.demo.generator import generate_demo
from ice_pipeline.errors import ConfigError
from ice_pipeline.ingest.limits import MEGABYTE, IngestSettings, oversized_file


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("limit") / "landing"
    generate_demo(out, employees=100, periods=2, end_period="2026-10")
    return out


def test_files_above_the_limit_are_refused_and_the_others_ingested(
    landing: Path, tmp_path: Path
) -> None:
    files = sorted((landing / "external").glob("*.csv"))
    sizes = {path: path.stat().st_size for path in files}
    limit_mb = (min(sizes.values()) + max(sizes.values())) / 2 / MEGABYTE
    too_large = {str(p) for p, size in sizes.items() if size > limit_mb * MEGABYTE}
    assert 0 < len(too_large) < len(files)  # the limit splits the files

    outcome = parse_feed(
        landing, "external", ParseCache(tmp_path / "cache"), salt="s", max_file_mb=limit_mb
    )
    assert set(outcome.failed_files) == too_large
    assert {p.source_file for p in outcome.parses} == {str(p) for p in files} - too_large
    assert all(p.counts["rows_kept"] > 0 for p in outcome.parses)
    for path, line in outcome.failures:
        size = sizes[Path(path)]
        assert "\n" not in line and line.startswith(f"{path}: the file is ")
        assert f" MB ({size:,} bytes), larger than the" in line
        assert f"limit of {limit_mb:g} MB (ingest.max_file_mb)" in line
        assert "Fix: raise ingest.max_file_mb in the ICE_CONFIG file" in line

    # Without a limit (or with the default) every file is ingested.
    everything = parse_feed(landing, "external", ParseCache(tmp_path / "c2"), salt="s")
    assert not everything.failures and len(everything.parses) == len(files)
    default = IngestSettings().max_file_mb
    assert all(oversized_file(path, default) is None for path in files)


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"x" * MEGABYTE)
    assert oversized_file(path, 1) is None
    path.write_bytes(b"x" * (MEGABYTE + 1))
    problem = oversized_file(path, 1)
    assert problem is not None and problem.where == str(path)


@pytest.mark.parametrize(
    ("section", "setting"),
    [
        ({"max_file_mb": 0}, "ingest.max_file_mb"),
        ({"max_file_mb": "2GB"}, "ingest.max_file_mb"),
        ({"max_file_mb": True}, "ingest.max_file_mb"),
        ({"max_size": 10}, "ingest.max_size"),
    ],
)
def test_a_wrong_ingest_setting_names_the_key(section: dict, setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        IngestSettings.from_section(section)
    assert caught.value.setting == setting


def test_the_setting_is_read_from_the_config_section() -> None:
    assert IngestSettings.from_section({}).max_file_mb == 2048
    assert IngestSettings.from_section({"max_file_mb": 0.5}).max_file_mb == 0.5


@pytest.mark.slow
def test_the_run_names_the_oversized_file_and_computes_the_month(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``ice-pipeline run``: the setting comes from ICE_CONFIG, the ledger records it."""
    import shutil

    import sqlalchemy as sa

    from ice_pipeline.defs.resources import dispose_engines
    from ice_pipeline.runner import Runner

    data = tmp_path / "data"
    shutil.copytree(landing, data / "landing")
    largest = max(p.stat().st_size for p in (data / "landing").rglob("*.csv"))
    limit_mb = round(largest * 1.5 / MEGABYTE, 3)
    huge = data / "landing" / "surveys" / "zz_full_history_export.csv"
    huge.write_bytes(b"x" * int(limit_mb * MEGABYTE + 1))
    config = tmp_path / "ice.yaml"
    config.write_text(f"ingest:\n  max_file_mb: {limit_mb}\n", encoding="utf-8")
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    env = {
        "ICE_DATA_DIR": str(data),
        "ICE_WAREHOUSE_URL": url,
        "ICE_DEMO_MODE": "1",
        "ICE_CONFIG": str(config),
        "DAGSTER_HOME": str(home),
    }
    try:
        with open("/dev/null", "w") as quiet:  # noqa: PTH123
            summary = Runner(env, out=quiet).run(["2026-10"])
    finally:
        dispose_engines()
    assert not summary.ok and summary.failure is None  # no step failed; one file did
    (line,) = summary.failed_files
    assert line.startswith(f"{huge}: the file is") and f"limit of {limit_mb:g} MB" in line
    assert summary.periods == ["2026-10"]  # the month was computed from the other files
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT source_file, status, problem FROM ice_ops.source_files")
            ).all()
    finally:
        engine.dispose()
    failed = [(f, p) for f, s, p in rows if s == "failed"]
    assert failed == [(str(huge), line)]
    assert sum(s == "ok" for _, s, _ in rows) == len(list((landing).rglob("*.csv")))
