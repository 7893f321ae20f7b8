"""Dates in exports: parsed under a configured order, ambiguity reported instead of guessed.

Belongs here: the date parser every feed uses (``parse_dates``: YMD, DMY or MDY, ISO 8601 with
a zone always accepted, a day/month that could be either way flagged) and the period key of a
timestamp (``period_of``). Feed-specific date handling (12-hour clocks in survey exports,
named months in localised ticket exports) lives with the feed's reader. common.py re-exports
these names, so ``from ice_pipeline.ingest.common import parse_dates`` keeps working.
``shape_filter=True`` (the table readers) skips values a format cannot read (``_could_match``)
and reads plainly written ones arithmetically (date_formats.py): the same timestamps, faster.
"""

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.ingest.date_formats import read_fixed_width


@dataclass
class ParsedDates:
    """Dates parsed under one configured order, with the rows that could not be read safely."""

    values: pd.Series  # datetime64[ns]; NaT where missing, invalid or ambiguous
    invalid: pd.Series  # bool: non-empty text that is not a date under the configured order
    ambiguous: pd.Series  # bool: a numeric date that reads validly under another order too
    # DMY/MDY only: the ``values`` the other of the two orders gives (already parsed to find the
    # ambiguous dates; callers reuse it instead of parsing the column once more).
    other_order_values: pd.Series | None = None


_ORDER_FORMATS = {
    "YMD": [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d",
    ],
    "DMY": [
        "%d-%m-%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%d-%m-%Y",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y",
        "%d/%m/%y %H:%M",
        "%d/%m/%y",
    ],
    "MDY": [
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y",
        "%m-%d-%Y %H:%M",
        "%m-%d-%Y",
        "%m/%d/%y %H:%M",
        "%m/%d/%y",
    ],
}


@functools.lru_cache(maxsize=64)
def _format_pattern(fmt: str) -> str | None:
    r"""An RE2 pattern every value pandas' strptime reads with ``fmt`` fully matches, or None.

    pandas reads a non-ISO format by matching a regex (its private ``_TimeRE_cache``) and
    refusing a value the first match does not cover entirely, so a value no way of matching
    covers is NaT whether or not the format is tried. For ASCII values Python's ``\d`` is
    [0-9] and its ``\s`` [ \t\n\r\f\v], spelled out for RE2; ISO-like formats go through
    pandas' own ISO parser and get no pattern; without the private names (another pandas)
    nothing is skipped. test_table_staging.py checks the filter against pandas.
    """
    try:
        from pandas._libs.tslibs import strptime as pandas_strptime

        if pandas_strptime._test_format_is_iso(fmt):
            return None
        pattern = pandas_strptime._TimeRE_cache.compile(fmt).pattern
    except (ImportError, AttributeError, ValueError, KeyError):
        return None
    pattern = pattern.replace("\\d", "[0-9]").replace("\\s", "[ \t\n\r\f\v]")
    return f"^(?:{pattern})$"


