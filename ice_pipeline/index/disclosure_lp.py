"""The linear programs of the interval audit: one measure's relations as a system of unknowns.

Belongs here: building the system (:class:`System`) of one connected component of hidden groups
and solving for the feasible interval of a group's mean, its quick lower bounds and the smallest
count the relations allow. Which groups to audit and what a finding says is
:mod:`.disclosure_audit`'s job; the model itself is described there.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from ice_pipeline.index.disclosure_model import SCALE_MAX, PeriodFigures, Ref, Relation

# Published means are floats: relations hold to this relative tolerance, not exactly.
_TOLERANCE = 1e-7
# Mixed-sign seed objectives per component (see seed_points).
_SEED_PATTERNS = 4


@dataclass
class System:
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


def build_system(
    figures: PeriodFigures, measure: str, relations: list[Relation], rounding: float = 0.0
) -> System:
    """The system of one component's ``relations`` for ``measure``; ``rounding`` widens the
    equalities by half the rounding step of the published means.
    """
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
    return System(columns, equal_rows, upper_rows)


def dense_form(system: System, homogeneous: bool) -> tuple[sparse.csr_array, np.ndarray]:
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


def _normal(system: System, figures: PeriodFigures, ref: Ref, width: int) -> np.ndarray:
    """The Charnes-Cooper normalisation row: y_n = 1 (count withheld) or n t = 1 (published)."""
    row = np.zeros(width)
    n = figures.figures[ref].n
    if n is None:
        row[system.columns[("n", ref)]] = 1.0
    else:
        row[-1] = float(n)
    return row


def mean_width(
    system: System,
    dense: tuple[np.ndarray, np.ndarray],
    figures: PeriodFigures,
    ref: Ref,
    points: list[np.ndarray],
) -> float | None:
    """Max - min of the group's mean over the feasible set, as ONE linear program.

    Two independent copies of the Charnes-Cooper system, one for the point where the mean is
    largest and one where it is smallest; maximising the difference gives the width. (One
    solve instead of two: the solver's fixed cost, not the size, dominates here.) The two
    feasible points found are added to ``points`` (see :func:`span`).
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


def seed_points(system: System) -> list[np.ndarray]:
    """A few feasible points of the component: every hidden sum as high, then as low, as
    possible, then high and low in a few fixed mixed patterns.

    With them most groups are seen to range widely without a solve of their own (:func:`span`).
    """
    matrix, rhs = dense_form(system, homogeneous=False)
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


def span(system: System, figures: PeriodFigures, ref: Ref, points: list[np.ndarray]) -> float:
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


def mean_bounds(
    system: System, dense: tuple[np.ndarray, np.ndarray], figures: PeriodFigures, ref: Ref
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


def min_count(system: System, ref: Ref) -> float:
    """The smallest count the relations allow a group whose count is withheld (LP relaxation)."""
    matrix, rhs = dense_form(system, homogeneous=False)
    objective = np.zeros(matrix.shape[1])
    objective[system.columns[("n", ref)]] = 1.0
    result = linprog(objective, A_ub=matrix, b_ub=rhs, bounds=(0, None), method="highs")
    return float(result.fun) if result.status == 0 else 1.0
