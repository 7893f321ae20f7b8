"""The interval audit: how tightly one period's published figures bound every hidden group.

What belongs here: turning one period's published survey figures into a system of linear
relations over the respondent groups (:func:`period_figures`), and finding, by linear
programming, the feasible interval of the mean of every hidden group that may hold fewer than k
respondents (:func:`audit_intervals`). Deciding what to hide is :mod:`.suppression`'s job; it calls
this module until the audit passes. docs/methodology.md, "Disclosure control", states the policy.

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

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import linprog

SCALE_MAX = 100.0
MEASURES = ("score", "favourable")
# Published means are floats: relations hold to this relative tolerance, not exactly.
_TOLERANCE = 1e-7

# (table, key columns, kind, score column, favourable column)
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


@dataclass
class IntervalFinding:
    ref: Ref
    measure: str
    low: float
    high: float
    message: str


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

    Proved from counts: each respondent rates at least one provider and at most every provider
    of its column, so sum(cell n) = n means m = 1 and sum(cell n) = cells x n means m = cells.
    ``extra`` carries what the respondent rows prove (inside suppress).
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
        counts = [figures[ref].true_n for ref in members]
        if department is None or department.true_n is None or None in counts:
            continue
        pairs = sum(counts)  # type: ignore[arg-type]
        if pairs == department.true_n:
            result[consumer] = 1
        elif pairs == len(members) * department.true_n:
            result[consumer] = len(members)
    return result


# ------------------------------------------------------------------------------------------------
# The linear programs
# ------------------------------------------------------------------------------------------------


@dataclass
class _System:
    """One measure's relations restricted to one connected component of unknowns.

    Variables: T of each hidden group, n of each hidden group whose count is withheld, and a
    (T, n) pair per relation remainder. Rows: ``equal`` (A x = b, values with a tolerance),
    ``upper`` (G x <= h).
    """

    columns: dict[tuple[str, Ref | int], int]
    equal_rows: list[tuple[dict[int, float], float, bool]]  # (coefficients, rhs, is_count)
    upper_rows: list[tuple[dict[int, float], float]]


def _build_system(figures: PeriodFigures, measure: str, relations: list[Relation]) -> _System:
    columns: dict[tuple[str, Ref | int], int] = {}

    def column(name: tuple[str, Ref | int]) -> int:
        return columns.setdefault(name, len(columns))

    equal_rows: list[tuple[dict[int, float], float, bool]] = []
    for index, relation in enumerate(relations):
        values: dict[int, float] = {}
        counts: dict[int, float] = {}
        value_rhs = 0.0
        count_rhs = 0.0
        count_known = relation.counts_add
        for ref, sign in [(m, 1.0) for m in relation.members] + [
            (relation.total, -relation.weight)
        ]:
            figure = figures.figures[ref]
            mean = figure.means.get(measure)
            if figure.hidden or mean is None:
                values[column(("T", ref))] = values.get(column(("T", ref)), 0.0) + sign
            else:
                value_rhs -= sign * mean * float(figure.n or 0)
            if relation.counts_add:
                if figure.n is None:
                    counts[column(("n", ref))] = counts.get(column(("n", ref)), 0.0) + sign
                else:
                    count_rhs -= sign * figure.n
        if relation.remainder:
            values[column(("T", index))] = 1.0
            if relation.counts_add:
                counts[column(("n", index))] = 1.0
            else:
                count_known = False
        if values:
            equal_rows.append((values, value_rhs, False))
        if count_known and counts:
            equal_rows.append((counts, count_rhs, True))
    upper_rows: list[tuple[dict[int, float], float]] = []
    for name in list(columns):
        kind, ref = name
        if kind != "T":
            continue
        t = columns[name]
        n_name = ("n", ref)
        if isinstance(ref, int) or figures.figures[ref].n is None:  # remainder or withheld count
            n = column(n_name)
            upper_rows.append(({t: 1.0, n: -SCALE_MAX}, 0.0))  # T <= 100 n
            if not isinstance(ref, int):
                upper_rows.append(({n: -1.0}, -1.0))  # a listed group has a respondent
        else:
            upper_rows.append(({t: 1.0}, SCALE_MAX * float(figures.figures[ref].n or 0)))
    return _System(columns, equal_rows, upper_rows)


def _dense(system: _System, homogeneous: bool) -> tuple[np.ndarray, np.ndarray]:
    """G x <= h for the whole system (equalities as two inequalities with a tolerance).

    With ``homogeneous`` the Charnes-Cooper form: one extra last column t, every row
    G y - h t <= 0.
    """
    width = len(system.columns) + (1 if homogeneous else 0)
    rows: list[np.ndarray] = []
    rhs: list[float] = []

    def add(coefficients: dict[int, float], bound: float) -> None:
        row = np.zeros(width)
        for j, value in coefficients.items():
            row[j] = value
        if homogeneous:
            row[-1] = -bound
            rhs.append(0.0)
        else:
            rhs.append(bound)
        rows.append(row)

    for coefficients, bound, is_count in system.equal_rows:
        slack = 0.0 if is_count else _TOLERANCE * max(1.0, abs(bound))
        add(coefficients, bound + slack)
        add({j: -v for j, v in coefficients.items()}, -bound + slack)
    for coefficients, bound in system.upper_rows:
        add(coefficients, bound)
    return np.vstack(rows) if rows else np.zeros((0, width)), np.asarray(rhs)


def _normal(system: _System, figures: PeriodFigures, ref: Ref, width: int) -> np.ndarray:
    """The Charnes-Cooper normalisation row: y_n = 1 (count withheld) or n t = 1 (published)."""
    row = np.zeros(width)
    n = figures.figures[ref].n
    if n is None:
        row[system.columns[("n", ref)]] = 1.0
    else:
        row[-1] = float(n)
    return row


def _mean_width(
    system: _System, dense: tuple[np.ndarray, np.ndarray], figures: PeriodFigures, ref: Ref
) -> float | None:
    """Max - min of the group's mean over the feasible set, as ONE linear program.

    Two independent copies of the Charnes-Cooper system, one for the point where the mean is
    largest and one where it is smallest; maximising the difference gives the width. (One
    solve instead of two: the solver's fixed cost, not the size, dominates here.)
    """
    matrix, _ = dense
    rows, width = matrix.shape
    doubled = np.zeros((2 * rows, 2 * width))
    doubled[:rows, :width] = matrix
    doubled[rows:, width:] = matrix
    normal = np.zeros((2, 2 * width))
    normal[0, :width] = _normal(system, figures, ref, width)
    normal[1, width:] = _normal(system, figures, ref, width)
    objective = np.zeros(2 * width)
    at = system.columns[("T", ref)]
    objective[at], objective[width + at] = -1.0, 1.0
    result = linprog(
        objective,
        A_ub=doubled,
        b_ub=np.zeros(2 * rows),
        A_eq=normal,
        b_eq=[1.0, 1.0],
        bounds=(0, None),
        method="highs",
    )
    return None if result.status != 0 else -float(result.fun)


def _mean_bounds(
    system: _System, dense: tuple[np.ndarray, np.ndarray], figures: PeriodFigures, ref: Ref
) -> tuple[float, float] | None:
    """[min, max] of the group's mean over the feasible set, or None if it is infeasible."""
    matrix, rhs = dense
    width = matrix.shape[1]
    objective = np.zeros(width)
    objective[system.columns[("T", ref)]] = 1.0
    bounds = []
    for sign in (1.0, -1.0):
        result = linprog(
            sign * objective,
            A_ub=matrix,
            b_ub=rhs,
            A_eq=_normal(system, figures, ref, width)[None, :],
            b_eq=[1.0],
            bounds=(0, None),
            method="highs",
        )
        if result.status != 0:
            return None
        bounds.append(sign * result.fun)
    return bounds[0], bounds[1]


def _min_count(system: _System, ref: Ref) -> float:
    """The smallest count the relations allow a group whose count is withheld (LP relaxation)."""
    matrix, rhs = _dense(system, homogeneous=False)
    objective = np.zeros(matrix.shape[1])
    objective[system.columns[("n", ref)]] = 1.0
    result = linprog(objective, A_ub=matrix, b_ub=rhs, bounds=(0, None), method="highs")
    return float(result.fun) if result.status == 0 else 1.0


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
) -> list[IntervalFinding]:
    """Every hidden group that may hold fewer than k respondents and whose mean the published
    figures bound to an interval narrower than ``protection_width`` points (0-100 scale).

    The checker sees withheld counts as unknown. ``strict`` (used by suppress, which knows the
    true counts) audits each truly small hidden group as an attacker who also knows every
    group's size would see it, a narrower feasible set; other hidden groups as the checker does,
    so whatever suppress lets through, the checker passes too.
    """
    known = PeriodFigures(
        figures.period,
        {ref: replace(f, n=f.true_n) for ref, f in figures.figures.items()},
        figures.relations,
    )
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
                    if figures.figures[ref].hidden
                },
                key=str,
            )
            views = {False: figures, True: known} if strict else {False: figures}
            systems = {
                view: _with_dense(_build_system(source, measure, component))
                for view, source in views.items()
            }
            for ref in targets:
                true_n = figures.figures[ref].true_n
                view = strict and true_n is not None and true_n < k
                system, dense = systems[view]
                finding = _audit_one(views[view], system, dense, ref, measure, k, protection_width)
                if finding is not None:
                    findings.append(finding)
    return findings


def _with_dense(system: _System) -> tuple[_System, tuple[np.ndarray, np.ndarray]]:
    return system, _dense(system, homogeneous=True)


def _audit_one(
    figures: PeriodFigures,
    system: _System,
    dense: tuple[np.ndarray, np.ndarray],
    ref: Ref,
    measure: str,
    k: int,
    protection_width: float,
) -> IntervalFinding | None:
    figure = figures.figures[ref]
    if figure.n is not None and figure.n >= k:
        return None  # a published count of at least k: not a small group
    spread = _mean_width(system, dense, figures, ref)
    if spread is not None and spread >= protection_width - 1e-6:
        return None
    bounds = _mean_bounds(system, dense, figures, ref)
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
    if figure.n is None and _min_count(system, ref) >= k - 1e-6:
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
