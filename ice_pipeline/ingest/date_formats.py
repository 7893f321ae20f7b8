"""Reading a strptime format's plainest values without pandas' per-value strptime.

Belongs here: ``read_fixed_width``, which reads the values of a numeric format (``%d %m %Y %H
%M %S`` and literal separators, e.g. ``%d-%m-%Y %H:%M``) that are written zero-padded at the
format's fixed width and are plainly valid (a real calendar day, hour <= 23, minute and second
<= 59, year 1700-2200), as numpy arithmetic on their bytes. For those values pandas' strptime
gives exactly that timestamp; every other value (other widths, one-digit parts, a leap second,
anything doubtful) is left to pandas, so the result is the same. The format list and the
order logic stay in dates.py.

Chosen over DuckDB's ``strptime``: its rules (two-digit years, whitespace, leading spaces) are
not pandas', so the quarantine reasons could change; this reads only what both agree on.
"""

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# directive -> (field, digits)
_FIELDS = {"%d": ("d", 2), "%m": ("m", 2), "%Y": ("Y", 4), "%H": ("H", 2), "%M": ("M", 2)}
_FIELDS["%S"] = ("S", 2)
_LIMITS = {"m": (1, 12), "d": (1, 31), "Y": (1700, 2200), "H": (0, 23), "M": (0, 59), "S": (0, 59)}

Layout = tuple[int, tuple[tuple[str, int, int], ...], tuple[tuple[int, int], ...]]


@functools.lru_cache(maxsize=64)
def fixed_layout(fmt: str) -> Layout | None:
    """(width, (field, start, digits) per directive, (position, byte) per literal), or None
    when the format has another directive, a repeated field, or lacks a day, month or year.
    """
    fields: list[tuple[str, int, int]] = []
    literals: list[tuple[int, int]] = []
    position, index = 0, 0
    while index < len(fmt):
        if fmt[index] == "%":
            directive = _FIELDS.get(fmt[index : index + 2])
            if directive is None:
                return None
            fields.append((directive[0], position, directive[1]))
            position += directive[1]
            index += 2
            continue
        if not fmt[index].isascii() or fmt[index].isalnum():
            return None
        literals.append((position, ord(fmt[index])))
        position += 1
        index += 1
    names = [name for name, _, _ in fields]
    if len(set(names)) != len(names) or not {"d", "m", "Y"} <= set(names):
        return None
    return position, tuple(fields), tuple(literals)


def read_fixed_width(text: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """(which values were read here, their timestamps; NaT elsewhere) for ``fmt``."""
    done = pd.Series(False, index=text.index)
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    layout = fixed_layout(fmt)
    if layout is None or text.empty:
        return done, values
    width, fields, literals = layout
    try:
        array = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return done, values
    shaped = pc.and_(pc.string_is_ascii(array), pc.equal(pc.binary_length(array), width))
    where = np.flatnonzero(pc.fill_null(shaped, False).to_numpy(zero_copy_only=False))
    if not len(where):
        return done, values
    chosen = array.take(pa.array(where))
    # Every chosen value is ``width`` ASCII bytes: Arrow's data buffer holds them back to back.
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int32)
    offsets = offsets[chosen.offset : chosen.offset + len(chosen) + 1]
    body = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    grid = body.reshape(len(where), width).astype(np.int64)
    ok = np.ones(len(where), dtype=bool)
    for position, byte in literals:
        ok &= grid[:, position] == byte
    parts: dict[str, np.ndarray] = {"H": np.zeros(len(where), np.int64)}
    parts["M"] = parts["S"] = parts["H"]
    for name, start, digits in fields:
        cells = grid[:, start : start + digits] - ord("0")
        ok &= ((cells >= 0) & (cells <= 9)).all(axis=1)
        number = np.zeros(len(where), dtype=np.int64)
        for column in range(digits):
            number = number * 10 + cells[:, column]
        low, high = _LIMITS[name]
        ok &= (number >= low) & (number <= high)
        parts[name] = number
    month = (np.clip(parts["Y"], 1700, 2200) - 1970) * 12 + np.clip(parts["m"], 1, 12) - 1
    first = month.astype("datetime64[M]").astype("datetime64[D]")
    days_in_month = ((month + 1).astype("datetime64[M]").astype("datetime64[D]") - first).astype(
        np.int64
    )
    ok &= parts["d"] <= days_in_month
    stamps = (
        first.astype("datetime64[ns]")
        + (parts["d"] - 1) * np.timedelta64(1, "D")
        + parts["H"] * np.timedelta64(1, "h")
        + parts["M"] * np.timedelta64(1, "m")
        + parts["S"] * np.timedelta64(1, "s")
    )
    rows = text.index[where[ok]]
    done.loc[rows] = True
    values.loc[rows] = stamps[ok]
    return done, values
