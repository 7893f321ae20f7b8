"""Every feed's reader refuses an unknown or unrecognisable format with the same kind of message."""

from datetime import datetime
from pathlib import Path

import pytest

from ice_pipeline.errors import FileProblem
from ice_pipeline.ingest.common import decode_file
from ice_pipeline.ingest.external import read_external
from ice_pipeline.ingest.hr import read_hr

NOW = datetime(2026, 11, 1)


def _decoded(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "export.csv"
    path.write_text(text)
    return decode_file(path)


@pytest.mark.parametrize(("reader", "what"), [(read_hr, "HR"), (read_external, "external metrics")])
def test_forced_unknown_format_names_the_choices(tmp_path: Path, reader, what: str) -> None:  # noqa: ANN001
    decoded = _decoded(tmp_path, "a,b\n1,2\n")
    with pytest.raises(FileProblem, match=rf"unknown {what} format 'excel'\. Fix: use one of "):
        reader(decoded, {}, file_format="excel", salt="s", hr_employees=None, now=NOW)


def test_unrecognisable_external_header_is_shown(tmp_path: Path) -> None:
    decoded = _decoded(tmp_path, "colour,size\nred,2\n")
    # Its shape, never its cells: an unrecognised file may be anything the service user can read.
    with pytest.raises(
        FileProblem, match=r"cannot be recognised from its header \(2 cells: text, text\)"
    ) as err:
        read_external(decoded, {}, file_format=None, salt="s", hr_employees=None, now=NOW)
    assert "colour" not in str(err.value)
