"""Issue 16 item 7: inspect is fast (no heavy import), refuses non-tables, ends quietly on pipes."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.inspect import inspect_file, write_summary

ROSTER = "Employee ID,Department,Hire Date\nE1,IT,2020-01-01\nE2,HR,2021-02-01\n"
HEAVY = ("dagster", "great_expectations", "scipy", "pandera", "sqlalchemy", "matplotlib")


def test_inspect_of_a_small_file_imports_no_heavy_library(tmp_path: Path) -> None:
    export = tmp_path / "roster.csv"
    export.write_text(ROSTER, encoding="utf-8")
    code = (
        "import sys, io, contextlib\n"
        "from ice_pipeline.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['inspect', {str(export)!r}]) == 0\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("README.md", b"# ice_pipeline\n\nA pipeline, with commas, in prose.\n", "a document"),
        ("notes.csv", b"# Notes\n\nnot, a, table\n", "a document"),
        ("prose.csv", b"Just one sentence here\nand another line\n", "first line has one column"),
        ("export.zip", None, "binary"),
    ],
)
def test_a_file_that_is_not_a_table_is_refused_in_one_line(
    tmp_path: Path, name: str, data: bytes | None, problem: str
) -> None:
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("roster.csv", ROSTER)
        data = buffer.getvalue()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FileProblem) as raised:
        inspect_file(path)
    assert problem in str(raised.value) and "\n" not in str(raised.value)
    cli = Path(sys.executable).parent / "ice-pipeline"
    done = subprocess.run(
        [str(cli), "inspect", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    export = tmp_path / "roster.csv"
    export.write_text(ROSTER, encoding="utf-8")
    summary = inspect_file(export)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (head) has gone
    with os.fdopen(write_end, "w") as stream:
        write_summary(summary, stream)  # no BrokenPipeError
    buffer = io.StringIO()
    write_summary(summary, buffer)
    assert json.loads(buffer.getvalue())["rows_read"] == 2
