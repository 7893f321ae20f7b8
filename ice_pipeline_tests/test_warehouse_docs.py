"""docs/warehouse.md documents every table, column and view of the schema of record."""

import re

from ice_pipeline.warehouse import schema
from ice_pipeline.warehouse.migrate import view_files
from ice_pipeline_tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "warehouse.md"


def _sections() -> dict[str, str]:
    """Map each '#### `schema.table`' heading to the text under it."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^#### `([\w.]+)`$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_table_and_column_is_documented() -> None:
    sections = _sections()
    assert set(sections) == set(schema.metadata.tables)
    for name, table in schema.metadata.tables.items():
        documented = re.findall(
            r"^\| `(\w+)` \| ([\w()]+) \| (yes|no) \|", sections[name], flags=re.M
        )
        assert [column for column, _, _ in documented] == list(table.columns.keys()), name
        for (column, _, nullable), declared in zip(documented, table.columns, strict=True):
            assert (nullable == "yes") == declared.nullable, f"{name}.{column}"


def test_every_view_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in view_files():
        view = path.stem.split("_", 1)[1]
        assert f"| `{view}` |" in text, view
