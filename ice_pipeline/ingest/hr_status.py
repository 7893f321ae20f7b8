"""Placing the values of an HR status or termination-type column: still employed or a leaver.

Belongs here: the lookup from a roster's status text (``Active``, ``Voluntarily Terminated``,
``Terminated for Cause``, ``Resignation`` ...) to one of ``active`` (still employed), ``voluntary``
or ``involuntary``; the per-row reasons for values the mapping does not place; and the advice
``inspect`` prints for them (each unplaced value with its count and the exact YAML to add).
Reading the roster itself lives in hr.py.

Mapping keys (docs/mappings.md, HR): ``active_values``, ``voluntary_values``,
``involuntary_values`` (lists of values as the export writes them), and ``termination_types``
(value -> voluntary / involuntary / active; ``null`` also means still employed, so the advice
"add it to termination_types" works for ``Active: null``). Matching ignores case and surrounding
spaces. The work is done once per distinct value: a 100k-row roster has a handful of statuses.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

ACTIVE = "active"
# Values that mean "still employed" in every HRIS we have seen; a mapping adds its own.
DEFAULT_ACTIVE_VALUES = ("active", "employed")
DEFAULT_TERMINATION_TYPES = {
    "voluntary": "voluntary",
    "resignation": "voluntary",
    "resigned": "voluntary",
    "retirement": "voluntary",
    "voluntary termination": "voluntary",
    "involuntary": "involuntary",
    "dismissal": "involuntary",
    "dismissed": "involuntary",
    "terminated": "involuntary",
    "layoff": "involuntary",
    "redundancy": "involuntary",
    "involuntary termination": "involuntary",
}
_ACTIVE_WORDS = {None, "", "active", "employed", "still employed", "none", "null"}
STATUS_KEYS = ("active_values", "voluntary_values", "involuntary_values")


def _listed(raw_mapping: dict[str, Any], key: str) -> list[str]:
    value = raw_mapping.get(key) or []
    return [str(v).strip() for v in (value if isinstance(value, list) else [value])]


def status_lookup(raw_mapping: dict[str, Any]) -> dict[str, str]:
    """Lower-cased value -> ``active`` / ``voluntary`` / ``involuntary`` (defaults + mapping)."""
    lookup: dict[str, str] = dict(DEFAULT_TERMINATION_TYPES)
    lookup.update({value: ACTIVE for value in DEFAULT_ACTIVE_VALUES})
    types = raw_mapping.get("termination_types") or {}
    for key, meaning in types.items() if isinstance(types, dict) else []:
        word = None if meaning is None else str(meaning).strip().lower()
        lookup[str(key).strip().lower()] = ACTIVE if word in _ACTIVE_WORDS else str(word)
    for key, meaning in zip(STATUS_KEYS, (ACTIVE, "voluntary", "involuntary"), strict=True):
        lookup.update({value.lower(): meaning for value in _listed(raw_mapping, key)})
    return lookup


def place_statuses(values: pd.Series, raw_mapping: dict[str, Any]) -> pd.Series:
    """Each row's placement (``active``/``voluntary``/``involuntary``), None when not placed.

    Missing cells stay None (no status: counted as employed unless a termination date says
    otherwise, as before). Classified per distinct value.
    """
    lookup = status_lookup(raw_mapping)
    codes, distinct = pd.factorize(values.to_numpy(dtype=object))
    placed = np.array([lookup.get(str(v).strip().lower()) for v in distinct] + [None], dtype=object)
    return pd.Series(placed[codes], index=values.index, dtype=object)


@dataclass(frozen=True)
class UnplacedValue:
    """A status value the mapping does not place, how often it occurs, and the YAML to add."""

    column: str
    value: str
    count: int
    yaml_to_add: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "count": self.count,
            "yaml_to_add": self.yaml_to_add,
        }


def unplaced_values(
    values: pd.Series, placed: pd.Series, raw_mapping: dict[str, Any], column: str
) -> list[UnplacedValue]:
    """The values with no placement, most frequent first, each with the YAML that places it.

    The YAML is one block to paste: the three lists with what the mapping already has plus the
    unplaced value in ``active_values`` and a comment saying to move it if it means a leaver.
    """
    unplaced = values[values.notna() & placed.isna()].astype(str).str.strip()
    counts = unplaced.value_counts()
    found = []
    for value, count in counts.items():
        block = {key: _listed(raw_mapping, key) for key in STATUS_KEYS}
        block["active_values"] = [*block["active_values"], str(value)]
        text = yaml.safe_dump(
            {key: items for key, items in block.items() if items},
            default_flow_style=None,
            sort_keys=False,
            allow_unicode=True,
        ).strip()
        text += (
            f"\n# if '{value}' means the employee left, move it to voluntary_values "
            "or involuntary_values"
        )
        found.append(UnplacedValue(column, str(value), int(count), text))
    return found
