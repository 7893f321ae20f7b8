"""The parse cache behind the ingest assets: each file parsed once, rows gathered per period."""

from pathlib import Path
from typing import Any

import pandas as pd

from ice_pipeline.cache import ParseCache, latest_roster, parse_feed, rows_for_period
from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import ParseResult, empty_quarantine

EMPLOYEE_COLUMNS = [
    "snapshot_period",
    "employee_id",
    "department",
    "hire_date",
    "termination_date",
    "termination_type",
    "attrited",
    "source_file",
    "source_sha256",
    "source_row",
]


def fake_result(path: Path, rows: pd.DataFrame) -> ParseResult:
    return ParseResult(
        feed="external",
        source_file=str(path),
        source_sha256="0" * 64,
        file_format="generic",
        encoding="utf-8",
        tables={"external_metrics": rows},
        quarantine=empty_quarantine(),
        counts={
            "rows_read": len(rows),
            "rows_kept": len(rows),
            "rows_quarantined": 0,
            "rows_excluded": 0,
        },
    )


def metric_rows(period: str, value: float, source: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": [period, period],
            "business_unit": ["Retail", "Wealth"],
            "metric": ["nps", "nps"],
            "department": ["Sales", "Advisory"],
            "value": [value, value + 1],
            "n_responses": [100, 80],
            "value_ci_low": [None, None],
            "value_ci_high": [None, None],
            "source_file": [source, source],
            "source_sha256": ["0" * 64] * 2,
        }
    )


def test_each_file_is_parsed_once_and_bad_files_are_set_aside(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "external").mkdir(parents=True)
    (landing / "external" / "a_2026-09.csv").write_text("one")
    (landing / "external" / "b_2026-10.csv").write_text("two")
    (landing / "external" / "c_broken.csv").write_text("three")
    calls: list[str] = []

    def reader(path: Path, **kwargs: Any) -> ParseResult:
        calls.append(path.name)
        if path.name == "c_broken.csv":
            raise FileProblem(str(path), "the header is missing", fix="export with headers")
        period = "2026-09" if path.name.startswith("a") else "2026-10"
        return fake_result(
            path, metric_rows(period, 10.0 if period == "2026-09" else 20.0, path.name)
        )

    cache = ParseCache(tmp_path / "cache")
    first = parse_feed(landing, "external", cache, salt="s", read_export=reader)
    assert [p.periods for p in first.parses] == [["2026-09"], ["2026-10"]]
    assert len(first.newly_parsed) == 2
    assert [str(e) for e in first.problems] == [
        f"{landing / 'external' / 'c_broken.csv'}: the header is missing. Fix: export with headers"
    ]
    again = parse_feed(landing, "external", cache, salt="s", read_export=reader)
    assert again.newly_parsed == [] and len(again.parses) == 2
    assert calls == [
        "a_2026-09.csv",
        "b_2026-10.csv",
        "c_broken.csv",
        "c_broken.csv",
    ]  # only the bad one again
    # A different salt is a different parse context: parsed again.
    parse_feed(landing, "external", cache, salt="other", read_export=reader)
    assert calls.count("a_2026-09.csv") == 2
    # One period's rows come only from the files holding it, with the schema's columns.
    october = rows_for_period(
        first.parses, "external_metrics", "2026-10", list(metric_rows("x", 0, "x").columns)
    )
    assert october.files == 1 and list(october.frame["value"]) == [20.0, 21.0]


def test_later_file_wins_on_the_same_key(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    old = cache.put(
        "1" * 64, "ctx", fake_result(tmp_path / "old.csv", metric_rows("2026-10", 10.0, "old.csv"))
    )
    new = cache.put(
        "2" * 64, "ctx", fake_result(tmp_path / "new.csv", metric_rows("2026-10", 30.0, "new.csv"))
    )
    rows = rows_for_period(
        [old, new], "external_metrics", "2026-10", list(metric_rows("x", 0, "x").columns)
    )
    assert rows.duplicates_dropped == 2
    assert list(rows.frame["source_file"]) == ["new.csv", "new.csv"]
    assert list(rows.frame["value"]) == [30.0, 31.0]


def test_latest_roster_keeps_each_employees_newest_row(tmp_path: Path) -> None:
    def roster(snapshot: str, rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "snapshot_period": snapshot,
                    "employee_id": e,
                    "department": d,
                    "hire_date": pd.Timestamp("2020-01-01"),
                    "termination_date": pd.Timestamp(t) if t else pd.NaT,
                    "termination_type": "voluntary" if t else None,
                    "attrited": None,
                    "source_file": f"{snapshot}.csv",
                    "source_sha256": "0" * 64,
                    "source_row": i,
                }
                for i, (e, d, t) in enumerate(rows)
            ]
        )

    cache = ParseCache(tmp_path / "cache")
    parses = []
    for sha, frame in (
        ("1" * 64, roster("2026-09", [("e1", "IT", None), ("e2", "HR", None)])),
        ("2" * 64, roster("2026-10", [("e1", "Finance", None)])),
    ):
        result = ParseResult(
            feed="hr",
            source_file="x",
            source_sha256=sha,
            file_format="roster",
            encoding="utf-8",
            tables={"employees": frame},
            quarantine=empty_quarantine(),
            counts={"rows_read": len(frame)},
        )
        parses.append(cache.put(sha, "ctx", result))
    latest = latest_roster(parses, EMPLOYEE_COLUMNS)
    assert list(
        zip(latest["employee_id"], latest["department"], latest["snapshot_period"], strict=True)
    ) == [("e1", "Finance", "2026-10"), ("e2", "HR", "2026-09")]


def test_a_file_of_several_periods_is_split_by_period(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    columns = list(metric_rows("x", 0, "x").columns)
    several = pd.concat(
        [metric_rows("2026-10", 1.0, "a.csv"), metric_rows("2026-09", 5.0, "a.csv")],
        ignore_index=True,
    )
    several["period"] = several["period"].astype("category")  # as large parses hold it
    parse = cache.put("3" * 64, "ctx", fake_result(tmp_path / "a.csv", several))
    assert parse.periods == ["2026-09", "2026-10"]
    september = rows_for_period([parse], "external_metrics", "2026-09", columns).frame
    assert list(september["value"]) == [5.0, 6.0]
    assert list(september.index) == [0, 1]
    assert list(september["period"].astype(str)) == ["2026-09", "2026-09"]
    single = cache.put(
        "4" * 64, "ctx", fake_result(tmp_path / "b.csv", metric_rows("2026-08", 2.0, "b.csv"))
    )
    august = rows_for_period([single], "external_metrics", "2026-08", columns).frame
    pd.testing.assert_frame_equal(
        august, metric_rows("2026-08", 2.0, "b.csv")[columns], check_dtype=False
    )
