"""docs/mappings.md: every YAML example parses through the schema; every key is documented."""

import re
from pathlib import Path

import pytest
import yaml

from ice_pipeline.ingest import mapping_schema
from ice_pipeline.ingest.mapping_schema import check_mapping_schema

DOCS = Path(__file__).resolve().parent.parent / "docs" / "mappings.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_the_docs_have_yaml_examples() -> None:
    assert len(BLOCKS) >= 7


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_every_yaml_example_parses_through_the_schema(number: int) -> None:
    raw = yaml.safe_load(BLOCKS[number])
    assert isinstance(raw, dict), BLOCKS[number]
    # Checked as the feed it names (every example names one), so a survey key in an HR
    # example is refused; ConfigError would fail the test with the key and the nearest name.
    assert raw.get("feed") in mapping_schema.FEED_KEYS, BLOCKS[number][:80]
    check_mapping_schema(raw, f"docs/mappings.md example {number}", raw["feed"])


def test_every_declared_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    models = [
        *mapping_schema.FEED_KEYS.values(),
        mapping_schema.ScaleSpec,
        mapping_schema.RatingRuleSpec,
        mapping_schema.CommentRuleSpec,
        mapping_schema.ExcludeSpec,
    ]
    keys = {name for model in models for name in model.model_fields}
    assert sorted(k for k in keys if f"{k}:" not in text and f"`{k}`" not in text) == []
