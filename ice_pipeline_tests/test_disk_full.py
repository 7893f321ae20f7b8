"""A full disk is an ordinary failure (issue 12 item 8), on a real 32 MB tmpfs.

The data directory (reports, outbox, GX project) lives on a tmpfs of 32 MB that a ballast file
fills; the tests are skipped where mounting is not permitted (not root, no CAP_SYS_ADMIN). They
check: one line naming the directory and the space needed; no traceback from any library; no
half-written file; no ledger row left ``pending``; and after the ballast is removed, a re-run
delivers every report to every recipient exactly once.
"""

import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from ice_pipeline.disk import DiskFull
from ice_pipeline.reports.config import ReportConfig
from ice_pipeline.reports.publish import EmailConfig, publish_period
from ice_pipeline.reports.sample import (
    create_report_tables,
    sample_comments,
    sample_quality,
    sample_tables,
)
from ice_pipeline.warehouse import schema

PERIOD = "2026-10"
RECIPIENTS = ["ceo@example.com", "cfo@example.com", "cto@example.com"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        # 32 MB: a one-period demo's data directory holds ~15 MB (the executive summary's PDF
        # archived and attached twice among them) and rewriting the analyst file needs a second
        # copy of it (~5 MB) next to the first, so 20 MB no longer fitted the re-run.
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path, leave_bytes: int) -> Path:
    """Write a ballast file until only ``leave_bytes`` are free on the device of ``directory``."""
    ballast = directory / "ballast"
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with open(ballast, "wb") as stream:
        stream.write(b"\0" * max(free - leave_bytes, 0))
    return ballast


def half_written(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]


def _two_providers() -> dict[str, pd.DataFrame]:
    return {
        name: frame[frame["provider_department"].isin(["IT", "Legal"])]
        if "provider_department" in frame
        else frame
        for name, frame in sample_tables(PERIOD).items()
    }


def test_full_outbox_fails_in_one_line_and_a_rerun_delivers_exactly_once(
    warehouse_url: str, small_disk: Path, capfd: pytest.CaptureFixture
) -> None:
    engine = create_engine(warehouse_url)
    create_report_tables(engine)
    data = small_disk / "data"
    email = EmailConfig.from_section(
        {
            "allowed_domains": ["example.com"],
            "recipients": {"executive_summary": RECIPIENTS, "provider": RECIPIENTS},
        }
    )
    common = dict(
        period=PERIOD,
        tables=_two_providers(),
        quality=sample_quality(),
        comments=sample_comments(PERIOD),
        config=ReportConfig(),
        email=email,
        run_id="run-1",
        reports_dir=data / "reports",
        outbox_dir=data / "outbox",
    )
    # The reports are archived (a dry run), then the disk fills up before the delivery.
    archived = publish_period(engine, **common, dry_run=True).archived
    # summary, methodology, correlations and two provider pages (issue 14); the two page kinds
    # without recipients are archived, not mailed: 3 executives + 3 x 2 provider mailboxes = 9
    assert len(archived) == 5
    ballast = fill(small_disk, leave_bytes=400_000)  # room for a few messages, not for nine
    capfd.readouterr()

    with pytest.raises(DiskFull) as caught:
        publish_period(engine, **common)
    message = str(caught.value)
    assert "\n" not in message
    assert f"no space left on the device of {data / 'outbox' / PERIOD}" in message
    assert re.search(r"\(about \d+\.\d MB needed to write it, \d+\.\d MB free\)", message)
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err

    with engine.connect() as conn:
        rows = conn.execute(select(schema.delivery_ledger)).mappings().all()
    statuses = Counter(row["status"] for row in rows)
    assert "pending" not in statuses  # nothing left stuck for the next run
    assert statuses["retrying"] == 1  # the message that met the full disk, released
    written = sorted((data / "outbox").rglob("*.eml"))
    assert 0 < len(written) < 9 and statuses["outbox"] == len(written)
    assert half_written(data) == []

    # Space freed: the same publish delivers the rest, nothing twice.
    ballast.unlink()
    result = publish_period(engine, **common)
    assert all(outcome.ok for outcome in result.deliveries.values())
    sent_now = sum(len(outcome.sent) for outcome in result.deliveries.values())
    assert sent_now == 9 - len(written)
    files = sorted((data / "outbox").rglob("*.eml"))
    assert len(files) == 9 and len({f.name for f in files}) == 9
    with engine.connect() as conn:
        rows = conn.execute(select(schema.delivery_ledger)).mappings().all()
    assert Counter(row["status"] for row in rows) == Counter({"outbox": 9})
    assert sorted(row["target"] for row in rows) == [str(f) for f in files]
    engine.dispose()


