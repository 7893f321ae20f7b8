"""Helpdesk tickets: one canonical set, written as ServiceNow, Jira or Zendesk exports.

Belongs here: the three tools' layouts of the canonical tickets and their mapping.yaml; the
tickets themselves are drawn in ``ticket_simulation`` (re-exported here). All times are whole
minutes so that a layout without seconds (ServiceNow's ``dd-mm-yyyy HH:MM``, Jira's
``03/Oct/26 2:05 PM``) carries exactly the same instants as one with seconds (Zendesk's ISO 8601
UTC).

Every file is a list export taken once, right after the window's last period closes, so
tickets still open then have no resolution. Requesters are roster employee ids, so the
consumer department of a ticket is found through the HR roster.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ice_pipeline.demo.organisation import TICKET_GROUPS, format_times
from ice_pipeline.demo.ticket_simulation import simulate_tickets

__all__ = ["simulate_tickets"]  # re-exported: the generator draws tickets through this module

TICKET_FORMATS = ("servicenow", "jira", "zendesk")


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
        return _servicenow_mapping(common_tail)
    if layout == "jira":
        return _jira_mapping(locale, common_tail)
    if layout == "zendesk":
        return _zendesk_mapping(common_tail)
    raise ValueError(f"unknown ticket layout {layout!r}")


def _servicenow_mapping(common_tail: dict) -> dict:
    """ServiceNow's list export: its field names are the headers."""
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


def _jira_mapping(locale: str, common_tail: dict) -> dict:
    """Jira's headers are translated in a German export; so are its priority names."""
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


def _zendesk_mapping(common_tail: dict) -> dict:
    """Zendesk: priority and satisfaction words mapped to numbers."""
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


FILE_PREFIX = {
    "servicenow": "servicenow_incidents",
    "jira": "jira_issues",
    "zendesk": "zendesk_tickets",
}
