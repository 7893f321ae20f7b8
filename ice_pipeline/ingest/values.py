"""Strict values: an answer is a number on its scale only when written as one, plainly.

Belongs here: classifying the distinct answers of rating columns against their scales
(``classify_answers``: valid, not applicable, or quarantined with a reason) and reading counts
written in plain digits (``plain_counts``, used for ticket reopen counts). Python's ``float``
reads ``1e0``, ``+4``, ``1_0``, full-width ``４`` and Arabic-Indic ``٤`` as numbers; a survey
tool never writes them, so they are typing or export accidents and are quarantined, never
guessed. Classification runs once per distinct value (a wave of 2.5M answers holds a few dozen).
"""

import re
import unicodedata

import numpy as np
import pandas as pd

from ice_pipeline.ingest.mapping import Scale
from ice_pipeline.ingest.names import fold

# ASCII digits only: re's \d would accept every Unicode digit.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
PLAIN_COUNT = re.compile(r"[0-9]+")

EMPTY, NOT_APPLICABLE, VALID, NOT_ON_SCALE, OUTSIDE, NOT_WHOLE, NOTATION = range(7)
# The quarantine kind of each rejected state (rows_quarantined_by_reason in inspect).
REJECTED_KINDS = {
    OUTSIDE: "rating outside scale",
    NOT_WHOLE: "rating not a whole number",
    NOTATION: "rating in an unsupported notation",
}


def plain_number(text: str) -> float | None:
    """``text`` as a number when written in plain ASCII digits (``-1``, ``4``, ``4.5``)."""
    return float(text) if PLAIN_NUMBER.fullmatch(text) else None


def looks_numeric(text: str) -> bool:
    """Python (or Unicode normalisation) would read ``text`` as a number: a notation accident."""
    for candidate in (text, unicodedata.normalize("NFKC", text)):
        try:
            float(candidate)
            return True
        except ValueError:
            continue
    return any(unicodedata.category(ch) == "Nd" for ch in text) and not any(
        ch.isalpha() for ch in text
    )


def classify_answers(
    uniques: np.ndarray, scales: list[Scale], not_applicable: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each scale x distinct answer: numeric value, state, and the reason when rejected.

    States: EMPTY, NOT_APPLICABLE, VALID, NOT_ON_SCALE (unknown label, not a number), OUTSIDE
    (beyond min..max), NOT_WHOLE (a fraction on a scale without ``decimals: true``), NOTATION
    (a number in a form other than plain digits). ``4.0`` is the whole number 4.
    """
    na_text = {v.strip() for v in not_applicable}
    na_folded = {fold(v) for v in na_text}
    na_numbers = {n for n in (plain_number(code) for code in na_text) if n is not None}
    n = len(uniques)
    values = np.full((len(scales), n), np.nan)
    states = np.zeros((len(scales), n), dtype="int8")
    reasons = np.empty((len(scales), n), dtype=object)
    texts = [str(u).strip() if u is not None else "" for u in uniques]
    numbers = [plain_number(text) for text in texts]
    for s, scale in enumerate(scales):
        label_index = {label: i + 1 for i, label in enumerate(scale.labels)}
        folded_index = {fold(label): i + 1 for i, label in enumerate(scale.labels)}
        for u, text in enumerate(texts):
            number = numbers[u]
            shown = text if len(text) <= 60 else text[:57] + "..."
            if text == "":
                states[s, u] = EMPTY
            elif (
                text in na_text
                or fold(text) in na_folded
                or (number is not None and number in na_numbers)
            ):
                states[s, u] = NOT_APPLICABLE
            elif scale.labels:
                position = label_index.get(text) or folded_index.get(fold(text))
                if position is None:
                    states[s, u] = NOT_ON_SCALE
                    reasons[s, u] = f"unknown rating label '{shown}'"
                else:
                    states[s, u] = VALID
                    values[s, u] = position
            elif number is None:
                if looks_numeric(text):
                    states[s, u] = NOTATION
                    reasons[s, u] = (
                        f"rating '{shown}' on scale {scale.describe} is not written in plain "
                        "digits 0-9 (no sign, exponent, digit separator or other digit forms)"
                    )
                else:
                    states[s, u] = NOT_ON_SCALE
                    reasons[s, u] = f"rating '{shown}' is not a number on scale {scale.describe}"
            elif not scale.scale_min <= number <= scale.scale_max:
                states[s, u] = OUTSIDE
                reasons[s, u] = f"rating {number:g} outside scale {scale.describe}"
            elif not scale.decimals and number != int(number):
                states[s, u] = NOT_WHOLE
                reasons[s, u] = (
                    f"rating {text} is not a whole number on scale {scale.describe} "
                    "(write 'decimals: true' on the scale if fractions are answers)"
                )
            else:
                states[s, u] = VALID
                values[s, u] = number
    return values, states, reasons


def plain_counts(raw: pd.Series, what: str) -> tuple[pd.Series, pd.Series]:
    """Counts written as plain non-negative whole numbers; the reason for every other value.

    Missing values (None) stay missing with no reason. ``3.0`` is the count 3.
    """
    codes, uniques = pd.factorize(raw)
    counts = np.full(len(uniques), np.nan)
    why = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        text = str(value).strip()
        number = plain_number(text)
        if number is None:
            why[i] = f"{what} '{text[:60]}' is not a whole number written in plain digits"
        elif number < 0:
            why[i] = f"{what} {text} is negative"
        elif number != int(number):
            why[i] = f"{what} {text} is not a whole number"
        else:
            counts[i] = number
    picked = codes >= 0
    out = np.full(len(raw), np.nan)
    out[picked] = counts[codes[picked]]
    reasons = np.full(len(raw), None, dtype=object)
    reasons[picked] = why[codes[picked]]
    return pd.Series(out, index=raw.index), pd.Series(reasons, index=raw.index, dtype=object)
