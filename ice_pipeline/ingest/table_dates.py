"""Dates in table exports (tickets, HR, external answers): one column's text -> naive timestamps.

Belongs here: ``parse_date_column`` (a mapping's ``date_format``, else month names in any
language, else numeric dates in the configured or evidenced order, quarantining values whose
order cannot be told) and ``future_reasons``. A column is classified once per distinct value
(issue 13) and read with ``parse_dates(..., shape_filter=True)``: formats skip values they
cannot read and plainly written values are read without pandas' strptime (date_formats.py),
with the same results. The order arithmetic on numeric dates (``parse_dates``) is dates.py's
(re-exported by common.py), shared with the survey reader, which does not use the filter.
"""

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.common import parse_dates, period_of
from ice_pipeline.ingest.languages import english_month_names

_NAMED_MONTH_FORMATS = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d/%b/%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
)


def _parse_named_months(named: pd.Series, remaining: pd.Series, values: pd.Series) -> None:
    """Read values with month names by each named-month format; mark what was read."""
    for fmt in _NAMED_MONTH_FORMATS:
        candidates = named[remaining.reindex(named.index)]
        if candidates.empty:
            return
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce")
        hit = parsed[parsed.notna()]
        values.loc[hit.index] = hit
        remaining.loc[hit.index] = False


def parse_date_column(
    raw: pd.Series, raw_mapping: dict[str, Any], column: str
) -> tuple[pd.Series, pd.Series, int]:
    """Dates of one export column -> (naive timestamps, reasons where unusable, ambiguous count).

    ``date_format`` (strptime, one or a list) wins. Else ``date_order`` (YMD/DMY/MDY) reads
    numeric dates; values that another order would read differently are kept (the order was
    configured) and counted as ambiguous only when no value of the column confirms the order
    (e.g. a day above 12). Without ``date_order`` (or with
    ``auto``) the order is taken from unambiguous values of the same column; when they give no
    single answer, ambiguous values are quarantined rather than guessed.

    Each distinct value is classified once (issue 13: 100k tickets hold ~40k distinct minutes)
    and the result spread back to the rows: a value's timestamp and reason depend on the value
    and on which values the column holds (the order's evidence), never on how often; the
    ambiguous count is of rows, so it is weighted by each value's row count.
    """
    codes, distinct = pd.factorize(raw.to_numpy(dtype=object))  # a missing cell -> code -1
    if len(distinct) == 0:
        values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        return values, pd.Series(None, index=raw.index, dtype=object), 0
    one = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
    one_values, one_reasons, one_ambiguous = _classify_distinct(one, raw_mapping, column)
    values = pd.Series(
        np.append(one_values.to_numpy(), np.datetime64("NaT", "ns"))[codes],
        index=raw.index,
        dtype="datetime64[ns]",
    )
    reasons = pd.Series(
        np.append(one_reasons.to_numpy(dtype=object), None)[codes], index=raw.index, dtype=object
    )
    ambiguous_rows = np.append(one_ambiguous.to_numpy(dtype=bool), False)[codes]
    return values, reasons, int(ambiguous_rows.sum())


