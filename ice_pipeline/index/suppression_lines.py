"""The line rules of suppression: lines (a published total and the cells that make it up) and
when a line's hidden cells could be recovered from its total.

What belongs here: one period's published cells and totals as plain dicts (:class:`_PeriodState`),
the lines they form (:func:`_lines`, docs/methodology.md, "Anonymity", rule 2) and the rule that
judges a line (:func:`line_violation`). :mod:`.suppression` applies them (and the interval audit);
its ``find_disclosures`` checks publications with them.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class _Cell:
    ref: tuple[str, object]  # (table, key) e.g. ("matrix_scores", (provider, consumer))
    n: float | None  # published respondent count; None when not published
    suppressed: bool


@dataclass
class _Line:
    description: str
    total_ref: tuple[str, object]
    total_published: bool
    total_n: float | None
    additive: bool
    cells: list[_Cell]
    kind: str = ""  # 'row' | 'column' | 'consumer_margin' | 'provider_margin'


def line_violation(line: _Line, k: int) -> str | None:
    """Why the suppressed cells of a line could be recovered from its total, or None."""
    if not line.total_published or line.total_n is None or pd.isna(line.total_n):
        return None
    hidden = [cell for cell in line.cells if cell.suppressed]
    if not hidden:
        return None
    if len(hidden) == 1:
        return (
            f"{line.description}: exactly one suppressed cell, derivable from the published total"
        )
    if line.additive:
        published_n = sum(
            cell.n for cell in line.cells if not cell.suppressed and cell.n is not None
        )
        hidden_n = line.total_n - published_n
        if hidden_n < k:
            return (
                f"{line.description}: the suppressed cells together hold {hidden_n:g} respondents "
                f"(under k = {k}), derivable from the published total"
            )
    return None


@dataclass
class _PeriodState:
    """One period's cells and totals as plain dicts; the suppression loop runs on these.

    Counts are the true ones inside :func:`suppress` and the published ones (None when hidden)
    inside :func:`find_disclosures`; the rules only ever read counts of unsuppressed cells.
    """

    providers: dict[object, list]  # provider -> [n, suppressed]
    consumers: dict[object, list]  # consumer department -> [n, suppressed]
    cells: dict[tuple[object, object], list]  # (provider, consumer) -> [n, suppressed]
    company_n: float | None
    company_published: bool
    reasons: dict[tuple[object, object], str]
    dimensions: dict[tuple[object, object], list] = field(default_factory=dict)
    # Additivity proved for this period (disclosure_audit): consumer -> m for matrix columns
    # that add up to m x the department, and m for the providers against the company.
    column_m: dict[object, int] = field(default_factory=dict)
    provider_m: int | None = None


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _state(tables: dict[str, pd.DataFrame], period: object) -> _PeriodState:
    def rows(name: str) -> pd.DataFrame | None:
        frame = tables.get(name)
        if frame is None or frame.empty:
            return None
        return frame[frame["period"] == period]

    def entries(frame: pd.DataFrame | None, keys: list[str]) -> dict:
        if frame is None:
            return {}
        key_values = (
            frame[keys[0]].tolist()
            if len(keys) == 1
            else list(zip(*(frame[k].tolist() for k in keys), strict=True))
        )
        counts = [_number(n) for n in frame["n_respondents"].tolist()]
        flags = [bool(f) for f in frame["suppressed"].astype("boolean").fillna(False).tolist()]
        return {key: [n, flag] for key, n, flag in zip(key_values, counts, flags, strict=True)}

    company = rows("company_scores")
    company_n = None
    company_published = False
    if company is not None and not company.empty:
        company_n = _number(company["n_respondents"].iloc[0])
        company_published = bool(company["ice_p"].notna().all())
    matrix = rows("matrix_scores")
    reasons = {}
    if matrix is not None and "suppression_reason" in matrix.columns:
        keys = zip(
            matrix["provider_department"].tolist(),
            matrix["consumer_department"].tolist(),
            strict=True,
        )
        reasons = {
            key: reason
            for key, reason in zip(keys, matrix["suppression_reason"].tolist(), strict=True)
            if isinstance(reason, str)
        }
    return _PeriodState(
        providers=entries(rows("ice_scores"), ["provider_department"]),
        consumers=entries(rows("consumer_satisfaction"), ["consumer_department"]),
        cells=entries(matrix, ["provider_department", "consumer_department"]),
        company_n=company_n,
        company_published=company_published,
        reasons=reasons,
        dimensions=entries(rows("dimension_scores"), ["provider_department", "dimension"]),
    )


def _lines(state: _PeriodState, period: object) -> Iterator[_Line]:
    """Every line of one period (module docstring, rule 2), seen as published."""

    def cell(table: str, key: object, entry: list) -> _Cell:
        n, hidden = entry
        return _Cell((table, key), None if hidden else n, hidden)

    by_provider: dict[object, list] = {}
    by_consumer: dict[object, list] = {}
    for (provider, consumer), entry in state.cells.items():
        by_provider.setdefault(provider, []).append(
            cell("matrix_scores", (provider, consumer), entry)
        )
        by_consumer.setdefault(consumer, []).append(
            cell("matrix_scores", (provider, consumer), entry)
        )
    for provider in sorted(by_provider, key=str):
        if provider in state.providers:
            n, hidden = state.providers[provider]
            yield _Line(
                f"period {period}: matrix row of provider {provider!r}",
                ("ice_scores", provider),
                not hidden,
                n,
                True,
                by_provider[provider],
                "row",
            )
    for consumer in sorted(by_consumer, key=str):
        if consumer in state.consumers:
            n, hidden = state.consumers[consumer]
            # A column adds up (in respondent-provider pairs) only where it was proved to.
            m = state.column_m.get(consumer)
            yield _Line(
                f"period {period}: matrix column of consumer {consumer!r}",
                ("consumer_satisfaction", consumer),
                not hidden,
                n if n is None or m is None else m * n,
                m is not None,
                by_consumer[consumer],
                "column",
            )
    if state.company_n is None:
        return
    if state.consumers:
        yield _Line(
            f"period {period}: consumer departments against the company total",
            ("company_scores", None),
            state.company_published,
            state.company_n,
            True,
            [
                cell("consumer_satisfaction", key, entry)
                for key, entry in sorted(state.consumers.items(), key=lambda item: str(item[0]))
            ],
            "consumer_margin",
        )
    # Providers add up to the company only when every respondent rated the same number m of
    # providers (proved from the counts: m = 1, or m = every provider).
    if state.providers and state.provider_m:
        yield _Line(
            f"period {period}: providers against the company total",
            ("company_scores", None),
            state.company_published,
            state.provider_m * state.company_n,
            True,
            [
                _Cell(("ice_scores", key), entry[0], entry[1])
                for key, entry in sorted(state.providers.items(), key=lambda item: str(item[0]))
            ],
            "provider_margin",
        )


def _periods(tables: dict[str, pd.DataFrame]) -> list[object]:
    found: set[object] = set()
    for frame in tables.values():
        if frame is not None and not frame.empty and "period" in frame.columns:
            found.update(frame["period"].dropna().unique().tolist())
    return sorted(found, key=str)
