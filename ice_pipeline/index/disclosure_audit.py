"""The interval audit: how tightly one period's published figures bound every hidden group.

What belongs here: given one period's groups and relations (:mod:`.disclosure_model`), finding,
by linear programming, the feasible interval of the mean of every hidden group that may hold
fewer than k respondents (:func:`audit_intervals`). Deciding what to hide is
:mod:`.suppression`'s job; it calls this module until the audit passes. docs/methodology.md,
"Disclosure control", states the policy.

The model (one period, one measure at a time: the 0-100 score, and % favourable):

* every published figure that aggregates respondents is a *group*: a matrix cell, a consumer
  department, a provider (ICE-P), a dimension of a provider, the company. A group has a count
  n and a value sum T = n x mean, with 0 <= T <= 100 n;
* a published group fixes T (and n where n is published); a hidden group leaves T unknown, and n
  too where the count is withheld (matrix cells and consumer departments), with n >= 1;
* relations, each only where it really holds:
  - a matrix row adds up to its provider (each respondent belongs to one consumer department);
  - a matrix column adds up to m x its consumer department when every respondent of that
    department rated exactly m providers (m = 1: "rate the service you use most"); proved from
    the counts, never assumed;
  - the consumer departments add up to the company; the providers add up to m x the company
    when every respondent rated exactly m providers;
  - the dimensions of a provider add up to (number of dimensions) x the provider when every
    respondent of that provider answered every dimension (each dimension's n equals the
    provider's n);
  - a relation whose members are not all listed (a table extract) gets an unknown remainder.
* a hidden group is *protected* when the interval [min, max] of its mean over everything the
  relations allow is at least ``protection_width`` points wide. The mean is a ratio T / n when
  n is unknown too, so each bound is one linear-fractional program, solved as a linear program
  by the Charnes-Cooper transformation (y = t x, t = 1 / n). A group whose count is published
  and at least k, or provably at least k, needs no protection.

The audit ignores integrality (an answer is one of a few scale points), so its intervals are
the widest an attacker can get by linear reasoning: a width of at least one scale step keeps at
least two possible answers open for a lone respondent. Second moments (published through the
confidence intervals) are not modelled; unions of hidden cells inside one line are covered by
the line rules of :mod:`.suppression` (their sum is exact, so they need k respondents).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from ice_pipeline.index.disclosure_lp import (
    System,
    build_system,
    dense_form,
    mean_bounds,
    mean_width,
    min_count,
    seed_points,
    span,
)
from ice_pipeline.index.disclosure_model import (
    MEASURES,
    SCALE_MAX,
    Figure,
    PeriodFigures,
    Ref,
    Relation,
)


@dataclass
class IntervalFinding:
    ref: Ref
    measure: str
    low: float
    high: float
    message: str


def _components(system_relations: list[Relation], figures: PeriodFigures) -> list[list[Relation]]:
    """Relations grouped by the hidden groups they share (each group solved on its own)."""
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]  # type: ignore[index]
            x = parent[x]
        return x

    for index, relation in enumerate(system_relations):
        parent.setdefault(("relation", index), ("relation", index))
        for ref in [*relation.members, relation.total]:
            if figures.figures[ref].hidden:
                parent[find(ref)] = find(("relation", index))
    groups: dict[object, list[Relation]] = {}
    for index, relation in enumerate(system_relations):
        groups.setdefault(find(("relation", index)), []).append(relation)
    return list(groups.values())


def describe(ref: Ref) -> str:
    kind, key = ref
    names = {
        "cell": "matrix cell",
        "consumer": "consumer department",
        "provider": "provider",
        "dimension": "dimension",
        "company": "company figure",
    }
    return names[kind] if key is None else f"{names[kind]} {key!r}"


def audit_intervals(
    figures: PeriodFigures,
    k: int,
    protection_width: float,
    strict: bool = False,
    rounding: float = 0.0,
    private: PeriodFigures | None = None,
) -> list[IntervalFinding]:
    """Every hidden group that may hold fewer than k respondents and whose mean the published
    figures bound to an interval narrower than ``protection_width`` points (0-100 scale).

    The checker sees withheld counts as unknown and uses only relations the published figures
    prove. ``strict`` (used by suppress, which knows the truth) audits each truly small hidden
    group as an attacker who also knows every group's size and every relation that holds
    (``private``: additivity the respondent rows prove) would see it, a narrower feasible set;
    other hidden groups as the checker does, so whatever suppress lets through, the checker
    passes too. ``rounding`` is half the step to which the published means were rounded (0 for
    warehouse values; 0.05 for figures read off a report that shows one decimal).
    """
    if not strict:
        return _audit_view(figures, k, protection_width, rounding, lambda _: True)
    richer = private or figures
    known = PeriodFigures(
        richer.period,
        {ref: replace(f, n=f.true_n) for ref, f in richer.figures.items()},
        richer.relations,
    )

    def small(figure: Figure) -> bool:
        return figure.true_n is not None and figure.true_n < k

    return _audit_view(known, k, protection_width, rounding, small) + _audit_view(
        figures, k, protection_width, rounding, lambda figure: not small(figure)
    )


def _audit_view(
    figures: PeriodFigures,
    k: int,
    protection_width: float,
    rounding: float,
    select: Callable[[Figure], bool],
) -> list[IntervalFinding]:
    """The audit of the selected hidden groups in one view of the period."""
    findings: list[IntervalFinding] = []
    for measure in MEASURES:
        relations = [
            r
            for r in figures.relations
            if measure in r.measures
            and any(figures.figures[ref].hidden for ref in [*r.members, r.total])
        ]
        for component in _components(relations, figures):
            targets = sorted(
                {
                    ref
                    for relation in component
                    for ref in [*relation.members, relation.total]
                    if figures.figures[ref].hidden and select(figures.figures[ref])
                },
                key=str,
            )
            solver: tuple[System, tuple[sparse.csr_array, np.ndarray], list] | None = None
            for ref in targets:
                n = figures.figures[ref].n
                if n is not None and n >= k:
                    continue  # a count of at least k: not a small group
                quick = _single_relation_bounds(figures, component, measure, ref)
                if quick is not None and quick[1] - quick[0] >= protection_width + 1e-6:
                    continue
                if solver is None:
                    system = build_system(figures, measure, component, rounding)
                    solver = (system, dense_form(system, homogeneous=True), seed_points(system))
                system, dense, points = solver
                if span(system, figures, ref, points) >= protection_width + 1e-6:
                    continue
                finding = _audit_one(
                    figures, system, dense, ref, measure, k, protection_width, points
                )
                if finding is not None:
                    findings.append(finding)
    return findings


def _single_relation_bounds(
    figures: PeriodFigures, component: list[Relation], measure: str, ref: Ref
) -> tuple[float, float] | None:
    """The [min, max] mean of ``ref`` in closed form when its component is one relation with a
    published total (a matrix row under a published provider, the usual case), else None.

    The hidden members' sums add up to a known S, each 0 <= T <= 100 n. With a known count n:
    T lies in [S - 100 x (the others' largest possible count), S], within [0, 100 n]. With a
    withheld count (n >= 1, the hidden counts adding up to N): the mean is at most
    min(100, S) (n = 1) and at least 100 - (100 N - S) / n, lowest at n = 1. The linear programs
    give the same bounds (tested); this only saves solving them for the common case.
    """
    if len(component) != 1:
        return None
    relation = component[0]
    total = figures.figures[relation.total]
    if total.hidden or total.means.get(measure) is None or total.n is None or relation.remainder:
        return None
    hidden: list[Ref] = []
    value = relation.weight * total.n * float(total.means[measure])  # type: ignore[arg-type]
    count: float | None = relation.weight * total.n if relation.counts_add else None
    for member in relation.members:
        figure = figures.figures[member]
        mean = figure.means.get(measure)
        if figure.hidden or mean is None:
            hidden.append(member)
        else:
            value -= float(figure.n or 0) * mean
            if count is not None:
                count -= float(figure.n or 0)
    if ref not in hidden:
        return None
    value = max(value, 0.0)
    n = figures.figures[ref].n
    others = [figures.figures[h].n for h in hidden if h != ref]
    if n is None:
        low = 0.0 if count is None else max(0.0, SCALE_MAX - (SCALE_MAX * count - value))
        return low, min(SCALE_MAX, value)
    if count is not None:
        capacity = SCALE_MAX * (count - n)
    elif None not in others:
        capacity = SCALE_MAX * sum(others)  # type: ignore[arg-type]
    else:
        capacity = float("inf")
    low_sum = max(0.0, value - capacity)
    return low_sum / n, min(SCALE_MAX * n, value) / n


def _audit_one(
    figures: PeriodFigures,
    system: System,
    dense: tuple[np.ndarray, np.ndarray],
    ref: Ref,
    measure: str,
    k: int,
    protection_width: float,
    points: list[np.ndarray],
) -> IntervalFinding | None:
    figure = figures.figures[ref]
    spread = mean_width(system, dense, figures, ref, points)
    if spread is not None and spread >= protection_width - 1e-6:
        return None
    bounds = mean_bounds(system, dense, figures, ref)
    where = f"period {figures.period}: {describe(ref)}"
    if bounds is None:
        return IntervalFinding(
            ref,
            measure,
            float("nan"),
            float("nan"),
            f"{where}: the published figures contradict each other, so they cannot be audited",
        )
    low, high = bounds
    if high - low >= protection_width - 1e-6:
        return None
    if figure.n is None and min_count(system, ref) >= k - 1e-6:
        return None  # the relations prove it holds at least k respondents
    label = "mean score" if measure == "score" else "% favourable"
    return IntervalFinding(
        ref,
        measure,
        low,
        high,
        f"{where} is suppressed, but the published figures bound its {label} to "
        f"[{low:.2f}, {high:.2f}] (width {high - low:.2f} < {protection_width:g}) and it may hold "
        f"fewer than k = {k} respondents",
    )
