"""Drawing the demo's helpdesk tickets: one canonical set of tickets, month by month.

Belongs here: which tickets each month has (vectorised per month), who handled them, how long
they took and how they were rated; the result is the canonical frame every ticket layout in
``tickets`` is written from. All times are whole minutes (see ``tickets``). Every random draw
comes from ``organisation.stream`` in a fixed order: reordering draws changes the demo data.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import (
    DECLINING_PROVIDERS,
    FIRST_NAMES,
    IMPROVING_PROVIDERS,
    LAST_NAMES,
    PROVIDER_NAMES,
    TICKET_GROUPS,
    TICKET_SHARE,
    Roster,
    month_bounds,
    stream,
    window_fraction,
)

PRIORITY_SHARE = np.array([0.03, 0.15, 0.55, 0.27])  # priority 1..4
PRIORITY_MEDIAN_HOURS = np.array([3.0, 6.0, 16.0, 40.0])
PRIORITY_TARGET_HOURS = np.array([4.0, 8.0, 24.0, 72.0])
TREND_LOG_RESOLUTION = 0.45  # improving providers resolve exp(-0.45) ~ 36% faster by the end
SATISFACTION_SHARE = 0.25
AUTO_CLOSE_HOURS = 72
AGENTS_PER_GROUP = 4

SUMMARIES: dict[str, list[str]] = {
    "Information Technology": [
        "Laptop will not start",
        "Password reset",
        "VPN drops, every 10 minutes",
    ],
    "Human Resources": ["New starter set-up", "Parental leave question"],
    "Finance": ["Expense claim rejected", "Invoice on hold"],
    "Procurement": ["Purchase order approval", "New supplier request"],
    "Facilities": ["Desk booking broken", "Heating not working on floor 3"],
    "Legal": ["Contract review", 'NDA for a "pilot" customer'],
    "Payroll": ["Payslip query", "Overtime missing"],
    "Security": ["Badge not working", "Phishing e-mail reported"],
    "Data & Analytics": ['Report shows "N/A" for Q3', "Data extract needed"],
    "Communications": ["Intranet page update", "All-hands slides"],
}


def _agents(seed: int) -> dict[str, list[str]]:
    rng = stream(seed, "tickets", 10_000)
    agents: dict[str, list[str]] = {}
    for provider in PROVIDER_NAMES:
        for group in TICKET_GROUPS[provider]:
            firsts = rng.choice(FIRST_NAMES, AGENTS_PER_GROUP)
            lasts = rng.choice(LAST_NAMES, AGENTS_PER_GROUP)
            agents[group] = [f"{f} {last}" for f, last in zip(firsts, lasts, strict=True)]
    return agents


@dataclass(frozen=True)
class _Teams:
    """What every month's draw shares: teams as integer codes, their agents, the trends."""

    # Integer codes for the teams: comparing object strings per team was the slow part at 500k.
    group_names: np.ndarray  # team name per code
    group_offset: np.ndarray  # first code of each provider's teams
    agent_table: np.ndarray  # (code, AGENTS_PER_GROUP) agent names
    share: np.ndarray  # share of tickets per provider
    trend_sign: np.ndarray  # -1 improving, +1 declining, 0 flat, per provider
    frac: np.ndarray  # how far through the window each period is
    export_at: np.datetime64  # when the list export is taken


def _teams(seed: int, period_keys: list[str]) -> _Teams:
    """The per-run constants of :func:`simulate_tickets`."""
    agents = _agents(seed)
    group_names = np.array([g for p in PROVIDER_NAMES for g in TICKET_GROUPS[p]], dtype=object)
    share = np.array([TICKET_SHARE[p] for p in PROVIDER_NAMES])
    _, after_last = month_bounds(period_keys[-1])
    return _Teams(
        group_names=group_names,
        group_offset=np.cumsum([0] + [len(TICKET_GROUPS[p]) for p in PROVIDER_NAMES])[:-1],
        agent_table=np.array([agents[g] for g in group_names], dtype=object),
        share=share / share.sum(),
        trend_sign=np.array(
            [
                -1.0 if p in IMPROVING_PROVIDERS else 1.0 if p in DECLINING_PROVIDERS else 0.0
                for p in PROVIDER_NAMES
            ]
        ),
        frac=window_fraction(len(period_keys)),
        export_at=np.datetime64(after_last * 1440 + 6 * 60, "m"),  # 06:00 the morning after
    )


