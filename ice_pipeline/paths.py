"""Locating the files shipped beside the code: ``sql/`` and ``report_templates/``.

In a source checkout (and an editable install) they sit at the repository root; a wheel carries
them under ``ice_pipeline/_bundled/`` (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """Return the directory ``sql`` or ``report_templates``, wherever this install keeps it."""
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is missing from this installation of ice_pipeline")


def sql_dir() -> Path:
    return shipped_dir("sql")


def templates_dir() -> Path:
    return shipped_dir("report_templates")
