"""The source-file ledger balances and names failed files (issue 12, items 3 and 4).

``rows_excluded`` completes the accounting rows_read = rows_kept + rows_quarantined +
rows_excluded; ``status`` is ``ok`` for a file read, ``failed`` for a file that could not be used
(``problem`` holds the one-line reason). Existing rows get 0 and ``ok``.

Revision ID: 0002_ingeststrict
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ingeststrict"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # DuckDB refuses ADD COLUMN with a NOT NULL constraint: add, fill, then constrain.
    op.add_column(
        "source_files",
        sa.Column("rows_excluded", sa.Integer(), nullable=True, server_default=sa.text("0")),
        schema="ice_ops",
    )
    op.add_column(
        "source_files",
        sa.Column("status", sa.String(16), nullable=True, server_default=sa.text("'ok'")),
        schema="ice_ops",
    )
    op.add_column("source_files", sa.Column("problem", sa.Text(), nullable=True), schema="ice_ops")
    op.execute("UPDATE ice_ops.source_files SET rows_excluded = 0 WHERE rows_excluded IS NULL")
    op.execute("UPDATE ice_ops.source_files SET status = 'ok' WHERE status IS NULL")
    for column in ("rows_excluded", "status"):
        op.alter_column("source_files", column, nullable=False, schema="ice_ops")


def downgrade() -> None:
    for column in ("problem", "status", "rows_excluded"):
        op.drop_column("source_files", column, schema="ice_ops")