def _could_match(text: pd.Series, fmt: str) -> pd.Series:
    r"""Which values pandas' strptime could read with ``fmt`` (a necessary condition only).

    Arrow's vectorised RE2 looks at the ASCII values; any other value is kept for pandas
    (Python's ``\d`` and ``\s`` also match other scripts' digits and spaces).
    """
    pattern = _format_pattern(fmt)
    if pattern is None:
        return pd.Series(True, index=text.index)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        fits = pc.match_substring_regex(values, pattern, ignore_case=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.Series(True, index=text.index)
    keep = pc.fill_null(pc.or_kleene(pc.invert(pc.string_is_ascii(values)), fits), True)
    return pd.Series(keep.to_numpy(zero_copy_only=False), index=text.index, dtype=bool)


def _parse_with_formats(
    text: pd.Series, formats: list[str], shape_filter: bool = False
) -> pd.Series:
    """First format that reads each value; ``shape_filter`` skips values a format cannot read.

    The filter gives the same result (``_could_match``) and saves pandas' slow failing parses:
    a day-first export tried month-first fails every value seven times; with it, plainly
    written values are read by ``date_formats.read_fixed_width`` (the same timestamps).
    """
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    remaining = text.notna()
    for fmt in formats:
        if not remaining.any():
            break
        candidates = text[remaining]
        if shape_filter:
            candidates = candidates[_could_match(candidates, fmt)]
            done, plain = read_fixed_width(candidates, fmt)  # date_formats.py: same timestamps
            result.loc[plain.index[done]] = plain[done]
            remaining.loc[plain.index[done]] = False
            candidates = candidates[~done]
            if candidates.empty:
                continue
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce")
        hit = parsed.notna()
        result.loc[parsed.index[hit]] = parsed[hit]
        remaining.loc[parsed.index[hit]] = False
    return result


# Columns at least this long with at most this share of distinct values are parsed per distinct
# value (ticket timestamps repeat: minutes of one month over 100k tickets).
_DISTINCT_MIN_ROWS = 2_000
_DISTINCT_MAX_SHARE = 0.7


def parse_dates(raw: pd.Series, order: str, shape_filter: bool = False) -> ParsedDates:
    """Parse date strings under the configured order (YMD, DMY or MDY); see ``_parse_dates``.

    Long columns that repeat values are parsed once per distinct value (the same result: every
    output is a function of the value alone). ``shape_filter``: see ``_parse_with_formats``.
    """
    if len(raw) >= _DISTINCT_MIN_ROWS:
        codes, uniques = pd.factorize(raw)
        if len(uniques) <= _DISTINCT_MAX_SHARE * len(raw):
            distinct = _parse_dates(
                pd.Series(np.asarray(uniques, dtype=object)), order, shape_filter
            )
            return _expand(distinct, codes, raw.index)
    return _parse_dates(raw, order, shape_filter)


def _expand(parsed: ParsedDates, codes: np.ndarray, index: pd.Index) -> ParsedDates:
    """Per-distinct-value results back to one per row; code -1 (a missing value) -> NaT/False."""

    def spread(values: pd.Series, missing: object) -> pd.Series:
        with_missing = np.append(values.to_numpy(), np.array([missing], dtype=values.dtype))
        return pd.Series(with_missing[codes], index=index, dtype=values.dtype)

    return ParsedDates(
        values=spread(parsed.values, np.datetime64("NaT")),
        invalid=spread(parsed.invalid, False),
        ambiguous=spread(parsed.ambiguous, False),
        other_order_values=(
            None
            if parsed.other_order_values is None
            else spread(parsed.other_order_values, np.datetime64("NaT"))
        ),
    )


def _parse_dates(raw: pd.Series, order: str, shape_filter: bool = False) -> ParsedDates:
    """Parse date strings under the configured order (YMD, DMY or MDY).

    ISO 8601 with a 'T' and zone (``2026-10-03T14:05:22Z``) is always accepted and converted to
    naive UTC. A value like ``03/04/2026`` that is valid under both DMY and MDY while the
    configured order is DMY or MDY is still read by the configured order, but flagged ambiguous
    only when the day part could also be a month AND the source has no unambiguous evidence; the
    caller decides whether to quarantine. Here: flagged when both readings are valid and differ.
    """
    order = order.upper()
    if order not in _ORDER_FORMATS:
        raise ValueError(f"unknown date order {order!r}; use YMD, DMY or MDY")
    text = raw.astype("string").str.strip()
    text = text.mask(text.isin(["", "?", "NA", "N/A", "null", "NULL", "None"]))
    iso = pd.to_datetime(
        text.where(text.str.contains("T", na=False)), utc=True, errors="coerce", format="ISO8601"
    )
    values = _parse_with_formats(text, _ORDER_FORMATS[order], shape_filter)
    iso_hit = iso.notna()
    values[iso_hit] = iso[iso_hit].dt.tz_convert(None)
    ambiguous = pd.Series(False, index=text.index)
    other_values = None
    if order in ("DMY", "MDY"):
        other = _parse_with_formats(
            text, _ORDER_FORMATS["MDY" if order == "DMY" else "DMY"], shape_filter
        )
        ambiguous = (values.notna() & other.notna() & (values != other)).fillna(False)
        other_values = other.copy()
        other_values[iso_hit] = iso[iso_hit].dt.tz_convert(None)
    invalid = (text.notna() & values.isna()).fillna(False)
    return ParsedDates(
        values=values,
        invalid=invalid.astype(bool),
        ambiguous=ambiguous.astype(bool),
        other_order_values=other_values,
    )


def period_of(timestamps: pd.Series, cadence: str = "month") -> pd.Series:
    """Partition key of each timestamp: ``YYYY-MM`` (month) or ``YYYY-Qn`` (quarter)."""
    ts = pd.to_datetime(timestamps)
    if cadence == "quarter":
        out = (
            ts.dt.year.astype("Int64").astype("string")
            + "-Q"
            + ts.dt.quarter.astype("Int64").astype("string")
        )
    else:
        out = ts.dt.strftime("%Y-%m").astype("string")
    return out.where(ts.notna())