def test_full_archive_directory_is_one_line_and_keeps_no_row(
    duckdb_url: str, small_disk: Path
) -> None:
    from ice_pipeline.reports.archive import archive_report, list_reports

    engine = create_engine(duckdb_url)
    create_report_tables(engine)
    fill(small_disk, leave_bytes=0)
    with pytest.raises(DiskFull) as caught:
        archive_report(
            engine,
            period=PERIOD,
            kind="executive_summary",
            audience="executives",
            html="<html>" + "x" * 200_000 + "</html>",
            input_fingerprints={},
            run_id="r",
            reports_dir=small_disk / "reports",
        )
    assert f"device of {small_disk / 'reports' / PERIOD}" in str(caught.value)
    assert list_reports(engine) == []  # the row was rolled back with the file
    assert half_written(small_disk) == []
    engine.dispose()


def test_gx_on_a_full_disk_is_one_failure_without_tracebacks(
    small_disk: Path, capfd: pytest.CaptureFixture
) -> None:
    from ice_pipeline.ingest.expectations import build_data_docs, run_suite

    gx_dir = small_disk / "gx"
    ratings = pd.DataFrame(
        {
            "period": [PERIOD] * 20,
            "respondent_id": [f"r{i}" for i in range(20)],
            "provider_department": ["IT"] * 20,
            "dimension": ["Quality"] * 20,
            "consumer_department": ["HR"] * 20,
            "rating_raw": [4.0] * 20,
            "scale_min": [1.0] * 20,
            "scale_max": [5.0] * 20,
            "reversed": [False] * 20,
            "score": [75.0] * 20,
            "favourable": [True] * 20,
            "responded_at": pd.Timestamp(f"{PERIOD}-05"),
        }
    )
    suite = dict(previous=None, known_departments=None, period=PERIOD, gx_dir=gx_dir)
    # The GX project exists, then the disk fills up.
    before = [(o.check_name, o.passed) for o in run_suite("survey_ratings", ratings, **suite)]
    ballast = fill(small_disk, leave_bytes=0)
    capfd.readouterr()
    for step in (
        lambda: run_suite("survey_ratings", ratings, **suite),
        lambda: build_data_docs(gx_dir),
    ):
        with pytest.raises(DiskFull) as caught:
            step()
        assert f"device of {gx_dir}" in str(caught.value) and "\n" not in str(caught.value)
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert "unexpected Exception" not in printed.out + printed.err
    ballast.unlink()
    after = [(o.check_name, o.passed) for o in run_suite("survey_ratings", ratings, **suite)]
    assert after == before
    assert build_data_docs(gx_dir) is not None


EMAIL_CONFIG = """\
email:
  allowed_domains: [example.com]
  recipients:
    executive_summary: [ceo@example.com, cfo@example.com]
    provider: [service-heads@example.com]
"""


@pytest.mark.slow
@pytest.mark.parametrize("leave_bytes", [300_000, 3_000_000])
def test_pipeline_run_on_a_full_data_directory_then_a_rerun(
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
    leave_bytes: int,
) -> None:
    """`ice-pipeline run` as an operator meets it: the whole job, the data directory on 32 MB."""
    from ice_pipeline.defs.resources import dispose_engines
    from ice_pipeline.demo.generator import generate_demo
    from ice_pipeline.runner import Runner

    data = small_disk / "data"
    generate_demo(data / "landing", employees=300, periods=1, end_period=PERIOD)
    config = tmp_path / "ice.yaml"
    config.write_text(EMAIL_CONFIG)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    environ = {
        "ICE_DATA_DIR": str(data),
        "ICE_WAREHOUSE_URL": url,
        "ICE_DEMO_MODE": "1",
        "ICE_CONFIG": str(config),
        "DAGSTER_HOME": str(home),
    }
    # The reports exist (a dry run), then the disk fills up before the emails are written.
    with open(os.devnull, "w") as quiet:
        assert Runner(environ, out=quiet).run([PERIOD], dry_run=True).ok
    ballast = fill(small_disk, leave_bytes=leave_bytes)
    capfd.readouterr()
    with open(os.devnull, "w") as quiet:
        failed = Runner(environ, out=quiet).run([PERIOD])
    dispose_engines()
    printed = capfd.readouterr()
    assert not failed.ok
    assert "\n" not in failed.failure and "Traceback" not in printed.out + printed.err
    assert "no space left on the device of " + str(data) in failed.failure, failed.failure
    assert half_written(data) == []
    engine = create_engine(url)
    with engine.connect() as conn:
        statuses = Counter(conn.execute(select(schema.delivery_ledger.c.status)).scalars())
    assert "pending" not in statuses

    ballast.unlink()
    with open(os.devnull, "w") as quiet:
        again = Runner(environ, out=quiet).run([PERIOD])
    dispose_engines()
    assert again.ok, again.failure
    with engine.connect() as conn:
        rows = conn.execute(select(schema.delivery_ledger)).mappings().all()
        reports = conn.execute(select(schema.report_archive.c.kind)).scalars().all()
    engine.dispose()
    # two executives, one provider mailbox per provider page (methodology/correlations not mailed)
    expected = 2 + sum(kind.startswith("provider:") for kind in reports)
    files = sorted((data / "outbox").rglob("*.eml"))
    assert len(rows) == expected == len(files) == len({f.name for f in files})
    assert Counter(row["status"] for row in rows) == Counter({"outbox": expected})
