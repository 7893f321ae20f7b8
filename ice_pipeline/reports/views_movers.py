"""Movers in the reports: providers (and dimensions) whose change differs from the shared one.

Belongs here: turning the published changes into :class:`Mover` sentences with
:func:`ice_pipeline.index.movers.relative_change`: on the executive summary a provider's change
against the company-wide change (stated once, in :class:`MoversPanel`), and each dimension's
company-wide change against the same company change (:func:`company_dimension_movers`); on a
provider page a dimension's change against the provider's overall change.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.index.movers import change_between, pooled_change, relative_change
from ice_pipeline.reports.views_common import Estimate


@dataclass(frozen=True)
class Mover:
    name: str  # a provider, or a dimension label
    change: Estimate  # its own change
    relative: Estimate  # its change minus the shared change
    direction: str  # 'improved' | 'declined' (relative to the shared change)
    sentence: str

    @property
    def provider(self) -> str:  # the executive summary's movers are providers
        return self.name


@dataclass(frozen=True)
class MoversPanel:
    shared_sentence: str  # the company-wide (or provider-wide) shift, stated once
    movers: tuple[Mover, ...]
    compared: int  # how many changes were compared with the shared one


def _shared_sentence(whole: str, change: Estimate) -> str:
    if not change.published or change.ci_low is None:
        return f"{whole} has no change to compare with (no previous period, or withheld)."
    verdict = (
        "the interval excludes zero"
        if change.ci_low > 0 or change.ci_high < 0  # type: ignore[operator]
        else "the interval includes zero"
    )
    return (
        f"{whole} changed by {change.value_text} points ({change.interval_text}; {verdict}). "
        "A mover below is one whose change differs from this shared change: the interval of "
        "the difference excludes zero, with 95% confidence for all the comparisons together "
        "(Bonferroni), so a month of noise does not produce a mover by chance."
    )


def relative_movers(
    whole: str,
    shared: Estimate,
    changes: Sequence[tuple[str, Estimate]],
    unit_words: str,
) -> MoversPanel:
    """Compare each (name, change) with ``shared``; keep those whose difference excludes zero.

    ``unit_words`` names what moved, e.g. 'points of ICE-P'. Largest differences first.
    """
    usable = [
        (name, change)
        for name, change in changes
        if change.published and change.ci_low is not None and change.ci_high is not None
    ]
    if not usable or not shared.published or shared.ci_low is None or shared.ci_high is None:
        return MoversPanel(_shared_sentence(whole, shared), (), 0)
    difference, low, high, moved = relative_change(
        np.array([c.value for _, c in usable], dtype=float),
        np.array([c.ci_low for _, c in usable], dtype=float),
        np.array([c.ci_high for _, c in usable], dtype=float),
        float(shared.value),  # type: ignore[arg-type]
        float(shared.ci_low),
        float(shared.ci_high),
        family_size=len(usable),
    )
    movers = []
    for index in np.argsort(-np.abs(difference), kind="stable"):
        if not moved[index]:
            continue
        name, change = usable[index]
        relative = Estimate(
            float(difference[index]), float(low[index]), float(high[index]), signed=True
        )
        direction = "improved" if difference[index] > 0 else "declined"
        word = "more" if difference[index] > 0 else "less"
        sentence = (
            f"{name} changed by {change.value_text} {unit_words}, {abs(difference[index]):.1f} "
            f"{word} than {whole.lower()} (simultaneous {relative.interval_text} for the "
            "difference)."
        )
        movers.append(Mover(name, change, relative, direction, sentence))
    return MoversPanel(_shared_sentence(whole, shared), tuple(movers), len(usable))


def change_estimate(now: Estimate, before: Estimate) -> Estimate:
    """The change between two published estimates of different periods (else not published)."""
    parts = (now.value, now.ci_low, now.ci_high, before.value, before.ci_low, before.ci_high)
    if not (now.published and before.published) or any(part is None for part in parts):
        return Estimate(None, signed=True)
    difference, low, high = change_between(*(np.array([part], dtype=float) for part in parts))
    return Estimate(float(difference[0]), float(low[0]), float(high[0]), now.n, signed=True)


def _published_dimension_rows(frame: pd.DataFrame, period: str, k: int) -> pd.DataFrame:
    rows = frame[frame["period"].astype(str) == period]
    suppressed = rows["suppressed"].fillna(True).astype(bool)
    n = pd.to_numeric(rows["n_respondents"], errors="coerce")
    return rows[~suppressed & (n >= k)]


def dimension_changes(period: str, frame: pd.DataFrame | None, k: int) -> dict[str, Estimate]:
    """Dimension code -> its company-wide change since the previous period in ``frame``.

    The respondent-weighted mean of the providers' published changes on the dimension
    (providers published in both periods), with the conservative interval of
    :func:`ice_pipeline.index.movers.pooled_change`.
    """
    if frame is None or frame.empty:
        return {}
    earlier = sorted({str(p) for p in frame["period"] if str(p) < period})
    if not earlier:
        return {}
    keys = ["provider_department", "dimension"]
    both = _published_dimension_rows(frame, period, k).merge(
        _published_dimension_rows(frame, earlier[-1], k), on=keys, suffixes=("", "_before")
    )
    changes = {}
    for code, rows in both.groupby("dimension", sort=True):
        columns = [
            rows[f"{column}{suffix}"].to_numpy(dtype=float)
            for suffix in ("", "_before")
            for column in ("score", "score_ci_low", "score_ci_high")
        ]
        weights = pd.to_numeric(rows["n_respondents"], errors="coerce").to_numpy(dtype=float)
        change, low, high = pooled_change(*columns, weights)
        if np.isfinite(low) and np.isfinite(high):
            changes[str(code)] = Estimate(change, low, high, signed=True)
    return changes


def company_dimension_movers(
    period: str,
    frame: pd.DataFrame | None,
    shared: Estimate,
    label: Callable[[str], str],
    k: int,
) -> MoversPanel:
    """Dimensions whose company-wide change differs from the company's own (ICE-P) change."""
    changes = dimension_changes(period, frame, k)
    return relative_movers(
        "The company as a whole",
        shared,
        [(label(code), change) for code, change in changes.items()],
        "points",
    )
