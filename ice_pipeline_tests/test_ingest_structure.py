"""Issue 13 item 8: an ingest a newcomer can extend -- small modules, short functions.

Every module under ice_pipeline/ingest/ (vendors/ included) is at most 500 lines and every
function or method at most 80 lines (counted by ast, decorators and docstring included). The
failure lists each offender with its size, so a split can be aimed at it.
"""

import ast
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parent.parent / "ice_pipeline" / "ingest"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(INGEST.rglob("*.py"))


def _long_functions(source: str, name: str) -> list[str]:
    """``name:line function (N lines)`` for each function of ``source`` over the limit."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_ingest_has_modules_to_check() -> None:
    names = {p.name for p in _modules()}
    assert {"surveys.py", "survey_read.py", "common.py", "mapping.py", "qualtrics.py"} <= names


def test_every_ingest_module_is_at_most_500_lines() -> None:
    offenders = [
        f"{p.relative_to(INGEST)} ({n} lines)"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert offenders == [], "modules over 500 lines:\n" + "\n".join(offenders)


def test_every_ingest_function_is_at_most_80_lines() -> None:
    offenders = [
        line
        for p in _modules()
        for line in _long_functions(p.read_text(encoding="utf-8"), str(p.relative_to(INGEST)))
    ]
    assert offenders == [], "functions over 80 lines:\n" + "\n".join(offenders)


@pytest.mark.parametrize(("total", "expected"), [(80, []), (81, ["probe.py:2 f (81 lines)"])])
def test_the_function_limit_counts_the_decorator_and_the_body(
    total: int, expected: list[str]
) -> None:
    # A decorator line, the def line and total - 2 body lines: ``total`` lines in all.
    source = "@staticmethod\ndef f():\n" + "    x = 1\n" * (total - 2)
    assert _long_functions(source, "probe.py") == expected


# ---- one registry: detection, formats and modules follow it ---------------------------------


def test_survey_detection_iterates_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from ice_pipeline.ingest import surveys, vendors

    records = [["ZZ_ID", "Q1"], ["1", "4"]]
    assert surveys.detect_survey_format(records) is None
    extra = vendors.Layout(
        "surveys", "zz", "zz", 1, "first cell ZZ_ID", priority=0, recognise=lambda r: True
    )
    monkeypatch.setattr(vendors, "LAYOUTS", (extra, *vendors.LAYOUTS))
    assert surveys.detect_survey_format(records) == "zz"
    # Priority, not listing order, decides: the same layout tried last loses to Qualtrics'.
    last = vendors.Layout("surveys", "zz", "zz", 1, "x", priority=999, recognise=lambda r: True)
    monkeypatch.setattr(vendors, "LAYOUTS", (*vendors.LAYOUTS[1:], last))
    qualtrics_header = [["ResponseId", "Q1"], ["Response ID", "Q1"], ['{"ImportId":"_recordId"}']]
    assert surveys.detect_survey_format(qualtrics_header) == "qualtrics"


def test_every_survey_layout_lives_in_its_vendor_module() -> None:
    import importlib

    from ice_pipeline.ingest.mapping import FORMATS
    from ice_pipeline.ingest.vendors import layouts_of

    layouts = layouts_of("surveys")
    assert FORMATS["surveys"] == tuple(x.format for x in layouts)
    for layout in layouts:
        module = importlib.import_module(f"ice_pipeline.ingest.vendors.{layout.vendor}")
        assert layout in module.LAYOUTS, layout.format
        assert (layout.recognise is None) == (layout.format == "csv"), layout.format
