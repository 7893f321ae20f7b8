"""The executive summary's PDF is archived with its report version (issue 14).

Adds the nullable column ``pdf_base64`` (text) to ``ice_ops.report_archive``: the executive
summary printed to PDF, base64-encoded (text reads alike through both engines' bulk paths),
stored with the version it was printed from so that the disclosure auditor reads it (superseded
versions included) and the e-mail attaches exactly what was archived. Other report kinds and
versions archived before this revision keep NULL.

Revision ID: 0008_report_pdf
Revises: 0002_ops
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_report_pdf"
down_revision = "0002_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "report_archive", sa.Column("pdf_base64", sa.Text(), nullable=True), schema="ice_ops"
    )


def downgrade() -> None:
    op.drop_column("report_archive", "pdf_base64", schema="ice_ops")
