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
from scipy.optimize import linprog

from ice_pipeline.index.disclosure_model import (
    MEASURES,
    SCALE_MAX,
    Figure,
    PeriodFigures,
    Ref,
    Relation,
)

# Published means are floats: relations hold to this relative tolerance, not exactly.
_TOLERANCE = 1e-7
# Mixed-sign seed objectives per component (see _seed_points).
_SEED_PATTERNS = 4


@dataclass
class IntervalFinding:
    ref: Ref
    measure: str
    low: float
    high: float
    message: str


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
    # (coefficients, rhs, slack): a value relation holds to within its slack (rounding of the
    # published means, float error); a count relation exactly (slack 0).
    equal_rows: list[tuple[dict[int, float], float, float]]
    upper_rows: list[tuple[dict[int, float], float]]


def _build_system(
    figures: PeriodFigures, measure: str, relations: list[Relation], rounding: float = 0.0
) -> _System:
    columns: dict[tuple[str, Ref | int], int] = {}

    def column(name: tuple[str, Ref | int]) -> int:
        return columns.setdefault(name, len(columns))

    equal_rows: list[tuple[dict[int, float], float, float]] = []
    for index, relation in enumerate(relations):
        values: dict[int, float] = {}
        counts: dict[int, float] = {}
        value_rhs = 0.0
        published_weight = 0.0  # sum of |coefficient| x n over published means
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
                published_weight += abs(sign) * float(figure.n or 0)
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
            slack = _TOLERANCE * max(1.0, abs(value_rhs)) + rounding * published_weight
            equal_rows.append((values, value_rhs, slack))
        if count_known and counts:
            equal_rows.append((counts, count_rhs, 0.0))
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


def _dense(system: _System, homogeneous: bool) -> tuple[sparse.csr_array, np.ndarray]:
    """G x <= h for the whole system (equalities as two inequalities with a tolerance).

    With ``homogeneous`` the Charnes-Cooper form: one extra last column t, every row
    G y - h t <= 0. Sparse: a component of a whole one-provider matrix has hundreds of columns.
    """
    width = len(system.columns) + (1 if homogeneous else 0)
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    rhs: list[float] = []

    def add(coefficients: dict[int, float], bound: float) -> None:
        row = len(rhs)
        for j, value in coefficients.items():
            rows.append(row)
            cols.append(j)
            values.append(value)
        if homogeneous:
            rows.append(row)
            cols.append(width - 1)
            values.append(-bound)
            rhs.append(0.0)
        else:
            rhs.append(bound)

    for coefficients, bound, slack in system.equal_rows:
        add(coefficients, bound + slack)
        add({j: -v for j, v in coefficients.items()}, -bound + slack)
    for coefficients, bound in system.upper_rows:
        add(coefficients, bound)
    matrix = sparse.csr_array((values, (rows, cols)), shape=(len(rhs), width))
    return matrix, np.asarray(rhs)


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
    system: _System,
    dense: tuple[np.ndarray, np.ndarray],
    figures: PeriodFigures,
    ref: Ref,
    points: list[np.ndarray],
) -> float | None:
    """Max - min of the group's mean over the feasible set, as ONE linear program.

    Two independent copies of the Charnes-Cooper system, one for the point where the mean is
    largest and one where it is smallest; maximising the difference gives the width. (One
    solve instead of two: the solver's fixed cost, not the size, dominates here.) The two
    feasible points found are added to ``points`` (see :func:`_span`).
    """
    matrix, _ = dense
    rows, width = matrix.shape
    doubled = sparse.block_diag((matrix, matrix), format="csr")
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
    if result.status != 0:
        return None
    for y in (result.x[:width], result.x[width:]):
        if y[-1] > 1e-12:
            points.append(y[:-1] / y[-1])  # x = y / t
    return -float(result.fun)


def _seed_points(system: _System) -> list[np.ndarray]:
    """A few feasible points of the component: every hidden sum as high, then as low, as
    possible, then high and low in a few fixed mixed patterns.

    With them most groups are seen to range widely without a solve of their own (:func:`_span`).
    """
    matrix, rhs = _dense(system, homogeneous=False)
    sums = np.zeros(matrix.shape[1])
    for (kind, _), column in system.columns.items():
        if kind == "T":
            sums[column] = 1.0
    # Fixed patterns, so the audit gives the same answer on every run.
    patterns = np.random.default_rng(0).choice([-1.0, 1.0], size=(_SEED_PATTERNS, len(sums)))
    points = []
    for objective in [sums, -sums, *(patterns * sums)]:
        result = linprog(objective, A_ub=matrix, b_ub=rhs, bounds=(0, None), method="highs")
        if result.status == 0:
            points.append(result.x)
    return points


def _span(system: _System, figures: PeriodFigures, ref: Ref, points: list[np.ndarray]) -> float:
    """How far the group's mean already differs between known feasible points: a lower bound
    of the width of its interval (the interval holds every feasible value).
    """
    n = figures.figures[ref].n
    at = system.columns[("T", ref)]
    means = []
    for x in points:
        count = x[system.columns[("n", ref)]] if n is None else n
        if count > 1e-9:
            means.append(x[at] / count)
    return max(means) - min(means) if means else 0.0


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
            solver: tuple[_System, tuple[sparse.csr_array, np.ndarray], list] | None = None
            for ref in targets:
                n = figures.figures[ref].n
                if n is not None and n >= k:
                    continue  # a count of at least k: not a small group
                quick = _single_relation_bounds(figures, component, measure, ref)
                if quick is not None and quick[1] - quick[0] >= protection_width + 1e-6:
                    continue
                if solver is None:
                    system = _build_system(figures, measure, component, rounding)
                    solver = (system, _dense(system, homogeneous=True), _seed_points(system))
                system, dense, points = solver
                if _span(system, figures, ref, points) >= protection_width + 1e-6:
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
    system: _System,
    dense: tuple[np.ndarray, np.ndarray],
    ref: Ref,
    measure: str,
    k: int,
    protection_width: float,
    points: list[np.ndarray],
) -> IntervalFinding | None:
    figure = figures.figures[ref]
    spread = _mean_width(system, dense, figures, ref, points)
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