def _classify_distinct(
    raw: pd.Series, raw_mapping: dict[str, Any], column: str
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``parse_date_column`` on distinct values: (timestamps, reasons, which count as ambiguous)."""
    values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    reasons = pd.Series(None, index=raw.index, dtype=object)
    ambiguous = pd.Series(False, index=raw.index, dtype=bool)
    formats = raw_mapping.get("date_format")
    if formats:
        _by_date_format(raw, raw.notna(), formats, column, values, reasons)
        return values, reasons, ambiguous
    # Month names are unambiguous whatever the order (Jira writes 03/Mar/26 10:15 AM).
    remaining = raw.notna()
    named = raw[remaining]
    named = named[named.str.contains(r"[^\W\d_]{3}", regex=True, na=False)]
    _parse_named_months(named, remaining, values)
    left = named[remaining.reindex(named.index)]
    if not left.empty:
        # Month names in the export's language (ene, janv., März, mrt) -> Jan ... (CLDR); only
        # the values English names did not read pay for the translation.
        _parse_named_months(english_month_names(left), remaining, values)
    order = str(raw_mapping.get("date_order") or "auto").upper()
    rest = raw[remaining]
    if order in ("YMD", "DMY", "MDY"):
        found = _by_configured_order(rest, order, column, values, reasons)
    else:
        found = _by_evidence(rest, column, values, reasons)
    ambiguous.loc[found.index] = found.to_numpy(dtype=bool)
    return values, reasons, ambiguous


def _by_date_format(
    raw: pd.Series,
    present: pd.Series,
    formats: Any,
    column: str,
    values: pd.Series,
    reasons: pd.Series,
) -> None:
    """Read by the mapping's ``date_format`` (one or a list, first match wins)."""
    remaining = present.copy()
    for fmt in [formats] if isinstance(formats, str) else list(formats):
        parsed = pd.to_datetime(raw[remaining], format=fmt, errors="coerce")
        hit = parsed.notna()
        values.loc[hit[hit].index] = parsed[hit]
        remaining.loc[hit[hit].index] = False
    reasons[remaining] = [
        f"{column} '{v}' does not match date_format {formats!r}" for v in raw[remaining]
    ]


def _by_configured_order(
    rest: pd.Series, order: str, column: str, values: pd.Series, reasons: pd.Series
) -> pd.Series:
    """Read numeric dates in the mapping's ``date_order``; returns which count as ambiguous."""
    parsed = parse_dates(rest, order, shape_filter=True)
    values.loc[rest.index] = parsed.values
    bad = parsed.invalid
    reasons.loc[bad[bad].index] = [
        f"{column} '{v}' is not a date in {order} order" for v in rest[bad]
    ]
    none = pd.Series(False, index=rest.index, dtype=bool)
    if order == "YMD":
        return none
    # A value readable only under the configured order (31-01-2016) confirms it for the
    # column; without any such value the ambiguous ones are reported (still read as
    # configured).
    other = parsed.other_order_values  # the other order's reading, parsed already
    confirmed = (parsed.values.notna() & other.isna()).any()
    return none if confirmed else parsed.ambiguous.reindex(rest.index).astype(bool)


def _by_evidence(rest: pd.Series, column: str, values: pd.Series, reasons: pd.Series) -> pd.Series:
    """Read numeric dates in the order the column's unambiguous values show; returns which are
    ambiguous (those that read differently day-first and month-first).
    """
    ymd = parse_dates(rest, "YMD", shape_filter=True)
    dmy = parse_dates(rest, "DMY", shape_filter=True)
    mdy_values = dmy.other_order_values  # the month-first reading, parsed already
    chosen = ymd.values.copy()
    need = chosen.isna()
    only_dmy = need & dmy.values.notna() & mdy_values.isna()
    only_mdy = need & mdy_values.notna() & dmy.values.isna()
    both_same = need & dmy.values.notna() & (dmy.values == mdy_values)
    both_differ = need & dmy.values.notna() & mdy_values.notna() & (dmy.values != mdy_values)
    chosen[only_dmy] = dmy.values[only_dmy]
    chosen[only_mdy] = mdy_values[only_mdy]
    chosen[both_same] = dmy.values[both_same]
    evidence = (
        "DMY"
        if only_dmy.any() and not only_mdy.any()
        else "MDY"
        if only_mdy.any() and not only_dmy.any()
        else None
    )
    if evidence is not None:
        source_values = dmy.values if evidence == "DMY" else mdy_values
        chosen[both_differ] = source_values[both_differ]
    elif both_differ.any():
        mixed = (
            " (the column mixes day-first and month-first dates)"
            if only_dmy.any() and only_mdy.any()
            else ""
        )
        reasons.loc[both_differ[both_differ].index] = [
            f"{column} '{v}' is ambiguous: day-first reads {d:%Y-%m-%d}, "
            f"month-first reads {m:%Y-%m-%d}{mixed}; "
            "set date_order in the mapping"
            for v, d, m in zip(
                rest[both_differ], dmy.values[both_differ], mdy_values[both_differ], strict=True
            )
        ]
    values.loc[rest.index] = chosen
    bad = chosen.isna() & ~both_differ
    reasons.loc[bad[bad].index] = [f"{column} '{v}' is not a date" for v in rest[bad]]
    return both_differ.astype(bool)


def future_reasons(values: pd.Series, now: datetime, column: str) -> pd.Series:
    """Reason text where a timestamp lies after the run time (a clock or export error)."""
    future = (values > pd.Timestamp(now)).fillna(False)
    reasons = pd.Series(None, index=values.index, dtype=object)
    reasons[future] = [
        f"{column} {v:%Y-%m-%d %H:%M} is in the future (after {now:%Y-%m-%d %H:%M})"
        for v in values[future]
    ]
    return reasons


def period_per_row(timestamps: pd.Series, cadence: str = "month") -> pd.Series:
    """``common.period_of`` of each timestamp, formatted once per distinct month.

    The same keys (a month or quarter key is a function of the month alone) without formatting
    100k timestamps one by one: that per-row strftime was most of a large ticket file's period.
    """
    months = timestamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    codes, distinct = pd.factorize(months)
    keys = period_of(pd.Series(distinct.astype("datetime64[ns]")), cadence).to_numpy(dtype=object)
    per_row = np.append(keys, pd.NA)[codes]  # code -1 (no timestamp) -> the last entry, NA
    return pd.Series(per_row, index=timestamps.index, dtype="string")
