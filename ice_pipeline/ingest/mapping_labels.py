"""Dimension labels declared by survey mappings (``dimension_labels:``), for the reports.

Belongs here: collecting the label of each dimension code from the survey mappings in the landing
directory, for the report assets (issue 14: pages show labels, never raw codes). The key's shape
is checked with every other mapping key (mapping_schema.py) when a mapping is loaded for ingest;
this reader only collects, so a mapping that ingest refused cannot stop a report, and a blank or
non-text label is skipped (the code is then shown in words).
"""

from pathlib import Path

import yaml


def labels_of(raw: object) -> dict[str, str]:
    """The ``dimension_labels`` of one parsed survey mapping (code -> label), blanks left out."""
    if not isinstance(raw, dict) or raw.get("feed", "surveys") != "surveys":
        return {}
    block = raw.get("dimension_labels")
    if not isinstance(block, dict):
        return {}
    return {
        str(code): " ".join(str(label).split())
        for code, label in block.items()
        if isinstance(label, str | int) and str(label).strip()
    }


def survey_dimension_labels(landing_dir: Path) -> dict[str, str]:
    """Code -> label from every survey mapping under ``<landing_dir>/surveys`` (sorted by path,
    so with two mappings labelling one code differently the last path wins, the same each run).
    """
    folder = Path(landing_dir) / "surveys"
    if not folder.is_dir():
        return {}
    labels: dict[str, str] = {}
    for path in sorted(folder.rglob("*mapping.yaml")):
        if not (path.name == "mapping.yaml" or path.name.endswith(".mapping.yaml")):
            continue
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # ingest reports a broken mapping; the report falls back to words
        labels.update(labels_of(raw))
    return labels
