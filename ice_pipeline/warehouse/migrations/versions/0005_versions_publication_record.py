"""Issue 11 (versions): the record of what each period published, and what each run held back.

``ice_ops.published_figures`` (every version of every period's score rows), ``ice_ops.
publication_log`` (per period, the latest decision: version, held responses) and
``ice_private.published_respondents`` (the respondents a published version rests on; one row per
person, so in the private schema). Written explicitly from schema.py.

Revision ID: 0002_versions
Revises: 0002_disclosure
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_versions"
down_revision = "0002_disclosure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_figures",
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("n_respondents", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("row_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "version", "table_name", "row_key", name="pk_published_figures"
        ),
        schema="ice_ops",
        comment="Every version of every period's published score rows, kept for the next run's "
        "comparison and for the auditor.",
    )
    op.create_table(
        "publication_log",
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("respondents_published", sa.Integer(), nullable=False),
        sa.Column("late_respondents", sa.Integer(), nullable=False),
        sa.Column("late_ratings", sa.Integer(), nullable=False),
        sa.Column("held_respondents", sa.Integer(), nullable=False),
        sa.Column("changed_respondents", sa.Integer(), nullable=False),
        sa.Column("withdrawn_respondents", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("period", name="pk_publication_log"),
        schema="ice_ops",
        comment="Per period, the latest run's decision: the version published and the responses held.",
    )
    op.create_table(
        "published_respondents",
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("respondent_id", sa.String(64), nullable=False),
        sa.Column("answers_hash", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", "respondent_id", name="pk_published_respondents"),
        schema="ice_private",
        comment="The respondents the period's published version rests on (one row per person).",
    )


def downgrade() -> None:
    op.drop_table("published_respondents", schema="ice_private")
    op.drop_table("publication_log", schema="ice_ops")
    op.drop_table("published_figures", schema="ice_ops")
