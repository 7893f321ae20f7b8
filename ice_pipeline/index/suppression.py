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
   too. This repeats until no line needs it. A matrix column adds up (counted in
   respondent-provider pairs) when every respondent of the department rated the same number of
   providers, which is proved per period from the data (:mod:`.disclosure_model`).
3. Interval audit (:mod:`.disclosure_audit`): every published figure is a linear relation over
   the respondent groups; no hidden group that may hold fewer than k respondents may have a
   mean the published figures bound to less than ``protection_width`` points. Where one does,
   one more group of its relations is suppressed, and rules 2 and 3 run again.
"""

import numpy as np
import pandas as pd

from ice_pipeline.index.disclosure_audit import audit_intervals
from ice_pipeline.index.disclosure_model import (
    PeriodFigures,
    Ref,
    column_weights,
    period_figures,
    protection_candidates,
    provider_weight,
)
from ice_pipeline.index.suppression_lines import (
    _Cell,
    _Line,
    _lines,
    _periods,
    _PeriodState,
    _state,
    line_violation,
)

# A hidden small group's mean must stay uncertain over at least this many points of the 0-100
# scale: one step of a five-point scale, so a lone hidden answer always keeps two possible values.
DEFAULT_PROTECTION_WIDTH = 25.0

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
        "department",  # turnover: the key; its figures are checked by turnover_disclosures
        "turnover_suppressed",
    }
)


def _value_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in _KEPT_COLUMNS]


def find_disclosures(
    tables: dict[str, pd.DataFrame],
    k: int,
    protection_width: float = DEFAULT_PROTECTION_WIDTH,
    rounding: float = 0.0,
) -> list[str]:
    """Every way the published tables reveal a group under k respondents; empty when safe.

    ``tables`` maps table names (as in the warehouse schema) to their rows, any number of periods.
    Checks: (1) a row with n_respondents under k, or flagged suppressed, that still shows a
    value; (2) a suppressed matrix cell that still shows its count; (3) ticket satisfaction
    resting on fewer than k answers; (4) every line whose suppressed cells are derivable from
    its published total by subtraction (module docstring, rule 2); (5) the interval audit
    (:mod:`.disclosure_audit`): every hidden group that may hold fewer than k respondents and
    whose mean the published figures bound to less than ``protection_width`` points; (6)
    turnover rows of departments under k or leaver splits of fewer than k leavers
    (:func:`ice_pipeline.index.turnover.turnover_disclosures`). ``rounding``: half the step to
    which the published means were rounded, for tables read off rendered reports (e.g. 0.05
    for one decimal); 0 for warehouse values.
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
    # Imported here: turnover builds its frames with scoring, which imports this module.
    from ice_pipeline.index.turnover import turnover_disclosures

    for name in ("turnover", "v_turnover"):
        problems.extend(turnover_disclosures(name, tables.get(name), k))
    for period in _periods(tables):
        figures = period_figures(tables, period)
        state = _state(tables, period)
        state.column_m, state.provider_m = column_weights(figures), provider_weight(figures)
        for line in _lines(state, period):
            reason = line_violation(line, k)
            if reason:
                problems.append(reason)
        problems.extend(
            finding.message
            for finding in audit_intervals(figures, k, protection_width, rounding=rounding)
        )
    return problems


def _describe(row: pd.Series) -> str:
    keys = [
        c
        for c in ("period", "provider_department", "consumer_department", "dimension")
        if c in row.index
    ]
    return ", ".join(f"{c}={row[c]!r}" for c in keys)


def suppress(
    tables: dict[str, pd.DataFrame],
    k: int,
    protection_width: float = DEFAULT_PROTECTION_WIDTH,
    column_multiplicity: dict[tuple[object, object], int] | None = None,
) -> dict[str, pd.DataFrame]:
    """Apply primary and complementary suppression to one or more periods of output tables.

    Input rows carry their true ``n_respondents`` and values; ``suppressed`` may already be true
    for rows that must be hidden for other reasons. Returns new frames: suppressed rows have
    their values NULL (matrix and consumer counts too), matrix cells carry the reason
    ('small_group' or 'complementary'). Tables not named here pass through unchanged.

    Complementary suppression runs until both the line rules and the interval audit pass:
    no hidden group that may hold fewer than k respondents has a mean the published figures
    bound to less than ``protection_width`` points. ``column_multiplicity`` maps (period,
    consumer department) to m where the respondent rows prove every respondent of the department
    rated exactly m providers (the counts alone prove only m = 1 and m = all).
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
        extra_m = {
            consumer: m
            for (at, consumer), m in (column_multiplicity or {}).items()
            if str(at) == str(period)
        }
        while True:
            _apply_line_rules(state, period, k)
            hidden = _hidden_refs(state)
            # What a reader can prove from the publication, and what the respondent rows prove.
            public = period_figures(work, period, hidden)
            private = period_figures(work, period, hidden, extra_m) if extra_m else public
            state.column_m, state.provider_m = column_weights(private), provider_weight(private)
            if any(line_violation(line, k) for line in _lines(state, period)):
                continue  # additivity is known only now: apply the line rules again
            findings = audit_intervals(public, k, protection_width, strict=True, private=private)
            if not findings or not _protect(state, private, findings):
                break
        _write_back(work, state, period)
    return _null_suppressed(work)


def _apply_line_rules(state: _PeriodState, period: object, k: int) -> None:
    while True:
        pending = next((line for line in _lines(state, period) if line_violation(line, k)), None)
        if pending is None:
            return
        _suppress_next(state, pending)


def _hidden_refs(state: _PeriodState) -> dict[Ref, bool]:
    """The suppression decisions so far, keyed as :mod:`.disclosure_audit` names groups."""
    hidden: dict[Ref, bool] = {("company", None): not state.company_published}
    for kind, entries in (
        ("cell", state.cells),
        ("consumer", state.consumers),
        ("provider", state.providers),
        ("dimension", state.dimensions),
    ):
        hidden.update({(kind, key): bool(entry[1]) for key, entry in entries.items()})
    return hidden


def _protect(state: _PeriodState, figures: PeriodFigures, findings: list) -> bool:
    """Suppress one more group for each group the interval audit found too tightly bounded.

    Returns False when nothing could be suppressed (cannot happen while a relation holds a
    published group, since a group bound by nothing published spans the whole scale).
    """
    changed = False
    touched: set[Ref] = set()
    for finding in findings:
        candidates = protection_candidates(figures, finding.ref)
        if not candidates or touched & set(candidates):
            continue  # this round already loosened one of its relations
        chosen = candidates[0]
        touched.add(chosen)
        kind, key = chosen
        if kind == "company":
            state.company_published = False
        else:
            entries = {
                "cell": state.cells,
                "consumer": state.consumers,
                "provider": state.providers,
                "dimension": state.dimensions,
            }[kind]
            entries[key][1] = True
            if kind == "cell":
                state.reasons[key] = "complementary"  # type: ignore[index]
        changed = True
    return changed


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
    if "dimension_scores" in work and not work["dimension_scores"].empty:
        dims = work["dimension_scores"]
        keys = pd.Series(
            list(zip(dims["provider_department"], dims["dimension"], strict=True)),
            index=dims.index,
        )
        hidden = {key for key, (_, flag) in state.dimensions.items() if flag}
        dims.loc[(dims["period"] == period) & keys.isin(hidden), "suppressed"] = True
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
