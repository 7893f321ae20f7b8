"""Ticket fields and KPIs: canonical ``tickets`` values from the resolved export columns.

Belongs here: priority (leading digit, else the vendors' words, else ``priority_values``),
satisfaction (scores and Zendesk-style labels), dates with their future check, the provider
department (fixed or the assignment group through ``provider_departments``), the consumer
department (a column, ``requester_departments`` or the HR roster), ``sla_met``, ``reopened``
and ``first_assignee_resolved``. Each adds its row problems to the ``ExportRows``
(table_result.py) in the order tickets.py calls them (a cell with several problems joins their
reasons in that order). Which
columns a layout has is ingest/vendors/; the rules are documented in tickets.py and
docs/mappings.md (Tickets).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ice_pipeline.ingest.languages import priority_words
from ice_pipeline.ingest.names import fold
from ice_pipeline.ingest.privacy import pseudonymize_per_row
from ice_pipeline.ingest.table_dates import future_reasons, parse_date_column
from ice_pipeline.ingest.table_read import text_map
from ice_pipeline.ingest.table_result import ExportRows, truthy
from ice_pipeline.ingest.values import plain_counts
from ice_pipeline.ingest.vendors import jira, servicenow, zendesk

# Every vendor's words apply to every export (a generic export may use any of them); the
# vendors agree on the words they share (High 2, Low 4).
DEFAULT_PRIORITY_VALUES = {
    **servicenow.PRIORITY_VALUES,
    **jira.PRIORITY_VALUES,
    **zendesk.PRIORITY_VALUES,
}
DEFAULT_SATISFACTION_VALUES: dict[str, float | None] = dict(zendesk.SATISFACTION_VALUES)


def _per_distinct(
    parse: Callable[[pd.Series], tuple[pd.Series, pd.Series]], raw: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """``parse`` run once per distinct value, spread back to every row.

    The same result (each output is a function of the value alone); 100k tickets carry a handful
    of priorities and satisfaction labels, so the string work runs on those few values.
    """
    codes, distinct = pd.factorize(raw.to_numpy(dtype=object))
    if len(distinct) == 0:
        return parse(raw)
    values, reasons = parse(pd.Series(np.asarray(distinct, dtype=object), dtype=object))
    # Code -1 (a missing cell) takes the missing value / no reason.
    spread_values = values.array.take(codes, allow_fill=True)
    spread_reasons = np.append(reasons.to_numpy(dtype=object), None)[codes]
    return (
        pd.Series(spread_values, index=raw.index, dtype=values.dtype),
        pd.Series(spread_reasons, index=raw.index, dtype=object),
    )


def parse_priority(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Priority text -> 1 (most urgent) .. 5, with reasons for values that are not understood."""
    return _per_distinct(lambda values: _parse_priority(values, raw_mapping), raw)


