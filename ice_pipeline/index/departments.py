"""Department names analysts filter on: short names and roll-up groups (``ice.department_groups``).

Belongs here: reading the ``departments:`` section of ICE_CONFIG into the rows of
``ice.department_groups``, checking it, and the demo organisation's defaults. Department names in
the warehouse are the names the mappings produce ("Information Technology"); an analyst asks
about "IT" and about "Sales" (made of "Sales North" and "Sales South"). With

    departments:
      short_names: {IT: Information Technology}
      groups: {Sales: [Sales North, Sales South]}

``ice.v_departments`` gives every department its ``short_name`` and ``department_group`` (the
department itself when it is in no group), so "IT for Sales" is one filter on each side.
"""

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ice_pipeline.errors import ConfigError

COLUMNS = ["department", "department_group", "short_name"]
# The demo organisation (demo/organisation.py): its providers' short codes, and two roll-ups.
DEMO_GROUPS = {
    "Sales": ["Sales North", "Sales South"],
    "Customer Service": ["Customer Support", "Customer Success"],
}


def demo_section() -> dict[str, Any]:
    """The ``departments:`` section the demo runs with when the config has none."""
    from ice_pipeline.demo.organisation import PROVIDERS

    return {"short_names": {code: name for name, code, _share in PROVIDERS}, "groups": DEMO_GROUPS}


def _mapping(value: Any, setting: str, example: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(setting, f"must be a mapping, got {value!r}", fix=f"write {example}")
    return value


def department_rows(section: Mapping[str, Any] | None, *, demo: bool = False) -> pd.DataFrame:
    """The rows of ``ice.department_groups`` for a ``departments:`` section (demo defaults if
    the section is empty in demo mode); ConfigError naming the key for anything inconsistent.
    """
    section = dict(section or {}) or (demo_section() if demo else {})
    unknown = sorted(set(section) - {"short_names", "groups"})
    if unknown:
        raise ConfigError(
            f"departments.{unknown[0]}",
            "is not a departments setting",
            fix="use 'short_names' (short name -> department) and 'groups' (group -> departments)",
        )
    short_names = _mapping(
        section.get("short_names"), "departments.short_names", "{IT: Information Technology}"
    )
    groups = _mapping(section.get("groups"), "departments.groups", "{Sales: [Sales North]}")
    rows: dict[str, dict[str, Any]] = {}
    for short, department in short_names.items():
        if not isinstance(department, str) or not department.strip():
            raise ConfigError(
                f"departments.short_names.{short}",
                f"must name one department, got {department!r}",
                fix="name it as the mappings do, e.g. IT: Information Technology",
            )
        if department in rows:
            raise ConfigError(
                f"departments.short_names.{short}",
                f"{department!r} already has the short name {rows[department]['short_name']!r}",
                fix="give each department one short name",
            )
        rows[department] = {
            "department": department,
            "department_group": None,
            "short_name": str(short),
        }
    for group, members in groups.items():
        if isinstance(members, str) or not isinstance(members, list) or not members:
            raise ConfigError(
                f"departments.groups.{group}",
                f"must be a list of departments, got {members!r}",
                fix=f"write {group}: [Department A, Department B]",
            )
        for department in members:
            row = rows.setdefault(
                str(department),
                {"department": str(department), "department_group": None, "short_name": None},
            )
            if row["department_group"] is not None:
                raise ConfigError(
                    f"departments.groups.{group}",
                    f"{department!r} is already in the group {row['department_group']!r}",
                    fix="put each department in one group",
                )
            row["department_group"] = str(group)
    frame = pd.DataFrame(list(rows.values()), columns=COLUMNS)
    frame["department_group"] = frame["department_group"].fillna(frame["department"])
    return frame.sort_values("department", ignore_index=True)
