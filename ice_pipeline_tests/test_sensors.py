"""The landing sensor: one run per new file set (its newest period), never again for the same
bytes; no run at all while a setting every run needs is missing."""

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import fsspec
import pytest

import ice_pipeline.ingest.feeds as feeds
from ice_pipeline.defs import sensors as sensors_module
from ice_pipeline.defs.sensors import (
    FAILURE_SENSOR_NAME,
    LANDING_SENSOR_NAME,
    LandingCursor,
    ice_landing_sensor,
    list_landing_files,
    periods_from_name,
    scan_landing,
    sensors,
)
from ice_pipeline.errors import FileProblem


def _fake_periods_in_export(path: Path, **_: object) -> list[str]:
    """Stands in for the feed readers: the periods are the ``period`` column of a tiny CSV."""
    lines = Path(path).read_text().splitlines()
    if not lines or lines[0] != "period,value":
        raise FileProblem(str(path), "not a test export", fix="write 'period,value' first")
    return sorted({line.split(",")[0] for line in lines[1:]})


@pytest.fixture(autouse=True)
def demo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings every run needs (the demo salt); tests about their absence remove them."""
    for name in ("ICE_PSEUDONYM_SALT", "ICE_CONFIG", "ICE_WAREHOUSE_URL", "ICE_FIRST_PERIOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ICE_DEMO_MODE", "1")
    monkeypatch.setenv("ICE_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    landing_dir = tmp_path / "landing"
    (landing_dir / "tickets").mkdir(parents=True)
    monkeypatch.setenv("ICE_LANDING_URL", str(landing_dir))
    monkeypatch.setattr(feeds, "periods_in_export", _fake_periods_in_export)
    return landing_dir


def _write(path: Path, periods: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("period,value\n" + "".join(f"{period},1\n" for period in periods))
    return path


Tick = Callable[[], list[dg.RunRequest]]


@pytest.fixture
def tick(landing: Path) -> Tick:
    """Evaluate the sensor like the daemon does, carrying the cursor from tick to tick."""
    state: dict[str, str | None] = {"cursor": None}

    def evaluate() -> list[dg.RunRequest]:
        result = ice_landing_sensor(dg.build_sensor_context(cursor=state["cursor"]))
        assert isinstance(result, dg.SensorResult)
        state["cursor"] = result.cursor
        return list(result.run_requests or [])

    return evaluate


def _keys(requests: list[dg.RunRequest]) -> list[tuple[str | None, str | None]]:
    return sorted((request.run_key, request.partition_key) for request in requests)


def test_fires_once_per_new_file_set_for_its_newest_period(landing: Path, tick: Tick) -> None:
    assert tick() == []  # empty landing: nothing to do
    export = _write(landing / "tickets" / "incidents.csv", ["2025-03", "2025-04", "2025-03"])
    sha = sensors_module.sha256_of(fsspec.filesystem("file"), str(export))
    file_set = hashlib.sha256(sha.encode()).hexdigest()
    requests = tick()
    assert _keys(requests) == [(f"{file_set}:2025-04", "2025-04")]
    assert requests[0].tags["ice/source_set_sha256"] == file_set
    assert tick() == []  # the same file on the next tick: nothing


def test_renamed_copied_or_touched_bytes_never_fire_again(landing: Path, tick: Tick) -> None:
    export = _write(landing / "tickets" / "incidents.csv", ["2025-03"])
    assert len(tick()) == 1
    os.utime(export, (time.time() + 60, time.time() + 60))  # touched
    assert tick() == []
    export.rename(landing / "tickets" / "incidents-renamed.csv")
    assert tick() == []
    (landing / "hr").mkdir()
    (landing / "hr" / "copy.csv").write_bytes(
        (landing / "tickets" / "incidents-renamed.csv").read_bytes()
    )
    assert tick() == []


def test_changed_bytes_fire_again_for_the_periods_now_in_the_file(
    landing: Path, tick: Tick
) -> None:
    export = _write(landing / "tickets" / "incidents.csv", ["2025-03"])
    assert [r.partition_key for r in tick()] == ["2025-03"]
    _write(export, ["2025-03", "2025-05"])
    os.utime(export, (time.time() + 120, time.time() + 120))
    assert [r.partition_key for r in tick()] == ["2025-05"]
    assert tick() == []


def test_two_new_files_are_one_set_and_one_run(landing: Path, tick: Tick) -> None:
    _write(landing / "tickets" / "a.csv", ["2025-01"])
    _write(landing / "external" / "b.csv", ["2025-02"])
    assert [r.partition_key for r in tick()] == ["2025-02"]
    _write(landing / "tickets" / "c.csv", ["2025-01"] * 2)  # a late correction of an old month
    assert [r.partition_key for r in tick()] == ["2025-01"]


def test_files_outside_feed_folders_and_partial_files_are_ignored(
    landing: Path, tick: Tick
) -> None:
    _write(landing / "notes.csv", ["2025-01"])  # not under a feed folder
    _write(landing / "tickets" / ".incidents.csv.part", ["2025-01"])
    _write(landing / "tickets" / "~lock.csv", ["2025-01"])
    (landing / "tickets" / "mapping.yaml").write_text("feed: tickets\n")
    assert tick() == []


def test_periods_outside_the_partitions_are_not_requested(landing: Path, tick: Tick) -> None:
    # 2019 is before ICE_FIRST_PERIOD (2024-11); 2999 has not ended yet.
    _write(landing / "tickets" / "old.csv", ["2019-05", "2025-01", "2999-01"])
    assert [r.partition_key for r in tick()] == ["2025-01"]


def test_unreadable_file_falls_back_to_the_period_in_its_name(landing: Path, tick: Tick) -> None:
    (landing / "tickets" / "incidents_2025-06.csv").write_text("not,a,known,layout\n")
    assert [r.partition_key for r in tick()] == ["2025-06"]


def test_unreadable_file_without_a_period_requests_the_latest_complete_month(
    landing: Path, tick: Tick
) -> None:
    (landing / "tickets" / "incidents.csv").write_text("garbage\n")
    requests = tick()
    assert [r.partition_key for r in requests] == [
        sensors_module.latest_complete_period(datetime.now(UTC))
    ]


def test_cursor_is_bounded_but_keeps_present_files(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    root = tmp_path / "landing"
    cursor = LandingCursor()
    for index in range(6):
        _write(root / "tickets" / f"f{index}.csv", [f"2025-0{index + 1}"])
        new, cursor = scan_landing(fs, str(root), cursor, max_seen=3)
        assert len(new) == 1
        if index < 5:
            (root / "tickets" / f"f{index}.csv").unlink()
    assert len(cursor.seen_hashes) == 3
    assert list(cursor.files) == [str(root / "tickets" / "f5.csv")]
    # The cursor survives its JSON round trip unchanged.
    assert LandingCursor.from_json(cursor.to_json()) == cursor


def test_any_fsspec_filesystem_is_listed_and_read_the_same_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # memory:// stands in for s3:// and friends: a non-local filesystem whose files are copied
    # to a temporary directory before parsing.
    memory = fsspec.filesystem("memory")
    memory.pipe("/ice-test-landing/tickets/incidents.csv", b"period,value\n2025-02,1\n")
    memory.pipe("/ice-test-landing/tickets/mapping.yaml", b"feed: tickets\n")
    seen_paths: list[Path] = []

    def recording(path: Path, **kwargs: object) -> list[str]:
        seen_paths.append(Path(path))
        assert (Path(path).parent / "mapping.yaml").read_text() == "feed: tickets\n"
        return _fake_periods_in_export(path)

    monkeypatch.setattr(feeds, "periods_in_export", recording)
    monkeypatch.setenv("ICE_LANDING_URL", "memory://ice-test-landing")
    try:
        result = ice_landing_sensor(dg.build_sensor_context())
        assert [r.partition_key for r in result.run_requests] == ["2025-02"]
        assert seen_paths[0].parent.name == "tickets"
        assert not seen_paths[0].exists()  # the temporary copy is removed
        files = list_landing_files(memory, "/ice-test-landing")
        assert [f.feed for f in files] == ["tickets"]
    finally:
        memory.rm("/ice-test-landing", recursive=True)


def test_periods_from_name() -> None:
    assert periods_from_name("tickets_2025-06_to_2025-07.csv") == ["2025-06", "2025-07"]
    assert periods_from_name("export-20250601.csv") == []
    assert periods_from_name("wave_2025-13.csv") == []


def test_module_exports_both_sensors() -> None:
    assert sorted(sensor.name for sensor in sensors) == sorted(
        [LANDING_SENSOR_NAME, FAILURE_SENSOR_NAME]
    )


def test_sensor_tick_is_valid_for_the_real_job(landing: Path) -> None:
    """Evaluated against the code location, Dagster accepts the requested partitions of the job."""
    from ice_pipeline.definitions import defs

    repository = defs.get_repository_def()
    _write(landing / "tickets" / "incidents.csv", ["2025-03", "2025-04"])
    context = dg.build_sensor_context(repository_def=repository)
    result = repository.get_sensor_def(LANDING_SENSOR_NAME).evaluate_tick(context)
    assert [request.partition_key for request in result.run_requests] == ["2025-04"]
    assert result.cursor and "incidents.csv" in result.cursor


def test_real_demo_exports_request_one_run_for_their_newest_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No stand-in parser: the feed readers decide which periods each demo export touches."""
    from ice_pipeline.demo.generator import generate_demo

    landing_dir = tmp_path / "landing"
    generate_demo(landing_dir, employees=300, periods=3, end_period="2026-10")
    monkeypatch.setenv("ICE_LANDING_URL", str(landing_dir))
    result = ice_landing_sensor(dg.build_sensor_context())
    assert [r.partition_key for r in result.run_requests] == ["2026-10"]
    assert result.run_requests[0].tags["ice/source_files"] == str(
        len(list(landing_dir.rglob("*.csv")))
    )
    again = ice_landing_sensor(dg.build_sensor_context(cursor=result.cursor))
    assert not again.run_requests


