"""What every table declaration of the warehouse shares: the schema names, the metadata, and
the column groups many tables repeat (provenance, confidence intervals).

Belongs here: only that; the tables themselves are declared in ``schema`` (feeds and aggregates)
and ``schema_ops`` (operational state and published versions), both on this one ``metadata``.
It is a module of its own so that ``schema_ops`` can use it without importing ``schema``.
"""

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Text,
)

AGGREGATE_SCHEMA = "ice"
PRIVATE_SCHEMA = "ice_private"
OPS_SCHEMA = "ice_ops"
ALL_SCHEMAS = (AGGREGATE_SCHEMA, PRIVATE_SCHEMA, OPS_SCHEMA)

metadata = MetaData()


def _provenance() -> list[Column]:
    """Columns every canonical row carries so it can be traced to the byte it came from."""
    return [
        Column("source_file", Text, nullable=False),
        Column("source_sha256", String(64), nullable=False),
        Column("source_row", Integer, nullable=False),
    ]


def _interval(prefix: str) -> list[Column]:
    return [Column(f"{prefix}_ci_low", Float), Column(f"{prefix}_ci_high", Float)]
