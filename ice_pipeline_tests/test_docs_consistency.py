"""Docs true to the code: everything README and docs/ name exists (issue 15).

Scans README.md, docs/*.md and the commented files a user reads first (workspace.yaml,
ice.example.yaml, the Makefile) for the four kinds of names a reader acts on, and checks each
against the code:

* ``ice-pipeline <command> [<action>]`` and its ``--options``: known to the argparse parser;
* ``make <target>``: a target of the Makefile;
* ``ICE_*`` settings: read somewhere in ``ice_pipeline/``;
* ``ice.*``, ``ice_private.*``, ``ice_ops.*`` tables and views: in warehouse/schema.py or sql/views;
* repository paths (``ice_pipeline/...``, ``docs/...``, ``sql/...``, ``deploy/...``, top-level
  files): present in the repository.
"""

import argparse
import re
from pathlib import Path

import pytest

from ice_pipeline.cli import build_parser
from ice_pipeline.warehouse import schema
from ice_pipeline_tests.conftest import REPO_ROOT

DOCS = sorted(
    [
        REPO_ROOT / "README.md",
        *(REPO_ROOT / "docs").glob("*.md"),
        REPO_ROOT / "workspace.yaml",
        REPO_ROOT / "ice.example.yaml",
        REPO_ROOT / "Makefile",
    ]
)
# Names that look like settings but are examples of a pattern, not settings.
NOT_SETTINGS = {"ICE_"}
# ``ice.env``, ``ice.yaml``: file names, not relations of the ``ice`` schema.
FILE_EXTENSIONS = {"env", "yaml", "yml", "html", "md", "json", "csv", "py", "txt", "toml"}
# Paths that exist only at run time (data directory, instance, build outputs), not in the repo.
RUNTIME_PREFIXES = (
    "data/",
    ".venv/",
    ".dagster_home/",
    "test-artifacts/",
    "benchmarks/results/",  # written by `make benchmark`, git-ignored
    "/",
)
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:ice_pipeline|ice_pipeline_tests|docs|sql|deploy|benchmarks|report_templates"
    r"|\.ci)/[\w./*-]*[\w/*]|(?:README\.md|Makefile|pyproject\.toml|workspace\.yaml"
    r"|ice\.example\.yaml))"
)
TABLE = re.compile(r"(?<![\w./-])(ice|ice_private|ice_ops)\.([a-z_][a-z0-9_]*)\b(?!\.\w)")
SETTING = re.compile(r"\bICE_[A-Z0-9_]+\b")
# `make X` in backticks, or a shell line starting with make (prose "make sure" is not a command).
MAKE = re.compile(r"(?:`|^\s*(?:\$ )?)make ([a-z][a-z-]*)\b", re.M)
# The command itself (not a path such as /var/lib/ice-pipeline), with the words that follow it.
COMMAND = re.compile(
    r"(?:(?<![\w/.-])|(?<=bin/))ice-pipeline((?: +(?:[a-z][a-z-]*|--[a-z][a-z-]*))+)"
)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code_text() -> str:
    """The code that may read a setting: the package, the tests and the benchmark."""
    folders = ("ice_pipeline", "ice_pipeline_tests", "benchmarks")
    return "\n".join(
        _text(p) for folder in folders for p in sorted((REPO_ROOT / folder).rglob("*.py"))
    )


def _known_relations() -> set[str]:
    known = {table.fullname for table in schema.metadata.tables.values()}
    for view in sorted((REPO_ROOT / "sql" / "views").glob("*.sql")):
        known.update(re.findall(r"CREATE OR REPLACE VIEW ([\w.]+)", _text(view)))
    known.add("ice_ops.alembic_version")  # Alembic's own table, in the ops schema
    return known


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def _command_problem(words: list[str]) -> str | None:
    """None if ``ice-pipeline <words>`` names real commands and options, else what is wrong."""
    parser = build_parser()
    for word in words:
        if word.startswith("--"):
            if word not in _options(parser):
                return f"option {word} unknown to `{parser.prog}`"
            continue
        children = _subparsers(parser)
        if not children:
            return None  # a positional argument (a period, a path): not a command name
        if word not in children:
            return f"`{parser.prog} {word}` is not a command"
        parser = children[word]
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_everything_a_doc_names_exists(doc: Path) -> None:
    text = _text(doc)
    code = _code_text()
    relations = _known_relations()
    targets = set(re.findall(r"^([a-z][a-z-]*):", _text(REPO_ROOT / "Makefile"), re.M))
    problems: list[str] = []
    for setting in sorted(set(SETTING.findall(text)) - NOT_SETTINGS):
        if setting not in code:
            problems.append(f"setting {setting} is read nowhere in the code")
    for schema_name, name in sorted(set(TABLE.findall(text))):
        if name not in FILE_EXTENSIONS and f"{schema_name}.{name}" not in relations:
            problems.append(f"table or view {schema_name}.{name} does not exist")
    for path in sorted(set(REPO_PATH.findall(text))):
        if path.startswith(RUNTIME_PREFIXES):
            continue
        if not ((REPO_ROOT / path).exists() or ("*" in path and list(REPO_ROOT.glob(path)))):
            problems.append(f"file {path} does not exist")
    for target in sorted(set(MAKE.findall(text))):
        if target not in targets:
            problems.append(f"`make {target}` is not a Makefile target")
    for match in COMMAND.finditer(text):
        problem = _command_problem(match.group(1).split())
        if problem:
            problems.append(problem)
    assert problems == [], f"{doc.name}: " + "; ".join(problems)


def test_the_scan_finds_what_it_looks_for() -> None:
    """The patterns match real mentions (a scan that matches nothing would always pass)."""
    readme = _text(REPO_ROOT / "README.md")
    assert "ICE_DATA_DIR" in SETTING.findall(readme)
    assert ("ice", "v_index_by_provider") in TABLE.findall(readme)
    assert "docs/methodology.md" in REPO_PATH.findall(readme)
    assert "demo" in MAKE.findall(readme)
    assert _command_problem(["report", "list"]) is None
    assert _command_problem(["report", "lsit"]) is not None
    assert _command_problem(["run", "--partitions"]) is not None
