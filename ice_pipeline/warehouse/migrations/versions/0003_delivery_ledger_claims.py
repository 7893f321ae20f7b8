"""Delivery ledger claims: who claimed a (report version, recipient), where it went, how resolved.

Adds four nullable columns to ``ice_ops.delivery_ledger`` (reports/ledger.py explains the states):
``claimed_by`` (host:pid:token of the delivery holding or last holding the row), ``claimed_at``,
``target`` (the outbox .eml path or smtp://host:port: kept here instead of internal X-ICE-*
headers, which are never sent) and ``resolution`` (what an operator's
``ice-pipeline delivery resolve`` decided). Existing rows keep their values; the new columns are
NULL for them.

Revision ID: 0002_delivery
Revises: 0002_ingeststrict
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_delivery"
down_revision = "0002_ingeststrict"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("claimed_by", sa.Text()),
    ("claimed_at", sa.DateTime()),
    ("target", sa.Text()),
    ("resolution", sa.Text()),
)


def upgrade() -> None:
    for name, column_type in _COLUMNS:
        op.add_column(
            "delivery_ledger", sa.Column(name, column_type, nullable=True), schema="ice_ops"
        )


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("delivery_ledger", name, schema="ice_ops")
