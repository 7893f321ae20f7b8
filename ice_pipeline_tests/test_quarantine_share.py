"""Issue 16 item 5: a file that loses most of its rows to quarantine stops its feed, loudly."""

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from ice_pipeline.cache import ParseCache, parse_feed
from ice_pipeline.ingest.inspect import inspect_file
from ice_pipeline.ingest.loss import QuarantineShareExceeded
from ice_pipeline.warehouse.migrate import upgrade

NOW = datetime(2026, 6, 1)
SALT = "share-salt"
MAPPING = {"feed": "hr", "format": "roster", "date_order": "YMD", "snapshot_period": "2026-03"}


def _roster(folder: Path, mapping: dict) -> Path:
    """Ten employees; the department is empty on eight rows (a column the export left blank)."""
    lines = ["Employee ID,Department,Hire Date,Termination Date,Termination Type"]
    lines += [f"E{i},{'IT' if i < 2 else ''},2020-01-01,," for i in range(10)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "roster.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_name("roster.mapping.yaml").write_text(yaml.safe_dump(mapping), "utf-8")
    return path


def test_a_file_losing_most_rows_is_one_line_with_share_reason_and_fix(tmp_path: Path) -> None:
    path = _roster(tmp_path / "landing" / "hr", MAPPING)
    outcome = parse_feed(tmp_path / "landing", "hr", ParseCache(tmp_path / "cache"), salt=SALT)
    assert outcome.parses == []
    (problem,) = outcome.problems
    assert isinstance(problem, QuarantineShareExceeded)
    line = str(problem)
    assert "\n" not in line
    assert line == (
        f"{path}: 80.0% of the rows were quarantined (8 of 10), above the 5% limit; "
        "most common reason (8 rows): department is missing. Fix: correct the mapping or the "
        f"export ('ice-pipeline inspect {path}' lists every reason); if this loss is expected, "
        "set max_quarantined_pct in the mapping"
    )
    # inspect shows the same figures and the same line.
    share = inspect_file(path, now=NOW)["quarantine_share"]
    assert share["pct"] == 80.0 and share["threshold_pct"] == 5.0
    assert share["most_common_reason"] == "department is missing"
    assert share["most_common_count"] == 8
    assert share["stops_the_run"] is True and share["message"] == line


def test_the_limit_is_set_per_feed_in_the_mapping(tmp_path: Path) -> None:
    path = _roster(tmp_path / "landing" / "hr", {**MAPPING, "max_quarantined_pct": 85})
    outcome = parse_feed(tmp_path / "landing", "hr", ParseCache(tmp_path / "cache"), salt=SALT)
    assert outcome.problems == [] and len(outcome.parses) == 1
    assert outcome.parses[0].counts["rows_quarantined"] == 8
    share = inspect_file(path, now=NOW)["quarantine_share"]
    assert share["stops_the_run"] is False and share["message"] is None


def test_a_file_under_the_limit_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "hr"
    lines = ["Employee ID,Department,Hire Date,Termination Date,Termination Type"]
    lines += [f"E{i},{'' if i == 0 else 'IT'},2020-01-01,," for i in range(40)]  # 2.5% lost
    folder.mkdir(parents=True)
    (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "roster.mapping.yaml").write_text(yaml.safe_dump(MAPPING), "utf-8")
    outcome = parse_feed(tmp_path / "landing", "hr", ParseCache(tmp_path / "cache"), salt=SALT)
    assert outcome.problems == [] and outcome.parses[0].counts["rows_quarantined"] == 1


def test_the_raw_asset_stops_for_that_feed(tmp_path: Path, duckdb_url: str) -> None:
    import dagster as dg

    from ice_pipeline.defs.assets_ingest import raw_hr_exports
    from ice_pipeline.defs.resources import (
        PipelineSettingsResource,
        WarehouseResource,
        dispose_engines,
    )

    path = _roster(tmp_path / "data" / "landing" / "hr", MAPPING)
    upgrade(duckdb_url)
    resources = {
        "warehouse": WarehouseResource(url=duckdb_url),
        "pipeline": PipelineSettingsResource(data_dir=str(tmp_path / "data"), pseudonym_salt=SALT),
    }
    try:
        with pytest.raises(dg.Failure) as raised:
            dg.materialize([raw_hr_exports], resources=resources, raise_on_error=True)
    finally:
        dispose_engines()
    assert str(path) in raised.value.description and "80.0%" in raised.value.description
    # Nothing of the feed was handed on: no manifest of parsed files was written.
    assert ParseCache(tmp_path / "data" / "cache").read_manifest("hr") is None


def test_the_most_common_reason_is_counted_by_kind_not_by_value() -> None:
    import pandas as pd

    from ice_pipeline.ingest.common import ParseResult
    from ice_pipeline.ingest.loss import quarantine_share

    reasons = ["priority 'P9' is not a known priority", "priority 'X' is not a known priority"]
    reasons += ["priority 'Y' is not a known priority", "department is missing"]
    reasons += ["department is missing"]
    result = ParseResult(
        feed="tickets",
        source_file="t.csv",
        source_sha256="0",
        file_format="generic",
        encoding="utf-8",
        tables={},
        quarantine=pd.DataFrame({"reason": reasons}),
        counts={"rows_read": 20, "rows_kept": 15, "rows_quarantined": 5, "rows_excluded": 0},
    )
    share = quarantine_share(result, {"max_quarantined_pct": 30})
    assert (share.pct, share.exceeded, share.most_common_count) == (25.0, False, 3)
    assert share.most_common_reason in reasons[:3]
    assert quarantine_share(result, {}).exceeded  # 25% > the default 5%
