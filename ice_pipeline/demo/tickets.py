"""Helpdesk tickets: one canonical set, written as ServiceNow, Jira or Zendesk exports.

Belongs here: drawing the tickets of each month (vectorised per month) and the three tools'
layouts with their mapping.yaml. All times are whole minutes so that a layout without seconds
(ServiceNow's ``dd-mm-yyyy HH:MM``, Jira's ``03/Oct/26 2:05 PM``) carries exactly the same
instants as one with seconds (Zendesk's ISO 8601 UTC).

Every file is a list export taken once, right after the window's last period closes, so
tickets still open then have no resolution. Requesters are roster employee ids, so the
consumer department of a ticket is found through the HR roster.
"""

from pathlib import Path

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
    format_times,
    month_bounds,
    stream,
    window_fraction,
)

TICKET_FORMATS = ("servicenow", "jira", "zendesk")
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


def simulate_tickets(
    seed: int, roster: Roster, period_keys: list[str], tickets_per_employee_month: float
) -> pd.DataFrame:
    """Columns: ticket_no, period, provider, group, requester, priority, opened_at, resolved_at,
    closed_at, state, first_assignee, resolved_by, sla_met, reopen_count, satisfaction, summary.
    """
    agents = _agents(seed)
    # Integer codes for the teams: comparing object strings per team was the slow part at 500k.
    group_names = np.array([g for p in PROVIDER_NAMES for g in TICKET_GROUPS[p]], dtype=object)
    group_offset = np.cumsum([0] + [len(TICKET_GROUPS[p]) for p in PROVIDER_NAMES])[:-1]
    agent_table = np.array([agents[g] for g in group_names], dtype=object)
    frac = window_fraction(len(period_keys))
    share = np.array([TICKET_SHARE[p] for p in PROVIDER_NAMES])
    share = share / share.sum()
    trend_sign = np.array(
        [
            -1.0 if p in IMPROVING_PROVIDERS else 1.0 if p in DECLINING_PROVIDERS else 0.0
            for p in PROVIDER_NAMES
        ]
    )
    _, after_last = month_bounds(period_keys[-1])
    export_at = np.datetime64(after_last * 1440 + 6 * 60, "m")  # 06:00 the morning after

    parts: list[pd.DataFrame] = []
    for t, period in enumerate(period_keys):
        rng = stream(seed, "tickets", t)
        start, end = month_bounds(period)
        active = roster.active_on(start)
        n = int(rng.poisson(active.size * tickets_per_employee_month))
        provider = rng.choice(len(PROVIDER_NAMES), n, p=share)
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
            group_code[mask] = group_offset[p] + np.minimum(idx, len(names) - 1)
        groups = group_names[group_code]
        first = agent_table[group_code, agent_pick]
        resolver = agent_table[group_code, np.where(first_resolves, agent_pick, other_pick)]
        priority = rng.choice(4, n, p=PRIORITY_SHARE)
        minutes_in_month = (end - start) * 1440
        opened_min = start * 1440 + np.sort(rng.integers(0, minutes_in_month, n))
        log_hours = (
            np.log(PRIORITY_MEDIAN_HOURS[priority])
            + trend_sign[provider] * TREND_LOG_RESOLUTION * frac[t]
            + rng.normal(0.0, 0.9, n)
        )
        hours = np.exp(log_hours)
        resolution_min = np.maximum(5, np.rint(hours * 60)).astype(np.int64)
        resolved_min = opened_min + resolution_min
        sla_met = hours <= PRIORITY_TARGET_HOURS[priority]
        reopen_count = np.where(
            rng.random(n) < 0.05 + 0.03 * (trend_sign[provider] > 0), rng.integers(1, 3, n), 0
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
        summary_pick = rng.integers(0, 1000, n)
        summary = np.empty(n, dtype=object)
        for p, name in enumerate(PROVIDER_NAMES):
            mask = provider == p
            options = np.array(SUMMARIES[name], dtype=object)
            summary[mask] = options[summary_pick[mask] % options.size]

        opened_at = opened_min.astype("datetime64[m]")
        resolved_at = resolved_min.astype("datetime64[m]")
        closed_at = resolved_at + np.timedelta64(AUTO_CLOSE_HOURS * 60, "m")
        is_resolved = resolved_at <= export_at
        is_closed = closed_at <= export_at
        state = np.where(is_closed, "Closed", np.where(is_resolved, "Resolved", "In Progress"))
        parts.append(
            pd.DataFrame(
                {
                    "period": period,
                    "provider": np.array(PROVIDER_NAMES, dtype=object)[provider],
                    "group": groups,
                    "requester": roster.employee_id[requester],
                    "priority": priority + 1,
                    "opened_at": opened_at,
                    "resolved_at": np.where(is_resolved, resolved_at, np.datetime64("NaT")),
                    "closed_at": np.where(is_closed, closed_at, np.datetime64("NaT")),
                    "state": state,
                    "first_assignee": first,
                    "resolved_by": np.where(is_resolved, resolver, ""),
                    "sla_met": sla_met,
                    "reopen_count": reopen_count,
                    "satisfaction": np.where(has_satisfaction & is_resolved, satisfaction, np.nan),
                    "summary": summary,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "ticket_no", np.arange(12_001, 12_001 + len(frame)))
    return frame


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


def _stamp(values: pd.Series, pattern: str) -> np.ndarray:
    return format_times(pd.to_datetime(values).to_numpy(dtype="datetime64[s]"), pattern)


SERVICENOW_PRIORITY = {1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate", 4: "4 - Low"}
JIRA_PRIORITY = {1: "Highest", 2: "High", 3: "Medium", 4: "Low"}
JIRA_PRIORITY_DE = {1: "Höchste", 2: "Hoch", 3: "Mittel", 4: "Niedrig"}
ZENDESK_PRIORITY = {1: "urgent", 2: "high", 3: "normal", 4: "low"}

# Jira headers, English and as a German-language Jira writes them. Labels and Sprint repeat.
JIRA_HEADERS = {
    "en": [
        "Summary",
        "Issue key",
        "Issue id",
        "Issue Type",
        "Status",
        "Priority",
        "Resolution",
        "Assignee",
        "Reporter",
        "Created",
        "Updated",
        "Resolved",
        "Component/s",
        "Labels",
        "Labels",
        "Labels",
        "Sprint",
        "Sprint",
        "Custom field (First assignee)",
        "Custom field (SLA met)",
        "Custom field (Reopen count)",
        "Custom field (Satisfaction)",
    ],
    "de": [
        "Zusammenfassung",
        "Vorgangsschlüssel",
        "Vorgangs-ID",
        "Vorgangstyp",
        "Status",
        "Priorität",
        "Lösung",
        "Bearbeiter",
        "Autor",
        "Erstellt",
        "Aktualisiert",
        "Erledigt",
        "Komponente/n",
        "Stichwörter",
        "Stichwörter",
        "Stichwörter",
        "Sprint",
        "Sprint",
        "Benutzerdefiniertes Feld (First assignee)",
        "Benutzerdefiniertes Feld (SLA met)",
        "Benutzerdefiniertes Feld (Reopen count)",
        "Benutzerdefiniertes Feld (Satisfaction)",
    ],
}


def _satisfaction_text(values: pd.Series) -> np.ndarray:
    codes = values.fillna(0).to_numpy(dtype=np.int64)  # 0 = no answer, else 1-5
    return np.array(["", "1", "2", "3", "4", "5"], dtype=object)[codes]


def write_servicenow(path: Path, frame: pd.DataFrame) -> int:
    """ServiceNow incident list export (field names as headers, ``dd-mm-yyyy HH:MM``)."""
    fmt = "%d-%m-%Y %H:%M"
    out = pd.DataFrame(
        {
            "number": "INC" + frame["ticket_no"].astype(str).str.zfill(7),
            "opened_at": _stamp(frame["opened_at"], fmt),
            "short_description": frame["summary"],
            "caller_id": frame["requester"],
            "priority": frame["priority"].map(SERVICENOW_PRIORITY),
            "incident_state": frame["state"],
            "assignment_group": frame["group"],
            "assigned_to": frame["first_assignee"],
            "resolved_by": frame["resolved_by"],
            "resolved_at": _stamp(frame["resolved_at"], fmt),
            "closed_at": _stamp(frame["closed_at"], fmt),
            "made_sla": np.where(frame["sla_met"], "TRUE", "FALSE"),
            "reopen_count": frame["reopen_count"].astype(str),
            "u_satisfaction": _satisfaction_text(frame["satisfaction"]),
        }
    )
    out.to_csv(path, index=False, lineterminator="\n")
    return len(out)


def write_jira(path: Path, frame: pd.DataFrame, locale: str = "en") -> int:
    """Jira issue search 'Export > CSV (all fields)': repeated Labels/Sprint columns."""
    german = locale == "de"
    created = pd.to_datetime(frame["opened_at"])
    resolved = pd.to_datetime(frame["resolved_at"])
    if german:
        created_text = _stamp(created, "%d.%m.%Y %H:%M")
        resolved_text = _stamp(resolved, "%d.%m.%Y %H:%M")
    else:
        created_text = _stamp(created, "%d/%b/%y %-I:%M %p")
        resolved_text = _stamp(resolved, "%d/%b/%y %-I:%M %p")
    done = frame["resolved_at"].notna()
    status_done, status_open = ("Erledigt", "In Arbeit") if german else ("Done", "In Progress")
    labels = frame["summary"].str.split().str[0].str.lower()
    columns = [
        frame["summary"],
        "SD-" + (frame["ticket_no"] - 12_000).astype(str),
        (frame["ticket_no"] + 88_000).astype(str),
        "[System] Incident",
        np.where(done, status_done, status_open),
        frame["priority"].map(JIRA_PRIORITY_DE if german else JIRA_PRIORITY),
        np.where(done, "Fertig" if german else "Done", ""),
        np.where(done, frame["resolved_by"], frame["first_assignee"]),  # current assignee
        frame["requester"],
        created_text,
        np.where(done, resolved_text, created_text),
        resolved_text,
        frame["group"],
        labels,
        np.where(frame["priority"] <= 2, "urgent", ""),
        np.where(frame["reopen_count"] > 0, "reopened", ""),
        "",
        "",
        frame["first_assignee"],
        np.where(frame["sla_met"], "Yes", "No"),
        frame["reopen_count"].astype(str),
        _satisfaction_text(frame["satisfaction"]),
    ]
    out = pd.DataFrame({i: c for i, c in enumerate(columns)})
    out.columns = JIRA_HEADERS[locale]  # repeated names are what Jira writes
    out.to_csv(path, index=False, lineterminator="\n")
    return len(out)


def write_zendesk(path: Path, frame: pd.DataFrame) -> int:
    """Zendesk ticket export (CSV): ISO 8601 UTC timestamps, CSAT as good/bad/offered."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    sat = frame["satisfaction"]
    score = np.where(
        sat.isna(),
        np.where(frame["resolved_at"].notna(), "offered", "unoffered"),
        np.where(sat >= 4, "good", "bad"),
    )
    out = pd.DataFrame(
        {
            "id": (frame["ticket_no"] - 11_000).astype(str),
            "subject": frame["summary"],
            "status": frame["state"].map(
                {"Closed": "closed", "Resolved": "solved", "In Progress": "open"}
            ),
            "priority": frame["priority"].map(ZENDESK_PRIORITY),
            "group_name": frame["group"],
            "assignee_name": np.where(
                frame["resolved_at"].notna(), frame["resolved_by"], frame["first_assignee"]
            ),
            "First assignee": frame["first_assignee"],
            "requester_external_id": frame["requester"],
            "created_at": _stamp(frame["opened_at"], fmt),
            "updated_at": _stamp(
                frame["closed_at"].fillna(frame["resolved_at"]).fillna(frame["opened_at"]), fmt
            ),
            "solved_at": _stamp(frame["resolved_at"], fmt),
            "SLA achieved": np.where(frame["sla_met"], "true", "false"),
            "reopens": frame["reopen_count"].astype(str),
            "assignee_stations": np.where(
                frame["first_assignee"] == frame["resolved_by"], "1", "2"
            ),
            "satisfaction_score": score,
        }
    )
    out.to_csv(path, index=False, lineterminator="\n")
    return len(out)


def provider_departments() -> dict[str, str]:
    return {group: provider for provider, groups in TICKET_GROUPS.items() for group in groups}


def ticket_mapping(layout: str, locale: str = "en") -> dict:
    """The tickets mapping.yaml content for the layout (docs/mappings.md)."""
    common_tail = {
        "provider_departments": provider_departments(),
        "requester_departments_from_hr": True,
        "requester_departments": {},
    }
    if layout == "servicenow":
        return {
            "feed": "tickets",
            "format": "servicenow",
            "encoding": "auto",
            "date_order": "DMY",
            "period": "month",
            "columns": {
                "ticket_id": "number",
                "opened_at": "opened_at",
                "resolved_at": "resolved_at",
                "assignment_group": "assignment_group",
                "requester": "caller_id",
                "priority": "priority",
                "sla_met": "made_sla",
                "reopen_count": "reopen_count",
                "first_assignee": "assigned_to",
                "resolved_by": "resolved_by",
                "satisfaction": "u_satisfaction",
            },
            "missing_values": ["?"],
            **common_tail,
        }
    if layout == "jira":
        h = dict(zip(JIRA_HEADERS["en"], JIRA_HEADERS[locale], strict=True))
        return {
            "feed": "tickets",
            "format": "jira",
            "encoding": "auto",
            "date_order": "DMY",
            "period": "month",
            "columns": {
                "ticket_id": h["Issue key"],
                "opened_at": h["Created"],
                "resolved_at": h["Resolved"],
                "assignment_group": h["Component/s"],
                "requester": h["Reporter"],
                "priority": h["Priority"],
                "sla_met": h["Custom field (SLA met)"],
                "reopen_count": h["Custom field (Reopen count)"],
                "first_assignee": h["Custom field (First assignee)"],
                "resolved_by": h["Assignee"],
                "satisfaction": h["Custom field (Satisfaction)"],
            },
            # Proposed key (not yet in docs/mappings.md): priority names -> 1 (most urgent) .. 4.
            "priority_values": {
                v: k for k, v in (JIRA_PRIORITY_DE if locale == "de" else JIRA_PRIORITY).items()
            },
            **common_tail,
        }
    if layout == "zendesk":
        return {
            "feed": "tickets",
            "format": "zendesk",
            "encoding": "auto",
            "date_order": "YMD",
            "period": "month",
            "columns": {
                "ticket_id": "id",
                "opened_at": "created_at",
                "resolved_at": "solved_at",
                "assignment_group": "group_name",
                "requester": "requester_external_id",
                "priority": "priority",
                "sla_met": "SLA achieved",
                "reopen_count": "reopens",
                "first_assignee": "First assignee",
                "resolved_by": "assignee_name",
                "satisfaction": "satisfaction_score",
            },
            # Proposed keys (not yet in docs/mappings.md).
            "priority_values": {v: k for k, v in ZENDESK_PRIORITY.items()},
            "satisfaction_values": {"good": 5, "bad": 1},
            **common_tail,
        }
    raise ValueError(f"unknown ticket layout {layout!r}")


FILE_PREFIX = {
    "servicenow": "servicenow_incidents",
    "jira": "jira_issues",
    "zendesk": "zendesk_tickets",
}
