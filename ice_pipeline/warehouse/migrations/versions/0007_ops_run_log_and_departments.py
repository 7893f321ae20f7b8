"""The run log records what it promises; departments get short names and roll-up groups.

ice_ops.run_log existed since 0001 but nothing wrote it. Rows are now written in the same
transaction as the partition they record (warehouse.writes.replace_partition) and completed by the
asset checks: ``inputs_fingerprint`` (what the run computed from), ``checks_passed`` and
``checks_failed`` (expectations of the table's suite for that partition) and ``failed_checks``
(their names with severity). Columns are only added, so the migration is cheap on both engines.

ice.department_groups (new) holds the ``departments:`` config section: each department's short
name and roll-up group, which ice.v_departments joins (index/departments.py).

Revision ID: 0002_ops
Revises: 0002_reports
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ops"
down_revision = "0002_reports"
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
    op.create_table(
        "department_groups",
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("department_group", sa.Text(), nullable=False),
        sa.Column("short_name", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("department", name="pk_department_groups"),
        schema="ice",
        comment="Short names and roll-up groups of departments, from the departments: config section.",
    )


def downgrade() -> None:
    op.drop_table("department_groups", schema="ice")
    for name, _column_type in reversed(NEW_COLUMNS):
        op.drop_column("run_log", name, schema="ice_ops")