def _route(
    rng: np.random.Generator, n: int, teams: _Teams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Provider, team code, first assignee and resolver of ``n`` tickets."""
    provider = rng.choice(len(PROVIDER_NAMES), n, p=teams.share)
    group_pick = rng.random(n)
    group_code = np.empty(n, dtype=np.int64)
    first_resolves = rng.random(n) < 0.72
    agent_pick = rng.integers(0, AGENTS_PER_GROUP, n)
    other_pick = (agent_pick + rng.integers(1, AGENTS_PER_GROUP, n)) % AGENTS_PER_GROUP
    for p, name in enumerate(PROVIDER_NAMES):  # loop over 10 providers, vectorised inside
        mask = provider == p
        names = TICKET_GROUPS[name]
        # The first group of a provider takes half its tickets, the rest share the remainder.
        weights = np.array([0.5] + [0.5 / (len(names) - 1)] * (len(names) - 1))
        idx = np.searchsorted(np.cumsum(weights), group_pick[mask], side="right")
        group_code[mask] = teams.group_offset[p] + np.minimum(idx, len(names) - 1)
    first = teams.agent_table[group_code, agent_pick]
    resolver = teams.agent_table[group_code, np.where(first_resolves, agent_pick, other_pick)]
    return provider, group_code, first, resolver


def _summaries(provider: np.ndarray, summary_pick: np.ndarray) -> np.ndarray:
    """A short description per ticket, from its provider's list."""
    summary = np.empty(provider.size, dtype=object)
    for p, name in enumerate(PROVIDER_NAMES):
        mask = provider == p
        options = np.array(SUMMARIES[name], dtype=object)
        summary[mask] = options[summary_pick[mask] % options.size]
    return summary


def _simulate_month(
    rng: np.random.Generator,
    t: int,
    period: str,
    roster: Roster,
    tickets_per_employee_month: float,
    teams: _Teams,
) -> pd.DataFrame:
    """The tickets opened in one month (every column of :func:`simulate_tickets` but the no)."""
    start, end = month_bounds(period)
    active = roster.active_on(start)
    n = int(rng.poisson(active.size * tickets_per_employee_month))
    provider, group_code, first, resolver = _route(rng, n, teams)
    priority = rng.choice(4, n, p=PRIORITY_SHARE)
    minutes_in_month = (end - start) * 1440
    opened_min = start * 1440 + np.sort(rng.integers(0, minutes_in_month, n))
    trend_sign = teams.trend_sign[provider]
    log_hours = (
        np.log(PRIORITY_MEDIAN_HOURS[priority])
        + trend_sign * TREND_LOG_RESOLUTION * teams.frac[t]
        + rng.normal(0.0, 0.9, n)
    )
    hours = np.exp(log_hours)
    resolution_min = np.maximum(5, np.rint(hours * 60)).astype(np.int64)
    reopen_count = np.where(
        rng.random(n) < 0.05 + 0.03 * (trend_sign > 0), rng.integers(1, 3, n), 0
    )
    satisfaction = np.clip(
        np.rint(
            4.2
            - 0.6 * np.log(hours / PRIORITY_TARGET_HOURS[priority])
            - 0.8 * reopen_count
            + rng.normal(0, 0.8, n)
        ),
        1,
        5,
    )
    has_satisfaction = rng.random(n) < SATISFACTION_SHARE
    requester = active[rng.integers(0, active.size, n)]
    summary = _summaries(provider, rng.integers(0, 1000, n))

    opened_at = opened_min.astype("datetime64[m]")
    resolved_at = (opened_min + resolution_min).astype("datetime64[m]")
    closed_at = resolved_at + np.timedelta64(AUTO_CLOSE_HOURS * 60, "m")
    is_resolved = resolved_at <= teams.export_at
    is_closed = closed_at <= teams.export_at
    return pd.DataFrame(
        {
            "period": period,
            "provider": np.array(PROVIDER_NAMES, dtype=object)[provider],
            "group": teams.group_names[group_code],
            "requester": roster.employee_id[requester],
            "priority": priority + 1,
            "opened_at": opened_at,
            "resolved_at": np.where(is_resolved, resolved_at, np.datetime64("NaT")),
            "closed_at": np.where(is_closed, closed_at, np.datetime64("NaT")),
            "state": np.where(
                is_closed, "Closed", np.where(is_resolved, "Resolved", "In Progress")
            ),
            "first_assignee": first,
            "resolved_by": np.where(is_resolved, resolver, ""),
            "sla_met": hours <= PRIORITY_TARGET_HOURS[priority],
            "reopen_count": reopen_count,
            "satisfaction": np.where(has_satisfaction & is_resolved, satisfaction, np.nan),
            "summary": summary,
        }
    )


def simulate_tickets(
    seed: int, roster: Roster, period_keys: list[str], tickets_per_employee_month: float
) -> pd.DataFrame:
    """Columns: ticket_no, period, provider, group, requester, priority, opened_at, resolved_at,
    closed_at, state, first_assignee, resolved_by, sla_met, reopen_count, satisfaction, summary.
    """
    teams = _teams(seed, period_keys)
    parts = [
        _simulate_month(
            stream(seed, "tickets", t), t, period, roster, tickets_per_employee_month, teams
        )
        for t, period in enumerate(period_keys)
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "ticket_no", np.arange(12_001, 12_001 + len(frame)))
    return frame
