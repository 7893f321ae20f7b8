"""Key drivers (issue 14): ice.key_drivers, each dimension's share of overall satisfaction.

Revision ID: 0002_reports
Revises: 0002_versions
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_reports"
down_revision = "0002_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_drivers",
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("provider_department", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_source", sa.String(32), nullable=True),
        sa.Column("n_respondents", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("r_squared", sa.Double(), nullable=True),
        sa.Column("importance_pct", sa.Double(), nullable=True),
        sa.Column("importance_pct_ci_low", sa.Double(), nullable=True),
        sa.Column("importance_pct_ci_high", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint(
            "period", "provider_department", "dimension", name="pk_key_drivers"
        ),
        schema="ice",
        comment="Key drivers: each dimension's share of the explained overall satisfaction.",
    )


def downgrade() -> None:
    op.drop_table("key_drivers", schema="ice")
