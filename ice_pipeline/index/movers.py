"""Movers measured against the company: which changes differ from the change everyone shared.

Belongs here: the arithmetic that turns published changes (each with its 95% interval) into
*relative* changes: a provider's change minus the company-wide change, a dimension's change minus
its provider's change, each with an interval. Deciding words and layout does not belong here.

Why: in a month when the whole company rose 4.2 points, ten providers each up 3-7 points are one
finding (the company shift), not ten. A provider "moved" only when the interval of
(its change - the company change) excludes zero.

How the interval is made, and why it is conservative:
- The standard error of each change is recovered from its published interval as
  half-width / z (z = 1.96 at 95%). The published intervals are Welch t-intervals, whose
  half-width is t x se with t >= z, so se is never understated.
- Var(A - B) = Var(A) + Var(B) - 2 Cov(A, B). A provider's respondents are part of the company,
  so Cov >= 0; leaving it out (treating the two as independent) can only widen the interval.
  Likewise for a dimension within its provider.
So a relative mover is reported only when the evidence is at least as strong as the 95% level
says. Every input is an already published figure, so nothing here can reveal a small group.

Company-wide dimension movers (:func:`pooled_change`): a dimension's company-wide change is the
respondent-weighted mean of its published provider changes (providers published in both
periods), compared with the company's ICE-P change like a provider's. Its standard error is the
weighted *sum* of the providers' standard errors, per period: a respondent rates several
providers, so provider means are positively correlated, and sum(w_i se_i) bounds the standard
error of a weighted mean under any correlation (Cauchy-Schwarz), where the independence formula
sqrt(sum(w_i^2 se_i^2)) would understate it. Conservative again: a shift shared by every
dimension names none.
"""

import numpy as np
from scipy import stats as scipy_stats


def standard_error(low: np.ndarray, high: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The standard error implied by a symmetric interval (NaN where the interval is missing)."""
    z = scipy_stats.norm.ppf(0.5 + level / 2)
    return (np.asarray(high, dtype=float) - np.asarray(low, dtype=float)) / (2 * z)


def relative_change(
    change: np.ndarray,
    change_low: np.ndarray,
    change_high: np.ndarray,
    reference: float,
    reference_low: float,
    reference_high: float,
    level: float = 0.95,
    family_size: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each change minus the reference change, with a conservative interval.

    ``level`` is the confidence of the published input intervals. With ``family_size`` m > 1
    the returned intervals are simultaneous (Bonferroni: each at 1 - (1 - level) / m), so the
    chance of naming any mover by noise alone stays under 1 - level: ten providers tested at
    95% each would otherwise name a false mover in about four months out of ten.
    Returns (difference, low, high, moved); ``moved`` is True where the interval excludes zero,
    False where it includes zero, and False where an input is missing (NaN).
    """
    family_level = 1 - (1 - level) / max(family_size, 1)
    z = scipy_stats.norm.ppf(0.5 + family_level / 2)
    se = standard_error(change_low, change_high, level)
    se_reference = standard_error(np.array([reference_low]), np.array([reference_high]), level)[0]
    difference = np.asarray(change, dtype=float) - float(reference)
    se_difference = np.sqrt(se**2 + se_reference**2)
    low = difference - z * se_difference
    high = difference + z * se_difference
    with np.errstate(invalid="ignore"):
        moved = (low > 0) | (high < 0)
    return difference, low, high, moved & np.isfinite(low) & np.isfinite(high)


def change_between(
    now: np.ndarray,
    now_low: np.ndarray,
    now_high: np.ndarray,
    before: np.ndarray,
    before_low: np.ndarray,
    before_high: np.ndarray,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The change between two published means of different periods, with its interval.

    The two periods' respondents are treated as independent samples (a survey wave is a new
    sample); the standard errors come from the published intervals (see the module docstring).
    """
    z = scipy_stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(
        standard_error(now_low, now_high, level) ** 2
        + standard_error(before_low, before_high, level) ** 2
    )
    difference = np.asarray(now, dtype=float) - np.asarray(before, dtype=float)
    return difference, difference - z * se, difference + z * se


def pooled_change(
    now: np.ndarray,
    now_low: np.ndarray,
    now_high: np.ndarray,
    before: np.ndarray,
    before_low: np.ndarray,
    before_high: np.ndarray,
    weights: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """The weighted mean change of several published means, with a conservative interval.

    Rows with a missing input or a non-positive weight are left out; returns NaNs when none is
    left. The standard error of each period's weighted mean is sum(w_i se_i) (module docstring);
    the two periods are independent samples.
    """
    columns = [np.asarray(a, dtype=float) for a in (now, now_low, now_high, before)]
    columns += [np.asarray(a, dtype=float) for a in (before_low, before_high, weights)]
    usable = np.all(np.isfinite(np.vstack(columns)), axis=0) & (columns[-1] > 0)
    if not usable.any():
        return (np.nan, np.nan, np.nan)
    now, now_low, now_high, before, before_low, before_high, weights = (
        column[usable] for column in columns
    )
    share = weights / weights.sum()
    change = float(np.sum(share * (now - before)))
    se_now = float(np.sum(share * standard_error(now_low, now_high, level)))
    se_before = float(np.sum(share * standard_error(before_low, before_high, level)))
    z = scipy_stats.norm.ppf(0.5 + level / 2)
    half = z * float(np.hypot(se_now, se_before))
    return change, change - half, change + half
