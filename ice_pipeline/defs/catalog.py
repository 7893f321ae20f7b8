"""Dagster's catalog metadata for every asset: column schema, owners, tags and code versions.

Belongs here: what the asset catalog shows about an asset besides its materializations, applied
to the assets of every module at once (``catalogued``) so the asset modules stay about computing:

* ``dagster/column_schema`` generated from the schema of record (``warehouse/schema.py``) for
  every asset that is a warehouse table (the same schema goes on each materialization, see
  ``written_metadata``);
* owners (``team:data-engineering``) and tags (``ice/layer``, ``ice/schema``);
* a code version per layer: the sha256 of the source files that compute it (the layer's domain
  package, its asset module, and for reports the templates) plus the package version, so the UI
  marks an asset's materializations stale exactly when its code changed.
"""

import hashlib
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import dagster as dg
import sqlalchemy

from ice_pipeline.paths import templates_dir
from ice_pipeline.warehouse import schema

OWNERS = ["team:data-engineering"]
_PACKAGE = __import__("pathlib").Path(__file__).resolve().parents[1]
# Layer -> the code that computes its assets (relative to the package), by asset group name.
LAYER_SOURCES = {
    "ingest": ("ingest", "cache.py", "defs/assets_ingest.py"),
    "index": (
        "index",
        "defs/assets_index.py",
        "defs/assets_drivers.py",
        "defs/assets_dimensions.py",
    ),
    "reports": (
        "reports",
        "defs/assets_reports.py",
        "defs/assets_audit.py",
        "defs/assets_analyst.py",
    ),
    "pull": ("connectors", "defs/assets_pull.py"),
}


def _table(name: str) -> sqlalchemy.Table | None:
    return next((t for t in schema.metadata.tables.values() if t.name == name), None)


@cache
def column_schema(table_name: str) -> dg.TableSchema | None:
    """The Dagster column schema of a warehouse table, from ``warehouse/schema.py``."""
    table = _table(table_name)
    if table is None:
        return None
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=str(column.type).lower(),
                description=column.comment,
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable), unique=False),
            )
            for column in table.columns
        ]
    )


def written_metadata(table_name: str, rows_written: int) -> dict[str, Any]:
    """Materialization metadata of a table write: Dagster's row count and the column schema."""
    metadata: dict[str, Any] = {"dagster/row_count": int(rows_written)}
    columns = column_schema(table_name)
    if columns is not None:
        metadata["dagster/column_schema"] = columns
    return metadata


@cache
def code_version(layer: str) -> str:
    """sha256 (16 hex) of the package version and the source files computing ``layer``."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("ice-pipeline").encode("utf-8"))
    paths = []
    for relative in LAYER_SOURCES.get(layer, ()):
        path = _PACKAGE / relative
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    if layer == "reports" and templates_dir().is_dir():
        paths.extend(sorted(p for p in templates_dir().rglob("*") if p.is_file()))
    for path in paths:
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _describe(spec: dg.AssetSpec) -> dg.AssetSpec:
    name = spec.key.path[-1]
    layer = spec.group_name or "default"
    table = _table(name)
    tags = {"ice/layer": layer}
    metadata: dict[str, Any] = {}
    if table is not None:
        tags["ice/schema"] = str(table.schema)
        metadata["dagster/column_schema"] = column_schema(name)
        metadata["dagster/table_name"] = table.fullname
    return spec.replace_attributes(
        owners=OWNERS, code_version=spec.code_version or code_version(layer)
    ).merge_attributes(tags=tags, metadata=metadata)


def catalogued(assets: Iterable[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    """The assets with column schema, owners, tags and code versions (see the module doc)."""
    return dg.map_asset_specs(_describe, list(assets))
