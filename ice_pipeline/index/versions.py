"""Versions of one period's publication that cannot be subtracted from each other.

What belongs here: the arithmetic of re-publishing a period (docs/methodology.md, "Versions of a
period"): which respondents are late, changed or withdrawn since the period was published
(:func:`respondent_changes`), whether two published versions of the same figures can be
subtracted to reveal fewer than k respondents (:func:`find_version_disclosures`), and the
decision a re-run takes (:func:`protect_publication`). Reading and writing the record of what
was published lives in :mod:`ice_pipeline.privacy.records`; this module takes and returns frames.

The threat: a period is re-run to pick up late exports; if one late respondent moves a published
cell from n = 5 to n = 6, then 6 x mean(v2) - 5 x mean(v1) is that person's exact score. The
rule: a re-publication must change every published figure it changes by at least k respondents
(so the difference is itself a group of at least k), never change a figure's value while its n
stays the same, and, published on the same respondents, the union of both versions must pass
the same disclosure audit as one publication (complementary suppression that moved between
versions would otherwise expose the cell it protected). Otherwise the late responses are held.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from ice_pipeline.index.answer_hashes import answer_hashes
from ice_pipeline.index.config import LATE_RESPONSE_POLICIES
from ice_pipeline.index.suppression import find_disclosures

# Policies for late responses (index.late_responses).
HOLD = "hold"  # a published period is final: late responses are held, never re-published
REPUBLISH_WHEN_K = "republish_when_k"  # re-publish once every changed figure moves by >= k
POLICIES = LATE_RESPONSE_POLICIES  # (REPUBLISH_WHEN_K, HOLD), checked by IndexConfig

# Per published table: the key columns of a figure, and the columns computed from respondents'
# answers. Trend, rank, ICE-K and ICE are left out on purpose: they change with other periods
# and with tickets, not with this period's respondents (ICE moves with ICE-P only through it).
FIGURE_KEYS: dict[str, tuple[str, ...]] = {
    "ice_scores": ("provider_department",),
    "company_scores": (),
    "dimension_scores": ("provider_department", "dimension"),
    "matrix_scores": ("provider_department", "consumer_department"),
    "consumer_satisfaction": ("consumer_department",),
}
_CI = ("_ci_low", "_ci_high")
FIGURE_VALUES: dict[str, tuple[str, ...]] = {
    "ice_scores": ("ice_p", *(f"ice_p{s}" for s in _CI), "favourable_pct"),
    "company_scores": ("ice_p", *(f"ice_p{s}" for s in _CI)),
    "dimension_scores": ("score", *(f"score{s}" for s in _CI), "favourable_pct"),
    "matrix_scores": ("score", *(f"score{s}" for s in _CI), "favourable_pct"),
    "consumer_satisfaction": ("score", *(f"score{s}" for s in _CI)),
}
# Two recomputations of the same answers agree to far better than this; a real change of one
# answer moves a mean of even 10 000 respondents by more than 1e-4 points.
_SAME_VALUE = 1e-7


@dataclass(frozen=True)
class Figure:
    """One published figure: its respondent count and the values computed from the answers."""

    n: float
    values: tuple[float, ...]


def published_figures(tables: Mapping[str, pd.DataFrame]) -> dict[tuple, Figure]:
    """(table, period, *key) -> Figure for every figure the tables publish (not suppressed)."""
    figures: dict[tuple, Figure] = {}
    for name, keys in FIGURE_KEYS.items():
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        value_columns = [c for c in FIGURE_VALUES[name] if c in frame.columns]
        shown = frame["ice_p"].notna() if name == "company_scores" else ~_flag(frame)
        shown &= pd.to_numeric(frame["n_respondents"], errors="coerce").notna()
        rows = frame[shown]
        key_rows = zip(*(rows[c].tolist() for c in ("period", *keys)), strict=True)
        counts = pd.to_numeric(rows["n_respondents"]).astype(float).tolist()
        values = rows[value_columns].astype(float).to_numpy() if value_columns else None
        for i, key in enumerate(key_rows):
            row_values = () if values is None else tuple(values[i].tolist())
            figures[(name, *key)] = Figure(counts[i], row_values)
    return figures


def _flag(frame: pd.DataFrame) -> pd.Series:
    if "suppressed" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["suppressed"].astype("boolean").fillna(False).astype(bool)


def _same_values(left: tuple[float, ...], right: tuple[float, ...]) -> bool:
    if len(left) != len(right):
        return False
    a, b = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
    both_missing = np.isnan(a) & np.isnan(b)
    close = np.abs(a - b) <= _SAME_VALUE * np.maximum(1.0, np.abs(a))
    return bool(np.all(both_missing | close))


def _describe(key: tuple) -> str:
    table, period, *rest = key
    where = " x ".join(repr(part) for part in rest)
    return f"{table} {period}" + (f" {where}" if where else " (company)")


def find_version_disclosures(
    earlier: Mapping[str, pd.DataFrame], later: Mapping[str, pd.DataFrame], k: int
) -> list[str]:
    """Every way two published versions of the same periods reveal fewer than k respondents.

    ``earlier`` and ``later`` map table names (as in the warehouse schema) to their rows as
    published in each version. Findings: (1) a figure published in both whose n moved by 1 to
    k-1 (the difference is a group under k); (2) a figure whose values changed while its n did
    not (a change of answers, or as many arrivals as departures, with nothing to protect it);
    (3) when both versions rest on the same respondents, the figures of both together, as one
    publication, failing :func:`find_disclosures`. Empty when the pair is safe to publish.
    """
    before, after = published_figures(earlier), published_figures(later)
    problems: list[str] = []
    data_changed: set[object] = set()
    for key in sorted(before.keys() & after.keys(), key=str):
        old, new = before[key], after[key]
        moved = abs(new.n - old.n)
        if moved:
            data_changed.add(key[1])
        if 0 < moved < k:
            problems.append(
                f"{_describe(key)}: n {old.n:g} -> {new.n:g} between versions; the "
                f"{moved:g} respondent(s) in between can be worked out by subtraction "
                f"(under k = {k})"
            )
        elif moved == 0 and not _same_values(old.values, new.values):
            data_changed.add(key[1])
            problems.append(
                f"{_describe(key)}: the figure changed between versions while n stayed "
                f"{new.n:g}; the changed answers can be worked out by subtraction"
            )
    for period in sorted(_periods(earlier) | _periods(later), key=str):
        if period in data_changed:
            continue
        union = union_of_versions(earlier, later, period)
        problems.extend(
            f"{finding} (combining two versions of period {period})"
            for finding in find_disclosures(union, k)
        )
    return problems


def _periods(tables: Mapping[str, pd.DataFrame]) -> set[object]:
    found: set[object] = set()
    for name in FIGURE_KEYS:
        frame = tables.get(name)
        if frame is not None and not frame.empty:
            found.update(frame["period"].dropna().tolist())
    return found


def _keys(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[tuple]:
    return list(zip(*(frame[c].tolist() for c in ("period", *keys)), strict=True))


def union_of_versions(
    earlier: Mapping[str, pd.DataFrame], later: Mapping[str, pd.DataFrame], period: object
) -> dict[str, pd.DataFrame]:
    """One period's figures published in either version, as one set of tables.

    Meant for two versions on the same respondents: a row published in either version counts as
    published (the later one's wins where both publish it). Tables other than the five score
    tables are taken from ``later``.
    """
    union: dict[str, pd.DataFrame] = {}
    for name, keys in FIGURE_KEYS.items():
        old, new = earlier.get(name), later.get(name)
        frames = [f[f["period"] == period] for f in (old, new) if f is not None and not f.empty]
        if not frames:
            continue
        if len(frames) == 1:
            union[name] = frames[0].reset_index(drop=True)
            continue
        old_rows, new_rows = frames
        shown_old = old_rows["ice_p"].notna() if name == "company_scores" else ~_flag(old_rows)
        shown_new = new_rows["ice_p"].notna() if name == "company_scores" else ~_flag(new_rows)
        published_later = new_rows[shown_new]
        later_keys = set(_keys(published_later, keys))
        published_earlier = old_rows[shown_old]
        # Boolean masks as arrays: an empty Python list would select no COLUMNS, not no rows.
        only_earlier = published_earlier[
            np.array([key not in later_keys for key in _keys(published_earlier, keys)], dtype=bool)
        ]
        earlier_keys = set(_keys(only_earlier, keys))
        hidden_later = new_rows[~shown_new]
        rest = hidden_later[
            np.array([key not in earlier_keys for key in _keys(hidden_later, keys)], dtype=bool)
        ]
        union[name] = pd.concat([published_later, only_earlier, rest], ignore_index=True)
    return union


# ------------------------------------------------------------------------------------------------
# Respondents: who is new, changed or gone since the period was published
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RespondentChanges:
    """Respondents of a period now, against the set it was published on."""

    late: list[str]  # answered, but not part of the published version
    changed: list[str]  # part of it, with different answers now
    withdrawn: list[str]  # part of it, absent now

    @property
    def any(self) -> bool:
        return bool(self.late or self.changed or self.withdrawn)


def respondent_changes(current: pd.Series, published: pd.Series) -> RespondentChanges:
    """Compare :func:`answer_hashes` of the ratings now with those recorded at publication."""
    now, then = current.to_dict(), published.to_dict()
    return RespondentChanges(
        late=sorted(set(now) - set(then)),
        changed=sorted(r for r in set(now) & set(then) if now[r] != then[r]),
        withdrawn=sorted(set(then) - set(now)),
    )


# ------------------------------------------------------------------------------------------------
# The decision of a re-run
# ------------------------------------------------------------------------------------------------


class StoredRatings(Protocol):
    """A period's ratings left where they are stored (:class:`.warehouse_ratings.WarehouseRatings`).

    Everything :func:`protect_publication` needs of the respondents, without their rows.
    """

    @property
    def empty(self) -> bool: ...

    def answer_hashes(self) -> pd.Series: ...

    def rating_counts(self) -> pd.Series: ...

    def without(self, respondents: Collection[str]) -> "StoredRatings": ...

    def limited_to(self, respondents: Collection[str]) -> "StoredRatings": ...


# A period's ratings: the rows themselves, or a handle on them in the warehouse.
Ratings = pd.DataFrame | StoredRatings


def respondent_hashes(ratings: Ratings) -> pd.Series:
    """:func:`answer_hashes` of either kind of ratings."""
    return answer_hashes(ratings) if isinstance(ratings, pd.DataFrame) else ratings.answer_hashes()


def respondent_count(ratings: Ratings) -> int:
    """How many respondents the ratings hold."""
    if isinstance(ratings, pd.DataFrame):
        return int(ratings["respondent_id"].nunique()) if not ratings.empty else 0
    return len(ratings.rating_counts())


def rating_rows(ratings: Ratings, respondents: Collection[str]) -> int:
    """How many rating rows the given respondents have in ``ratings``."""
    if not respondents:
        return 0
    if isinstance(ratings, pd.DataFrame):
        return int(ratings["respondent_id"].astype(str).isin(set(respondents)).sum())
    counts = ratings.rating_counts()
    return int(counts[counts.index.isin(list(respondents))].sum())


def without_respondents(ratings: Ratings, respondents: Collection[str]) -> Ratings:
    """``ratings`` without the given respondents' rows."""
    if not isinstance(ratings, pd.DataFrame):
        return ratings.without(respondents) if respondents else ratings
    late = ratings["respondent_id"].astype(str).isin(set(respondents))
    return ratings[~late.to_numpy()]


@dataclass(frozen=True)
class PublishedRecord:
    """What was last published for a period: its version, figures and respondents."""

    version: int
    tables: dict[str, pd.DataFrame]  # the five score tables as published
    # respondent_id -> answers hash; None for figures published before this record existed
    # (read back from the warehouse), whose respondents are unknown.
    respondents: pd.Series | None


@dataclass
class Publication:
    """What a run publishes for a period, and why."""

    tables: dict[str, pd.DataFrame]
    decision: str  # 'first' | 'unchanged' | 'republished' | 'held' | 'kept_published'
    version: int
    basis: "Ratings"  # the ratings the published figures rest on (rows or a warehouse handle)
    changes: RespondentChanges
    late_ratings: int = 0  # rating rows of held late respondents
    findings: list[str] = field(default_factory=list)  # why a re-publication was refused
    new_version: bool = False  # the figures differ from the last recorded version

    @property
    def held_respondents(self) -> int:
        """Respondents whose current answers are not in the published figures."""
        if self.decision in ("held", "kept_published"):
            return len(self.changes.late) + (
                len(self.changes.changed) if self.decision == "kept_published" else 0
            )
        return 0


NO_CHANGES = RespondentChanges([], [], [])


def same_figures(left: Mapping[str, pd.DataFrame], right: Mapping[str, pd.DataFrame]) -> bool:
    """True when both publish exactly the same figures (same keys, n and values)."""
    a, b = published_figures(left), published_figures(right)
    return a.keys() == b.keys() and all(
        a[key].n == b[key].n and _same_values(a[key].values, b[key].values) for key in a
    )


def protect_publication(
    ratings: Ratings,
    compute: Callable[[Ratings], dict[str, pd.DataFrame]],
    record: PublishedRecord | None,
    *,
    k: int,
    policy: str,
) -> Publication:
    """Decide what to publish for one period, given what was published before (if anything).

    ``compute`` turns ratings into the period's score tables (suppressed). First publication:
    everything. A re-run on the same figures: unchanged. Otherwise the new figures are published
    as a new version only if the policy allows re-publication (or no respondent changed, e.g. a
    configuration change) and :func:`find_version_disclosures` finds nothing against the record.
    Else late respondents are held back; if the figures without them are still not the published
    ones (answers changed or withdrawn), the published figures are kept as they were.
    """
    candidate = compute(ratings)
    if record is None:
        return Publication(candidate, "first", 1, ratings, NO_CHANGES, new_version=True)
    unknown = record.respondents is None
    changes = (
        NO_CHANGES
        if unknown
        else respondent_changes(respondent_hashes(ratings), record.respondents)
    )
    if same_figures(record.tables, candidate):
        # Figures published before the record existed: record them (and who they rest on) now.
        return Publication(
            candidate, "unchanged", record.version, ratings, changes, new_version=unknown
        )
    findings = find_version_disclosures(record.tables, candidate, k)
    allowed = policy == REPUBLISH_WHEN_K or not (changes.any or unknown)
    if allowed and not findings:
        return Publication(
            candidate, "republished", record.version + 1, ratings, changes, new_version=True
        )
    basis = without_respondents(ratings, changes.late)
    late_ratings = rating_rows(ratings, changes.late)
    if not (changes.changed or changes.withdrawn or unknown):
        held = compute(basis) if changes.late else candidate
        if same_figures(record.tables, held) or not find_version_disclosures(
            record.tables, held, k
        ):
            same = same_figures(record.tables, held)
            return Publication(
                held,
                "held",
                record.version if same else record.version + 1,
                basis,
                changes,
                late_ratings,
                findings,
                new_version=not same,
            )
    # Answers of published respondents changed or disappeared, or who was published is unknown:
    # the figures as published stand.
    return Publication(
        {name: frame.copy() for name, frame in record.tables.items()},
        "kept_published",
        record.version,
        basis,
        changes,
        late_ratings,
        findings,
    )


def align_previous(
    previous: dict[str, pd.DataFrame], record: PublishedRecord | None
) -> dict[str, pd.DataFrame]:
    """The previous period's tables, hiding for the trend every figure that is not as published.

    The trend of a period is computed against the previous period's respondents. When that
    period holds respondents or kept figures that are not what was published, a change computed
    from them would reveal the difference, so the trend of such a provider (or the company) is
    not published: its previous row counts as suppressed.
    """
    if record is None:
        return previous
    published = published_figures(record.tables)
    result = {name: frame.copy() for name, frame in previous.items()}
    for name in ("ice_scores", "company_scores"):
        frame = result.get(name)
        if frame is None or frame.empty:
            continue
        recomputed = published_figures({name: frame})
        mismatch = [
            key
            for key, figure in recomputed.items()
            if key not in published
            or published[key].n != figure.n
            or not _same_values(published[key].values, figure.values)
        ]
        if name == "ice_scores":
            providers = {key[2] for key in mismatch}
            frame.loc[frame["provider_department"].isin(providers), "suppressed"] = True
        elif mismatch:
            frame["ice_p"] = np.nan
    return result


def published_basis(ratings: Ratings, record: PublishedRecord | None) -> Ratings:
    """A period's ratings limited to the respondents its published version rests on.

    Used for the trend of the following period, which must compare with the figures as
    published: late respondents held back there stay out of the comparison too.
    """
    if record is None or record.respondents is None or record.respondents.empty or ratings.empty:
        return ratings
    published = set(record.respondents.index)
    if not isinstance(ratings, pd.DataFrame):
        return ratings.limited_to(published)
    return ratings[ratings["respondent_id"].astype(str).isin(published).to_numpy()]
