"""Anonymity: small-group and complementary suppression, and an independent disclosure checker.

What belongs here: deciding which published cells must be hidden (:func:`suppress`) and scanning
any set of output tables for a figure that reveals fewer than k respondents
(:func:`find_disclosures`). Both apply the same written rules (docs/methodology.md,
"Anonymity"), but the checker reads only what is published, so it can audit any table, view or
report extract, including ones this module did not produce.

The rules, with k the anonymity threshold:

1. Primary: a cell built from fewer than k distinct respondents is suppressed: its values are
   NULL and ``suppressed`` is true; in the matrix its ``n_respondents`` is NULL as well.
2. Complementary: a *line* is a set of published cells together with a published total they
   make up: a matrix row (provider; total = that provider's ICE-P and n in ice_scores), a matrix
   column (consumer department; total = its consumer_satisfaction), the consumer margin (all
   consumer_satisfaction rows; total = company_scores), and the provider margin (all ice_scores
   rows; total = company_scores, only when every respondent rated exactly one provider so the
   providers add up to the company). When a line's total is published and the line has
   exactly one suppressed cell, or (for lines that add up exactly) its suppressed cells together
   hold fewer than k respondents, the next smallest published cell of the line is suppressed
   too. This repeats until no line needs it.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Columns that stay published when a row is suppressed: keys, counts the schema requires, flags,
# and figures that come from tickets rather than respondents.
_KEPT_COLUMNS = frozenset(
    {
        "period",
        "period_start",  # the views' DATE form of period (sql/views), a key like period
        "provider_department",
        "consumer_department",
        "dimension",
        "business_unit",
        "n_respondents",
        "suppressed",
        "suppression_reason",
        "ice_k",
        "no_tickets",
    }
)


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
            yield _Line(
                f"period {period}: matrix column of consumer {consumer!r}",
                ("consumer_satisfaction", consumer),
                not hidden,
                n,
                False,
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
    provider_counts = [entry[0] for entry in state.providers.values()]
    # Providers add up to the company only when nobody rated two providers.
    if provider_counts and None not in provider_counts and sum(provider_counts) == state.company_n:
        yield _Line(
            f"period {period}: providers against the company total",
            ("company_scores", None),
            state.company_published,
            state.company_n,
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


def _value_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in _KEPT_COLUMNS]


def find_disclosures(tables: dict[str, pd.DataFrame], k: int) -> list[str]:
    """Every way the published tables reveal a group under k respondents; empty when safe.

    ``tables`` maps table names (as in the warehouse schema) to their rows, any number of periods.
    Checks: (1) a row with n_respondents under k, or flagged suppressed, that still shows a
    value; (2) a suppressed matrix cell that still shows its count; (3) ticket satisfaction
    resting on fewer than k answers; (4) every line whose suppressed cells are derivable from
    its published total by subtraction (module docstring, rule 2).
    """
    problems: list[str] = []
    for name, frame in tables.items():
        if frame is None or frame.empty:
            continue
        values = _value_columns(frame)
        shown = frame[values].notna().any(axis=1) if values else pd.Series(False, index=frame.index)
        if "n_respondents" in frame.columns:
            n = pd.to_numeric(frame["n_respondents"], errors="coerce")
            for _, row in frame[(n < k) & shown].iterrows():
                problems.append(
                    f"{name}: {_describe(row)} shows values from "
                    f"{row['n_respondents']:g} respondents (under k = {k})"
                )
        if "suppressed" in frame.columns:
            flagged = frame["suppressed"].astype(bool)
            for _, row in frame[flagged & shown].iterrows():
                problems.append(f"{name}: {_describe(row)} is flagged suppressed but shows values")
            if name == "matrix_scores":
                for _, row in frame[flagged & frame["n_respondents"].notna()].iterrows():
                    problems.append(
                        f"{name}: {_describe(row)} is suppressed but shows its count "
                        f"{row['n_respondents']:g}"
                    )
        if name == "service_kpis" and "satisfaction_n" in frame.columns:
            few = (pd.to_numeric(frame["satisfaction_n"], errors="coerce") < k) & (
                frame["satisfaction_mean"].notna() | frame["satisfaction_score"].notna()
            )
            for _, row in frame[few].iterrows():
                problems.append(
                    f"{name}: {_describe(row)} shows ticket satisfaction from "
                    f"{row['satisfaction_n']:g} answers (under k = {k})"
                )
    for period in _periods(tables):
        for line in _lines(_state(tables, period), period):
            reason = line_violation(line, k)
            if reason:
                problems.append(reason)
    return problems


def _describe(row: pd.Series) -> str:
    keys = [
        c
        for c in ("period", "provider_department", "consumer_department", "dimension")
        if c in row.index
    ]
    return ", ".join(f"{c}={row[c]!r}" for c in keys)


def suppress(tables: dict[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
    """Apply primary and complementary suppression to one or more periods of output tables.

    Input rows carry their true ``n_respondents`` and values; ``suppressed`` may already be true
    for rows that must be hidden for other reasons. Returns new frames: suppressed rows have
    their values NULL (matrix and consumer counts too), matrix cells carry the reason
    ('small_group' or 'complementary'). Tables not named here pass through unchanged.
    """
    work = {name: frame.copy() for name, frame in tables.items() if frame is not None}
    for name in ("ice_scores", "dimension_scores", "matrix_scores", "consumer_satisfaction"):
        if name in work and not work[name].empty:
            frame = work[name]
            small = pd.to_numeric(frame["n_respondents"], errors="coerce").fillna(0) < k
            already = (
                frame["suppressed"].astype("boolean").fillna(False).astype(bool)
                if "suppressed" in frame
                else False
            )
            frame["suppressed"] = small | already
            if name == "matrix_scores":
                frame["suppression_reason"] = np.where(frame["suppressed"], "small_group", None)
    if "company_scores" in work and not work["company_scores"].empty:
        company = work["company_scores"]
        small = company["n_respondents"] < k
        company.loc[small, _value_columns(company)] = np.nan

    # The rules judge published counts only (_lines hides the counts of suppressed cells);
    # the true counts stay in the state to choose the next cell to suppress.
    for period in _periods(work):
        state = _state(work, period)
        while True:
            pending = next(
                (line for line in _lines(state, period) if line_violation(line, k)), None
            )
            if pending is None:
                break
            _suppress_next(state, pending)
        _write_back(work, state, period)
    return _null_suppressed(work)


def _suppress_next(state: _PeriodState, line: _Line) -> None:
    """Suppress the smallest published cell of the line; with none left, suppress its total."""
    candidates = [cell for cell in line.cells if not cell.suppressed]
    if candidates:
        published_per_provider: dict[object, int] = {}
        published_per_consumer: dict[object, int] = {}
        for (provider, consumer), (_, hidden) in state.cells.items():
            if not hidden:
                published_per_provider[provider] = published_per_provider.get(provider, 0) + 1
                published_per_consumer[consumer] = published_per_consumer.get(consumer, 0) + 1

        def order(cell: _Cell) -> tuple[int, float, str]:
            table, key = cell.ref
            lonely = 0
            if table == "matrix_scores":
                provider, consumer = key  # type: ignore[misc]
                # Prefer a cell whose other line keeps another published cell, so the new
                # suppression does not become the lone hidden cell there.
                others = (
                    published_per_provider.get(provider, 0)
                    if line.kind == "column"
                    else published_per_consumer.get(consumer, 0)
                )
                lonely = int(others < 2)
            true_n = _entry(state, cell.ref)[0]
            return lonely, float("inf") if true_n is None else true_n, str(key)

        chosen = min(candidates, key=order)
        _entry(state, chosen.ref)[1] = True
        if chosen.ref[0] == "matrix_scores":
            state.reasons[chosen.ref[1]] = "complementary"  # type: ignore[index]
        return
    if line.total_ref[0] == "company_scores":
        state.company_published = False
    else:
        _entry(state, line.total_ref)[1] = True


def _entry(state: _PeriodState, ref: tuple[str, object]) -> list:
    table, key = ref
    if table == "matrix_scores":
        return state.cells[key]  # type: ignore[index]
    if table == "consumer_satisfaction":
        return state.consumers[key]
    return state.providers[key]


def _write_back(work: dict[str, pd.DataFrame], state: _PeriodState, period: object) -> None:
    """Copy the suppression decisions of one period from the state into the frames."""
    for name, column, entries in (
        ("ice_scores", "provider_department", state.providers),
        ("consumer_satisfaction", "consumer_department", state.consumers),
    ):
        if name in work and not work[name].empty:
            frame = work[name]
            in_period = frame["period"] == period
            hidden = {key for key, (_, flag) in entries.items() if flag}
            frame.loc[in_period & frame[column].isin(hidden), "suppressed"] = True
    if "matrix_scores" in work and not work["matrix_scores"].empty:
        matrix = work["matrix_scores"]
        in_period = matrix["period"] == period
        keys = pd.Series(
            list(zip(matrix["provider_department"], matrix["consumer_department"], strict=True)),
            index=matrix.index,
        )
        hidden = {key for key, (_, flag) in state.cells.items() if flag}
        matrix.loc[in_period & keys.isin(hidden), "suppressed"] = True
        reasons = keys.map(state.reasons)
        matrix.loc[in_period & reasons.notna(), "suppression_reason"] = reasons
    if (
        "company_scores" in work
        and not work["company_scores"].empty
        and not state.company_published
    ):
        company = work["company_scores"]
        company.loc[company["period"] == period, _value_columns(company)] = np.nan


def _null_suppressed(work: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    for name, frame in work.items():
        if frame.empty or "suppressed" not in frame.columns:
            continue
        hidden = frame["suppressed"].astype(bool)
        for column in _value_columns(frame):
            frame[column] = _nullable(frame[column]).mask(hidden)
        if name in ("matrix_scores", "consumer_satisfaction"):
            frame["n_respondents"] = _nullable(frame["n_respondents"]).mask(hidden)
    return work


def _nullable(column: pd.Series) -> pd.Series:
    """The column in a dtype that can hold NULL without turning into object or float."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean")
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64")
    return column


def publishable_comments(
    comments: pd.DataFrame, ice_scores: pd.DataFrame, min_group: int
) -> pd.DataFrame:
    """Comments that may be shown: only for providers rated by at least ``min_group`` respondents.

    ``comments`` are ``survey_comments`` rows; ``ice_scores`` gives each provider's published
    respondent count. The result keeps period, provider and text only (no respondent id, no
    consumer department, which could narrow down the author) and is sorted by text, so the order
    reveals nothing about who wrote what. Pass ``IndexConfig.comment_min_group`` (default 10).
    """
    columns = ["period", "provider_department", "comment_text"]
    if comments.empty or ice_scores.empty:
        return pd.DataFrame(columns=columns)
    large = ice_scores[
        ~ice_scores["suppressed"].astype(bool)
        & (pd.to_numeric(ice_scores["n_respondents"], errors="coerce") >= min_group)
    ][["period", "provider_department"]]
    shown = comments.merge(large, on=["period", "provider_department"], how="inner")[columns]
    return shown.sort_values(columns, ignore_index=True)
