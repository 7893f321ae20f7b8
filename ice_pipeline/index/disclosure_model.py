"""The model the interval audit works on: one period's published groups and linear relations.

What belongs here: reading one period's published survey tables into groups (:class:`Figure`)
and the linear relations that really hold between them (:class:`Relation`), including proving
additivity per period from the counts, and naming the published groups whose suppression would
loosen a relation (:func:`protection_candidates`). The linear programs over this model are in
:mod:`.disclosure_audit`; docs/methodology.md, "Disclosure control", states the policy.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

SCALE_MAX = 100.0
MEASURES = ("score", "favourable")

# (table, key columns, kind, column of the mean score); % favourable: _FAVOURABLE
_SOURCES = (
    ("matrix_scores", ("provider_department", "consumer_department"), "cell", "score"),
    ("consumer_satisfaction", ("consumer_department",), "consumer", "score"),
    ("ice_scores", ("provider_department",), "provider", "ice_p"),
    ("dimension_scores", ("provider_department", "dimension"), "dimension", "score"),
    ("company_scores", (), "company", "ice_p"),
)
_FAVOURABLE = {
    "cell": "favourable_pct",
    "provider": "favourable_pct",
    "dimension": "favourable_pct",
}
# Kinds whose count is withheld together with the values when they are hidden.
_COUNT_WITHHELD = frozenset({"cell", "consumer"})

Ref = tuple[str, object]  # (kind, key), e.g. ("cell", (provider, consumer))


@dataclass
class Figure:
    """One published or hidden group: its count as an attacker sees it, and its means."""

    n: float | None  # the published count; None when withheld
    true_n: float | None  # the real count where known (inside suppress), else the published one
    hidden: bool
    means: dict[str, float | None]  # measure -> published mean on 0-100 (None when hidden)


@dataclass
class Relation:
    """sum(members) = weight x total, for the values of ``measures`` (and counts if additive)."""

    description: str
    total: Ref
    members: list[Ref]
    weight: float
    measures: tuple[str, ...]
    counts_add: bool
    remainder: bool = False  # members may be missing from the tables: add an unknown remainder


@dataclass
class PeriodFigures:
    period: object
    figures: dict[Ref, Figure]
    relations: list[Relation] = field(default_factory=list)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def period_figures(
    tables: dict[str, pd.DataFrame],
    period: object,
    hidden: dict[Ref, bool] | None = None,
    multiplicity: dict[object, int] | None = None,
) -> PeriodFigures:
    """The groups and relations of one period as published.

    ``tables`` hold published rows (the checker) or true rows (inside suppress, with
    ``hidden`` giving the suppression decisions so far): either way, a hidden group's values are
    not read, and its count only where the schema publishes it. ``multiplicity`` may add proven
    column multiplicities (consumer -> m) that the published counts alone cannot show.
    """
    figures: dict[Ref, Figure] = {}
    present: set[str] = set()
    for name, keys, kind, score_column in _SOURCES:
        frame = tables.get(name)
        if frame is None or frame.empty or "period" not in frame.columns:
            continue
        rows = frame[frame["period"] == period]
        if rows.empty or score_column not in rows.columns:
            continue
        present.add(kind)
        key_values = (
            [None] * len(rows)
            if not keys
            else (
                rows[keys[0]].tolist()
                if len(keys) == 1
                else list(zip(*(rows[k].tolist() for k in keys), strict=True))
            )
        )
        counts = [_number(v) for v in rows["n_respondents"].tolist()]
        flags = (
            rows["suppressed"].astype("boolean").fillna(False).tolist()
            if "suppressed" in rows.columns
            else [False] * len(rows)
        )
        scores = [_number(v) for v in rows[score_column].tolist()]
        favourable_column = _FAVOURABLE.get(kind)
        favourable = (
            [_number(v) for v in rows[favourable_column].tolist()]
            if favourable_column in rows.columns
            else [None] * len(rows)
        )
        for key, n, flag, score, fav in zip(
            key_values, counts, flags, scores, favourable, strict=True
        ):
            ref = (kind, key)
            is_hidden = bool(flag) or score is None
            if hidden is not None and ref in hidden:
                is_hidden = hidden[ref]
            shown_n = None if is_hidden and kind in _COUNT_WITHHELD else n
            figures[ref] = Figure(
                n=shown_n,
                true_n=n,
                hidden=is_hidden,
                means={
                    "score": None if is_hidden else score,
                    "favourable": None if is_hidden or favourable_column is None else fav,
                },
            )
    result = PeriodFigures(period, figures)
    result.relations = list(_relations(figures, present, multiplicity or {}))
    return result


def _keys(figures: dict[Ref, Figure], kind: str) -> list[object]:
    return sorted((key for k, key in figures if k == kind), key=str)


def _relations(
    figures: dict[Ref, Figure], present: set[str], extra_multiplicity: dict[object, int]
) -> Iterable[Relation]:
    cells = _keys(figures, "cell")
    providers = set(_keys(figures, "provider"))
    consumers = set(_keys(figures, "consumer"))
    row_members: dict[object, list[Ref]] = {}
    column_members: dict[object, list[Ref]] = {}
    for provider, consumer in cells:  # type: ignore[misc]
        row_members.setdefault(provider, []).append(("cell", (provider, consumer)))
        column_members.setdefault(consumer, []).append(("cell", (provider, consumer)))
    for provider, members in row_members.items():
        if provider in providers:
            yield Relation(
                f"matrix row of provider {provider!r}",
                ("provider", provider),
                members,
                1.0,
                MEASURES,
                True,
            )
    multiplicity = _column_multiplicity(figures, column_members, extra_multiplicity)
    for consumer, members in column_members.items():
        m = multiplicity.get(consumer)
        if consumer in consumers and m:
            yield Relation(
                f"matrix column of consumer {consumer!r} (each respondent rated {m} provider"
                f"{'s' if m > 1 else ''})",
                ("consumer", consumer),
                members,
                float(m),
                ("score",),
                True,
            )
    if ("company", None) not in figures:
        return
    if consumers:
        yield Relation(
            "consumer departments against the company",
            ("company", None),
            [("consumer", c) for c in sorted(consumers, key=str)],
            1.0,
            ("score",),
            True,
            remainder="cell" in present and not set(column_members) <= consumers,
        )
    everyone = _global_multiplicity(figures, providers)
    if providers and everyone:
        yield Relation(
            f"providers against the company (each respondent rated {everyone})",
            ("company", None),
            [("provider", p) for p in sorted(providers, key=str)],
            float(everyone),
            ("score",),
            True,
            remainder="cell" in present and not set(row_members) <= providers,
        )
    dimensions: dict[object, list[Ref]] = {}
    for provider, dimension in _keys(figures, "dimension"):  # type: ignore[misc]
        dimensions.setdefault(provider, []).append(("dimension", (provider, dimension)))
    for provider, members in dimensions.items():
        total = figures.get(("provider", provider))
        counts = [figures[ref].n for ref in members]
        # Every respondent answered every dimension: a pair score is then the plain mean of
        # the dimensions, so the dimension sums add up to (dimensions x) the provider's sum.
        if total is not None and total.n is not None and all(c == total.n for c in counts):
            yield Relation(
                f"dimensions of provider {provider!r}",
                ("provider", provider),
                members,
                float(len(members)),
                MEASURES,
                False,
            )


def _global_multiplicity(figures: dict[Ref, Figure], providers: set[object]) -> int | None:
    """M when the counts prove every respondent rated exactly m providers (1 or all), else None."""
    company = figures.get(("company", None))
    counts = [figures[("provider", p)].n for p in providers]
    if company is None or company.n is None or not counts or None in counts:
        return None
    pairs = sum(counts)  # type: ignore[arg-type]
    if pairs == company.n:
        return 1
    if pairs == len(providers) * company.n:
        return len(providers)
    return None


def _column_multiplicity(
    figures: dict[Ref, Figure],
    column_members: dict[object, list[Ref]],
    extra: dict[object, int],
) -> dict[object, int]:
    """Consumer -> m where every respondent of the department rated exactly m providers.

    Proved from the published counts: each respondent rates at least one provider and at most
    every provider of its column, so sum(cell n) = n means m = 1 and sum(cell n) = cells x n
    means m = cells. ``extra`` carries what the respondent rows prove (inside suppress), which
    a reader of the publication cannot prove.
    """
    result = dict(extra)
    everyone = _global_multiplicity(figures, set(_keys(figures, "provider")))
    for consumer, members in column_members.items():
        if consumer in result:
            continue
        if everyone is not None:
            result[consumer] = 1 if everyone == 1 else len(members)
            continue
        department = figures.get(("consumer", consumer))
        counts = [figures[ref].n for ref in members]
        if department is None or department.n is None or None in counts:
            continue
        pairs = sum(counts)  # type: ignore[arg-type]
        if pairs == department.n:
            result[consumer] = 1
        elif pairs == len(members) * department.n:
            result[consumer] = len(members)
    return result


def column_weights(figures: PeriodFigures) -> dict[object, int]:
    """Consumer -> m for every matrix column proved additive (see :class:`Relation`)."""
    return {
        r.total[1]: int(r.weight)
        for r in figures.relations
        if r.total[0] == "consumer" and r.members and r.members[0][0] == "cell"
    }


def provider_weight(figures: PeriodFigures) -> int | None:
    """M when the providers add up to m x the company (every respondent rated m), else None."""
    return next(
        (int(r.weight) for r in figures.relations if r.members and r.members[0][0] == "provider"),
        None,
    )


def protection_candidates(figures: PeriodFigures, ref: Ref) -> list[Ref]:
    """Published groups whose suppression would loosen the bounds on ``ref``, best first.

    First the published members of the relations that hold ``ref``, then their published
    totals, then the published groups of the relations one step further out.
    """
    own = [r for r in figures.relations if ref == r.total or ref in r.members]

    def published(refs: Iterable[Ref]) -> list[Ref]:
        seen = sorted(
            {x for x in refs if x != ref and not figures.figures[x].hidden},
            key=lambda x: (figures.figures[x].true_n or float("inf"), str(x)),
        )
        return seen

    for tier in (
        [m for r in own for m in r.members],
        [r.total for r in own],
    ):
        found = published(tier)
        if found:
            return found
    hidden_near = {x for r in own for x in [*r.members, r.total] if figures.figures[x].hidden}
    further = [
        x
        for r in figures.relations
        if hidden_near & {r.total, *r.members}
        for x in [*r.members, r.total]
    ]
    return published(further)
