"""The size limits for all of ice_pipeline/: no module over 500 lines, no function over 80.

Counted as test_ingest_structure.py counts the ingest (by ast; a function's decorators and
docstring count). What is over a limit on purpose is listed in ``EXCEPTIONS`` with the reason;
anything else over a limit fails with its size, so a split can be aimed at it. An exception that
no longer applies fails too, so the list cannot go stale.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ice_pipeline"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

# "path relative to ice_pipeline/" (a module) or "path:function" -> why it may stay over.
EXCEPTIONS: dict[str, str] = {
    # A migration is history: once applied to a warehouse its upgrade must not change (a new
    # revision changes the schema), and it creates every table of the first release in one go.
    "warehouse/migrations/versions/0001_initial.py:upgrade": "applied migration, immutable",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _function_lengths(source: str, name: str) -> list[tuple[str, int]]:
    """(function name, lines from its first decorator to its last line) for each function."""
    lengths = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lengths.append((node.name, (node.end_lineno or node.lineno) - first + 1))
    return lengths


def _oversized() -> dict[str, int]:
    """Every module and function over its limit, keyed as in ``EXCEPTIONS``, with its lines."""
    found: dict[str, int] = {}
    for path in _modules():
        name = path.relative_to(PACKAGE).as_posix()
        source = path.read_text(encoding="utf-8")
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            found[name] = lines
        for function, length in _function_lengths(source, name):
            if length > MAX_FUNCTION_LINES:
                found[f"{name}:{function}"] = length
    return found


def test_a_function_counts_from_its_decorator_to_its_last_line() -> None:
    source = (
        "@decorator\n"
        "def f():\n"
        '    """doc"""\n'
        "    return 1\n"
        "\n"
        "\n"
        "class C:\n"
        "    def m(self):\n"
        "        pass\n"
    )
    assert _function_lengths(source, "probe.py") == [("f", 4), ("m", 2)]


def test_the_package_has_modules_to_check() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in _modules()}
    assert {"warehouse/schema.py", "demo/surveys.py", "reports/sample.py"} <= names


def test_no_module_or_function_is_over_its_limit_unless_excepted() -> None:
    offenders = [
        f"{key} ({lines} lines)" for key, lines in _oversized().items() if key not in EXCEPTIONS
    ]
    assert offenders == [], (
        f"over {MAX_MODULE_LINES} lines (module) or {MAX_FUNCTION_LINES} (function):\n"
        + "\n".join(offenders)
    )


def test_every_exception_is_still_needed() -> None:
    stale = sorted(set(EXCEPTIONS) - set(_oversized()))
    assert stale == [], "now within the limits, remove from EXCEPTIONS: " + ", ".join(stale)