# --- a fresh instance, as `dg dev` starts it ------------------------------------------------------


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as fresh:
        yield fresh
    from ice_pipeline.defs.resources import dispose_engines

    dispose_engines()


def _demo_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from ice_pipeline.demo.generator import generate_demo

    data = tmp_path / "data"
    generate_demo(data / "landing", employees=300, periods=2, end_period="2026-10")
    monkeypatch.setenv("ICE_FIRST_PERIOD", "2026-09")
    monkeypatch.delenv("ICE_LANDING_URL", raising=False)
    return data


def _tick(instance: dg.DagsterInstance) -> dg.SensorResult:
    from ice_pipeline.definitions import build_definitions

    repository = build_definitions().get_repository_def()
    context = dg.build_sensor_context(instance=instance, repository_def=repository)
    return repository.get_sensor_def(LANDING_SENSOR_NAME).evaluate_tick(context)


@pytest.mark.slow
def test_first_tick_on_a_fresh_instance_requests_one_run_that_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    from ice_pipeline.definitions import build_definitions
    from ice_pipeline.defs.jobs import NIGHTLY_JOB_NAME

    _demo_landing(tmp_path, monkeypatch)
    result = _tick(instance)
    assert [r.partition_key for r in result.run_requests] == ["2026-10"]
    job = build_definitions().resolve_job_def(NIGHTLY_JOB_NAME)
    for request in result.run_requests:  # launched into the instance as the daemon would
        run = job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            tags=request.tags,
            raise_on_error=False,
        )
        assert run.success
    records = instance.get_run_records()
    assert len(records) == 1 and records[0].dagster_run.is_success


