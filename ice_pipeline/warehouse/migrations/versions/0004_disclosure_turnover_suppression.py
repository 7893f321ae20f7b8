"""Turnover figures can be withheld (issue 11, item 5): nullable counts and a suppressed flag.

Revision ID: 0002_disclosure
Revises: 0002_delivery
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_disclosure"
down_revision = "0002_delivery"
branch_labels = None
depends_on = None

_WITHHELD = (
    ("headcount_start", sa.Integer()),
    ("headcount_end", sa.Integer()),
    ("headcount_avg", sa.Double()),
    ("leavers", sa.Integer()),
    ("voluntary_leavers", sa.Integer()),
    ("involuntary_leavers", sa.Integer()),
)


def upgrade() -> None:
    # The view reads these columns; DuckDB refuses to alter a table a view depends on, and the
    # views are recreated after every upgrade anyway (ice_pipeline.warehouse.migrate).
    op.execute("DROP VIEW IF EXISTS ice.v_turnover")
    for name, kind in _WITHHELD:
        op.alter_column("turnover", name, existing_type=kind, nullable=True, schema="ice")
    # DuckDB cannot add a column with a constraint: add it with its default, then forbid NULL.
    op.add_column(
        "turnover",
        sa.Column("suppressed", sa.Boolean(), nullable=True, server_default=sa.false()),
        schema="ice",
    )
    op.alter_column(
        "turnover", "suppressed", existing_type=sa.Boolean(), nullable=False, schema="ice"
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS ice.v_turnover")
    op.drop_column("turnover", "suppressed", schema="ice")
    op.execute("DELETE FROM ice.turnover WHERE headcount_start IS NULL OR leavers IS NULL")
    op.execute("UPDATE ice.turnover SET voluntary_leavers = 0 WHERE voluntary_leavers IS NULL")
    op.execute("UPDATE ice.turnover SET involuntary_leavers = 0 WHERE involuntary_leavers IS NULL")
    for name, kind in _WITHHELD:
        op.alter_column("turnover", name, existing_type=kind, nullable=False, schema="ice")
