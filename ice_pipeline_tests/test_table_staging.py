"""Issue 13 item 1 for the table readers: dates classified once per distinct value, formats
filtered by pandas' own strptime regex, and the quarantine rows unchanged by either.

Each test compares the fast path with the classification it replaces (row-wise, or pandas
trying every format on every value), on the real exports' values and on planted bad values,
so a change that makes them differ fails here before it changes a message or a table.
"""

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from ice_pipeline.ingest import dates
from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.table_dates import (
    _NAMED_MONTH_FORMATS,
    _classify_distinct,
    parse_date_column,
)
from ice_pipeline.ingest.tickets import read_tickets

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 6, 1)
# Values the real exports lack: one-digit parts, two-digit years, spaces and tabs, 12-hour
# clocks, impossible days, other scripts' digits, trailing text, ISO with a zone.
TRICKY = [
    "1-1-2026 3:05",
    " 1/2/26 3:05",
    "1/2/26\t3:05",
    "31/04/2026",
    "29-02-2016 01:16",
    "29-02-2015 01:16",
    "12/13/2026 10:00",
    "13/12/2026 10:00",
    "03/Mar/26 10:15 AM",
    "3 mar 2026",
    "Mar 3, 2026",
    "٣-١٠-٢٠٢٦",
    "01-10-2026 00:00 extra",
    "2026-10-03T14:05:22Z",
    "2026/10/03",
    "01.10.2026 10:00",
    "24:00",
    "",
    "00-10-2026 10:00",
    "10-00-2026 10:00",
    "01-10-2026 24:00",
    "01-10-2026 23:60",
    "01-10-0000 10:00",
    "01-10-1650 10:00",
    "01-10-2026 10:00:60",
    "01-10-2026 10:00:59",
    "29-02-2024 10:00",
    "29/02/2100 10:00",
    "31-04-2026 10:00",
    "01-1a-2026 10:00",
    "01-10-2026T10:00",
    "2026-10-01 10:00",
]


def _real_date_values(realdata_dir: Path) -> list[str]:
    """Distinct cells of every date-like column of the real ticket and HR exports."""
    values: set[str] = set()
    for relative in (
        "tickets_servicenow_incident_log/incident_event_log.csv",
        "hr_ibm_attrition/emp_attrition.csv",
    ):
        frame = pd.read_csv(realdata_dir / relative, dtype=str, keep_default_na=False)
        for column in frame.columns:
            if column.endswith("_at") or "date" in column.lower():
                values.update(frame[column].unique())
    return sorted(values) + TRICKY


@pytest.fixture(scope="module")
def date_values() -> pd.Series:
    return pd.Series(_real_date_values(FIXTURES / "realdata"), dtype="string")


def _all_formats() -> list[str]:
    return [fmt for formats in dates._ORDER_FORMATS.values() for fmt in formats] + list(
        _NAMED_MONTH_FORMATS
    )


@pytest.mark.parametrize("fmt", _all_formats())
def test_format_filter_keeps_every_value_pandas_reads(date_values: pd.Series, fmt: str) -> None:
    read = pd.to_datetime(date_values, format=fmt, errors="coerce").notna()
    kept = dates._could_match(date_values, fmt)
    assert not (read & ~kept).any(), list(date_values[read & ~kept])


def test_format_filter_skips_values_no_format_reads(date_values: pd.Series) -> None:
    # The real log is day-first with a 24-hour clock: month-first formats skip most of it.
    kept = dates._could_match(date_values, "%m/%d/%Y %H:%M")
    assert (~kept).sum() > len(date_values) // 2


@pytest.mark.parametrize("order", ["YMD", "DMY", "MDY"])
def test_parse_dates_same_with_and_without_the_filter(date_values: pd.Series, order: str) -> None:
    fast = dates.parse_dates(date_values, order, shape_filter=True)
    slow = dates.parse_dates(date_values, order)
    pd.testing.assert_series_equal(fast.values, slow.values)
    pd.testing.assert_series_equal(fast.invalid, slow.invalid)
    pd.testing.assert_series_equal(fast.ambiguous, slow.ambiguous)
    if slow.other_order_values is not None:
        pd.testing.assert_series_equal(fast.other_order_values, slow.other_order_values)