def test_missing_salt_skips_with_the_setting_named_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    _demo_landing(tmp_path, monkeypatch)
    monkeypatch.delenv("ICE_DEMO_MODE")
    result = _tick(instance)
    assert not result.run_requests
    assert result.skip_message and "ICE_PSEUDONYM_SALT" in result.skip_message
    assert result.cursor is None  # the files count as new once the salt is set
    assert instance.get_run_records() == []
    monkeypatch.setenv("ICE_PSEUDONYM_SALT", "a-long-random-secret")
    assert [r.partition_key for r in _tick(instance).run_requests] == ["2026-10"]


def test_a_wrong_config_value_skips_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    _demo_landing(tmp_path, monkeypatch)
    config = tmp_path / "ice.yaml"
    config.write_text("index:\n  k_min_respondents: 1\n")
    monkeypatch.setenv("ICE_CONFIG", str(config))
    result = _tick(instance)
    assert not result.run_requests and "index.k_min_respondents" in (result.skip_message or "")


def test_listing_takes_every_export_suffix_and_skips_links(tmp_path: Path) -> None:
    """.tsv/.xlsx/.xlsm exports (issue 16) are listed like .csv; other files and links are not."""
    root = tmp_path / "landing"
    for name in ("a.csv", "b.tsv", "c.xlsx", "d.XLSM", "notes.txt", ".partial.csv"):
        _write(root / "surveys" / name, ["2025-01"])
    outside = _write(tmp_path / "elsewhere.csv", ["2025-01"])
    (root / "surveys" / "linked.csv").symlink_to(outside)
    names = sorted(
        f.path.rsplit("/", 1)[-1] for f in list_landing_files(fsspec.filesystem("file"), str(root))
    )
    assert names == ["a.csv", "b.tsv", "c.xlsx", "d.XLSM"]
    assert set(feeds.EXPORT_SUFFIXES) == {".csv", ".tsv", ".xlsx", ".xlsm"}
