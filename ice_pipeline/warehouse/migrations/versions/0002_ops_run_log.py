"""The run log records what it promises: the inputs fingerprint and the checks of each write.

ice_ops.run_log existed since 0001 but nothing wrote it. Rows are now written in the same
transaction as the partition they record (warehouse.writes.replace_partition) and completed by the
asset checks: ``inputs_fingerprint`` (what the run computed from), ``checks_passed`` and
``checks_failed`` (expectations of the table's suite for that partition) and ``failed_checks``
(their names with severity). Columns are only added, so the migration is cheap on both engines.

Revision ID: 0002_ops
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ops"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("inputs_fingerprint", sa.Text()),
    ("checks_passed", sa.Integer()),
    ("checks_failed", sa.Integer()),
    ("failed_checks", sa.Text()),
)


def upgrade() -> None:
    for name, column_type in NEW_COLUMNS:
        op.add_column("run_log", sa.Column(name, column_type, nullable=True), schema="ice_ops")


def downgrade() -> None:
    for name, _column_type in reversed(NEW_COLUMNS):
        op.drop_column("run_log", name, schema="ice_ops")