def parse_satisfaction(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Satisfaction scores (1-5) or labels -> floats, with reasons for values not understood."""
    return _per_distinct(lambda values: _parse_satisfaction(values, raw_mapping), raw)


def _parse_priority(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    custom = {k.lower(): v for k, v in text_map(raw_mapping, "priority_values").items()}
    lookup = {**DEFAULT_PRIORITY_VALUES, **priority_words(), **custom}
    out = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    digits = raw.str.extract(r"^\s*(\d+)\b", expand=False)
    has_digit = digits.notna()
    out[has_digit] = digits[has_digit].astype(int)
    text = raw.str.lower().str.strip()
    by_text = text[~has_digit & raw.notna()].map(lookup)
    out[by_text.index] = pd.array(pd.to_numeric(by_text, errors="coerce"), dtype="Int64")
    bad = raw.notna() & out.isna()
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[bad] = [
        f"priority '{v}' is not a known priority; add it to priority_values in the mapping"
        for v in raw[bad]
    ]
    return out, reasons


def _parse_satisfaction(raw: pd.Series, raw_mapping: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    custom = {k.lower(): v for k, v in text_map(raw_mapping, "satisfaction_values").items()}
    lookup = {**DEFAULT_SATISFACTION_VALUES, **custom}
    numbers = pd.to_numeric(raw, errors="coerce")
    text = raw.str.lower().str.strip()
    known = text.isin(list(lookup))
    labelled = pd.to_numeric(text[known].map(lookup), errors="coerce")
    numbers.loc[labelled.index] = labelled
    bad = raw.notna() & numbers.isna() & ~known
    reasons = pd.Series(None, index=raw.index, dtype=object)
    reasons[bad] = [
        f"satisfaction '{v}' is neither a 1-5 score nor a known label (good, bad, offered, "
        "unoffered); add it to satisfaction_values in the mapping"
        for v in raw[bad]
    ]
    return numbers.astype("float64"), reasons


def ticket_dates(tickets: ExportRows, now: datetime) -> tuple[pd.Series, pd.Series, int]:
    """(opened_at, resolved_at, ambiguous dates); unreadable and future dates are problems."""
    opened_raw, resolved_raw = tickets.column("opened_at"), tickets.column("resolved_at")
    opened_name, resolved_name = tickets.name("opened_at"), tickets.name("resolved_at")
    opened, opened_reasons, amb1 = parse_date_column(opened_raw, tickets.raw_mapping, opened_name)
    resolved, resolved_reasons, amb2 = parse_date_column(
        resolved_raw, tickets.raw_mapping, resolved_name
    )
    problems = tickets.problems
    problems.add(opened_reasons, opened_name, opened_raw)
    problems.add(resolved_reasons, resolved_name, resolved_raw)
    problems.add(future_reasons(opened, now, opened_name), opened_name, opened_raw)
    problems.add(future_reasons(resolved, now, resolved_name), resolved_name, resolved_raw)
    return opened, resolved, amb1 + amb2


def provider_departments(tickets: ExportRows) -> pd.Series:
    """The mapping's fixed provider department, or the assignment group through the mapping."""
    raw_mapping, index = tickets.raw_mapping, tickets.frame.index
    fixed_provider = raw_mapping.get("provider_department")
    if fixed_provider:
        return pd.Series(str(fixed_provider), index=index, dtype=object)
    groups = tickets.column("assignment_group")
    group_column = tickets.columns["assignment_group"]
    if "provider_departments" in raw_mapping:
        group_map = text_map(raw_mapping, "provider_departments")
        # Group names match the map after NFKC, case folding and spaces (names.py).
        folded_map = {fold(str(k)): v for k, v in group_map.items()}
        # Once per distinct group; the reasons are written for the unmapped rows only.
        codes, distinct = pd.factorize(groups.to_numpy(dtype=object))  # missing -> code -1
        found = [group_map.get(g, folded_map.get(fold(str(g)))) for g in distinct]
        provider = pd.Series(
            np.array([*found, None], dtype=object)[codes], index=groups.index, dtype=object
        )
        unmapped = groups.notna() & provider.isna()
        reasons = pd.Series(None, index=groups.index, dtype=object)
        reasons[unmapped] = [
            f"assignment group '{g}' is not mapped to a provider department"
            for g in groups[unmapped]
        ]
        tickets.problems.add(reasons, group_column, groups)
    else:
        # Without a map the group names are the departments (generic exports).
        provider = groups.astype(object)
    tickets.problems.add_mask(
        groups.isna(),
        group_column,
        groups,
        "assignment group is missing, so the provider department is unknown",
    )
    return provider


def consumer_departments(
    tickets: ExportRows, salt: str, hr_employees: pd.DataFrame | None
) -> pd.Series:
    """A consumer_department column, else the requester map, else the HR roster (pseudonyms)."""
    raw_mapping = tickets.raw_mapping
    consumer = pd.Series(None, index=tickets.frame.index, dtype=object)
    if "consumer_department" in tickets.columns:
        consumer = tickets.column("consumer_department").astype(object)
    requester = tickets.column("requester")
    requester_map = text_map(raw_mapping, "requester_departments")
    if requester_map:
        mapped = requester.map(lambda r: None if r is None else requester_map.get(r))
        consumer = consumer.where(consumer.notna(), mapped)
    if (
        raw_mapping.get("requester_departments_from_hr")
        and hr_employees is not None
        and not hr_employees.empty
        and "requester" in tickets.columns
    ):
        roster = hr_employees
        if "snapshot_period" in roster.columns:
            roster = roster.sort_values("snapshot_period")
        departments = roster.drop_duplicates("employee_id", keep="last").set_index("employee_id")[
            "department"
        ]
        consumer = consumer.where(
            consumer.notna(), _roster_departments(requester, salt, departments)
        )
    return consumer.astype(object).where(consumer.notna(), None)


def _roster_departments(requester: pd.Series, salt: str, departments: pd.Series) -> pd.Series:
    """Each requester's roster department through its pseudonym, once per distinct requester.

    The same values as mapping every row's pseudonym (a requester's department is a function
    of the id alone); 100k tickets name ~63k requesters, and the per-row map was most of it.
    """
    codes, distinct = pd.factorize(requester.to_numpy(dtype=object))  # missing -> code -1
    pseudonyms = pseudonymize_per_row(
        pd.Series(np.asarray(distinct, dtype=object), dtype=object), salt
    )
    found = pseudonyms.map(departments).to_numpy(dtype=object)
    return pd.Series(np.append(found, np.nan)[codes], index=requester.index, dtype=object)


def ticket_priority(tickets: ExportRows) -> pd.Series:
    """Priorities 1..5; text that is not understood is a problem."""
    raw = tickets.column("priority")
    priority, reasons = parse_priority(raw, tickets.raw_mapping)
    tickets.problems.add(reasons, tickets.name("priority"), raw)
    return priority


def ticket_satisfaction(tickets: ExportRows) -> pd.Series:
    """Satisfaction scores; text that is not understood is a problem."""
    raw = tickets.column("satisfaction")
    satisfaction, reasons = parse_satisfaction(raw, tickets.raw_mapping)
    tickets.problems.add(reasons, tickets.name("satisfaction"), raw)
    return satisfaction


def sla_met(tickets: ExportRows, priority: pd.Series, resolution_hours: pd.Series) -> pd.Series:
    """The SLA column, else ``sla_hours`` per priority against the resolution time, else missing."""
    index = tickets.frame.index
    if "sla_met" in tickets.columns:
        met, reasons = truthy(tickets.column("sla_met"), tickets.columns["sla_met"])
        tickets.problems.add(reasons, tickets.columns["sla_met"], tickets.column("sla_met"))
        return met
    if tickets.raw_mapping.get("sla_hours"):
        limits = {int(k): float(v) for k, v in tickets.raw_mapping["sla_hours"].items()}
        limit = priority.map(limits, na_action="ignore").astype("float64")
        met = pd.Series((resolution_hours <= limit).to_numpy(), index=index, dtype="boolean")
        met[resolution_hours.isna() | limit.isna()] = pd.NA
        return met
    return pd.Series(pd.NA, index=index, dtype="boolean")


def reopened_flags(tickets: ExportRows) -> pd.Series:
    """``reopen_count`` > 0, else a true/false ``reopened`` column, else missing."""
    index = tickets.frame.index
    if "reopen_count" in tickets.columns:
        raw = tickets.column("reopen_count")
        # Plain non-negative whole numbers only (values.py): -1, 1e0 or 2.5 reopens are not counts.
        reopen_count, reasons = plain_counts(raw, "reopen count")
        tickets.problems.add(reasons, tickets.columns["reopen_count"], raw)
        reopened = pd.Series(pd.NA, index=index, dtype="boolean")
        reopened[reopen_count.notna()] = (reopen_count[reopen_count.notna()] > 0).to_numpy()
        return reopened
    if "reopened" in tickets.columns:
        reopened, reasons = truthy(tickets.column("reopened"), tickets.columns["reopened"])
        tickets.problems.add(reasons, tickets.columns["reopened"], tickets.column("reopened"))
        return reopened
    return pd.Series(pd.NA, index=index, dtype="boolean")


def first_assignee_resolved(
    tickets: ExportRows, first_assignee_seen: pd.Series | None, resolved: pd.Series
) -> pd.Series:
    """Whether the first assignee resolved the ticket, by ``first_assignee_rule``."""
    columns, frame = tickets.columns, tickets.frame
    rule = str(tickets.raw_mapping.get("first_assignee_rule") or "resolved_by")
    out = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    if rule == "reassignment_count" and "reassignment_count" in columns:
        count = pd.to_numeric(frame[columns["reassignment_count"]], errors="coerce")
        known = count.notna()
        out[known] = (count[known] == 0).to_numpy()
    elif "first_assignee" in columns:
        first = (
            first_assignee_seen
            if first_assignee_seen is not None
            else frame[columns["first_assignee"]]
        )
        if rule == "last_assignee":
            other = frame[columns["first_assignee"]]
        elif "resolved_by" in columns:
            other = frame[columns["resolved_by"]]
        else:
            return out
        known = first.notna() & other.notna()
        out[known] = (first[known] == other[known]).to_numpy()
    out[resolved.isna()] = pd.NA
    return out