@pytest.mark.parametrize(
    "mapping",
    [{}, {"date_order": "DMY"}, {"date_order": "MDY"}, {"date_order": "YMD"}],
    ids=["auto", "DMY", "MDY", "YMD"],
)
def test_per_distinct_dates_equal_row_wise(date_values: pd.Series, mapping: dict) -> None:
    # Each value several times (and missing cells), so the ambiguous count must be weighted.
    repeated = [v for v in date_values.dropna() for _ in range(3)] + [None, None]
    raw = pd.Series(repeated, dtype=object).sample(frac=1.0, random_state=7)
    values, reasons, ambiguous = parse_date_column(raw, mapping, "opened_at")
    row_values, row_reasons, row_ambiguous = _classify_distinct(raw, mapping, "opened_at")
    pd.testing.assert_series_equal(values, row_values)
    # Cells without a reason are None or NaN (callers test notna): compare the texts.
    assert _texts(reasons) == _texts(row_reasons)
    assert ambiguous == int(row_ambiguous.sum())
    assert reasons.notna().any()  # planted bad values are reported


def _texts(reasons: pd.Series) -> list[str | None]:
    return [r if isinstance(r, str) else None for r in reasons]


def _ticket_csv(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["number,opened_at,resolved_at,assignment_group,priority"]
    lines += [f"INC{i:05d},{o},{r},Service Desk,{p}" for i, (o, r, p, _) in enumerate(rows)]
    return "\n".join(lines) + "\n"


def test_mixed_file_quarantines_each_bad_row_with_its_own_reasons(tmp_path: Path) -> None:
    """Bad values repeated across rows get the reasons each gets alone in a file of good rows;
    the ambiguous dates are counted once per row."""
    good = ("14-05-2026 10:00", "15-05-2026 11:00", "3 - Moderate", "")  # day-first evidence
    ambiguous = ("05-04-2026 10:00", "06-04-2026 11:00", "2 - High", "")  # kept, counted
    bad = [
        ("31-02-2026 10:00", "15-05-2026 11:00", "3 - Moderate", "not a date"),
        ("14-05-2026 10:00", "01-12-2026 11:00", "Whenever", "future, unknown priority"),
        ("31-13-2026", "", "9x", "not a date, unknown priority"),
    ]
    mapping: dict = {}  # no date_order: the order comes from the column's evidence
    rows = [good] * 4 + bad + [ambiguous] + [good] * 3 + bad + [ambiguous] + bad + [ambiguous]
    mixed = _read(tmp_path / "mixed.csv", _ticket_csv(rows), mapping)
    assert mixed.counts["rows_kept"] == 7 + 3
    by_row = mixed.quarantine.groupby("source_row")["reason"].apply(list).to_dict()
    assert len(by_row) == 3 * len(bad)
    expected_ambiguous = 0
    for position, row in enumerate(rows):
        if row == good:
            continue
        alone = _read(tmp_path / f"alone{position}.csv", _ticket_csv([good] * 4 + [row]), mapping)
        expected_ambiguous += alone.ambiguous_dates
        reasons = alone.quarantine["reason"].tolist()
        assert reasons == by_row.get(position + 2, [])
        assert bool(reasons) == (row != ambiguous)
    assert mixed.ambiguous_dates == expected_ambiguous > 0


def _read(path: Path, text: str, mapping: dict):  # noqa: ANN202 - a ParseResult
    path.write_text(text, encoding="utf-8")
    mapping = {"provider_department": None, **mapping}
    return read_tickets(
        decode_file(path), mapping, file_format="servicenow", salt="s", hr_employees=None, now=NOW
    )


@pytest.mark.parametrize("fmt", _all_formats())
def test_fixed_width_reading_equals_pandas(date_values: pd.Series, fmt: str) -> None:
    from ice_pipeline.ingest.date_formats import read_fixed_width

    done, values = read_fixed_width(date_values, fmt)
    expected = pd.to_datetime(date_values[done], format=fmt, errors="coerce")
    pd.testing.assert_series_equal(values[done], expected, check_names=False)
    assert expected.notna().all()


def test_fixed_width_reads_the_real_log() -> None:
    from ice_pipeline.ingest.date_formats import read_fixed_width

    done, _ = read_fixed_width(
        pd.Series(_real_date_values(FIXTURES / "realdata")), "%d-%m-%Y %H:%M"
    )
    assert done.sum() > 1000


def test_pseudonyms_per_row_equal_pseudonymize() -> None:
    from ice_pipeline.ingest.privacy import pseudonymize, pseudonymize_per_row

    ids = pd.Series(["E1", " ", None, "E1 ", float("nan"), 7, "E2", "Zoë", "E2"], dtype=object)
    fast, slow = pseudonymize_per_row(ids, "salt"), pseudonymize(ids, "salt")
    assert _texts(fast) == _texts(slow)
    assert fast.notna().sum() == 6
