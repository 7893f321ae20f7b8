"""Issue 13 item 8: ticket, HR and external layouts live in vendor modules the registry names.

Detection asks the registered layouts' recognisers (ingest/vendors/table_detection.py), so a
layout added to the registry with its vendor module is detected without touching the readers.
"""

import ast
import sys
import types
from pathlib import Path

import pytest

from ice_pipeline.ingest import external, hr, tickets
from ice_pipeline.ingest.vendors import LAYOUTS, Layout, layouts_of
from ice_pipeline.ingest.vendors.table_detection import recogniser

TABLE_FEEDS = ("tickets", "hr", "external")
DETECT = {
    "tickets": tickets.detect_ticket_format,
    "hr": hr.detect_hr_format,
    "external": external.detect_external_format,
}
# One header per layout, as the tool writes it.
HEADERS = {
    "servicenow": ["number", "opened_at", "assignment_group", "priority"],
    "servicenow_audit": ["number", "sys_mod_count", "sys_updated_at", "opened_at"],
    "jira": ["Summary", "Issue key", "Created", "Resolved"],
    "zendesk": ["Id", "Created at", "Group", "Satisfaction Score"],
    "generic": ["ticket_id", "opened_at", "assignment_group"],
    "roster": ["Employee ID", "Department", "Hire Date", "Termination Date"],
    "snapshot": ["EmployeeNumber", "Department", "Attrition"],
    "nps_responses": ["Date", "Business Unit", "Likely to recommend"],
    "csat_responses": ["Date", "Segment", "Satisfaction"],
    "metrics": ["period", "business_unit", "metric", "value"],
}
TABLE_LAYOUTS = [layout for layout in LAYOUTS if layout.feed in TABLE_FEEDS]
INGEST = Path(tickets.__file__).resolve().parent


@pytest.mark.parametrize("layout", TABLE_LAYOUTS, ids=lambda layout: layout.format)
def test_every_table_layout_has_a_vendor_module_and_is_detected(layout: Layout) -> None:
    assert (INGEST / "vendors" / f"{layout.vendor}.py").is_file()
    names = {h.strip().lower() for h in HEADERS[layout.format]}
    assert recogniser(layout)(names)
    assert DETECT[layout.feed](HEADERS[layout.format]) == layout.format
    # No other layout of the feed claims the header, so the registry's order cannot matter.
    others = [x.format for x in layouts_of(layout.feed) if x != layout and recogniser(x)(names)]
    assert others == []


def test_the_readers_formats_are_the_registry_s() -> None:
    for module, feed in ((tickets, "tickets"), (hr, "hr"), (external, "external")):
        assert module.FORMATS == tuple(x.format for x in layouts_of(feed))
        assert list(module.DEFAULT_COLUMNS) == list(module.FORMATS)


def test_a_registered_layout_is_detected_without_touching_the_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("ice_pipeline.ingest.vendors.fakedesk")
    fake.RECOGNISERS = {"fakedesk": lambda names: "fake key" in names}  # type: ignore[attr-defined]
    fake.COLUMNS = {"fakedesk": {"ticket_id": ["fake key"]}}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    assert tickets.detect_ticket_format(["Fake Key", "When"]) is None
    extra = Layout("tickets", "fakedesk", "fakedesk", 1, "a Fake Key column")
    monkeypatch.setattr("ice_pipeline.ingest.vendors.LAYOUTS", (*LAYOUTS, extra))
    assert tickets.detect_ticket_format(["Fake Key", "When"]) == "fakedesk"
    assert tickets.detect_ticket_format(HEADERS["jira"]) == "jira"


OWNED = [
    "tickets.py",
    "ticket_fields.py",
    "table_read.py",
    "table_dates.py",
    "table_result.py",
    "hr.py",
    "external.py",
    "validation.py",
    "validation_models.py",
    *[f"vendors/{layout.vendor}.py" for layout in TABLE_LAYOUTS],
    "vendors/table_detection.py",
]


@pytest.mark.parametrize("name", sorted(set(OWNED)))
def test_table_ingest_modules_stay_small(name: str) -> None:
    source = (INGEST / name).read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 500
    tree = ast.parse(source)
    assert ast.get_docstring(tree), f"{name} has no module docstring"
    long = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert long == []
